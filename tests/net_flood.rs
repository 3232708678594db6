// SPDX-License-Identifier: LGPL-2.1-or-later
//! Floods over real loopback multicast (issue 8): garbage at the group must
//! not starve sync. A flood of 10 000 garbage datagrams a second kept every
//! client from ever becoming ready (the drain stopped at 32 a frame and the
//! socket buffer overflowed). Unicast to the sync port is no sync packet.
//! Nothing leaves this host (IP_MULTICAST_IF 127.0.0.1, TTL 0).

#[allow(dead_code)]
#[path = "common/flood.rs"]
mod flood;

use std::net::{Ipv4Addr, UdpSocket};

use camsync::core::{CameraControls, Completion, Controls, Profile, SyncPacket, WireFormat};
use camsync::net::{NetConfig, UdpTransport};
use camsync::plugin::{Config, Instance, SystemClock};

/// A port per test and process (clear of the other test binaries' ranges).
fn port(offset: u16) -> u16 {
    41000 + (std::process::id() % 800) as u16 * 5 + offset
}

#[test]
fn a_flood_of_garbage_does_not_starve_sync() {
    let r = flood::run(port(0), Profile::Compat, 4.0, 20_000);
    eprintln!("{r:?}");
    assert!(r.flood_rate > 10_000.0, "the flooder fell short: {r:?}");
    assert!(r.rejected > 30_000, "{r:?}");
    // Every packet the server sent reached the client's core (the last
    // one may still be in flight).
    assert!(r.accepted + 1 >= r.sent && r.sent >= 10, "{r:?}");
    assert!(r.client_ready_at.is_some_and(|f| f <= 62), "{r:?}");
    // Bounded work per frame: never more datagrams read in one frame than
    // the drain's bound (the CPU time per frame, flooded against quiet, is
    // `cargo bench --bench flood`'s to measure, not a test's).
    let read = r.accepted + r.rejected;
    assert!(
        read <= r.frames * camsync::net::DEFAULT_MAX_DRAIN as u64,
        "{read} datagrams in {} frames: {r:?}",
        r.frames
    );
}

/// A compat client on real loopback sockets and the system's clocks,
/// started on port `p`.
fn started_client(p: u16) -> Instance<UdpTransport, SystemClock> {
    let cfg = Config {
        profile: Profile::Compat,
        net: NetConfig {
            port: p,
            interface: Some("127.0.0.1".into()),
            ..NetConfig::default()
        },
        ..Config::default()
    };
    let client = Instance::from_parts(
        "client",
        Ok(cfg.clone()),
        UdpTransport::new(cfg.net.clone()),
        SystemClock::for_profile(Profile::Compat),
    );
    client
        .controls(&CameraControls {
            sync_adjustment_limits_us: Some([-16_666, 16_666]),
            frame_duration_limits_us: Some([33_333, 33_333]),
        })
        .unwrap();
    client
        .start(&Controls {
            sync_mode: Some(2),
            ..Controls::default()
        })
        .unwrap();
    client
}

#[test]
fn unicast_to_the_sync_port_is_counted_and_dropped() {
    let p = port(1);
    let client = started_client(p);
    let ts = {
        let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).unwrap();
        t.tv_sec() * 1_000_000_000 + t.tv_nsec()
    };
    let wall_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let packet = SyncPacket {
        frame_duration_us: 33_333,
        frame_ts_us: wall_us,
        ready_time_us: wall_us + 1_000_000,
    };
    let bytes = packet.encode(WireFormat::Layer);
    // A valid packet, unicast to this host's sync port: any host that can
    // route UDP here could send it. Then the same to the group.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(bytes.as_bytes(), (Ipv4Addr::LOCALHOST, p))
        .unwrap();
    let m = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    m.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    m.set_multicast_ttl_v4(0).unwrap();
    let m: UdpSocket = m.into();
    m.send_to(bytes.as_bytes(), (camsync::net::DEFAULT_GROUP, p))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = client
        .request_completed(&Completion {
            sensor_timestamp_ns: Some(ts),
            cancelled: false,
        })
        .unwrap();
    let rx = client.stats().rx;
    assert_eq!((rx.not_group, rx.accepted), (1, 1), "{rx:?}");
    assert_eq!(out.diag.packets, 1);
}

#[test]
fn with_a_key_a_forger_flooding_the_group_moves_nothing() {
    // The server signs; the forger sends well-formed plain packets half a
    // frame off, packets signed with another key, and replays (and a
    // modified copy of) every packet of the server it hears.
    let key = camsync::core::auth::AuthKey::new(b"the rig's pre-shared key, 32 B!!").unwrap();
    let r = flood::run_with(
        port(2),
        Profile::Compat,
        4.0,
        2_000,
        flood::Flood::Forger,
        Some(key),
    );
    eprintln!("{r:?}");
    let rx = r.rx;
    assert!(r.accepted + 1 >= r.sent && r.sent >= 10, "{r:?}");
    assert!(rx.unauthenticated > 1_000, "{rx:?}");
    assert!(rx.bad_mac > 1_000, "{rx:?}");
    assert!(rx.replayed >= 3 * (r.sent - 1), "{rx:?}");
    assert_eq!(rx.other_server, 0, "{rx:?}");
    // Ready when the server is, and locked on it: the client's 2 ms offset
    // corrected, never the forger's half frame.
    assert!(r.client_ready_at.is_some_and(|f| f <= 62), "{r:?}");
    assert!(r.max_adjustment_after_ready_us <= 2_100, "{r:?}");
}

#[test]
fn a_port_held_exclusively_elsewhere_is_retried_quietly_not_on_every_request() {
    // Another process holds the port without SO_REUSEADDR: every bind
    // fails. The client re-created its socket and re-joined on every
    // queue_request, forever, silently.
    let p = port(3);
    let _squatter = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, p)).unwrap();
    let client = started_client(p);
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        client.queue_request(&Controls::default()).unwrap();
    }
    let tried = client.stats().socket_errors;
    // Within the first 0.5 s: one attempt (the back-off's first retry is
    // 0.5 s later).
    if t.elapsed() < std::time::Duration::from_millis(450) {
        assert_eq!(tried, 1);
    }
    assert!(tried <= 2, "{tried} attempts");
    let e = client.last_socket_error().unwrap();
    assert!(e.contains("bind") && e.contains("in use"), "{e}");
}
