// SPDX-License-Identifier: LGPL-2.1-or-later
//! A simulated image sensor and the clocks of its host (`spec/traces.md`,
//! "How the traces were recorded: the simulation model").
//!
//! All times are integer nanoseconds of a *true* time line. The sensor runs
//! free: frame `k` starts at `S_0 + floor(lines_before_k · line_ns ·
//! (1e9 + sensor_ppb) / 1e9)`, each frame lasting `frame_lines` lines unless a
//! `SyncAdjustment` is applied to it. The same type drives the virtual-time
//! simulator and the real-time demo (where the true time line is the host's
//! CLOCK_BOOTTIME).

use std::collections::VecDeque;

/// What the sensor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SensorParams {
    /// Line time, ns.
    pub line_ns: u64,
    /// Nominal frame length in whole lines (`round(frame_duration / line)`).
    pub frame_lines: u64,
    /// The sensor oscillator's rate error, parts per billion.
    pub sensor_ppb: i64,
    /// A `SyncAdjustment` takes effect this many frame durations after the
    /// request carrying it was queued.
    pub delay_frames: u32,
    /// The nominal frame duration, ns (the delay's unit).
    pub frame_duration_ns: u64,
    /// The mode's shortest frame, in lines: a frame is never shortened below it.
    pub min_frame_lines: u64,
}

impl SensorParams {
    /// A sensor running `frame_duration_ns` frames on `line_ns` lines, with no
    /// mode limit beyond the half-frame clamp.
    pub fn new(line_ns: u64, frame_duration_ns: u64, sensor_ppb: i64, delay_frames: u32) -> Self {
        let frame_lines = div_round_half_away(frame_duration_ns as i64, line_ns as i64) as u64;
        SensorParams {
            line_ns,
            frame_lines,
            sensor_ppb,
            delay_frames,
            frame_duration_ns,
            min_frame_lines: 0,
        }
    }

    /// Limit shortening to the mode's minimum frame duration (its maximum frame rate).
    pub fn with_min_frame_ns(mut self, min_frame_ns: u64) -> Self {
        self.min_frame_lines = min_frame_ns.div_ceil(self.line_ns);
        self
    }

    /// The adjustment, in lines, that a `SyncAdjustment` of `adj_us` gives:
    /// `round_half_away(A·1000/line_ns)`, clamped to ±⌊N/2⌋ and so that the
    /// frame is not shorter than the mode allows. Positive shortens.
    pub fn adjustment_lines(&self, adj_us: i32) -> i64 {
        let half = (self.frame_lines / 2) as i64;
        let a =
            div_round_half_away(i64::from(adj_us) * 1000, self.line_ns as i64).clamp(-half, half);
        let max_shorten = self.frame_lines.saturating_sub(self.min_frame_lines) as i64;
        a.min(max_shorten)
    }
}

/// `n / d` rounded half away from zero (`d > 0`).
pub fn div_round_half_away(n: i64, d: i64) -> i64 {
    let q = (2 * i128::from(n).abs() + i128::from(d)) / (2 * i128::from(d));
    (if n < 0 { -q } else { q }) as i64
}

/// One sensor frame as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorFrame {
    /// Frame index since this sensor started.
    pub index: u64,
    /// True start of frame, ns.
    pub sof_ns: i64,
    /// True start of the next frame (the end of this one), ns.
    pub next_sof_ns: i64,
    /// This frame's length in lines.
    pub lines: u64,
    /// Lines taken off this frame by an adjustment (negative: added).
    pub adj_lines: i64,
    /// The `SyncAdjustment` (µs) applied to this frame, 0 if none.
    pub adj_us: i32,
}

/// A free-running sensor that applies `SyncAdjustment`s.
#[derive(Debug, Clone)]
pub struct Sensor {
    params: SensorParams,
    s0_ns: i64,
    lines_before: u64,
    next_index: u64,
    /// Requested adjustments: (effective time, µs).
    fifo: VecDeque<(i64, i32)>,
    applied: u64,
}

impl Sensor {
    /// A sensor whose frame 0 starts at `s0_ns`.
    pub fn new(params: SensorParams, s0_ns: i64) -> Sensor {
        Sensor {
            params,
            s0_ns,
            lines_before: 0,
            next_index: 0,
            fifo: VecDeque::new(),
            applied: 0,
        }
    }

    pub fn params(&self) -> &SensorParams {
        &self.params
    }

    /// Adjustments applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    fn sof_after(&self, lines: u64) -> i64 {
        let ns = i128::from(lines)
            * i128::from(self.params.line_ns)
            * (1_000_000_000 + i128::from(self.params.sensor_ppb))
            / 1_000_000_000;
        self.s0_ns + ns as i64
    }

    /// The start of the next frame, ns.
    pub fn next_sof_ns(&self) -> i64 {
        self.sof_after(self.lines_before)
    }

    /// A request carrying `SyncAdjustment = adj_us` was queued at `queued_ns`.
    /// Zero values are ignored.
    pub fn request_adjustment(&mut self, queued_ns: i64, adj_us: i32) {
        if adj_us != 0 {
            let delay = i64::from(self.params.delay_frames) * self.params.frame_duration_ns as i64;
            self.fifo.push_back((queued_ns + delay, adj_us));
        }
    }

    /// Start the next frame: take the oldest due adjustment, if any, and
    /// apply it to this one frame.
    pub fn next_frame(&mut self) -> SensorFrame {
        let sof_ns = self.next_sof_ns();
        let (mut adj_us, mut adj_lines) = (0, 0);
        if let Some(&(due, a)) = self.fifo.front()
            && due <= sof_ns
        {
            self.fifo.pop_front();
            adj_us = a;
            adj_lines = self.params.adjustment_lines(a);
            self.applied += 1;
        }
        let lines = (self.params.frame_lines as i64 - adj_lines) as u64;
        self.lines_before += lines;
        let index = self.next_index;
        self.next_index += 1;
        SensorFrame {
            index,
            sof_ns,
            next_sof_ns: self.next_sof_ns(),
            lines,
            adj_lines,
            adj_us,
        }
    }
}

/// The clocks of one simulated host: CLOCK_BOOTTIME (also the sensor
/// timestamp clock) and CLOCK_REALTIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HostClock {
    pub boot_offset_ns: i64,
    /// The boot clock's rate error relative to true time, ppb.
    pub sys_ppb: i64,
    /// The residual NTP/PTP error of the wall clock, ns (may step).
    pub wall_offset_ns: i64,
    /// The wall clock at true time 0 (without offset), ns since the epoch.
    pub wall_epoch_ns: i64,
    /// NTP slewing: the wall offset also follows a triangle wave whose
    /// slope is ±this (ppb) ...
    pub slew_ppb: i64,
    /// ... with this period, ns (0: no slewing) ...
    pub slew_period_ns: i64,
    /// ... and this phase, ns.
    pub slew_phase_ns: i64,
}

/// 2026-01-01T00:00:00Z, ns since the epoch.
pub const WALL_EPOCH_NS: i64 = 1_767_225_600_000_000_000;

impl HostClock {
    /// CLOCK_BOOTTIME at true time `t`.
    pub fn boot(&self, t: i64) -> i64 {
        self.boot_offset_ns
            + t
            + (i128::from(t) * i128::from(self.sys_ppb)).div_euclid(1_000_000_000) as i64
    }

    /// CLOCK_REALTIME at true time `t`, plus a read noise.
    pub fn wall(&self, t: i64, noise_ns: i64) -> i64 {
        self.wall_epoch_ns + t + self.wall_error(t) + noise_ns
    }

    /// The wall clock's error at true time `t` (its offset plus the slew), ns.
    pub fn wall_error(&self, t: i64) -> i64 {
        self.wall_offset_ns + self.slew(t)
    }

    /// The slewing part of the wall offset at true time `t`, ns: a triangle
    /// from 0 up to `slew_ppb · period / 2` and back.
    fn slew(&self, t: i64) -> i64 {
        if self.slew_period_ns <= 0 || self.slew_ppb == 0 {
            return 0;
        }
        let p = i128::from(self.slew_period_ns);
        let x = (i128::from(t) + i128::from(self.slew_phase_ns)).rem_euclid(p);
        let up = p / 2 - (x - p / 2).abs();
        (up * i128::from(self.slew_ppb) / 1_000_000_000) as i64
    }

    /// The `SensorTimestamp` of a frame starting at true time `sof`: the boot
    /// clock at µs resolution (V4L2).
    pub fn sensor_timestamp(&self, sof: i64) -> i64 {
        self.boot(sof).div_euclid(1000) * 1000
    }

    /// The same, stamped `jitter_ns` late (interrupt latency).
    pub fn sensor_timestamp_jittered(&self, sof: i64, jitter_ns: i64) -> i64 {
        self.sensor_timestamp(sof + jitter_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_length_and_rounding() {
        let p = SensorParams::new(23_143, 33_333_000, 0, 2);
        assert_eq!(p.frame_lines, 1440);
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(-4, 3), -1);
        // 100 µs on 23.143 µs lines: 4.32 -> 4 lines; clamp at half a frame.
        assert_eq!(p.adjustment_lines(100), 4);
        assert_eq!(p.adjustment_lines(-100), -4);
        assert_eq!(p.adjustment_lines(1_000_000), 720);
        assert_eq!(p.adjustment_lines(-1_000_000), -720);
    }

    #[test]
    fn the_mode_limits_shortening_only() {
        let p = SensorParams::new(20_000, 33_340_000, 0, 2).with_min_frame_ns(32_800_000);
        assert_eq!(p.frame_lines, 1667);
        assert_eq!(p.min_frame_lines, 1640);
        assert_eq!(p.adjustment_lines(5_000), 27);
        assert_eq!(p.adjustment_lines(-5_000), -250);
    }

    #[test]
    fn an_adjustment_hits_one_frame_after_the_delay() {
        let p = SensorParams::new(20_000, 20_000_000, 0, 2);
        let mut s = Sensor::new(p, 1_000);
        let f0 = s.next_frame();
        assert_eq!(
            (f0.sof_ns, f0.next_sof_ns, f0.lines),
            (1_000, 20_001_000, 1000)
        );
        s.request_adjustment(f0.sof_ns, 200); // due at 40_001_000
        let f1 = s.next_frame();
        assert_eq!(f1.adj_us, 0);
        let f2 = s.next_frame();
        assert_eq!(
            (f2.sof_ns, f2.adj_us, f2.adj_lines, f2.lines),
            (40_001_000, 200, 10, 990)
        );
        let f3 = s.next_frame();
        assert_eq!((f3.sof_ns, f3.lines), (59_801_000, 1000));
        assert_eq!(s.applied(), 1);
    }

    #[test]
    fn ppm_error_stretches_frames() {
        let p = SensorParams::new(20_000, 20_000_000, 50_000, 2);
        let mut s = Sensor::new(p, 0);
        s.next_frame();
        assert_eq!(s.next_sof_ns(), 20_001_000);
    }

    #[test]
    fn host_clocks() {
        let h = HostClock {
            boot_offset_ns: 100,
            sys_ppb: -1_000,
            wall_offset_ns: 7,
            wall_epoch_ns: WALL_EPOCH_NS,
            slew_ppb: 0,
            slew_period_ns: 0,
            slew_phase_ns: 0,
        };
        assert_eq!(h.boot(1_000_000_000), 100 + 1_000_000_000 - 1_000);
        assert_eq!(h.boot(1), 100); // floor of -0.000001
        assert_eq!(h.wall(5, -2), WALL_EPOCH_NS + 10);
        assert_eq!(h.sensor_timestamp(1_999), 2_000); // boot 2098 ns -> 2 µs
    }

    #[test]
    fn slewing_is_a_triangle_of_the_given_slope() {
        let h = HostClock {
            boot_offset_ns: 0,
            sys_ppb: 0,
            wall_offset_ns: 0,
            wall_epoch_ns: 0,
            slew_ppb: 100_000, // 100 ppm
            slew_period_ns: 20_000_000_000,
            slew_phase_ns: 0,
        };
        assert_eq!(h.wall_error(0), 0);
        assert_eq!(h.wall_error(1_000_000_000), 100_000);
        assert_eq!(h.wall_error(10_000_000_000), 1_000_000);
        assert_eq!(h.wall_error(19_000_000_000), 100_000);
        assert_eq!(h.wall_error(20_000_000_000), 0);
    }
}
