// SPDX-License-Identifier: LGPL-2.1-or-later
//! No command a user can type ends in a panic, an abort, a hang or a false
//! success. Per subcommand, a list of bad invocations, each run with a
//! timeout: every one must exit with the documented code (2: usage error or
//! the command could not run; 1: the check failed) and say why in exactly one
//! line on stderr, naming what was wrong. A usage error prints nothing on
//! stdout: it is refused before any work starts.
//!
//! Nothing here sends a packet: the demo's and monitor's bad invocations are
//! refused before a socket is opened.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One bad invocation: arguments, the exit code, and what stderr must say.
struct Case<'a> {
    args: &'a [&'a str],
    code: i32,
    says: &'a str,
}

const fn usage<'a>(args: &'a [&'a str], says: &'a str) -> Case<'a> {
    Case {
        args,
        code: 2,
        says,
    }
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/align")
        .join(name)
        .display()
        .to_string()
}

/// Run `cmd` with stdin closed; kill it after `timeout` and fail (a hang).
fn run(mut cmd: Command, timeout: Duration) -> (i32, String, String) {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            panic!("{shown}: still running after {timeout:?} (a hang)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    // A signal (abort, segfault) leaves no exit code.
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{shown}: killed by a signal ({status}); stderr: {err}"));
    (code, out, err)
}

fn check(sub: &str, cases: &[Case<'_>]) {
    for c in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_camsync"));
        cmd.arg(sub).args(c.args);
        let (code, out, err) = run(cmd, Duration::from_secs(30));
        let shown = format!("camsync {sub} {}", c.args.join(" "));
        assert_eq!(
            code, c.code,
            "{shown}: exit {code}\nstdout: {out}\nstderr: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{shown}: {err}"
        );
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("warning: "))
            .collect();
        assert_eq!(lines.len(), 1, "{shown}: not one line:\n{err}");
        assert!(lines[0].starts_with("error: "), "{shown}: {err}");
        assert!(
            lines[0].contains(c.says),
            "{shown}: does not say '{}': {err}",
            c.says
        );
        if c.code == 2 {
            assert!(out.is_empty(), "{shown}: printed before refusing:\n{out}");
        }
    }
}

#[test]
fn demo_refuses_bad_invocations() {
    check(
        "demo",
        &[
            usage(&["--duration", "inf"], "'inf' for '--duration"),
            usage(&["--duration", "nan"], "'nan' for '--duration"),
            usage(&["--duration", "1e10"], "not in 0.1..=86400"),
            usage(&["--duration", "-1"], "'-1' for '--duration"),
            usage(&["--duration", "0"], "'0' for '--duration"),
            usage(&["--duration", "2"], "run at least 4.6 s"),
            usage(&["--duration", "5", "--fps", "10"], "run at least 11.4 s"),
            usage(&["--clients", "0"], "'0' for '--clients"),
            usage(&["--clients", "100000"], "not in 1..=1000"),
            usage(&["--clients", "-3"], "'-3' for '--clients"),
            usage(&["--sensor-ppm", "1e6"], "'1e6' for '--sensor-ppm"),
            usage(&["--sensor-ppm", "30..5"], "empty range"),
            usage(&["--sensor-ppm", "-5..5"], "'-5..5' for '--sensor-ppm"),
            usage(&["--fps", "0"], "'0' for '--fps"),
            usage(&["--fps", "1e9"], "'1e9' for '--fps"),
            usage(&["--sync-period", "0"], "'0' for '--sync-period"),
            usage(&["--ready-frame", "0"], "'0' for '--ready-frame"),
            usage(&["--port", "0"], "'0' for '--port"),
            usage(&["--port", "70000"], "'70000' for '--port"),
            usage(&["--group", "10.0.0.1"], "not a multicast address"),
            usage(&["--interface", "192.0.2.2"], "not a loopback interface"),
            usage(
                &["--interface", "nosuchif0"],
                "'nosuchif0' for '--interface",
            ),
            usage(&["--plot", "/nonexistent-dir/x.svg"], "'--plot"),
            usage(&["--plot", "/"], "is a directory"),
            usage(&["--plot", "x.svg", "--no-plot"], "cannot be used with"),
            usage(&["--profile", "nope"], "'nope' for '--profile"),
            usage(&["--wire-format", "both"], "'both' for '--wire-format"),
            usage(&["--seed", "-1"], "'-1' for '--seed"),
            usage(&["--schedule", "some"], "'some' for '--schedule"),
            usage(
                &["--schedule", "all", "--profile", "compat"],
                "--schedule needs the precision profile",
            ),
            usage(
                &["--start-at", "next:5", "--server-profile", "compat"],
                "--start-at needs the precision profile",
            ),
            usage(&["--start-at", "1000"], "that instant was"),
            usage(
                &["--start-at", "99999999999"],
                "'99999999999' for '--start-at",
            ),
            usage(&["--start-at", "next:0"], "'next:0' for '--start-at"),
            usage(
                &["--start-at", "next:86401"],
                "'next:86401' for '--start-at",
            ),
            usage(&["--start-at", "soon"], "'soon' for '--start-at"),
            usage(
                &["--start-at", "next:60", "--duration", "20"],
                "run at least 67.0 s",
            ),
            usage(
                &["--role", "client", "--start-at", "next:5"],
                "gets the start from its packets",
            ),
            usage(
                &["--schedule", "all", "--duration", "3"],
                "run at least 4.1 s",
            ),
            usage(&["--bogus"], "unexpected argument '--bogus'"),
        ],
    );
}

#[test]
fn demo_checks_the_descriptor_limit_before_opening_sockets() {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -n 64 && exec \"$0\" demo --clients 200 --no-plot",
    ])
    .arg(env!("CARGO_BIN_EXE_camsync"));
    let (code, out, err) = run(cmd, Duration::from_secs(30));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("'200' for '--clients'") && err.contains("file descriptors"),
        "{err}"
    );
}

#[test]
fn simulate_refuses_bad_invocations() {
    check(
        "simulate",
        &[
            usage(&["--clients", "100000"], "'100000' for '--clients"),
            usage(&["--clients", "0"], "'0' for '--clients"),
            usage(&["--sensor-ppm", "1e6"], "'1e6' for '--sensor-ppm"),
            usage(&["--sys-ppm", "inf"], "'inf' for '--sys-ppm"),
            usage(&["--frame-us", "10"], "'10' for '--frame-us"),
            usage(
                &["--frame-us", "100", "--line-ns", "200000"],
                "'100' for '--frame-us",
            ),
            usage(&["--line-ns", "1"], "'1' for '--line-ns"),
            usage(&["--line-ns", "0..20000"], "'0..20000' for '--line-ns"),
            usage(&["--sync-period", "0"], "'0' for '--sync-period"),
            usage(&["--ready-frame", "0"], "'0' for '--ready-frame"),
            usage(&["--frames", "0"], "'0' for '--frames"),
            usage(&["--frames", "50"], "simulate at least 102 frames"),
            usage(
                &["--ready-frame", "5000"],
                "'900' for '--frames' (the basic scenario's value)",
            ),
            usage(&["--clients", "200", "--frames", "20000"], "camera-frames"),
            usage(&["--loss-ppm", "2000000"], "'2000000' for '--loss-ppm"),
            usage(&["--drop-ppm", "-1"], "'-1' for '--drop-ppm"),
            usage(
                &["--clients", "1", "--line-ns", "20000,21000,22000"],
                "3 line times for 2 cameras",
            ),
            usage(
                &["--scenario", "mixed_sensors", "--clients", "1"],
                "(the mixed_sensors scenario's value): 4 line times for 2 cameras",
            ),
            usage(&["--hosts", "9"], "'9' for '--hosts"),
            usage(&["--server-start-ms", "500"], "before time 0"),
            usage(
                &["--restart-after-frame", "5000"],
                "no restart would happen",
            ),
            usage(&["--wall-step-frame", "900"], "no step would happen"),
            usage(&["--late-start-ms", "40000"], "after the end"),
            usage(
                &["--mode-min-frame-us", "40000"],
                "shortest frame is longer",
            ),
            usage(
                &["--wall-step-us", "-2000000"],
                "'-2000000' for '--wall-step-us",
            ),
            usage(&["--latency-us", "5..1"], "empty range"),
            usage(&["--seed", "-1"], "'-1' for '--seed"),
            usage(&["--scenario", "nope"], "'nope' for '--scenario"),
            usage(&["--profile", "nope"], "'nope' for '--profile"),
            usage(
                &["--server-profile", "nope"],
                "'nope' for '--server-profile",
            ),
            usage(&["--jitter-us", "30000"], "'30000' for '--jitter-us"),
            usage(&["--wall-slew-ppm", "nan"], "'nan' for '--wall-slew-ppm"),
            usage(
                &["--wall-slew-period-ms", "0"],
                "'0' for '--wall-slew-period-ms",
            ),
            usage(&["--plot", "/nonexistent-dir/x.svg"], "'--plot"),
            // Valid, and every packet lost: no client can get ready. The
            // check fails (1), it is not a success.
            Case {
                args: &["--loss-ppm", "1000000"],
                code: 1,
                says: "never reached SyncReady: cam1 (compat), cam2 (compat)",
            },
        ],
    );
}

#[test]
fn monitor_refuses_bad_invocations() {
    check(
        "monitor",
        &[
            usage(&["--duration", "inf"], "'inf' for '--duration"),
            usage(&["--duration", "1e30"], "'1e30' for '--duration"),
            usage(&["--duration", "nan"], "'nan' for '--duration"),
            usage(&["--duration", "0"], "'0' for '--duration"),
            usage(&["--duration", "-1"], "'-1' for '--duration"),
            usage(&["--interval", "0"], "'0' for '--interval"),
            usage(&["--interval", "1e9"], "'1e9' for '--interval"),
            usage(&["--port", "0"], "'0' for '--port"),
            usage(&["--group", "1.2.3.4"], "not a multicast address"),
            usage(
                &["--interface", "nosuchif0"],
                "'nosuchif0' for '--interface",
            ),
            usage(&["--bogus"], "unexpected argument '--bogus'"),
        ],
    );
}

#[test]
fn align_refuses_bad_invocations() {
    let cam0 = fixture("cam0.json");
    let cam1 = fixture("cam1.txt");
    let not_metadata = fixture("generate.py");
    // A wall clock no camera writes: the arithmetic on it would overflow.
    let bad_wall =
        std::env::temp_dir().join(format!("camsync-bad-wall-{}.csv", std::process::id()));
    std::fs::write(
        &bad_wall,
        "frame_wall_clock_ns\n9223372036854775807\n-9223372036854775808\n",
    )
    .unwrap();
    let bad_wall = bad_wall.to_str().unwrap().to_string();
    check(
        "align",
        &[
            usage(
                &[&cam0, &bad_wall],
                "frame #0: FrameWallClock 9223372036854775807 is not ns",
            ),
            usage(&[&cam0], "at least two metadata files (got 1)"),
            usage(&[&cam0, "/nonexistent.csv"], "/nonexistent.csv"),
            usage(&[&cam0, &cam0], "the same file as"),
            usage(
                &[&cam0, &fixture("empty.csv")],
                "none with a FrameWallClock",
            ),
            usage(&["-", "-"], "'-' (stdin) given twice"),
            usage(&[&cam0, &not_metadata], "not a recognised metadata file"),
            usage(
                &["--plot", "/nonexistent-dir/x.svg", &cam0, &cam1],
                "'--plot",
            ),
            usage(&[], "required arguments"),
            Case {
                args: &[
                    &cam0,
                    &cam1,
                    &fixture("cam2.cam"),
                    &fixture("late/cam3.csv"),
                ],
                code: 1,
                says: "first SyncReady frames are not the same instant",
            },
            Case {
                args: &[&cam0, &fixture("later/cam3.csv")],
                code: 1,
                says: "the recordings do not overlap in time",
            },
            Case {
                args: &[&cam0, &fixture("fps60/cam3.csv")],
                code: 1,
                says: "the cameras run at different frame rates",
            },
        ],
    );
    std::fs::remove_file(&bad_wall).ok();
}

#[test]
fn replay_refuses_bad_invocations() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    check(
        "replay",
        &[
            usage(&["/nonexistent.jsonl"], "/nonexistent.jsonl"),
            usage(&[manifest], "Cargo.toml"),
            usage(&["--profile", "nope", manifest], "'nope' for '--profile"),
            usage(&[], "required arguments"),
        ],
    );
}

#[test]
fn completions_and_man_refuse_bad_invocations() {
    check(
        "completions",
        &[
            usage(&["nosuchshell"], "'nosuchshell' for '<SHELL>'"),
            usage(&[], "required arguments"),
        ],
    );
    check(
        "man",
        &[
            usage(
                &["--dir", "/nonexistent-dir"],
                "'/nonexistent-dir' for '--dir",
            ),
            usage(&["--dir", "/etc/hostname"], "not a directory"),
        ],
    );
}

#[test]
fn unknown_subcommands_and_versions() {
    check("bogus", &[usage(&[], "unrecognized subcommand 'bogus'")]);
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
            .args([sub, "--version"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.trim(),
            format!("camsync-{sub} {}", env!("CARGO_PKG_VERSION")),
            "{sub}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    // `camsync simulate | head -1`: the reader goes away; the tool must end
    // as Unix tools do (SIGPIPE), not panic on the failed write.
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .args(["simulate", "--scenario", "drift"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {err}",
        out.status
    );
}
