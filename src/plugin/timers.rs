// SPDX-License-Identifier: LGPL-2.1-or-later
//! Time-based log policies on the instance's monotonic clock
//! ([`super::Clock::now_ns`]), so that they are deterministic under a
//! simulated clock.

/// Allows one log line per interval, counting the ones it held back.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    interval_ns: u64,
    last_ns: Option<u64>,
    suppressed: u64,
}

impl RateLimit {
    pub const fn new(interval_ns: u64) -> RateLimit {
        RateLimit {
            interval_ns,
            last_ns: None,
            suppressed: 0,
        }
    }

    /// May a line be logged at `now_ns`? `Some(n)`: yes, and `n` were held
    /// back since the last one; `None`: not yet (counted).
    pub fn allow(&mut self, now_ns: u64) -> Option<u64> {
        if self
            .last_ns
            .is_some_and(|t| now_ns.saturating_sub(t) < self.interval_ns)
        {
            self.suppressed += 1;
            return None;
        }
        self.last_ns = Some(now_ns);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Notices a stretch without something good (a valid packet, a successful
/// send): says so once when it has lasted a timeout, and once more when it
/// ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watchdog {
    /// When the current stretch began.
    since_ns: Option<u64>,
    warned: bool,
}

impl Watchdog {
    /// Something good happened at `now_ns`: `Some(ns)` if a warning was
    /// given for the stretch this ends, which lasted `ns`.
    pub fn good(&mut self, now_ns: u64) -> Option<u64> {
        let since = self.since_ns.take();
        std::mem::take(&mut self.warned).then(|| now_ns.saturating_sub(since.unwrap_or(now_ns)))
    }

    /// Nothing good at `now_ns`: `Some(ns)` once, when the stretch first
    /// lasts `timeout_ns` (0: never).
    pub fn bad(&mut self, now_ns: u64, timeout_ns: u64) -> Option<u64> {
        let since = *self.since_ns.get_or_insert(now_ns);
        let lasted = now_ns.saturating_sub(since);
        if self.warned || timeout_ns == 0 || lasted < timeout_ns {
            return None;
        }
        self.warned = true;
        Some(lasted)
    }

    /// Forget the stretch (a new run, another mode).
    pub fn reset(&mut self) {
        *self = Watchdog::default();
    }
}

/// The first retry after a failure, ns.
pub const FIRST_RETRY_NS: u64 = 500_000_000;
/// Retries are this far apart at most, ns.
pub const MAX_RETRY_NS: u64 = 5_000_000_000;

/// When to try again something that keeps failing (opening the socket): the
/// delay doubles from [`FIRST_RETRY_NS`] to [`MAX_RETRY_NS`]; the first
/// failure of a stretch is the one to say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backoff {
    failures: u64,
    next_ns: u64,
}

impl Backoff {
    /// May it be tried at `now_ns`?
    pub fn due(&self, now_ns: u64) -> bool {
        self.failures == 0 || now_ns >= self.next_ns
    }

    /// It failed at `now_ns`; true for the first failure of a stretch.
    pub fn failed(&mut self, now_ns: u64) -> bool {
        let shift = self.failures.min(16) as u32;
        let delay = FIRST_RETRY_NS.saturating_mul(1 << shift).min(MAX_RETRY_NS);
        self.failures += 1;
        self.next_ns = now_ns.saturating_add(delay);
        self.failures == 1
    }

    /// It worked: `Some(n)` if it had failed `n` times before.
    pub fn succeeded(&mut self) -> Option<u64> {
        let n = std::mem::take(&mut self.failures);
        (n > 0).then_some(n)
    }

    /// Failures in the current stretch.
    pub fn failures(&self) -> u64 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watchdog_warns_once_per_stretch_and_once_at_its_end() {
        let mut w = Watchdog::default();
        assert_eq!(w.good(0), None);
        assert_eq!(w.bad(100, 50), None, "the stretch starts");
        assert_eq!(w.bad(140, 50), None);
        assert_eq!(w.bad(150, 50), Some(50));
        assert_eq!(w.bad(900, 50), None, "once");
        assert_eq!(w.good(1000), Some(900));
        assert_eq!(w.good(1001), None);
        assert_eq!(w.bad(2000, 0), None, "0: never");
        assert_eq!(w.bad(9000, 0), None);
        w.reset();
        assert_eq!(w.bad(10_000, 50), None);
        assert_eq!(w.bad(10_060, 50), Some(60));
    }

    #[test]
    fn a_backoff_doubles_to_its_maximum_and_says_the_first_failure() {
        let mut b = Backoff::default();
        assert!(b.due(0));
        assert!(b.failed(0), "the first failure is said");
        assert!(!b.due(FIRST_RETRY_NS - 1));
        assert!(b.due(FIRST_RETRY_NS));
        let mut t = FIRST_RETRY_NS;
        let mut gaps = Vec::new();
        for _ in 0..8 {
            assert!(!b.failed(t), "later ones are not");
            let mut next = t;
            while !b.due(next) {
                next += 100_000_000;
            }
            gaps.push((next - t) / 100_000_000);
            t = next;
        }
        assert_eq!(gaps, [10, 20, 40, 50, 50, 50, 50, 50]);
        assert_eq!(b.succeeded(), Some(9));
        assert_eq!(b.succeeded(), None);
        assert!(b.due(t));
    }

    #[test]
    fn one_line_per_interval() {
        let mut r = RateLimit::new(10);
        assert_eq!(r.allow(100), Some(0));
        assert_eq!(r.allow(105), None);
        assert_eq!(r.allow(109), None);
        assert_eq!(r.allow(110), Some(2));
        assert_eq!(r.allow(111), None);
    }
}
