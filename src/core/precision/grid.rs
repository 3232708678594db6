// SPDX-License-Identifier: LGPL-2.1-or-later
//! The server's frame grid as a client sees it: `t(n) = a + n·P` on the
//! server's wall clock, fitted to the packets.
//!
//! Each packet gives the wall clock of one server frame. The server's frame
//! index is not on the wire, but packets are whole frames apart, so the
//! index of a packet is its distance from the previous one divided by the
//! period, rounded. A least-squares line through the last 16 packets gives
//! the period to a small fraction of a ns (the `frame_duration` field alone
//! is rounded to 1 µs: `spec/precision.md` 1), and the phase.
//!
//! A packet far off the grid (beyond a tolerance derived from the measured
//! residuals) is held as a *candidate*: a second packet on the candidate's
//! grid confirms that the server restarted or its clock stepped
//! ([`Offer::Jump`]); a packet on the old grid drops it. So one stray or
//! forged packet cannot move a client, and a restart is followed within two
//! packets (`defects.md` 5).
//!
//! When the client's own wall clock steps, the grid is shifted with it
//! provisionally ([`Grid::shift`]): the first packet sent after the step
//! tells whether the server's clock stepped too (same host, or the same
//! correction everywhere) or not, in which case the shift is undone and the
//! client re-acquires on the server's clock ([`Offer::Unshifted`]).

use crate::core::wire::SyncPacket;

/// Packets in the fit.
const RING: usize = 16;
/// The smallest off-grid distance that counts as a jump, ns.
const TOL_MIN_NS: f64 = 100_000.0;
/// Residuals this many RMS out count as off the grid.
const TOL_RMS: f64 = 8.0;

/// What one packet did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offer {
    /// The first packet of a grid.
    First,
    /// On the grid; its residual, ns.
    Fitted(f64),
    /// Off the grid: held as a candidate (or a stray).
    Held,
    /// A packet sent before the client's own clock step: ignored.
    Stale,
    /// Values out of range: dropped.
    Invalid,
    /// A second packet confirmed a new grid; `new_run`: the ready time
    /// moved too (the server restarted).
    Jump { new_run: bool, moved_ns: f64 },
    /// After the client's own clock step, the server's clock did not step:
    /// the grid is back where the server's packets put it.
    Unshifted(f64),
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
    candidate: Option<(SyncPacket, i64)>,
    /// A provisional shift by the client's own clock step: (step, the
    /// step's instant on the new scale).
    shifted: Option<(i64, i64)>,
    packets: u64,
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
            candidate: None,
            shifted: None,
            packets: 0,
            strays: 0,
        }
    }

    /// No packet yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The server's frame period, ns (0 before a packet).
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

    fn restart(&mut self, entries: &[Entry], p: &SyncPacket) {
        self.len = 0;
        self.head = RING - 1;
        self.rms2 = 0.0;
        self.candidate = None;
        self.shifted = None;
        self.field_period = f64::from(p.frame_duration_us) * 1000.0;
        self.period = self.field_period;
        for e in entries {
            self.push(*e);
        }
        self.ready_ns = ns(p.ready_time_us);
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
        // At least two packets two frames apart for a slope.
        if self.len >= 2 && den > 2.0 * s {
            self.period = (s * sxy - sx * sy) / den;
            self.c0 = (sy - self.period * sx) / s;
        } else {
            self.period = self.field_period;
            self.c0 = 0.0;
        }
    }

    /// The grid's prediction for the frame `n`, ns (relative to the newest
    /// entry's timestamp).
    fn predict_rel(&self, n: i64) -> f64 {
        self.c0 + n.saturating_sub(self.newest().n) as f64 * self.period
    }

    /// Index and residual (ns) of a timestamp against the grid.
    fn place(&self, ts: i64) -> (i64, f64) {
        let top = self.newest();
        let rel = ts.wrapping_sub(top.ts) as f64;
        let k = ((rel - self.c0) / self.period + 0.5).floor();
        let n = top.n.saturating_add(k as i64);
        (n, rel - self.predict_rel(n))
    }

    /// Add a packet. One whose values are out of range
    /// ([`SyncPacket::validate`]) is dropped as [`Offer::Invalid`].
    pub fn offer(&mut self, p: &SyncPacket) -> Offer {
        if p.validate().is_err() {
            return Offer::Invalid;
        }
        self.packets += 1;
        let ts = ns(p.frame_ts_us);
        if self.len == 0 || self.period <= 0.0 {
            self.restart(&[Entry { n: 0, ts }], p);
            return Offer::First;
        }
        let (n, r) = self.place(ts);
        let tol = self.tol();
        if let Some((step, at)) = self.shifted {
            let r_unshifted = r + step as f64;
            if r.abs() <= tol {
                if ts > at.saturating_add(3 * self.period as i64) {
                    self.shifted = None;
                }
            } else if r_unshifted.abs() <= tol {
                if ts
                    <= at
                        .saturating_sub(step)
                        .saturating_add(3 * self.period as i64)
                {
                    // Sent before the step reached the server (or before our
                    // step): says nothing.
                    return Offer::Stale;
                }
                self.unshift(step);
                let (n, r) = self.place(ts);
                self.accept(n, ts, r, p);
                return Offer::Unshifted(-(step as f64));
            }
        }
        if r.abs() <= tol {
            if self.candidate.take().is_some() {
                self.strays += 1;
            }
            let ready = ns(p.ready_time_us);
            let new_run = ready.abs_diff(self.ready_ns) as f64 > self.period / 2.0;
            self.accept(n, ts, r, p);
            if new_run {
                // Same grid, new ready time: a new run of the server that
                // happens to start on the old grid.
                return Offer::Jump {
                    new_run: true,
                    moved_ns: 0.0,
                };
            }
            return Offer::Fitted(r);
        }
        // Off the grid.
        if let Some((c, cts)) = self.candidate {
            let period = f64::from(p.frame_duration_us) * 1000.0;
            let rel = ts.wrapping_sub(cts) as f64;
            let k = (rel / period + 0.5).floor();
            let rc = rel - k * period;
            if k >= 1.0 && rc.abs() <= tol.max(TOL_MIN_NS) {
                let new_run =
                    ns(c.ready_time_us).abs_diff(self.ready_ns) as f64 > self.period / 2.0;
                let moved = r;
                self.restart(&[Entry { n: 0, ts: cts }, Entry { n: k as i64, ts }], p);
                return Offer::Jump {
                    new_run,
                    moved_ns: moved,
                };
            }
            self.strays += 1;
        }
        self.candidate = Some((*p, ts));
        Offer::Held
    }

    fn accept(&mut self, n: i64, ts: i64, r: f64, p: &SyncPacket) {
        self.push(Entry { n, ts });
        self.field_period = f64::from(p.frame_duration_us) * 1000.0;
        self.ready_ns = ns(p.ready_time_us);
        let w = if self.len <= 2 { 1.0 } else { 1.0 / 8.0 };
        self.rms2 += w * (r * r - self.rms2);
        self.refit();
    }

    fn unshift(&mut self, step: i64) {
        for i in 0..self.len {
            let j = (self.head + RING - i) % RING;
            self.ring[j].ts = self.ring[j].ts.saturating_sub(step);
        }
        self.ready_ns = self.ready_ns.saturating_sub(step);
        self.shifted = None;
        self.refit();
    }

    /// The client's own wall clock stepped by `step` ns at `at` (new
    /// scale): move the grid with it until a packet says otherwise.
    pub fn shift(&mut self, step: i64, at: i64) {
        if self.len == 0 {
            return;
        }
        for i in 0..self.len {
            let j = (self.head + RING - i) % RING;
            self.ring[j].ts = self.ring[j].ts.saturating_add(step);
        }
        self.ready_ns = self.ready_ns.saturating_add(step);
        if let Some((_, cts)) = &mut self.candidate {
            *cts = cts.saturating_add(step);
        }
        // Two steps before a packet: undoing means undoing both.
        let total = self.shifted.map_or(0, |(s, _)| s).saturating_add(step);
        self.shifted = Some((total, at));
        self.refit();
    }

    /// `t` minus the nearest grid frame, ns (`t` on the client's wall clock).
    pub fn error(&self, t: i64) -> f64 {
        self.place(t).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_767_225_600_000_000;

    fn pkt(n: u64, period_ns: u64, phase_ns: u64, ready: u64) -> SyncPacket {
        SyncPacket {
            frame_duration_us: (period_ns / 1000) as u32,
            frame_ts_us: T0 + (phase_ns + n * period_ns) / 1000,
            ready_time_us: ready,
        }
    }

    #[test]
    fn the_period_comes_from_the_packets_not_the_field() {
        let mut g = Grid::new();
        let period = 33_333_777;
        for i in 0..20 {
            g.offer(&pkt(30 * i, period, 0, T0 + 3_333_377));
        }
        assert!((g.period() - period as f64).abs() < 2.0, "{}", g.period());
        // A frame 1000 periods after the first packet, 5 µs late.
        let t = (T0 * 1000 + 1000 * period + 5_000) as i64;
        assert!((g.error(t) - 5_000.0).abs() < 1_500.0, "{}", g.error(t));
        // Nearest-frame rounding is correct for both signs.
        let t = (T0 * 1000 + 1000 * period - 14_000_000) as i64;
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
            g.offer(&pkt(30 * i, period, 0, T0 + 5_000_000));
        }
        let stray = pkt(151, period, 7_000_000, T0 + 5_000_000);
        assert_eq!(g.offer(&stray), Offer::Held);
        assert!(matches!(
            g.offer(&pkt(180, period, 0, T0 + 5_000_000)),
            Offer::Fitted(_)
        ));
        assert_eq!(g.strays(), 1);
        // A restart: a new phase and a new ready time, twice.
        let ready2 = T0 + 60_000_000;
        assert_eq!(g.offer(&pkt(300, period, 9_000_000, ready2)), Offer::Held);
        match g.offer(&pkt(308, period, 9_000_000, ready2)) {
            Offer::Jump { new_run, .. } => assert!(new_run),
            o => panic!("{o:?}"),
        }
        let t = (T0 * 1000 + 310 * period + 9_000_000) as i64;
        assert!(g.error(t).abs() < 1_000.0);
        assert_eq!(g.ready_ns(), (ready2 * 1000) as i64);
    }

    #[test]
    fn own_step_is_kept_when_the_server_stepped_too_and_undone_otherwise() {
        let period = 33_333_000u64;
        let step = 5_000_000i64;
        for server_steps in [true, false] {
            let mut g = Grid::new();
            for i in 0..10 {
                g.offer(&pkt(30 * i, period, 0, T0 + 10_000_000));
            }
            // Our clock steps at frame 290 (new scale).
            let at = (T0 * 1000 + 290 * period) as i64 + step;
            g.shift(step, at);
            // A packet sent before the step, on the old scale: stale.
            assert_eq!(g.offer(&pkt(289, period, 0, T0 + 10_000_000)), Offer::Stale);
            let off = if server_steps { step as u64 } else { 0 };
            let o = g.offer(&pkt(300, period, off, T0 + 10_000_000 + off / 1000));
            let t = (T0 * 1000 + 310 * period) as i64 + step;
            if server_steps {
                assert!(matches!(o, Offer::Fitted(_)), "{o:?}");
                assert!(g.error(t).abs() < 1_000.0);
            } else {
                assert!(matches!(o, Offer::Unshifted(_)), "{o:?}");
                assert!((g.error(t) - step as f64).abs() < 1_000.0, "{}", g.error(t));
            }
        }
    }
}
