// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the plugin build compiles, and what the build script says:
//!
//! - without the `cli` feature (`cargo build --no-default-features`, what
//!   meson builds) none of the tools' dependencies are in the build;
//! - a plain build says nothing about the C++ adapter (it was not asked for);
//! - `--features libcamera` without a layer-enabled libcamera fails with a
//!   message saying how to point at one, not a build-script panic.
//!
//! The nested cargo builds share `target/adapter-cargo` with the adapter and
//! meson tests (incremental; cargo's lock serialises them).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{MOCK, root, target_root};

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// A lean `cargo build --lib` with pkg-config pointed at `pc` only (a path
/// of its own, so the build script reruns and speaks).
fn build_lib(features: &[&str], pc: &Path) -> Output {
    cargo()
        .args(["build", "--lib", "--locked", "--no-default-features"])
        .args(features)
        .arg("--target-dir")
        .arg(target_root().join("adapter-cargo"))
        .env("PKG_CONFIG_PATH", pc)
        .env("PKG_CONFIG_LIBDIR", pc)
        .env_remove("CAMSYNC_NO_ADAPTER")
        .output()
        .unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = target_root()
        .join("build-config")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_layer_alone_compiles_none_of_the_tools_dependencies() {
    let out = cargo()
        .args(["tree", "--locked", "-e", "normal", "--no-default-features"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"camsync") && crates.contains(&"socket2"),
        "{tree}"
    );
    for tool_dep in [
        "clap",
        "clap_complete",
        "clap_mangen",
        "plotters",
        "indicatif",
        "serde",
        "serde_json",
        "flate2",
        "cbindgen",
    ] {
        assert!(
            !crates.contains(&tool_dep),
            "{tool_dep} in the layer's build:\n{tree}"
        );
    }
}

#[test]
fn a_plain_build_is_silent_about_the_adapter() {
    let pc = scratch("plain");
    let out = build_lib(&[], &pc);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning: camsync@"), "{err}");
    assert!(!err.to_lowercase().contains("adapter"), "{err}");
}

#[test]
fn feature_libcamera_without_layer_support_fails_saying_how_to_fix_it() {
    // No libcamera at all.
    let pc = scratch("none");
    let out = build_lib(&["--features", "libcamera"], &pc);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("error: camsync@")
            && err.contains("feature `libcamera`: pkg-config finds no libcamera")
            && err.contains("PKG_CONFIG_PATH="),
        "{err}"
    );
    // A libcamera without <libcamera/layer.h>.
    let pc = scratch("no-layer-h");
    std::fs::write(
        pc.join("libcamera.pc"),
        format!(
            "Name: libcamera\nDescription: no layers\nVersion: 0.7.1\nCflags: -I{}\nLibs:\n",
            root().join(MOCK).display()
        ),
    )
    .unwrap();
    let out = build_lib(&["--features", "libcamera"], &pc);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("has no <libcamera/layer.h>") && err.contains("PKG_CONFIG_PATH="),
        "{err}"
    );
}
