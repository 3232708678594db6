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
//! A panic inside a hook poisons the mutex; the next hook finds it poisoned,
//! closes the socket and disables the instance for good (its state may be
//! half-updated), logging why.

use std::ops::{Deref, DerefMut};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::core::{
    CameraControls, Completion, ControlInfo, Controls, FrameOutput, Layer, Mode, NoPackets,
    SocketAction, SocketRole,
};
use crate::net::{Transport, UdpTransport};

use super::clock::{Clock, SystemClock};
use super::config::{Config, ConfigError};
use super::logging::Scope;
use super::rx::{Rx, RxStats};
use super::timers::RateLimit;

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
/// panicked): hooks do nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sync layer is disabled for this camera")]
pub struct Disabled;

/// What `queue_request` asks to write into the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueOutput {
    /// `SyncAdjustment`, µs, within the camera's advertised limits.
    pub sync_adjustment_us: Option<i32>,
    /// The core's value, before the clamp.
    pub requested_us: Option<i32>,
    /// The core's value was outside the limits and was clamped.
    pub clamped: bool,
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
    /// `SyncAdjustment` values clamped to the camera's limits.
    pub clamped: u64,
    /// Datagrams received, by outcome (client).
    pub rx: RxStats,
}

struct State<T, C> {
    /// False when the configuration was rejected, or after a panic.
    enabled: bool,
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
    /// A failing open is retried on every request: its log is rate-limited.
    socket_error_log: RateLimit,
    /// Why the last socket open failed (cleared when one succeeds).
    last_socket_error: Option<String>,
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
    /// Test hook: `CAMSYNC_DEBUG_PANIC=<hook>` (`controls`, `start`,
    /// `queue_request`, `request_completed`, `stop`) makes that hook panic,
    /// to prove the panic boundary holds.
    pub fn new(camera_id: &str) -> Instance {
        let inst = Instance::with_config(camera_id, Config::from_env(camera_id));
        if let Some(h) = std::env::var("CAMSYNC_DEBUG_PANIC")
            .ok()
            .and_then(|s| Hook::from_name(&s))
        {
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
        let (config, enabled) = match config {
            Ok(c) => {
                tracing::info!(
                    profile = c.profile.name(),
                    group = %c.net.group,
                    port = c.net.port,
                    interface = c.net.interface.as_deref().unwrap_or("(default)"),
                    wire_format = c.net.wire_format.name(),
                    "sync layer initialised"
                );
                (c, true)
            }
            Err(e) => {
                tracing::error!("configuration rejected, sync layer disabled for this camera: {e}");
                (Config::default(), false)
            }
        };
        Instance {
            camera_id: camera_id.clone(),
            state: Mutex::new(State {
                enabled,
                layer: Layer::new(config.layer, config.profile),
                config,
                transport,
                clock,
                socket: None,
                adjust_limits: None,
                stats: Stats::default(),
                rx: Rx::default(),
                debug_panic: None,
                socket_error_log: RateLimit::new(5_000_000_000),
                last_socket_error: None,
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
                if g.enabled {
                    tracing::error!("sync layer disabled for this camera after an internal error");
                }
                g.enabled = false;
                g.transport.close();
                g.socket = None;
                g
            }
        };
        Locked { guard, _log: log }
    }

    /// Whether the layer runs for this camera.
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// The configuration in effect (the defaults when it was rejected).
    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let g = self.lock();
        Stats {
            rx: g.rx.stats,
            ..g.stats
        }
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
    /// The state for a hook, unless the instance is disabled.
    fn lock_enabled(&self, hook: Hook) -> Result<Locked<'_, T, C>, Disabled> {
        let g = self.lock();
        if !g.enabled {
            return Err(Disabled);
        }
        g.check_panic(hook);
        Ok(g)
    }

    /// `controls`: the controls to add (`None`: the camera does not support
    /// sync, or the layer is disabled).
    pub fn controls(
        &self,
        camera: &CameraControls,
    ) -> Result<Option<&'static [ControlInfo]>, Disabled> {
        let mut g = self.lock_enabled(Hook::Controls)?;
        g.adjust_limits = camera.sync_adjustment_limits_us;
        Ok(g.layer.controls(camera))
    }

    /// `start`.
    pub fn start(&self, controls: &Controls) -> Result<(), Disabled> {
        let mut g = self.lock_enabled(Hook::Start)?;
        let State { layer, clock, .. } = &mut *g;
        let out = layer.start(controls, clock);
        g.apply_socket(out.socket);
        Ok(())
    }

    /// `queueRequest`: the `SyncAdjustment` to write (Client mode), clamped
    /// to the camera's limits.
    pub fn queue_request(&self, controls: &Controls) -> Result<QueueOutput, Disabled> {
        let mut g = self.lock_enabled(Hook::QueueRequest)?;
        let out = g.layer.queue_request(controls);
        g.apply_socket(out.socket);
        Ok(g.clamp(out.sync_adjustment_us))
    }

    /// `requestCompleted`: the metadata to add. A server's packet is sent
    /// here (non-blocking); a client drains its socket (bounded).
    pub fn request_completed(&self, completion: &Completion) -> Result<FrameOutput, Disabled> {
        let mut g = self.lock_enabled(Hook::RequestCompleted)?;
        let State {
            config,
            layer,
            transport,
            clock,
            socket,
            stats,
            rx,
            ..
        } = &mut *g;
        let out = if *socket == Some(SocketRole::Receiver) {
            let now = clock.now_ns();
            let mut packets = rx.drain(transport, config.net.max_drain, now);
            layer.request_completed(completion, clock, &mut packets)
        } else {
            layer.request_completed(completion, clock, &mut NoPackets)
        };
        if out.diag.processed {
            stats.frames += 1;
        }
        if let Some(p) = &out.tx {
            match transport.send(p.encode(config.net.wire_format).as_bytes()) {
                Ok(()) => stats.packets_sent += 1,
                Err(e) => {
                    stats.send_errors += 1;
                    // At most one packet per sync_period frames: not a flood.
                    tracing::warn!("{e}");
                }
            }
        }
        Ok(out)
    }

    /// `stop`: close the socket.
    pub fn stop(&self) -> Result<(), Disabled> {
        let mut g = self.lock_enabled(Hook::Stop)?;
        let a = g.layer.stop();
        g.apply_socket(a);
        // Whatever the core thought, nothing stays open after stop.
        g.transport.close();
        g.socket = None;
        Ok(())
    }
}

impl<T: Transport, C: Clock> State<T, C> {
    fn check_panic(&self, hook: Hook) {
        if self.debug_panic == Some(hook) {
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
        match self.transport.open(role, interface) {
            Ok(flushed) => {
                self.socket = Some(role);
                self.last_socket_error = None;
                self.rx.stats.flushed += flushed as u64;
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
                let now = self.clock.now_ns();
                if self.socket_error_log.allow(now).is_some() {
                    tracing::error!(
                        mode = self.layer.mode().name(),
                        errors = self.stats.socket_errors,
                        "sync socket: {e}"
                    );
                }
                // Ask again on the next hook that needs a socket.
                self.layer.socket_lost();
            }
        }
    }

    /// The core's `SyncAdjustment`, clamped to the camera's limits.
    fn clamp(&mut self, us: Option<i32>) -> QueueOutput {
        let Some(us) = us else {
            return QueueOutput::default();
        };
        let Some([min, max]) = self.adjust_limits else {
            return QueueOutput {
                sync_adjustment_us: Some(us),
                requested_us: Some(us),
                clamped: false,
            };
        };
        let v = us.clamp(min.min(max), max.max(min));
        let clamped = v != us;
        if clamped {
            self.stats.clamped += 1;
            tracing::warn!(
                wanted_us = us,
                applied_us = v,
                min_us = min,
                max_us = max,
                "SyncAdjustment clamped to the camera's limits"
            );
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
