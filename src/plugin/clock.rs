// SPDX-License-Identifier: LGPL-2.1-or-later
//! The clocks a plugin instance reads: [`Clock`], the system's
//! ([`SystemClock`]) and one its owner sets ([`ManualClock`], for the
//! simulator, the trace replay and tests).

use super::health::KernelClock;
use crate::core::{ClockSample, ClockSource, Profile};

/// What an instance reads: [`ClockSource::sample`] for the wall-clock fit (the
/// core asks for it), and a monotonic `now` for the instance's own timers
/// (rate-limited logs, the silence warning), and the kernel's view of the
/// wall clock (its health). Nothing the layer outputs depends on either.
pub trait Clock: ClockSource {
    /// A monotonic time, ns.
    fn now_ns(&mut self) -> u64;

    /// The kernel's view of this host's wall clock (`None`: not known).
    fn kernel_clock(&mut self) -> Option<KernelClock> {
        None
    }
}

/// The system clocks. The wall-clock fit reads the input clock (the one the
/// sensor timestamps are in) before and after CLOCK_REALTIME; `now` is
/// CLOCK_MONOTONIC.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    input: nix::time::ClockId,
}

impl SystemClock {
    /// The clocks of `profile`. `Compat` reads CLOCK_BOOTTIME as the
    /// reference's ClockRecovery does; `Precision` reads CLOCK_MONOTONIC,
    /// the clock V4L2 stamps frames with (`spec/defects.md` 12).
    pub fn for_profile(profile: Profile) -> SystemClock {
        let input = match profile {
            Profile::Compat => nix::time::ClockId::CLOCK_BOOTTIME,
            Profile::Precision => nix::time::ClockId::CLOCK_MONOTONIC,
        };
        SystemClock { input }
    }
}

fn now_ns(id: nix::time::ClockId) -> u64 {
    // clock_gettime on these clocks cannot fail on Linux; 0 if it ever did.
    nix::time::clock_gettime(id)
        .map(|t| (t.tv_sec() as u64).wrapping_mul(1_000_000_000) + t.tv_nsec() as u64)
        .unwrap_or(0)
}

impl ClockSource for SystemClock {
    fn sample(&mut self) -> ClockSample {
        let boot_before_ns = now_ns(self.input);
        let wall_ns = now_ns(nix::time::ClockId::CLOCK_REALTIME);
        let boot_after_ns = now_ns(self.input);
        ClockSample {
            boot_before_ns,
            wall_ns,
            boot_after_ns,
        }
    }
}

impl Clock for SystemClock {
    fn now_ns(&mut self) -> u64 {
        now_ns(nix::time::ClockId::CLOCK_MONOTONIC)
    }

    fn kernel_clock(&mut self) -> Option<KernelClock> {
        KernelClock::read()
    }
}

/// A clock its owner sets before each hook: the sample the core gets if it
/// asks for one, and the time. Counts the samples taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManualClock {
    /// What the next [`ClockSource::sample`] returns.
    pub next: ClockSample,
    /// What [`Clock::now_ns`] returns.
    pub now_ns: u64,
    /// Samples taken so far.
    pub samples: u64,
    /// What [`Clock::kernel_clock`] returns.
    pub kernel: Option<KernelClock>,
}

impl ManualClock {
    /// Set the next sample and the time.
    pub fn set(&mut self, next: ClockSample, now_ns: u64) {
        self.next = next;
        self.now_ns = now_ns;
    }
}

impl ClockSource for ManualClock {
    fn sample(&mut self) -> ClockSample {
        self.samples += 1;
        self.next
    }
}

impl Clock for ManualClock {
    fn now_ns(&mut self) -> u64 {
        self.now_ns
    }

    fn kernel_clock(&mut self) -> Option<KernelClock> {
        self.kernel
    }
}
