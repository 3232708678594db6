// SPDX-License-Identifier: LGPL-2.1-or-later
//! Every source file says its licence (an SPDX header), every licence used
//! has its text in LICENSES/, every file under BSD-2-Clause names what it
//! ports, and Cargo.toml and meson agree on the project's licence.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Source files: code, build files and configuration (data is covered by
/// REUSE.toml).
fn sources() -> Vec<PathBuf> {
    const CODE: [&str; 8] = ["rs", "c", "cpp", "h", "py", "toml", "map", "build"];
    const NAMED: [&str; 3] = ["meson_options.txt", "run", "meson.build"];
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if !["target", ".git", "traces", "LICENSES"].contains(&name.as_str()) {
                    walk(&p, out);
                }
            } else if CODE.iter().any(|x| name.ends_with(&format!(".{x}")))
                || NAMED.contains(&name.as_str())
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(root(), &mut out);
    out.sort();
    out
}

// REUSE-IgnoreStart (the tag below is searched for, not declared)
/// The SPDX expression in a file's first lines.
fn spdx(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text
        .lines()
        .take(3)
        .find(|l| l.contains("SPDX-License-Identifier:"))?;
    let expr = line.split("SPDX-License-Identifier:").nth(1)?;
    Some(expr.trim().trim_end_matches("*/").trim().to_string())
}
// REUSE-IgnoreEnd

fn ids(expr: &str) -> impl Iterator<Item = &str> {
    expr.split_whitespace()
        .filter(|w| !["AND", "OR", "WITH"].contains(w))
        .map(|w| w.trim_matches(|c| c == '(' || c == ')'))
}

#[test]
fn every_source_file_has_an_spdx_header_with_its_licence_text() {
    let files = sources();
    assert!(files.len() > 50, "{files:?}");
    let mut used = BTreeSet::new();
    for f in &files {
        let shown = f.strip_prefix(root()).unwrap().display();
        let expr = spdx(f).unwrap_or_else(|| panic!("{shown}: no SPDX-License-Identifier"));
        for id in ids(&expr) {
            assert!(
                root().join(format!("LICENSES/{id}.txt")).is_file(),
                "{shown}: {id} has no LICENSES/{id}.txt"
            );
            used.insert(id.to_string());
        }
        if expr.contains("BSD-2-Clause") {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                text.contains("Ported from") && text.contains("Copyright (C)"),
                "{shown}: under BSD-2-Clause but does not say what it ports and whose it is"
            );
        }
    }
    let texts: BTreeSet<String> = std::fs::read_dir(root().join("LICENSES"))
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.trim_end_matches(".txt").to_string()
        })
        .collect();
    assert_eq!(texts, used, "LICENSES/ holds exactly the licences used");
    assert!(root().join("LICENSE").is_file() && root().join("REUSE.toml").is_file());
}

#[test]
fn cargo_and_meson_declare_the_same_licence() {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let cargo = cargo
        .lines()
        .find_map(|l| l.strip_prefix("license = "))
        .unwrap()
        .trim_matches('"');
    let meson = std::fs::read_to_string(root().join("meson.build")).unwrap();
    let meson = meson
        .lines()
        .find_map(|l| l.trim().strip_prefix("license : "))
        .unwrap()
        .trim_end_matches(',')
        .trim_matches('\'');
    assert_eq!(cargo, meson);
    assert_eq!(cargo, env!("CARGO_PKG_LICENSE"));
    // The ported algorithm files carry both licences, the ClockRecovery port LGPL.
    assert_eq!(
        spdx(&root().join("src/core/frame.rs")).as_deref(),
        Some("LGPL-2.1-or-later AND BSD-2-Clause")
    );
    assert_eq!(
        spdx(&root().join("src/core/clock.rs")).as_deref(),
        Some("LGPL-2.1-or-later")
    );
}
