// SPDX-License-Identifier: MIT
//! fit -> targets -> loss on small data, against the C API called directly
//! and against the NumPy reference fixture tests/fixtures/fit_plain.lfx.
use lelp::{Builder, BuilderOptions, Loss, Model, Reduction};

/// Reads the named float32/float64/int32/int64 arrays of a .lfx fixture
/// (tests/reference/README.md) as f64.
fn lfx(path: &str) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    let b = std::fs::read(path).expect("fixture");
    assert_eq!(&b[..4], b"LFX1");
    let mut p = 8;
    let count = u32::from_le_bytes(b[4..8].try_into().unwrap());
    let mut out = Vec::new();
    for _ in 0..count {
        let len = u16::from_le_bytes(b[p..p + 2].try_into().unwrap()) as usize;
        let name = String::from_utf8(b[p + 2..p + 2 + len].to_vec()).unwrap();
        p += 2 + len;
        let (dt, nd) = (b[p], b[p + 1] as usize);
        p += 2;
        let dims: Vec<usize> = (0..nd).map(|i| u64::from_le_bytes(b[p + 8 * i..p + 8 * i + 8].try_into().unwrap()) as usize).collect();
        p += 8 * nd;
        let n: usize = dims.iter().product();
        let size = if dt == 0 || dt == 2 { 4 } else { 8 };
        let vals = (0..n).map(|i| {
            let s = &b[p + i * size..p + (i + 1) * size];
            match dt {
                0 => f32::from_le_bytes(s.try_into().unwrap()) as f64,
                1 => f64::from_le_bytes(s.try_into().unwrap()),
                2 => i32::from_le_bytes(s.try_into().unwrap()) as f64,
                _ => i64::from_le_bytes(s.try_into().unwrap()) as f64,
            }
        }).collect();
        p += n * size;
        out.push((name, dims, vals));
    }
    out
}

fn get<'a>(f: &'a [(String, Vec<usize>, Vec<f64>)], name: &str) -> &'a (String, Vec<usize>, Vec<f64>) {
    f.iter().find(|a| a.0 == name).unwrap_or_else(|| panic!("no {name}"))
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/fixtures/fit_plain.lfx");

#[test]
fn fit_targets_loss_match_reference_and_c() {
    let f = lfx(FIXTURE);
    let (_, hd, h) = get(&f, "H");
    let (n, d) = (hd[0], hd[1]);
    let (_, ed, _) = get(&f, "eig");
    let (c, s) = (ed[0], ed[1]);
    let h: Vec<f32> = h.iter().map(|&x| x as f32).collect();
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let z: Vec<f32> = get(&f, "Z").2.iter().map(|&x| x as f32).collect();
    let sc = &get(&f, "scalars").2; // beta, fraction, tau, eps
    let opts = BuilderOptions { rotate: false, beta: Some(sc[0]), ..Default::default() };
    let mut b = Builder::new(d, c, s, &opts).unwrap();
    b.update(&h[..10 * d], &y[..10]).unwrap();
    b.update(&h[10 * d..], &y[10..]).unwrap();
    let m = b.fit().unwrap();
    for (got, want) in m.eigenvalues().unwrap().iter().zip(&get(&f, "eig").2) {
        assert!((got - want).abs() <= 1e-9 * want.abs(), "eigenvalue {got} vs {want}");
    }
    for (got, want) in m.components().unwrap().iter().zip(&get(&f, "components").2) {
        assert!((got - want).abs() <= 1e-7, "component {got} vs {want}");
    }
    let mut t = vec![0f32; n * c * s];
    m.targets_from_logits(&h, &z, sc[2], &mut t).unwrap();
    for (got, want) in t.iter().zip(&get(&f, "targets_logits").2) {
        assert!((*got as f64 - want).abs() <= 2e-6, "target {got} vs {want}");
    }
    // the same numbers straight through the C API
    let mut raw = vec![0f32; n * c * s];
    let bytes = m.to_bytes().unwrap();
    let m2 = Model::from_bytes(&bytes).unwrap();
    m2.targets_from_logits(&h, &z, sc[2], &mut raw).unwrap();
    assert_eq!(t, raw);
    // loss and gradient: value-only and with gradient agree; gradient ~ central differences
    let loss = Loss::new(c, s, 2.0, 0.3, Reduction::Mean).unwrap();
    let u: Vec<f32> = (0..n * c * s).map(|i| (i * 37 % 101) as f32 / 25.0 - 2.0).collect();
    let mut g = vec![0f32; u.len()];
    let v = loss.compute(&u, Some(&t), Some(&y), None, Some(&mut g)).unwrap();
    assert_eq!(v, loss.compute(&u, Some(&t), Some(&y), None, None).unwrap());
    let hstep = 1.0f32 / 128.0;
    for i in [0usize, 5, 17] {
        let mut up = u.clone();
        up[i] += hstep;
        let mut um = u.clone();
        um[i] -= hstep;
        let fd = (loss.compute(&up, Some(&t), Some(&y), None, None).unwrap()
            - loss.compute(&um, Some(&t), Some(&y), None, None).unwrap())
            / (2.0 * hstep as f64);
        assert!((fd - g[i] as f64).abs() <= 1e-4 + 2e-3 * fd.abs(), "grad {i}: {} vs {fd}", g[i]);
    }
    let pred = lelp::predict_class(&u, c, s).unwrap();
    assert_eq!(pred.len(), n);
}

#[test]
fn errors_carry_status_and_message() {
    let mut b = Builder::new(4, 2, 2, &BuilderOptions::default()).unwrap();
    let e = b.update(&[0.0; 8], &[0, 5]).unwrap_err();
    assert_eq!(e.code, -42);
    assert!(e.message.contains("row 1"), "{}", e.message);
    let e = b.update(&[0.0; 7], &[0, 1]).unwrap_err();
    assert!(e.message.contains("elements"));
    assert_eq!(b.fit().err().unwrap().code, -30); // fit before any data
    assert!(Builder::new(4, 2, 9, &BuilderOptions::default()).is_err());
    let state = b.to_bytes().unwrap();
    assert_eq!(Model::from_bytes(&state).err().unwrap().code, -60);
    assert_eq!(Builder::from_bytes(&state[..50]).err().unwrap().code, -63);
    assert!(lelp::version().unwrap().starts_with("0.1"));
}

#[test]
fn model_is_shared_across_threads() {
    let opts = BuilderOptions { seed: 3, ..Default::default() };
    let mut b = Builder::new(3, 2, 2, &opts).unwrap();
    let h: Vec<f32> = (0..300).map(|i| ((i * 7919 % 113) as f32 / 37.0) + (i % 2) as f32).collect();
    let y: Vec<i32> = (0..100).map(|i| (i % 2) as i32).collect();
    b.update(&h, &y).unwrap();
    let m = std::sync::Arc::new(b.fit().unwrap());
    let want = m.assign(&h, &y).unwrap();
    let handles: Vec<_> = (0..4).map(|_| {
        let (m, h, y) = (m.clone(), h.clone(), y.clone());
        std::thread::spawn(move || m.assign(&h, &y).unwrap())
    }).collect();
    for t in handles {
        assert_eq!(t.join().unwrap(), want);
    }
}

#[test]
fn builders_on_threads_merge() {
    // docs/api.md "Using every core": one builder per scoped thread on a share
    // of the rows, merged in order; equal to one pass (exact), the same bytes
    // run to run (sketch)
    use lelp::Solver;
    let (n, d, c, s) = (1200usize, 6usize, 2usize, 2usize);
    let h: Vec<f32> = (0..n * d).map(|i| ((i * 7919 % 113) as f32 / 37.0) * (1.0 + (i % d) as f32)).collect();
    let y: Vec<i32> = (0..n).map(|i| (i * 31 % 7 % 2) as i32).collect();
    let sharded = |solver: Solver| -> Builder {
        let opts = BuilderOptions { solver, ..Default::default() };
        let mut parts: Vec<Builder> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..3)
                .map(|k| {
                    let (lo, hi) = (n * k / 3, n * (k + 1) / 3);
                    let (h, y, opts) = (&h, &y, &opts);
                    sc.spawn(move || {
                        let mut b = Builder::new(d, c, s, opts).unwrap();
                        b.update(&h[lo * d..hi * d], &y[lo..hi]).unwrap();
                        b
                    })
                })
                .collect();
            handles.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let first = parts.remove(0);
        let mut total = first;
        for p in &parts {
            total.merge(p).unwrap();
        }
        total
    };
    let mut one = Builder::new(d, c, s, &BuilderOptions::default()).unwrap();
    one.update(&h, &y).unwrap();
    let (a, b) = (sharded(Solver::Exact).fit().unwrap().eigenvalues().unwrap(), one.fit().unwrap().eigenvalues().unwrap());
    for (x, w) in a.iter().zip(&b) {
        assert!((x - w).abs() <= 1e-10 * w.abs(), "{x} vs {w}");
    }
    let first = sharded(Solver::Sketch(3)).to_bytes().unwrap();
    assert_eq!(sharded(Solver::Sketch(3)).to_bytes().unwrap(), first);
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/fixtures/");

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The whole pipeline through lelp-sys directly (no safe wrapper), for comparison.
fn raw_pipeline(h: &[f32], y: &[i32], w: &[f32], z: &[f32], d: usize, c: usize, s: usize, seed: i64,
                tau: f64) -> (Vec<f64>, Vec<f32>, Vec<i32>, f64, Vec<f32>) {
    use lelp_sys as sys;
    use std::ptr;
    let n = y.len();
    unsafe {
        let mut b = ptr::null_mut();
        assert_eq!(sys::lelp_builder_create(&mut b, d as i64, c as i64, s as i64, ptr::null()), 0);
        assert_eq!(sys::lelp_builder_set_int(b, sys::LELP_BUILDER_SEED, seed), 0);
        assert_eq!(sys::lelp_builder_update(b, h.as_ptr(), y.as_ptr(), n as i64, d as i64), 0);
        assert_eq!(sys::lelp_builder_set_head(b, w.as_ptr(), c as i64, d as i64), 0);
        let mut m = ptr::null_mut();
        assert_eq!(sys::lelp_builder_fit(b, &mut m), 0);
        let mut comp = vec![0f64; c * s * d];
        assert_eq!(sys::lelp_model_components(m, comp.as_mut_ptr(), comp.len() as i64), 0);
        let mut t = vec![0f32; n * c * s];
        assert_eq!(sys::lelp_model_targets_from_logits(m, h.as_ptr(), z.as_ptr(), n as i64, d as i64, tau,
                                                       t.as_mut_ptr()), 0);
        let mut a = vec![0i32; n];
        assert_eq!(sys::lelp_model_assign(m, h.as_ptr(), y.as_ptr(), n as i64, d as i64, a.as_mut_ptr()), 0);
        let mut l = ptr::null_mut();
        assert_eq!(sys::lelp_loss_create(&mut l, c as i64, s as i64, ptr::null()), 0);
        assert_eq!(sys::lelp_loss_set_double(l, sys::LELP_LOSS_TAU, tau), 0);
        assert_eq!(sys::lelp_loss_set_double(l, sys::LELP_LOSS_ALPHA, 0.25), 0);
        let u: Vec<f32> = t.iter().enumerate().map(|(i, &x)| x * 3.0 - (i % 7) as f32 * 0.1).collect();
        let (mut v, mut g) = (0.0, vec![0f32; u.len()]);
        assert_eq!(sys::lelp_loss_compute(l, u.as_ptr(), t.as_ptr(), y.as_ptr(), ptr::null(), n as i64, &mut v,
                                          g.as_mut_ptr()), 0);
        sys::lelp_loss_free(l);
        sys::lelp_model_free(m);
        sys::lelp_builder_free(b);
        (comp, t, a, v, g)
    }
}

#[test]
fn safe_crate_equals_raw_c_calls_bit_for_bit() {
    let f = lfx(&format!("{FIXTURES}fit_head_rot_auto.lfx"));
    let (_, hd, h) = get(&f, "H");
    let (n, d) = (hd[0], hd[1]);
    let (c, s) = (get(&f, "eig").1[0], get(&f, "eig").1[1]);
    let (h, z, w) = (f32s(h), f32s(&get(&f, "Z").2), f32s(&get(&f, "W").2));
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let (comp, t_raw, a_raw, v_raw, g_raw) = raw_pipeline(&h, &y, &w, &z, d, c, s, 11, 1.7);

    let mut b = Builder::new(d, c, s, &BuilderOptions { seed: 11, ..Default::default() }).unwrap();
    b.update(&h, &y).unwrap();
    b.set_head(&w).unwrap();
    let m = b.fit().unwrap();
    assert_eq!(m.components().unwrap(), comp);
    let mut t = vec![0f32; n * c * s];
    m.targets_from_logits(&h, &z, 1.7, &mut t).unwrap();
    assert_eq!(t, t_raw);
    assert_eq!(m.assign(&h, &y).unwrap(), a_raw);
    let loss = Loss::new(c, s, 1.7, 0.25, Reduction::Mean).unwrap();
    let u: Vec<f32> = t.iter().enumerate().map(|(i, &x)| x * 3.0 - (i % 7) as f32 * 0.1).collect();
    let mut g = vec![0f32; u.len()];
    assert_eq!(loss.compute(&u, Some(&t), Some(&y), None, Some(&mut g)).unwrap(), v_raw);
    assert_eq!(g, g_raw);
}

#[test]
fn model_queries_match_reference_fixture() {
    // head + null space + rotation (seed 11) + automatic beta, uneven batches
    let f = lfx(&format!("{FIXTURES}fit_head_rot_auto.lfx"));
    let (_, hd, h) = get(&f, "H");
    let (n, d) = (hd[0], hd[1]);
    let (c, s) = (get(&f, "eig").1[0], get(&f, "eig").1[1]);
    let h = f32s(h);
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let sc = &get(&f, "scalars").2; // beta (0 = auto), fraction, tau, eps
    assert_eq!(sc[0], 0.0);
    let mut b = Builder::new(d, c, s, &BuilderOptions { seed: 11, entropy_fraction: sc[1], ..Default::default() })
        .unwrap();
    for (lo, hi) in [(0, 1), (1, 8), (8, 58), (58, n)] {
        b.update(&h[lo * d..hi * d], &y[lo..hi]).unwrap();
    }
    b.set_head(&f32s(&get(&f, "W").2)).unwrap();
    assert_eq!((0..c).map(|k| b.count(k).unwrap()).sum::<u64>(), n as u64);
    let m = b.fit().unwrap();
    assert!(m.auto_beta() && m.rotated() && m.null_space() && m.seed() == 11);
    assert_eq!(m.head_rank(), get(&f, "head_rank").2[0] as usize);
    let close = |what: &str, got: &[f64], want: &[f64], abs: f64, rel: f64| {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= abs + rel * w.abs(), "{what}[{i}]: {g} vs {w}");
        }
    };
    close("means", &m.means().unwrap(), &get(&f, "means").2, 0.0, 1e-9);
    close("ratio", &m.explained_variance_ratio().unwrap(), &get(&f, "ratio").2, 1e-9, 0.0);
    close("components", &m.components().unwrap(), &get(&f, "components").2, 1e-6, 0.0);
    close("offsets", &m.offsets().unwrap(), &get(&f, "offsets").2, 1e-9, 1e-6);
    close("beta", &[m.beta()], &get(&f, "beta").2, 0.0, 1e-6);
    let p: Vec<f64> = m.project(&h).unwrap().iter().map(|&x| x as f64).collect();
    let pw = &get(&f, "project").2;
    for (i, (g, w)) in p.iter().zip(pw).enumerate() {
        assert!((g - w).abs() <= 3e-5 * (1.0 + w.abs()), "project[{i}]: {g} vs {w}");
    }
    let mut t = vec![0f32; n * c * s];
    m.targets_from_labels(&h, &y, sc[3], &mut t).unwrap();
    let t64: Vec<f64> = t.iter().map(|&x| x as f64).collect();
    close("targets (labels)", &t64, &get(&f, "targets_labels").2, 2e-6, 0.0);
    close("batch entropy", &[m.mean_entropy(&h, &y, m.beta()).unwrap()], &get(&f, "batch_entropy").2, 1e-6, 0.0);
    close("batch beta", &[m.estimate_beta(&h, &y, sc[1]).unwrap()], &get(&f, "batch_beta").2, 0.0, 1e-6);
    let m2 = m.with_beta(0.75).unwrap();
    assert!(m2.beta() == 0.75 && !m2.auto_beta() && m.beta() != 0.75);
}

#[test]
fn loss_matches_reference_fixture_both_reductions() {
    let f = lfx(&format!("{FIXTURES}loss_mixed.lfx"));
    let shape = &get(&f, "shape").2; // n, C, S, primary reduction, has weights, has targets
    let (c, s) = (shape[1] as usize, shape[2] as usize);
    let sc = &get(&f, "scalars").2; // tau, alpha
    let u = f32s(&get(&f, "U").2);
    let t = f32s(&get(&f, "T").2);
    let w = f32s(&get(&f, "w").2);
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    for (r, red) in [(0, Reduction::Mean), (1, Reduction::Sum)] {
        let loss = Loss::new(c, s, sc[0], sc[1], red).unwrap();
        assert_eq!(loss.get_double(lelp_sys::LELP_LOSS_TAU).unwrap(), sc[0]);
        assert_eq!(loss.get_int(lelp_sys::LELP_LOSS_REDUCTION).unwrap(), r);
        let mut g = vec![0f32; u.len()];
        let v = loss.compute(&u, Some(&t), Some(&y), Some(&w), Some(&mut g)).unwrap();
        let want = get(&f, &format!("value_r{r}")).2[0];
        assert!((v - want).abs() <= 1e-9 * want.abs(), "value {v} vs {want}");
        for (i, (a, b)) in g.iter().zip(&get(&f, &format!("grad_r{r}")).2).enumerate() {
            assert!((*a as f64 - b).abs() <= 1e-6, "grad[{i}] {a} vs {b}");
        }
    }
    let lp = lelp::predict_log_proba(&u, c, s).unwrap();
    for (a, b) in lp.iter().zip(&get(&f, "log_proba").2) {
        assert!((*a as f64 - b).abs() <= 2e-6 * (1.0 + b.abs()));
    }
    // the other kinds are reachable: DKD needs S = 1 -- the library says so
    let mut dkd = Loss::new(c, s, 1.0, 0.0, Reduction::Mean).unwrap();
    dkd.set_kind(lelp::LossKind::Dkd { target_weight: 1.0, nontarget_weight: 8.0 }).unwrap();
    let e = dkd.compute(&u, Some(&t), Some(&y), None, None).unwrap_err();
    assert!(e.code < 0 && !e.message.is_empty());
    let mut aux = Loss::new(c, s, 1.0, 0.0, Reduction::Mean).unwrap();
    aux.set_kind(lelp::LossKind::SubclassAux { temperature: 2.0 }).unwrap();
    assert_eq!(aux.get_int(lelp_sys::LELP_LOSS_KIND).unwrap(), lelp_sys::LELP_LOSS_KIND_SUBCLASS_AUX);
    assert!(aux.compute(&u, None, None, None, None).unwrap().is_finite());
}

#[test]
fn float32_products_option_reaches_the_builder() {
    let f = lfx(FIXTURE);
    let (_, hd, h) = get(&f, "H");
    let d = hd[1];
    let h = f32s(h);
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let base = BuilderOptions { rotate: false, beta: Some(1.0), ..Default::default() };
    let fast = BuilderOptions { float32_products: true, ..base.clone() };
    let mut a = Builder::new(d, 2, 3, &base).unwrap();
    let mut b = Builder::new(d, 2, 3, &fast).unwrap();
    assert_eq!(a.get_int(lelp_sys::LELP_BUILDER_PRECISION).unwrap(), lelp_sys::LELP_PRECISION_FLOAT64);
    assert_eq!(b.get_int(lelp_sys::LELP_BUILDER_PRECISION).unwrap(), lelp_sys::LELP_PRECISION_FLOAT32);
    a.update(&h, &y).unwrap();
    b.update(&h, &y).unwrap();
    let (e1, e2) = (a.fit().unwrap().eigenvalues().unwrap(), b.fit().unwrap().eigenvalues().unwrap());
    for (x, z) in e1.iter().zip(&e2) {
        assert!((x - z).abs() <= 1e-5 * x.abs(), "{} vs {}", x, z);
    }
}

#[test]
fn gram_form_option_reaches_the_builder() {
    // d = 30: a class keeps up to 10 rows; 8 per class stay rows to the end
    let (d, n) = (30usize, 16usize);
    let mut state = 12345u64;
    let h: Vec<f32> = (0..n * d)
        .map(|i| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            (5.0 + u * 4.0 / (1.0 + (i % d) as f64)) as f32
        })
        .collect();
    let y: Vec<i32> = (0..n as i32).map(|i| i % 2).collect();
    let base = BuilderOptions { rotate: false, beta: Some(1.0), ..Default::default() };
    let off = BuilderOptions { gram_form: false, ..base.clone() };
    let mut a = Builder::new(d, 2, 3, &base).unwrap();
    let mut b = Builder::new(d, 2, 3, &off).unwrap();
    assert_eq!(a.get_int(lelp_sys::LELP_BUILDER_GRAM_FORM).unwrap(), 1);
    assert_eq!(b.get_int(lelp_sys::LELP_BUILDER_GRAM_FORM).unwrap(), 0);
    a.update(&h, &y).unwrap();
    b.update(&h, &y).unwrap();
    // flag bit 4 of the saved state: some class holds rows (docs/format.md)
    assert_eq!(a.to_bytes().unwrap()[20] & 16, 16);
    assert_eq!(b.to_bytes().unwrap()[20] & 16, 0);
    let (e1, e2) = (a.fit().unwrap().eigenvalues().unwrap(), b.fit().unwrap().eigenvalues().unwrap());
    for (x, z) in e1.iter().zip(&e2) {
        assert!((x - z).abs() <= 1e-9 * x.abs(), "{} vs {}", x, z);
    }
}

#[test]
fn builder_merge_save_load_round_trips() {
    let f = lfx(FIXTURE);
    let (_, hd, h) = get(&f, "H");
    let (n, d) = (hd[0], hd[1]);
    let h = f32s(h);
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let opts = BuilderOptions { rotate: false, beta: Some(1.0), ..Default::default() };
    let mut one = Builder::new(d, 2, 3, &opts).unwrap();
    one.update(&h, &y).unwrap();
    let mut a = Builder::new(d, 2, 3, &opts).unwrap();
    let mut b = Builder::new(d, 2, 3, &opts).unwrap();
    a.update(&h[..100 * d], &y[..100]).unwrap();
    b.update(&h[100 * d..], &y[100..]).unwrap();
    a.merge(&b).unwrap();
    let (e1, e2) = (one.fit().unwrap().eigenvalues().unwrap(), a.fit().unwrap().eigenvalues().unwrap());
    for (x, z) in e1.iter().zip(&e2) {
        assert!((x - z).abs() <= 1e-12 * x.abs());
    }
    let dir = std::env::temp_dir().join(format!("lelp-rust-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bp = dir.join("b.state");
    a.save(bp.to_str().unwrap()).unwrap();
    let a2 = Builder::load(bp.to_str().unwrap()).unwrap();
    assert_eq!(a2.dims(), (d, 2, 3));
    assert_eq!(a2.to_bytes().unwrap(), a.to_bytes().unwrap());
    assert_eq!(a2.count(0).unwrap() + a2.count(1).unwrap(), n as u64);
    let m = a2.fit().unwrap();
    let mp = dir.join("m.lelp");
    m.save(mp.to_str().unwrap()).unwrap();
    assert_eq!(Model::load(mp.to_str().unwrap()).unwrap().to_bytes().unwrap(), m.to_bytes().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(Model::load("/nonexistent/m.lelp").err().unwrap().code, lelp::LELP_E_IO);
    assert_eq!(Model::load("a\0b").err().unwrap().code, lelp::LELP_E_INVALID_ARG);
    let mut bytes = m.to_bytes().unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 0x5a;
    assert_eq!(Model::from_bytes(&bytes).err().unwrap().code, lelp::LELP_E_CHECKSUM);
}

#[test]
fn compressor_trains_and_round_trips() {
    use lelp::{Compressor, CompressorOptions, Distance, Targets};
    let (n, dt, k, c) = (48usize, 6usize, 3usize, 3usize);
    let e: Vec<f32> = (0..n * dt).map(|i| ((i * 7919 % 97) as f32 / 48.0 - 1.0) + ((i / dt) % c) as f32).collect();
    let y: Vec<i32> = (0..n).map(|i| (i % c) as i32).collect();
    let opts = CompressorOptions { distance: Distance::Cosine, lr: 0.05, ..Default::default() };
    let mut comp = Compressor::new(dt, k, c, &opts).unwrap();
    let losses: Vec<f64> = (0..40).map(|_| comp.step(&e, Targets::Labels(&y)).unwrap()).collect();
    assert!(losses[39] < losses[0], "{losses:?}");
    let ec = comp.compress(&e).unwrap();
    assert_eq!(ec.len(), n * k);
    let mut g = vec![1f32; n * k];
    let v = comp.student_loss(&ec, &e, Some(&mut g)).unwrap();
    assert!(v.abs() < 1e-6 && g.iter().all(|x| x.abs() < 1e-4), "{v}");
    let (a, bias, w, hb) = comp.weights().unwrap();
    assert_eq!((a.len(), bias.len(), w.len(), hb.len()), (k * dt, k, c * k, c));
    let again = Compressor::from_bytes(&comp.to_bytes().unwrap()).unwrap();
    assert_eq!(again.dims(), (dt, k, c));
    assert_eq!(again.compress(&e).unwrap(), ec);
    let mut ml = Compressor::new(dt, k, c, &CompressorOptions { multilabel: true, ..Default::default() }).unwrap();
    let ym: Vec<f32> = (0..n * c).map(|i| (i % 2) as f32).collect();
    assert!(ml.step(&e, Targets::MultiLabel(&ym)).unwrap() > 0.0);
    assert_eq!(comp.step(&e[..dt * 3], Targets::Labels(&y)).err().unwrap().code, lelp::LELP_E_SHAPE_MISMATCH);
}

#[test]
fn slices_are_checked_before_any_call() {
    let f = lfx(FIXTURE);
    let (_, hd, h) = get(&f, "H");
    let d = hd[1];
    let h = f32s(h);
    let y: Vec<i32> = get(&f, "y").2.iter().map(|&x| x as i32).collect();
    let mut b = Builder::new(d, 2, 3, &BuilderOptions::default()).unwrap();
    b.update(&h, &y).unwrap();
    let m = b.fit().unwrap();
    assert_eq!(m.dims(), (d, 2, 3));
    let mut t = vec![0f32; 10 * 6];
    let e = m.targets_from_logits(&h[..10 * d], &[0.0; 19], 1.0, &mut t).unwrap_err();
    assert_eq!(e.code, lelp::LELP_E_SHAPE_MISMATCH);
    assert!(e.message.contains("logits"), "{}", e.message);
    let e = m.targets_from_labels(&h[..10 * d], &y[..10], 0.0, &mut t[..59]).unwrap_err();
    assert!(e.message.contains("targets has 59 elements, 60 expected"), "{}", e.message);
    assert_eq!(m.project(&h[..d * 2 + 1]).unwrap_err().code, lelp::LELP_E_SHAPE_MISMATCH);
    assert_eq!(lelp::predict_class(&[0.0; 6], 0, 3).unwrap_err().code, lelp::LELP_E_INVALID_ARG);
    assert_eq!(b.set_head(&[0.0; 5]).unwrap_err().code, lelp::LELP_E_SHAPE_MISMATCH);
    let loss = Loss::new(2, 3, 1.0, 0.0, Reduction::Mean).unwrap();
    let mut g = vec![0f32; 5];
    assert_eq!(loss.compute(&[0.0; 6], Some(&[0.0; 6]), None, None, Some(&mut g)).unwrap_err().code,
               lelp::LELP_E_SHAPE_MISMATCH);
    // and the library's own checks come back with its message
    let e = loss.compute(&[0.0; 6], Some(&[0.5; 6]), None, None, None).unwrap_err();
    assert_eq!(e.code, lelp::LELP_E_INVALID_TARGETS);
    assert!(e.message.len() > 10, "{}", e.message);
}
