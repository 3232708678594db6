// SPDX-License-Identifier: LGPL-2.1-or-later
//! Helpers shared by the tests that build and run `tests/c/api_test.c`, the
//! stand-in libcamera, and ([`memory`]) the plugin instance in memory.

#![allow(dead_code)]

pub mod memory;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A port for this test process (net_loopback.rs uses 20000-41000; each
/// test binary here adds its own offset below 5).
pub fn port(offset: u16) -> u16 {
    assert!(offset < PORTS_PER_PROCESS, "port offset {offset}");
    45000 + (std::process::id() % 1600) as u16 * PORTS_PER_PROCESS + offset
}

/// The ports a test process has, one per test that sends: tests run in
/// parallel, and two on one port hear each other's packets.
pub const PORTS_PER_PROCESS: u16 = 12;

/// `target/<profile>`, where cargo put libcamsync.so.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `target/<profile>` after building the crate's cdylib and staticlib there
/// (`cargo test` itself builds only the rlib the tests link). Once per test
/// process; cargo makes it a no-op when they are fresh.
pub fn built_lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = lib_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root())
            .args(["build", "--lib"])
            .env("CARGO_TARGET_DIR", dir.parent().unwrap());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        run(&mut cmd);
        for f in ["libcamsync.so", "libcamsync.a"] {
            assert!(dir.join(f).is_file(), "{} has no {f}", dir.display());
        }
        dir
    })
}

/// The crate's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `target/`.
pub fn target_root() -> PathBuf {
    lib_dir().parent().unwrap().to_path_buf()
}

/// Run a command; panic with its output unless it succeeds.
pub fn run(cmd: &mut Command) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{cmd:?} failed:\n{out}");
    out
}

/// Say that a test did not run, and why, in `cargo test`'s own output: the
/// harness captures `eprintln!` (shown only on failure), not a direct write
/// to stderr, so this line shows beside "test ... ok".
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Whether `tool --version` runs.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The test stand-in for libcamera's public headers (no libcamera code).
pub const MOCK: &str = "tests/adapter/mock";
/// The stand-in's `<libcamera/layer.h>`.
pub const MOCK_LAYER_H: &str = "tests/adapter/mock-layer-h";

/// Build the stand-in libcamera library and the stand-in host (which
/// dlopens a layer module as libcamera's LayerManager does) into `dir`.
pub fn mock_libcamera(dir: &Path) {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    run(Command::new(&cxx)
        .args(["-std=c++17", "-shared", "-fPIC", "-pthread", "-o"])
        .arg(dir.join("libmockcamera.so"))
        .arg("-I")
        .arg(root().join(MOCK))
        .arg(root().join(MOCK).join("controls.cpp"))
        .arg(root().join(MOCK).join("log.cpp")));
    // The host logs through the stand-in's logger, as libcamera's own code
    // does (its private headers).
    run(Command::new(&cxx)
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
            "-DLIBCAMERA_BASE_PRIVATE",
            "-o",
        ])
        .arg(dir.join("host"))
        .arg("-I")
        .arg(root().join(MOCK_LAYER_H))
        .arg("-I")
        .arg(root().join(MOCK))
        .arg(root().join("tests/adapter/host.cpp"))
        .arg("-L")
        .arg(dir)
        .args(["-lmockcamera", "-ldl"])
        .arg(format!("-Wl,-rpath,{}", dir.display())));
}

/// `tests/c/api_test.c`, compiled against `include/` and linked to the
/// cdylib of this test run (once per test process).
pub fn api_test_program() -> &'static Path {
    static PROG: OnceLock<PathBuf> = OnceLock::new();
    PROG.get_or_init(|| compile_api_test(built_lib_dir(), "debug"))
}

/// `tests/c/api_test.c` linked to a release build of the library alone
/// (`cargo build --release --lib --no-default-features`, as meson builds
/// it; once per test process).
pub fn api_test_program_release() -> &'static Path {
    static PROG: OnceLock<PathBuf> = OnceLock::new();
    PROG.get_or_init(|| {
        let target = target_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(Command::new(cargo)
            .current_dir(root())
            .args(["build", "--release", "--lib", "--no-default-features"])
            .env("CARGO_TARGET_DIR", &target));
        compile_api_test(&target.join("release"), "release")
    })
}

fn compile_api_test(lib: &Path, name: &str) -> PathBuf {
    let root = root();
    let out = std::env::temp_dir().join(format!("camsync-api-test-{name}-{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-std=c11", "-pthread", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(root.join("tests/c/api_test.c"))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-L")
        .arg(lib)
        .arg("-lcamsync")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(st.success(), "compiling tests/c/api_test.c failed");
    out
}
