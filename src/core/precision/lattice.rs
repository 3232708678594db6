// SPDX-License-Identifier: LGPL-2.1-or-later
//! A schedule on the wall clock: frame starts at `origin + n·T`.
//!
//! When every host's wall clock is synchronised (PTP: well under a µs), the
//! frame grid does not need a server: each camera computes the same lattice
//! from the shared clock and aligns its own frames to it, with the
//! precision client's loop (`spec`: `seeds/mocap-toolkit-ptp-schedule.md`).
//! A server can also pin its own frames to a lattice (a pinned start), so
//! that its clients — any of them, reference ones included — land on it.
//!
//! Arithmetic is exact (integer ns in i128): a lattice whose origin is the
//! Unix epoch is 1.8·10¹⁸ ns away, where an f64 steps by 256 ns.

/// The lattice `origin + n·period` on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lattice {
    /// A lattice point, ns since the epoch.
    pub origin_ns: i64,
    /// The spacing, ns (> 0).
    pub period_ns: i64,
}

impl Lattice {
    /// A lattice, if the period makes one.
    pub fn new(origin_ns: i64, period_ns: i64) -> Option<Lattice> {
        (period_ns > 0).then_some(Lattice {
            origin_ns,
            period_ns,
        })
    }

    /// `wall` minus the nearest lattice point, ns (in `[−T/2, T/2)`).
    pub fn error(&self, wall_ns: i64) -> i64 {
        let t = i128::from(self.period_ns);
        let d = i128::from(wall_ns) - i128::from(self.origin_ns);
        let n = (d + t / 2).div_euclid(t);
        (d - n * t) as i64
    }

    /// The first lattice point at or after `wall`, ns.
    pub fn at_or_after(&self, wall_ns: i64) -> i64 {
        let t = i128::from(self.period_ns);
        let d = i128::from(wall_ns) - i128::from(self.origin_ns);
        let n = d.div_euclid(t) + i128::from(d.rem_euclid(t) != 0);
        i64::try_from(i128::from(self.origin_ns) + n * t).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_exact_far_from_the_origin() {
        let l = Lattice::new(0, 33_333_000).unwrap();
        let t0 = 1_767_225_600_000_000_000i64;
        let e = l.error(t0);
        assert!(e.abs() <= 33_333_000 / 2);
        assert_eq!(l.error(t0 - e), 0);
        assert_eq!(l.error(t0 - e + 5), 5);
        assert_eq!(l.error(t0 - e - 5), -5);
        assert_eq!(l.error(t0 - e + 16_666_499), 16_666_499);
        assert_eq!(l.error(t0 - e + 16_666_500), -16_666_500);
    }

    #[test]
    fn next_point() {
        let l = Lattice::new(1_000, 10).unwrap();
        assert_eq!(l.at_or_after(1_000), 1_000);
        assert_eq!(l.at_or_after(1_001), 1_010);
        assert_eq!(l.at_or_after(999), 1_000);
        assert_eq!(l.at_or_after(-5), 0);
        assert!(Lattice::new(0, 0).is_none());
    }
}
