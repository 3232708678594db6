// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision client: a phase-and-frequency loop on whole lines.
//!
//! On every frame (not once per packet, `defects.md` 16):
//!
//! 1. the camera's own timeline is filtered ([`Timeline`]) with every
//!    adjustment it was asked to make as an input;
//! 2. packets update the server's grid ([`Grid`]): its period from the
//!    packets themselves, its phase, restarts and clock steps;
//! 3. the frame that a request handed out now will move is known (the
//!    latency, measured by the [`Probe`]); its start is predicted through
//!    every adjustment still in flight (a Smith predictor) and through the
//!    difference of the two periods; the error there against the nearest
//!    server frame (correct rounding, `defects.md` 20) is corrected in whole
//!    lines, the only thing the sensor can do. There is no dead band: an
//!    error under half a line rounds to no request.
//!
//! Each request stays within the camera's `SyncAdjustment` limits and half a
//! frame; when the mode cannot shorten a frame enough, the client lengthens
//! by the period minus the error instead (`defects.md` 17).
//!
//! `SyncReady` turns true on the server's ready frame and only once the
//! estimated error has stayed within the tolerance (one line by default)
//! for three frames (`defects.md` 18). A server restart re-arms it.
//!
//! The same loop follows a [`Lattice`] on the wall clock instead of a
//! server (schedule mode, and a server pinning its own frames): then it
//! reads no packet, and is ready from the first lattice point it is aligned
//! on (or from the pinned start).

use super::PrecisionParams;
use super::clock::WallFit;
use super::grid::{Grid, Offer, Sample};
use super::lattice::Lattice;
use super::probe::{Learned, Probe};
use super::timeline::{Observed, Timeline};
use crate::core::controls::CameraControls;
use crate::core::layer::{FrameOutput, PacketSource};

/// Timeline updates before the probe starts (the period must be known) ...
const WARM_UP: u64 = 8;
/// ... to this (ns; the probe measures single frame intervals against it),
/// or `4 × WARM_UP` updates at most.
const WARM_PERIOD_SIGMA_NS: f64 = 1_000.0;
/// Frames to wait before probing again after a probe that saw nothing.
const PROBE_RETRY: i64 = 60;
/// Consecutive frames within the tolerance that count as locked.
const LOCK_FRAMES: u32 = 3;
/// Requests remembered until they have landed.
const INFLIGHT: usize = 32;
/// Adjustments of more lines than this are acquisition moves: what the
/// sensor makes of them is uncertain (rounding, limits) and the timeline
/// re-anchors on the next frames.
const SMALL_LINES: f64 = 4.0;
/// The smallest and largest default ready tolerance, ns.
const MIN_TOLERANCE_NS: f64 = 2_000.0;
const MAX_TOLERANCE_NS: f64 = 100_000.0;
/// Line time assumed when the probe could not measure one, ns.
const DEFAULT_LINE_NS: f64 = 1_000.0;
/// Latency assumed when the probe could not measure one, frames.
const DEFAULT_DELAY: i64 = 4;

/// What the client needs to know of the layer.
#[derive(Clone, Copy)]
pub(super) struct Env<'a> {
    pub params: &'a PrecisionParams,
    pub camera: &'a CameraControls,
    /// `FrameDurationLimits`, ns (0: unknown).
    pub nominal: f64,
    /// Align to this lattice instead of a server's packets.
    pub lattice: Option<Lattice>,
    /// The agreed ready instant on the wall clock, if pinned.
    pub ready_wall: Option<i64>,
}

/// What the frames are aligned to on one frame: the server's grid (the
/// client's), or a lattice on the wall clock through the fit.
#[derive(Clone, Copy)]
struct Aim<'a> {
    lattice: Option<Lattice>,
    fit: &'a WallFit,
}

/// The requests landing on one frame, not yet seen in the timestamps. The
/// slots are indexed by that frame modulo [`INFLIGHT`] (requests land within
/// a few frames of the newest one, far fewer than `INFLIGHT`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Inflight {
    /// The frame whose length they change.
    lands: i64,
    /// Expected shortening, ns (negative: lengthening).
    shorten: f64,
    /// Variance of what the sensor will really apply, ns².
    var: f64,
    /// Whole lines requested (for learning the line time).
    lines: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Probing {
    /// Waiting for the timeline to know the period.
    Waiting,
    /// The ladder is out (in `Client::probe`).
    Running,
    /// Nothing seen: try again from this frame.
    Retry(i64),
    Done,
}

/// A request computed on the last frame, handed out by the next queue.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    us: i32,
    lines: f64,
    shorten: f64,
    var: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Client {
    grid: Grid,
    probing: Probing,
    /// The probe of this start (kept in place: nothing allocates).
    ladder: Probe,
    learned: Option<Learned>,
    /// The line time in use, ns (refined from every landed request).
    line_ns: f64,
    delay: i64,
    /// Learning the line time from landed requests: Σ lines·applied, Σ lines².
    lms: (f64, f64),
    inflight: [Inflight; INFLIGHT],
    pending: Option<Pending>,
    seen: bool,
    ready: bool,
    locked_run: u32,
    /// The server's ready instant was re-armed by a restart: report ready
    /// again only from the new one.
    rearmed: bool,
}

impl Client {
    pub(super) fn new() -> Client {
        Client {
            grid: Grid::new(),
            probing: Probing::Waiting,
            ladder: Probe::new(0.0, 0.0, (0, 0)),
            learned: None,
            line_ns: DEFAULT_LINE_NS,
            delay: DEFAULT_DELAY,
            lms: (0.0, 0.0),
            inflight: [Inflight::default(); INFLIGHT],
            pending: None,
            seen: false,
            ready: false,
            locked_run: 0,
            rearmed: false,
        }
    }

    /// The line time in use, ns, once the probe measured one.
    pub(super) fn line_ns(&self) -> Option<f64> {
        self.learned.as_ref().map(|_| self.line_ns)
    }

    pub(super) fn reset(&mut self) {
        *self = Client::new();
    }

    pub(super) fn ready(&self) -> bool {
        self.ready
    }

    /// The last frame counted as locked (for a server pinning its frames).
    pub(super) fn locked(&self) -> bool {
        self.locked_run >= LOCK_FRAMES
    }

    /// Something to align to.
    fn aim_known(&self, aim: Aim<'_>) -> bool {
        aim.lattice.is_some() || (!self.grid.is_empty() && self.grid.period() > 0.0)
    }

    /// A MONOTONIC time minus the nearest target frame, ns.
    fn aim_error(&self, aim: Aim<'_>, mono: i64) -> f64 {
        match aim.lattice {
            Some(l) => l.error(aim.fit.wall(mono)) as f64 / aim.fit.rate(),
            None => self.grid.error(mono),
        }
    }

    /// The variance of what [`Client::aim_error`] does not know of the
    /// target at `mono`, ns²: the server grid's prediction there (a
    /// lattice is given).
    fn aim_var(&self, aim: Aim<'_>, mono: i64) -> f64 {
        match aim.lattice {
            Some(_) => 0.0,
            None => self.grid.sigma(mono).powi(2),
        }
    }

    /// The target's frame period, MONOTONIC ns.
    fn aim_period(&self, aim: Aim<'_>) -> f64 {
        match aim.lattice {
            Some(l) => l.period_ns as f64 / aim.fit.rate(),
            None => self.grid.period(),
        }
    }

    /// The target's period is measured (a lattice's is given; a server's
    /// from two packets: one packet's rounded frame_duration can drift a
    /// client by 15 µs over 30 frames).
    fn aim_measured(&self, aim: Aim<'_>) -> bool {
        aim.lattice.is_some() || self.grid.len() >= 2
    }

    pub(super) fn strays(&self) -> u64 {
        self.grid.strays()
    }

    /// The request for the queue that follows frame `last`: the pending
    /// correction (once) or 0.
    pub(super) fn take_adjustment(&mut self, last: i64, limits: Option<[i32; 2]>) -> i32 {
        let Some(mut p) = self.pending.take() else {
            return 0;
        };
        if let Some([lo, hi]) = limits {
            let bounded = p.us.clamp(lo.min(hi), lo.max(hi));
            if bounded != p.us {
                // The limits changed since this was planned: scale it down.
                let f = if p.us != 0 {
                    f64::from(bounded) / f64::from(p.us)
                } else {
                    0.0
                };
                p = Pending {
                    us: bounded,
                    lines: (p.lines * f).trunc(),
                    shorten: p.shorten * f,
                    var: p.var,
                };
            }
        }
        if p.us != 0 && p.shorten != 0.0 {
            // The probe's requests are not planned through the timeline.
            let lands = last.saturating_add(self.delay);
            let slot = &mut self.inflight[Self::slot(lands)];
            if slot.lands != lands {
                *slot = Inflight {
                    lands,
                    ..Inflight::default()
                };
            }
            slot.shorten += p.shorten;
            slot.var += p.var;
            slot.lines += p.lines;
        }
        p.us
    }

    fn slot(frame: i64) -> usize {
        frame.rem_euclid(INFLIGHT as i64) as usize
    }

    /// The requests landing on frame `i`, if any.
    fn landed(&self, i: i64) -> Option<&Inflight> {
        let s = &self.inflight[Self::slot(i)];
        (s.lands == i && s.shorten != 0.0).then_some(s)
    }

    /// Expected shortening of frame `i` and its variance.
    fn landing(&self, i: i64) -> (f64, f64) {
        self.landed(i).map_or((0.0, 0.0), |s| (s.shorten, s.var))
    }

    /// How close counts as aligned: the configured tolerance, or one line
    /// (at least 2 µs: timestamps have 1 µs resolution).
    fn tolerance(&self, env: Env<'_>) -> f64 {
        if env.params.ready_tolerance_ns > 0 {
            f64::from(env.params.ready_tolerance_ns)
        } else {
            self.line_ns.clamp(MIN_TOLERANCE_NS, MAX_TOLERANCE_NS)
        }
    }

    /// One completed frame in Client mode (or a server pinning its frames
    /// to a lattice). Returns what the timeline made of it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn frame(
        &mut self,
        env: Env<'_>,
        timeline: &mut Timeline,
        fit: &WallFit,
        ts: i64,
        step: Option<i64>,
        packets: &mut dyn PacketSource,
        out: &mut FrameOutput,
    ) -> Observed {
        let aim = Aim {
            lattice: env.lattice,
            fit,
        };
        // 1. The camera's own timeline.
        let probing = self.probing == Probing::Running;
        let obs = {
            let this = &*self;
            let mut adj = |i: i64| this.landing(i);
            if probing {
                timeline.coast(ts, &mut adj)
            } else {
                timeline.observe(ts, env.nominal, &mut adj)
            }
        };
        let k = obs.index;
        self.learn_line(k, obs.innovation, obs.broke);

        // 2. The server's grid, on our MONOTONIC clock (a lattice trusts no
        // packet: they are not even read).
        if let Some(step) = step {
            self.grid.expect_step(step, ts);
            if env.lattice.is_some() {
                tracing::warn!(
                    step_us = step / 1000,
                    "the wall clock stepped: re-aligning to the schedule on the new clock"
                );
            }
        }
        while env.lattice.is_none()
            && let Some(p) = packets.next_packet()
        {
            out.diag.packets += 1;
            if p.validate().is_err() {
                continue;
            }
            self.seen = true;
            let frame_mono = fit.mono(
                i64::try_from(p.frame_ts_us)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
            );
            match self.grid.offer(&Sample::new(&p, frame_mono)) {
                Offer::First => tracing::info!(
                    frame_duration_us = p.frame_duration_us,
                    "first packet from the server"
                ),
                Offer::Jump { new_run, moved_ns } => {
                    out.diag.server_jump = true;
                    if new_run {
                        // Said (rate-limited) by the instance, from `server_jump`.
                        tracing::debug!(
                            moved_us = moved_ns / 1000.0,
                            "the server restarted: re-acquiring, SyncReady re-armed for its new ready time"
                        );
                        self.ready = false;
                        self.rearmed = true;
                    } else {
                        tracing::debug!(
                            moved_us = moved_ns / 1000.0,
                            "the server's frames moved against our clock (a wall-clock step on one side): re-acquiring"
                        );
                    }
                    self.locked_run = 0;
                }
                Offer::Held | Offer::Fitted(_) => {}
            }
        }

        // 3. Learn how the camera adjusts, once per start.
        self.probe(env, timeline, k, ts);

        // 4. Where this frame is against the server, and the next request.
        let locked = self.control(env, aim, timeline, k, out);
        self.locked_run = if locked { self.locked_run + 1 } else { 0 };
        out.diag.locked = locked;

        // 5. Ready.
        let (sof, frac) = timeline.sof();
        let wall = fit.wall(sof.saturating_add(frac.round() as i64));
        // The agreed instant: pinned, the server's, or (following a lattice)
        // the first lattice point aligned on.
        let ready_wall = match (env.ready_wall, env.lattice) {
            (Some(w), _) => Some(w),
            (None, Some(_)) => Some(i64::MIN),
            (None, None) => (self.seen && !self.grid.is_empty()).then(|| self.grid.ready_ns()),
        };
        if let Some(ready_ns) = ready_wall {
            if !self.ready
                && self.locked_run >= LOCK_FRAMES
                && wall as f64 + self.aim_period(aim) / 2.0 > ready_ns as f64
            {
                self.ready = true;
                out.diag.sync_achieved = true;
                tracing::info!(
                    frame = k,
                    error_us = out.diag.phase_error_ns.unwrap_or(0) as f64 / 1000.0,
                    rearmed = self.rearmed,
                    "Sync achieved (client)"
                );
            }
            if ready_ns != i64::MIN {
                out.sync_timer_us = Some(ready_ns.saturating_sub(wall) / 1000);
            }
        }
        out.sync_ready = Some(self.ready);
        out.diag.processed = true;
        out.diag.dropped = u32::try_from(obs.dropped).unwrap_or(u32::MAX);
        out.diag.t_us = u64::try_from(wall / 1000).unwrap_or(0);
        obs
    }

    /// Refine the line time from small whole-line requests that landed on
    /// the previous frame: what the sensor really applied is what was
    /// expected minus the innovation.
    fn learn_line(&mut self, k: i64, innovation: f64, broke: bool) {
        let Some(l) = self.learned else {
            return;
        };
        if broke {
            return;
        }
        let (lines, expected) = self
            .landed(k.saturating_sub(1))
            .map_or((0.0, 0.0), |s| (s.lines, s.shorten));
        if lines == 0.0 || lines.abs() > SMALL_LINES {
            return;
        }
        let applied = expected - innovation;
        self.lms.0 += lines * applied;
        self.lms.1 += lines * lines;
        // The probe's estimate counts as 20 lines of evidence; the requests
        // that land may prove it wrong by up to 40 %.
        let prior = 20.0;
        let line = (prior * l.line_ns + self.lms.0) / (prior + self.lms.1);
        if line.is_finite() {
            self.line_ns = line.clamp(0.7 * l.line_ns, 1.4 * l.line_ns);
        }
    }

    fn probe(&mut self, env: Env<'_>, timeline: &mut Timeline, k: i64, ts: i64) {
        match &mut self.probing {
            Probing::Waiting
                if timeline.updates() >= WARM_UP
                    && (timeline.period_sigma() <= WARM_PERIOD_SIGMA_NS
                        || timeline.updates() >= 4 * WARM_UP) =>
            {
                let period = timeline.period();
                let eighth = (period / 8000.0) as i32;
                let (lo, hi) = env
                    .camera
                    .sync_adjustment_limits_us
                    .map_or((-eighth, eighth), |[lo, hi]| (lo.min(hi), lo.max(hi)));
                let limits = (lo.saturating_neg().min(eighth), hi.min(eighth));
                self.ladder = Probe::new(period, timeline.noise(), limits);
                self.ladder.observe(k, ts);
                self.probing = Probing::Running;
            }
            Probing::Retry(at) if k >= *at => self.probing = Probing::Waiting,
            Probing::Running => {
                self.ladder.observe(k, ts);
                if let Some(result) = self.ladder.finish(k) {
                    match result {
                        Ok(l) => {
                            tracing::info!(
                                delay_frames = l.delay,
                                line_us = l.line_ns / 1000.0,
                                max_shorten_us = l.max_shorten_ns.map(|s| s / 1000.0),
                                gain = l.gain,
                                passes = l.passes,
                                "learned how the camera adjusts its frames"
                            );
                            self.learned = Some(l);
                            self.line_ns = l.line_ns;
                            self.delay = l.delay;
                            self.probing = Probing::Done;
                        }
                        Err(e) => {
                            tracing::warn!(
                                "SyncAdjustment had no visible effect on the frame timing ({e:?}); probing again in {PROBE_RETRY} frames"
                            );
                            self.probing = Probing::Retry(k.saturating_add(PROBE_RETRY));
                        }
                    }
                    // The ladder may not have returned the frames exactly.
                    timeline.unsure(self.line_ns.max(timeline.noise()) * 4.0);
                }
            }
            _ => {}
        }
    }

    /// Plan the next request; true if this frame counts as locked.
    fn control(
        &mut self,
        env: Env<'_>,
        aim: Aim<'_>,
        timeline: &Timeline,
        k: i64,
        out: &mut FrameOutput,
    ) -> bool {
        self.pending = None;
        if self.probing == Probing::Running {
            if let Some(us) = self.ladder.next_request(k) {
                self.pending = Some(Pending {
                    us,
                    lines: 0.0,
                    shorten: 0.0,
                    var: 0.0,
                });
            }
            return false;
        }
        // Nothing moves before the camera was measured (a correction in
        // flight would spoil the probe), unless the probe saw nothing.
        if matches!(self.probing, Probing::Waiting) && self.learned.is_none() {
            return false;
        }
        if !self.aim_known(aim) || timeline.period() <= 0.0 {
            return false;
        }
        let tol = self.tolerance(env);
        // This frame's error.
        let (sof, frac) = timeline.sof();
        let e_now = self.aim_error(aim, sof.saturating_add(frac.round() as i64));
        out.diag.phase_error_ns = Some(e_now.round() as i64);
        // A request handed out now changes the length of frame k + delay:
        // the first start it moves is that of frame k + delay + 1.
        let target = k.saturating_add(self.delay + 1);
        let (tsof, tfrac) = timeline.sof_at(target);
        let in_flight: f64 = (k..target).map(|i| self.landing(i).0).sum();
        let mono = tsof.saturating_add((tfrac - in_flight).round() as i64);
        let e = self.aim_error(aim, mono);
        let shorten = self.plan(env, timeline.period(), self.aim_period(aim), e);
        let line = self.line_ns.max(1.0);
        let mut lines = (shorten / line).round();
        let us = (lines * line / 1000.0).round();
        let us = self.clamp_us(env, timeline.period(), us);
        if us.abs() < (lines * line / 1000.0).abs() - 0.5 {
            lines = (us * 1000.0 / line).trunc();
        }
        let planned = if lines == 0.0 { 0.0 } else { lines * line };
        let var = if lines.abs() > SMALL_LINES {
            // Acquisition: the sensor's rounding and limits decide.
            (line / 2.0).powi(2) + (0.01 * planned).powi(2)
        } else {
            (0.02 * planned).powi(2)
        };
        if us != 0.0 {
            self.pending = Some(Pending {
                us: us as i32,
                lines,
                shorten: planned,
                var,
            });
            out.diag.correction_us = Some(us as i32);
        }
        // Locked: this frame and every frame the requests in flight (and
        // this one) will move within the tolerance, and the target's period
        // measured.
        let request = (us != 0.0).then_some((planned, var));
        self.aim_measured(aim)
            && matches!(self.probing, Probing::Done)
            && self.within(aim, timeline, k, e_now, request, tol)
    }

    /// This frame's error `e_now` and the error of every frame the requests
    /// in flight and `request` (shortening, variance) will move, each by a
    /// margin of two standard deviations of what is not known of it (the
    /// timeline's phase, what the sensor makes of the requests landing
    /// before it, the server grid's phase there), within `tol`. (A frame
    /// moved by a correction in flight counts as much as this one:
    /// `SyncReady` stays on once it is given.)
    fn within(
        &self,
        aim: Aim<'_>,
        timeline: &Timeline,
        k: i64,
        e_now: f64,
        request: Option<(f64, f64)>,
        tol: f64,
    ) -> bool {
        let phase_var = timeline.phase_sigma().powi(2);
        let ok = |e: f64, var: f64| e.abs() + 2.0 * (phase_var + var).sqrt() <= tol;
        let (sof, frac) = timeline.sof();
        let now = sof.saturating_add(frac.round() as i64);
        if !ok(e_now, self.aim_var(aim, now)) {
            return false;
        }
        let (mut shift, mut var) = (0.0, 0.0);
        let last = k.saturating_add(self.delay);
        for i in k..=last {
            let (a, v) = if i == last {
                request.unwrap_or((0.0, 0.0))
            } else {
                self.landing(i)
            };
            if a == 0.0 && v == 0.0 {
                continue;
            }
            shift += a;
            var += v;
            // Frame i is shortened: frame i + 1 starts that much earlier.
            let (sof, frac) = timeline.sof_at(i.saturating_add(1));
            let mono = sof.saturating_add((frac - shift).round() as i64);
            if !ok(self.aim_error(aim, mono), var + self.aim_var(aim, mono)) {
                return false;
            }
        }
        true
    }

    /// The shortening (ns, negative: lengthening) to aim at for an error
    /// of `e` ns (positive: this camera is late) against frames of `server`
    /// ns; `period` is this camera's.
    fn plan(&self, env: Env<'_>, period: f64, server: f64, e: f64) -> f64 {
        let (max_short, max_long) = self.reach(env, period);
        if e >= 0.0 {
            if e <= max_short {
                return e;
            }
            // Shortening all the way takes this many frames; lengthening by
            // the rest of the period that many.
            let by_short = (e / max_short.max(1.0)).ceil();
            let by_long = ((server - e) / max_long.max(1.0)).ceil();
            // Going the long way round moves the frames by most of a
            // period: only when shortening would take much longer.
            if by_short > 2.0 * by_long + 2.0 {
                -(server - e).min(max_long)
            } else {
                max_short
            }
        } else {
            if -e <= max_long {
                return e;
            }
            let by_long = (-e / max_long.max(1.0)).ceil();
            let by_short = ((server + e) / max_short.max(1.0)).ceil();
            if by_long > 2.0 * by_short + 2.0 {
                (server + e).min(max_short)
            } else {
                -max_long
            }
        }
    }

    /// How far one frame can be shortened and lengthened, ns.
    fn reach(&self, env: Env<'_>, period: f64) -> (f64, f64) {
        let half = period / 2.0;
        let (lo, hi) = env
            .camera
            .sync_adjustment_limits_us
            .map_or((-half, half), |[lo, hi]| {
                (
                    f64::from(lo.min(hi)) * 1000.0,
                    f64::from(lo.max(hi)) * 1000.0,
                )
            });
        let short = hi.max(0.0).min(half);
        let long = (-lo).max(0.0).min(half);
        // The mode's shortest frame, as the camera says it ...
        let said = match env.camera.frame_duration_limits_us {
            Some([min_us, _]) if min_us > 0 => (period - min_us as f64 * 1000.0).max(0.0),
            _ => f64::INFINITY,
        };
        // ... unless the probe saw otherwise: what the sensor did wins.
        let cap = match self.learned {
            Some(Learned {
                max_shorten_ns: Some(cap),
                ..
            }) => cap,
            Some(l) => said.max(l.shortened_ns),
            None => said,
        };
        (short.min(cap), long)
    }

    /// Bound a request (µs) by the camera's limits and half a frame.
    fn clamp_us(&self, env: Env<'_>, period: f64, us: f64) -> f64 {
        let half = (period / 2000.0).floor();
        let (lo, hi) = env
            .camera
            .sync_adjustment_limits_us
            .map_or((-half, half), |[lo, hi]| {
                (f64::from(lo.min(hi)), f64::from(lo.max(hi)))
            });
        let (lo, hi) = (lo.max(-half), hi.min(half));
        if lo.is_nan() || hi.is_nan() || lo > hi || !us.is_finite() {
            return 0.0;
        }
        us.clamp(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::super::probe;

    #[test]
    fn lines_round_half_away() {
        assert_eq!(probe::lines(9_450.0, 18_900.0), 1.0);
        assert_eq!(probe::lines(-9_450.0, 18_900.0), -1.0);
        assert_eq!(probe::lines(9_449.0, 18_900.0), 0.0);
    }
}
