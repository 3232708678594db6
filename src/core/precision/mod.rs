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
pub mod lattice;
pub mod probe;
mod server;
pub mod timeline;

use super::clock::ClockSource;
use super::compat::Ctx;
use super::controls::{CameraControls, Mode};
use super::layer::{FrameOutput, NoPackets, PacketSource};

use client::Client;
use clock::{Sample, WallFit};
use lattice::Lattice;
use server::{Pin, Server};
use timeline::Timeline;

/// Settings of the precision profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrecisionParams {
    /// A client reports `SyncReady` only while its estimated phase error is
    /// within this, ns (0: one line time of the camera, as measured, and at
    /// least 2 µs).
    pub ready_tolerance_ns: u32,
    /// Schedule mode: frames start at `schedule_origin_ns + n·T` on the
    /// wall clock (T: the frame duration the application fixes). A client
    /// follows this lattice instead of a server (no socket, no packet); a
    /// server pins its frames to it and still sends packets.
    pub schedule: bool,
    /// The schedule's origin, ns since the epoch (0: the epoch itself).
    pub schedule_origin_ns: i64,
    /// A server's pinned start: its ready instant on the wall clock; frame
    /// n after it starts at that instant + n·T.
    pub start_at: Option<StartAt>,
}

/// When a pinned server becomes ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// At this wall-clock instant, ns since the epoch.
    At(i64),
    /// At the first multiple of this many ns (since the epoch) that leaves
    /// the server its `ready_frame` frames, and at least
    /// [`PIN_LEAD_FRAMES`].
    Next(i64),
}

/// The frames a pinned server leaves itself before a `next:N` start: it
/// first aligns its own frames to the lattice (it measures its camera for
/// about 25 frames, then converges in a few more), and is ready only once
/// aligned. With less (`ready_frame = 30`, say) a busy host missed the
/// instant and the server was ready some frames after it.
pub const PIN_LEAD_FRAMES: u32 = 90;

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
    /// A `StartAt::Next` start, once resolved for this run (wall ns).
    start_at: Option<i64>,
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
            start_at: None,
        }
    }

    /// A client that follows a schedule reads no packet and needs no socket.
    pub(crate) fn follows_schedule(&self) -> bool {
        self.params.schedule
    }

    /// A server that pins its own frames (schedule or pinned start) asks for
    /// `SyncAdjustment` too.
    fn pins(&self) -> bool {
        self.params.schedule || self.params.start_at.is_some()
    }

    /// The lattice to align to this frame, and the pinned ready instant,
    /// for frames of `period_ns` (the application's fixed frame duration)
    /// at wall time `wall`.
    fn aim(
        &mut self,
        ready_frame: u32,
        period_ns: i64,
        wall: i64,
    ) -> (Option<Lattice>, Option<i64>) {
        if period_ns <= 0 {
            return (None, None);
        }
        let start = match self.params.start_at {
            Some(StartAt::At(t)) => Some(t),
            Some(StartAt::Next(every)) if every > 0 => {
                Some(*self.start_at.get_or_insert_with(|| {
                    let lead = ready_frame.max(PIN_LEAD_FRAMES);
                    let earliest = i128::from(wall) + i128::from(lead) * i128::from(period_ns);
                    let e = i128::from(every);
                    i64::try_from((earliest + e - 1).div_euclid(e) * e).unwrap_or(i64::MAX)
                }))
            }
            _ => None,
        };
        let origin = if self.params.schedule {
            Some(self.params.schedule_origin_ns)
        } else {
            start
        };
        let lattice = origin.and_then(|o| Lattice::new(o, period_ns));
        // A pinned start off the schedule's lattice moves to its next point.
        let ready = match (start, lattice) {
            (Some(s), Some(l)) => Some(l.at_or_after(s)),
            _ => None,
        };
        (lattice, ready)
    }

    pub(crate) fn set_camera(&mut self, camera: &CameraControls) {
        self.camera = *camera;
    }

    /// Packets the client's server grid held as strays since the client began.
    pub fn strays(&self) -> u64 {
        self.client.strays()
    }

    pub fn sync_ready(&self) -> bool {
        self.client.ready() || self.server.ready()
    }

    /// The sensor's line time, ns, once a client measured it.
    pub fn line_ns(&self) -> Option<f64> {
        self.client.line_ns()
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
        self.start_at = None;
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

    /// `queueRequest`: the `SyncAdjustment` of a client, or of a server
    /// that pins its frames; never outside the camera's limits as they are
    /// now (they change with the mode).
    pub(crate) fn take_adjustment(&mut self, mode: Mode) -> Option<i32> {
        let moves = mode == Mode::Client || (mode == Mode::Server && self.pins());
        moves.then(|| {
            let limits = self.camera.sync_adjustment_limits_us;
            self.client.take_adjustment(self.last, limits)
        })
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
        let period_ns = ctx.frame_duration_us.saturating_mul(1000);
        let wall = self.fit.wall(sensor_ts);
        match ctx.mode {
            Mode::Off => {}
            Mode::Server if self.pins() => {
                // Its own frames follow the lattice, as a client's would ...
                let (lattice, ready_wall) = self.aim(ctx.params.ready_frame, period_ns, wall);
                let env = client::Env {
                    params: &self.params,
                    camera: &self.camera,
                    nominal,
                    lattice,
                    ready_wall,
                };
                let obs = self.client.frame(
                    env,
                    &mut self.timeline,
                    &self.fit,
                    sensor_ts,
                    step,
                    &mut NoPackets,
                    out,
                );
                self.last = obs.index;
                // ... and it tells its clients where they are.
                let pin = lattice.map(|lattice| Pin {
                    ready_wall,
                    locked: self.client.locked(),
                    lattice,
                });
                self.server
                    .frame(ctx.params, &self.timeline, &self.fit, obs, step, pin, out);
            }
            Mode::Server => {
                let obs = self
                    .timeline
                    .observe(sensor_ts, nominal, &mut |_| (0.0, 0.0));
                self.last = obs.index;
                self.server
                    .frame(ctx.params, &self.timeline, &self.fit, obs, step, None, out);
            }
            Mode::Client => {
                let (lattice, ready_wall) = if self.follows_schedule() {
                    self.aim(ctx.params.ready_frame, period_ns, wall)
                } else {
                    (None, None)
                };
                let env = client::Env {
                    params: &self.params,
                    camera: &self.camera,
                    nominal,
                    lattice,
                    ready_wall,
                };
                self.last = self
                    .client
                    .frame(
                        env,
                        &mut self.timeline,
                        &self.fit,
                        sensor_ts,
                        step,
                        packets,
                        out,
                    )
                    .index;
            }
        }
    }
}
