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
