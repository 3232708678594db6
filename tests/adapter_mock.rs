// SPDX-License-Identifier: LGPL-2.1-or-later
//! The C++ adapter, built and run against a test stand-in for libcamera's
//! public headers (`tests/adapter/mock`, written for these tests; no
//! libcamera code), since no layer-enabled libcamera is installed here:
//!
//! - it compiles warning-free in its three shapes: own v6 declarations,
//!   `<libcamera/layer.h>` present, and `CAMSYNC_RUST_EXPORTS` (cargo);
//! - linked the way meson links it inside libcamera's tree (adapter compiled
//!   with `LIBCAMERA_BASE_PRIVATE`, + Rust staticlib + `adapter/sync.map`)
//!   into `sync.so`, its dynamic symbols are `layerInfo` and `layerInterface`
//!   (data objects, 16 and 112 bytes) plus the C API, and nothing C++;
//! - that `sync.so` logs through the stand-in libcamera logger: its lines
//!   are the host's own (the file, the thread ids, the levels, syslog), none
//!   of the host's lines is lost, and nothing goes to stderr behind its back;
//! - the same through cargo (`--features libcamera`, pkg-config pointed at the
//!   stand-in): the cdylib exports both objects from `src/ffi/abi.rs`;
//! - `tests/adapter/host.cpp`, a stand-in host that dlopens the module like
//!   libcamera's LayerManager, drives a server and a client through the v6
//!   hooks over loopback multicast: SyncReady on the same frame, the client's
//!   `SyncAdjustment` equal to its offset.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        // The host's script checks the reference's arithmetic frame for frame.
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env_remove("LIBCAMERA_SYNC_CONFIG")
        .env_remove("CAMSYNC_DEBUG_PANIC"));
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("Sync achieved (client)"), "{out}");
}

/// What libcamera's tree defines for its own components and layers (their
/// `libcamera_private` dependency): the adapter then logs through libcamera.
const IN_TREE: &str = "-DLIBCAMERA_BASE_PRIVATE";

#[test]
fn adapter_compiles_in_every_shape() {
    let dir = work().join("shapes");
    std::fs::create_dir_all(&dir).unwrap();
    compile_adapter(&dir.join("fallback.o"), &[], false);
    compile_adapter(&dir.join("layer_h.o"), &[], true);
    compile_adapter(&dir.join("in_tree.o"), &[IN_TREE], true);
    compile_adapter(&dir.join("rust.o"), &["-DCAMSYNC_RUST_EXPORTS"], true);
    compile_adapter(
        &dir.join("rust_fallback.o"),
        &["-DCAMSYNC_RUST_EXPORTS"],
        false,
    );
    compile_adapter(
        &dir.join("rust_in_tree.o"),
        &["-DCAMSYNC_RUST_EXPORTS", IN_TREE],
        true,
    );
}

/// `sync.so` as meson links it inside libcamera's tree, and the directory of
/// the stand-in libcamera and host (built once per test process).
fn in_tree_sync_so() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(build_in_tree_sync_so)
}

fn build_in_tree_sync_so() -> (PathBuf, PathBuf) {
    let dir = work().join("meson");
    std::fs::create_dir_all(&dir).unwrap();
    mock_libcamera(&dir);
    let obj = dir.join("layer.o");
    compile_adapter(&obj, &[IN_TREE], true);
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
    (dir, so)
}

#[test]
fn meson_style_sync_so_exports_only_the_abi_and_runs_in_a_host() {
    let (dir, so) = in_tree_sync_so();
    check_exports(so);
    run_host(dir, so, port(3));
}

/// Run the host on the in-tree `sync.so` with these logging variables:
/// (stdout, stderr, the log file's text, the main and completion threads' ids).
fn run_logging(
    log_file: Option<&Path>,
    levels: Option<&str>,
) -> (String, String, String, String, String) {
    let (dir, so) = in_tree_sync_so();
    let mut cmd = Command::new(dir.join("host"));
    cmd.arg(so)
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_PORT", port(0).to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        // The host's script checks the reference's arithmetic frame for frame.
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env_remove("LIBCAMERA_SYNC_CONFIG")
        .env_remove("CAMSYNC_DEBUG_PANIC")
        .env_remove("LIBCAMERA_LOG_FILE")
        .env_remove("LIBCAMERA_LOG_LEVELS");
    // "syslog" is not a file.
    let file = log_file.filter(|f| *f != Path::new("syslog"));
    if let Some(f) = file {
        // libcamera truncates its log file when it opens it: leave a line
        // that must disappear.
        std::fs::write(f, "a line from an earlier run\n").unwrap();
    }
    if let Some(f) = log_file {
        cmd.env("LIBCAMERA_LOG_FILE", f);
    }
    if let Some(l) = levels {
        cmd.env("LIBCAMERA_LOG_LEVELS", l);
    }
    let o = cmd.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success() && out.contains("PASS"), "{out}\n{err}");
    let text = file
        .map(|f| std::fs::read_to_string(f).unwrap())
        .unwrap_or_default();
    let threads = out
        .lines()
        .find_map(|l| l.strip_prefix("main thread "))
        .expect("the host prints its threads");
    let (main, completion) = threads.split_once(", completion thread ").unwrap();
    let (main, completion) = (main.to_string(), completion.to_string());
    (out, err, text, main, completion)
}

/// (thread id, level, message) of every `category` line in the stand-in's format:
/// `[sec.nsec] [tid] LEVEL category file:line message`.
fn lines_of<'a>(text: &'a str, category: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (_, rest) = rest.split_once("] [")?;
            let (tid, rest) = rest.split_once("] ")?;
            let (level, rest) = rest.trim_start().split_once(' ')?;
            let rest = rest.strip_prefix(category)?.strip_prefix(' ')?;
            let (_file_line, message) = rest.split_once(' ')?;
            Some((tid, level, message))
        })
        .collect()
}

#[test]
fn inside_libcamera_the_layers_lines_are_libcameras_own() {
    let file = work().join(format!("libcamera-{}.log", std::process::id()));

    // INFO (libcamera's default): every line of ours is in libcamera's file,
    // in its format, with the thread that logged it, naming its camera.
    let (_, err, text, main, completion) = run_logging(Some(&file), None);
    assert!(!text.contains("earlier run"), "the host truncated its file");
    assert!(
        !err.contains("SyncLayer") && !err.contains("Sync achieved"),
        "the layer wrote nothing itself: {err}"
    );
    let host = lines_of(&text, "Host");
    assert_eq!(host.len(), 30, "none of the host's lines was lost:\n{text}");
    let ours = lines_of(&text, "SyncLayer");
    let find = |needle: &str| {
        ours.iter()
            .find(|l| l.2.contains(needle))
            .unwrap_or_else(|| panic!("no SyncLayer line with '{needle}':\n{text}"))
    };
    let init = find("server-cam: sync layer initialised");
    assert_eq!((init.0, init.1), (main.as_str(), "INFO"));
    let unsupported = find("no-sync-cam: Sync layer is not supported");
    assert_eq!((unsupported.0, unsupported.1), (main.as_str(), "WARN"));
    for cam in [
        "server-cam: Sync achieved (server)",
        "client-cam: Sync achieved (client)",
    ] {
        let l = find(cam);
        assert_eq!(
            (l.0, l.1),
            (completion.as_str(), "INFO"),
            "logged on the thread that completed the request"
        );
    }
    for l in &ours {
        assert!(
            ["no-sync-cam: ", "server-cam: ", "client-cam: "]
                .iter()
                .any(|c| l.2.starts_with(c)),
            "every line names its camera: {l:?}"
        );
        assert_ne!(l.1, "DEBUG", "below libcamera's level for SyncLayer: {l:?}");
    }

    // LIBCAMERA_LOG_LEVELS is libcamera's to apply: DEBUG shows every packet,
    // WARN hides the INFO lines.
    let (_, _, text, _, _) = run_logging(Some(&file), Some("SyncLayer:DEBUG"));
    let ours = lines_of(&text, "SyncLayer");
    assert!(
        ours.iter()
            .any(|l| l.1 == "DEBUG" && l.2.starts_with("server-cam: send packet")),
        "{text}"
    );
    let (_, _, text, _, _) = run_logging(Some(&file), Some("*:INFO,Sync*:WARN"));
    let ours = lines_of(&text, "SyncLayer");
    assert!(
        ours.iter().all(|l| l.1 == "WARN" || l.1 == "ERROR"),
        "{text}"
    );
    assert!(ours.iter().any(|l| l.2.contains("not supported")), "{text}");
    assert_eq!(lines_of(&text, "Host").len(), 30);

    // syslog is libcamera's to do: nothing of ours on stderr (the layer on
    // its own cannot write syslog and would fall back to stderr).
    let (_, err, _, _, _) = run_logging(Some(Path::new("syslog")), None);
    assert!(
        !err.contains("SyncLayer") && !err.contains("Sync achieved"),
        "{err}"
    );
    let _ = std::fs::remove_file(&file);
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
