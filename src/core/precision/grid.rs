// SPDX-License-Identifier: LGPL-2.1-or-later
//! The server's frame grid as a client sees it: `t(n) = a + n·P`, fitted to
//! the packets, on the client's own MONOTONIC clock.
//!
//! Each packet gives the wall clock of one server frame; the client maps it
//! to its MONOTONIC clock through its own wall-clock fit before it enters
//! the grid. There the server's frames lie on a line even while the wall
//! clock is slewed (the slew is the same on both sides of one host, and
//! the client's own frames are measured on MONOTONIC too), so a long fit
//! stays exact. The server's frame index is not on the wire, but packets
//! are whole frames apart: the index of a packet is its distance from the
//! previous one divided by the period, rounded. A least-squares line
//! through the last 16 packets gives the period to a small fraction of a ns
//! (the `frame_duration` field alone is rounded to 1 µs:
//! `spec/precision.md` 1) and the phase.
//!
//! A packet far off the grid (beyond a tolerance derived from the measured
//! residuals) is held as a *candidate*: a second packet on the candidate's
//! grid confirms that the server restarted or its clock stepped
//! ([`Offer::Jump`]); a packet on the old grid drops it. So one stray or
//! forged packet cannot move a client, and a restart is followed within two
//! packets (`defects.md` 5).
//!
//! When the client's own wall clock steps by Δ, packets of a server whose
//! clock did not step land Δ off the grid. The client says so
//! ([`Grid::expect_step`]): the first packet sent after the step that is
//! off by exactly that much moves the grid at once (the client then follows
//! its wall clock); a packet still on the grid means the server's clock
//! stepped too (one host, or one correction everywhere) and nothing moves.

use crate::core::wire::SyncPacket;

/// Packets in the fit.
const RING: usize = 16;
/// The smallest off-grid distance that counts as a jump, ns.
const TOL_MIN_NS: f64 = 100_000.0;
/// Residuals this many RMS out count as off the grid.
const TOL_RMS: f64 = 8.0;
/// The scatter of a packet about the grid expected before the packets show
/// theirs, ns² (2 µs: the wire's µs and two wall-clock fits, the server's
/// and the client's; in the simulator sixteen packets scatter by 1–2.5 µs).
const PACKET_VAR_PRIOR: f64 = 2_000.0 * 2_000.0;

/// A packet as the grid takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The server frame's start, on the client's MONOTONIC clock, ns.
    pub frame_ns: i64,
    /// The server's ready instant, on its wall clock, ns.
    pub ready_ns: i64,
    /// The `frame_duration` field, ns.
    pub period_ns: f64,
}

impl Sample {
    /// A validated packet whose frame time was mapped to MONOTONIC.
    pub fn new(p: &SyncPacket, frame_mono_ns: i64) -> Sample {
        Sample {
            frame_ns: frame_mono_ns,
            ready_ns: ns(p.ready_time_us),
            period_ns: f64::from(p.frame_duration_us) * 1000.0,
        }
    }
}

/// What one packet did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offer {
    /// The first packet of a grid.
    First,
    /// On the grid; its residual, ns.
    Fitted(f64),
    /// Off the grid: held as a candidate (or a stray).
    Held,
    /// A second packet confirmed a new grid (or the first after our own
    /// clock step, off by that step); `new_run`: the ready time moved too
    /// (the server restarted). `moved_ns`: how far the grid moved.
    Jump { new_run: bool, moved_ns: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Entry {
    n: i64,
    ts: i64,
}

/// The grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    ring: [Entry; RING],
    len: usize,
    /// Index in `ring` of the newest entry.
    head: usize,
    /// Fitted offset at the newest entry (ns, relative to its timestamp).
    c0: f64,
    period: f64,
    /// The `frame_duration` field of the newest packet, ns.
    field_period: f64,
    ready_ns: i64,
    /// Exponentially weighted residual power, ns².
    rms2: f64,
    /// The fit's packets: their mean index (relative to the newest entry),
    /// the sum of squared index deviations from it, and their scatter about
    /// the line (variance, ns²).
    mean_n: f64,
    sxx: f64,
    scatter: f64,
    candidate: Option<Sample>,
    /// A ready time other than the grid's, from a packet on the grid: a new
    /// run of the server only once a second packet says the same.
    ready_candidate: Option<i64>,
    /// Our own clock stepped: packets of a server that did not step are off
    /// by this much (ns) if they describe frames after this instant (ns).
    expected: Option<(f64, i64)>,
    strays: u64,
}

impl Default for Grid {
    fn default() -> Self {
        Self::new()
    }
}

fn ns(us: u64) -> i64 {
    i64::try_from(us)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

impl Grid {
    pub fn new() -> Grid {
        Grid {
            ring: [Entry::default(); RING],
            len: 0,
            head: 0,
            c0: 0.0,
            period: 0.0,
            field_period: 0.0,
            ready_ns: 0,
            rms2: 0.0,
            mean_n: 0.0,
            sxx: 0.0,
            scatter: PACKET_VAR_PRIOR,
            candidate: None,
            ready_candidate: None,
            expected: None,
            strays: 0,
        }
    }

    /// No packet yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The server's frame period, ns of the client's MONOTONIC clock (0
    /// before a packet).
    pub fn period(&self) -> f64 {
        self.period
    }

    /// The server's ready instant, ns on its wall clock.
    pub fn ready_ns(&self) -> i64 {
        self.ready_ns
    }

    /// Packets in the fit.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Packets that fitted neither the grid nor a confirmed candidate.
    pub fn strays(&self) -> u64 {
        self.strays
    }

    /// Off-grid tolerance, ns.
    fn tol(&self) -> f64 {
        (TOL_RMS * self.rms2.sqrt())
            .max(TOL_MIN_NS)
            .min(self.period / 4.0)
    }

    fn newest(&self) -> Entry {
        self.ring[self.head]
    }

    fn restart(&mut self, entries: &[Entry], s: &Sample) {
        self.len = 0;
        self.head = RING - 1;
        self.rms2 = 0.0;
        self.candidate = None;
        self.ready_candidate = None;
        self.expected = None;
        self.field_period = s.period_ns;
        self.period = self.field_period;
        for e in entries {
            self.push(*e);
        }
        self.ready_ns = s.ready_ns;
        self.refit();
    }

    fn push(&mut self, e: Entry) {
        self.head = (self.head + 1) % RING;
        self.ring[self.head] = e;
        self.len = (self.len + 1).min(RING);
    }

    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.len).map(move |i| self.ring[(self.head + RING - i) % RING])
    }

    /// Least squares through the ring, relative to the newest entry.
    fn refit(&mut self) {
        let top = self.newest();
        let (mut s, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for e in self.entries() {
            let x = e.n.saturating_sub(top.n) as f64;
            let y = e.ts.wrapping_sub(top.ts) as f64;
            s += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let den = s * sxx - sx * sx;
        self.mean_n = sx / s;
        self.sxx = den / s;
        // At least two packets two frames apart for a slope.
        if self.len >= 2 && den > 2.0 * s {
            self.period = (s * sxy - sx * sy) / den;
            self.c0 = (sy - self.period * sx) / s;
        } else {
            self.period = self.field_period;
            self.c0 = 0.0;
        }
        // The residuals' variance, with PACKET_VAR_PRIOR as one degree of
        // freedom's worth of prior (two packets have no residual).
        let rss: f64 = self
            .entries()
            .map(|e| {
                let x = e.n.saturating_sub(top.n) as f64;
                let y = e.ts.wrapping_sub(top.ts) as f64;
                (y - self.c0 - self.period * x).powi(2)
            })
            .sum();
        let dof = (self.len as f64 - 2.0).max(0.0);
        self.scatter = (PACKET_VAR_PRIOR + rss) / (1.0 + dof);
    }

    /// The grid's prediction for the frame `n`, ns (relative to the newest
    /// entry's timestamp).
    fn predict_rel(&self, n: i64) -> f64 {
        self.c0 + n.saturating_sub(self.newest().n) as f64 * self.period
    }

    /// Index and residual (ns) of a time against the grid.
    fn place(&self, ts: i64) -> (i64, f64) {
        let top = self.newest();
        let rel = ts.wrapping_sub(top.ts) as f64;
        let k = ((rel - self.c0) / self.period + 0.5).floor();
        let n = top.n.saturating_add(k as i64);
        (n, rel - self.predict_rel(n))
    }

    fn moved(&self, ready_ns: i64) -> bool {
        ready_ns.abs_diff(self.ready_ns) as f64 > self.period / 2.0
    }

    /// Add a packet.
    pub fn offer(&mut self, s: &Sample) -> Offer {
        let ts = s.frame_ns;
        if self.len == 0 || self.period <= 0.0 || s.period_ns <= 0.0 {
            self.restart(&[Entry { n: 0, ts }], s);
            return Offer::First;
        }
        let (n, r) = self.place(ts);
        let tol = self.tol();
        if r.abs() <= tol {
            if self.candidate.take().is_some() {
                self.strays += 1;
            }
            if self.expected.is_some_and(|(_, after)| ts > after) {
                // The server's clock stepped with ours.
                self.expected = None;
            }
            if self.moved(s.ready_ns) {
                // Same grid, new ready time: a new run of the server that
                // happens to start on the old grid, once a second packet
                // says so; until then the timing counts, the ready time
                // does not (a forged ready time re-armed SyncReady on
                // every packet, so that a client never became ready).
                let confirmed = self
                    .ready_candidate
                    .is_some_and(|c| c.abs_diff(s.ready_ns) as f64 <= self.period / 2.0);
                if !confirmed {
                    self.ready_candidate = Some(s.ready_ns);
                    self.strays += 1;
                    let ready = self.ready_ns;
                    self.accept(n, ts, r, s);
                    self.ready_ns = ready;
                    return Offer::Fitted(r);
                }
                self.ready_candidate = None;
                self.accept(n, ts, r, s);
                return Offer::Jump {
                    new_run: true,
                    moved_ns: 0.0,
                };
            }
            self.ready_candidate = None;
            self.accept(n, ts, r, s);
            return Offer::Fitted(r);
        }
        // Off the grid by our own clock step, for a frame after it: the
        // server's clock did not step; follow ours.
        if let Some((step, after)) = self.expected
            && (r - step).abs() <= tol
            && (ts as f64 - step) > after as f64
        {
            let new_run = self.moved(s.ready_ns);
            self.restart(&[Entry { n: 0, ts }], s);
            return Offer::Jump {
                new_run,
                moved_ns: r,
            };
        }
        if let Some(c) = self.candidate {
            let rel = ts.wrapping_sub(c.frame_ns) as f64;
            let k = (rel / s.period_ns + 0.5).floor();
            let rc = rel - k * s.period_ns;
            // The candidate's period is only the rounded field (and the
            // server may run at another rate than before): allow 2 µs a frame.
            let tol_k = (tol + 2_000.0 * k).min(s.period_ns / 4.0);
            if k >= 1.0 && rc.abs() <= tol_k {
                let new_run = self.moved(c.ready_ns);
                self.restart(
                    &[
                        Entry {
                            n: 0,
                            ts: c.frame_ns,
                        },
                        Entry { n: k as i64, ts },
                    ],
                    s,
                );
                return Offer::Jump {
                    new_run,
                    moved_ns: r,
                };
            }
            self.strays += 1;
        }
        self.candidate = Some(*s);
        Offer::Held
    }

    fn accept(&mut self, n: i64, ts: i64, r: f64, s: &Sample) {
        self.push(Entry { n, ts });
        self.field_period = s.period_ns;
        self.ready_ns = s.ready_ns;
        let w = if self.len <= 2 { 1.0 } else { 1.0 / 8.0 };
        self.rms2 += w * (r * r - self.rms2);
        self.refit();
    }

    /// The client's own wall clock stepped by `step` ns at MONOTONIC `at`:
    /// packets about later frames from a server that did not step will be
    /// `−step` off the grid.
    pub fn expect_step(&mut self, step: i64, at: i64) {
        if self.len > 0 {
            let after = at.saturating_add((3.0 * self.period) as i64);
            self.expected = Some((-(step as f64), after));
        }
    }

    /// `t` minus the nearest grid frame, ns (`t` on the client's MONOTONIC
    /// clock).
    pub fn error(&self, t: i64) -> f64 {
        self.place(t).1
    }

    /// The standard deviation of [`Grid::error`] at `t` that comes from the
    /// grid, ns: the least-squares line's prediction error for the frame
    /// nearest `t`, from the packets' scatter about it ([`PACKET_VAR_PRIOR`]
    /// counting as one residual's worth). Two packets eight frames apart,
    /// thirty frames on, are worth ~6 times that scatter; sixteen spread
    /// over hundreds of frames, a fraction of it. One packet (the rounded
    /// `frame_duration` for the period) is worth nothing: infinite.
    pub fn sigma(&self, t: i64) -> f64 {
        if self.len < 2 || self.sxx <= 0.0 {
            return f64::INFINITY;
        }
        let x = self.place(t).0.saturating_sub(self.newest().n) as f64;
        let var = self.scatter * (1.0 / self.len as f64 + (x - self.mean_n).powi(2) / self.sxx);
        var.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 5_000_000_000_000;

    fn sample(n: i64, period: i64, phase: i64, ready: i64) -> Sample {
        Sample {
            frame_ns: T0 + phase + n * period,
            ready_ns: ready,
            period_ns: (period / 1000 * 1000) as f64,
        }
    }

    #[test]
    fn the_period_comes_from_the_packets_not_the_field() {
        let mut g = Grid::new();
        let period = 33_333_777;
        for i in 0..20 {
            // µs timestamps, as on the wire.
            let mut s = sample(30 * i, period, 0, 7);
            s.frame_ns = s.frame_ns / 1000 * 1000;
            g.offer(&s);
        }
        assert!((g.period() - period as f64).abs() < 2.0, "{}", g.period());
        // A frame 1000 periods after the first packet, 5 µs late.
        let t = T0 + 1000 * period + 5_000;
        assert!((g.error(t) - 5_000.0).abs() < 1_500.0, "{}", g.error(t));
        // Nearest-frame rounding is correct for both signs.
        let t = T0 + 1000 * period - 14_000_000;
        assert!(
            (g.error(t) + 14_000_000.0).abs() < 2_000.0,
            "{}",
            g.error(t)
        );
    }

    #[test]
    fn a_stray_packet_does_not_move_the_grid_and_a_restart_needs_two() {
        let mut g = Grid::new();
        let period = 33_333_000;
        for i in 0..5 {
            g.offer(&sample(30 * i, period, 0, 5_000_000));
        }
        assert_eq!(
            g.offer(&sample(151, period, 7_000_000, 5_000_000)),
            Offer::Held
        );
        assert!(matches!(
            g.offer(&sample(180, period, 0, 5_000_000)),
            Offer::Fitted(_)
        ));
        assert_eq!(g.strays(), 1);
        // A restart: a new phase and a new ready time, twice.
        let ready2 = 60_000_000_000;
        assert_eq!(
            g.offer(&sample(300, period, 9_000_000, ready2)),
            Offer::Held
        );
        match g.offer(&sample(308, period, 9_000_000, ready2)) {
            Offer::Jump { new_run, .. } => assert!(new_run),
            o => panic!("{o:?}"),
        }
        let t = T0 + 310 * period + 9_000_000;
        assert!(g.error(t).abs() < 1_000.0);
        assert_eq!(g.ready_ns(), ready2);
    }

    #[test]
    fn a_new_ready_time_on_the_grid_needs_a_second_packet() {
        let mut g = Grid::new();
        let period = 33_333_000;
        let (a, b) = (5_000_000_000, 3_600_000_000_000);
        for i in 0..5 {
            g.offer(&sample(8 * i, period, 0, a));
        }
        // A forger re-sends every genuine packet with a far-off ready time:
        // it never moves the ready time, never re-arms.
        for i in 5..20 {
            assert!(matches!(
                g.offer(&sample(8 * i, period, 0, b)),
                Offer::Fitted(_)
            ));
            assert!(matches!(
                g.offer(&sample(8 * i, period, 0, a)),
                Offer::Fitted(_)
            ));
            assert_eq!(g.ready_ns(), a);
        }
        assert_eq!(g.strays(), 15);
        // A real new run on the same grid: said twice, followed.
        assert!(matches!(
            g.offer(&sample(170, period, 0, b)),
            Offer::Fitted(_)
        ));
        assert_eq!(
            g.offer(&sample(178, period, 0, b)),
            Offer::Jump {
                new_run: true,
                moved_ns: 0.0
            }
        );
        assert_eq!(g.ready_ns(), b);
    }

    #[test]
    fn our_clock_step_moves_the_grid_only_if_the_server_did_not_step() {
        let period = 33_333_000i64;
        let step = 5_000_000i64;
        for server_steps in [true, false] {
            let mut g = Grid::new();
            for i in 0..10 {
                g.offer(&sample(30 * i, period, 0, 10_000_000));
            }
            // Our wall clock steps at frame 290: packets now map to
            // MONOTONIC `step` earlier, unless the server's stepped too.
            g.expect_step(step, T0 + 290 * period);
            let off = if server_steps { 0 } else { -step };
            // A packet about a frame before the step says nothing.
            let o = g.offer(&sample(289, period, -step, 10_000_000));
            assert_eq!(o, Offer::Held);
            let o = g.offer(&sample(300, period, off, 10_000_000));
            let t = T0 + 310 * period;
            if server_steps {
                assert!(matches!(o, Offer::Fitted(_)), "{o:?}");
                assert!(g.error(t).abs() < 1_000.0);
            } else {
                assert!(matches!(o, Offer::Jump { new_run: false, .. }), "{o:?}");
                assert!((g.error(t) - step as f64).abs() < 1_000.0, "{}", g.error(t));
            }
        }
    }

    #[test]
    fn its_uncertainty_shrinks_with_packets_and_grows_with_distance() {
        let period = 33_339_298;
        let mut g = Grid::new();
        g.offer(&sample(0, period, 0, 7));
        assert!(g.sigma(T0 + 30 * period).is_infinite());
        g.offer(&sample(8, period, 0, 7));
        // Two packets eight frames apart, thirty frames on: ~6 × 2 µs.
        let two = g.sigma(T0 + 38 * period);
        assert!((two - 12_100.0).abs() < 500.0, "{two}");
        assert!(g.sigma(T0 + 8 * period) < two / 4.0);
        // A second of packets every 8 frames, then every 30: a fraction
        // of a packet's scatter, and what they scatter by counts.
        for n in [16, 24, 54, 84, 114, 144] {
            g.offer(&sample(n, period, 0, 7));
        }
        let many = g.sigma(T0 + 174 * period);
        assert!(many < 1_500.0, "{many}");
        let (mut clean, mut noisy) = (g.clone(), g);
        for (n, off) in [(174, 5_000), (204, -5_000)] {
            clean.offer(&sample(n, period, 0, 7));
            noisy.offer(&sample(n, period, off, 7));
        }
        let t = T0 + 234 * period;
        assert!(noisy.sigma(t) > 2.0 * clean.sigma(t));
    }
}
