// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision profile: the same wire protocol as the reference, frame
//! alignment at the physical limit (the sensor's line grid,
//! `spec/precision.md`).
//!
//! - [`clock`]: the MONOTONIC → REALTIME fit (sane units, steps detected);
//! - [`timeline`]: the camera's own frame timeline, filtered;
//! - [`grid`]: the server's frame grid, fitted to its packets;
//! - [`probe`]: how the camera carries out `SyncAdjustment` (latency, line
//!   time, shortening limit), measured from its own timestamps;
//! - `client`: the phase-and-frequency loop;
//! - `server`: the server's packets and ready time.
//!
//! A precision client follows any server (the C++ layer, a Raspberry Pi,
//! a precision server); a precision server leads any client. Everything is
//! computed from the inputs of the hooks: no clock is read, nothing
//! allocates after `start`.

mod client;
pub mod clock;
pub mod grid;
pub mod probe;
mod server;
pub mod timeline;

use super::clock::ClockSource;
use super::compat::Ctx;
use super::controls::{CameraControls, Mode};
use super::layer::{FrameOutput, PacketSource};

use client::Client;
use clock::{Sample, WallFit};
use server::Server;
use timeline::Timeline;

/// Settings of the precision profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrecisionParams {
    /// A client reports `SyncReady` only while its estimated phase error is
    /// within this, ns (0: one line time of the camera, as measured, and at
    /// least 2 µs).
    pub ready_tolerance_ns: u32,
}

/// The precision profile's state of one camera.
#[derive(Debug, Clone)]
pub struct Precision {
    params: PrecisionParams,
    camera: CameraControls,
    fit: WallFit,
    timeline: Timeline,
    client: Client,
    server: Server,
    /// The frame index of the last completed frame (−1: none this run).
    last: i64,
}

impl Precision {
    pub fn new(params: PrecisionParams) -> Precision {
        Precision {
            params,
            camera: CameraControls::default(),
            fit: WallFit::new(),
            timeline: Timeline::new(),
            client: Client::new(),
            server: Server::new(),
            last: -1,
        }
    }

    pub(crate) fn set_camera(&mut self, camera: &CameraControls) {
        self.camera = *camera;
    }

    pub fn sync_ready(&self) -> bool {
        self.client.ready() || self.server.ready()
    }

    /// REALTIME (ns) of a MONOTONIC timestamp (ns), under the current fit.
    pub fn wall_clock(&self, mono_ns: i64) -> i64 {
        self.fit.wall(mono_ns)
    }

    /// A new run of the stream: frames, role state and what was learned of
    /// the sensor start over (the mode may have changed); the wall-clock
    /// fit carries on.
    fn reset_run(&mut self) {
        self.timeline.reset();
        self.client.reset();
        self.server.reset();
        self.last = -1;
    }

    pub(crate) fn start(&mut self, clock: &mut dyn ClockSource) {
        self.reset_run();
        self.add_sample(clock);
    }

    pub(crate) fn mode_changed(&mut self, from: Mode, to: Mode) {
        if from != to {
            // The frames go on; the role's state does not.
            self.client.reset();
            self.server.reset();
        }
    }

    /// `queueRequest` in Client mode: never outside the camera's
    /// `SyncAdjustment` limits as they are now (they change with the mode).
    pub(crate) fn take_adjustment(&mut self) -> i32 {
        let limits = self.camera.sync_adjustment_limits_us;
        self.client.take_adjustment(self.last, limits)
    }

    fn add_sample(&mut self, clock: &mut dyn ClockSource) -> Sample {
        let outcome = self.fit.add(clock.sample());
        if let Sample::Step(step) = outcome {
            tracing::info!(step_us = step / 1000, "wall clock stepped");
        }
        outcome
    }

    pub(crate) fn request_completed(
        &mut self,
        ctx: Ctx<'_>,
        sensor_ts: i64,
        clock: &mut dyn ClockSource,
        packets: &mut dyn PacketSource,
        out: &mut FrameOutput,
    ) {
        let sample = self.add_sample(clock);
        let step = match sample {
            Sample::Step(s) => Some(s),
            _ => None,
        };
        out.diag.clock_step_ns = step;
        out.diag.clock_reset = matches!(sample, Sample::Step(_) | Sample::Restarted);
        out.frame_wall_clock_ns = Some(self.fit.wall(sensor_ts));
        let nominal = ctx.frame_duration_us.max(0) as f64 * 1000.0;
        match ctx.mode {
            Mode::Off => {}
            Mode::Server => {
                let obs = self
                    .timeline
                    .observe(sensor_ts, nominal, &mut |_| (0.0, 0.0));
                self.last = obs.index;
                self.server
                    .frame(ctx.params, &self.timeline, &self.fit, obs, step, out);
            }
            Mode::Client => {
                let env = client::Env {
                    params: &self.params,
                    camera: &self.camera,
                    nominal,
                };
                self.last = self.client.frame(
                    env,
                    &mut self.timeline,
                    &self.fit,
                    sensor_ts,
                    step,
                    packets,
                    out,
                );
            }
        }
    }
}
