// SPDX-License-Identifier: LGPL-2.1-or-later
//! This host's wall clock as the kernel sees it, for the tools' reports
//! (`camsync demo`, `camsync monitor`): what the layer's clock health reads.

use camsync::plugin::KernelClock;
use serde::Serialize;

/// The kernel's view of this host's wall clock, in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HostClock {
    pub synchronised: bool,
    pub est_error_us: i64,
    pub max_error_us: i64,
    pub discipline: &'static str,
}

impl HostClock {
    /// Read it now (`None`: the kernel would not say).
    pub fn read() -> Option<HostClock> {
        KernelClock::read().map(|k| HostClock {
            synchronised: k.synchronised,
            est_error_us: k.est_error_us,
            max_error_us: k.max_error_us,
            discipline: k.discipline(),
        })
    }
}

/// One line on it, and what it means for a rig that spans hosts.
pub fn describe(k: Option<HostClock>) -> String {
    let Some(k) = k else {
        return "this host's wall clock: the kernel would not say (adjtimex refused)".into();
    };
    if k.synchronised {
        format!(
            "this host's wall clock: synchronised (discipline {}), estimated error {} µs, maximum \
             {} µs: cameras on other hosts are out by up to the sum of the hosts' errors \
             (|Δwall|), on top of the alignment",
            k.discipline, k.est_error_us, k.max_error_us
        )
    } else {
        "this host's wall clock: UNSYNCHRONISED (no NTP or PTP daemon disciplines it): cameras on \
         this host are unaffected, cameras on other hosts can be any distance away"
            .into()
    }
}
