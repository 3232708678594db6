// SPDX-License-Identifier: LGPL-2.1-or-later
//! The committed `include/camsync.h` must be what cbindgen (the version
//! pinned in Cargo.toml) generates from `src/ffi/` now. The header is
//! generated here, when asked, not on every build. Regenerate it with
//! `CAMSYNC_BLESS=1 cargo test --test header`.

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    // Only the C API's files: the rest of the crate is not cbindgen's business.
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .with_src(root.join("src/ffi/types.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen: {e}"))
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn committed_header_is_up_to_date() {
    let generated = generate();
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
