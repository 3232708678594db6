// SPDX-License-Identifier: LGPL-2.1-or-later
//! What a client does with its transport each frame: a bounded drain that
//! judges every datagram, cheapest test first, counts the rejected ones by
//! reason (logging them rate-limited) and hands the rest to the core:
//!
//! 1. its length (24 or 40 bytes) — a flood of garbage costs a read each;
//! 2. where it was sent: only datagrams sent to the group are sync packets
//!    (the port also receives unicast from any host that can route to it);
//! 3. who sent it, when the configuration names the servers (`servers`);
//! 4. its values, alone and against ours (after its MAC, with a key): a frame duration within a few
//!    percent of our `FrameDurationLimits`, a frame time near our wall
//!    clock, a ready time a server could mean;
//! 5. with a key (`key_file`), its MAC (authenticated packets only; without
//!    a key, none), and that it was not received before;
//! 6. the server this client follows: the first that sent a valid packet,
//!    until it falls silent. Another server's packets (two servers on one
//!    group, or a forger on another host) are counted and said once per
//!    episode, never followed while the first one speaks. A server on the
//!    same host from another port is what a restart looks like (a new
//!    socket): it is followed as soon as the first one has missed a packet
//!    (its longest recent interval and a quarter), not after three intervals
//!    of silence, and called a second server only if the first speaks again.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::timers::RateLimit;
use crate::core::auth::{AUTH_LEN, AuthKey, AuthPacket, ReplayWindow};
use crate::core::{Expect, PacketSource, SyncPacket, WireError};
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
    /// Implausible timestamp (e.g. a server clock at 1970).
    pub timestamp: u64,
    /// A frame duration other than ours (another frame rate).
    pub other_rate: u64,
    /// A frame time far from our wall clock.
    pub clock_offset: u64,
    /// A ready time no server would send.
    pub ready_time: u64,
    /// Sent to another address than the group (unicast to this host).
    pub not_group: u64,
    /// From an address the `servers` key does not name.
    pub not_allowed: u64,
    /// From another server than the one followed.
    pub other_server: u64,
    /// 80 bytes, but not the authenticated format (magic, version).
    pub bad_magic: u64,
    /// An authenticated packet whose MAC does not verify under our key
    /// (forged, modified, another key).
    pub bad_mac: u64,
    /// An authenticated packet already accepted (a replay).
    pub replayed: u64,
    /// A plain (24- or 40-byte) packet while a key is configured.
    pub unauthenticated: u64,
    /// An authenticated packet, and no key to check it with.
    pub no_key: u64,
    /// Datagrams discarded when the socket was opened (stale).
    pub flushed: u64,
    /// Drains that stopped at the per-frame bound (more may have been waiting).
    pub drain_limited: u64,
    /// Reads that failed.
    pub errors: u64,
    /// Times the client began following another server (its first
    /// included): a restart, or a server that fell silent.
    pub servers_followed: u64,
}

/// Why a datagram was not handed to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Its bytes or values.
    Wire(WireError),
    /// Sent to this address, not to the group.
    NotGroup(Ipv4Addr),
    /// From a sender the `servers` key does not name.
    NotAllowed,
    /// From another server than the one followed.
    OtherServer,
    /// A plain packet while a key is configured.
    Unauthenticated,
    /// An authenticated packet without a key configured.
    NoKey,
    /// An authenticated packet seen before.
    Replayed,
}

impl Reject {
    /// A short stable name, for counters and logs.
    pub const fn reason(&self) -> &'static str {
        match self {
            Reject::Wire(e) => e.reason(),
            Reject::NotGroup(_) => "not_group",
            Reject::NotAllowed => "not_allowed",
            Reject::OtherServer => "other_server",
            Reject::Unauthenticated => "unauthenticated",
            Reject::NoKey => "no_key",
            Reject::Replayed => "replayed",
        }
    }
}

impl RxStats {
    /// Datagrams rejected, all reasons.
    pub fn rejected(&self) -> u64 {
        self.by_reason().iter().map(|(_, n)| n).sum()
    }

    /// The rejected datagrams, by reason (stable names, as in the logs).
    pub fn by_reason(&self) -> [(&'static str, u64); 15] {
        [
            ("wrong_length", self.wrong_length),
            ("truncated", self.truncated),
            ("frame_duration", self.frame_duration),
            ("timestamp", self.timestamp),
            ("other_rate", self.other_rate),
            ("clock_offset", self.clock_offset),
            ("ready_time", self.ready_time),
            ("not_group", self.not_group),
            ("not_allowed", self.not_allowed),
            ("other_server", self.other_server),
            ("bad_magic", self.bad_magic),
            ("bad_mac", self.bad_mac),
            ("replayed", self.replayed),
            ("unauthenticated", self.unauthenticated),
            ("no_key", self.no_key),
        ]
    }

    /// The non-zero counts, `reason count, ...` (for a log line).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .by_reason()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    fn count(&mut self, r: &Reject) {
        let c = match r {
            Reject::Wire(WireError::WrongLength(_)) => &mut self.wrong_length,
            Reject::Wire(WireError::Truncated(_)) => &mut self.truncated,
            Reject::Wire(WireError::FrameDuration(_)) => &mut self.frame_duration,
            Reject::Wire(WireError::Timestamp(_)) => &mut self.timestamp,
            Reject::Wire(WireError::OtherRate { .. }) => &mut self.other_rate,
            Reject::Wire(WireError::ClockOffset { .. }) => &mut self.clock_offset,
            Reject::Wire(WireError::ReadyTime { .. }) => &mut self.ready_time,
            Reject::NotGroup(_) => &mut self.not_group,
            Reject::NotAllowed => &mut self.not_allowed,
            Reject::OtherServer => &mut self.other_server,
            Reject::Wire(WireError::BadMagic) => &mut self.bad_magic,
            Reject::Wire(WireError::BadMac) => &mut self.bad_mac,
            Reject::Replayed => &mut self.replayed,
            Reject::Unauthenticated => &mut self.unauthenticated,
            Reject::NoKey => &mut self.no_key,
        };
        *c += 1;
    }
}

/// A server's packets are followed until it has been silent this many of
/// its packet intervals ...
const HOLD_INTERVALS: u64 = 3;
/// ... within these bounds, ns ...
const MIN_HOLD_NS: u64 = 500_000_000;
const MAX_HOLD_NS: u64 = 10_000_000_000;
/// ... or, before its second packet, this long (a reference server sends
/// every second at 30 fps, every 2 s at 15 fps).
const FIRST_HOLD_NS: u64 = 2_500_000_000;
/// Another server's packets this far apart are separate episodes, ns.
const EPISODE_NS: u64 = 30_000_000_000;
/// A server on the followed one's host (another port: a restart) is
/// followed once the first one is this late: its interval and a quarter
/// (at least [`MIN_OVERDUE_NS`]), ns.
const MIN_OVERDUE_NS: u64 = 100_000_000;

/// The server a client follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Followed {
    /// Its address (`None`: the transport does not say).
    from: Option<SocketAddrV4>,
    last_ns: u64,
    /// The longest gap between two of its recent packets, ns (0: one packet).
    gap_ns: u64,
}

impl Followed {
    fn hold_ns(&self) -> u64 {
        if self.gap_ns == 0 {
            return FIRST_HOLD_NS;
        }
        (self.gap_ns.saturating_mul(HOLD_INTERVALS)).clamp(MIN_HOLD_NS, MAX_HOLD_NS)
    }

    /// How long it may be silent before a server on its host replaces it:
    /// it has missed a packet.
    fn overdue_ns(&self) -> u64 {
        if self.gap_ns == 0 {
            return FIRST_HOLD_NS;
        }
        (self.gap_ns + self.gap_ns / 4).clamp(MIN_OVERDUE_NS, MAX_HOLD_NS)
    }

    /// Is `from` on its host (another port)? Unknown addresses are not.
    fn same_host(&self, from: Option<SocketAddrV4>) -> bool {
        matches!((self.from, from), (Some(a), Some(b)) if a.ip() == b.ip())
    }
}

/// Another server heard while following one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Other {
    from: Option<SocketAddrV4>,
    last_ns: u64,
    /// Said (a server on the followed one's host is said only once the
    /// followed one speaks again: until then it may be its restart).
    said: bool,
}

/// Who may send, and to where: the group, and the `servers` allow-list.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy<'a> {
    pub group: Ipv4Addr,
    /// Empty: any sender.
    pub servers: &'a [Ipv4Addr],
    pub expect: Expect,
    /// With a key only authenticated packets are accepted; without, none.
    pub key: Option<&'a AuthKey>,
}

/// A client's receive state: its buffer, counters, the server it follows
/// and its log rate limit.
#[derive(Debug)]
pub(super) struct Rx {
    buf: [u8; RX_BUF],
    pub stats: RxStats,
    log: RateLimit,
    followed: Option<Followed>,
    /// Another server heard while following one: its address, when it was
    /// last heard and whether that was said (`None`: no episode).
    other: Option<Other>,
    /// The authenticated packets' sequence numbers seen.
    replay: ReplayWindow,
    /// The server followed before the socket was last opened again: the
    /// same one followed again is not news (an application that switches
    /// SyncMode Off and back every few frames would have it said each time).
    before: Option<Option<SocketAddrV4>>,
}

impl Default for Rx {
    fn default() -> Self {
        Rx {
            buf: [0; RX_BUF],
            stats: RxStats::default(),
            log: RateLimit::new(5_000_000_000),
            followed: None,
            other: None,
            replay: ReplayWindow::default(),
            before: None,
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
        policy: Policy<'a>,
    ) -> Drain<'a, T> {
        Drain {
            rx: self,
            transport,
            max: max.max(1),
            read: 0,
            now_ns,
            policy,
        }
    }

    /// A new socket: follow whichever server speaks first.
    pub fn forget_server(&mut self) {
        if let Some(f) = self.followed.take() {
            self.before = Some(f.from);
        }
        self.other = None;
    }

    /// Is a valid packet from `from` at `now_ns` one to follow? Logs a
    /// switch, and the first packet of another server in an episode.
    fn follow(&mut self, from: Option<SocketAddrV4>, now_ns: u64) -> bool {
        let Some(f) = &mut self.followed else {
            self.followed = Some(Followed {
                from,
                last_ns: now_ns,
                gap_ns: 0,
            });
            self.stats.servers_followed += 1;
            if self.before == Some(from) {
                tracing::debug!(server = %show(from), "following the server again");
            } else {
                tracing::info!(server = %show(from), "following the server");
            }
            return true;
        };
        if f.from == from {
            let gap = now_ns.saturating_sub(f.last_ns);
            // The longest recent gap, forgetting slowly (a server's
            // acquisition packets come faster than its later ones).
            f.gap_ns = gap.max(f.gap_ns - f.gap_ns / 8);
            f.last_ns = now_ns;
            // A server on its host was no restart: it is a second server.
            let followed = f.from;
            if let Some(o) = self.other.as_mut().filter(|o| !o.said) {
                o.said = true;
                two_servers(o.from, followed);
            }
            return true;
        }
        let silent = now_ns.saturating_sub(f.last_ns);
        let same_host = f.same_host(from);
        if same_host && silent > f.overdue_ns() {
            tracing::info!(
                server = %show(from),
                previous = %show(f.from),
                "following the server from a new port (restarted: the previous one is {:.1} s \
                 late)",
                silent as f64 / 1e9
            );
        } else if silent > f.hold_ns() {
            tracing::warn!(
                server = %show(from),
                previous = %show(f.from),
                "following another server: the previous one has been silent for {:.1} s",
                silent as f64 / 1e9
            );
        } else {
            let new_episode = self
                .other
                .is_none_or(|o| now_ns.saturating_sub(o.last_ns) > EPISODE_NS);
            let said = if new_episode {
                // On the followed one's host it may be its restart: said
                // once the followed one speaks again.
                if !same_host {
                    two_servers(from, f.from);
                }
                !same_host
            } else {
                self.other.is_some_and(|o| o.said)
            };
            self.other = Some(Other {
                from,
                last_ns: now_ns,
                said,
            });
            return false;
        }
        *f = Followed {
            from,
            last_ns: now_ns,
            gap_ns: 0,
        };
        self.stats.servers_followed += 1;
        self.other = None;
        true
    }
}

fn two_servers(other: Option<SocketAddrV4>, followed: Option<SocketAddrV4>) {
    tracing::warn!(
        other = %show(other),
        followed = %show(followed),
        "two servers send to this group: following the first, ignoring the other (a second \
         camera in server mode, or a forger; the `servers` key names the ones to accept)"
    );
}

fn show(a: Option<SocketAddrV4>) -> String {
    a.map_or_else(|| "(unknown address)".into(), |a| a.to_string())
}

/// A bounded drain, handed to the core as its packet source.
pub(super) struct Drain<'a, T> {
    rx: &'a mut Rx,
    transport: &'a mut T,
    max: usize,
    read: usize,
    now_ns: u64,
    policy: Policy<'a>,
}

impl<T: Transport> Drain<'_, T> {
    fn rejected(&mut self, from: Option<SocketAddrV4>, r: &Reject) {
        self.rx.stats.count(r);
        if *r == Reject::OtherServer {
            // Said once per episode by `follow`.
            return;
        }
        let Some(suppressed) = self.rx.log.allow(self.now_ns) else {
            return;
        };
        let why = match r {
            Reject::Wire(e) => e.to_string(),
            Reject::NotGroup(to) => format!(
                "sent to {to}, not to the group {}: not a sync packet",
                self.policy.group
            ),
            Reject::NotAllowed => "its sender is not one of the `servers`".into(),
            Reject::OtherServer => String::new(),
            Reject::Unauthenticated => {
                "not authenticated, and a key is configured (key_file): only authenticated \
                 packets are followed"
                    .into()
            }
            Reject::NoKey => {
                "an authenticated packet, and no key is configured to check it (key_file)".into()
            }
            Reject::Replayed => {
                "an authenticated packet already received (replayed): each is accepted once".into()
            }
        };
        tracing::warn!(
            from = %show(from),
            reason = r.reason(),
            suppressed,
            "rejected sync datagram: {why}"
        );
    }

    fn failed(&mut self, e: &NetError) {
        self.rx.stats.errors += 1;
        if let Some(suppressed) = self.rx.log.allow(self.now_ns) {
            tracing::warn!(suppressed, "sync socket: {e}");
        }
    }

    /// Judge one datagram of `len` bytes in the buffer.
    fn judge(
        &mut self,
        len: usize,
        from: Option<SocketAddrV4>,
        to: Option<Ipv4Addr>,
    ) -> Result<SyncPacket, Reject> {
        // The length, then where it went and who sent it: no work spent on
        // garbage, unicast or a stranger.
        let auth = len == AUTH_LEN;
        if !auth {
            SyncPacket::decode_received(&self.rx.buf, len).map_err(Reject::Wire)?;
        }
        if let Some(to) = to
            && to != self.policy.group
        {
            return Err(Reject::NotGroup(to));
        }
        let servers = self.policy.servers;
        if !servers.is_empty() && !from.is_some_and(|a| servers.contains(a.ip())) {
            return Err(Reject::NotAllowed);
        }
        // Then its MAC, its values, whether it was seen before.
        let (p, seq) = match (auth, self.policy.key) {
            (true, Some(key)) => {
                let a = AuthPacket::decode(&self.rx.buf[..len], key).map_err(Reject::Wire)?;
                (a.packet, Some((a.sender, a.seq)))
            }
            (true, None) => return Err(Reject::NoKey),
            (false, Some(_)) => return Err(Reject::Unauthenticated),
            (false, None) => {
                let (p, _) =
                    SyncPacket::decode_received(&self.rx.buf, len).map_err(Reject::Wire)?;
                (p, None)
            }
        };
        p.check(&self.policy.expect).map_err(Reject::Wire)?;
        if let Some((sender, seq)) = seq
            && !self.rx.replay.accept(sender, seq)
        {
            return Err(Reject::Replayed);
        }
        if !self.rx.follow(from, self.now_ns) {
            return Err(Reject::OtherServer);
        }
        Ok(p)
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
            match self.judge(r.len, r.from, r.to) {
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
