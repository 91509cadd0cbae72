// SPDX-License-Identifier: MIT
//! Finds liblelp: $LELP_LIB_DIR, else `pkg-config --libs-only-L lelp` (an
//! installed liblelp; no -L in its output means a system directory the linker
//! searches anyway), else the source tree's build/ directory (relative to this
//! crate). Adds an rpath so tests and examples run without LD_LIBRARY_PATH,
//! and passes the directory on to dependents as DEP_LELP_ROOT.
//!
//! Feature `static`: links liblelp.a instead, and after it the libraries it
//! needs (BLAS/LAPACK and their runtimes) from `pkg-config --static --libs
//! lelp`, looking first at DIR/pkgconfig/lelp.pc (`make` writes
//! build/pkgconfig/lelp.pc, `make install` LIBDIR/pkgconfig/lelp.pc). The
//! program then needs no liblelp.so.0 and no environment at run time.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LELP_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_STATIC").is_some() {
        link_static();
        return;
    }
    let dir = lib_dir();
    if let Some(dir) = &dir {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:root={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=lelp");
}

/// The directory `main` would use, as a String (None: a system directory).
fn lib_dir() -> Option<String> {
    match std::env::var("LELP_LIB_DIR") {
        Ok(d) if !d.is_empty() => Some(d),
        _ => match pkg_config() {
            Some(found) => found,
            None => {
                let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
                Some(manifest.join("../../../build").to_string_lossy().into_owned())
            }
        },
    }
}

fn link_static() {
    let dir = lib_dir();
    let mut pc_path = std::env::var("PKG_CONFIG_PATH").unwrap_or_default();
    if let Some(dir) = &dir {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:root={dir}");
        println!("cargo:rerun-if-changed={dir}/liblelp.a");
        pc_path = format!("{dir}/pkgconfig{}{pc_path}", if pc_path.is_empty() { "" } else { ":" });
    }
    let out = Command::new("pkg-config")
        .args(["--static", "--libs", "lelp"])
        .env("PKG_CONFIG_PATH", &pc_path)
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => panic!(
            "lelp-sys (feature static): `pkg-config --static --libs lelp` found no lelp.pc in {pc_path:?} \
             (run `make` in the liblelp tree, which writes build/pkgconfig/lelp.pc, or `make install`; \
             LELP_LIB_DIR selects the directory holding liblelp.a)"
        ),
    };
    println!("cargo:rustc-link-lib=static=lelp");
    for flag in text.split_whitespace() {
        if let Some(d) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={d}");
        } else if let Some(l) = flag.strip_prefix("-l") {
            if l != "lelp" {
                println!("cargo:rustc-link-lib={l}");
            }
        }
    }
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
