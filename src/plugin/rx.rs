// SPDX-License-Identifier: LGPL-2.1-or-later
//! What a client does with its transport each frame: a bounded drain that
//! decodes and validates every datagram, counts the rejected ones by reason
//! (logging them rate-limited) and hands the valid packets to the core.

use std::net::SocketAddrV4;

use super::timers::RateLimit;
use crate::core::{PacketSource, SyncPacket, WireError};
use crate::net::socket::RX_BUF;
use crate::net::{NetError, Transport};

/// Datagrams received, by outcome.
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
    /// Reads that failed.
    pub errors: u64,
}

impl RxStats {
    /// Datagrams rejected, all reasons.
    pub fn rejected(&self) -> u64 {
        self.wrong_length + self.truncated + self.frame_duration + self.timestamp
    }

    fn count(&mut self, e: &WireError) {
        match e {
            WireError::WrongLength(_) => self.wrong_length += 1,
            WireError::Truncated(_) => self.truncated += 1,
            WireError::FrameDuration(_) => self.frame_duration += 1,
            WireError::Timestamp(_) => self.timestamp += 1,
        }
    }
}

/// A client's receive state: its buffer, counters and log rate limit.
#[derive(Debug)]
pub(super) struct Rx {
    buf: [u8; RX_BUF],
    pub stats: RxStats,
    log: RateLimit,
}

impl Default for Rx {
    fn default() -> Self {
        Rx {
            buf: [0; RX_BUF],
            stats: RxStats::default(),
            log: RateLimit::new(5_000_000_000),
        }
    }
}

impl Rx {
    /// This frame's packets from `transport`: at most `max` datagrams read.
    pub fn drain<'a, T: Transport>(
        &'a mut self,
        transport: &'a mut T,
        max: usize,
        now_ns: u64,
    ) -> Drain<'a, T> {
        Drain {
            rx: self,
            transport,
            max: max.max(1),
            read: 0,
            now_ns,
        }
    }
}

/// A bounded drain, handed to the core as its packet source.
pub(super) struct Drain<'a, T> {
    rx: &'a mut Rx,
    transport: &'a mut T,
    max: usize,
    read: usize,
    now_ns: u64,
}

impl<T: Transport> Drain<'_, T> {
    fn rejected(&mut self, from: Option<SocketAddrV4>, e: &WireError) {
        self.rx.stats.count(e);
        let Some(suppressed) = self.rx.log.allow(self.now_ns) else {
            return;
        };
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

    fn failed(&mut self, e: &NetError) {
        self.rx.stats.errors += 1;
        if let Some(suppressed) = self.rx.log.allow(self.now_ns) {
            tracing::warn!(suppressed, "sync socket: {e}");
        }
    }
}

impl<T: Transport> PacketSource for Drain<'_, T> {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        while self.read < self.max {
            self.read += 1;
            let r = match self.transport.recv(&mut self.rx.buf) {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    self.failed(&e);
                    return None;
                }
            };
            let decoded = SyncPacket::decode_received(&self.rx.buf, r.len)
                .and_then(|(p, _)| p.validate().map(|()| p));
            match decoded {
                Ok(p) => {
                    self.rx.stats.accepted += 1;
                    return Some(p);
                }
                Err(e) => self.rejected(r.from, &e),
            }
        }
        self.rx.stats.drain_limited += 1;
        None
    }
}
