// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision profile's wall-clock fit: CLOCK_MONOTONIC → CLOCK_REALTIME.
//!
//! V4L2 stamps frames with CLOCK_MONOTONIC (`spec/defects.md` 12), so that is
//! the input clock here. The model is `wall − mono = offset + drift · t`,
//! tracked by a two-state Kalman filter (offset, drift) over the clock
//! samples. On Linux the two clocks tick together except when REALTIME is
//! stepped, but the drift state lets the fit follow a time daemon that
//! slews one against the other, including a slew that changes direction,
//! without mistaking it for a step. The parameters are deliberate and in
//! ns (`docs` of each constant below):
//!
//! - **sample noise**: the REALTIME read lies somewhere between the two
//!   MONOTONIC reads around it, so a sample's variance is
//!   `(0.5 µs)² + span²/12` (`span` = the time between those two reads): a
//!   read across a preemption counts for little;
//! - **drift wander**: the drift may change by 10 ppm per √s (a random
//!   walk): a time daemon's slew, which changes rate gradually, is followed
//!   closely; even one that turns from +100 to −100 ppm at once costs under
//!   8 µs; a steady drift is learned to a fraction of a ppm, and read noise
//!   is averaged over about a second (a schedule on the wall clock needs
//!   that: its error is the fit's). It is bounded by ±1000 ppm (the kernel
//!   slews at most 500 ppm);
//! - **steps**: a sample more than 100 µs (and 8 σ) from the prediction is
//!   held back; if the next one agrees with it (within 50 µs), REALTIME was
//!   stepped: the offset moves by the step, the drift stays, and the step is
//!   reported ([`Sample::Step`]); a lone outlier is dropped. Four rejected
//!   samples in a row restart the fit from the newest one.
//!
//! Output is exact to the ns (integer origins plus a small f64 part), not
//! quantised to 256 ns as the reference's is (`defects.md` 14).

use crate::core::clock::ClockSample;

/// Variance of a sample with simultaneous reads, ns² (0.5 µs: REALTIME
/// and MONOTONIC are read a few hundred ns apart at best).
const READ_FLOOR_VAR: f64 = 500.0 * 500.0;
/// Random walk of the drift, per ns of MONOTONIC: (10 ppm)² per second.
const DRIFT_WANDER: f64 = 10e-6 * 10e-6 / 1e9;
/// Initial uncertainty of the drift (nothing known: ±1000 ppm).
const DRIFT_PRIOR_VAR: f64 = 1e-3 * 1e-3;
/// Largest drift believed.
const MAX_DRIFT: f64 = 1e-3;
/// A residual beyond this (and beyond 8 σ) is an outlier or a step, ns.
pub const STEP_THRESHOLD_NS: f64 = 100_000.0;
/// Two outliers within this of each other confirm a step, ns.
const STEP_AGREE_NS: f64 = 50_000.0;
/// Consecutive rejected samples that restart the fit.
const MAX_REJECTED: u32 = 4;
/// Rebase the origins when samples are this far from them, ns.
const REBASE_NS: f64 = 1e12;

/// What one sample did to the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    /// Added to the fit.
    Accepted,
    /// Held back or dropped (too far from the fit, or unusable).
    Rejected,
    /// REALTIME was stepped by this much (ns); the fit moved with it.
    Step(i64),
    /// The fit was restarted from this sample.
    Restarted,
}

/// The fitted MONOTONIC → REALTIME model.
#[derive(Debug, Clone, PartialEq)]
pub struct WallFit {
    /// MONOTONIC origin, ns: the state is at `x0 + x`.
    x0: i64,
    /// Origin of `wall − mono`, ns.
    y0: i64,
    /// Where the state is, ns after `x0`.
    x: f64,
    /// `wall − mono − y0` at `x`, ns.
    offset: f64,
    /// d(wall − mono)/d(mono).
    drift: f64,
    p: [[f64; 2]; 2],
    samples: u64,
    /// A held-back outlier's residual.
    pending: Option<f64>,
    rejected: u32,
    steps: u64,
}

impl Default for WallFit {
    fn default() -> Self {
        Self::new()
    }
}

impl WallFit {
    pub fn new() -> WallFit {
        WallFit {
            x0: 0,
            y0: 0,
            x: 0.0,
            offset: 0.0,
            drift: 0.0,
            p: [[0.0; 2]; 2],
            samples: 0,
            pending: None,
            rejected: 0,
            steps: 0,
        }
    }

    /// Samples accepted since the fit (re)started.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Steps detected so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// d(wall)/d(mono) − 1, as fitted.
    pub fn drift(&self) -> f64 {
        self.drift.clamp(-MAX_DRIFT, MAX_DRIFT)
    }

    /// `wall − mono − y0` predicted at `x` (ns after the origin).
    fn predict(&self, x: f64) -> f64 {
        self.offset + self.drift() * (x - self.x)
    }

    fn restart(&mut self, mono: i64, y: i64, var: f64) {
        let steps = self.steps;
        *self = WallFit::new();
        self.steps = steps;
        self.x0 = mono;
        self.y0 = y;
        self.p = [[var, 0.0], [0.0, DRIFT_PRIOR_VAR]];
        self.samples = 1;
    }

    /// Add one reading of the clocks (MONOTONIC before, REALTIME, MONOTONIC
    /// after, as [`ClockSample`] carries them).
    pub fn add(&mut self, s: ClockSample) -> Sample {
        let (Ok(before), Ok(after), Ok(wall)) = (
            i64::try_from(s.boot_before_ns),
            i64::try_from(s.boot_after_ns),
            i64::try_from(s.wall_ns),
        ) else {
            return Sample::Rejected;
        };
        if after < before {
            return Sample::Rejected;
        }
        let span = (after - before) as f64;
        let mono = before + (after - before) / 2;
        let y = wall.saturating_sub(mono);
        let r = READ_FLOOR_VAR + span * span / 12.0;
        if self.samples == 0 {
            self.restart(mono, y, r);
            return Sample::Restarted;
        }
        let x = mono.saturating_sub(self.x0) as f64;
        let dt = x - self.x;
        if !dt.is_finite() || dt < 0.0 {
            // Out of order or absurd: not a sample of this clock pair.
            return Sample::Rejected;
        }
        // Predict to the sample.
        let [[p00, p01], [p10, p11]] = self.p;
        let q = DRIFT_WANDER * dt;
        let p = [
            [
                p00 + dt * (p01 + p10) + dt * dt * p11 + q * dt * dt / 3.0,
                p01 + dt * p11 + q * dt / 2.0,
            ],
            [p10 + dt * p11 + q * dt / 2.0, p11 + q],
        ];
        let predicted = self.predict(x);
        let yrel = y.saturating_sub(self.y0) as f64;
        let nu = yrel - predicted;
        let sv = p[0][0] + r;
        let mut outcome = Sample::Accepted;
        let mut offset = predicted;
        if nu.abs() > STEP_THRESHOLD_NS && nu.abs() > 8.0 * sv.sqrt() {
            match self.pending {
                Some(r1) if (nu - r1).abs() < STEP_AGREE_NS => {
                    // Confirmed: move the offset by the step, keep the drift.
                    offset += nu;
                    self.pending = None;
                    self.rejected = 0;
                    self.steps += 1;
                    outcome = Sample::Step(nu.round() as i64);
                }
                _ => {
                    self.pending = Some(nu);
                    self.rejected += 1;
                    if self.rejected >= MAX_REJECTED {
                        self.restart(mono, y, r);
                        return Sample::Restarted;
                    }
                    return Sample::Rejected;
                }
            }
            // The step's sample itself is now on the model.
            self.x = x;
            self.offset = offset;
            self.p = p;
        } else {
            self.pending = None;
            self.rejected = 0;
            let k0 = p[0][0] / sv;
            let k1 = p[1][0] / sv;
            self.x = x;
            self.offset = offset + k0 * nu;
            self.drift = (self.drift + k1 * nu).clamp(-MAX_DRIFT, MAX_DRIFT);
            self.p = [
                [(1.0 - k0) * p[0][0], (1.0 - k0) * p[0][1]],
                [p[1][0] - k1 * p[0][0], p[1][1] - k1 * p[0][1]],
            ];
        }
        self.samples += 1;
        self.rebase();
        outcome
    }

    /// Keep the origins near the state, so the f64 parts stay small.
    fn rebase(&mut self) {
        if self.x.abs() > REBASE_NS {
            let shift = self.x.floor();
            self.x0 = self.x0.saturating_add(shift as i64);
            self.x -= shift;
        }
        if self.offset.abs() > REBASE_NS {
            let shift = self.offset.floor();
            self.y0 = self.y0.saturating_add(shift as i64);
            self.offset -= shift;
        }
    }

    /// REALTIME (ns) at MONOTONIC `mono_ns`, to the ns. Before any sample the
    /// input is returned unchanged.
    pub fn wall(&self, mono_ns: i64) -> i64 {
        if self.samples == 0 {
            return mono_ns;
        }
        let x = mono_ns.saturating_sub(self.x0) as f64;
        mono_ns
            .saturating_add(self.y0)
            .saturating_add(self.predict(x).round() as i64)
    }

    /// MONOTONIC (ns) at REALTIME `wall_ns`: the inverse of [`WallFit::wall`].
    /// Before any sample the input is returned unchanged.
    pub fn mono(&self, wall_ns: i64) -> i64 {
        if self.samples == 0 {
            return wall_ns;
        }
        // wall = x0 + x + y0 + offset + b (x − xs), x = mono − x0.
        let b = self.drift();
        let d = wall_ns.saturating_sub(self.x0).saturating_sub(self.y0) as f64;
        let x = (d - self.offset + b * self.x) / (1.0 + b);
        self.x0.saturating_add(x.round() as i64)
    }

    /// d(wall)/d(mono): the factor from MONOTONIC ns to REALTIME ns.
    pub fn rate(&self) -> f64 {
        1.0 + self.drift()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONO0: u64 = 5_000_000_000_000;
    const WALL0: u64 = 1_767_225_600_000_000_000;

    fn sample(mono: u64, wall: u64) -> ClockSample {
        ClockSample {
            boot_before_ns: mono,
            wall_ns: wall,
            boot_after_ns: mono,
        }
    }

    #[test]
    fn exact_to_the_ns_with_identical_rates() {
        let mut f = WallFit::new();
        for i in 0..50u64 {
            let m = MONO0 + i * 33_333_333;
            f.add(sample(m, WALL0 + i * 33_333_333 + 7));
        }
        let m = MONO0 + 40 * 33_333_333 + 12_345;
        assert_eq!(
            f.wall(m as i64),
            (WALL0 + 40 * 33_333_333 + 12_345 + 7) as i64
        );
    }

    #[test]
    fn follows_a_slewing_wall_clock() {
        // REALTIME runs 50 ppm fast against MONOTONIC.
        let mut f = WallFit::new();
        let mut worst: f64 = 0.0;
        for i in 0..600u64 {
            let dm = i * 33_333_333;
            let m = MONO0 + dm;
            let w = WALL0 + dm + dm / 20_000;
            assert!(!matches!(f.add(sample(m, w)), Sample::Step(_)));
            if i > 100 {
                // The frame started 10 ms before the sample.
                let sof = m - 10_000_000;
                let truth = WALL0 + (sof - MONO0) + (sof - MONO0) / 20_000;
                worst = worst.max((f.wall(sof as i64) - truth as i64).abs() as f64);
            }
        }
        assert!(worst < 50.0, "worst error {worst} ns");
        assert!((f.drift() - 50e-6).abs() < 1e-7, "{}", f.drift());
    }

    #[test]
    fn mono_inverts_wall() {
        let mut f = WallFit::new();
        for i in 0..300u64 {
            let dm = i * 33_333_333;
            f.add(sample(MONO0 + dm, WALL0 + dm + dm / 20_000 + 77));
        }
        for dm in [0u64, 5_000_000_000, 9_876_543_210] {
            let m = (MONO0 + dm) as i64;
            assert!((f.mono(f.wall(m)) - m).abs() <= 1, "{dm}");
        }
    }

    #[test]
    fn a_slew_that_turns_is_followed_and_never_taken_for_a_step() {
        // ±100 ppm, turning every 5 s (a triangle of 500 µs).
        let mut f = WallFit::new();
        let period = 10_000_000_000i64;
        let tri = |t: i64| {
            let x = t.rem_euclid(period);
            (period / 2 - (x - period / 2).abs()) / 10_000
        };
        let mut worst = 0;
        for i in 0..3000i64 {
            let t = i * 33_333_333;
            let (m, w) = (MONO0 as i64 + t, WALL0 as i64 + t + tri(t));
            assert!(
                !matches!(f.add(sample(m as u64, w as u64)), Sample::Step(_)),
                "{i}"
            );
            if i > 300 {
                let sof = t - 10_000_000;
                let truth = WALL0 as i64 + sof + tri(sof);
                worst = worst.max((f.wall(MONO0 as i64 + sof) - truth).abs());
            }
        }
        assert!(worst < 8_000, "worst {worst} ns");
        assert_eq!(f.steps(), 0);
    }

    #[test]
    fn a_step_is_confirmed_by_the_second_sample_and_reported() {
        let mut f = WallFit::new();
        for i in 0..100u64 {
            f.add(sample(MONO0 + i * 33_000_000, WALL0 + i * 33_000_000));
        }
        let step = 5_000_000;
        let at = |i: u64| (MONO0 + i * 33_000_000, WALL0 + i * 33_000_000 + step);
        let (m, w) = at(100);
        assert_eq!(f.add(sample(m, w)), Sample::Rejected, "held back");
        // The frame before the confirmation keeps the old scale.
        assert_eq!(f.wall(m as i64), (m - MONO0 + WALL0) as i64);
        let (m, w) = at(101);
        assert_eq!(f.add(sample(m, w)), Sample::Step(step as i64));
        assert_eq!(f.wall(m as i64), w as i64);
        assert_eq!(f.steps(), 1);
    }

    #[test]
    fn a_lone_outlier_is_dropped() {
        let mut f = WallFit::new();
        for i in 0..100u64 {
            f.add(sample(MONO0 + i * 33_000_000, WALL0 + i * 33_000_000));
        }
        assert_eq!(
            f.add(sample(
                MONO0 + 100 * 33_000_000,
                WALL0 + 100 * 33_000_000 + 900_000
            )),
            Sample::Rejected
        );
        assert_eq!(
            f.add(sample(MONO0 + 101 * 33_000_000, WALL0 + 101 * 33_000_000)),
            Sample::Accepted
        );
        assert_eq!(f.steps(), 0);
        let m = MONO0 + 102 * 33_000_000;
        assert_eq!(f.wall(m as i64), (m - MONO0 + WALL0) as i64);
    }

    #[test]
    fn wide_reads_weigh_less() {
        let mut f = WallFit::new();
        for i in 0..200u64 {
            let m = MONO0 + i * 33_000_000;
            // Every other read is preempted for 40 µs after REALTIME was
            // read: its midpoint is 20 µs late.
            let (b, a) = if i % 2 == 0 { (m, m) } else { (m, m + 40_000) };
            f.add(ClockSample {
                boot_before_ns: b,
                wall_ns: WALL0 + (m - MONO0),
                boot_after_ns: a,
            });
        }
        let m = MONO0 + 199 * 33_000_000;
        let err = f.wall(m as i64) - (WALL0 + (m - MONO0)) as i64;
        // Unweighted, the error would be ~10 µs.
        assert!(err.abs() < 500, "{err} ns");
    }

    #[test]
    fn garbage_never_panics() {
        let mut f = WallFit::new();
        for (b, w, a) in [
            (u64::MAX, u64::MAX, u64::MAX),
            (0, 0, 0),
            (10, 5, 3),
            (i64::MAX as u64, 0, i64::MAX as u64),
            (1, u64::MAX / 2, 2),
        ] {
            f.add(ClockSample {
                boot_before_ns: b,
                wall_ns: w,
                boot_after_ns: a,
            });
            let _ = f.wall(i64::MAX);
            let _ = f.wall(i64::MIN);
        }
    }
}
