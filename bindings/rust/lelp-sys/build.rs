// SPDX-License-Identifier: MIT
//! Finds liblelp: $LELP_LIB_DIR, else `pkg-config --libs-only-L lelp` (an
//! installed liblelp; no -L in its output means a system directory the linker
//! searches anyway), else the source tree's build/ directory (relative to this
//! crate). Adds an rpath so tests and examples run without LD_LIBRARY_PATH,
//! and passes the directory on to dependents as DEP_LELP_ROOT.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LELP_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    let dir = match std::env::var("LELP_LIB_DIR") {
        Ok(d) if !d.is_empty() => Some(d),
        _ => match pkg_config() {
            Some(found) => found, // Some(dir) or None: installed in a system directory
            None => {
                let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
                Some(manifest.join("../../../build").to_string_lossy().into_owned())
            }
        },
    };
    if let Some(dir) = &dir {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:root={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=lelp");
}

/// None: pkg-config absent or no lelp.pc; Some(None): found, in a system
/// directory; Some(Some(dir)): found in dir.
fn pkg_config() -> Option<Option<String>> {
    let out = Command::new("pkg-config").args(["--libs-only-L", "lelp"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.split_whitespace().find_map(|t| t.strip_prefix("-L").map(str::to_owned)))
}
