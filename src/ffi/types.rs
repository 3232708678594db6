// SPDX-License-Identifier: LGPL-2.1-or-later
//! The C API's plain types: the result codes, the control values in, the
//! metadata out. Every struct is `#[repr(C)]` and has only plain fields; an
//! optional value is a `has_*` flag next to its value.

#![allow(non_camel_case_types)]

use std::ffi::{CStr, c_char, c_void};

/// The result of every C API call. Errors start at a distinctive base so a
/// stray integer is not mistaken for one.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum camsync_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was null.
    NullParameter = 7962001,
    /// An argument was out of range (nothing was changed).
    InvalidArgument = 7962002,
    /// A panic was caught inside the library (logged); the layer instance is
    /// disabled from then on.
    Panic = 7962003,
    /// The layer is disabled for this camera (its configuration was rejected,
    /// see the log, or an earlier call panicked); the call did nothing.
    Disabled = 7962004,
}

impl camsync_result {
    /// The result code of a value, if it is one.
    pub fn from_u32(v: u32) -> Option<camsync_result> {
        [
            camsync_result::Ok,
            camsync_result::NullParameter,
            camsync_result::InvalidArgument,
            camsync_result::Panic,
            camsync_result::Disabled,
        ]
        .into_iter()
        .find(|r| *r as u32 == v)
    }

    pub fn name(self) -> &'static CStr {
        match self {
            camsync_result::Ok => c"ok",
            camsync_result::NullParameter => c"null parameter",
            camsync_result::InvalidArgument => c"invalid argument",
            camsync_result::Panic => c"panic caught (layer disabled)",
            camsync_result::Disabled => c"layer disabled for this camera",
        }
    }
}

/// How many controls the layer may add at most.
pub const CAMSYNC_MAX_ADDED_CONTROLS: usize = 4;
/// How many enumerated values a control may list at most.
pub const CAMSYNC_MAX_CONTROL_VALUES: usize = 4;
/// The longest `SyncInterface` accepted, bytes.
pub const CAMSYNC_MAX_INTERFACE_LEN: usize = 40;
/// The largest `rpi::SyncFrames` accepted (the control's advertised maximum).
pub const CAMSYNC_MAX_SYNC_FRAMES: i32 = 1_000_000;

/// What the layer needs of the camera's `ControlInfoMap` (the `controls` hook).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_camera_controls {
    /// The camera has `SyncAdjustment`; its limits in µs.
    pub has_sync_adjustment: bool,
    pub sync_adjustment_min_us: i32,
    pub sync_adjustment_max_us: i32,
    /// The camera has `FrameDurationLimits`; its ControlInfo min and max in µs.
    pub has_frame_duration_limits: bool,
    pub frame_duration_min_us: i64,
    pub frame_duration_max_us: i64,
}

/// One control the layer adds to the camera's `ControlInfoMap`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct camsync_control_info {
    /// libcamera's name, with the vendor prefix if any (`"rpi::SyncMode"`,
    /// `"SyncInterface"`); static storage.
    pub name: *const c_char,
    pub min: i64,
    pub max: i64,
    pub has_def: bool,
    pub def: i64,
    /// The enumerated values (for an enum control); 0 otherwise.
    pub num_values: u32,
    pub values: [i64; CAMSYNC_MAX_CONTROL_VALUES],
}

impl Default for camsync_control_info {
    fn default() -> Self {
        Self {
            name: std::ptr::null(),
            min: 0,
            max: 0,
            has_def: false,
            def: 0,
            num_values: 0,
            values: [0; CAMSYNC_MAX_CONTROL_VALUES],
        }
    }
}

/// The `controls` hook's result.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_added_controls {
    /// The camera supports sync (it has `SyncAdjustment`).
    pub supported: bool,
    /// Valid entries in `controls`.
    pub count: u32,
    pub controls: [camsync_control_info; CAMSYNC_MAX_ADDED_CONTROLS],
}

/// The sync-related controls of a request (or of `start()`); each only if
/// the application set it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct camsync_request_controls {
    /// `rpi::SyncMode`: 0 off, 1 server, 2 client.
    pub has_sync_mode: bool,
    pub sync_mode: i32,
    /// `rpi::SyncFrames`, 1 to `CAMSYNC_MAX_SYNC_FRAMES` (the control's
    /// advertised range).
    pub has_sync_frames: bool,
    pub sync_frames: i32,
    /// `FrameDurationLimits` [min, max], µs, 0 <= min <= max.
    pub has_frame_duration_limits: bool,
    pub frame_duration_limits_us: [i64; 2],
    /// `SyncInterface`: `sync_interface_len` bytes of UTF-8 at `sync_interface`
    /// (not NUL-terminated; at most `CAMSYNC_MAX_INTERFACE_LEN`; no
    /// whitespace, NUL or other control character). Length 0: back to the
    /// configured interface.
    pub has_sync_interface: bool,
    pub sync_interface: *const c_char,
    pub sync_interface_len: usize,
}

impl Default for camsync_request_controls {
    fn default() -> Self {
        Self {
            has_sync_mode: false,
            sync_mode: 0,
            has_sync_frames: false,
            sync_frames: 0,
            has_frame_duration_limits: false,
            frame_duration_limits_us: [0; 2],
            has_sync_interface: false,
            sync_interface: std::ptr::null(),
            sync_interface_len: 0,
        }
    }
}

/// What `queue_request` writes into the request.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_request_out {
    /// Set `SyncAdjustment` to this (µs; client mode).
    pub has_sync_adjustment: bool,
    pub sync_adjustment_us: i32,
    /// The value was clamped to the camera's limits (logged).
    pub clamped: bool,
}

/// A completed request.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_completion {
    /// The request's status is not "complete" (e.g. cancelled at stop): the
    /// layer ignores it.
    pub cancelled: bool,
    /// `SensorTimestamp` metadata, ns (not negative).
    pub has_sensor_timestamp: bool,
    pub sensor_timestamp_ns: i64,
}

/// The metadata the layer adds to a completed request.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_metadata {
    /// `FrameWallClock`, ns.
    pub has_frame_wall_clock: bool,
    pub frame_wall_clock_ns: i64,
    /// `rpi::SyncReady`.
    pub has_sync_ready: bool,
    pub sync_ready: bool,
    /// `rpi::SyncTimer`, µs.
    pub has_sync_timer: bool,
    pub sync_timer_us: i64,
}

/// The socket a layer has open.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum camsync_socket {
    #[default]
    None = 0,
    /// Sending to the group (server).
    Sender = 1,
    /// Joined and bound, non-blocking (client).
    Receiver = 2,
}

/// This host's wall clock, as the kernel saw it at the layer's last check.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum camsync_clock_state {
    /// Not read yet (the layer reads it on the first frame with sync on,
    /// then every 10 s), or the kernel would not say.
    #[default]
    Unknown = 0,
    /// An NTP or PTP daemon disciplines it.
    Synchronised = 1,
    /// Nothing does (the kernel's STA_UNSYNC): cameras on other hosts can
    /// be any distance away.
    Unsynchronised = 2,
}

/// Counters and state of a layer instance.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct camsync_stats {
    pub enabled: bool,
    /// 0 off, 1 server, 2 client.
    pub mode: i32,
    pub socket: camsync_socket,
    pub frames: u64,
    pub packets_sent: u64,
    pub send_errors: u64,
    pub socket_errors: u64,
    pub clamped: u64,
    /// Valid packets received.
    pub rx_accepted: u64,
    /// Datagrams rejected, all reasons (the sum of the `rx_*` reasons below).
    pub rx_rejected: u64,
    /// Stale datagrams discarded when a receiver was opened.
    pub rx_flushed: u64,
    /// This host's wall clock at the last check. Across hosts, frames are
    /// never closer than the hosts' clocks agree.
    pub clock_state: camsync_clock_state,
    /// Its estimated error, µs, as the daemon set it (-1: not read).
    pub clock_est_error_us: i64,
    /// Its maximum error, µs (-1: not read).
    pub clock_max_error_us: i64,
    /// The bound the estimated error is judged against, µs (the
    /// `clock_error_bound` key, or one line time).
    pub clock_error_bound_us: f64,
    /// Warnings given that the clock was unsynchronised or beyond the bound.
    pub clock_warnings: u64,
    /// Rejected: neither 24 nor 40 bytes (nor an authenticated packet's 80).
    pub rx_wrong_length: u64,
    /// Rejected: longer than the receive buffer.
    pub rx_truncated: u64,
    /// Rejected: a frame duration outside 100 µs .. 10 s.
    pub rx_frame_duration: u64,
    /// Rejected: a timestamp that is no plausible wall clock (a server clock
    /// at 1970).
    pub rx_timestamp: u64,
    /// Rejected: a frame duration more than 5 % from ours.
    pub rx_other_rate: u64,
    /// Rejected: a frame time far from our wall clock.
    pub rx_clock_offset: u64,
    /// Rejected: a ready time more than 10^6 frames after the frame time.
    pub rx_ready_time: u64,
    /// Rejected: sent to this host, not to the group.
    pub rx_not_group: u64,
    /// Rejected: from a sender the `servers` key does not name.
    pub rx_not_allowed: u64,
    /// Rejected: from another server than the one followed.
    pub rx_other_server: u64,
    /// Rejected: 80 bytes, but not an authenticated packet (magic, version).
    pub rx_bad_magic: u64,
    /// Rejected: an authenticated packet whose MAC does not verify (forged,
    /// modified, another key).
    pub rx_bad_mac: u64,
    /// Rejected: an authenticated packet received before (replayed).
    pub rx_replayed: u64,
    /// Rejected: a plain packet while a key is configured.
    pub rx_unauthenticated: u64,
    /// Rejected: an authenticated packet while no key is configured.
    pub rx_no_key: u64,
    /// Drains that stopped at the per-frame bound.
    pub rx_drain_limited: u64,
    /// Reads that failed.
    pub rx_errors: u64,
    /// Servers followed (the first, then one per switch).
    pub servers_followed: u64,
    /// Valid packets off the followed server's frame grid, or with a ready
    /// time not yet confirmed, held (precision).
    pub strays: u64,
    /// Re-acquisitions: the server restarted, or its frames moved (precision).
    pub server_jumps: u64,
}

/// A log record's severity: libcamera's `LogSeverity` values (the layer
/// never logs FATAL).
pub type camsync_log_level = u32;
/// Detail: every packet and correction.
pub const CAMSYNC_LOG_DEBUG: camsync_log_level = 0;
/// Configuration, sync achieved.
pub const CAMSYNC_LOG_INFO: camsync_log_level = 1;
/// Something is not as it should be (clamped adjustments, silence, bad datagrams).
pub const CAMSYNC_LOG_WARN: camsync_log_level = 2;
/// Sync cannot work (a rejected configuration, a socket that cannot open, a panic).
pub const CAMSYNC_LOG_ERROR: camsync_log_level = 3;

/// Receives the layer's log records: `level`, `target` (the module that
/// logged, e.g. `camsync::core::frame`) and `message` (naming the camera it
/// concerns), both NUL-terminated and valid for the call only. Called from
/// the thread that logged, never while a layer's lock is held.
pub type camsync_log_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: camsync_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;
