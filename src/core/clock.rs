// SPDX-License-Identifier: LGPL-2.1-or-later
// Ported from libcamera's ClockRecovery (src/libcamera/clock_recovery.cpp,
// include/libcamera/internal/clock_recovery.h; LGPL-2.1-or-later;
// Copyright (C) 2024, Raspberry Pi Ltd). See LICENSE.

//! Clock recovery: a running least-squares fit that maps the sensor's clock
//! (the input, e.g. CLOCK_BOOTTIME) to the wall clock (the output,
//! CLOCK_REALTIME), so that a frame's `SensorTimestamp` can be turned into a
//! `FrameWallClock`.
//!
//! This is libcamera's `ClockRecovery`, ported operation for operation
//! (`spec/algorithm.md` §1): the same f64 evaluation order, the same u64
//! wrap-arounds, the same truncations. Inputs and outputs are nanoseconds.
//! Nothing here reads a clock: samples are given by the caller.

/// Fit parameters, in the units of the samples (ns).
///
/// The defaults are libcamera's. They were chosen when the class worked in µs,
/// so in ns the jitter clamp is ±2 µs and the reset threshold 50 µs
/// (`spec/defects.md` 13); the compatibility profile keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRecoveryParams {
    /// Weight cap of the running averages (≈ how many samples the fit remembers).
    pub num_samples: u32,
    /// A new output is clamped to the model's prediction ± this.
    pub max_jitter: u32,
    /// Slope and offset stay 0 (a 1:1 rate) until more than this many samples.
    pub min_samples: u32,
    /// Reset the model when the smoothed prediction error exceeds this.
    pub error_threshold: u32,
}

impl Default for ClockRecoveryParams {
    fn default() -> Self {
        Self {
            num_samples: 100,
            max_jitter: 2000,
            min_samples: 10,
            error_threshold: 50000,
        }
    }
}

/// One reading of the clocks, as `ClockRecovery::addSample()` takes it: the
/// input clock read before and after the wall clock (ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockSample {
    pub boot_before_ns: u64,
    pub wall_ns: u64,
    pub boot_after_ns: u64,
}

impl ClockSample {
    /// The input value of the sample: the mean of the two input readings,
    /// in u64 arithmetic as the reference does (wrapping sum, then halved).
    pub fn input_ns(&self) -> u64 {
        self.boot_before_ns.wrapping_add(self.boot_after_ns) / 2
    }
}

/// Where the core gets a clock sample when it needs one. The plugin reads the
/// system clocks; a trace replay hands back the recorded readings and checks
/// that a sample was asked for exactly when the reference took one.
pub trait ClockSource {
    fn sample(&mut self) -> ClockSample;
}

/// The fitted model. All state starts at zero.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRecovery {
    params: ClockRecoveryParams,
    count: u32,
    input_base: u64,
    output_base: u64,
    last_input: u64,
    last_output: u64,
    x_ave: f64,
    y_ave: f64,
    x2_ave: f64,
    xy_ave: f64,
    error: f64,
    slope: f64,
    offset: f64,
    resets: u64,
}

impl Default for ClockRecovery {
    fn default() -> Self {
        Self::new(ClockRecoveryParams::default())
    }
}

impl ClockRecovery {
    pub fn new(params: ClockRecoveryParams) -> Self {
        Self {
            params,
            count: 0,
            input_base: 0,
            output_base: 0,
            last_input: 0,
            last_output: 0,
            x_ave: 0.0,
            y_ave: 0.0,
            x2_ave: 0.0,
            xy_ave: 0.0,
            error: 0.0,
            slope: 0.0,
            offset: 0.0,
            resets: 0,
        }
    }

    pub fn params(&self) -> ClockRecoveryParams {
        self.params
    }

    /// How many times the drift check threw the model away (a clock step).
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// Number of samples currently weighting the fit (capped below `num_samples`).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Forget the fit; keeps the parameters (the reference's `reset()`; the
    /// bases are left for the caller to set, as there).
    fn reset(&mut self) {
        let params = self.params;
        let resets = self.resets;
        let (input_base, output_base) = (self.input_base, self.output_base);
        *self = Self::new(params);
        self.input_base = input_base;
        self.output_base = output_base;
        self.resets = resets + 1;
    }

    /// Add a sample taken through `ClockSample` (the reference's `addSample()`).
    pub fn add_clock_sample(&mut self, s: ClockSample) {
        self.add_sample(s.input_ns(), s.wall_ns);
    }

    /// Add one (input, output) pair to the fit.
    pub fn add_sample(&mut self, input: u64, output: u64) {
        if self.count == 0 {
            self.input_base = input;
            self.output_base = output;
        }

        // Drift check: a smoothed sum of how far the output moved from what the
        // model predicted. Past the threshold the clock was probably stepped.
        if self.last_output != 0 {
            let input_diff = self
                .get_output(input)
                .wrapping_sub(self.get_output(self.last_input)) as i64;
            let output_diff = output.wrapping_sub(self.last_output) as i64;
            self.error = self.error * 0.95 + output_diff.wrapping_sub(input_diff) as f64;
            if self.error.abs() > f64::from(self.params.error_threshold) {
                self.reset();
                self.input_base = input;
                self.output_base = output;
            }
        }
        self.last_input = input;
        self.last_output = output;

        // Clamp the new output to the prediction ± max_jitter. u64 arithmetic
        // that may wrap, and std::clamp's comparison order (no panic when the
        // wrapped bounds are inverted).
        let expected = self.get_output(input);
        let jitter = u64::from(self.params.max_jitter);
        let lo = expected.wrapping_sub(jitter);
        let hi = expected.wrapping_add(jitter);
        let output = if output < lo {
            lo
        } else if hi < output {
            hi
        } else {
            output
        };

        // Running averages, as if `count` samples sat at the previous fit.
        let x = input.wrapping_sub(self.input_base) as i64 as f64;
        let y = output.wrapping_sub(self.output_base) as i64 as f64 - x;
        let n = f64::from(self.count);
        let count1 = self.count.wrapping_add(1);
        let c1 = f64::from(count1);
        self.x_ave = (n * self.x_ave + x) / c1;
        self.y_ave = (n * self.y_ave + y) / c1;
        self.x2_ave = (n * self.x2_ave + x * x) / c1;
        self.xy_ave = (n * self.xy_ave + x * y) / c1;

        if self.count > self.params.min_samples {
            // count1 * count1 is an unsigned int product in the reference.
            let c1sq = f64::from(count1.wrapping_mul(count1));
            let slope = (c1sq * self.xy_ave - c1 * self.x_ave * c1 * self.y_ave)
                / (c1sq * self.x2_ave - c1 * self.x_ave * c1 * self.x_ave);
            // Samples that all share one input (several at one instant)
            // divide 0 by 0: the reference then converts NaN to an integer,
            // which is undefined; here the fit stays what it was.
            if slope.is_finite() {
                self.slope = slope;
                self.offset = self.y_ave - self.slope * self.x_ave;
            }
        }

        if count1 < self.params.num_samples {
            self.count += 1;
        }
    }

    /// The model's output for an input value. The sum goes through an f64 that
    /// holds ~1.8e18 ns, so the result steps by 256 ns (as in the reference).
    /// Out-of-range results saturate (the reference's conversion is undefined).
    pub fn get_output(&self, input: u64) -> u64 {
        let x = input.wrapping_sub(self.input_base) as i64 as f64;
        let y = self.slope * x + self.offset;
        ((y + x) + self.output_base as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL0: u64 = 1_767_225_600_000_000_000;
    const BOOT0: u64 = 500_000_000_000;

    fn feed(cr: &mut ClockRecovery, n: u64, step_ns: u64, wall_offset: i64) {
        for i in 0..n {
            let b = BOOT0 + i * step_ns;
            cr.add_sample(b, (WALL0 + i * step_ns).wrapping_add_signed(wall_offset));
        }
    }

    #[test]
    fn samples_at_one_instant_leave_the_fit_as_it_was() {
        // Found by fuzz/core_sequence: start() called again and again at one
        // instant (each adds a sample) made the slope 0/0 and every
        // FrameWallClock 0.
        let mut cr = ClockRecovery::default();
        for _ in 0..20 {
            cr.add_sample(BOOT0, WALL0);
        }
        // 1:1, to the 256 ns step of an f64 near 1.8e18 (was 0).
        let out = cr.get_output(BOOT0 + 1_000_000);
        assert!(out.abs_diff(WALL0 + 1_000_000) <= 256, "{out}");
    }

    #[test]
    fn first_sample_sets_the_bases_and_maps_one_to_one() {
        let mut cr = ClockRecovery::default();
        cr.add_sample(BOOT0, WALL0);
        // 1:1 until min_samples; quantised to the 256 ns step of an f64 near 1.8e18.
        let out = cr.get_output(BOOT0 + 1_000_000);
        assert!(out.abs_diff(WALL0 + 1_000_000) <= 256, "{out}");
    }

    #[test]
    fn warm_up_keeps_slope_zero_until_more_than_min_samples() {
        let mut cr = ClockRecovery::default();
        // A wall clock running 100 ppm fast, within the jitter clamp per step.
        for i in 0..=10u64 {
            cr.add_sample(BOOT0 + i * 10_000_000, WALL0 + i * 10_001_000);
        }
        assert_eq!(
            cr.slope, 0.0,
            "slope must stay 0 while count <= min_samples"
        );
        assert_eq!(cr.count(), 11);
        cr.add_sample(BOOT0 + 11 * 10_000_000, WALL0 + 11 * 10_001_000);
        assert!(cr.slope > 0.0, "the fit starts once count > min_samples");
    }

    #[test]
    fn count_is_capped_below_num_samples() {
        let mut cr = ClockRecovery::default();
        feed(&mut cr, 500, 33_333_000, 0);
        assert_eq!(cr.count(), 99);
    }

    #[test]
    fn jitter_clamp_limits_a_late_reading_to_max_jitter() {
        let mut cr = ClockRecovery::default();
        feed(&mut cr, 20, 10_000_000, 0);
        let before = cr.clone();
        // One reading 30 µs late (below the 50 µs reset threshold): only 2 µs
        // of it may enter the fit.
        let input = BOOT0 + 20 * 10_000_000;
        let expected = cr.get_output(input);
        cr.add_sample(input, expected + 30_000);
        let mut clamped = before;
        clamped.add_sample(input, expected + 2_000);
        assert_eq!(cr.x_ave, clamped.x_ave);
        assert_eq!(cr.y_ave, clamped.y_ave);
        assert_eq!(cr.xy_ave, clamped.xy_ave);
        assert_eq!(cr.resets(), 0);
    }

    #[test]
    fn a_clock_step_beyond_the_threshold_resets_and_rebases() {
        let mut cr = ClockRecovery::default();
        feed(&mut cr, 50, 10_000_000, 0);
        assert_eq!(cr.resets(), 0);
        // The wall clock jumps 1 s forward.
        let input = BOOT0 + 50 * 10_000_000;
        let wall = WALL0 + 50 * 10_000_000 + 1_000_000_000;
        cr.add_sample(input, wall);
        assert_eq!(cr.resets(), 1);
        assert_eq!(cr.count(), 1, "the fit restarted from this sample");
        assert!(cr.get_output(input).abs_diff(wall) <= 256);
    }

    #[test]
    fn a_step_below_the_threshold_does_not_reset() {
        let mut cr = ClockRecovery::default();
        feed(&mut cr, 50, 10_000_000, 0);
        let input = BOOT0 + 50 * 10_000_000;
        cr.add_sample(input, WALL0 + 50 * 10_000_000 + 40_000);
        assert_eq!(cr.resets(), 0);
    }

    #[test]
    fn wrapping_inputs_do_not_panic() {
        let mut cr = ClockRecovery::default();
        cr.add_sample(u64::MAX, u64::MAX);
        cr.add_sample(0, 1);
        cr.add_sample(u64::MAX / 2, 0);
        let _ = cr.get_output(u64::MAX);
    }

    #[test]
    fn sample_input_is_the_wrapping_mean() {
        let s = ClockSample {
            boot_before_ns: 10,
            wall_ns: 0,
            boot_after_ns: 13,
        };
        assert_eq!(s.input_ns(), 11);
    }
}
