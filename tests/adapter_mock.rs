// SPDX-License-Identifier: LGPL-2.1-or-later
//! The C++ adapter, built and run against a test stand-in for libcamera's
//! public headers (`tests/adapter/mock`, written for these tests; no
//! libcamera code), since no layer-enabled libcamera is installed here:
//!
//! - it compiles warning-free in its three shapes: own v6 declarations,
//!   `<libcamera/layer.h>` present, and `CAMSYNC_RUST_EXPORTS` (cargo);
//! - linked the way meson links it (adapter + Rust staticlib + `adapter/sync.map`)
//!   into `sync.so`, its dynamic symbols are `layerInfo` and `layerInterface`
//!   (data objects, 16 and 112 bytes) plus the C API, and nothing C++;
//! - the same through cargo (`--features libcamera`, pkg-config pointed at the
//!   stand-in): the cdylib exports both objects from `src/ffi/abi.rs`;
//! - `tests/adapter/host.cpp`, a stand-in host that dlopens the module like
//!   libcamera's LayerManager, drives a server and a client through the v6
//!   hooks over loopback multicast: SyncReady on the same frame, the client's
//!   `SyncAdjustment` equal to its offset.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{MOCK, MOCK_LAYER_H, built_lib_dir, mock_libcamera, port, root, run, target_root};

/// A scratch directory under `target/` (fixed, so the nested cargo build's
/// pkg-config path is too and reruns are incremental).
fn work() -> PathBuf {
    let d = target_root().join("adapter-mock");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

fn compile_adapter(out: &Path, extra: &[&str], layer_h: bool) {
    let mut c = Command::new(cxx());
    c.args([
        "-std=c++17",
        "-fPIC",
        "-fvisibility=hidden",
        "-fvisibility-inlines-hidden",
        "-Wall",
        "-Wextra",
        // What libcamera adds when it builds the adapter in its tree.
        "-Wmissing-declarations",
        "-Wshadow",
        "-Wnon-virtual-dtor",
        "-Werror",
        "-c",
        "-o",
    ])
    .arg(out)
    .args(extra);
    if layer_h {
        c.arg("-I").arg(root().join(MOCK_LAYER_H));
    }
    c.arg("-I")
        .arg(root().join(MOCK))
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("adapter/layer.cpp"));
    run(&mut c);
}

/// `nm -D --defined-only -S`: (name, type letter, size).
fn dynamic_symbols(so: &Path) -> Vec<(String, char, u64)> {
    let out = run(Command::new("nm")
        .args(["-D", "--defined-only", "-S"])
        .arg(so));
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4).then(|| {
                (
                    f[3].to_string(),
                    f[2].chars().next().unwrap(),
                    u64::from_str_radix(f[1], 16).unwrap(),
                )
            })
        })
        .collect()
}

fn check_exports(so: &Path) {
    let syms = dynamic_symbols(so);
    let find = |n: &str| syms.iter().find(|s| s.0 == n).cloned();
    assert_eq!(
        find("layerInfo").map(|s| (s.1, s.2)),
        Some(('D', 16)),
        "{syms:?}"
    );
    assert_eq!(
        find("layerInterface").map(|s| (s.1, s.2)),
        Some(('D', 112)),
        "{syms:?}"
    );
    for s in &syms {
        assert!(
            s.0 == "layerInfo" || s.0 == "layerInterface" || s.0.starts_with("camsync_"),
            "unexpected export {s:?} from {}",
            so.display()
        );
    }
    for f in ["camsync_layer_create", "camsync_layer_request_completed"] {
        assert!(find(f).is_some_and(|s| s.1 == 'T'), "{f} exported");
    }
}

fn run_host(dir: &Path, so: &Path, port: u16) {
    let out = run(Command::new(dir.join("host"))
        .arg(so)
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_PORT", port.to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "5")
        .env_remove("LIBCAMERA_SYNC_CONFIG")
        .env_remove("CAMSYNC_DEBUG_PANIC"));
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("Sync achieved (client)"), "{out}");
}

#[test]
fn adapter_compiles_in_every_shape() {
    let dir = work().join("shapes");
    std::fs::create_dir_all(&dir).unwrap();
    compile_adapter(&dir.join("fallback.o"), &[], false);
    compile_adapter(&dir.join("layer_h.o"), &[], true);
    compile_adapter(&dir.join("rust.o"), &["-DCAMSYNC_RUST_EXPORTS"], true);
    compile_adapter(
        &dir.join("rust_fallback.o"),
        &["-DCAMSYNC_RUST_EXPORTS"],
        false,
    );
}

#[test]
fn meson_style_sync_so_exports_only_the_abi_and_runs_in_a_host() {
    let dir = work().join("meson");
    std::fs::create_dir_all(&dir).unwrap();
    mock_libcamera(&dir);
    let obj = dir.join("layer.o");
    compile_adapter(&obj, &[], true);
    let so = dir.join("sync.so");
    run(Command::new(cxx())
        .args(["-shared", "-o"])
        .arg(&so)
        .arg(&obj)
        .arg(built_lib_dir().join("libcamsync.a"))
        .arg(format!(
            "-Wl,--version-script={}",
            root().join("adapter/sync.map").display()
        ))
        .args(["-Wl,-z,defs", "-Wl,--gc-sections", "-L"])
        .arg(&dir)
        .args([
            "-lmockcamera",
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]));
    check_exports(&so);
    run_host(&dir, &so, port(3));
}

#[test]
fn cargo_feature_libcamera_builds_a_loadable_cdylib() {
    let dir = work().join("cargo");
    std::fs::create_dir_all(&dir).unwrap();
    mock_libcamera(&dir);
    let pc = dir.join("pkgconfig");
    std::fs::create_dir_all(&pc).unwrap();
    std::fs::write(
        pc.join("libcamera.pc"),
        format!(
            "Name: libcamera\nDescription: camsync test stand-in\nVersion: 0.7.1\n\
             Cflags: -I{} -I{}\nLibs: -L{} -lmockcamera\n",
            root().join(MOCK_LAYER_H).display(),
            root().join(MOCK).display(),
            dir.display()
        ),
    )
    .unwrap();
    // A target dir of its own, kept between runs so rebuilds are incremental.
    let target = target_root().join("adapter-cargo");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo)
        .current_dir(root())
        .args(["build", "--lib", "--features", "libcamera", "--target-dir"])
        .arg(&target)
        .env("PKG_CONFIG_PATH", &pc)
        .env_remove("CAMSYNC_NO_ADAPTER")
        .env_remove("RUSTFLAGS"));
    let so = target.join("debug/libcamsync.so");
    check_exports(&so);
    run_host(&dir, &so, port(4));
}
