// SPDX-License-Identifier: LGPL-2.1-or-later
//! One camera's layer: the core [`Layer`], its [`Transport`] and its
//! configuration behind one mutex.
//!
//! libcamera calls `start`/`queueRequest` on the application's thread and
//! `requestCompleted` on its CameraManager thread, so every hook takes the
//! lock. It is held only for the hook's own work: no hook blocks on I/O (the
//! sockets are non-blocking; a client drains a bounded number of datagrams
//! per frame), and the frame path does not allocate in steady state.
//!
//! A panic inside a hook poisons the mutex; the next hook finds it poisoned,
//! closes the socket and disables the instance for good (its state may be
//! half-updated), logging why.

use std::os::fd::RawFd;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::core::{
    CameraControls, ClockSample, ClockSource, Completion, ControlInfo, Controls, FrameOutput,
    Layer, Mode, Profile, SocketAction, SocketRole,
};
use crate::net::{RxStats, Transport};

use super::config::{Config, ConfigError};

/// The clock pair the wall-clock fit uses: the input clock (the one the
/// sensor timestamps are in) is read before and after CLOCK_REALTIME.
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

struct State {
    /// False when the configuration was rejected, or after a panic.
    enabled: bool,
    layer: Layer,
    transport: Transport,
    clock: Box<dyn ClockSource + Send>,
    /// The camera's `SyncAdjustment` limits, µs.
    adjust_limits: Option<[i32; 2]>,
    stats: Stats,
    debug_panic: Option<Hook>,
    /// When a socket error was last logged (a failing open is retried on
    /// every request; the log is rate-limited).
    socket_error_logged: Option<Instant>,
}

/// One camera's sync layer.
pub struct Instance {
    camera_id: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("camera_id", &self.camera_id)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// The instance for `camera_id`, configured from the environment
    /// (`LIBCAMERA_SYNC_*`, `LIBCAMERA_SYNC_CONFIG`). A rejected configuration
    /// is logged, naming the key, and leaves the instance disabled.
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
            tracing::warn!(camera = camera_id, hook = ?h, "CAMSYNC_DEBUG_PANIC set: that hook will panic");
            inst.lock().debug_panic = Some(h);
        }
        inst
    }

    /// The instance for `camera_id` with a given configuration (or the error
    /// that rejected it).
    pub fn with_config(camera_id: &str, config: Result<Config, ConfigError>) -> Instance {
        let clock = Box::new(SystemClock::for_profile(Profile::Compat));
        Instance::with_clock(camera_id, config, clock)
    }

    /// As [`Instance::with_config`], reading the clocks from `clock` (tests
    /// script it; the plugin reads the system clocks).
    pub fn with_clock(
        camera_id: &str,
        config: Result<Config, ConfigError>,
        clock: Box<dyn ClockSource + Send>,
    ) -> Instance {
        let (config, enabled) = match config {
            Ok(c) => {
                tracing::info!(
                    camera = camera_id,
                    group = %c.net.group,
                    port = c.net.port,
                    interface = c.net.interface.as_deref().unwrap_or("(default)"),
                    wire_format = c.net.wire_format.name(),
                    "sync layer initialised"
                );
                (c, true)
            }
            Err(e) => {
                tracing::error!(
                    camera = camera_id,
                    "configuration rejected, sync layer disabled for this camera: {e}"
                );
                (Config::default(), false)
            }
        };
        let profile = Profile::Compat;
        Instance {
            camera_id: camera_id.to_string(),
            state: Mutex::new(State {
                enabled,
                layer: Layer::new(config.layer, profile),
                transport: Transport::new(config.net),
                clock,
                adjust_limits: None,
                stats: Stats::default(),
                debug_panic: None,
                socket_error_logged: None,
            }),
        }
    }

    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The state, or — if a panic poisoned it — the state disabled.
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                self.state.clear_poison();
                let mut g = poisoned.into_inner();
                if g.enabled {
                    tracing::error!(
                        camera = %self.camera_id,
                        "sync layer disabled for this camera after an internal error"
                    );
                }
                g.enabled = false;
                g.transport.close();
                g
            }
        }
    }

    /// The state for a hook, unless the instance is disabled.
    fn lock_enabled(&self, hook: Hook) -> Result<MutexGuard<'_, State>, Disabled> {
        let g = self.lock();
        if !g.enabled {
            return Err(Disabled);
        }
        g.check_panic(hook);
        Ok(g)
    }

    /// Whether the layer runs for this camera.
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let g = self.lock();
        Stats {
            rx: g.transport.rx_stats(),
            ..g.stats
        }
    }

    /// The role of the open socket (None: closed).
    pub fn socket_role(&self) -> Option<SocketRole> {
        self.lock().transport.role()
    }

    /// The open socket's descriptor, for inspection (tests).
    pub fn socket_fd(&self) -> Option<RawFd> {
        self.lock().transport.raw_fd()
    }

    /// The sync mode in effect.
    pub fn mode(&self) -> Mode {
        self.lock().layer.mode()
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
        let out = layer.start(controls, clock.as_mut());
        g.apply_socket(out.socket);
        Ok(())
    }

    /// `queueRequest`: the `SyncAdjustment` to write (Client mode), clamped
    /// to the camera's limits.
    pub fn queue_request(&self, controls: &Controls) -> Result<QueueOutput, Disabled> {
        let mut g = self.lock_enabled(Hook::QueueRequest)?;
        let out = g.layer.queue_request(controls);
        g.apply_socket(out.socket);
        let Some(us) = out.sync_adjustment_us else {
            return Ok(QueueOutput::default());
        };
        let Some([min, max]) = g.adjust_limits else {
            return Ok(QueueOutput {
                sync_adjustment_us: Some(us),
                clamped: false,
            });
        };
        let v = us.clamp(min.min(max), max.max(min));
        let clamped = v != us;
        if clamped {
            g.stats.clamped += 1;
            tracing::warn!(
                camera = %self.camera_id,
                wanted_us = us,
                applied_us = v,
                min_us = min,
                max_us = max,
                "SyncAdjustment clamped to the camera's limits"
            );
        }
        Ok(QueueOutput {
            sync_adjustment_us: Some(v),
            clamped,
        })
    }

    /// `requestCompleted`: the metadata to add. A server's packet is sent
    /// here (non-blocking); a client drains its socket (bounded).
    pub fn request_completed(&self, completion: &Completion) -> Result<FrameOutput, Disabled> {
        let mut g = self.lock_enabled(Hook::RequestCompleted)?;
        let State {
            layer,
            transport,
            clock,
            stats,
            ..
        } = &mut *g;
        let out = {
            let mut packets = transport.packets();
            layer.request_completed(completion, clock.as_mut(), &mut packets)
        };
        if out.diag.processed {
            stats.frames += 1;
        }
        if let Some(p) = &out.tx {
            match transport.send(p) {
                Ok(()) => stats.packets_sent += 1,
                Err(e) => {
                    stats.send_errors += 1;
                    // At most one packet per sync_period frames: not a flood.
                    tracing::warn!(camera = %self.camera_id, "{e}");
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
        Ok(())
    }
}

impl State {
    fn check_panic(&self, hook: Hook) {
        if self.debug_panic == Some(hook) {
            panic!("CAMSYNC_DEBUG_PANIC: injected panic in {hook:?}");
        }
    }

    fn apply_socket(&mut self, action: Option<SocketAction>) {
        let Some(action) = action else { return };
        let State {
            layer, transport, ..
        } = self;
        if let Err(e) = transport.apply(action, layer.interface()) {
            self.stats.socket_errors += 1;
            let now = Instant::now();
            if self
                .socket_error_logged
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(5))
            {
                self.socket_error_logged = Some(now);
                tracing::error!(
                    mode = layer.mode().name(),
                    errors = self.stats.socket_errors,
                    "sync socket: {e}"
                );
            }
            // Ask again on the next hook that needs a socket.
            layer.socket_lost();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // terminate: the socket closes with the transport.
        tracing::debug!(camera = %self.camera_id, "sync layer terminated");
    }
}
