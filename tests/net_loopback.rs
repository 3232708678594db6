// SPDX-License-Identifier: LGPL-2.1-or-later
//! The transport over real UDP multicast on the loopback interface. Every
//! socket sends with IP_MULTICAST_IF = 127.0.0.1 and joins on 127.0.0.1, so
//! no datagram can leave the machine.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use camsync::core::{PacketSource, SocketAction, SocketRole, SyncPacket, WireFormat};
use camsync::net::{NetConfig, Receiver, Transport};

/// A port per test, so tests running in parallel do not hear each other.
fn cfg(port_offset: u16, format: WireFormat) -> NetConfig {
    NetConfig {
        port: 20000 + (std::process::id() % 5000) as u16 * 4 + port_offset,
        interface: Some("127.0.0.1".into()),
        wire_format: format,
        ..NetConfig::default()
    }
}

const P: SyncPacket = SyncPacket {
    frame_duration_us: 33_333,
    frame_ts_us: 1_767_225_603_077_388,
    ready_time_us: 1_767_225_606_410_688,
};

/// A transport with a socket of `role` open on the configured interface.
fn opened(cfg: &NetConfig, role: SocketRole) -> Transport {
    let mut t = Transport::new(cfg.clone());
    t.apply(SocketAction::Open(role), None).unwrap();
    t
}

/// Drain until `n` packets arrived or a second passed.
fn collect(rx: &mut Transport, n: usize) -> Vec<SyncPacket> {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let mut src = rx.packets();
        while let Some(p) = src.next_packet() {
            got.push(p);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    got
}

#[test]
fn both_formats_arrive_and_garbage_is_skipped_not_fatal() {
    for (i, format) in [WireFormat::Layer, WireFormat::Rpi].into_iter().enumerate() {
        let cfg = cfg(i as u16, format);
        let mut rx = opened(&cfg, SocketRole::Receiver);
        let mut tx = opened(&cfg, SocketRole::Sender);

        // Garbage first (unicast to the port): wrong lengths, an oversized
        // datagram, and a right-sized one with absurd values.
        let junk = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let dst = (Ipv4Addr::LOCALHOST, cfg.port);
        junk.send_to(&[1; 7], dst).unwrap();
        junk.send_to(&[2; 100], dst).unwrap();
        junk.send_to(&[0; 24], dst).unwrap();
        tx.send(&P).unwrap();
        tx.send(&P).unwrap();

        let got = collect(&mut rx, 2);
        assert_eq!(got, vec![P, P], "{format:?}");
        let s = rx.rx_stats();
        assert_eq!(s.accepted, 2);
        assert_eq!(s.wrong_length, 1, "{s:?}");
        assert_eq!(s.truncated, 1, "{s:?}");
        assert_eq!(s.frame_duration, 1, "{s:?}");
    }
}

#[test]
fn opening_a_receiver_flushes_stale_datagrams() {
    let cfg = cfg(2, WireFormat::Layer);
    let mut first = Receiver::open(&cfg, Some(Ipv4Addr::LOCALHOST)).unwrap();
    let mut tx = opened(&cfg, SocketRole::Sender);
    tx.send(&P).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // SO_REUSEADDR: a second receiver on the same port gets its own copy of
    // later datagrams, but nothing sent before it existed.
    let mut second = Receiver::open(&cfg, Some(Ipv4Addr::LOCALHOST)).unwrap();
    assert_eq!(second.drain().next_packet(), None);
    assert_eq!(first.drain().next_packet(), Some(P));
    assert_eq!(first.flush(), 0);
}

#[test]
fn the_drain_is_bounded_per_frame() {
    let mut cfg = cfg(3, WireFormat::Layer);
    cfg.max_drain = 4;
    let mut rx = opened(&cfg, SocketRole::Receiver);
    let mut tx = opened(&cfg, SocketRole::Sender);
    for _ in 0..10 {
        tx.send(&P).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let mut n = 0;
    {
        let mut src = rx.packets();
        while src.next_packet().is_some() {
            n += 1;
        }
    }
    assert_eq!(n, 4, "one frame reads at most max_drain datagrams");
    assert_eq!(rx.rx_stats().drain_limited, 1);
    assert_eq!(
        collect(&mut rx, 6).len(),
        6,
        "the rest waits for later frames"
    );
}

#[test]
fn close_and_role_follow_the_actions() {
    let cfg = cfg(0, WireFormat::Layer);
    let mut t = Transport::new(NetConfig {
        port: cfg.port + 1000,
        ..cfg
    });
    assert_eq!(t.role(), None);
    t.apply(SocketAction::Open(SocketRole::Sender), None)
        .unwrap();
    assert_eq!(t.role(), Some(SocketRole::Sender));
    t.apply(SocketAction::Open(SocketRole::Receiver), None)
        .unwrap();
    assert_eq!(t.role(), Some(SocketRole::Receiver));
    assert!(t.send(&P).is_err(), "a receiver cannot send");
    t.apply(SocketAction::Close, None).unwrap();
    assert_eq!(t.role(), None);
    let e = t
        .apply(SocketAction::Open(SocketRole::Sender), Some("nosuchif0"))
        .unwrap_err();
    assert!(e.to_string().contains("nosuchif0"));
    assert_eq!(t.role(), None, "a failed open leaves no socket");
}
