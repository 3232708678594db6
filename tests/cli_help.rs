//! Every subcommand explains itself with an example.

use std::process::Command;

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["demo", "simulate", "monitor", "align", "replay"] {
        let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(&format!("camsync {sub} ")), "{sub}: {text}");
        assert!(text.contains("Example"), "{sub}: {text}");
    }
}
