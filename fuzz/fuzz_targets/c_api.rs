// SPDX-License-Identifier: LGPL-2.1-or-later
//! The C API (`include/camsync.h`) called as a C host would, with arbitrary
//! control structs, completions and null pointers, on real sockets: every
//! call returns one of the result codes, writes its out-parameter whole
//! (zeroed on error), and every `SyncAdjustment` it hands out is within the
//! camera's limits and ± half of the camera's frame.
//!
//! It opens real multicast sockets, so it refuses to run (exit 2) unless its
//! network namespace has no interface but loopback: run it under
//! `unshare -n` with `lo` up (the README's command does).

#![no_main]

use std::ffi::{CStr, c_char, c_void};
use std::sync::Once;

use camsync::ffi::log::camsync_set_log_sink;
use camsync::ffi::*;
use camsync_fuzz::{Reader, within};
use libfuzzer_sys::fuzz_target;

unsafe extern "C" fn log_sink(
    _user: *mut c_void,
    level: camsync_log_level,
    target: *const c_char,
    message: *const c_char,
) {
    assert!(level <= CAMSYNC_LOG_ERROR);
    // SAFETY: the API passes NUL-terminated strings valid for the call.
    let (t, m) = unsafe { (CStr::from_ptr(target), CStr::from_ptr(message)) };
    assert!(!t.to_bytes().is_empty() && !m.to_bytes().is_empty());
}

/// Only loopback here, or stop: the sockets this target opens must not reach
/// a network.
fn private_namespace_or_exit() {
    let others: Vec<String> = nix::ifaddrs::getifaddrs()
        .map(|a| a.map(|i| i.interface_name).filter(|n| n != "lo").collect())
        .unwrap_or_else(|e| vec![format!("(getifaddrs failed: {e})")]);
    if !others.is_empty() {
        eprintln!(
            "c_api: this network namespace has interfaces besides lo ({}): the target opens real \
             sockets, run it under `unshare -n` (see the README's Fuzzing section)",
            others.join(", ")
        );
        std::process::exit(2);
    }
}

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        let port = 30_000 + std::process::id() % 20_000;
        // SAFETY: set once, before this process creates any layer or thread
        // of ours (libFuzzer runs the target on one thread).
        unsafe {
            std::env::set_var("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1");
            std::env::set_var("LIBCAMERA_SYNC_PORT", port.to_string());
            std::env::set_var("LIBCAMERA_SYNC_SYNC_PERIOD", "2");
            std::env::set_var("LIBCAMERA_SYNC_READY_FRAME", "4");
            std::env::remove_var("LIBCAMERA_SYNC_CONFIG");
        }
        let r = camsync_set_log_sink(Some(log_sink), std::ptr::null_mut(), CAMSYNC_LOG_DEBUG);
        assert_eq!(r, camsync_result::Ok);
    });
}

const CODES: [camsync_result; 5] = [
    camsync_result::Ok,
    camsync_result::NullParameter,
    camsync_result::InvalidArgument,
    camsync_result::Panic,
    camsync_result::Disabled,
];

fn known(r: camsync_result) -> camsync_result {
    assert!(CODES.contains(&r), "{r:?}");
    assert_ne!(
        r,
        camsync_result::Panic,
        "a panic was caught inside the library"
    );
    r
}

/// What the checks remember.
#[derive(Default)]
struct Camera {
    limits: Option<[i32; 2]>,
    frame_us: i64,
}

/// `FrameDurationLimits` the layer takes (it ignores min > max).
fn valid_limits(c: &camsync_request_controls) -> bool {
    let [min, max] = c.frame_duration_limits_us;
    c.has_frame_duration_limits && (0..=max).contains(&min)
}

fn request_controls(r: &mut Reader<'_>, iface: &mut [u8; 64]) -> camsync_request_controls {
    let f = r.u8();
    let mut c = camsync_request_controls {
        has_sync_mode: f & 1 != 0,
        sync_mode: r.i32(),
        has_sync_frames: f & 2 != 0,
        sync_frames: r.i32(),
        has_frame_duration_limits: f & 4 != 0,
        frame_duration_limits_us: [r.i64(), r.i64()],
        has_sync_interface: f & 8 != 0,
        ..camsync_request_controls::default()
    };
    if c.has_sync_interface {
        // Up to 64 readable bytes (the contract: `len` bytes at the pointer);
        // a null pointer with a length, sometimes.
        let n = usize::from(r.u8()) % (iface.len() + 1);
        let b = r.bytes(n);
        iface[..b.len()].copy_from_slice(b);
        c.sync_interface_len = n;
        c.sync_interface = if f & 16 != 0 {
            std::ptr::null()
        } else {
            iface.as_ptr().cast()
        };
    }
    c
}

fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut layer: *mut camsync_layer = std::ptr::null_mut();
    assert_eq!(
        known(camsync_layer_create(c"fuzz".as_ptr(), &mut layer)),
        camsync_result::Ok
    );
    let mut cam = Camera::default();
    let mut iface = [0u8; 64];
    while !r.is_empty() {
        let op = r.u8();
        let null_layer = op & 0x80 != 0;
        let l: *const camsync_layer = if null_layer { std::ptr::null() } else { layer };
        match op % 8 {
            0 => {
                let f = r.u8();
                let c = camsync_camera_controls {
                    has_sync_adjustment: f & 1 != 0,
                    sync_adjustment_min_us: r.i32(),
                    sync_adjustment_max_us: r.i32(),
                    has_frame_duration_limits: f & 2 != 0,
                    frame_duration_min_us: r.i64(),
                    frame_duration_max_us: r.i64(),
                };
                let mut out = camsync_added_controls {
                    supported: true,
                    count: 99,
                    ..camsync_added_controls::default()
                };
                let res = known(camsync_layer_controls(l, &c, &mut out));
                if res == camsync_result::Ok {
                    assert_eq!(out.supported, c.has_sync_adjustment);
                    assert!(out.count as usize <= CAMSYNC_MAX_ADDED_CONTROLS);
                    for info in &out.controls[..out.count as usize] {
                        assert!(!info.name.is_null());
                        assert!(info.num_values as usize <= CAMSYNC_MAX_CONTROL_VALUES);
                    }
                    cam.limits = c
                        .has_sync_adjustment
                        .then_some([c.sync_adjustment_min_us, c.sync_adjustment_max_us]);
                    if c.has_sync_adjustment && c.has_frame_duration_limits {
                        cam.frame_us = c.frame_duration_min_us;
                    }
                } else {
                    assert!(!out.supported && out.count == 0);
                }
            }
            1 | 2 => {
                let c = request_controls(&mut r, &mut iface);
                let null_controls = r.u8() & 1 != 0;
                let p: *const camsync_request_controls =
                    if null_controls { std::ptr::null() } else { &c };
                let res = if op % 8 == 1 {
                    known(camsync_layer_start(l, p))
                } else {
                    let mut out = camsync_request_out {
                        has_sync_adjustment: true,
                        sync_adjustment_us: -1,
                        clamped: true,
                    };
                    let res = known(camsync_layer_queue_request(l, p, &mut out));
                    if res != camsync_result::Ok {
                        assert!(!out.has_sync_adjustment && out.sync_adjustment_us == 0);
                        assert!(!out.clamped);
                    }
                    if res == camsync_result::Ok && out.has_sync_adjustment {
                        let a = out.sync_adjustment_us;
                        if !null_controls && valid_limits(&c) && cam.limits.is_some() {
                            cam.frame_us = c.frame_duration_limits_us[0];
                        }
                        assert!(
                            within(a, cam.limits, cam.frame_us),
                            "{a} µs: limits {:?}, frame {} µs",
                            cam.limits,
                            cam.frame_us
                        );
                    }
                    res
                };
                if null_layer {
                    assert_eq!(res, camsync_result::NullParameter);
                }
                if res == camsync_result::Ok
                    && !null_controls
                    && valid_limits(&c)
                    && cam.limits.is_some()
                {
                    cam.frame_us = c.frame_duration_limits_us[0];
                }
            }
            3 => {
                let f = r.u8();
                let c = camsync_completion {
                    cancelled: f & 1 != 0,
                    has_sensor_timestamp: f & 2 != 0,
                    sensor_timestamp_ns: r.i64(),
                };
                let mut out = camsync_metadata {
                    has_frame_wall_clock: true,
                    frame_wall_clock_ns: -1,
                    has_sync_ready: true,
                    sync_ready: true,
                    has_sync_timer: true,
                    sync_timer_us: -1,
                };
                let res = known(camsync_layer_request_completed(l, &c, &mut out));
                if res != camsync_result::Ok {
                    assert!(
                        !out.has_frame_wall_clock && !out.has_sync_ready && !out.has_sync_timer
                    );
                    assert!(
                        out.frame_wall_clock_ns == 0 && out.sync_timer_us == 0 && !out.sync_ready
                    );
                }
            }
            4 => {
                known(camsync_layer_stop(l));
            }
            5 => {
                let mut s = camsync_stats {
                    frames: 7,
                    ..camsync_stats::default()
                };
                let res = known(camsync_layer_stats(l, &mut s));
                if res == camsync_result::Ok {
                    assert!((0..=2).contains(&s.mode));
                    // One snapshot: the total is the sum of its reasons.
                    let reasons = s.rx_wrong_length
                        + s.rx_truncated
                        + s.rx_frame_duration
                        + s.rx_timestamp
                        + s.rx_other_rate
                        + s.rx_clock_offset
                        + s.rx_ready_time
                        + s.rx_not_group
                        + s.rx_not_allowed
                        + s.rx_other_server;
                    assert_eq!(s.rx_rejected, reasons, "{s:?}");
                } else {
                    assert_eq!(s.frames, 0);
                }
            }
            6 => {
                camsync_layer_destroy(layer);
                layer = std::ptr::null_mut();
                assert_eq!(
                    known(camsync_layer_create(c"fuzz".as_ptr(), &mut layer)),
                    camsync_result::Ok
                );
                cam = Camera::default();
            }
            _ => {
                // Any value C may pass, in the enum or not.
                let v = r.u32();
                // SAFETY: a static NUL-terminated string.
                let s = unsafe { CStr::from_ptr(camsync_result_name(v)) };
                assert!(!s.to_bytes().is_empty());
                let known = CODES.iter().any(|&c| c as u32 == v);
                assert_eq!(known, s.to_bytes() != b"unknown result", "{v}: {s:?}");
            }
        }
    }
    camsync_layer_destroy(layer);
}

fuzz_target!(
    init: private_namespace_or_exit(),
    |data: &[u8]| {
        init();
        run(data);
    }
);
