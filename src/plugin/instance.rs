// SPDX-License-Identifier: LGPL-2.1-or-later
//! One camera's layer: the core [`Layer`], its [`Transport`], its [`Clock`]
//! and its configuration behind one mutex.
//!
//! This is what ships around the core, whatever carries the packets: the
//! socket lifecycle the core asks for (on the configured or the
//! application's interface), encoding the packets a server sends in the
//! configured wire format, a bounded drain per client frame that validates
//! every datagram, the clamp of `SyncAdjustment` to the camera's limits, and
//! closing everything at stop. [`UdpTransport`] and [`SystemClock`] are what
//! the C API uses; the simulator, the trace replay and the tests run the same
//! instance over [`crate::net::MemoryTransport`] and a
//! [`super::ManualClock`].
//!
//! libcamera calls `start`/`queueRequest` on the application's thread and
//! `requestCompleted` on its CameraManager thread, so every hook takes the
//! lock. It is held only for the hook's own work: no hook blocks on I/O (the
//! transport never blocks; a client drains a bounded number of datagrams
//! per frame; what a hook logs is written after the lock is released, see
//! [`super::logging::Scope`]), and the frame path does not allocate in
//! steady state. Every line logged names the camera.
//!
//! A disabled instance (its configuration was rejected, or a hook panicked)
//! keeps advertising the controls, so an application that sets them still
//! starts, but does nothing with them and never reports `SyncReady`; it logs
//! why at ERROR at each start, then at most every 10 s while the application
//! asks for sync. A panic inside a hook poisons the mutex; the next hook finds
//! it poisoned, closes the socket and disables the instance for good (its
//! state may be half-updated), logging why.

use std::ops::{Deref, DerefMut};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::core::auth::AuthPacket;
use crate::core::{
    CameraControls, Completion, ControlInfo, Controls, Expect, FrameOutput, HookOutput, Layer,
    Mode, NoPackets, SocketAction, SocketRole,
};
use crate::net::{Transport, UdpTransport};

use super::clock::{Clock, SystemClock};
use super::config::{Config, ConfigError};
use super::health::{FALLBACK_BOUND_NS, Health, KernelClock};
use super::logging::Scope;
use super::notices::{Notices, Where};
use super::rx::{Policy, Rx, RxStats};
use super::timers::{Backoff, MAX_RETRY_NS, RateLimit};

/// A clamped `SyncAdjustment` is logged at most this often, ns.
const CLAMP_LOG_NS: u64 = 5_000_000_000;

/// A random u64 (the kernel's generator; never blocks). Should it fail, a
/// mix of the clocks and the process id: a sender id need only differ from
/// the last run's.
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: `b` is writable for its 8 bytes.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
    if n == 8 {
        return u64::from_le_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ (u64::from(std::process::id()) << 32) ^ (&raw const b as u64)
}

/// The hook `CAMSYNC_DEBUG_PANIC` names, honoured in debug builds only.
fn debug_panic_hook(value: Option<&str>) -> Option<Hook> {
    if !cfg!(debug_assertions) {
        return None;
    }
    value.and_then(Hook::from_name)
}

/// Which hook a test asks to panic (`CAMSYNC_DEBUG_PANIC=<hook>`; see
/// [`Instance::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Controls,
    Start,
    QueueRequest,
    RequestCompleted,
    Stop,
}

impl Hook {
    fn from_name(s: &str) -> Option<Hook> {
        Some(match s {
            "controls" => Hook::Controls,
            "start" => Hook::Start,
            "queue_request" => Hook::QueueRequest,
            "request_completed" => Hook::RequestCompleted,
            "stop" => Hook::Stop,
            _ => return None,
        })
    }
}

/// The instance is disabled (its configuration was rejected, or a hook
/// panicked): hooks do nothing (but `controls`, which still advertises them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sync layer is disabled for this camera")]
pub struct Disabled;

/// What `queue_request` asks to write into the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueOutput {
    /// `SyncAdjustment`, µs, within the camera's advertised limits and half
    /// the frame duration in use ([`adjustment_bounds`]).
    pub sync_adjustment_us: Option<i32>,
    /// The core's value, before the clamp.
    pub requested_us: Option<i32>,
    /// The core's value was outside those bounds and was clamped.
    pub clamped: bool,
}

/// The range every `SyncAdjustment` the instance writes is in: the camera's
/// advertised limits (if it has them), and ± half the frame duration in use
/// (`FrameDurationLimits` min, µs, rounded down; if it is known). No
/// correction needs more: the nearest server frame is never further than
/// half a frame away, so a larger value can only come from a wrong or forged
/// packet (the reference's arithmetic, which the compat profile keeps, does
/// not bound it). Limits that leave out 0 allow only 0.
pub fn adjustment_bounds(camera: Option<[i32; 2]>, frame_duration_us: i64) -> [i32; 2] {
    // Unknown (0) or beyond i32: no bound from the frame. A 1 µs frame's
    // half is 0 (it was taken for unknown, and the camera's limits alone
    // bounded the adjustment).
    let half = if frame_duration_us > 0 {
        i32::try_from(frame_duration_us / 2).unwrap_or(i32::MAX)
    } else {
        i32::MAX
    };
    let [lo, hi] = camera.map_or([i32::MIN, i32::MAX], |[a, b]| [a.min(b), a.max(b)]);
    let (lo, hi) = (lo.max(-half), hi.min(half));
    // Limits that leave out 0 (a camera's never should) would turn every
    // small correction into a large one, or miss ±half a frame altogether:
    // then no adjustment (0) is the only safe one.
    if lo <= 0 && 0 <= hi { [lo, hi] } else { [0, 0] }
}

/// The counters and state of an instance, read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub enabled: bool,
    pub mode: Mode,
    /// The role of the open socket (None: closed).
    pub socket: Option<SocketRole>,
    pub stats: Stats,
}

/// Counters of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Frames the sync algorithm processed.
    pub frames: u64,
    /// Packets sent (server).
    pub packets_sent: u64,
    /// Sends that failed.
    pub send_errors: u64,
    /// Sockets that could not be opened.
    pub socket_errors: u64,
    /// `SyncAdjustment` values clamped to the camera's limits (or half a frame).
    pub clamped: u64,
    /// Times a precision client found its server restarted or its frames
    /// moved (a clock step), and re-acquired.
    pub server_jumps: u64,
    /// Valid packets off the followed server's frame grid, held and not
    /// followed (precision client; a restart is followed from its second
    /// packet).
    pub strays: u64,
    /// Datagrams received, by outcome (client).
    pub rx: RxStats,
    /// This host's wall clock at the last check (at the first frame with
    /// sync on, then every 10 s; `None`: not read yet, or not readable).
    pub clock: Option<KernelClock>,
    /// The bound its estimated error was judged against, ns.
    pub clock_bound_ns: u64,
    /// Warnings that it was unsynchronised or beyond the bound.
    pub clock_warnings: u64,
}

struct State<T, C> {
    /// Why the layer is disabled for this camera (its configuration was
    /// rejected, or a hook panicked); `None`: it runs.
    disabled: Option<String>,
    config: Config,
    layer: Layer,
    transport: T,
    clock: C,
    /// The role of the socket open on the transport.
    socket: Option<SocketRole>,
    /// The camera's `SyncAdjustment` limits, µs.
    adjust_limits: Option<[i32; 2]>,
    stats: Stats,
    rx: Rx,
    debug_panic: Option<Hook>,
    /// A failing open is retried with a growing delay, and said once; what
    /// failed (another role or interface is tried at once).
    socket_retry: Backoff,
    socket_failed: Option<(SocketRole, Option<String>)>,
    /// Why the last socket open failed (cleared when one succeeds).
    last_socket_error: Option<String>,
    /// Clamped adjustments are logged at most every few seconds.
    clamp_log: RateLimit,
    /// So are packets the precision client's grid held as strays, and its
    /// re-acquisitions.
    stray_log: RateLimit,
    jump_log: RateLimit,
    /// A server's authenticated packets: its sender id (new with each
    /// sender socket) and the last sequence number sent.
    auth: (u64, u64),
    notices: Notices,
    health: Health,
}

/// One camera's sync layer, over transport `T` with clocks `C`.
pub struct Instance<T = UdpTransport, C = SystemClock> {
    camera_id: Arc<str>,
    state: Mutex<State<T, C>>,
}

/// The locked state, and the log scope that names the camera and writes
/// what was logged once the lock is released (fields drop in order: the
/// guard first).
struct Locked<'a, T, C> {
    guard: MutexGuard<'a, State<T, C>>,
    _log: Scope,
}

impl<T, C> Deref for Locked<'_, T, C> {
    type Target = State<T, C>;
    fn deref(&self) -> &State<T, C> {
        &self.guard
    }
}

impl<T, C> DerefMut for Locked<'_, T, C> {
    fn deref_mut(&mut self) -> &mut State<T, C> {
        &mut self.guard
    }
}

impl<T, C> std::fmt::Debug for Instance<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("camera_id", &self.camera_id)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// The instance for `camera_id` as libcamera runs it, configured from the
    /// environment (`LIBCAMERA_SYNC_*`, `LIBCAMERA_SYNC_CONFIG`). A rejected
    /// configuration is logged, naming the key, and leaves the instance
    /// disabled.
    ///
    /// Test hook, in debug builds only (release builds, what users
    /// install, ignore it): `CAMSYNC_DEBUG_PANIC=<hook>` (`controls`,
    /// `start`, `queue_request`, `request_completed`, `stop`) makes that hook
    /// panic, to prove the panic boundary holds.
    pub fn new(camera_id: &str) -> Instance {
        let inst = Instance::with_config(camera_id, Config::from_env(camera_id));
        if let Some(h) = debug_panic_hook(std::env::var("CAMSYNC_DEBUG_PANIC").ok().as_deref()) {
            let mut g = inst.lock();
            tracing::warn!(hook = ?h, "CAMSYNC_DEBUG_PANIC set: that hook will panic");
            g.debug_panic = Some(h);
        }
        inst
    }

    /// The instance for `camera_id` with a given configuration (or the error
    /// that rejected it), over UDP multicast, reading the system clocks of
    /// the configured profile.
    pub fn with_config(camera_id: &str, config: Result<Config, ConfigError>) -> Instance {
        let (net, profile) = match &config {
            Ok(c) => (c.net.clone(), c.profile),
            Err(_) => Default::default(),
        };
        Instance::from_parts(
            camera_id,
            config,
            UdpTransport::new(net),
            SystemClock::for_profile(profile),
        )
    }
}

impl<C> Instance<UdpTransport, C> {
    /// The open socket's descriptor, for inspection (tests).
    pub fn socket_fd(&self) -> Option<RawFd> {
        self.with_transport(|t| t.raw_fd())
    }
}

impl<T: Transport, C: Clock> Instance<T, C> {
    /// The instance for `camera_id` with a given configuration (or the error
    /// that rejected it), over `transport`, reading `clock`.
    pub fn from_parts(
        camera_id: &str,
        config: Result<Config, ConfigError>,
        transport: T,
        clock: C,
    ) -> Instance<T, C> {
        let camera_id: Arc<str> = Arc::from(camera_id);
        let _log = Scope::enter(&camera_id);
        let (config, disabled) = match config {
            Ok(c) => {
                tracing::info!(
                    profile = c.profile.name(),
                    group = %c.net.group,
                    port = c.net.port,
                    interface = c.net.interface.as_deref().unwrap_or("(default)"),
                    wire_format = if c.key.is_some() { "auth" } else { c.net.wire_format.name() },
                    "sync layer initialised"
                );
                (c, None)
            }
            Err(e) => {
                tracing::error!(
                    "configuration rejected, sync layer disabled for this camera (its controls \
                     stay, ignored): {e}"
                );
                (
                    Config::default(),
                    Some(format!("configuration rejected: {e}")),
                )
            }
        };
        Instance {
            camera_id: camera_id.clone(),
            state: Mutex::new(State {
                disabled,
                layer: Layer::new(config.layer, config.profile),
                config,
                transport,
                clock,
                socket: None,
                adjust_limits: None,
                stats: Stats::default(),
                rx: Rx::default(),
                debug_panic: None,
                socket_retry: Backoff::default(),
                socket_failed: None,
                last_socket_error: None,
                clamp_log: RateLimit::new(CLAMP_LOG_NS),
                stray_log: RateLimit::new(CLAMP_LOG_NS),
                jump_log: RateLimit::new(CLAMP_LOG_NS),
                auth: (0, 0),
                notices: Notices::default(),
                health: Health::default(),
            }),
        }
    }
}

impl<T: Transport, C> Instance<T, C> {
    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The state, or — if a panic poisoned it — the state disabled.
    fn lock(&self) -> Locked<'_, T, C> {
        let log = Scope::enter(&self.camera_id);
        let guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                self.state.clear_poison();
                let mut g = poisoned.into_inner();
                if g.disabled.is_none() {
                    tracing::error!("sync layer disabled for this camera after an internal error");
                    g.disabled = Some("an internal error (a hook panicked)".into());
                }
                g.transport.close();
                g.socket = None;
                g
            }
        };
        Locked { guard, _log: log }
    }

    /// Whether the layer runs for this camera.
    pub fn enabled(&self) -> bool {
        self.lock().disabled.is_none()
    }

    /// The configuration in effect (the defaults when it was rejected).
    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.snapshot().stats
    }

    /// The counters and the state, under one lock: one instant.
    pub fn snapshot(&self) -> Snapshot {
        let g = self.lock();
        Snapshot {
            enabled: g.disabled.is_none(),
            mode: g.layer.mode(),
            socket: g.socket,
            stats: Stats {
                rx: g.rx.stats,
                clock: g.health.latest(),
                clock_bound_ns: g.health.bound_ns(),
                clock_warnings: g.health.warnings(),
                ..g.stats
            },
        }
    }

    /// The frame duration in use, µs (`FrameDurationLimits` min; 0: unknown).
    pub fn frame_duration_us(&self) -> i64 {
        self.lock().layer.frame_duration_us()
    }

    /// Say that the camera id libcamera gave was not UTF-8 (`raw`): it is
    /// shown with U+FFFD in its place, and no configuration section can name
    /// it.
    pub fn warn_camera_id(&self, raw: &[u8]) {
        let _g = self.lock();
        tracing::warn!(
            bytes = %raw.escape_ascii(),
            "the camera id is not UTF-8: the layer runs, shown under this name (a [section] of \
             the configuration file cannot name it)"
        );
    }

    /// The role of the open socket (None: closed).
    pub fn socket_role(&self) -> Option<SocketRole> {
        self.lock().socket
    }

    /// Why the last attempt to open a socket failed, unless one succeeded since.
    pub fn last_socket_error(&self) -> Option<String> {
        self.lock().last_socket_error.clone()
    }

    /// The sync mode in effect.
    pub fn mode(&self) -> Mode {
        self.lock().layer.mode()
    }

    /// Run `f` on the transport (the simulator delivers datagrams and takes
    /// the sent ones; tests inject faults). `f` must not call the instance:
    /// its lock is held.
    pub fn with_transport<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().transport)
    }

    /// Run `f` on the clock (the simulator and the replay set it before
    /// each hook). `f` must not call the instance: its lock is held.
    pub fn with_clock<R>(&self, f: impl FnOnce(&mut C) -> R) -> R {
        f(&mut self.lock().clock)
    }
}

impl<T: Transport, C: Clock> Instance<T, C> {
    /// `controls`: the controls to add (`None`: the camera does not support
    /// sync). A disabled instance advertises them too: an application that
    /// sets them must still start.
    pub fn controls(
        &self,
        camera: &CameraControls,
    ) -> Result<Option<&'static [ControlInfo]>, Disabled> {
        let mut g = self.lock();
        g.check_panic(Hook::Controls);
        g.adjust_limits = camera.sync_adjustment_limits_us;
        Ok(g.layer.controls(camera))
    }

    /// `start`.
    pub fn start(&self, controls: &Controls) -> Result<(), Disabled> {
        let mut g = self.lock();
        g.hook_controls(Hook::Start, controls, |layer, clock| {
            layer.start(controls, clock)
        })?;
        g.notices.restart();
        g.health.restart();
        Ok(())
    }

    /// `queueRequest`: the `SyncAdjustment` to write (Client mode), clamped
    /// to the camera's limits.
    pub fn queue_request(&self, controls: &Controls) -> Result<QueueOutput, Disabled> {
        let mut g = self.lock();
        let out = g.hook_controls(Hook::QueueRequest, controls, |layer, _| {
            layer.queue_request(controls)
        })?;
        Ok(g.clamp(out.sync_adjustment_us))
    }

    /// `requestCompleted`: the metadata to add. A server's packet is sent
    /// here (non-blocking); a client drains its socket (bounded).
    pub fn request_completed(&self, completion: &Completion) -> Result<FrameOutput, Disabled> {
        let mut g = self.lock();
        if g.disabled.is_some() {
            return Err(Disabled);
        }
        g.check_panic(Hook::RequestCompleted);
        let State {
            config,
            layer,
            transport,
            clock,
            socket,
            stats,
            rx,
            notices,
            health,
            stray_log,
            jump_log,
            auth,
            ..
        } = &mut *g;
        let now = clock.now_ns();
        let out = if *socket == Some(SocketRole::Receiver) {
            // What a packet is judged against: our frame duration, and the
            // wall clock of this frame under the fit so far.
            let wall_us = completion
                .sensor_timestamp_ns
                .filter(|ts| *ts > 0 && !completion.cancelled)
                .map_or(0, |ts| (layer.wall_clock(ts) / 1000).max(0) as u64);
            let policy = Policy {
                group: config.net.group,
                servers: &config.net.servers,
                expect: Expect {
                    frame_duration_us: layer.frame_duration_us(),
                    wall_us,
                },
                key: config.key.as_ref(),
            };
            let mut packets = rx.drain(transport, config.net.max_drain, now, policy);
            layer.request_completed(completion, clock, &mut packets)
        } else {
            layer.request_completed(completion, clock, &mut NoPackets)
        };
        if out.diag.processed {
            stats.frames += 1;
        }
        if out.diag.server_jump {
            stats.server_jumps += 1;
            if let Some(suppressed) = jump_log.allow(now) {
                tracing::warn!(
                    jumps = stats.server_jumps,
                    suppressed,
                    "the server restarted, or its frames moved against our clock (a wall-clock \
                     step on one side): re-acquiring (SyncReady re-armed after a restart)"
                );
            }
        }
        if let Some(strays) = layer.strays()
            && strays > stats.strays
        {
            stats.strays = strays;
            if let Some(suppressed) = stray_log.allow(now) {
                tracing::warn!(
                    strays,
                    suppressed,
                    "a packet off the followed server's frame grid was held, not followed (a \
                     stray or forged packet; a restart is followed once a second packet confirms \
                     it)"
                );
            }
        }
        let timeout_ns = u64::from(config.packet_timeout_s) * 1_000_000_000;
        let at = Where {
            group: config.net.group,
            port: config.net.port,
            interface: layer.interface().or(config.net.interface.as_deref()),
        };
        notices.watch(layer.mode());
        if let Some(p) = &out.tx {
            let sent = match &config.key {
                // Signed, numbered: an authenticated packet only.
                Some(key) => {
                    auth.1 += 1;
                    let a = AuthPacket {
                        sender: auth.0,
                        seq: auth.1,
                        packet: *p,
                    };
                    transport.send(&a.encode(key))
                }
                None => transport.send(p.encode(config.net.wire_format).as_bytes()),
            };
            match &sent {
                Ok(()) => stats.packets_sent += 1,
                Err(_) => stats.send_errors += 1,
            }
            notices.sent(now, timeout_ns, sent.as_ref().map(drop), &at);
        }
        if layer.mode() == Mode::Client && completion.sensor_timestamp_ns.is_some() {
            notices.client_frame(now, timeout_ns, out.diag.packets, &at, &rx.stats);
        }
        let bound_ns = match config.clock_error_bound_us {
            0 => layer.line_time_ns().unwrap_or(FALLBACK_BOUND_NS),
            us => u64::from(us) * 1000,
        };
        health.poll(now, layer.mode(), bound_ns, || clock.kernel_clock());
        Ok(out)
    }

    /// `stop`: close the socket.
    pub fn stop(&self) -> Result<(), Disabled> {
        let mut g = self.lock();
        if g.disabled.is_some() {
            return Err(Disabled);
        }
        g.check_panic(Hook::Stop);
        let a = g.layer.stop();
        g.apply_socket(a);
        // Whatever the core thought, nothing stays open after stop.
        g.transport.close();
        g.socket = None;
        g.notices.restart();
        Ok(())
    }
}

impl<T: Transport, C: Clock> State<T, C> {
    /// A hook that applies the application's controls (`start`, each
    /// request): a disabled layer notes the mode asked for (saying why it
    /// ignores it) and stops there; an enabled one runs `core`, carries out
    /// its socket action and checks the frame rate asked for.
    fn hook_controls(
        &mut self,
        hook: Hook,
        controls: &Controls,
        core: impl FnOnce(&mut Layer, &mut C) -> HookOutput,
    ) -> Result<HookOutput, Disabled> {
        if let Some(reason) = &self.disabled {
            let now = self.clock.now_ns();
            match hook {
                Hook::Start => self.notices.disabled_start(now, reason, controls.sync_mode),
                _ => self
                    .notices
                    .disabled_request(now, reason, controls.sync_mode),
            }
            return Err(Disabled);
        }
        self.check_panic(hook);
        let out = core(&mut self.layer, &mut self.clock);
        self.apply_socket(out.socket);
        self.notices
            .frame_rate(controls.frame_duration_limits_us, self.layer.mode());
        Ok(out)
    }

    /// The test hook: panic in `hook` if asked to (an enabled instance only).
    fn check_panic(&self, hook: Hook) {
        if self.disabled.is_none() && self.debug_panic == Some(hook) {
            panic!("CAMSYNC_DEBUG_PANIC: injected panic in {hook:?}");
        }
    }

    /// Carry out the core's socket action: on the application's
    /// `SyncInterface`, else the configured interface.
    fn apply_socket(&mut self, action: Option<SocketAction>) {
        let role = match action {
            None => return,
            Some(SocketAction::Close) => {
                self.transport.close();
                self.socket = None;
                return;
            }
            Some(SocketAction::Open(role)) => role,
        };
        let interface = self
            .layer
            .interface()
            .or(self.config.net.interface.as_deref());
        let now = self.clock.now_ns();
        if self
            .socket_failed
            .as_ref()
            .is_some_and(|(r, i)| (*r, i.as_deref()) != (role, interface))
        {
            // Something else is asked for: a new start.
            self.socket_retry = Backoff::default();
            self.socket_failed = None;
        }
        if !self.socket_retry.due(now) {
            // Failed recently: ask again on a later hook.
            self.layer.socket_lost();
            return;
        }
        match self.transport.open(role, interface) {
            Ok(flushed) => {
                self.socket = Some(role);
                self.last_socket_error = None;
                self.socket_failed = None;
                if let Some(failures) = self.socket_retry.succeeded() {
                    tracing::info!(
                        mode = self.layer.mode().name(),
                        "sync socket open, after {failures} failed attempts"
                    );
                }
                self.rx.stats.flushed += flushed as u64;
                match role {
                    SocketRole::Receiver => self.rx.forget_server(),
                    // A new run of a server: a new sender id, numbered from 1.
                    SocketRole::Sender => self.auth = (random_u64(), 0),
                }
                tracing::debug!(
                    role = ?role,
                    group = %self.config.net.group,
                    port = self.config.net.port,
                    interface = interface.unwrap_or("(default)"),
                    "sync socket opened"
                );
            }
            Err(e) => {
                self.socket = None;
                self.stats.socket_errors += 1;
                self.last_socket_error = Some(e.to_string());
                self.socket_failed = Some((role, interface.map(str::to_string)));
                if self.socket_retry.failed(now) {
                    let hint = if e.is_addr_in_use() {
                        format!(
                            " (another process holds UDP port {} exclusively)",
                            self.config.net.port
                        )
                    } else {
                        String::new()
                    };
                    tracing::error!(
                        mode = self.layer.mode().name(),
                        "sync socket: {e}{hint}; retrying every {} s at most, quietly until it \
                         opens",
                        MAX_RETRY_NS / 1_000_000_000
                    );
                } else {
                    tracing::debug!(failures = self.socket_retry.failures(), "sync socket: {e}");
                }
                // Ask again on a later hook that needs a socket.
                self.layer.socket_lost();
            }
        }
    }

    /// The core's `SyncAdjustment`, within [`adjustment_bounds`].
    fn clamp(&mut self, us: Option<i32>) -> QueueOutput {
        let Some(us) = us else {
            return QueueOutput::default();
        };
        let [min, max] = adjustment_bounds(self.adjust_limits, self.layer.frame_duration_us());
        let v = us.clamp(min, max);
        let clamped = v != us;
        if clamped {
            self.stats.clamped += 1;
            if let Some(suppressed) = self.clamp_log.allow(self.clock.now_ns()) {
                tracing::warn!(
                    wanted_us = us,
                    applied_us = v,
                    min_us = min,
                    max_us = max,
                    suppressed,
                    "SyncAdjustment clamped to the camera's limits and half a frame"
                );
            }
        }
        QueueOutput {
            sync_adjustment_us: Some(v),
            requested_us: Some(us),
            clamped,
        }
    }
}

impl<T, C> Drop for Instance<T, C> {
    fn drop(&mut self) {
        // terminate: the socket closes with the transport.
        let _log = Scope::enter(&self.camera_id);
        tracing::debug!("sync layer terminated");
    }
}
