// SPDX-License-Identifier: LGPL-2.1-or-later
//! Every subcommand explains itself with an example and its exit status,
//! and lists the possible values of its named choices.

use std::process::Command;

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "demo",
        "simulate",
        "monitor",
        "align",
        "replay",
        "completions",
        "man",
    ] {
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

const SUBCOMMANDS: [&str; 7] = [
    "align",
    "completions",
    "demo",
    "man",
    "monitor",
    "replay",
    "simulate",
];

fn camsync(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn shell_completions_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = camsync(&["completions", shell]);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        assert!(script.contains("sensor-ppm"), "{shell}: flags too");
    }
    // The bash script is valid bash.
    let script = camsync(&["completions", "bash"]);
    let path = std::env::temp_dir().join(format!("camsync-completion-{}.bash", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let st = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(st.success(), "bash -n rejects the completion script");
}

#[test]
fn man_pages_for_the_command_and_every_subcommand() {
    let page = camsync(&["man"]);
    assert!(page.contains(".TH camsync 1"), "{page}");
    assert!(page.contains(".SH NAME") && page.contains(".SH SUBCOMMANDS"));
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("camsync\\-{sub}(1)")),
            "no {sub} in\n{page}"
        );
    }
    assert!(page.contains("Exit status: 0 ok"), "{page}");
    let dir = std::env::temp_dir().join(format!("camsync-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    camsync(&["man", "--dir", dir.to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("camsync-{s}.1"))
        .collect();
    expected.push("camsync.1".into());
    expected.sort();
    assert_eq!(pages, expected);
    let demo = std::fs::read_to_string(dir.join("camsync-demo.1")).unwrap();
    assert!(
        demo.contains("\\-\\-clients") && demo.contains("1..=1000"),
        "{demo}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
