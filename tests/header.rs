//! The committed `include/camsync.h` must be what cbindgen generates from
//! `src/ffi/` now (build.rs writes it to OUT_DIR). Regenerate it with
//! `CAMSYNC_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_is_up_to_date() {
    let generated = Path::new(env!("OUT_DIR")).join("camsync.h");
    let generated = std::fs::read_to_string(&generated).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (did cbindgen fail? see the build warnings)",
            generated.display()
        )
    });
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/camsync.h");
    if std::env::var_os("CAMSYNC_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&committed_path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()) + 1);
        panic!(
            "include/camsync.h is stale (first difference at line {first}); \
             regenerate it with `CAMSYNC_BLESS=1 cargo test --test header` and commit it"
        );
    }
}
