// SPDX-License-Identifier: LGPL-2.1-or-later AND BSD-2-Clause
// Ported from libcamera's sync layer (the unmerged Sync Layer v2 series):
// src/layer/sync/sync.cpp (BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd;
// Copyright (C) 2025, Ideas On Board Oy) and src/layer/sync/sync.h
// (LGPL-2.1-or-later; Copyright (C) 2025, Ideas On Board Oy). See LICENSE.

//! Process frame: dropped-frame accounting, the server's estimate and packet,
//! the client's correction (`spec/algorithm.md` §4).
//!
//! This is the compatibility arithmetic: the reference's integer types,
//! wrap-arounds and truncations, written out with explicit `wrapping_*` and
//! `as` conversions. Where the reference is undefined (a float that does not
//! fit its integer, a division by zero) the choice made here is named at the
//! spot; Rust's `as` from f64 saturates and maps NaN to 0.

use super::compat::{Compat, Ctx};
use super::controls::Mode;
use super::layer::{FrameOutput, LayerParams, PacketSource};
use super::wire::SyncPacket;

impl Compat {
    /// Run the sync algorithm on one frame whose wall clock is `fwc_ns`.
    pub(super) fn process_frame(
        &mut self,
        ctx: Ctx<'_>,
        fwc_ns: u64,
        packets: &mut dyn PacketSource,
        out: &mut FrameOutput,
    ) {
        // The reference converts the f64 ns duration to u32 µs. Negative,
        // zero or oversized durations would be undefined (or divide by zero
        // below): such a frame is not processed.
        let Ok(fd) = u32::try_from(ctx.frame_duration_us) else {
            return;
        };
        if fd == 0 {
            return;
        }
        let mut t = fwc_ns / 1000;
        let mut dropped: u32 = 0;
        if self.frame_count > 0 {
            let half = u64::from(fd / 2);
            t = t.max(self.last_us.wrapping_add(half));
            // u64 division, stored in an unsigned int.
            dropped = (t.wrapping_sub(self.last_us).wrapping_sub(half) / u64::from(fd)) as u32;
            self.frame_count = self.frame_count.wrapping_add(dropped);
        }

        match ctx.mode {
            Mode::Server => self.server_frame(ctx.params, t, fd, dropped, out),
            Mode::Client => self.client_frame(ctx.params, t, packets, out),
            Mode::Off => {}
        }

        self.last_us = t;
        out.sync_ready = Some(self.sync_ready);
        self.frame_count = self.frame_count.wrapping_add(1);
        out.diag.processed = true;
        out.diag.dropped = dropped;
        out.diag.t_us = t;
    }

    fn server_frame(
        &mut self,
        params: &LayerParams,
        t: u64,
        fd: u32,
        dropped: u32,
        out: &mut FrameOutput,
    ) {
        // The reference passes t as int64_t: where it meets a double it
        // converts from the signed value.
        let t_f = t as i64 as f64;
        self.period = self.period.wrapping_add(dropped);

        if self.frame_count == 0 {
            self.est_us = f64::from(fd);
        } else {
            // (1 + dropped) wraps to 0 only for an absurd gap; divide by 1 then.
            let div = u64::from(1u32.wrapping_add(dropped).max(1));
            let diff = (t.wrapping_sub(self.last_us) / div) as f64;
            let n = self.frame_count.min(99);
            self.est_us = if self.frame_count == 1 {
                diff
            } else {
                (f64::from(n) * self.est_us + diff) / f64::from(n + 1)
            };
        }

        let remaining = params.ready_frame.wrapping_sub(self.frame_count) as i32;
        let ready = (t_f + f64::from(remaining) * self.est_us) as u64;

        if self.period >= params.sync_period {
            self.period = 0;
            let packet = SyncPacket {
                frame_duration_us: (self.est_us + 0.5) as u32,
                frame_ts_us: t,
                ready_time_us: ready,
            };
            tracing::debug!(
                frame = self.frame_count,
                frame_duration_us = packet.frame_duration_us,
                frame_ts_us = packet.frame_ts_us,
                ready_time_us = packet.ready_time_us,
                "send packet"
            );
            out.tx = Some(packet);
        }

        let timer = ready.wrapping_sub(t) as i64;
        if !self.sync_ready && t_f + self.est_us / 2.0 > ready as f64 {
            self.sync_ready = true;
            out.diag.sync_achieved = true;
            self.say_achieved(t, timer, "server");
        }
        out.sync_timer_us = Some(timer);
        self.period = self.period.wrapping_add(1);
    }

    /// "Sync achieved" at frame wall clock `t_us`: at INFO at most once a
    /// second (an application that flips SyncMode Off and back every few
    /// frames re-achieves sync on every packet), DEBUG otherwise.
    fn say_achieved(&mut self, t_us: u64, timer: i64, role: &str) {
        let due = self
            .announced_us
            .is_none_or(|last| t_us.abs_diff(last) >= 1_000_000);
        if due {
            self.announced_us = Some(t_us);
            tracing::info!(difference_us = timer, "Sync achieved ({role})");
        } else {
            tracing::debug!(difference_us = timer, "Sync achieved ({role})");
        }
    }

    fn client_frame(
        &mut self,
        params: &LayerParams,
        t: u64,
        packets: &mut dyn PacketSource,
        out: &mut FrameOutput,
    ) {
        let mut server_ts: u64 = 0;
        let mut received = false;
        while let Some(p) = packets.next_packet() {
            received = true;
            self.seen = true;
            out.diag.packets += 1;
            self.est_us = f64::from(p.frame_duration_us);
            server_ts = p.frame_ts_us;
            self.server_ready_us = p.ready_time_us;
        }

        // With a zero estimate the nearest frame is undefined (the reference
        // divides by zero): no correction is made from such a packet.
        if received && self.est_us != 0.0 {
            let est = self.est_us;
            let delta = t.wrapping_sub(server_ts) as i64;
            // Rounds toward zero, so a negative delta can pick the wrong frame
            // (defects.md 20); kept for compatibility.
            let k = ((delta as f64 + est / 2.0) / est) as i32;
            let nearest = (t as f64 - f64::from(k) * est) as i64;
            let correction = nearest.wrapping_sub(server_ts as i64) as i32;
            out.diag.correction_us = Some(correction);
            let correction = if correction.unsigned_abs() < params.min_adjustment_us {
                0
            } else {
                correction
            };
            tracing::debug!(
                frame = self.frame_count,
                server_ts_us = server_ts,
                server_ready_us = self.server_ready_us,
                client_ts_us = t,
                nearest_us = nearest,
                frames = k,
                correction_us = correction,
                "received packet"
            );
            self.offset_ns = f64::from(correction) * 1000.0;
        }

        let timer = self.server_ready_us.wrapping_sub(t) as i64;
        if self.seen
            && !self.sync_ready
            && t as i64 as f64 + self.est_us / 2.0 > self.server_ready_us as f64
        {
            self.sync_ready = true;
            out.diag.sync_achieved = true;
            self.say_achieved(t, timer, "client");
        }
        if self.seen {
            out.sync_timer_us = Some(timer);
        }
    }
}
