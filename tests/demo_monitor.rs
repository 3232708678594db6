// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync demo` and `camsync monitor` for real, on loopback multicast.
//! Every socket uses interface 127.0.0.1 (the demo refuses any other) and
//! each test its own port, so parallel tests do not hear each other.

use std::process::{Command, Stdio};
use std::time::Duration;

use camsync::core::{SyncPacket, WireFormat};

fn camsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_camsync"))
}

/// A port per test and process.
fn port(offset: u16) -> String {
    assert!(offset < 12, "port offset {offset}");
    (31000 + (std::process::id() % 1000) as u16 * 12 + offset).to_string()
}

/// A short demo: fast ready (30 frames) and packets every 10 frames.
fn demo(port: &str, clients: &str, duration: &str) -> Command {
    let mut c = camsync();
    c.args([
        "demo",
        "--port",
        port,
        "--clients",
        clients,
        "--duration",
        duration,
    ])
    .args([
        "--ready-frame",
        "30",
        "--sync-period",
        "10",
        "--interface",
        "127.0.0.1",
    ]);
    c
}

/// A short demo's `--json` report; the demo must succeed.
fn demo_json(port: &str, clients: &str, duration: &str, extra: &[&str]) -> serde_json::Value {
    let out = demo(port, clients, duration)
        .args(["--json", "--no-plot"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Send one datagram to the default group on `port`, out of 127.0.0.1 with
/// TTL 0: it never leaves this machine.
fn loopback_multicast(port: &str, bytes: &[u8]) {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    s.set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST)
        .unwrap();
    s.set_multicast_ttl_v4(0).unwrap();
    s.set_multicast_loop_v4(true).unwrap();
    let to: std::net::SocketAddr = format!("239.255.255.250:{port}").parse().unwrap();
    s.send_to(bytes, &to.into()).unwrap();
}

#[test]
fn demo_short_run_reaches_sync_ready_and_plots() {
    let svg = std::env::temp_dir().join(format!("camsync-demo-{}.svg", std::process::id()));
    let out = demo(&port(0), "2", "4")
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("all clients ready: yes"), "{text}");
    assert!(text.contains("per client-frame"), "{text}");
    assert!(text.contains("SyncReady at"), "{text}");
    assert!(
        text.contains("first SyncReady frames of all 3 cameras start within"),
        "{text}"
    );
    for cam in ["cam0", "cam1", "cam2"] {
        assert!(text.contains(cam), "{text}");
    }
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("cam2"));
    std::fs::remove_file(&svg).ok();
}

#[test]
fn demo_json_numbers_make_sense() {
    let v = demo_json(&port(1), "2", "4", &[]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["seed"], "1");
    assert_eq!(v["all_clients_ready"], true);
    assert_eq!(v["interface"], "127.0.0.1");
    let client = &v["cameras"][1];
    assert_eq!(client["role"], "client");
    assert!(client["packets_read"].as_u64().unwrap() >= 3, "{client}");
    // After SyncReady, a client is within half a frame of the server.
    let max = client["alignment"]["max_us"].as_f64().unwrap();
    assert!(max < 16_667.0, "{client}");
    assert!(v["cpu_us_per_client_frame"].as_f64().unwrap() > 0.0);
    // This host's wall clock, as the kernel says (whatever this machine's is).
    let clock = &v["host_clock"];
    assert!(clock["synchronised"].is_boolean(), "{v}");
    assert!(clock["est_error_us"].as_i64().unwrap() >= 0, "{v}");
    // Frame N is one instant: the cameras' first SyncReady frames start at
    // the server's, each client within its phase error of it, so no two are
    // further apart than twice the largest error. (One clock for all: the
    // times are from the demo's start, not from each camera's.)
    let cams = v["cameras"].as_array().unwrap();
    let worst = cams[1..]
        .iter()
        .map(|c| c["alignment"]["max_us"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let spread = v["ready_spread_us"].as_f64().unwrap();
    assert!(spread <= 2.0 * worst + 1.0, "spread {spread} µs, {v}");
    let at: Vec<f64> = cams
        .iter()
        .map(|c| c["ready_at_s"].as_f64().unwrap())
        .collect();
    let (lo, hi) = at
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(((hi - lo) * 1e6 - spread).abs() < 1.0, "{at:?} vs {spread}");
}

#[test]
fn demo_refuses_a_non_loopback_interface() {
    let out = camsync()
        .args([
            "demo",
            "--interface",
            "192.0.2.2",
            "--duration",
            "1",
            "--no-plot",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback interface"));
}

#[test]
fn demo_interrupted_before_sync_ready_fails_the_check() {
    // Ctrl-C before the server's ready instant: the table is printed, and the
    // check (every client ready) failed, exit 1.
    let child = demo(&port(2), "1", "10")
        .arg("--no-plot")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(interrupted)"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().last(),
        Some("error: never reached SyncReady: cam1 (interrupted)"),
        "{err}"
    );
}

#[test]
fn monitor_sees_the_demo_server() {
    let p = port(3);
    let mut server = demo(&p, "1", "5")
        .args(["--no-plot", "--wire-format", "rpi"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = camsync()
        .args(["monitor", "--port", &p, "--duration", "4", "--json"])
        .output()
        .unwrap();
    server.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["schema_version"] == 1), "{text}");
    let packets: Vec<f64> = lines
        .iter()
        .filter(|l| l["type"] == "packet")
        .map(|l| l["t_s"].as_f64().unwrap())
        .collect();
    assert!(packets.len() >= 3, "{text}");
    // The server's ready instant, on the monitor's own clock: announced once,
    // after its first packet (frame 10) and before its last; the summary
    // gives the same instant.
    let ready: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "ready").collect();
    assert_eq!(ready.len(), 1, "{text}");
    let at = ready[0]["t_s"].as_f64().unwrap();
    assert!(packets[0] < at && at < packets[packets.len() - 1], "{text}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["shared_group"], false);
    // This host's clock: first, and in the summary.
    assert_eq!(lines[0]["type"], "host_clock", "{text}");
    assert!(
        summary["host_clock"]["synchronised"].is_boolean(),
        "{summary}"
    );
    let s = &summary["servers"][0];
    assert_eq!(s["format"], "rpi");
    assert!((s["ready_at_s"].as_f64().unwrap() - at).abs() < 0.05, "{s}");
    assert!(s["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    // 30 fps, a packet every 10 frames: ~333 ms apart.
    let fd = s["frame_duration_us"].as_u64().unwrap();
    assert!((33_000..33_700).contains(&fd), "{s}");
    assert_eq!(s["frames_per_packet"], 10.0);
    let interval = s["interval_ms"].as_f64().unwrap();
    assert!((300.0..370.0).contains(&interval), "{s}");
}

#[test]
fn a_second_server_is_detected_by_monitor_and_demo() {
    // A demo, and a second server on its group and port (this test, sending
    // valid packets on loopback): the monitor warns, and the demo refuses to
    // report results its clients got from two servers.
    let p = port(4);
    let demo = demo(&p, "1", "5")
        .arg("--no-plot")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let monitor = camsync()
        .args(["monitor", "--port", &p, "--duration", "3.5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    loopback_multicast(&p, &[0u8; 7]);
    for _ in 0..30 {
        let packet = SyncPacket {
            frame_duration_us: 33_333,
            frame_ts_us: now_us(),
            ready_time_us: now_us() + 3_000_000,
        };
        loopback_multicast(&p, packet.encode(WireFormat::Layer).as_bytes());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = monitor.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(text.contains("WARNING: 2 servers share"), "{text}");
    assert!(
        text.contains("invalid datagrams: 1 (wrong_length 1)"),
        "{text}"
    );
    let demo = demo.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&demo.stderr);
    assert_eq!(demo.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: another sync server (127.0.0.1:")
            && err.contains("use another --port"),
        "{err}"
    );
}

/// The wall clock, µs: the monitor refuses packets whose frame time is far
/// from its own.
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

#[test]
fn monitor_warns_when_both_wire_formats_share_a_group() {
    let p = port(7);
    let monitor = camsync()
        .args(["monitor", "--port", &p, "--duration", "2", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for (i, format) in [WireFormat::Layer, WireFormat::Rpi, WireFormat::Layer]
        .into_iter()
        .enumerate()
    {
        let packet = SyncPacket {
            frame_duration_us: 33_333,
            frame_ts_us: now_us() + i as u64,
            ready_time_us: now_us() + 3_000_000,
        };
        loopback_multicast(&p, packet.encode(format).as_bytes());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = monitor.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let warnings: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["warning"] == "both wire formats on the group")
        .collect();
    assert_eq!(warnings.len(), 1, "once: {lines:#?}");
    let formats: Vec<&str> = warnings[0]["formats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["layer", "rpi"]);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["mixed_formats"], true);
}

#[test]
fn monitor_exits_cleanly_on_sigint() {
    let child = camsync()
        .args(["monitor", "--port", &port(5)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no server heard"), "{text}");
}

#[test]
fn demo_with_64_clients_gets_every_client_ready() {
    // 6 s: a precision client measures its camera for ~25 frames first, and
    // 64 clients in real time on a loaded machine need slack.
    let v = demo_json(&port(6), "64", "6", &[]);
    assert_eq!(v["all_clients_ready"], true);
    let cams = v["cameras"].as_array().unwrap();
    assert_eq!(cams.len(), 65);
    assert!(cams[1..].iter().all(|c| c["ready_frame"].is_u64()));
    assert!(v["client_frames"].as_u64().unwrap() > 64 * 60);
}

#[test]
fn demo_schedule_mode_puts_every_camera_on_the_lattice_without_a_packet() {
    let v = demo_json(&port(8), "2", "5", &["--schedule", "all"]);
    assert_eq!(v["schedule"], "all");
    assert_eq!(v["all_clients_ready"], true);
    for c in v["cameras"].as_array().unwrap() {
        assert_eq!(c["follows_schedule"], true, "{c}");
        assert_eq!(c["role"], "client", "{c}");
        assert_eq!(c["packets_read"], 0, "{c}");
        // On a loaded machine a real-time demo wobbles; the simulator holds
        // the tight bounds (tests/schedule.rs): here, within one line.
        let line_us = c["line_ns"].as_f64().unwrap() / 1000.0;
        let first = c["first_ready_vs_lattice_us"].as_f64().unwrap();
        assert!(first.abs() <= line_us, "{c}");
        assert!(c["alignment"]["p50_us"].as_f64().unwrap() <= line_us, "{c}");
    }
}

#[test]
fn demo_pinned_start_makes_every_first_ready_frame_that_instant() {
    // The server leaves itself 90 frames (3 s) to align before the start.
    let v = demo_json(&port(9), "2", "10", &["--start-at", "next:2"]);
    assert_eq!(v["start_at"], "next:2");
    for c in v["cameras"].as_array().unwrap() {
        let line_us = c["line_ns"].as_f64().unwrap() / 1000.0;
        let vs = c["first_ready_vs_start_us"].as_f64().unwrap();
        assert!(vs.abs() <= line_us, "{c}");
    }
    // One instant: every camera's first ready frame.
    let spread = v["ready_spread_us"].as_f64().unwrap();
    assert!(spread <= 60.0, "{v}");
}
