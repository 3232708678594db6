// SPDX-License-Identifier: LGPL-2.1-or-later
//! A camera's own frame timeline, filtered: where its frames start, in its
//! sensor clock, and how long they last.
//!
//! A two-state Kalman filter (start of frame, frame period) over the frame
//! timestamps. The camera's own adjustments are inputs: a frame shortened by
//! `x` ns moves every later start by `−x`, and the uncertainty of what the
//! sensor really applied enters as process noise on that frame, so the next
//! timestamps re-anchor the phase while the period estimate survives. Start
//! of frame jitter is filtered out rather than reacted to; its size is
//! measured from the second differences of the timestamps (which do not
//! depend on what the filter believes) and sets the filter's memory (more
//! jitter, longer memory). Dropped frames are recognised from the gap.
//! Nothing allocates.

/// Process noise of the period per frame (oscillator wander), ns².
const Q_PERIOD: f64 = 0.02 * 0.02;
/// Process noise of the phase per frame, ns².
const Q_PHASE: f64 = 1.0;
/// Smallest measurement variance believed (1 µs timestamp resolution), ns².
const R_MIN: f64 = 300.0 * 300.0;
/// Initial measurement variance, ns²: pessimistic (5 µs), so that the first
/// frames do not make the filter sure of a period it has barely seen.
const R_INIT: f64 = 5_000.0 * 5_000.0;
/// Weight of each sample in the measurement-noise estimate (at least; the
/// first ones are averaged evenly).
const R_GAIN: f64 = 1.0 / 64.0;
/// Samples of the measurement noise before the estimate may fall below
/// [`R_INIT`]: a few timestamps cannot show that they are clean.
const R_SAMPLES_MIN: u64 = 6;
/// Weight of each innovation in the running bias check.
const BIAS_GAIN: f64 = 1.0 / 16.0;
/// A running mean of the innovations (each in units of its own standard
/// deviation) this many standard errors from zero means the model is off
/// (the period, or what the sensor did): the filter becomes unsure again and
/// re-learns.
const BIAS_SIGMAS: f64 = 4.0;
/// An innovation this many standard deviations out (and beyond
/// [`BREAK_MIN_NS`]) breaks the model: the phase restarts from the timestamp.
const BREAK_SIGMAS: f64 = 8.0;
const BREAK_MIN_NS: f64 = 200_000.0;
/// The longest gap of dropped frames recognised.
const MAX_GAP: i64 = 256;
/// Rebase when the phase is this far from the origin, ns.
const REBASE_NS: f64 = 1e11;

/// What one timestamp did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// The frame index this timestamp was assigned.
    pub index: i64,
    /// Frames skipped since the previous timestamp.
    pub dropped: i64,
    /// Timestamp minus prediction, ns.
    pub innovation: f64,
    /// The innovation broke the model: the phase was restarted.
    pub broke: bool,
}

/// The filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    started: bool,
    /// Origin of `phase`, ns.
    base: i64,
    /// Frame index of the state.
    index: i64,
    /// Start of frame `index`, ns after `base`.
    phase: f64,
    /// Frame period, ns.
    period: f64,
    p: [[f64; 2]; 2],
    r: f64,
    /// Running mean of the noise samples, ns², and how many were taken.
    r_mean: f64,
    r_samples: u64,
    /// The last timestamp taken, ns (None: none, or the frames were moved
    /// in ways the model does not know since) ...
    last_ts: Option<i64>,
    /// ... and the interval that ended there, ns, if it was one frame that
    /// no adjustment was expected to change.
    last_interval: Option<i64>,
    /// Running mean of the innovations, each divided by its standard
    /// deviation.
    bias: f64,
    updates: u64,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            started: false,
            base: 0,
            index: -1,
            phase: 0.0,
            period: 0.0,
            p: [[0.0; 2]; 2],
            r: R_INIT,
            r_mean: R_INIT,
            r_samples: 0,
            last_ts: None,
            last_interval: None,
            bias: 0.0,
            updates: 0,
        }
    }

    /// Forget everything (a new stream).
    pub fn reset(&mut self) {
        *self = Timeline::new();
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Timestamps taken into the filter since it started.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The index of the last frame observed (−1: none).
    pub fn index(&self) -> i64 {
        self.index
    }

    /// The frame period, ns (0 until known).
    pub fn period(&self) -> f64 {
        self.period
    }

    /// Standard deviation of the phase estimate, ns.
    pub fn phase_sigma(&self) -> f64 {
        self.p[0][0].max(0.0).sqrt()
    }

    /// Standard deviation of the period estimate, ns.
    pub fn period_sigma(&self) -> f64 {
        self.p[1][1].max(0.0).sqrt()
    }

    /// The measured timestamp noise (standard deviation), ns.
    pub fn noise(&self) -> f64 {
        self.r.sqrt()
    }

    /// The filtered start of the last observed frame, ns (integer part) and
    /// its fraction.
    pub fn sof(&self) -> (i64, f64) {
        let whole = self.phase.floor();
        (self.base.saturating_add(whole as i64), self.phase - whole)
    }

    /// The start of frame `index` as predicted from the last one, ignoring
    /// adjustments, as (integer ns, fraction).
    pub fn sof_at(&self, index: i64) -> (i64, f64) {
        let t = self.phase + index.saturating_sub(self.index) as f64 * self.period;
        let whole = t.floor();
        (self.base.saturating_add(whole as i64), t - whole)
    }

    /// One prediction step over frame `self.index` (shortened by `adj`
    /// with variance `var`).
    fn step(&mut self, adj: f64, var: f64) {
        self.phase += self.period - adj;
        let [[p00, p01], [p10, p11]] = self.p;
        self.p = [
            [p00 + p01 + p10 + p11 + Q_PHASE + var, p01 + p11],
            [p10 + p11, p11 + Q_PERIOD],
        ];
        self.index = self.index.saturating_add(1);
    }

    /// Inflate the phase uncertainty to `sigma` ns (after the frames were
    /// moved by amounts not yet measured): the next timestamps re-anchor it.
    pub fn unsure(&mut self, sigma: f64) {
        self.p[0][0] = self.p[0][0].max(sigma * sigma);
    }

    /// Place the timestamp `ts` of the next frame that arrived without
    /// learning from it (while the frames are being moved in ways the
    /// model does not know): only the frame index advances.
    pub fn coast(&mut self, ts: i64, adj: &mut dyn FnMut(i64) -> (f64, f64)) -> Observed {
        let z = ts.saturating_sub(self.base) as f64;
        let gap = self.gap(z, adj);
        for _ in 0..gap {
            let (a, v) = adj(self.index);
            self.step(a, v);
        }
        self.last_ts = None;
        self.last_interval = None;
        Observed {
            index: self.index,
            dropped: gap - 1,
            innovation: z - self.phase,
            broke: false,
        }
    }

    /// How many frames after the last one a timestamp `z` (relative to the
    /// origin) is: the predicted start nearest to it.
    fn gap(&self, z: f64, adj: &mut dyn FnMut(i64) -> (f64, f64)) -> i64 {
        let mut pred = self.phase;
        let mut best = (1, f64::INFINITY);
        for g in 1..=MAX_GAP {
            pred += self.period - adj(self.index + g - 1).0;
            let d = (z - pred).abs();
            if d < best.1 {
                best = (g, d);
            } else if pred > z {
                break;
            }
        }
        best.0
    }

    /// The timestamp noise, from the second differences of the timestamps of
    /// consecutive frames that no adjustment was expected to change: with
    /// white noise of variance R on every timestamp, `(t₂ − t₁) − (t₁ − t₀)`
    /// has variance 6R whatever the period and whatever the filter believes.
    /// (The innovations do not tell R apart from the filter's own
    /// uncertainty while that is large: on the first frames, where the
    /// period is barely known, they set R to its floor and the filter then
    /// trusted a period from three jittered timestamps; on the first frame
    /// after the probe they set it to ~100 µs and the filter then ignored
    /// its timestamps for a hundred frames.) Until [`R_SAMPLES_MIN`] samples
    /// R stays at least [`R_INIT`]. `clean`: the frame followed the last one
    /// and nothing was expected to move it.
    fn learn_noise(&mut self, ts: i64, clean: bool) {
        let interval = self
            .last_ts
            .filter(|_| clean)
            .map(|last| ts.saturating_sub(last));
        if let (Some(i1), Some(i0)) = (interval, self.last_interval) {
            let d2 = i1.saturating_sub(i0) as f64;
            // At most 5 σ of what is believed now, so that one frame the
            // sensor moved unasked does not count as noise.
            let x = (d2 * d2 / 6.0).min(25.0 * self.r);
            self.r_samples += 1;
            let g = R_GAIN.max(1.0 / self.r_samples as f64);
            self.r_mean += g * (x - self.r_mean);
            self.r = if self.r_samples < R_SAMPLES_MIN {
                self.r_mean.max(R_INIT)
            } else {
                self.r_mean.max(R_MIN)
            };
        }
        self.last_ts = Some(ts);
        self.last_interval = interval;
    }

    /// Take the timestamp `ts` (ns) of the next frame that arrived.
    /// `nominal` is the expected period (ns, 0 if unknown) for the first
    /// frames; `adj(i)` the expected shortening of frame `i` (ns) and its
    /// variance (ns²).
    pub fn observe(
        &mut self,
        ts: i64,
        nominal: f64,
        adj: &mut dyn FnMut(i64) -> (f64, f64),
    ) -> Observed {
        if !self.started {
            self.started = true;
            self.base = ts;
            self.index = 0;
            self.phase = 0.0;
            self.period = nominal.max(0.0);
            let pv = if nominal > 0.0 {
                // FrameDurationLimits is met to within a line or so.
                100_000.0f64.powi(2)
            } else {
                1e18
            };
            self.p = [[self.r, 0.0], [0.0, pv]];
            self.updates = 1;
            self.last_ts = Some(ts);
            self.last_interval = None;
            return Observed {
                index: 0,
                dropped: 0,
                innovation: 0.0,
                broke: false,
            };
        }
        let z = ts.saturating_sub(self.base) as f64;
        if self.period <= 0.0 {
            // The second timestamp: the period is its distance.
            self.period = z - self.phase;
        }
        let gap = self.gap(z, adj);
        let mut moved = false;
        for _ in 0..gap {
            let (a, v) = adj(self.index);
            moved |= a != 0.0;
            self.step(a, v);
        }
        let nu = z - self.phase;
        let s = self.p[0][0] + self.r;
        let broke = nu.abs() > BREAK_SIGMAS * s.sqrt() && nu.abs() > BREAK_MIN_NS;
        if broke {
            // Something moved the frames that the model did not expect:
            // restart the phase from this timestamp, keep the period.
            self.phase = z;
            self.p[0][0] = self.r;
            self.p[0][1] = 0.0;
            self.p[1][0] = 0.0;
        } else {
            let k0 = self.p[0][0] / s;
            let k1 = self.p[1][0] / s;
            self.phase += k0 * nu;
            self.period += k1 * nu;
            let [[p00, p01], [p10, p11]] = self.p;
            self.p = [
                [(1.0 - k0) * p00, (1.0 - k0) * p01],
                [p10 - k1 * p00, p11 - k1 * p01],
            ];
            // Innovations that keep one sign: the model is off. Each counts
            // in units of its own standard deviation: the large ones the
            // filter expected (re-anchoring after the probe or an
            // acquisition move) are not evidence against it (counted in ns,
            // they raised false alarms that threw away the period).
            self.bias += BIAS_GAIN * (nu / s.sqrt() - self.bias);
            let standard_error = (BIAS_GAIN / (2.0 - BIAS_GAIN)).sqrt();
            if self.updates > 16 && self.bias.abs() > BIAS_SIGMAS * standard_error {
                let b = self.bias * s.sqrt();
                self.p[0][0] += b * b;
                self.p[1][1] += (b / 8.0) * (b / 8.0);
                self.bias = 0.0;
            }
        }
        self.learn_noise(ts, gap == 1 && !moved && !broke);
        self.updates += 1;
        if self.phase.abs() > REBASE_NS {
            let shift = self.phase.floor();
            self.base = self.base.saturating_add(shift as i64);
            self.phase -= shift;
        }
        Observed {
            index: self.index,
            dropped: gap - 1,
            innovation: nu,
            broke,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: i64) -> (f64, f64) {
        (0.0, 0.0)
    }

    #[test]
    fn learns_the_period_and_filters_jitter() {
        let mut t = Timeline::new();
        let period = 33_333_456.0;
        let mut rng = 12345u64;
        for k in 0..400i64 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (rng >> 40) % 10_000; // 0..10 µs
            let ts = 1_000_000_000 + (k as f64 * period) as i64 + jitter as i64;
            let o = t.observe(ts / 1000 * 1000, 33_333_000.0, &mut none);
            assert_eq!(o.index, k);
        }
        assert!((t.period() - period).abs() < 5.0, "{}", t.period());
        let (s, f) = t.sof();
        let truth = 1_000_000_000.0 + 399.0 * period + 5_000.0 - 500.0;
        assert!(
            (s as f64 + f - truth).abs() < 2_000.0,
            "{} vs {truth}",
            s as f64 + f
        );
        assert!(t.noise() > 2_000.0 && t.noise() < 4_500.0, "{}", t.noise());
    }

    #[test]
    fn dropped_frames_and_adjustments() {
        let mut t = Timeline::new();
        let period = 20_000_000i64;
        let mut ts = 5_000_000i64;
        let mut idx = 0;
        for k in 0..50i64 {
            let o = t.observe(ts, 20_000_000.0, &mut |i| {
                if i == 30 {
                    (100_000.0, 1.0)
                } else {
                    (0.0, 0.0)
                }
            });
            assert_eq!(o.index, idx, "frame {k}");
            assert!(o.innovation.abs() < 1_000.0, "{o:?}");
            // Frame 30 is 100 µs short; frames 10 and 11 are dropped.
            let skip = if idx == 9 { 3 } else { 1 };
            for j in 0..skip {
                ts += period - if idx + j == 30 { 100_000 } else { 0 };
            }
            idx += skip;
            if k == 9 {
                assert_eq!(o.dropped, 0);
            }
        }
    }

    #[test]
    fn an_unexpected_move_breaks_and_re_anchors() {
        let mut t = Timeline::new();
        for k in 0..100i64 {
            t.observe(k * 10_000_000, 10_000_000.0, &mut none);
        }
        let o = t.observe(100 * 10_000_000 - 3_000_000, 10_000_000.0, &mut none);
        assert!(o.broke);
        let o = t.observe(101 * 10_000_000 - 3_000_000, 10_000_000.0, &mut none);
        assert!(!o.broke && o.innovation.abs() < 100.0, "{o:?}");
        assert!((t.period() - 10_000_000.0).abs() < 1.0);
    }

    /// The µs timestamp of frame `k` of `period` ns, up to 10 µs late
    /// (uniform, as start-of-frame interrupt latency).
    fn jittered(rng: &mut u64, k: i64, period: f64) -> i64 {
        *rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let jitter = ((*rng >> 33) % 10_000) as i64;
        (1_000_000_000 + (k as f64 * period) as i64 + jitter) / 1000 * 1000
    }

    #[test]
    fn a_few_jittered_timestamps_do_not_make_it_sure_of_the_period() {
        // After the 8 frames a client waits before it probes, the period's
        // error is within a few of its standard deviations on every draw
        // (with R taken from the first innovations it was up to 22: the
        // filter trusted a period from three timestamps).
        let period = 33_339_098.0;
        let mut rng = 7u64;
        let mut worst: f64 = 0.0;
        for _ in 0..200 {
            let mut t = Timeline::new();
            for k in 0..8 {
                t.observe(jittered(&mut rng, k, period), 33_333_000.0, &mut none);
            }
            worst = worst.max((t.period() - period).abs() / t.period_sigma());
        }
        assert!(worst < 3.5, "{worst}");
    }

    #[test]
    fn re_anchoring_after_a_coast_is_not_taken_for_timestamp_noise() {
        // The probe moves the frames while the timeline coasts; the first
        // timestamps after it re-anchor the phase (and correct the period)
        // without the noise estimate growing (taken from the innovations,
        // it grew to ~100 µs in the simulator and the filter then ignored
        // its timestamps for a hundred frames; here, with the period it had
        // trusted too early, the first frame after the coast broke it).
        let period = 33_339_098.0;
        let mut rng = 11u64;
        let mut t = Timeline::new();
        for k in 0..8 {
            t.observe(jittered(&mut rng, k, period), 33_333_000.0, &mut none);
        }
        // The frames moved by 300 µs in all while it coasted.
        for k in 8..128 {
            let ts = jittered(&mut rng, k, period) - 300_000;
            t.coast(ts, &mut none);
        }
        t.unsure(80_000.0);
        for k in 128..160 {
            let ts = jittered(&mut rng, k, period) - 300_000;
            let o = t.observe(ts, 33_333_000.0, &mut none);
            assert!(!o.broke, "{k}");
        }
        assert!(t.noise() < 4_500.0, "{}", t.noise());
        assert!((t.period() - period).abs() < 200.0, "{}", t.period());
        let (s, f) = t.sof();
        let truth = 1_000_000_000.0 + 159.0 * period - 300_000.0 + 4_500.0;
        assert!(
            (s as f64 + f - truth).abs() < 3_000.0,
            "{}",
            s as f64 + f - truth
        );
    }
}
