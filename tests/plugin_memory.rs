// SPDX-License-Identifier: LGPL-2.1-or-later
//! The shipped plugin instance over the deterministic in-memory transport
//! and a clock the test sets: what ships around the core — the bounded,
//! validating drain, the socket lifecycle, the wire format, failures to open
//! or send — exercised without sockets or real time.

mod common;

use std::io::ErrorKind;

use camsync::core::{Controls, LayerParams, SocketRole, SyncPacket, WireFormat};
use camsync::net::{MemDatagram, MemoryTransport, NetConfig};
use camsync::plugin::{Config, Instance, ManualClock};
use common::memory::{CAMERA, Inst, WALL0, frame, mode, set_clock};

fn config(max_drain: usize, wire_format: WireFormat) -> Config {
    Config {
        layer: LayerParams {
            sync_period: 5,
            ready_frame: 20,
            ..LayerParams::default()
        },
        net: NetConfig {
            interface: Some("eth7".into()),
            max_drain,
            wire_format,
            ..NetConfig::default()
        },
        ..Config::default()
    }
}

fn instance(cfg: Config) -> Inst {
    let i = Instance::from_parts(
        "cam",
        Ok(cfg),
        MemoryTransport::new(),
        ManualClock::default(),
    );
    assert!(i.controls(&CAMERA).unwrap().is_some());
    i
}

fn packet(k: u64) -> SyncPacket {
    let t = (WALL0 + 200_000_000) / 1000 + k;
    SyncPacket {
        frame_duration_us: 33_333,
        frame_ts_us: t,
        ready_time_us: t + 3_000_000,
    }
}

#[test]
fn a_client_reads_at_most_max_drain_datagrams_per_frame() {
    let c = instance(config(4, WireFormat::Layer));
    c.start(&mode(2)).unwrap();
    c.with_transport(|t| {
        for k in 0..10 {
            assert!(t.deliver(MemDatagram::packet(&packet(k), WireFormat::Layer)));
        }
    });
    let consumed: Vec<u32> = (0..4).map(|n| frame(&c, n).diag.packets).collect();
    assert_eq!(consumed, [4, 4, 2, 0]);
    let s = c.stats().rx;
    assert_eq!((s.accepted, s.drain_limited), (10, 2), "{s:?}");
    assert_eq!(c.with_transport(|t| t.waiting()), 0);
}

#[test]
fn invalid_datagrams_are_counted_by_reason_and_never_reach_the_core() {
    let c = instance(config(32, WireFormat::Layer));
    c.start(&mode(2)).unwrap();
    let from = "192.0.2.7:4000".parse().unwrap();
    let mut zero = packet(0);
    zero.frame_duration_us = 0;
    let mut ancient = packet(0);
    ancient.frame_ts_us = 12;
    c.with_transport(|t| {
        for d in [
            MemDatagram::new(&[1; 7]),
            MemDatagram::new(&[2; 200]),
            MemDatagram::packet(&zero, WireFormat::Layer),
            MemDatagram::packet(&ancient, WireFormat::Rpi),
            MemDatagram::packet(&packet(0), WireFormat::Rpi),
        ] {
            t.deliver(d.from_addr(from));
        }
    });
    let out = frame(&c, 0);
    assert_eq!(out.diag.packets, 1, "only the valid one reached the core");
    let s = c.stats().rx;
    assert_eq!(
        (
            s.accepted,
            s.wrong_length,
            s.truncated,
            s.frame_duration,
            s.timestamp
        ),
        (1, 1, 1, 1, 1),
        "{s:?}"
    );
}

#[test]
fn the_socket_follows_mode_interface_and_stop() {
    let i = instance(config(32, WireFormat::Layer));
    let view = |i: &Inst| i.with_transport(|t| (t.role(), t.interface().map(str::to_string)));
    i.start(&mode(1)).unwrap();
    assert_eq!(view(&i), (Some(SocketRole::Sender), Some("eth7".into())));
    i.queue_request(&mode(0)).unwrap();
    assert_eq!(view(&i), (None, None), "Off closes the socket");
    i.queue_request(&Controls {
        sync_mode: Some(2),
        sync_interface: Some("192.168.3.4"),
        ..Controls::default()
    })
    .unwrap();
    assert_eq!(
        view(&i),
        (Some(SocketRole::Receiver), Some("192.168.3.4".into())),
        "the application's SyncInterface wins over the configured one"
    );
    i.queue_request(&Controls {
        sync_interface: Some(""),
        ..Controls::default()
    })
    .unwrap();
    assert_eq!(view(&i), (Some(SocketRole::Receiver), Some("eth7".into())));
    i.stop().unwrap();
    assert_eq!(view(&i), (None, None), "stop closes the socket");
    assert_eq!(i.socket_role(), None);
    assert_eq!(i.with_transport(|t| t.counters().opens), 3);
}

#[test]
fn a_failing_open_is_counted_retried_and_recovers() {
    let i = instance(config(32, WireFormat::Layer));
    i.with_transport(|t| t.fail_opens(Some(ErrorKind::AddrInUse)));
    i.start(&mode(2)).unwrap();
    assert_eq!(i.socket_role(), None);
    assert!(i.last_socket_error().is_some_and(|e| e.contains("open")));
    i.queue_request(&Controls::default()).unwrap();
    assert_eq!(i.stats().socket_errors, 1, "not retried at once");
    // 0.5 s later (15 frames) the next request retries.
    set_clock(&i, 15);
    i.queue_request(&Controls::default()).unwrap();
    assert_eq!(i.stats().socket_errors, 2, "retried on a later request");
    i.with_transport(|t| t.fail_opens(None));
    set_clock(&i, 60);
    i.queue_request(&Controls::default()).unwrap();
    assert_eq!(i.socket_role(), Some(SocketRole::Receiver));
    assert_eq!(i.last_socket_error(), None);
}

#[test]
fn a_server_sends_the_configured_wire_format_and_counts_failures() {
    for (format, len) in [(WireFormat::Layer, 24), (WireFormat::Rpi, 40)] {
        let s = instance(config(32, format));
        s.start(&mode(1)).unwrap();
        let mut sent = Vec::new();
        for n in 0..12 {
            if let Some(p) = frame(&s, n).tx {
                let d = s.with_transport(|t| t.take_sent()).expect("sent");
                assert_eq!(d.len(), len);
                assert_eq!(SyncPacket::decode(d.as_bytes()).unwrap(), (p, format));
                sent.push(p);
            }
        }
        assert_eq!(sent.len(), 2, "every sync_period (5) frames");
        assert_eq!(s.stats().packets_sent, 2);

        s.with_transport(|t| t.fail_sends(Some(ErrorKind::NetworkUnreachable)));
        for n in 12..22 {
            frame(&s, n);
        }
        let st = s.stats();
        assert_eq!((st.packets_sent, st.send_errors), (2, 2));
        assert_eq!(s.with_transport(|t| t.take_sent()), None);
    }
}

#[test]
fn camera_limits_beyond_half_a_frame_clamp_to_no_adjustment() {
    // Found by fuzz/core_sequence: a camera advertising SyncAdjustment
    // 657919..700000 µs at 90 ms frames (half: 45361 µs) made the clamp's
    // bounds cross (min > max), and queue_request panicked.
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([657_919, 700_000]), 90_722),
        [0, 0]
    );
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([-700_000, -657_919]), 90_722),
        [0, 0]
    );
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([-16_666, 16_666]), 20_000),
        [-10_000, 10_000]
    );
    // Also found by fuzz/core_sequence: limits 17500972..185273099 µs (given
    // the wrong way round) and no frame duration known turned a correction
    // of a few µs into one of 17.5 s. Limits that leave out 0 allow only 0.
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([185_273_099, 17_500_972]), 0),
        [0, 0]
    );
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([-100, -50]), 33_333),
        [0, 0]
    );
    // And a camera whose FrameDurationLimits min is 1 µs: half of it is 0,
    // not unknown (a correction of 2048 µs went out).
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([2048, -2_076_966_912]), 1),
        [0, 0]
    );
    assert_eq!(
        camsync::plugin::adjustment_bounds(Some([-16_666, 16_666]), 0),
        [-16_666, 16_666]
    );
    let c = Instance::from_parts(
        "cam",
        Ok(config(32, WireFormat::Layer)),
        MemoryTransport::new(),
        ManualClock::default(),
    );
    let camera = camsync::core::CameraControls {
        sync_adjustment_limits_us: Some([657_919, 700_000]),
        frame_duration_limits_us: Some([90_722, 90_722]),
    };
    assert!(c.controls(&camera).unwrap().is_some());
    c.start(&mode(2)).unwrap();
    let q = c.queue_request(&Controls::default()).unwrap();
    assert_eq!(q.sync_adjustment_us, Some(0));
}
