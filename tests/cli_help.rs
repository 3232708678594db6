//! Every subcommand explains itself with an example and its exit status,
//! and lists the possible values of its named choices.

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
        assert!(text.contains("Exit status: 0 "), "{sub}: {text}");
    }
}

#[test]
fn choices_list_their_possible_values() {
    let help = |sub: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let profiles: Vec<&str> = camsync::core::Profile::ALL
        .iter()
        .map(|p| p.name())
        .collect();
    let profiles = format!("[possible values: {}]", profiles.join(", "));
    for sub in ["demo", "replay"] {
        assert!(help(sub).contains(&profiles), "{sub}: {}", help(sub));
    }
    assert!(help("demo").contains("[possible values: layer, rpi]"));
    assert!(help("simulate").contains("[possible values: basic, drift,"));
}
