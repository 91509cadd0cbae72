// SPDX-License-Identifier: MIT
//! Trains a tiny linear student on LELP targets: two classes of three hidden
//! Gaussian clusters each in d = 8; the student is softmax regression with
//! C*S = 6 outputs trained by SGD on liblelp's gradient.
//!     cargo run --offline --example train
use lelp::{Builder, BuilderOptions, Loss, Reduction};

fn main() -> Result<(), lelp::Error> {
    let (d, c, s, n) = (8usize, 2usize, 3usize, 1200usize);
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / 9007199254740992.0) as f32 - 0.5
    };
    let centres: Vec<f32> = (0..c * 3 * d).map(|_| 6.0 * rnd()).collect();
    let mut h = vec![0f32; n * d];
    let mut y = vec![0i32; n];
    for i in 0..n {
        let (cls, k) = (i % c, (i / c) % 3);
        y[i] = cls as i32;
        for j in 0..d {
            h[i * d + j] = centres[(cls * 3 + k) * d + j] + rnd() + if j == 0 { 4.0 * cls as f32 } else { 0.0 };
        }
    }
    let mut b = Builder::new(d, c, s, &BuilderOptions { seed: 1, ..Default::default() })?;
    b.update(&h, &y)?;
    let model = b.fit()?;
    let mut t = vec![0f32; n * c * s];
    model.targets_from_labels(&h, &y, 0.0, &mut t)?;
    let loss = Loss::new(c, s, 1.0, 0.0, Reduction::Mean)?;
    let k = c * s;
    let (mut w, mut bias) = (vec![0f32; k * d], vec![0f32; k]);
    let mut u = vec![0f32; n * k];
    let mut g = vec![0f32; n * k];
    for epoch in 0..30 {
        for i in 0..n {
            for o in 0..k {
                u[i * k + o] = bias[o] + (0..d).map(|j| w[o * d + j] * h[i * d + j]).sum::<f32>();
            }
        }
        let value = loss.compute(&u, Some(&t), None, None, Some(&mut g))?;
        for o in 0..k {
            bias[o] -= 0.5 * (0..n).map(|i| g[i * k + o]).sum::<f32>();
            for j in 0..d {
                w[o * d + j] -= 0.5 * (0..n).map(|i| g[i * k + o] * h[i * d + j]).sum::<f32>();
            }
        }
        if epoch % 10 == 9 {
            println!("epoch {:2}  loss {value:.4}", epoch + 1);
        }
    }
    let pred = lelp::predict_class(&u, c, s)?;
    let acc = pred.iter().zip(&y).filter(|(p, t)| p == t).count() as f64 / n as f64;
    println!("student training accuracy {acc:.3} (beta {:.3})", model.beta());
    Ok(())
}
