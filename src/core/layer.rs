// SPDX-License-Identifier: LGPL-2.1-or-later AND BSD-2-Clause
// Ported from libcamera's sync layer (the unmerged Sync Layer v2 series):
// src/layer/sync/sync.cpp (BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd;
// Copyright (C) 2025, Ideas On Board Oy) and src/layer/sync/sync.h
// (LGPL-2.1-or-later; Copyright (C) 2025, Ideas On Board Oy). See LICENSE.

//! The sync layer's state machine, hook by hook (`spec/algorithm.md` §2–§3).
//!
//! One [`Layer`] per camera. Each hook takes plain values and returns plain
//! values: the clock and the received packets come in through the
//! [`ClockSource`] and [`PacketSource`] traits, and what the layer wants done
//! with its socket comes out as a [`SocketAction`]. The per-frame arithmetic
//! lives with each profile: `compat` (+ `frame.rs`) and `precision`; the
//! layer holds what they share (mode, controls, socket) and dispatches each
//! hook once.

use super::clock::{ClockRecovery, ClockRecoveryParams, ClockSource};
use super::compat::{Compat, Ctx};
use super::controls::{
    ADDED_CONTROLS, CameraControls, ControlInfo, Controls, MAX_INTERFACE_LEN, MAX_SYNC_FRAMES,
    Mode, check_interface,
};
use super::precision::{Precision, PrecisionParams};
use super::profile::Profile;
use super::wire::SyncPacket;

/// The layer's tuning (the Raspberry Pi `rpi.sync` keys that affect the
/// algorithm; the network ones live with the transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerParams {
    /// Send a packet every this many frames (server).
    pub sync_period: u32,
    /// Report ready after this many frames (server); `rpi::SyncFrames` overrides it.
    pub ready_frame: u32,
    /// Corrections smaller than this (µs) are not applied (client).
    pub min_adjustment_us: u32,
    /// The wall-clock fit (compat profile).
    pub clock_recovery: ClockRecoveryParams,
    /// The precision profile's settings.
    pub precision: PrecisionParams,
}

impl Default for LayerParams {
    fn default() -> Self {
        Self {
            sync_period: 30,
            ready_frame: 100,
            min_adjustment_us: 50,
            clock_recovery: ClockRecoveryParams::default(),
            precision: PrecisionParams::default(),
        }
    }
}

/// Where the core reads the datagrams that arrived for a client. The plugin
/// drains its socket (non-blocking, bounded, invalid datagrams skipped); a
/// replay hands back the recorded ones and counts what was consumed.
pub trait PacketSource {
    /// The next valid packet, or `None` when there is nothing (more) to read
    /// in this call.
    fn next_packet(&mut self) -> Option<SyncPacket>;
}

/// A `PacketSource` with nothing in it.
pub struct NoPackets;

impl PacketSource for NoPackets {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        None
    }
}

/// The socket a mode needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketRole {
    /// Sends to the group (Server mode).
    Sender,
    /// Joined to the group, bound to the port, non-blocking (Client mode).
    Receiver,
}

/// What the caller must do with the layer's socket after a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketAction {
    /// Open a socket for this role on [`Layer::interface`], closing any other
    /// first. A receiver discards the datagrams already waiting.
    Open(SocketRole),
    /// Close the socket.
    Close,
}

/// What `start` and `queue_request` return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HookOutput {
    /// The `SyncAdjustment` (µs) to write into the request (queue, Client mode).
    pub sync_adjustment_us: Option<i32>,
    /// A socket change to carry out.
    pub socket: Option<SocketAction>,
}

/// What `request_completed` returns: the metadata to add to the request, the
/// packet to send, and diagnostics that are not metadata.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameOutput {
    /// `FrameWallClock`, ns.
    pub frame_wall_clock_ns: Option<i64>,
    /// `rpi::SyncReady`.
    pub sync_ready: Option<bool>,
    /// `rpi::SyncTimer`, µs until the ready instant.
    pub sync_timer_us: Option<i64>,
    /// A packet to multicast (Server mode).
    pub tx: Option<SyncPacket>,
    pub diag: FrameDiag,
}

/// What happened in one `request_completed`, for logs and tools.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameDiag {
    /// The frame was processed by the sync algorithm.
    pub processed: bool,
    /// Frames found missing before this one.
    pub dropped: u32,
    /// Valid packets read (Client mode).
    pub packets: u32,
    /// The correction computed from this frame's packets (µs, Client mode),
    /// before the dead band (compat); the adjustment planned on this frame
    /// (precision).
    pub correction_us: Option<i32>,
    /// The client's estimate of this frame's phase error against the
    /// nearest server frame, ns (precision, once a server is known).
    pub phase_error_ns: Option<i64>,
    /// The client counts itself locked (|error| within the ready tolerance).
    pub locked: bool,
    /// A step of the wall clock was detected on this frame, ns (precision).
    pub clock_step_ns: Option<i64>,
    /// A new server (restart) or a jump of its frame grid was confirmed on
    /// this frame (precision client).
    pub server_jump: bool,
    /// SyncReady became true on this frame.
    pub sync_achieved: bool,
    /// The wall-clock fit was thrown away on this frame (a clock step).
    pub clock_reset: bool,
    /// The frame's wall clock in µs as the algorithm used it.
    pub t_us: u64,
}

/// A completed request, as the layer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Completion {
    /// The `SensorTimestamp` metadata (ns), if the pipeline set it.
    pub sensor_timestamp_ns: Option<i64>,
    /// The request did not complete (e.g. cancelled at stop): it is ignored.
    pub cancelled: bool,
}

/// A network interface name or address, stored without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Interface {
    buf: [u8; MAX_INTERFACE_LEN],
    len: u8,
}

impl Interface {
    fn new(s: &str) -> Option<Interface> {
        let b = s.as_bytes();
        if b.len() > MAX_INTERFACE_LEN {
            return None;
        }
        let mut buf = [0; MAX_INTERFACE_LEN];
        buf[..b.len()].copy_from_slice(b);
        Some(Interface {
            buf,
            len: b.len() as u8,
        })
    }

    fn as_str(&self) -> &str {
        // Built from a &str and cut at a length that was a char boundary.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

/// Which arithmetic runs, with its state.
#[derive(Clone)]
enum Algo {
    Compat(Compat),
    Precision(Box<Precision>),
}

/// The sync state of one camera.
#[derive(Clone)]
pub struct Layer {
    params: LayerParams,
    profile: Profile,
    available: bool,
    camera: CameraControls,
    interface: Option<Interface>,
    mode: Mode,
    /// `FrameDurationLimits` min, µs (the reference keeps it as f64 ns).
    frame_duration_us: i64,
    /// The socket the caller was last told to have open, and on which interface.
    socket: Option<(SocketRole, Option<Interface>)>,
    algo: Algo,
}

impl Layer {
    /// A layer as `init` leaves it: everything zero, mode Off, no socket.
    pub fn new(params: LayerParams, profile: Profile) -> Layer {
        let algo = match profile {
            Profile::Compat => Algo::Compat(Compat::new(&params)),
            Profile::Precision => Algo::Precision(Box::new(Precision::new(params.precision))),
        };
        Layer {
            params,
            profile,
            available: false,
            camera: CameraControls::default(),
            interface: None,
            mode: Mode::Off,
            frame_duration_us: 0,
            socket: None,
            algo,
        }
    }

    pub fn params(&self) -> &LayerParams {
        &self.params
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the camera supports sync (known after `controls`).
    pub fn available(&self) -> bool {
        self.available
    }

    pub fn sync_ready(&self) -> bool {
        match &self.algo {
            Algo::Compat(c) => c.sync_ready,
            Algo::Precision(p) => p.sync_ready(),
        }
    }

    /// The `SyncInterface` in effect, if any.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_ref().map(Interface::as_str)
    }

    /// The socket role the caller was last told to open (None: closed).
    pub fn socket_role(&self) -> Option<SocketRole> {
        self.socket.map(|(r, _)| r)
    }

    /// The reference's wall-clock fit (the compat profile only; the
    /// precision profile has its own, see [`Layer::wall_clock`]).
    pub fn clock_recovery(&self) -> Option<&ClockRecovery> {
        match &self.algo {
            Algo::Compat(c) => Some(&c.clock),
            Algo::Precision(_) => None,
        }
    }

    /// The wall clock (ns) of a sensor timestamp (ns) under the current fit.
    pub fn wall_clock(&self, sensor_ts_ns: i64) -> i64 {
        match &self.algo {
            Algo::Compat(c) => c.clock.get_output(sensor_ts_ns as u64) as i64,
            Algo::Precision(p) => p.wall_clock(sensor_ts_ns),
        }
    }

    /// The sensor's line time, ns, once measured (a precision client's
    /// probe measures it; nothing else does).
    pub fn line_time_ns(&self) -> Option<u64> {
        match &self.algo {
            Algo::Compat(_) => None,
            Algo::Precision(p) => p.line_ns().map(|l| l.round() as u64),
        }
    }

    /// Valid packets the precision client's server grid held as strays
    /// (off the grid, not confirmed by a second one); `None` in compat.
    pub fn strays(&self) -> Option<u64> {
        match &self.algo {
            Algo::Compat(_) => None,
            Algo::Precision(p) => Some(p.strays()),
        }
    }

    /// The `FrameDurationLimits` min in use, µs (0 = unknown).
    pub fn frame_duration_us(&self) -> i64 {
        self.frame_duration_us
    }

    /// The caller could not open (or lost) the socket: forget it, so the
    /// next hook that needs one asks again.
    pub fn socket_lost(&mut self) {
        self.socket = None;
    }

    /// `controls`: decide whether the camera supports sync and return the
    /// controls to add (`None`: sync unavailable, add nothing).
    pub fn controls(&mut self, camera: &CameraControls) -> Option<&'static [ControlInfo]> {
        self.available = camera.sync_adjustment_limits_us.is_some();
        self.camera = *camera;
        if !self.available {
            tracing::warn!("Sync layer is not supported: SyncAdjustment control is not available");
            return None;
        }
        // The camera's range (its min, as the reference takes it, until the
        // application sets limits). A range is normal here: whether the
        // application fixes the rate is the plugin's to check.
        match camera.frame_duration_limits_us {
            Some([min, _]) => self.frame_duration_us = min,
            None => tracing::info!(
                "camera has no FrameDurationLimits: waiting for the application to set it"
            ),
        }
        if let Algo::Precision(p) = &mut self.algo {
            p.set_camera(camera);
        }
        Some(&ADDED_CONTROLS)
    }

    /// `start`: reset the per-run state, take a clock sample, apply the
    /// start controls. A no-op when sync is unavailable.
    pub fn start(&mut self, controls: &Controls, clock: &mut dyn ClockSource) -> HookOutput {
        if !self.available {
            return HookOutput::default();
        }
        match &mut self.algo {
            Algo::Compat(c) => c.start(clock),
            Algo::Precision(p) => p.start(clock),
        }
        HookOutput {
            sync_adjustment_us: None,
            socket: self.process_controls(controls),
        }
    }

    /// `queueRequest`: apply the request's controls; in Client mode return the
    /// pending correction as `SyncAdjustment` (0 when there is none).
    pub fn queue_request(&mut self, controls: &Controls) -> HookOutput {
        if !self.available {
            return HookOutput::default();
        }
        let socket = self.process_controls(controls);
        let sync_adjustment_us = match &mut self.algo {
            Algo::Compat(c) => (self.mode == Mode::Client).then(|| c.take_adjustment()),
            // A client, or a server pinning its frames to a schedule.
            Algo::Precision(p) => p.take_adjustment(self.mode),
        };
        HookOutput {
            sync_adjustment_us,
            socket,
        }
    }

    /// `requestCompleted`: the metadata for this request, and the packet to
    /// send. Cancelled requests are ignored (the reference processes them).
    pub fn request_completed(
        &mut self,
        completion: &Completion,
        clock: &mut dyn ClockSource,
        packets: &mut dyn PacketSource,
    ) -> FrameOutput {
        let mut out = FrameOutput::default();
        let Some(sensor_ts) = super::compat::sensor_timestamp(completion) else {
            return out;
        };
        let ctx = Ctx {
            params: &self.params,
            mode: self.mode,
            frame_duration_us: self.frame_duration_us,
        };
        match &mut self.algo {
            Algo::Compat(c) => c.request_completed(ctx, sensor_ts, clock, packets, &mut out),
            Algo::Precision(p) => p.request_completed(ctx, sensor_ts, clock, packets, &mut out),
        }
        out
    }

    /// `stop`: close the socket. The state is kept (the next `start` resets
    /// what the reference resets).
    pub fn stop(&mut self) -> Option<SocketAction> {
        self.socket.take().map(|_| SocketAction::Close)
    }

    fn process_controls(&mut self, c: &Controls) -> Option<SocketAction> {
        if let Some(name) = c.sync_interface {
            if name.is_empty() {
                self.interface = None;
            } else if let Err(why) = check_interface(name) {
                tracing::warn!(value = ?name, "SyncInterface ignored: {why}");
            } else if let Some(i) = Interface::new(name) {
                self.interface = Some(i);
            }
        }
        if let Some(v) = c.sync_mode {
            match Mode::from_control(v) {
                Some(m) => {
                    let previous = self.mode;
                    self.mode = m;
                    match &mut self.algo {
                        Algo::Compat(c) if m == Mode::Off => c.reset(),
                        Algo::Compat(_) => {}
                        Algo::Precision(p) => p.mode_changed(previous, m),
                    }
                }
                None => tracing::warn!(value = v, "invalid SyncMode ignored"),
            }
        }
        if let Some(frames) = c.sync_frames {
            match u32::try_from(frames) {
                Ok(f @ 1..=MAX_SYNC_FRAMES) => self.params.ready_frame = f,
                _ => tracing::warn!(
                    value = frames,
                    "SyncFrames outside 1..={MAX_SYNC_FRAMES} ignored"
                ),
            }
        }
        if let Some([min, max]) = c.frame_duration_limits_us {
            if (0..=max).contains(&min) {
                self.frame_duration_us = min;
            } else {
                tracing::warn!(
                    min,
                    max,
                    "FrameDurationLimits with min > max (or < 0) ignored"
                );
            }
        }
        self.socket_update()
    }

    /// Compare the socket the mode needs with the one open; say what to do.
    fn socket_update(&mut self) -> Option<SocketAction> {
        let want = match self.mode {
            Mode::Off => None,
            Mode::Server => Some((SocketRole::Sender, self.interface)),
            // A client that follows a schedule trusts no packet: no socket.
            Mode::Client if matches!(&self.algo, Algo::Precision(p) if p.follows_schedule()) => {
                None
            }
            Mode::Client => Some((SocketRole::Receiver, self.interface)),
        };
        if want == self.socket {
            return None;
        }
        self.socket = want;
        Some(match want {
            Some((role, _)) => SocketAction::Open(role),
            None => SocketAction::Close,
        })
    }
}
