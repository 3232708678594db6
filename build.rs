// SPDX-License-Identifier: LGPL-2.1-or-later
//! Build script: compiles the C++ adapter (`adapter/layer.cpp`) into the
//! cdylib when the `libcamera` feature asks for it (then a libcamera with
//! `<libcamera/layer.h>` is required, and its absence is an error that says
//! how to point at one), or silently when pkg-config finds such a libcamera
//! anyway. The meson build compiles the adapter itself and sets
//! `CAMSYNC_NO_ADAPTER=1`. The C header is not generated here:
//! `tests/header.rs` does it (and fails on a stale `include/camsync.h`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    for p in ["build.rs", "adapter"] {
        println!("cargo:rerun-if-changed={p}");
    }
    for v in ["CAMSYNC_NO_ADAPTER", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo::rustc-check-cfg=cfg(camsync_adapter)");
    adapter();
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

/// What to do when the feature asks for the adapter and it cannot be built.
const HOW: &str = "point pkg-config at a libcamera that carries the layer patches \
    (PKG_CONFIG_PATH=<its build>/meson-uninstalled or <its prefix>/lib/pkgconfig), or build \
    without `--features libcamera` (the cdylib then has the C API only; meson builds sync.so)";

fn adapter() {
    if env::var_os("CAMSYNC_NO_ADAPTER").is_some_and(|v| v != "0") {
        return;
    }
    let wanted = env::var_os("CARGO_FEATURE_LIBCAMERA").is_some();
    let lc = match find_libcamera() {
        Some(lc) if lc.has_layer_h => lc,
        // Not asked for: the C API alone, silently.
        _ if !wanted => return,
        Some(lc) => {
            let dirs: Vec<String> = lc
                .include_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            println!(
                "cargo::error=feature `libcamera`: the libcamera pkg-config finds (include dirs: {}) \
                 has no <libcamera/layer.h>: it cannot load layers, a sync.so built against it \
                 would never run; {HOW}",
                dirs.join(" ")
            );
            return;
        }
        None => {
            println!("cargo::error=feature `libcamera`: pkg-config finds no libcamera; {HOW}");
            return;
        }
    };
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
