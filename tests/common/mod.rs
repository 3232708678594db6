//! Helpers shared by the tests that build and run `tests/c/api_test.c`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A port for this test process (net_loopback.rs uses 20000-41000; each
/// test binary here adds its own offset below 5).
pub fn port(offset: u16) -> u16 {
    45000 + (std::process::id() % 4000) as u16 * 5 + offset
}

/// `target/<profile>`, where cargo put libcamsync.so.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `tests/c/api_test.c`, compiled against `include/` and linked to the
/// cdylib of this test run (once per test process).
pub fn api_test_program() -> &'static Path {
    static PROG: OnceLock<PathBuf> = OnceLock::new();
    PROG.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = lib_dir();
        assert!(
            lib.join("libcamsync.so").is_file(),
            "{} has no libcamsync.so",
            lib.display()
        );
        let out = std::env::temp_dir().join(format!("camsync-api-test-{}", std::process::id()));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(&cc)
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&out)
            .arg(root.join("tests/c/api_test.c"))
            .arg("-I")
            .arg(root.join("include"))
            .arg("-L")
            .arg(&lib)
            .arg("-lcamsync")
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
        assert!(st.success(), "compiling tests/c/api_test.c failed");
        out
    })
}
