#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An out-of-tree crate (generated in a scratch directory) that depends on the
# `lelp` crate with its `static` feature, as docs/rust.md shows: `cargo test
# --offline` builds and runs its test with LELP_LIB_DIR, LD_LIBRARY_PATH and
# PKG_CONFIG_PATH unset, and the program it builds neither needs liblelp.so
# (ldd) nor any environment to run. Usage: check_rust_static.sh CARGO
# (run by `make check-rust`, after `make`, which writes build/pkgconfig/lelp.pc).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo=${1:?usage: check_rust_static.sh CARGO}
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/consumer/src" "$tmp/consumer/tests"
cat > "$tmp/consumer/Cargo.toml" <<TOML
[package]
name = "lelp-consumer"
version = "0.1.0"
edition = "2021"

[dependencies]
lelp = { path = "$root/bindings/rust/lelp", features = ["static"] }
TOML
cat > "$tmp/consumer/src/main.rs" <<'RS'
// A fit on two shifted Gaussian classes; its label targets sum to 1 per row.
fn main() -> Result<(), lelp::Error> {
    let (d, c, s, n) = (4usize, 2usize, 2usize, 200usize);
    let mut state = 0x9E3779B97F4A7C15u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / 9007199254740992.0) as f32 - 0.5
    };
    let y: Vec<i32> = (0..n).map(|i| (i % c) as i32).collect();
    let h: Vec<f32> = (0..n * d).map(|k| rnd() + 3.0 * y[k / d] as f32).collect();
    let mut b = lelp::Builder::new(d, c, s, &lelp::BuilderOptions { seed: 3, ..Default::default() })?;
    b.update(&h, &y)?;
    let model = b.fit()?;
    let mut t = vec![0f32; n * c * s];
    model.targets_from_labels(&h, &y, 0.0, &mut t)?;
    let worst = t.chunks(c * s).map(|row| (row.iter().sum::<f32>() - 1.0).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-5, "row sums off by {worst}");
    println!("liblelp {} linked statically: fit d={d} C={c} S={s}, beta {:.3}", lelp::version()?, model.beta());
    Ok(())
}
RS
cat > "$tmp/consumer/tests/smoke.rs" <<'RS'
#[test]
fn version_and_fit() {
    assert!(lelp::version().unwrap().starts_with("0.1."));
    let (d, c, s) = (3usize, 2usize, 1usize);
    let h: Vec<f32> = (0..60).map(|k| (k % 7) as f32 + if (k / d) % 2 == 1 { 5.0 } else { 0.0 }).collect();
    let y: Vec<i32> = (0..20).map(|i| (i % 2) as i32).collect();
    let mut b = lelp::Builder::new(d, c, s, &lelp::BuilderOptions::default()).unwrap();
    b.update(&h, &y).unwrap();
    assert_eq!(b.fit().unwrap().dims(), (d, c, s));
}
RS
cd "$tmp/consumer"
unset LELP_LIB_DIR LD_LIBRARY_PATH PKG_CONFIG_PATH CARGO_TARGET_DIR
export CARGO_TARGET_DIR="$tmp/target"
"$cargo" test --offline -q 2>&1 | tail -n 5
"$cargo" build --offline -q
bin="$tmp/target/debug/lelp-consumer"
deps=$(ldd "$bin")
if grep -q liblelp <<<"$deps"; then
    echo "check_rust_static: the static build still needs liblelp.so:" >&2; echo "$deps" >&2; exit 1
fi
cd /
env -i OPENBLAS_NUM_THREADS=1 "$bin"
echo "check_rust_static: ok (out-of-tree crate, feature static: cargo test, no liblelp.so, no environment)"
