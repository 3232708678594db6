// SPDX-License-Identifier: LGPL-2.1-or-later
//! The host clock's health, through the plugin instance with a simulated
//! kernel state: a WARN naming the camera when the clock is unsynchronised
//! or beyond the bound, none when it is fine, an INFO when it recovers, and
//! the numbers in the stats.

mod common;

use camsync::net::MemoryTransport;
use camsync::plugin::logging::Level;
use camsync::plugin::{Config, Instance, KernelClock, ManualClock};
use common::memory::{CAMERA, Inst, frame, logged, mode, set_clock};

const CAMERA_ID: &str = "/base/cam@0";
/// Frames in 10 s at 30 fps, and a few more: one check period.
const PERIOD_FRAMES: i64 = 310;

fn instance(config: Config, kernel: Option<KernelClock>) -> Inst {
    let i = Instance::from_parts(
        CAMERA_ID,
        Ok(config),
        MemoryTransport::new(),
        ManualClock {
            kernel,
            ..ManualClock::default()
        },
    );
    i.controls(&CAMERA).unwrap();
    i
}

/// The records at WARN or above that are about the host clock, and the INFOs.
fn clock_lines(records: &[(Level, String)]) -> (Vec<&str>, Vec<&str>) {
    let about = |r: &&(Level, String)| r.1.contains("this host's wall clock");
    let warns = records
        .iter()
        .filter(about)
        .filter(|r| r.0 >= Level::Warn)
        .map(|r| r.1.as_str())
        .collect();
    let infos = records
        .iter()
        .filter(about)
        .filter(|r| r.0 == Level::Info)
        .map(|r| r.1.as_str())
        .collect();
    (warns, infos)
}

/// A server that streams `frames` frames, the kernel's clock state set
/// before each by `kernel(n)`.
fn run(config: Config, sync_mode: i32, frames: i64, kernel: impl Fn(i64) -> KernelClock) -> Inst {
    let i = instance(config, Some(kernel(0)));
    set_clock(&i, -1);
    i.start(&mode(sync_mode)).unwrap();
    for n in 0..frames {
        i.with_clock(|k| k.kernel = Some(kernel(n)));
        frame(&i, n);
    }
    i
}

#[test]
fn an_unsynchronised_clock_warns_once_naming_the_camera() {
    let mut inst = None;
    let records = logged(|| {
        inst = Some(run(Config::default(), 1, 2 * PERIOD_FRAMES, |_| {
            KernelClock::unsynced()
        }))
    });
    let (warns, infos) = clock_lines(&records);
    assert_eq!(warns.len(), 1, "{records:#?}");
    assert!(
        warns[0].starts_with(&format!("{CAMERA_ID}: ")),
        "{}",
        warns[0]
    );
    assert!(warns[0].contains("STA_UNSYNC"), "{}", warns[0]);
    assert!(infos.is_empty(), "{infos:?}");
    let s = inst.unwrap().stats();
    assert_eq!(s.clock, Some(KernelClock::unsynced()));
    assert_eq!(s.clock_warnings, 1);
}

#[test]
fn a_synchronised_clock_within_the_bound_says_nothing() {
    let mut inst = None;
    let records = logged(|| {
        inst = Some(run(Config::default(), 2, 2 * PERIOD_FRAMES, |_| {
            KernelClock::synced(3, 250)
        }))
    });
    let (warns, infos) = clock_lines(&records);
    assert!(warns.is_empty() && infos.is_empty(), "{warns:?} {infos:?}");
    let s = inst.unwrap().stats();
    assert_eq!(s.clock, Some(KernelClock::synced(3, 250)));
    assert_eq!(s.clock_warnings, 0);
}

#[test]
fn an_estimated_error_beyond_the_bound_warns_and_the_bound_is_configurable() {
    // NTP-grade: 400 µs. The default bound (one line time; 20 µs before one
    // is measured) is exceeded ...
    let ntp = |_| KernelClock::synced(400, 90_000);
    let records = logged(|| drop(run(Config::default(), 1, 40, ntp)));
    let (warns, _) = clock_lines(&records);
    assert_eq!(warns.len(), 1, "{records:#?}");
    assert!(
        warns[0].contains("estimated error, 400 µs, exceeds the bound of 20 µs"),
        "{}",
        warns[0]
    );
    // ... a bound of a ms is not.
    let mut relaxed = Config::default();
    relaxed.set("clock_error_bound", "1000", "test").unwrap();
    let mut inst = None;
    let records = logged(|| inst = Some(run(relaxed, 1, 40, ntp)));
    assert!(clock_lines(&records).0.is_empty(), "{records:#?}");
    assert_eq!(inst.unwrap().stats().clock_bound_ns, 1_000_000);
}

#[test]
fn a_clock_that_recovers_says_so_and_warns_again_when_it_is_lost() {
    // Unsynchronised for the first check period, then PTP takes over, then
    // it is lost again.
    let kernel = |n: i64| match n / PERIOD_FRAMES {
        0 => KernelClock::unsynced(),
        1 => KernelClock::synced(0, 1),
        _ => KernelClock::unsynced(),
    };
    let records = logged(|| drop(run(Config::default(), 2, 3 * PERIOD_FRAMES, kernel)));
    let (warns, infos) = clock_lines(&records);
    assert_eq!(warns.len(), 2, "{records:#?}");
    assert_eq!(infos.len(), 1, "{records:#?}");
    assert!(
        infos[0].contains("recovered") && infos[0].starts_with(CAMERA_ID),
        "{}",
        infos[0]
    );
}

#[test]
fn without_sync_the_clock_is_not_read_and_each_start_checks_again() {
    let i = instance(Config::default(), Some(KernelClock::unsynced()));
    let records = logged(|| {
        set_clock(&i, -1);
        i.start(&mode(0)).unwrap();
        for n in 0..PERIOD_FRAMES {
            frame(&i, n);
        }
    });
    assert!(clock_lines(&records).0.is_empty(), "{records:#?}");
    assert_eq!(i.stats().clock, None);
    // Sync on, twice: each run warns once.
    let records = logged(|| {
        for _ in 0..2 {
            i.start(&mode(1)).unwrap();
            for n in 0..30 {
                frame(&i, n);
            }
            i.stop().unwrap();
        }
    });
    assert_eq!(clock_lines(&records).0.len(), 2, "{records:#?}");
    assert_eq!(i.stats().clock_warnings, 2);
}
