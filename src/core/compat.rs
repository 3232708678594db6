// SPDX-License-Identifier: LGPL-2.1-or-later AND BSD-2-Clause
// Ported from libcamera's sync layer (the unmerged Sync Layer v2 series):
// src/layer/sync/sync.cpp (BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd;
// Copyright (C) 2025, Ideas On Board Oy) and src/layer/sync/sync.h
// (LGPL-2.1-or-later; Copyright (C) 2025, Ideas On Board Oy). See LICENSE.

//! The compatibility profile: libcamera's C++ sync layer, state for state
//! (`spec/algorithm.md` §2–§4). Its per-frame arithmetic lives in `frame.rs`;
//! its wall clock is [`ClockRecovery`] with the reference's parameters.
//!
//! Nothing here may change behaviour: every golden trace must replay
//! exactly (`tests/replay_traces.rs`). Improvements belong to another
//! profile (`super::precision`).

use super::clock::{ClockRecovery, ClockSource};
use super::controls::Mode;
use super::layer::{Completion, FrameOutput, LayerParams, PacketSource};

/// What a profile's hooks need to know of the layer's shared state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub params: &'a LayerParams,
    pub mode: Mode,
    /// `FrameDurationLimits` min in use, µs (0: unknown).
    pub frame_duration_us: i64,
}

/// The reference's per-camera state. Everything starts at zero.
#[derive(Debug, Clone)]
pub(super) struct Compat {
    /// The pending correction, ns, sent with the next queued request.
    pub(super) offset_ns: f64,
    /// The previous frame's wall clock, µs.
    pub(super) last_us: u64,
    /// Frame duration estimate, µs (server: measured; client: the server's).
    pub(super) est_us: f64,
    pub(super) frame_count: u32,
    /// Server frames since the last packet.
    pub(super) period: u32,
    /// The server's ready instant as a client last heard it, µs.
    pub(super) server_ready_us: u64,
    pub(super) sync_ready: bool,
    /// A client has seen a packet since start.
    pub(super) seen: bool,
    pub(super) clock: ClockRecovery,
    /// When "Sync achieved" was last logged at INFO (frame wall clock, µs):
    /// not the reference's state, only its log's rate.
    pub(super) announced_us: Option<u64>,
}

impl Compat {
    pub(super) fn new(params: &LayerParams) -> Compat {
        Compat {
            offset_ns: 0.0,
            last_us: 0,
            est_us: 0.0,
            frame_count: 0,
            period: 0,
            server_ready_us: 0,
            sync_ready: false,
            seen: false,
            clock: ClockRecovery::new(params.clock_recovery),
            announced_us: None,
        }
    }

    /// The per-run reset (start, and SyncMode Off). The reference keeps the
    /// pending offset, the last timestamp, the estimate and the clock fit.
    pub(super) fn reset(&mut self) {
        self.sync_ready = false;
        self.frame_count = 0;
        self.period = 0;
        self.server_ready_us = 0;
        self.seen = false;
    }

    /// `start`: reset, then one clock sample.
    pub(super) fn start(&mut self, clock: &mut dyn ClockSource) {
        self.reset();
        self.clock.add_clock_sample(clock.sample());
    }

    /// `queueRequest` in Client mode: the pending correction, truncated to
    /// µs, then cleared.
    pub(super) fn take_adjustment(&mut self) -> i32 {
        let us = (self.offset_ns / 1000.0) as i32;
        self.offset_ns = 0.0;
        us
    }

    /// `requestCompleted` for a frame with a `SensorTimestamp`.
    pub(super) fn request_completed(
        &mut self,
        ctx: Ctx<'_>,
        sensor_ts: i64,
        clock: &mut dyn ClockSource,
        packets: &mut dyn PacketSource,
        out: &mut FrameOutput,
    ) {
        let resets = self.clock.resets();
        self.clock.add_clock_sample(clock.sample());
        out.diag.clock_reset = self.clock.resets() != resets;
        let fwc = self.clock.get_output(sensor_ts as u64);
        out.frame_wall_clock_ns = Some(fwc as i64);
        if ctx.mode != Mode::Off && ctx.frame_duration_us != 0 {
            self.process_frame(ctx, fwc, packets, out);
        }
    }
}

/// Completion handling shared by the profiles: cancelled requests and
/// requests without a timestamp produce nothing.
pub(super) fn sensor_timestamp(c: &Completion) -> Option<i64> {
    if c.cancelled {
        return None;
    }
    c.sensor_timestamp_ns
}
