// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision server: the reference's packets, from a clean model.
//!
//! - `frame_ts`: the wall clock of the current frame's *filtered* start
//!   (start-of-frame jitter removed), to the µs;
//! - `frame_duration`: the filtered period on the wall clock, rounded;
//! - `ready_time`: the wall clock of frame `ready_frame`: predicted until
//!   it happens, then that frame's start (it no longer drifts with the
//!   estimate, as the reference's does);
//! - packets every 8 frames (or `sync_period`, if smaller) during the first
//!   second and the first second after a wall-clock step, so that clients
//!   acquire and confirm quickly, then every `sync_period` frames. Eight
//!   frames leave a reference client's correction time to land before it
//!   measures again (the reference client corrects on every packet).
//!
//! `SyncReady` turns true on frame `ready_frame` (counted from the first
//! frame, dropped frames included), as with the reference.
//!
//! A server that pins its frames to a lattice ([`Pin`]: schedule mode, a
//! pinned start) moves them with the client's loop first; it is ready once
//! aligned, on the frame at its pinned ready instant if it has one (else on
//! `ready_frame` as above), and that instant is the ready time it sends.

use super::clock::WallFit;
use super::lattice::Lattice;
use super::timeline::{Observed, Timeline};
use crate::core::layer::{FrameOutput, LayerParams};
use crate::core::wire::SyncPacket;

/// Packet period while clients acquire, frames.
const ACQUIRE_PERIOD: i64 = 8;
/// How long clients acquire, ns.
const ACQUIRE_NS: f64 = 1e9;

/// A server's frames pinned to a lattice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pin {
    /// The pinned ready instant on the wall clock, if any.
    pub ready_wall: Option<i64>,
    /// Its frames are aligned to the lattice.
    pub locked: bool,
    /// The lattice. Its spacing is the period the frames now run at (the
    /// sensor's own, which the timeline keeps, is corrected every frame),
    /// and so the frame duration announced; the frame time announced is the
    /// lattice point the frame is aligned to, not where its start fell on
    /// the line grid, so that clients land on the lattice too.
    pub lattice: Lattice,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Server {
    ready: bool,
    /// The ready frame's filtered start, MONOTONIC ns, once it happened.
    ready_sof: Option<i64>,
    /// Frame of the last packet.
    last_sent: Option<i64>,
    /// Packets go out every `ACQUIRE_PERIOD` frames until this frame.
    acquire_until: i64,
}

fn us(ns: i64) -> u64 {
    u64::try_from(ns.saturating_add(500).div_euclid(1000)).unwrap_or(0)
}

impl Server {
    pub(super) fn new() -> Server {
        Server {
            ready: false,
            ready_sof: None,
            last_sent: None,
            acquire_until: 0,
        }
    }

    pub(super) fn reset(&mut self) {
        *self = Server::new();
    }

    pub(super) fn ready(&self) -> bool {
        self.ready
    }

    fn acquire_frames(period: f64) -> i64 {
        if period > 0.0 {
            (ACQUIRE_NS / period).ceil() as i64
        } else {
            30
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn frame(
        &mut self,
        params: &LayerParams,
        timeline: &Timeline,
        fit: &WallFit,
        obs: Observed,
        step: Option<i64>,
        pin: Option<Pin>,
        out: &mut FrameOutput,
    ) {
        let k = obs.index;
        let period = timeline.period();
        if self.last_sent.is_none() && k == 0 {
            self.acquire_until = Self::acquire_frames(period);
        }
        if step.is_some() {
            // Clients confirm a step from the next packets: send them soon.
            self.acquire_until = k.saturating_add(Self::acquire_frames(period));
            self.last_sent = self
                .last_sent
                .map(|s| s.min(k.saturating_sub(ACQUIRE_PERIOD)));
        }
        let (sof, frac) = timeline.sof();
        let sof = sof.saturating_add(frac.round() as i64);
        let wall = fit.wall(sof);
        let ready_frame = i64::from(params.ready_frame);
        let due = match pin {
            None => k >= ready_frame,
            Some(Pin {
                ready_wall: Some(at),
                locked,
                ..
            }) => locked && wall as f64 + period * fit.rate() / 2.0 > at as f64,
            Some(Pin {
                ready_wall: None,
                locked,
                ..
            }) => locked && k >= ready_frame,
        };
        if !self.ready && due {
            self.ready = true;
            let (r, f) = timeline.sof_at(ready_frame);
            self.ready_sof = Some(r.saturating_add(f.round() as i64));
            out.diag.sync_achieved = true;
            tracing::info!(frame = k, "Sync achieved (server)");
        }
        let ready_sof = self.ready_sof.unwrap_or_else(|| {
            let (r, f) = timeline.sof_at(ready_frame);
            r.saturating_add(f.round() as i64)
        });
        let ready_ns = match pin {
            Some(Pin {
                ready_wall: Some(at),
                ..
            }) => at,
            _ => fit.wall(ready_sof),
        };
        let sync_period = i64::from(params.sync_period.max(1));
        let every = if k < self.acquire_until {
            ACQUIRE_PERIOD.min(sync_period)
        } else {
            sync_period
        };
        let due = match self.last_sent {
            None => k >= every.min(ACQUIRE_PERIOD),
            Some(s) => k.saturating_sub(s) >= every,
        };
        if due && period > 0.0 {
            self.last_sent = Some(k);
            let fd = match pin {
                Some(p) => (p.lattice.period_ns as f64 / 1000.0).round(),
                None => (period * fit.rate() / 1000.0).round(),
            };
            let frame_wall = match pin {
                Some(p) => wall.saturating_sub(p.lattice.error(wall)),
                None => wall,
            };
            let packet = SyncPacket {
                frame_duration_us: if fd >= 1.0 && fd <= f64::from(u32::MAX) {
                    fd as u32
                } else {
                    0
                },
                frame_ts_us: us(frame_wall),
                ready_time_us: us(ready_ns),
            };
            tracing::debug!(
                frame = k,
                frame_duration_us = packet.frame_duration_us,
                frame_ts_us = packet.frame_ts_us,
                ready_time_us = packet.ready_time_us,
                "send packet"
            );
            out.tx = Some(packet);
        }
        out.diag.processed = true;
        out.diag.dropped = u32::try_from(obs.dropped).unwrap_or(u32::MAX);
        out.diag.t_us = us(wall);
        out.sync_ready = Some(self.ready);
        out.sync_timer_us = Some(ready_ns.saturating_sub(wall) / 1000);
    }
}
