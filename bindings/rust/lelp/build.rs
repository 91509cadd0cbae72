// SPDX-License-Identifier: MIT
//! Passes liblelp's directory (found by lelp-sys, `links = "lelp"`) on as an
//! rpath for this crate's tests and examples.
fn main() {
    if let Ok(dir) = std::env::var("DEP_LELP_ROOT") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
