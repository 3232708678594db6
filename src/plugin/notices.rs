// SPDX-License-Identifier: LGPL-2.1-or-later
//! What an instance tells the user about the rig, beyond errors: an
//! application that asks for a variable frame rate, a client that hears no
//! valid packet, a server whose sends fail, a layer that is disabled while
//! the application asks for sync. Each is said once when it starts (and once
//! when it ends), or rate-limited, on the instance's clock.

use super::timers::{RateLimit, Watchdog};
use crate::core::Mode;
use crate::net::NetError;
use crate::plugin::RxStats;

/// A disabled layer reminds the user at most this often, ns.
const DISABLED_REMINDER_NS: u64 = 10_000_000_000;

/// Where the packets go: for the messages.
pub(super) struct Where<'a> {
    pub group: std::net::Ipv4Addr,
    pub port: u16,
    /// The interface in use (`None`: the default route's).
    pub interface: Option<&'a str>,
}

impl std::fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} on interface {}",
            self.group,
            self.port,
            self.interface.unwrap_or("(the default route's)")
        )
    }
}

#[derive(Debug)]
pub(super) struct Notices {
    /// The last `FrameDurationLimits` the application set, and the range
    /// last warned about.
    app_limits: Option<[i64; 2]>,
    limits_warned: Option<[i64; 2]>,
    /// The mode the watchdogs watch (another mode starts them afresh).
    watched: Mode,
    /// Client: frames without a valid packet.
    silence: Watchdog,
    /// Server: failed sends, and how many in this stretch.
    sending: Watchdog,
    send_failures: u64,
    /// Disabled: the mode the application asks for, and the reminders.
    requested: Mode,
    reminders: RateLimit,
}

impl Default for Notices {
    fn default() -> Notices {
        Notices {
            app_limits: None,
            limits_warned: None,
            watched: Mode::Off,
            silence: Watchdog::default(),
            sending: Watchdog::default(),
            send_failures: 0,
            requested: Mode::Off,
            reminders: RateLimit::new(DISABLED_REMINDER_NS),
        }
    }
}

impl Notices {
    /// After the application's controls were applied (`start`, each
    /// request): warn once per range when it asks for sync at a rate that
    /// is not fixed.
    pub fn frame_rate(&mut self, limits: Option<[i64; 2]>, mode: Mode) {
        // Inverted limits are ignored (the core says so).
        if let Some(l @ [min, max]) = limits
            && min <= max
        {
            self.app_limits = Some(l);
        }
        let Some(l @ [min, max]) = self.app_limits else {
            return;
        };
        if min == max {
            self.limits_warned = None;
        } else if mode != Mode::Off && self.limits_warned != Some(l) {
            self.limits_warned = Some(l);
            tracing::warn!(
                "FrameDurationLimits [{min}, {max}] µs is not a fixed frame rate: sync needs min = \
                 max (the layer takes {min} µs as the frame duration, and cannot hold the cameras \
                 together if the rate varies)"
            );
        }
    }

    /// A new run: the watchdogs start afresh.
    pub fn restart(&mut self) {
        self.watched = Mode::Off;
        self.silence.reset();
        self.sending.reset();
        self.send_failures = 0;
    }

    /// Before a frame's checks: a mode change starts the watchdogs afresh.
    pub fn watch(&mut self, mode: Mode) {
        if mode != self.watched {
            self.restart();
            self.watched = mode;
        }
    }

    /// A client's frame, with `packets` valid packets read.
    pub fn client_frame(
        &mut self,
        now_ns: u64,
        timeout_ns: u64,
        packets: u32,
        at: &Where<'_>,
        rx: &RxStats,
    ) {
        if packets > 0 {
            if let Some(ns) = self.silence.good(now_ns) {
                tracing::info!(
                    "sync packets arriving on {at} after {:.1} s without one",
                    ns as f64 / 1e9
                );
            }
        } else if let Some(ns) = self.silence.bad(now_ns, timeout_ns) {
            tracing::warn!(
                "no valid sync packet for {:.1} s on {at}; {} datagrams rejected (by reason: {}): \
                 is a server running on this group and port, and does its multicast reach this \
                 host? (packet_timeout)",
                ns as f64 / 1e9,
                rx.rejected(),
                rx.summary(),
            );
        }
    }

    /// A server's send and how it went.
    pub fn sent(
        &mut self,
        now_ns: u64,
        timeout_ns: u64,
        result: Result<(), &NetError>,
        at: &Where<'_>,
    ) {
        match result {
            Ok(()) => {
                if let Some(ns) = self.sending.good(now_ns) {
                    tracing::info!(
                        "sync packets sent again to {at}, after {:.1} s of failures",
                        ns as f64 / 1e9
                    );
                }
                self.send_failures = 0;
            }
            Err(e) => {
                self.send_failures += 1;
                if let Some(ns) = self.sending.bad(now_ns, timeout_ns) {
                    tracing::warn!(
                        "sending sync packets to {at} has failed for {:.1} s ({} sends, the last: \
                         {e}): no client can follow this server (packet_timeout)",
                        ns as f64 / 1e9,
                        self.send_failures
                    );
                } else {
                    tracing::debug!("sync packet not sent: {e}");
                }
            }
        }
    }

    /// A disabled layer's `start` (with the mode the application sets, if
    /// any): the reason, every time.
    pub fn disabled_start(&mut self, now_ns: u64, reason: &str, mode: Option<i32>) {
        self.requested = mode.and_then(Mode::from_control).unwrap_or(self.requested);
        let _ = self.reminders.allow(now_ns);
        tracing::error!(
            "sync layer disabled for this camera: {reason}; its controls are accepted and \
             ignored, SyncReady is never reported{}",
            match self.requested {
                Mode::Off => String::new(),
                m => format!(" (the application asks for SyncMode {})", m.name()),
            }
        );
    }

    /// A disabled layer's request: a reminder at most every 10 s while the
    /// application asks for sync.
    pub fn disabled_request(&mut self, now_ns: u64, reason: &str, mode: Option<i32>) {
        self.requested = mode.and_then(Mode::from_control).unwrap_or(self.requested);
        if self.requested == Mode::Off {
            return;
        }
        if let Some(suppressed) = self.reminders.allow(now_ns) {
            tracing::error!(
                "sync layer disabled for this camera: {reason}; the application asks for SyncMode \
                 {}, which is ignored ({suppressed} requests since the last reminder)",
                self.requested.name()
            );
        }
    }
}
