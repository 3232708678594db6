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
use camsync::plugin::{Config, Instance, ManualClock};
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
