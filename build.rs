//! Build script:
//! 1. generates the C header from `src/ffi/` with cbindgen into `OUT_DIR`
//!    (`tests/header.rs` compares it with the committed `include/camsync.h`);
//! 2. compiles the C++ adapter (`adapter/layer.cpp`) into the cdylib when the
//!    `libcamera` feature is on, or when pkg-config finds a libcamera that has
//!    `<libcamera/layer.h>`; otherwise says why it was skipped. The meson build
//!    compiles the adapter itself and sets `CAMSYNC_NO_ADAPTER=1`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    for p in ["build.rs", "cbindgen.toml", "src/ffi", "adapter"] {
        println!("cargo:rerun-if-changed={p}");
    }
    for v in ["CAMSYNC_NO_ADAPTER", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo::rustc-check-cfg=cfg(camsync_adapter)");
    header();
    adapter();
}

fn header() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("camsync.h");
    let config = match cbindgen::Config::from_file("cbindgen.toml") {
        Ok(c) => c,
        Err(e) => {
            println!("cargo:warning=cbindgen.toml: {e}; header not generated");
            return;
        }
    };
    // Only the C API's files: the rest of the crate is not cbindgen's business.
    match cbindgen::Builder::new()
        .with_config(config)
        .with_src("src/ffi/mod.rs")
        .with_src("src/ffi/types.rs")
        .generate()
    {
        Ok(b) => {
            b.write_to_file(&out);
        }
        // Not fatal for the build; the header test fails instead.
        Err(e) => println!("cargo:warning=cbindgen failed, header not generated: {e}"),
    }
}

/// The flags of an installed libcamera, if pkg-config knows one.
struct Libcamera {
    include_dirs: Vec<PathBuf>,
    cflags: Vec<String>,
    libs: Vec<String>,
    has_layer_h: bool,
}

fn pkg_config(args: &[&str]) -> Option<String> {
    let o = Command::new("pkg-config").args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn find_libcamera() -> Option<Libcamera> {
    let cflags = pkg_config(&["--cflags", "libcamera"])?;
    let libs = pkg_config(&["--libs", "libcamera"])?;
    let mut include_dirs = Vec::new();
    let mut other = Vec::new();
    for f in cflags.split_whitespace() {
        match f.strip_prefix("-I") {
            Some(d) => include_dirs.push(PathBuf::from(d)),
            None => other.push(f.to_string()),
        }
    }
    let has_layer_h = include_dirs
        .iter()
        .any(|d| d.join("libcamera/layer.h").is_file());
    Some(Libcamera {
        include_dirs,
        cflags: other,
        libs: libs.split_whitespace().map(str::to_string).collect(),
        has_layer_h,
    })
}

fn adapter() {
    if env::var_os("CAMSYNC_NO_ADAPTER").is_some_and(|v| v != "0") {
        return;
    }
    let wanted = env::var_os("CARGO_FEATURE_LIBCAMERA").is_some();
    let lc = find_libcamera();
    let lc = match (lc, wanted) {
        (Some(lc), true) => lc,
        (Some(lc), false) if lc.has_layer_h => lc,
        (Some(_), false) => {
            println!(
                "cargo:warning=C++ adapter skipped: the libcamera pkg-config finds has no \
                 <libcamera/layer.h> (no layer support); the cdylib has the C API only"
            );
            return;
        }
        (None, true) => panic!(
            "feature `libcamera`: pkg-config cannot find libcamera (set PKG_CONFIG_PATH to a \
             libcamera build that carries the layer patches)"
        ),
        (None, false) => {
            println!(
                "cargo:warning=C++ adapter skipped: pkg-config finds no libcamera; the cdylib \
                 has the C API only (enable feature `libcamera` or use meson to build sync.so)"
            );
            return;
        }
    };
    if !lc.has_layer_h {
        println!(
            "cargo:warning=<libcamera/layer.h> not found: the adapter uses its own declaration \
             of the v6 layer ABI"
        );
    }
    let mut b = cc::Build::new();
    b.cpp(true)
        .file(Path::new("adapter/layer.cpp"))
        .include("include")
        .std("c++17")
        .define("CAMSYNC_RUST_EXPORTS", None)
        .flag("-fvisibility=hidden")
        .flag("-fvisibility-inlines-hidden")
        .warnings(true);
    for d in &lc.include_dirs {
        b.include(d);
    }
    for f in &lc.cflags {
        b.flag(f);
    }
    b.compile("camsync_adapter");
    for l in &lc.libs {
        if let Some(dir) = l.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = l.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }
    // src/ffi/abi.rs then defines the exported `layerInfo` and `layerInterface`.
    println!("cargo:rustc-cfg=camsync_adapter");
}
