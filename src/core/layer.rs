//! The sync layer's state machine, hook by hook (`spec/algorithm.md` §2–§3).
//!
//! One [`Layer`] per camera. Each hook takes plain values and returns plain
//! values: the clock and the received packets come in through the
//! [`ClockSource`] and [`PacketSource`] traits, and what the layer wants done
//! with its socket comes out as a [`SocketAction`]. The per-frame arithmetic
//! lives in `frame.rs`.

use super::clock::{ClockRecovery, ClockRecoveryParams, ClockSource};
use super::controls::{
    ADDED_CONTROLS, CameraControls, ControlInfo, Controls, MAX_INTERFACE_LEN, Mode,
};
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
    /// The wall-clock fit.
    pub clock_recovery: ClockRecoveryParams,
}

impl Default for LayerParams {
    fn default() -> Self {
        Self {
            sync_period: 30,
            ready_frame: 100,
            min_adjustment_us: 50,
            clock_recovery: ClockRecoveryParams::default(),
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
    /// before the dead band.
    pub correction_us: Option<i32>,
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

/// The sync state of one camera.
#[derive(Clone)]
pub struct Layer {
    pub(super) params: LayerParams,
    pub(super) profile: Profile,
    available: bool,
    interface: Option<Interface>,
    pub(super) mode: Mode,
    /// `FrameDurationLimits` min, µs (the reference keeps it as f64 ns).
    pub(super) frame_duration_us: i64,
    /// The pending correction, ns, sent with the next queued request.
    pub(super) offset_ns: f64,
    /// The previous frame's wall clock, µs.
    pub(super) last_us: u64,
    /// Frame duration estimate, µs (server: measured; client: the server's).
    pub(super) est_us: f64,
    pub(super) frame_count: u32,
    /// Server frames since the last packet.
    pub(super) period: u32,
    /// The server's ready instant as a client last heard it, µs.
    pub(super) server_ready_us: u64,
    pub(super) sync_ready: bool,
    /// A client has seen a packet since start.
    pub(super) seen: bool,
    pub(super) clock: ClockRecovery,
    /// The socket the caller was last told to have open, and on which interface.
    socket: Option<(SocketRole, Option<Interface>)>,
}

impl Layer {
    /// A layer as `init` leaves it: everything zero, mode Off, no socket.
    pub fn new(params: LayerParams, profile: Profile) -> Layer {
        Layer {
            params,
            profile,
            available: false,
            interface: None,
            mode: Mode::Off,
            frame_duration_us: 0,
            offset_ns: 0.0,
            last_us: 0,
            est_us: 0.0,
            frame_count: 0,
            period: 0,
            server_ready_us: 0,
            sync_ready: false,
            seen: false,
            clock: ClockRecovery::new(params.clock_recovery),
            socket: None,
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
        self.sync_ready
    }

    /// The `SyncInterface` in effect, if any.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_ref().map(Interface::as_str)
    }

    /// The socket role the caller was last told to open (None: closed).
    pub fn socket_role(&self) -> Option<SocketRole> {
        self.socket.map(|(r, _)| r)
    }

    /// The wall-clock fit (read-only).
    pub fn clock_recovery(&self) -> &ClockRecovery {
        &self.clock
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
        if !self.available {
            tracing::warn!("Sync layer is not supported: SyncAdjustment control is not available");
            return None;
        }
        match camera.frame_duration_limits_us {
            Some([min, max]) => {
                self.frame_duration_us = min;
                if min != max {
                    tracing::warn!(
                        min,
                        max,
                        "FrameDurationLimits min != max: set a fixed frame rate or sync cannot hold"
                    );
                }
            }
            None => tracing::info!(
                "camera has no FrameDurationLimits: waiting for the application to set it"
            ),
        }
        Some(&ADDED_CONTROLS)
    }

    /// `start`: reset the per-run state, take a clock sample, apply the
    /// start controls. A no-op when sync is unavailable.
    pub fn start(&mut self, controls: &Controls, clock: &mut dyn ClockSource) -> HookOutput {
        if !self.available {
            return HookOutput::default();
        }
        self.reset();
        self.clock.add_clock_sample(clock.sample());
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
        let sync_adjustment_us = (self.mode == Mode::Client).then(|| {
            let us = (self.offset_ns / 1000.0) as i32;
            self.offset_ns = 0.0;
            us
        });
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
        if completion.cancelled {
            return out;
        }
        let Some(sensor_ts) = completion.sensor_timestamp_ns else {
            return out;
        };
        let resets = self.clock.resets();
        self.clock.add_clock_sample(clock.sample());
        out.diag.clock_reset = self.clock.resets() != resets;
        let fwc = self.clock.get_output(sensor_ts as u64);
        out.frame_wall_clock_ns = Some(fwc as i64);
        if self.mode != Mode::Off && self.frame_duration_us != 0 {
            self.process_frame(fwc, packets, &mut out);
        }
        out
    }

    /// `stop`: close the socket. The state is kept (the next `start` resets
    /// what the reference resets).
    pub fn stop(&mut self) -> Option<SocketAction> {
        self.socket.take().map(|_| SocketAction::Close)
    }

    /// The per-run reset (start, and SyncMode Off).
    fn reset(&mut self) {
        self.sync_ready = false;
        self.frame_count = 0;
        self.period = 0;
        self.server_ready_us = 0;
        self.seen = false;
    }

    fn process_controls(&mut self, c: &Controls) -> Option<SocketAction> {
        if let Some(name) = c.sync_interface {
            if name.is_empty() {
                self.interface = None;
            } else if let Some(i) = Interface::new(name) {
                self.interface = Some(i);
            } else {
                tracing::warn!(
                    len = name.len(),
                    "SyncInterface longer than {MAX_INTERFACE_LEN} bytes ignored"
                );
            }
        }
        if let Some(v) = c.sync_mode {
            match Mode::from_control(v) {
                Some(m) => {
                    self.mode = m;
                    if m == Mode::Off {
                        self.reset();
                    }
                }
                None => tracing::warn!(value = v, "invalid SyncMode ignored"),
            }
        }
        if let Some(frames) = c.sync_frames
            && frames > 0
        {
            self.params.ready_frame = frames as u32;
        }
        if let Some([min, _]) = c.frame_duration_limits_us {
            self.frame_duration_us = min;
        }
        self.socket_update()
    }

    /// Compare the socket the mode needs with the one open; say what to do.
    fn socket_update(&mut self) -> Option<SocketAction> {
        let want = match self.mode {
            Mode::Off => None,
            Mode::Server => Some((SocketRole::Sender, self.interface)),
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
