// SPDX-License-Identifier: LGPL-2.1-or-later
//! The health of this host's wall clock: across hosts, frames can never be
//! closer than the hosts' wall clocks agree, and an unsynchronised clock is
//! the most common reason a multi-host rig is "in sync" and still
//! milliseconds apart.
//!
//! [`KernelClock`] is the kernel's view of CLOCK_REALTIME, as the NTP or PTP
//! daemon that disciplines it left it (`adjtimex` with no change asked: no
//! privilege needed, no blocking, well under a µs). [`Health`] reads it when
//! sync starts and then every [`CHECK_PERIOD_NS`] while sync is on, and
//! says — naming the camera — when the clock is unsynchronised or its
//! estimated error exceeds the bound (a WARN), and when it recovers (an
//! INFO). Cameras on one host read one clock: its error moves them together,
//! so this matters only to a rig that spans hosts, and the messages say so.

use std::fmt;

use crate::core::Mode;

/// How often the kernel's clock state is read while sync is on, ns.
pub const CHECK_PERIOD_NS: u64 = 10_000_000_000;

/// The bound on the estimated error when none is configured and the line
/// time is not known yet, ns (the line time of the usual sensors, 10–30 µs).
pub const FALLBACK_BOUND_NS: u64 = 20_000;

/// The kernel's view of this host's wall clock (`struct timex`, read only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(serde::Serialize))]
pub struct KernelClock {
    /// A daemon disciplines the clock: `STA_UNSYNC` is clear and the clock
    /// state is not `TIME_ERROR`. An undisciplined clock drifts by its
    /// oscillator's error (tens of ppm: a ms in under a minute).
    pub synchronised: bool,
    /// The daemon's estimate of the clock's error, µs (`esterror`; PTP's
    /// phc2sys leaves 0, chrony and ntpd their estimate).
    pub est_error_us: i64,
    /// The error's upper bound, µs (`maxerror`: the kernel adds 500 µs per
    /// second until the daemon sets it again).
    pub max_error_us: i64,
    /// The kernel's status bits (`STA_*`).
    pub status: i32,
}

impl KernelClock {
    /// Read this host's clock state (`None` where the kernel refuses: a
    /// seccomp filter, a system without it).
    pub fn read() -> Option<KernelClock> {
        // SAFETY: `timex` is plain data, all zeros is valid, and modes = 0
        // asks the kernel to change nothing, only to fill it in.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        tx.modes = 0;
        // SAFETY: `tx` is a valid, exclusively borrowed timex.
        let state = unsafe { libc::adjtimex(&mut tx) };
        if state < 0 {
            return None;
        }
        Some(KernelClock::from_timex(
            state,
            tx.status,
            tx.esterror as i64,
            tx.maxerror as i64,
        ))
    }

    /// The state `adjtimex` returned and its fields.
    pub fn from_timex(
        state: i32,
        status: i32,
        est_error_us: i64,
        max_error_us: i64,
    ) -> KernelClock {
        KernelClock {
            synchronised: status & libc::STA_UNSYNC == 0 && state != libc::TIME_ERROR,
            est_error_us,
            max_error_us,
            status,
        }
    }

    /// A clock a daemon disciplines, with this estimated and maximum error
    /// (the simulator's hosts, tests).
    pub fn synced(est_error_us: i64, max_error_us: i64) -> KernelClock {
        KernelClock {
            synchronised: true,
            est_error_us,
            max_error_us,
            status: libc::STA_PLL,
        }
    }

    /// A clock no daemon disciplines, as the kernel leaves it (16 s errors).
    pub fn unsynced() -> KernelClock {
        KernelClock {
            synchronised: false,
            est_error_us: 16_000_000,
            max_error_us: 16_000_000,
            status: libc::STA_UNSYNC,
        }
    }

    /// How the kernel follows the daemon: `PLL`, `FLL`, or `none`.
    pub fn discipline(&self) -> &'static str {
        if self.status & libc::STA_FLL != 0 {
            "FLL"
        } else if self.status & libc::STA_PLL != 0 {
            "PLL"
        } else {
            "none"
        }
    }

    /// Whether the clock is good enough for a bound of `bound_ns`.
    pub fn healthy(&self, bound_ns: u64) -> bool {
        self.synchronised && self.est_error_us.max(0) as u64 * 1000 <= bound_ns
    }
}

impl fmt::Display for KernelClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, estimated error {} µs, maximum error {} µs, discipline {}",
            if self.synchronised {
                "synchronised"
            } else {
                "unsynchronised"
            },
            self.est_error_us,
            self.max_error_us,
            self.discipline()
        )
    }
}

/// What the last check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not checked this run (or the kernel would not say).
    Unknown,
    Good,
    Bad,
}

/// Watches this host's clock for one camera.
#[derive(Debug, Clone)]
pub(super) struct Health {
    /// When it was last read (monotonic ns; `None`: due now).
    last_check: Option<u64>,
    verdict: Verdict,
    /// The last reading, and the bound it was judged against, ns.
    latest: Option<KernelClock>,
    bound_ns: u64,
    /// WARNs given.
    warnings: u64,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            last_check: None,
            verdict: Verdict::Unknown,
            latest: None,
            bound_ns: FALLBACK_BOUND_NS,
            warnings: 0,
        }
    }
}

impl Health {
    /// A new run: check on its first frame with sync on, and say again what
    /// is wrong.
    pub fn restart(&mut self) {
        self.last_check = None;
        self.verdict = Verdict::Unknown;
    }

    /// The last reading (`None`: never read, or the kernel would not say).
    pub fn latest(&self) -> Option<KernelClock> {
        self.latest
    }

    /// The bound the last reading was judged against, ns.
    pub fn bound_ns(&self) -> u64 {
        self.bound_ns
    }

    /// How many WARNs were given.
    pub fn warnings(&self) -> u64 {
        self.warnings
    }

    /// On a frame at `now_ns` in `mode`: read the clock with `read` if a
    /// check is due and sync is on, and judge it against `bound_ns`.
    pub fn poll(
        &mut self,
        now_ns: u64,
        mode: Mode,
        bound_ns: u64,
        read: impl FnOnce() -> Option<KernelClock>,
    ) {
        if mode == Mode::Off {
            return;
        }
        if self
            .last_check
            .is_some_and(|t| now_ns.saturating_sub(t) < CHECK_PERIOD_NS)
        {
            return;
        }
        self.last_check = Some(now_ns);
        let Some(k) = read() else {
            return;
        };
        self.latest = Some(k);
        self.bound_ns = bound_ns;
        let good = k.healthy(bound_ns);
        let bound_us = bound_ns as f64 / 1000.0;
        match (self.verdict, good) {
            (Verdict::Good, true) | (Verdict::Bad, false) => {}
            (Verdict::Unknown, true) => {
                tracing::debug!(mode = mode.name(), "this host's wall clock: {k}");
            }
            (_, false) => {
                self.warnings += 1;
                let why = if k.synchronised {
                    format!(
                        "its estimated error, {} µs, exceeds the bound of {bound_us} µs \
                         (clock_error_bound)",
                        k.est_error_us
                    )
                } else {
                    "no NTP or PTP daemon disciplines it (the kernel's STA_UNSYNC)".to_string()
                };
                tracing::warn!(
                    mode = mode.name(),
                    "this host's wall clock is not fit for sync across hosts: {why} ({k}). Frames \
                     on other hosts can be out by as much as the clocks disagree; synchronise it \
                     (PTP: ptp4l and phc2sys; NTP: chrony). Cameras on this host are unaffected"
                );
            }
            (Verdict::Bad, true) => {
                tracing::info!(
                    mode = mode.name(),
                    "this host's wall clock recovered: {k} (bound {bound_us} µs)"
                );
            }
        }
        self.verdict = if good { Verdict::Good } else { Verdict::Bad };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_flags_decide_synchronised() {
        assert!(KernelClock::from_timex(0, libc::STA_PLL, 10, 100).synchronised);
        assert!(
            !KernelClock::from_timex(0, libc::STA_PLL | libc::STA_UNSYNC, 10, 100).synchronised
        );
        assert!(!KernelClock::from_timex(libc::TIME_ERROR, libc::STA_PLL, 10, 100).synchronised);
        assert_eq!(
            KernelClock::from_timex(0, libc::STA_FLL, 0, 0).discipline(),
            "FLL"
        );
    }

    #[test]
    fn healthy_is_synchronised_within_the_bound() {
        assert!(KernelClock::synced(20, 300).healthy(20_000));
        assert!(!KernelClock::synced(21, 300).healthy(20_000));
        assert!(!KernelClock::unsynced().healthy(u64::MAX / 2));
    }

    #[test]
    fn reads_this_host_without_privilege() {
        // Every Linux kernel answers a read-only adjtimex; its values are
        // whatever this machine's daemon left.
        let k = KernelClock::read().expect("adjtimex(modes = 0)");
        assert!(k.max_error_us >= 0 && k.est_error_us >= 0, "{k:?}");
    }

    #[test]
    fn polls_on_the_first_frame_then_every_period_only_with_sync_on() {
        let mut h = Health::default();
        let mut reads = 0;
        let mut read = || {
            reads += 1;
            Some(KernelClock::unsynced())
        };
        h.poll(0, Mode::Off, 1, &mut read);
        h.poll(1, Mode::Client, 1, &mut read);
        h.poll(CHECK_PERIOD_NS, Mode::Client, 1, &mut read);
        h.poll(CHECK_PERIOD_NS + 1, Mode::Client, 1, &mut read);
        h.restart();
        h.poll(CHECK_PERIOD_NS + 2, Mode::Server, 1, &mut read);
        assert_eq!(reads, 3);
        // Warned at the first reading and again after the restart, not in between.
        assert_eq!(h.warnings(), 2);
    }
}
