// SPDX-License-Identifier: LGPL-2.1-or-later
//! The UDP transport over real multicast on the loopback interface: raw
//! datagrams of any length arrive with their real length (both wire formats,
//! garbage too: judging them is the instance's job), a receiver discards
//! what waited before it opened, and the socket follows open/close. Every
//! socket sends with IP_MULTICAST_IF = 127.0.0.1 and joins on 127.0.0.1, so
//! no datagram can leave the machine.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use camsync::core::{SocketRole, SyncPacket, WireFormat};
use camsync::net::socket::RX_BUF;
use camsync::net::{NetConfig, Transport, UdpTransport};

/// A port per test, so tests running in parallel do not hear each other.
fn cfg(port_offset: u16) -> NetConfig {
    NetConfig {
        port: 20000 + (std::process::id() % 5000) as u16 * 4 + port_offset,
        ..NetConfig::default()
    }
}

const P: SyncPacket = SyncPacket {
    frame_duration_us: 33_333,
    frame_ts_us: 1_767_225_603_077_388,
    ready_time_us: 1_767_225_606_410_688,
};

/// A transport with a socket of `role` open on 127.0.0.1.
fn opened(cfg: &NetConfig, role: SocketRole) -> UdpTransport {
    let mut t = UdpTransport::new(cfg.clone());
    t.open(role, Some("127.0.0.1")).unwrap();
    t
}

/// Receive until `n` datagrams arrived or a second passed: (length, bytes kept).
fn collect(rx: &mut UdpTransport, n: usize) -> Vec<(usize, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut got = Vec::new();
    let mut buf = [0u8; RX_BUF];
    while got.len() < n && Instant::now() < deadline {
        while let Some(r) = rx.recv(&mut buf).unwrap() {
            got.push((r.len, buf[..r.len.min(RX_BUF)].to_vec()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    got
}

#[test]
fn raw_datagrams_of_any_length_arrive_with_their_real_length() {
    let cfg = cfg(0);
    let mut rx = opened(&cfg, SocketRole::Receiver);
    let mut tx = opened(&cfg, SocketRole::Sender);

    // Garbage first (unicast to the port): wrong lengths, and one longer than
    // the receive buffer, which must be reported with its real length.
    let junk = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let dst = (Ipv4Addr::LOCALHOST, cfg.port);
    junk.send_to(&[1; 7], dst).unwrap();
    junk.send_to(&[2; 200], dst).unwrap();
    tx.send(P.encode(WireFormat::Layer).as_bytes()).unwrap();
    tx.send(P.encode(WireFormat::Rpi).as_bytes()).unwrap();

    let got = collect(&mut rx, 4);
    let lens: Vec<usize> = got.iter().map(|g| g.0).collect();
    assert_eq!(lens, [7, 200, 24, 40]);
    assert_eq!(got[1].1.len(), RX_BUF, "only the buffer's worth was read");
    for (len, bytes) in &got[2..] {
        assert_eq!(SyncPacket::decode(&bytes[..*len]).unwrap().0, P);
    }
}

#[test]
fn opening_a_receiver_discards_stale_datagrams() {
    let cfg = cfg(1);
    let mut first = opened(&cfg, SocketRole::Receiver);
    let mut tx = opened(&cfg, SocketRole::Sender);
    tx.send(P.encode(WireFormat::Layer).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // SO_REUSEADDR: a second receiver on the same port gets its own copy of
    // later datagrams, but nothing sent before it existed.
    let mut second = opened(&cfg, SocketRole::Receiver);
    let mut buf = [0u8; RX_BUF];
    assert_eq!(second.recv(&mut buf).unwrap(), None);
    tx.send(P.encode(WireFormat::Layer).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // Reopening the first: the two datagrams waiting went with the old
    // socket; the new one has nothing to discard or read.
    assert_eq!(
        first.open(SocketRole::Receiver, Some("127.0.0.1")).unwrap(),
        0
    );
    assert_eq!(first.recv(&mut buf).unwrap(), None);
    assert_eq!(collect(&mut second, 1).len(), 1);
}

#[test]
fn open_close_and_role() {
    let mut t = UdpTransport::new(cfg(2));
    assert_eq!(t.role(), None);
    t.open(SocketRole::Sender, Some("lo")).unwrap();
    assert_eq!(t.role(), Some(SocketRole::Sender));
    let mut buf = [0u8; RX_BUF];
    assert!(t.recv(&mut buf).is_err(), "a sender cannot receive");
    t.open(SocketRole::Receiver, Some("127.0.0.1")).unwrap();
    assert_eq!(t.role(), Some(SocketRole::Receiver));
    assert!(t.send(&[0; 24]).is_err(), "a receiver cannot send");
    assert_eq!(t.recv(&mut buf).unwrap(), None, "nothing waiting: no block");
    t.close();
    assert_eq!(t.role(), None);
    assert_eq!(t.raw_fd(), None);
    let e = t.open(SocketRole::Sender, Some("nosuchif0")).unwrap_err();
    assert!(e.to_string().contains("nosuchif0"));
    assert_eq!(t.role(), None, "a failed open leaves no socket");
}
