// SPDX-License-Identifier: LGPL-2.1-or-later
//! Alignment metrics: nearest-rank percentiles of |phase error|, and the
//! phase error of a frame against the nearest server frame.

use serde::Serialize;

/// Nearest-rank percentiles of the absolute values, in µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ErrorStats {
    /// Frames measured.
    pub n: usize,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Mean of the signed errors, µs.
    pub mean_signed_us: f64,
}

/// The nearest-rank `p`-th percentile of sorted values (`p` in 0..=100; 0
/// for none).
pub fn nearest_rank<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn us(ns: i64) -> f64 {
    ns as f64 / 1000.0
}

impl ErrorStats {
    /// Statistics of signed errors in ns.
    pub fn of(errors_ns: &[i64]) -> ErrorStats {
        if errors_ns.is_empty() {
            return ErrorStats::default();
        }
        let mut abs: Vec<i64> = errors_ns.iter().map(|e| e.abs()).collect();
        abs.sort_unstable();
        let sum: i128 = errors_ns.iter().map(|&e| i128::from(e)).sum();
        ErrorStats {
            n: abs.len(),
            p50_us: us(nearest_rank(&abs, 50.0)),
            p95_us: us(nearest_rank(&abs, 95.0)),
            p99_us: us(nearest_rank(&abs, 99.0)),
            max_us: us(abs[abs.len() - 1]),
            mean_signed_us: (sum as f64 / abs.len() as f64 / 1000.0 * 1000.0).round() / 1000.0,
        }
    }
}

/// The start-of-frame instants of a reference camera, for "nearest frame"
/// questions. Both lists must be sorted.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// Start of every reference frame, ns.
    pub sofs: Vec<i64>,
    /// Whether the reference reported each frame SyncReady.
    pub ready: Vec<bool>,
    /// Streaming spans `[first SOF − ½ frame, last SOF + ½ frame]`.
    pub spans: Vec<(i64, i64)>,
}

impl Reference {
    /// `t` minus the nearest reference SOF, or `None` if `t` is outside every
    /// streaming span.
    pub fn error(&self, t: i64) -> Option<i64> {
        self.nearest(t).map(|(e, _)| e)
    }

    /// `t` minus the nearest reference SOF and whether that frame was
    /// reported ready, or `None` if `t` is outside every streaming span.
    pub fn nearest(&self, t: i64) -> Option<(i64, bool)> {
        if !self.spans.iter().any(|&(a, b)| a <= t && t <= b) {
            return None;
        }
        let i = self.sofs.partition_point(|&s| s < t);
        let after = self.sofs.get(i).map(|&s| (t - s, i));
        let before = i.checked_sub(1).map(|j| (t - self.sofs[j], j));
        let (e, j) = match (before, after) {
            (Some(b), Some(a)) => {
                if b.0.abs() <= a.0.abs() {
                    b
                } else {
                    a
                }
            }
            (b, a) => b.or(a)?,
        };
        Some((e, self.ready.get(j).copied().unwrap_or(false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 50.0), 50);
        assert_eq!(nearest_rank(&v, 99.0), 99);
        assert_eq!(nearest_rank(&v, 100.0), 100);
        assert_eq!(nearest_rank(&[7], 50.0), 7);
        let s = ErrorStats::of(&[-3000, 1000, 2000]);
        assert_eq!((s.n, s.p50_us, s.max_us), (3, 2.0, 3.0));
        assert_eq!(s.mean_signed_us, 0.0);
    }

    #[test]
    fn error_against_the_nearest_reference_frame() {
        let r = Reference {
            sofs: vec![0, 100, 200],
            ready: vec![false, true, true],
            spans: vec![(-50, 250)],
        };
        assert_eq!(r.nearest(30), Some((30, false)));
        assert_eq!(r.nearest(70), Some((-30, true)));
        assert_eq!(r.error(10), Some(10));
        assert_eq!(r.error(160), Some(-40));
        assert_eq!(r.error(240), Some(40));
        assert_eq!(r.error(-40), Some(-40));
        assert_eq!(r.error(260), None);
    }
}
