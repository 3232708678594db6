// SPDX-License-Identifier: LGPL-2.1-or-later
//! The plugin instance over the in-memory transport, on a clock the test
//! sets: one 30 fps camera whose frames complete 5 ms after they start, and
//! its log captured.

use std::sync::Arc;

use camsync::core::{CameraControls, ClockSample, Completion, Controls, FrameOutput};
use camsync::net::MemoryTransport;
use camsync::plugin::logging::{self, Level, MemorySink};
use camsync::plugin::{Instance, ManualClock};

pub type Inst = Instance<MemoryTransport, ManualClock>;

pub const FRAME_US: i64 = 33_333;
pub const BOOT0: u64 = 7_000_000_000;
pub const WALL0: u64 = 1_767_225_600_000_000_000;

/// A camera with `SyncAdjustment` (±half a frame) at a fixed 30 fps.
pub const CAMERA: CameraControls = CameraControls {
    sync_adjustment_limits_us: Some([-16_666, 16_666]),
    frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
};

pub fn mode(m: i32) -> Controls<'static> {
    Controls {
        sync_mode: Some(m),
        ..Controls::default()
    }
}

/// The start of frame `n`, boot clock ns.
pub fn sof(n: i64) -> i64 {
    BOOT0 as i64 + 100_000_000 + n * FRAME_US * 1000
}

/// Complete frame `n`; the instance's clocks read 5 ms after it started.
pub fn frame(i: &Inst, n: i64) -> FrameOutput {
    set_clock(i, n);
    i.request_completed(&Completion {
        sensor_timestamp_ns: Some(sof(n)),
        cancelled: false,
    })
    .unwrap()
}

/// Set the instance's clocks to 5 ms after frame `n` started (before `start`:
/// frame -1).
pub fn set_clock(i: &Inst, n: i64) {
    let t = (sof(n) + 5_000_000) as u64;
    i.with_clock(|k| {
        k.set(
            ClockSample {
                boot_before_ns: t,
                wall_ns: WALL0 + (t - BOOT0),
                boot_after_ns: t,
            },
            t,
        )
    });
}

/// Run `f` with this crate's log going to a fresh sink; what it got.
pub fn logged(f: impl FnOnce()) -> Vec<(Level, String)> {
    let sink = Arc::new(MemorySink::new(Level::Debug));
    tracing::subscriber::with_default(logging::subscriber(sink.clone()), f);
    sink.records()
}
