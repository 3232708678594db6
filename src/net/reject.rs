// SPDX-License-Identifier: LGPL-2.1-or-later
//! Counting rejected datagrams, and logging them without flooding the log.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use crate::core::WireError;

/// Why datagrams were dropped, counted per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxStats {
    /// Valid packets handed to the core.
    pub accepted: u64,
    /// Neither 24 nor 40 bytes.
    pub wrong_length: u64,
    /// Longer than the receive buffer.
    pub truncated: u64,
    /// Frame duration out of range.
    pub frame_duration: u64,
    /// Implausible timestamp.
    pub timestamp: u64,
    /// Datagrams discarded when the socket was opened (stale).
    pub flushed: u64,
    /// Drains that stopped at the per-frame bound (more may have been waiting).
    pub drain_limited: u64,
}

impl std::ops::AddAssign for RxStats {
    fn add_assign(&mut self, o: RxStats) {
        self.accepted += o.accepted;
        self.wrong_length += o.wrong_length;
        self.truncated += o.truncated;
        self.frame_duration += o.frame_duration;
        self.timestamp += o.timestamp;
        self.flushed += o.flushed;
        self.drain_limited += o.drain_limited;
    }
}

impl RxStats {
    pub fn rejected(&self) -> u64 {
        self.wrong_length + self.truncated + self.frame_duration + self.timestamp
    }

    pub(super) fn count(&mut self, e: &WireError) {
        match e {
            WireError::WrongLength(_) => self.wrong_length += 1,
            WireError::Truncated(_) => self.truncated += 1,
            WireError::FrameDuration(_) => self.frame_duration += 1,
            WireError::Timestamp(_) => self.timestamp += 1,
        }
    }
}

/// Logs at most one warning per interval, saying how many were suppressed.
#[derive(Debug)]
pub struct RateLimitedLog {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// Log a rejected datagram, unless one was logged less than an interval ago.
    pub fn rejected(&mut self, from: Option<SocketAddrV4>, e: &WireError) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.interval)
        {
            self.suppressed += 1;
            return;
        }
        self.last = Some(now);
        let suppressed = std::mem::take(&mut self.suppressed);
        match from {
            Some(from) => tracing::warn!(
                %from, reason = e.reason(), suppressed, "rejected sync datagram: {e}"
            ),
            None => tracing::warn!(
                reason = e.reason(),
                suppressed,
                "rejected sync datagram: {e}"
            ),
        }
    }
}
