// SPDX-License-Identifier: LGPL-2.1-or-later
//! The core's hooks through its public API, with scripted clocks and packets:
//! dropped-frame accounting, the server's packet period, the client's
//! correction and dead band, availability, cancelled requests, socket actions.

use camsync::core::{
    CameraControls, ClockSample, ClockSource, Completion, Controls, FrameOutput, Layer,
    LayerParams, NoPackets, PacketSource, Profile, SocketAction, SocketRole, SyncPacket,
};

const FD_US: u64 = 33_333;
/// Wall clock base: small enough that f64 holds every ns exactly, so the
/// recovered wall clock is exactly WALL0 + (boot - BOOT0).
const WALL0: u64 = 1_000_000_000_000_000;
const BOOT0: u64 = 7_000_000_000;

/// A boot clock and a wall clock that run together; each sample is taken at
/// the next scheduled instant.
struct Clocks {
    now_boot: u64,
    samples: u32,
}

impl ClockSource for Clocks {
    fn sample(&mut self) -> ClockSample {
        self.samples += 1;
        ClockSample {
            boot_before_ns: self.now_boot,
            wall_ns: WALL0 + (self.now_boot - BOOT0),
            boot_after_ns: self.now_boot,
        }
    }
}

struct Packets(Vec<SyncPacket>);

impl PacketSource for Packets {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        (!self.0.is_empty()).then(|| self.0.remove(0))
    }
}

fn camera() -> CameraControls {
    CameraControls {
        sync_adjustment_limits_us: Some([-16_666, 16_666]),
        frame_duration_limits_us: Some([33_333, 33_333]),
    }
}

fn layer(mode: i32) -> (Layer, Clocks) {
    let mut l = Layer::new(LayerParams::default(), Profile::Compat);
    assert!(l.controls(&camera()).is_some());
    let mut c = Clocks {
        now_boot: BOOT0,
        samples: 0,
    };
    let out = l.start(
        &Controls {
            sync_mode: Some(mode),
            ..Controls::default()
        },
        &mut c,
    );
    assert!(out.socket.is_some());
    (l, c)
}

/// Complete the frame that started at boot time `sof_ns` (completion 5 ms later).
fn complete(l: &mut Layer, c: &mut Clocks, sof_ns: u64, rx: &mut dyn PacketSource) -> FrameOutput {
    c.now_boot = sof_ns + 5_000_000;
    l.request_completed(
        &Completion {
            sensor_timestamp_ns: Some(sof_ns as i64),
            cancelled: false,
        },
        c,
        rx,
    )
}

fn sof(frame: u64) -> u64 {
    BOOT0 + 50_000_000 + frame * FD_US * 1000
}

fn wall_us(frame: u64) -> u64 {
    (WALL0 + (sof(frame) - BOOT0)) / 1000
}

#[test]
fn the_recovered_wall_clock_is_exact_with_ideal_clocks() {
    let (mut l, mut c) = layer(1);
    for f in 0..20 {
        let out = complete(&mut l, &mut c, sof(f), &mut NoPackets);
        assert_eq!(
            out.frame_wall_clock_ns,
            Some((WALL0 + sof(f) - BOOT0) as i64)
        );
    }
}

#[test]
fn dropped_frames_are_counted_into_the_frame_count() {
    let (mut l, mut c) = layer(1);
    let frames = [0u64, 1, 2, 3, 4, 7, 8, 12];
    let mut dropped = Vec::new();
    let mut timers = Vec::new();
    for &f in &frames {
        let out = complete(&mut l, &mut c, sof(f), &mut NoPackets);
        dropped.push(out.diag.dropped);
        timers.push(out.sync_timer_us.unwrap());
    }
    assert_eq!(dropped, [0, 0, 0, 0, 0, 2, 0, 3]);
    // With a steady frame duration the ready instant stays put: frame 100 of
    // the server's own count, whatever was dropped.
    let ready = wall_us(0) + 100 * FD_US;
    for (&f, &t) in frames.iter().zip(&timers).skip(2) {
        let expected = ready as i64 - wall_us(f) as i64;
        assert!(
            (t - expected).abs() <= 1,
            "frame {f}: timer {t}, expected {expected}"
        );
    }
}

#[test]
fn a_late_frame_is_clamped_to_half_a_frame_after_the_last() {
    let (mut l, mut c) = layer(1);
    complete(&mut l, &mut c, sof(0), &mut NoPackets);
    // A timestamp that goes backwards (a wall clock step, or a bogus stamp).
    let out = complete(&mut l, &mut c, sof(0) - 1_000_000, &mut NoPackets);
    assert_eq!(out.diag.dropped, 0);
    assert_eq!(out.diag.t_us, wall_us(0) + FD_US / 2);
}

#[test]
fn the_server_sends_every_sync_period_frames_counting_drops() {
    let (mut l, mut c) = layer(1);
    let mut sent = Vec::new();
    // Frames 0..70 with 0-indexed frames 10 and 11 dropped.
    for f in (0..70u64).filter(|f| !(10..12).contains(f)) {
        let out = complete(&mut l, &mut c, sof(f), &mut NoPackets);
        if let Some(p) = out.tx {
            assert_eq!(p.frame_ts_us, wall_us(f));
            assert_eq!(p.frame_duration_us, FD_US as u32);
            sent.push(f);
        }
    }
    assert_eq!(sent, [30, 60]);
}

#[test]
fn the_server_becomes_ready_at_ready_frame() {
    let (mut l, mut c) = layer(1);
    let mut ready_at = None;
    for f in 0..120u64 {
        let out = complete(&mut l, &mut c, sof(f), &mut NoPackets);
        if out.diag.sync_achieved {
            ready_at = Some(f);
        }
        assert_eq!(out.sync_ready, Some(ready_at.is_some()));
    }
    assert_eq!(ready_at, Some(100));
}

/// A server packet whose frame grid is offset from the client's by `late_us`.
fn packet_for(frame: u64, late_us: i64) -> SyncPacket {
    SyncPacket {
        frame_duration_us: FD_US as u32,
        frame_ts_us: (wall_us(frame) as i64 - late_us) as u64,
        ready_time_us: wall_us(frame) + 50 * FD_US,
    }
}

#[test]
fn a_late_client_shortens_one_frame_by_its_lateness() {
    let (mut l, mut c) = layer(2);
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(0)
    );
    complete(&mut l, &mut c, sof(0), &mut NoPackets);
    // The server's frame 3 frames back on the grid, 120 µs earlier than ours.
    let mut rx = Packets(vec![packet_for(2, 120)]);
    let out = complete(&mut l, &mut c, sof(5), &mut rx);
    assert_eq!(out.diag.packets, 1);
    assert_eq!(out.diag.correction_us, Some(120));
    assert!(
        out.sync_timer_us.is_some(),
        "a client reports the timer once it heard a server"
    );
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(120)
    );
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(0),
        "one correction, one frame"
    );
}

#[test]
fn an_early_client_lengthens_and_small_errors_are_ignored() {
    let (mut l, mut c) = layer(2);
    complete(&mut l, &mut c, sof(0), &mut NoPackets);
    complete(
        &mut l,
        &mut c,
        sof(1),
        &mut Packets(vec![packet_for(1, -300)]),
    );
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(-300)
    );
    let out = complete(
        &mut l,
        &mut c,
        sof(2),
        &mut Packets(vec![packet_for(2, 49)]),
    );
    assert_eq!(out.diag.correction_us, Some(49));
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(0),
        "below min_adjustment (50 µs)"
    );
}

#[test]
fn a_packet_with_zero_frame_duration_makes_no_correction() {
    let (mut l, mut c) = layer(2);
    complete(&mut l, &mut c, sof(0), &mut NoPackets);
    let mut p = packet_for(1, 500);
    p.frame_duration_us = 0;
    let out = complete(&mut l, &mut c, sof(1), &mut Packets(vec![p]));
    assert_eq!(out.diag.correction_us, None);
    assert_eq!(
        l.queue_request(&Controls::default()).sync_adjustment_us,
        Some(0)
    );
}

#[test]
fn without_sync_adjustment_only_the_wall_clock_is_reported() {
    let mut l = Layer::new(LayerParams::default(), Profile::Compat);
    let cam = CameraControls {
        sync_adjustment_limits_us: None,
        ..camera()
    };
    assert!(l.controls(&cam).is_none());
    let mut c = Clocks {
        now_boot: BOOT0,
        samples: 0,
    };
    let ctl = Controls {
        sync_mode: Some(1),
        ..Controls::default()
    };
    assert_eq!(l.start(&ctl, &mut c), Default::default());
    assert_eq!(c.samples, 0, "start is a no-op");
    assert_eq!(l.queue_request(&ctl), Default::default());
    let out = complete(&mut l, &mut c, sof(0), &mut NoPackets);
    assert!(out.frame_wall_clock_ns.is_some());
    assert_eq!(
        (out.sync_ready, out.sync_timer_us, out.tx),
        (None, None, None)
    );
}

#[test]
fn cancelled_requests_produce_nothing_and_read_no_clock() {
    let (mut l, mut c) = layer(1);
    let before = c.samples;
    let out = l.request_completed(
        &Completion {
            sensor_timestamp_ns: Some(sof(0) as i64),
            cancelled: true,
        },
        &mut c,
        &mut NoPackets,
    );
    assert_eq!(out, FrameOutput::default());
    assert_eq!(c.samples, before);
}

#[test]
fn no_frame_is_processed_without_a_frame_duration() {
    let mut l = Layer::new(LayerParams::default(), Profile::Compat);
    l.controls(&CameraControls {
        frame_duration_limits_us: None,
        ..camera()
    });
    let mut c = Clocks {
        now_boot: BOOT0,
        samples: 0,
    };
    l.start(
        &Controls {
            sync_mode: Some(1),
            ..Controls::default()
        },
        &mut c,
    );
    let out = complete(&mut l, &mut c, sof(0), &mut NoPackets);
    assert!(out.frame_wall_clock_ns.is_some());
    assert_eq!(out.sync_ready, None);
    l.queue_request(&Controls {
        frame_duration_limits_us: Some([33_333, 33_333]),
        ..Controls::default()
    });
    let out = complete(&mut l, &mut c, sof(1), &mut NoPackets);
    assert_eq!(out.sync_ready, Some(false));
}

#[test]
fn the_socket_follows_the_mode_and_the_interface() {
    let (mut l, _c) = layer(1);
    assert_eq!(l.socket_role(), Some(SocketRole::Sender));
    let q = |l: &mut Layer, mode: Option<i32>, iface: Option<&str>| {
        l.queue_request(&Controls {
            sync_mode: mode,
            sync_interface: iface,
            ..Controls::default()
        })
        .socket
    };
    assert_eq!(q(&mut l, Some(1), None), None, "same role: keep the socket");
    assert_eq!(q(&mut l, Some(0), None), Some(SocketAction::Close));
    assert_eq!(q(&mut l, Some(0), None), None);
    assert_eq!(
        q(&mut l, Some(2), None),
        Some(SocketAction::Open(SocketRole::Receiver))
    );
    assert_eq!(
        q(&mut l, Some(1), None),
        Some(SocketAction::Open(SocketRole::Sender))
    );
    assert_eq!(
        q(&mut l, None, Some("127.0.0.1")),
        Some(SocketAction::Open(SocketRole::Sender)),
        "an interface change reopens"
    );
    assert_eq!(l.interface(), Some("127.0.0.1"));
    assert_eq!(q(&mut l, None, Some("127.0.0.1")), None);
    assert_eq!(q(&mut l, Some(7), None), None, "an invalid mode is ignored");
    assert_eq!(l.stop(), Some(SocketAction::Close));
    assert_eq!(l.stop(), None);
    let mut c = Clocks {
        now_boot: BOOT0,
        samples: 0,
    };
    assert_eq!(
        l.start(&Controls::default(), &mut c).socket,
        Some(SocketAction::Open(SocketRole::Sender)),
        "start after stop reopens for the mode in force"
    );
}

#[test]
fn controls_out_of_their_range_are_ignored() {
    let (mut l, _c) = layer(1);
    let q = |l: &mut Layer, c: Controls| l.queue_request(&c);
    q(
        &mut l,
        Controls {
            sync_interface: Some("127.0.0.1"),
            ..Controls::default()
        },
    );
    // Whitespace, NUL or another control character: as the `interface` key.
    for bad in ["e th0", "eth0\0", "eth0\n", "\teth0"] {
        q(
            &mut l,
            Controls {
                sync_interface: Some(bad),
                ..Controls::default()
            },
        );
        assert_eq!(l.interface(), Some("127.0.0.1"), "{bad:?}");
    }
    // SyncFrames within the advertised 1..=10⁶ only.
    for (frames, expect) in [
        (1_000_000, 1_000_000),
        (1_000_001, 1_000_000),
        (i32::MAX, 1_000_000),
        (0, 1_000_000),
        (-5, 1_000_000),
        (7, 7),
    ] {
        q(
            &mut l,
            Controls {
                sync_frames: Some(frames),
                ..Controls::default()
            },
        );
        assert_eq!(l.params().ready_frame, expect, "SyncFrames {frames}");
    }
    // FrameDurationLimits with min > max is not a frame duration.
    q(
        &mut l,
        Controls {
            frame_duration_limits_us: Some([40_000, 30_000]),
            ..Controls::default()
        },
    );
    assert_eq!(l.frame_duration_us(), 33_333);
}
