// SPDX-License-Identifier: LGPL-2.1-or-later
//! Hostile networks and misconfigurations against the shipped plugin
//! instance (issue 8), deterministic: the in-memory transport and a clock
//! the test sets. Each test is the regression test of one defect the review
//! reproduced.

mod common;

use std::io::ErrorKind;

use camsync::core::{CameraControls, Controls, LayerParams, Profile, SyncPacket, WireFormat};
use camsync::net::{MemDatagram, MemoryTransport, NetConfig};
use camsync::plugin::logging::Level;
use camsync::plugin::{Config, Instance, ManualClock, RxStats};
use common::memory::{CAMERA, FRAME_US, Inst, WALL0, frame, logged, mode, set_clock, sof};

fn config(profile: Profile) -> Config {
    Config {
        profile,
        layer: LayerParams {
            sync_period: 8,
            ready_frame: 20,
            ..LayerParams::default()
        },
        net: NetConfig::default(),
        ..Config::default()
    }
}

fn instance_with(cfg: Config, camera: &CameraControls) -> Inst {
    let i = Instance::from_parts(
        "cam",
        Ok(cfg),
        MemoryTransport::new(),
        ManualClock::default(),
    );
    assert!(i.controls(camera).unwrap().is_some());
    i
}

fn instance(profile: Profile) -> Inst {
    instance_with(config(profile), &CAMERA)
}

/// A well-formed packet about the server frame that started at our frame
/// `n` plus `offset_us`, with the ready time `ready_us` (wall clock, µs).
fn packet_at(n: i64, offset_us: i64, ready_us: u64) -> SyncPacket {
    SyncPacket {
        frame_duration_us: FRAME_US as u32,
        frame_ts_us: wall_us(n).saturating_add_signed(offset_us),
        ready_time_us: ready_us,
    }
}

/// The wall clock of our frame `n`'s start, µs (the clocks of
/// `common::memory` are exact).
fn wall_us(n: i64) -> u64 {
    (WALL0 + (sof(n) as u64 - common::memory::BOOT0)) / 1000
}

#[test]
fn a_socket_that_cannot_open_is_retried_with_a_back_off_and_said_once() {
    // Port squatting: another process holds the port exclusively, so every
    // open fails. It was re-created on every queue_request, forever, silently.
    let i = instance(Profile::Compat);
    i.with_transport(|t| t.fail_opens(Some(ErrorKind::AddrInUse)));
    let records = logged(|| {
        set_clock(&i, 0);
        i.start(&mode(2)).unwrap();
        for _ in 0..1000 {
            i.queue_request(&Controls::default()).unwrap();
        }
    });
    assert_eq!(i.with_transport(|t| t.counters().failed_opens), 1);
    assert_eq!(i.stats().socket_errors, 1);
    let errors: Vec<&String> = records
        .iter()
        .filter(|r| r.0 == Level::Error)
        .map(|r| &r.1)
        .collect();
    assert_eq!(errors.len(), 1, "{records:#?}");
    assert!(
        errors[0].contains("another process holds UDP port 10000") && errors[0].contains("retry"),
        "{}",
        errors[0]
    );
    // Later hooks try again, further and further apart (at most 5 s).
    let mut attempts = Vec::new();
    let records = logged(|| {
        for n in 1..600 {
            set_clock(&i, n);
            i.queue_request(&Controls::default()).unwrap();
            attempts.push(i.with_transport(|t| t.counters().failed_opens));
        }
    });
    attempts.dedup();
    // 20 s of frames: retries at 0.5, 1.5, 3.5, 7.5, 12.5, 17.5 s.
    assert_eq!(attempts.len(), 7, "{attempts:?}");
    assert!(
        records.iter().all(|r| r.0 < Level::Warn),
        "said once: {records:#?}"
    );
    // The port is free again: the next retry opens it, and says so.
    i.with_transport(|t| t.fail_opens(None));
    let records = logged(|| {
        for n in 600..800 {
            set_clock(&i, n);
            i.queue_request(&Controls::default()).unwrap();
        }
    });
    assert_eq!(i.socket_role(), Some(camsync::core::SocketRole::Receiver));
    assert!(
        records
            .iter()
            .any(|r| r.0 == Level::Info && r.1.contains("sync socket open, after 7 failed")),
        "{records:#?}"
    );
}

/// A camera that can lengthen or shorten a frame by a whole frame.
const WIDE: CameraControls = CameraControls {
    sync_adjustment_limits_us: Some([-(FRAME_US as i32), FRAME_US as i32]),
    frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
};

#[test]
fn every_adjustment_is_within_half_a_frame_and_clamps_are_logged_rate_limited() {
    for profile in [Profile::Compat, Profile::Precision] {
        let c = instance_with(config(profile), &WIDE);
        c.start(&mode(2)).unwrap();
        let half = (FRAME_US / 2) as i32;
        let mut worst = 0;
        let records = logged(|| {
            for n in 0..300 {
                // A packet per frame whose frame is 0.6 frames away: the
                // reference's arithmetic asks for a correction beyond half
                // a frame (its nearest-frame rounding is toward zero).
                let p = packet_at(n, -(FRAME_US * 6 / 10), wall_us(n) + 3_000_000);
                c.with_transport(|t| t.deliver(MemDatagram::packet(&p, WireFormat::Layer)));
                frame(&c, n);
                let q = c.queue_request(&Controls::default()).unwrap();
                let a = q.sync_adjustment_us.unwrap();
                assert!(a.abs() <= half, "{profile:?} frame {n}: {a} µs");
                worst = worst.max(q.requested_us.unwrap().abs());
            }
        });
        if profile == Profile::Compat {
            assert!(worst > half, "the core's own value goes beyond: {worst}");
            assert!(c.stats().clamped > 100, "{:?}", c.stats());
            // 300 frames are 10 s: a clamp warning every 5 s at most.
            let warnings = records
                .iter()
                .filter(|r| r.1.contains("SyncAdjustment clamped"))
                .count();
            assert!((1..=2).contains(&warnings), "{warnings}: {records:#?}");
        }
    }
}

const GROUP: std::net::Ipv4Addr = camsync::net::DEFAULT_GROUP;

fn addr(s: &str) -> std::net::SocketAddrV4 {
    s.parse().unwrap()
}

/// The real server, a forger on another host, another camera in server mode.
fn server_a() -> std::net::SocketAddrV4 {
    addr("192.0.2.10:41000")
}
fn forger() -> std::net::SocketAddrV4 {
    addr("192.0.2.66:41000")
}

/// `p` as sent by `from` to the group.
fn from(p: &SyncPacket, from: std::net::SocketAddrV4) -> MemDatagram {
    MemDatagram::packet(p, WireFormat::Layer)
        .from_addr(from)
        .to_addr(GROUP)
}

/// The ready time of the real server: frame 20's start.
fn ready() -> u64 {
    wall_us(20)
}

/// Run a client for `frames` frames; the real server's packet every 8
/// frames (about our frame, on time) and whatever `extra` adds before frame
/// `n`. Returns the first frame reported ready.
fn run_client(
    c: &Inst,
    frames: i64,
    mut extra: impl FnMut(i64) -> Vec<MemDatagram>,
) -> Option<i64> {
    let mut ready_at = None;
    for n in 0..frames {
        let mut ds = extra(n);
        if n % 8 == 4 {
            ds.insert(0, from(&packet_at(n - 1, 0, ready()), server_a()));
        }
        c.with_transport(|t| {
            for d in ds {
                t.deliver(d);
            }
        });
        let out = frame(c, n);
        c.queue_request(&Controls::default()).unwrap();
        if out.sync_ready == Some(true) && ready_at.is_none() {
            ready_at = Some(n);
        }
    }
    ready_at
}

#[test]
fn packets_from_another_server_are_not_followed_and_said_once() {
    // Two forged packets moved a client by a whole frame, permanently.
    for profile in [Profile::Compat, Profile::Precision] {
        let c = instance(profile);
        set_clock(&c, -1);
        c.start(&mode(2)).unwrap();
        let records = logged(|| {
            run_client(&c, 120, |n| match n {
                // Half a frame and a bit off, a ready time in the past, twice.
                40 | 41 => vec![from(
                    &packet_at(n - 1, FRAME_US / 2 + 700, wall_us(0)),
                    forger(),
                )],
                _ => vec![],
            });
        });
        let s = c.stats().rx;
        assert_eq!(s.other_server, 2, "{profile:?} {s:?}");
        assert_eq!(s.accepted, 15, "{profile:?} {s:?}");
        assert_eq!(s.servers_followed, 1);
        let warned: Vec<_> = records
            .iter()
            .filter(|r| r.1.contains("two servers send to this group"))
            .collect();
        assert_eq!(
            warned.len(),
            1,
            "{profile:?}: once per episode: {records:#?}"
        );
        assert!(warned[0].1.contains("192.0.2.66:41000") && warned[0].1.contains("192.0.2.10"));
    }
}

#[test]
fn a_ready_time_in_the_past_or_far_future_from_a_forger_changes_nothing() {
    // One packet with a ready time in the past made a client ready at frame
    // 5; re-sending each genuine packet with a far-future ready time kept it
    // from ever being ready.
    let c = instance(Profile::Compat);
    set_clock(&c, -1);
    c.start(&mode(2)).unwrap();
    let ready_at = run_client(&c, 60, |n| {
        let mut v = Vec::new();
        if n == 6 {
            v.push(from(&packet_at(5, 0, wall_us(0) - 60_000_000), forger()));
        }
        if n % 8 == 4 {
            // After the genuine one, the last drained: it won.
            v.push(from(&packet_at(n - 1, 0, wall_us(50_000)), forger()));
        }
        v
    });
    // Ready when the real server is: frame 20 (its packet of frame 19
    // arrives before our frame 20 completes).
    assert_eq!(ready_at, Some(20));
    // The far-future ready time of the re-sent packets is no ready time a
    // server sends (more than 10⁶ frames ahead) whoever sends it.
    let far = packet_at(3, 0, wall_us(3) + 1_000_001 * FRAME_US as u64);
    let i = instance(Profile::Compat);
    set_clock(&i, -1);
    i.start(&mode(2)).unwrap();
    i.with_transport(|t| t.deliver(from(&far, server_a())));
    frame(&i, 4);
    assert_eq!(i.stats().rx.ready_time, 1);
}

#[test]
fn a_packet_is_judged_against_our_rate_and_wall_clock() {
    let c = instance(Profile::Compat);
    set_clock(&c, -1);
    c.start(&mode(2)).unwrap();
    let mut ten_s = packet_at(3, 0, ready());
    ten_s.frame_duration_us = 10_000_000;
    let mut y1970 = packet_at(3, 0, ready());
    y1970.frame_ts_us = 123_000_000;
    let skewed = packet_at(3, 5_000_000, ready() + 5_000_000);
    let records = logged(|| {
        c.with_transport(|t| {
            for p in [ten_s, y1970, skewed] {
                t.deliver(from(&p, server_a()));
            }
        });
        assert_eq!(frame(&c, 4).diag.packets, 0);
    });
    let s = c.stats().rx;
    assert_eq!(
        (s.other_rate, s.timestamp, s.clock_offset, s.accepted),
        (1, 1, 1, 0),
        "{s:?}"
    );
    // The first is said (and the rest counted until the next line).
    assert!(
        records
            .iter()
            .any(|r| r.0 == Level::Warn && r.1.contains("10000000 µs is not ours (33333 µs")),
        "{records:#?}"
    );
    // A 1970 server clock, said in words.
    let e = y1970.validate().unwrap_err().to_string();
    assert!(e.contains("1970-01-01T00:02:03Z"), "{e}");
}

#[test]
fn unicast_to_this_host_is_not_a_sync_packet() {
    let c = instance(Profile::Compat);
    set_clock(&c, -1);
    c.start(&mode(2)).unwrap();
    let p = packet_at(3, 0, ready());
    c.with_transport(|t| {
        t.deliver(
            MemDatagram::packet(&p, WireFormat::Layer)
                .from_addr(forger())
                .to_addr("192.0.2.1".parse().unwrap()),
        );
        t.deliver(from(&p, server_a()));
    });
    assert_eq!(frame(&c, 4).diag.packets, 1);
    let s = c.stats().rx;
    assert_eq!((s.not_group, s.accepted), (1, 1), "{s:?}");
}

#[test]
fn the_servers_key_accepts_only_the_servers_it_names() {
    let mut cfg = config(Profile::Compat);
    cfg.net.servers = vec!["192.0.2.10".parse().unwrap()];
    let c = instance_with(cfg, &CAMERA);
    set_clock(&c, -1);
    c.start(&mode(2)).unwrap();
    // The forger speaks first: without the list it would be followed.
    run_client(&c, 40, |n| {
        if n % 8 == 3 {
            vec![from(&packet_at(n - 1, 3_000, ready()), forger())]
        } else {
            vec![]
        }
    });
    let s = c.stats().rx;
    assert_eq!(
        (s.not_allowed, s.accepted, s.other_server),
        (5, 5, 0),
        "{s:?}"
    );
}

/// A client fed by server A (every 8 frames, until frame 60) and B (every 8
/// frames from 50, 4 frames after A's): B's stats and what was logged.
fn a_then_b(b: std::net::SocketAddrV4, a_until: i64) -> (RxStats, Vec<(Level, String)>) {
    let c = instance(Profile::Compat);
    set_clock(&c, -1);
    c.start(&mode(2)).unwrap();
    let records = logged(|| {
        for n in 0..200 {
            let mut ds = Vec::new();
            if n % 8 == 4 && n < a_until {
                ds.push(from(&packet_at(n - 1, 0, ready()), server_a()));
            }
            if n % 8 == 0 && n >= 50 {
                ds.push(from(&packet_at(n - 1, 0, wall_us(300)), b));
            }
            c.with_transport(|t| {
                for d in ds {
                    t.deliver(d);
                }
            });
            frame(&c, n);
        }
    });
    (c.stats().rx, records)
}

#[test]
fn a_server_on_another_host_replaces_one_silent_for_three_intervals() {
    // A failover to another host: A's last packet at frame 52.
    let (s, records) = a_then_b(addr("192.0.2.11:52000"), 60);
    assert_eq!(s.servers_followed, 2, "{s:?}");
    // B's packets until A had been silent for three of its intervals (56,
    // 64, 72): ignored; from 80 on followed.
    assert_eq!(s.other_server, 3, "{s:?}");
    assert!(
        records
            .iter()
            .any(|r| r.1.contains("following another server") && r.1.contains(":52000")),
        "{records:#?}"
    );
    // B was said to be a second server (A might have spoken again).
    assert!(
        records
            .iter()
            .any(|r| r.1.contains("two servers send to this group")),
        "{records:#?}"
    );
}

#[test]
fn a_server_restarted_on_its_host_is_followed_once_the_old_one_missed_a_packet() {
    // A restart: a new socket, another port on the same host. It was
    // followed only after three silent intervals (3 s at a reference
    // server's pace), like a failover to another host.
    let (s, records) = a_then_b(addr("192.0.2.10:52000"), 60);
    assert_eq!(s.servers_followed, 2, "{s:?}");
    // A's last packet at 52; B's at 56 came before A was due (60): ignored;
    // at 64 A had missed one (a quarter of an interval late): followed.
    assert_eq!(s.other_server, 1, "{s:?}");
    assert!(
        records.iter().any(|r| r.0 == Level::Info
            && r.1.contains("following the server from a new port")
            && r.1.contains(":52000")),
        "{records:#?}"
    );
    // A restart is no second server.
    assert!(
        !records
            .iter()
            .any(|r| r.1.contains("two servers") || r.0 >= Level::Warn),
        "{records:#?}"
    );
}

#[test]
fn a_second_server_on_the_followed_one_s_host_is_ignored_and_said_once() {
    // A keeps speaking: B (its host, another port) is never followed, and
    // said to be a second server once A has spoken again, once.
    let (s, records) = a_then_b(addr("192.0.2.10:52000"), 200);
    assert_eq!(s.servers_followed, 1, "{s:?}");
    assert_eq!(s.other_server, 18, "{s:?}");
    let said = records
        .iter()
        .filter(|r| r.1.contains("two servers send to this group"))
        .count();
    assert_eq!(said, 1, "{records:#?}");
}

#[test]
fn a_forger_with_the_server_s_address_moves_a_client_at_most_half_a_frame() {
    // Without a key nothing tells a forged packet with the server's address
    // and plausible values from a real one. The damage is bounded: every
    // adjustment within half a frame (compat), held as a stray (precision).
    for profile in [Profile::Compat, Profile::Precision] {
        let c = instance_with(config(profile), &WIDE);
        set_clock(&c, -1);
        c.start(&mode(2)).unwrap();
        let mut worst = 0;
        for n in 0..200 {
            let mut ds = Vec::new();
            if n % 8 == 4 {
                ds.push(from(&packet_at(n - 1, 0, ready()), server_a()));
            }
            if n % 50 == 25 {
                ds.push(from(
                    &packet_at(n - 1, -(FRAME_US * 6 / 10), ready()),
                    server_a(),
                ));
            }
            c.with_transport(|t| {
                for d in ds {
                    t.deliver(d);
                }
            });
            frame(&c, n);
            let a = c.queue_request(&Controls::default()).unwrap();
            worst = worst.max(a.sync_adjustment_us.unwrap().abs());
        }
        assert!(worst <= (FRAME_US / 2) as i32, "{profile:?}: {worst}");
        if profile == Profile::Precision {
            assert!(c.stats().strays >= 3, "{:?}", c.stats());
        }
    }
}

/// A key file of `key` with `mode`, in a fresh directory.
fn key_file(name: &str, key: &[u8], mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("camsync-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, key).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// `cfg` with `key_file` set from `path`.
fn keyed(mut cfg: Config, path: &std::path::Path) -> Config {
    cfg.set("key_file", path.to_str().unwrap(), "test").unwrap();
    cfg
}

#[test]
fn the_key_file_is_a_private_bounded_regular_file() {
    let good = key_file("good", b"0123456789abcdef0123456789abcdef\n", 0o600);
    assert!(keyed(Config::default(), &good).key.is_some());
    let mut c = Config::default();
    for (path, why) in [
        (key_file("group", b"0123456789abcdef01", 0o640), "chmod 600"),
        (key_file("world", b"0123456789abcdef01", 0o604), "chmod 600"),
        (
            key_file("short", b"0123456789\n", 0o600),
            "16 to 1024 bytes",
        ),
        (
            key_file("long", &[b'k'; 1025], 0o600),
            "16 to 1024 bytes, and it holds 1025",
        ),
        (std::path::PathBuf::from("/dev/zero"), "character device"),
        (std::path::PathBuf::from("/nonexistent/key"), "No such file"),
    ] {
        let e = c
            .set("key_file", path.to_str().unwrap(), "f.conf:3")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.conf:3") && e.contains("key_file") && e.contains(why),
            "{}: {e}",
            path.display()
        );
        // The error names the file, never its content.
        assert!(!e.contains("0123456789abcdef"), "{e}");
    }
}

/// A server and a client instance with a key (or none), over memory: the
/// server's datagrams are carried to the client by the test.
fn keyed_pair(
    server_key: Option<&std::path::Path>,
    client_key: Option<&std::path::Path>,
) -> (Inst, Inst) {
    let mk = |key: Option<&std::path::Path>| {
        let cfg = config(Profile::Compat);
        instance_with(key.map_or(cfg.clone(), |k| keyed(cfg, k)), &CAMERA)
    };
    let (s, c) = (mk(server_key), mk(client_key));
    set_clock(&s, -1);
    set_clock(&c, -1);
    s.start(&mode(1)).unwrap();
    c.start(&mode(2)).unwrap();
    (s, c)
}

/// Frame `n` on both: the server's packets (if any) go to the client, from
/// the server's address, with `extra` after them. Returns what the server
/// sent.
fn step_pair(
    s: &Inst,
    c: &Inst,
    n: i64,
    extra: &mut dyn FnMut(&[MemDatagram]) -> Vec<MemDatagram>,
) -> (
    Vec<MemDatagram>,
    camsync::core::FrameOutput,
    camsync::plugin::QueueOutput,
) {
    frame(s, n);
    let sent: Vec<MemDatagram> =
        std::iter::from_fn(|| s.with_transport(|t| t.take_sent())).collect();
    let mut ds: Vec<MemDatagram> = sent
        .iter()
        .map(|d| d.from_addr(server_a()).to_addr(GROUP))
        .collect();
    ds.extend(extra(&ds));
    c.with_transport(|t| {
        for d in ds {
            t.deliver(d);
        }
    });
    let out = frame(c, n);
    let q = c.queue_request(&Controls::default()).unwrap();
    (sent, out, q)
}

#[test]
fn with_a_key_only_authenticated_packets_are_followed() {
    let k1 = key_file("k1", b"the first key of the rig, 32 B!!", 0o600);
    let k2 = key_file("k2", b"another rig's key, 32 bytes long", 0o600);
    let (s, c) = keyed_pair(Some(&k1), Some(&k1));
    let mut ready = None;
    let mut forged = 0u64;
    for n in 0..40 {
        let (sent, out, q) = step_pair(&s, &c, n, &mut |genuine| {
            let mut v = Vec::new();
            // Every frame: a plain packet half a frame off, from the
            // server's own address.
            v.push(from(
                &packet_at(n, FRAME_US / 2 - 100, wall_us(0)),
                server_a(),
            ));
            for g in genuine {
                // Replayed as it is, twice; modified (its ready time).
                v.push(*g);
                v.push(*g);
                let mut b = g.as_bytes().to_vec();
                b[44] ^= 0x01;
                v.push(MemDatagram::new(&b).from_addr(server_a()).to_addr(GROUP));
            }
            forged += v.len() as u64;
            v
        });
        for d in &sent {
            assert_eq!(
                d.len(),
                80,
                "a keyed server sends authenticated packets only"
            );
            assert_eq!(&d.as_bytes()[..5], b"CSYA\x01");
        }
        assert!(
            q.sync_adjustment_us.unwrap().abs() <= 100,
            "frame {n}: {q:?}"
        );
        if out.sync_ready == Some(true) && ready.is_none() {
            ready = Some(n);
        }
    }
    assert_eq!(ready, Some(20), "ready with the server, on its frame 20");
    let rx = c.stats().rx;
    let sent = s.stats().packets_sent;
    assert_eq!(rx.accepted, sent, "{rx:?}");
    assert_eq!(rx.unauthenticated, 40, "{rx:?}");
    assert_eq!(rx.replayed, 2 * sent, "{rx:?}");
    assert_eq!(rx.bad_mac, sent, "{rx:?}");
    assert_eq!(rx.rejected(), forged, "{rx:?}");

    // A client with another key, or with none, follows nothing.
    for (key, reason) in [(Some(k2.as_path()), "bad_mac"), (None, "no_key")] {
        let (s, c) = keyed_pair(Some(&k1), key);
        for n in 0..40 {
            step_pair(&s, &c, n, &mut |_| Vec::new());
        }
        let rx = c.stats().rx;
        assert_eq!(rx.accepted, 0, "{rx:?}");
        let n = rx.by_reason().iter().find(|r| r.0 == reason).unwrap().1;
        assert_eq!(n, s.stats().packets_sent, "{reason}: {rx:?}");
    }
}

#[test]
fn a_restarted_keyed_server_is_followed_and_its_old_packets_are_not() {
    let k1 = key_file("k3", b"the first key of the rig, 32 B!!", 0o600);
    let (s, c) = keyed_pair(Some(&k1), Some(&k1));
    let mut old = Vec::new();
    for n in 0..30 {
        let (sent, ..) = step_pair(&s, &c, n, &mut |_| Vec::new());
        old.extend(sent);
    }
    // The server restarts: a new sender id, numbered from 1 again.
    s.stop().unwrap();
    set_clock(&s, 31);
    s.start(&mode(1)).unwrap();
    let before = c.stats().rx.accepted;
    for n in 32..120 {
        step_pair(&s, &c, n, &mut |_| {
            // The old run's packets, replayed: seen (or too old).
            old.iter()
                .map(|d| d.from_addr(server_a()).to_addr(GROUP))
                .collect()
        });
    }
    let rx = c.stats().rx;
    assert!(rx.accepted > before + 5, "{rx:?}");
    assert_eq!(
        rx.accepted - before,
        s.stats().packets_sent - before,
        "{rx:?}"
    );
    // Every one of the old run's packets, each of the 88 times: refused.
    assert_eq!(
        rx.replayed + rx.clock_offset,
        old.len() as u64 * 88,
        "{rx:?}"
    );
}

#[test]
fn a_server_clock_at_1970_is_refused_and_said_with_its_date() {
    // A server host without an RTC, before NTP: its packets say 1970. The
    // reference fed them to the nearest-frame arithmetic (an int overflow).
    for profile in [Profile::Compat, Profile::Precision] {
        let c = instance(profile);
        set_clock(&c, -1);
        c.start(&mode(2)).unwrap();
        let records = logged(|| {
            for n in 0..40 {
                if n % 8 == 4 {
                    let p = SyncPacket {
                        frame_duration_us: FRAME_US as u32,
                        frame_ts_us: 300_000_000 + n as u64 * FRAME_US as u64,
                        ready_time_us: 3_600_000_000,
                    };
                    c.with_transport(|t| {
                        t.deliver(from(&p, server_a()));
                    });
                }
                frame(&c, n);
            }
        });
        let s = c.stats().rx;
        assert_eq!((s.accepted, s.timestamp), (0, 5), "{profile:?} {s:?}");
        let said: Vec<_> = records
            .iter()
            .filter(|r| r.0 == Level::Warn && r.1.contains("rejected sync datagram"))
            .collect();
        // Once (rate-limited), with the date and what to do.
        assert_eq!(said.len(), 1, "{profile:?}: {records:#?}");
        assert!(
            said[0].1.contains("1970-01-01T00:05:") && said[0].1.contains("NTP"),
            "{}",
            said[0].1
        );
    }
}
