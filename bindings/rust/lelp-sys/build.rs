//! Finds liblelp: $LELP_LIB_DIR, else `pkg-config --libs-only-L lelp`, else the
//! source tree's build/ directory. Adds an rpath so tests and examples run
//! without LD_LIBRARY_PATH.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LELP_LIB_DIR");
    let dir = std::env::var("LELP_LIB_DIR").ok().or_else(pkg_config_dir).unwrap_or_else(|| {
        let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
        manifest.join("../../../build").to_string_lossy().into_owned()
    });
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=dylib=lelp");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    println!("cargo:root={dir}");
}

fn pkg_config_dir() -> Option<String> {
    let out = Command::new("pkg-config").args(["--libs-only-L", "lelp"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace().find_map(|t| t.strip_prefix("-L").map(str::to_owned))
}
