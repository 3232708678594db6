// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision profile's wall-clock fit: CLOCK_MONOTONIC → CLOCK_REALTIME.
//!
//! V4L2 stamps frames with CLOCK_MONOTONIC (`spec/defects.md` 12), so that is
//! the input clock here. On Linux the two clocks tick together except while
//! the time daemon slews or steps REALTIME, so the model is a line,
//! `wall − mono = offset + drift · mono`, fitted by weighted least squares
//! with exponential forgetting. The parameters are deliberate and in ns:
//!
//! - **memory**: each sample's weight decays by `1 − 1/64` per sample, so
//!   the fit remembers about two seconds of frames: long enough to average
//!   read noise, short enough to follow a slew that changes rate;
//! - **sample weight**: `1 / (1 + (span / 2 µs)²)`, where `span` is the time
//!   between the two monotonic reads around the REALTIME read: a sample taken
//!   across a preemption says little about when REALTIME was read;
//! - **drift**: used once the samples span at least 200 ms, and bounded by
//!   ±1000 ppm (the kernel slews at most 500 ppm);
//! - **steps**: a sample more than 100 µs from the fit is held back; if the
//!   next one agrees with it (within 50 µs), REALTIME was stepped: the fit is
//!   moved by the step and reported ([`Sample::Step`]); a lone outlier is
//!   dropped. Slewing changes the offset by at most 17 µs per 33 ms frame
//!   (500 ppm), far below the threshold. Four rejected samples in a row
//!   restart the fit from the newest one.
//!
//! Output is exact to the ns (integer base plus a small f64 part), not
//! quantised to 256 ns as the reference's is (`defects.md` 14).

use crate::core::clock::ClockSample;

/// Weight decay per sample.
const FORGET: f64 = 1.0 - 1.0 / 64.0;
/// Read-span scale of the sample weight, ns.
const SPAN_SCALE_NS: f64 = 2_000.0;
/// The samples must span this much (weighted standard deviation of the
/// input, ns) before the drift is used.
const MIN_DRIFT_SPREAD_NS: f64 = 200_000_000.0 / 3.5;
/// Largest drift believed.
const MAX_DRIFT: f64 = 1e-3;
/// A residual beyond this is an outlier or a step, ns.
pub const STEP_THRESHOLD_NS: f64 = 100_000.0;
/// Two outliers within this of each other confirm a step, ns.
const STEP_AGREE_NS: f64 = 50_000.0;
/// Consecutive rejected samples that restart the fit.
const MAX_REJECTED: u32 = 4;
/// Rebase the input origin when samples are this far from it, ns.
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
    /// Input origin, ns.
    x0: i64,
    /// Output origin: `wall − mono` at the first sample, ns.
    y0: i64,
    /// Total weight.
    w: f64,
    /// Weighted means of x = mono − x0 and y = (wall − mono) − y0.
    xm: f64,
    ym: f64,
    /// Weighted co-moments.
    cxx: f64,
    cxy: f64,
    samples: u64,
    /// A held-back outlier: (x, residual).
    pending: Option<(f64, f64)>,
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
            w: 0.0,
            xm: 0.0,
            ym: 0.0,
            cxx: 0.0,
            cxy: 0.0,
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

    /// d(wall)/d(mono) − 1, as fitted (0 until the samples span enough time).
    pub fn drift(&self) -> f64 {
        if self.w <= 0.0 || self.cxx / self.w < MIN_DRIFT_SPREAD_NS * MIN_DRIFT_SPREAD_NS {
            return 0.0;
        }
        (self.cxy / self.cxx).clamp(-MAX_DRIFT, MAX_DRIFT)
    }

    /// `wall − mono − y0` predicted at input offset `x`.
    fn predict(&self, x: f64) -> f64 {
        self.ym + self.drift() * (x - self.xm)
    }

    fn restart(&mut self, mono: i64, y: i64, weight: f64) {
        let steps = self.steps;
        *self = WallFit::new();
        self.steps = steps;
        self.x0 = mono;
        self.y0 = y;
        self.w = weight;
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
        let weight = 1.0 / (1.0 + (span / SPAN_SCALE_NS).powi(2));
        if self.samples == 0 {
            self.restart(mono, y, weight);
            return Sample::Restarted;
        }
        if (mono.saturating_sub(self.x0) as f64).abs() > REBASE_NS {
            let shift = mono.saturating_sub(self.x0);
            self.x0 = mono;
            self.xm -= shift as f64;
        }
        let x = mono.saturating_sub(self.x0) as f64;
        let yrel = y.saturating_sub(self.y0) as f64;
        let residual = yrel - self.predict(x);
        let mut outcome = Sample::Accepted;
        if residual.abs() > STEP_THRESHOLD_NS {
            match self.pending {
                Some((_, r1)) if (residual - r1).abs() < STEP_AGREE_NS => {
                    // Confirmed: move the whole model by the step.
                    self.ym += residual;
                    self.pending = None;
                    self.rejected = 0;
                    self.steps += 1;
                    outcome = Sample::Step(residual.round() as i64);
                }
                _ => {
                    self.pending = Some((x, residual));
                    self.rejected += 1;
                    if self.rejected >= MAX_REJECTED {
                        self.restart(mono, y, weight);
                        return Sample::Restarted;
                    }
                    return Sample::Rejected;
                }
            }
        } else {
            self.pending = None;
            self.rejected = 0;
        }
        // Weighted Welford update with forgetting.
        let w = FORGET * self.w + weight;
        let dx = x - self.xm;
        self.xm += weight * dx / w;
        let dy = yrel - self.ym;
        self.ym += weight * dy / w;
        self.cxx = FORGET * self.cxx + weight * dx * (x - self.xm);
        self.cxy = FORGET * self.cxy + weight * dx * (yrel - self.ym);
        self.w = w;
        self.samples += 1;
        outcome
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
        let m = MONO0 + 150 * 33_000_000;
        let err = f.wall(m as i64) - (WALL0 + (m - MONO0)) as i64;
        // Unweighted, the error would be ~10 µs.
        assert!(err.abs() < 100, "{err} ns");
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
