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

#[cfg(test)]
mod tests {
    use super::*;

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
