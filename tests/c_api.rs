// SPDX-License-Identifier: LGPL-2.1-or-later
//! Compiles `tests/c/api_test.c` against `include/camsync.h`, links it to the
//! cdylib cargo built for this test run, and runs its modes. Multicast stays
//! on this host: the program's layers send with IP_MULTICAST_IF = 127.0.0.1
//! and join on 127.0.0.1 (LIBCAMERA_SYNC_INTERFACE).

mod common;

use std::process::Command;

use common::{api_test_program as program, port};

fn run(mode: &str, port: u16, extra_env: &[(&str, &str)]) -> String {
    run_program(program(), mode, port, extra_env)
}

fn run_program(
    program: &std::path::Path,
    mode: &str,
    port: u16,
    extra_env: &[(&str, &str)],
) -> String {
    let mut cmd = Command::new(program);
    // The program finds its library by its run path: not by cargo's
    // LD_LIBRARY_PATH, which names this test run's (debug) build first.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.arg(mode)
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_PORT", port.to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        // The program's scripted cameras do not move when asked to, and its
        // checks are the reference's arithmetic frame for frame.
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env_remove("LIBCAMERA_SYNC_CONFIG")
        .env_remove("CAMSYNC_DEBUG_PANIC");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success(),
        "api_test {mode} failed ({}):\n{stdout}\n{stderr}",
        o.status
    );
    assert!(stdout.contains(&format!("PASS {mode}")), "{stdout}");
    stdout + &stderr
}

#[test]
fn c_program_syncs_a_server_and_a_client() {
    let out = run("sync", port(0), &[]);
    assert!(out.contains("Sync achieved (server)"), "{out}");
    assert!(out.contains("Sync achieved (client)"), "{out}");
    // libcamera's line format: [time] [pid] LEVEL SyncLayer file:line msg
    let line = out.lines().find(|l| l.contains("Sync achieved")).unwrap();
    assert!(line.starts_with('['), "{line}");
    assert!(line.contains("  INFO SyncLayer frame.rs:"), "{line}");
}

#[test]
fn c_program_null_and_out_of_range_arguments_are_rejected() {
    let out = run("args", port(1), &[]);
    // A camera id that is not UTF-8 gets a layer, and a line that says so
    // (it was refused without a word, and the adapter then had no layer).
    let line = out
        .lines()
        .find(|l| l.contains("the camera id is not UTF-8"))
        .unwrap_or_else(|| panic!("no warning for the non-UTF-8 camera id: {out}"));
    assert!(
        line.contains(" WARN SyncLayer") && line.contains("cam-\\xff\\xfe"),
        "{line}"
    );
}

#[test]
fn c_program_two_threads_on_one_layer() {
    // start/queue_request/stop on one thread, request_completed on another,
    // as libcamera calls them; bounded (200 starts, 10 000 requests).
    let out = run("threads", port(10), &[("LIBCAMERA_LOG_LEVELS", "*:ERROR")]);
    assert!(out.contains("threads: "), "{out}");
}

#[test]
fn c_program_stats_are_one_instant() {
    let out = run("stats", port(2), &[]);
    assert!(out.contains(", 0 torn"), "{out}");
}

#[test]
fn c_program_in_a_release_build_ignores_camsync_debug_panic() {
    // The test hook is for debug builds: what users install never panics
    // on purpose, whatever its environment says.
    let out = run_program(
        common::api_test_program_release(),
        "sync",
        port(3),
        &[("CAMSYNC_DEBUG_PANIC", "request_completed")],
    );
    assert!(!out.contains("panic"), "{out}");
    assert!(out.contains("Sync achieved (client)"), "{out}");
}

#[test]
fn c_program_survives_a_panic_behind_the_api() {
    let out = run(
        "panic",
        port(4),
        &[("CAMSYNC_DEBUG_PANIC", "request_completed")],
    );
    assert!(out.contains("host survived"), "{out}");
    assert!(
        out.contains("ERROR SyncLayer") && out.contains("panic caught at the C API boundary"),
        "the panic is reported through the log: {out}"
    );
    assert!(
        !out.contains("thread '") && !out.contains("RUST_BACKTRACE"),
        "the default panic hook did not print: {out}"
    );
}

#[test]
fn c_program_bad_config_keeps_the_controls_and_says_why_at_start() {
    let out = run(
        "disabled",
        port(5),
        &[("LIBCAMERA_SYNC_TTL", "999"), ("LIBCAMERA_LOG_LEVELS", "")],
    );
    let errors: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("ERROR SyncLayer") && l.contains("bad-config-cam: "))
        .collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("configuration rejected") && l.contains("'ttl'")),
        "at init: {out}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.contains("sync layer disabled for this camera")
                && l.contains("'ttl'")
                && l.contains("asks for SyncMode server")),
        "at start, with the reason: {out}"
    );
}

#[test]
fn c_program_empty_variables_count_as_unset() {
    // As libcamera's own: `LIBCAMERA_SYNC_PORT=` is no port, not a bad one.
    // (The sync mode checks that both layers are enabled and in sync;
    // `LIBCAMERA_SYNC_PROFILE=` is covered by the config's unit tests, as the
    // program needs the compat profile.)
    run(
        "sync",
        port(6),
        &[
            ("LIBCAMERA_SYNC_GROUP", ""),
            ("LIBCAMERA_SYNC_TTL", " "),
            ("LIBCAMERA_SYNC_CONFIG", ""),
            ("LIBCAMERA_LOG_FILE", ""),
        ],
    );
}

#[test]
fn c_program_bad_config_disables_the_layer_with_a_clear_log() {
    let o = Command::new(program())
        .arg("args")
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_TTL", "999")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("LIBCAMERA_SYNC_TTL") && err.contains("'ttl'") && err.contains("disabled"),
        "{err}"
    );
}

#[test]
fn c_program_logs_to_libcamera_log_file_at_libcamera_log_levels() {
    let log = std::env::temp_dir().join(format!("camsync-log-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let out = run(
        "sync",
        port(7),
        &[
            ("LIBCAMERA_LOG_FILE", log.to_str().unwrap()),
            ("LIBCAMERA_LOG_LEVELS", "*:ERROR,SyncLayer:DEBUG"),
        ],
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(!out.contains("SyncLayer"), "nothing on stderr: {out}");
    assert!(
        text.contains("DEBUG SyncLayer") && text.contains("send packet"),
        "{text}"
    );
    assert!(text.contains(" INFO SyncLayer") && text.contains("Sync achieved"));

    let quiet = run(
        "sync",
        port(8),
        &[("LIBCAMERA_LOG_LEVELS", "SyncLayer:WARN")],
    );
    assert!(!quiet.contains(" INFO SyncLayer"), "{quiet}");
}

#[test]
fn c_program_log_sink_gets_every_record_and_nothing_goes_to_stderr() {
    let o = Command::new(program())
        .arg("log")
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_PORT", port(9).to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env("LIBCAMERA_LOG_LEVELS", "SyncLayer:DEBUG")
        .env_remove("LIBCAMERA_LOG_FILE")
        .env_remove("LIBCAMERA_SYNC_CONFIG")
        .env_remove("CAMSYNC_DEBUG_PANIC")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && out.contains("PASS log"),
        "{}\n{out}\n{err}",
        o.status
    );
    assert!(
        !err.contains("SyncLayer"),
        "with a sink, nothing on stderr: {err}"
    );
}
