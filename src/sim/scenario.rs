// SPDX-License-Identifier: LGPL-2.1-or-later
//! Scenarios: the knobs of a simulation ([`ScenarioParams`]), the presets,
//! and the concrete draw of every camera and host ([`Scenario`]).

use serde::Serialize;

use super::rng::{Rng, fnv1a};
use super::sensor::{HostClock, SensorParams, WALL_EPOCH_NS};
use crate::core::precision::StartAt;
use crate::core::{LayerParams, Profile};
use crate::plugin::{Config, KernelClock};

/// A camera's part in the rig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
}

/// Who follows a schedule (a lattice on the wall clock) in a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleMode {
    /// Nobody: clients follow the server's packets.
    #[default]
    Off,
    /// Every camera, the server's included, as a client of the schedule:
    /// no server, no packet.
    All,
    /// The server pins its frames to the schedule and sends packets; the
    /// clients follow them.
    Server,
}

impl ScheduleMode {
    pub const NAMES: [&'static str; 3] = ["off", "all", "server"];

    pub fn from_name(s: &str) -> Option<ScheduleMode> {
        match s {
            "off" => Some(ScheduleMode::Off),
            "all" => Some(ScheduleMode::All),
            "server" => Some(ScheduleMode::Server),
            _ => None,
        }
    }
}

/// Line times: drawn uniformly from a range, or given per camera (cycled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineTimes {
    Range(u64, u64),
    List(Vec<u64>),
}

/// Every parameter of a simulation. Presets fill these; every field has a
/// `camsync simulate` flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioParams {
    pub name: String,
    pub description: String,
    #[serde(serialize_with = "super::as_string")]
    pub seed: u64,
    /// Client cameras (there is always one server, camera 0).
    pub clients: usize,
    /// The run ends after this many server frames (over all its runs).
    pub frames: u64,
    /// The rig's frame duration (`FrameDurationLimits`), µs.
    pub frame_duration_us: u32,
    /// The sensor mode's shortest frame, µs (its maximum frame rate); `None`: no limit.
    pub mode_min_frame_us: Option<u32>,
    /// Frames between queueing a `SyncAdjustment` and the sensor applying it.
    pub delay_frames: u32,
    /// Completion latency after the end of frame, µs [lo, hi].
    pub latency_us: (u64, u64),
    /// Gap between the clock reads of one sample, ns [lo, hi].
    pub clock_read_gap_ns: (u64, u64),
    /// Network delay, µs [lo, hi].
    pub net_delay_us: (u64, u64),
    pub packet_loss_ppm: u32,
    pub frame_drop_ppm: u32,
    /// Hosts; cameras are spread over them in order (0: one host per camera).
    /// Cameras on one host share its clocks.
    pub hosts: usize,
    /// Residual NTP/PTP wall-clock error per host, drawn in ±this, µs.
    pub wall_offset_max_us: u32,
    /// Wall-clock read noise, uniform in ±this, ns.
    pub wall_noise_ns: u32,
    /// Sensor oscillator error magnitude, ppm [lo, hi], random sign.
    pub sensor_ppm: (f64, f64),
    /// Host boot clock rate error vs. its wall clock, ppm [lo, hi], random sign.
    pub sys_ppm: (f64, f64),
    /// NTP slewing of each host's wall clock: a triangle wave of slope
    /// ±this (ppm) ...
    pub wall_slew_ppm: f64,
    /// ... and this period, ms (random phase per host).
    pub wall_slew_period_ms: u64,
    /// Start-of-frame timestamp jitter: each `SensorTimestamp` is late by a
    /// uniform draw in [0, this] µs.
    pub jitter_us: u32,
    pub line_ns: LineTimes,
    /// When the server starts, ms.
    pub server_start_ms: u64,
    /// Clients start this long before the server, ms [lo, hi].
    pub client_lead_ms: (u64, u64),
    /// Delay between `start()` and the first frame, ms [lo, hi].
    pub startup_ms: (u64, u64),
    /// The last client starts this long after the server instead, ms.
    pub late_start_ms: Option<u64>,
    /// The server stops after this run-local frame ...
    pub restart_after_frame: Option<u64>,
    /// ... and starts again this much later, ms.
    pub restart_gap_ms: u64,
    /// The first client's wall clock steps at this run-local frame ...
    pub wall_step_frame: Option<u64>,
    /// ... by this much, µs.
    pub wall_step_us: i64,
    /// Who follows a schedule on the wall clock (precision cameras only;
    /// the lattice starts at the epoch, spaced by the frame duration).
    pub schedule: ScheduleMode,
    /// The server pins its start (precision only): ready at this true time
    /// (ms from the start of the simulation) as its wall clock reads it.
    pub start_at_ms: Option<u64>,
    /// Hosts whose kernel says the wall clock is unsynchronised (no daemon
    /// disciplines it); the others say synchronised, with the scenario's
    /// ±`wall_offset_max_us` as the daemon's estimated error.
    pub unsynced_hosts: Vec<usize>,
    /// The layer's `clock_error_bound`, µs (0: one line time).
    pub clock_error_bound_us: u32,
    pub sync_period: u32,
    pub ready_frame: u32,
    pub min_adjustment_us: u32,
}

/// The range of every [`ScenarioParams`] field that [`ScenarioParams::validate`]
/// accepts (`camsync simulate`'s flags check the same ranges). Inside them the
/// model holds and a run ends in bounded time and memory.
pub mod limits {
    use std::ops::RangeInclusive;

    /// Client cameras (the network model keeps a stream per camera pair).
    pub const CLIENTS: RangeInclusive<usize> = 1..=256;
    /// Server frames.
    pub const FRAMES: RangeInclusive<u64> = 1..=1_000_000;
    /// At most this many camera-frames in all, `(clients + 1) × frames`.
    pub const CAMERA_FRAMES: u64 = 2_000_000;
    /// Frame duration, µs: 1000 fps to 1 fps.
    pub const FRAME_US: RangeInclusive<u32> = 1_000..=1_000_000;
    /// Line time, ns: what image sensors have (a frame is then at least 10 lines).
    pub const LINE_NS: RangeInclusive<u64> = 1_000..=100_000;
    /// Frames from queueing a `SyncAdjustment` to the sensor applying it.
    pub const DELAY_FRAMES: RangeInclusive<u32> = 0..=16;
    /// Completion latency after the end of frame, µs.
    pub const LATENCY_US: RangeInclusive<u64> = 0..=1_000_000;
    /// Gap between the clock reads of one sample, ns.
    pub const CLOCK_READ_GAP_NS: RangeInclusive<u64> = 0..=1_000_000;
    /// Network delay, µs.
    pub const NET_DELAY_US: RangeInclusive<u64> = 0..=1_000_000;
    /// Packet loss and frame drops, parts per million (10⁶: all of them).
    pub const PPM_SHARE: RangeInclusive<u32> = 0..=1_000_000;
    /// Hosts (0: one per camera); at most one per camera.
    pub const HOSTS: RangeInclusive<usize> = 0..=257;
    /// Residual wall-clock error per host, ±µs.
    pub const WALL_OFFSET_MAX_US: RangeInclusive<u32> = 0..=1_000_000;
    /// Wall-clock read noise, ±ns.
    pub const WALL_NOISE_NS: RangeInclusive<u32> = 0..=1_000_000;
    /// Sensor and boot clock rate errors, ppm (quartz is tens of ppm).
    pub const CLOCK_PPM: RangeInclusive<f64> = 0.0..=1_000.0;
    /// Start times, leads, gaps, ms (ten minutes).
    pub const START_MS: RangeInclusive<u64> = 0..=600_000;
    /// From `start()` to the first frame, ms.
    pub const STARTUP_MS: RangeInclusive<u64> = 0..=10_000;
    /// A wall-clock step, µs.
    pub const WALL_STEP_US: RangeInclusive<i64> = -1_000_000..=1_000_000;
    /// Frames between server packets: the `sync_period` key's range.
    pub const SYNC_PERIOD: RangeInclusive<u32> =
        crate::plugin::config::MIN_SYNC_PERIOD..=crate::plugin::config::MAX_SYNC_PERIOD;
    /// Frames until ready.
    pub const READY_FRAME: RangeInclusive<u32> = 1..=1_000_000;
    /// Client dead band, µs.
    pub const MIN_ADJUSTMENT_US: RangeInclusive<u32> = 0..=1_000_000;
    /// Start-of-frame timestamp jitter, µs (interrupt latency: up to 20 µs
    /// is common; 20 ms would be a broken driver).
    pub const JITTER_US: RangeInclusive<u32> = 0..=20_000;
    /// Period of the wall clock's slewing, ms (up to an hour).
    pub const SLEW_PERIOD_MS: RangeInclusive<u64> = 1..=3_600_000;
    /// The layer's `clock_error_bound`, µs.
    pub const CLOCK_ERROR_BOUND_US: RangeInclusive<u32> =
        0..=crate::plugin::config::MAX_CLOCK_ERROR_BOUND_US;
}

/// A [`ScenarioParams`] value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {reason}")]
pub struct ParamError {
    /// The field at fault.
    pub field: &'static str,
    /// Its value, as the flag would be written.
    pub value: String,
    pub reason: String,
}

/// The preset names, in order.
pub const PRESETS: &[&str] = &[
    "basic",
    "drift",
    "mixed_sensors",
    "loss",
    "drops",
    "late_client",
    "server_restart",
    "wallclock_step",
    "near_max_fps",
];

impl ScenarioParams {
    /// The common base: 1 server + 2 clients at 30 fps, exact clocks (0 ppm),
    /// the traces' latencies and network.
    fn base(name: &str, description: &str) -> ScenarioParams {
        let l = LayerParams::default();
        ScenarioParams {
            name: name.to_string(),
            description: description.to_string(),
            seed: fnv1a(name),
            clients: 2,
            frames: 900,
            frame_duration_us: 33_333,
            mode_min_frame_us: None,
            delay_frames: 2,
            latency_us: (3_000, 12_000),
            clock_read_gap_ns: (0, 20_000),
            net_delay_us: (100, 2_000),
            packet_loss_ppm: 0,
            frame_drop_ppm: 0,
            hosts: 0,
            wall_offset_max_us: 50,
            wall_noise_ns: 1_000,
            sensor_ppm: (0.0, 0.0),
            sys_ppm: (0.0, 0.0),
            wall_slew_ppm: 0.0,
            wall_slew_period_ms: 20_000,
            jitter_us: 0,
            line_ns: LineTimes::Range(15_000, 30_000),
            server_start_ms: 3_000,
            client_lead_ms: (1_000, 2_000),
            startup_ms: (30, 80),
            late_start_ms: None,
            restart_after_frame: None,
            restart_gap_ms: 1_000,
            wall_step_frame: None,
            wall_step_us: 0,
            schedule: ScheduleMode::Off,
            start_at_ms: None,
            unsynced_hosts: Vec::new(),
            clock_error_bound_us: 0,
            sync_period: l.sync_period,
            ready_frame: l.ready_frame,
            min_adjustment_us: l.min_adjustment_us,
        }
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Option<ScenarioParams> {
        let p = match name {
            "basic" => Self::base(
                name,
                "exact clocks (0 ppm): what remains is that frames are whole lines",
            ),
            "drift" => ScenarioParams {
                clients: 3,
                frames: 3600,
                sensor_ppm: (20.0, 50.0),
                sys_ppm: (20.0, 50.0),
                ..Self::base(name, "sensor and system clocks off by 20..50 ppm")
            },
            "mixed_sensors" => ScenarioParams {
                clients: 3,
                frames: 1800,
                hosts: 2,
                line_ns: LineTimes::List(vec![29_250, 18_377, 23_143, 26_369]),
                ..Self::base(
                    name,
                    "four different line times; cameras 0-1 share host 0, 2-3 host 1",
                )
            },
            "loss" => ScenarioParams {
                frames: 1800,
                packet_loss_ppm: 200_000,
                net_delay_us: (1_000, 15_000),
                ..Self::base(name, "20% packet loss, 1-15 ms network delay")
            },
            "drops" => ScenarioParams {
                frames: 1800,
                frame_drop_ppm: 20_000,
                ..Self::base(name, "2% frame drops")
            },
            "late_client" => ScenarioParams {
                late_start_ms: Some(10_000),
                ..Self::base(name, "the last client starts 10 s after the server")
            },
            "server_restart" => ScenarioParams {
                frames: 1200,
                restart_after_frame: Some(450),
                restart_gap_ms: 1_000,
                ..Self::base(
                    name,
                    "the server stops after frame 450 and starts again 1 s later",
                )
            },
            "wallclock_step" => ScenarioParams {
                frames: 1200,
                wall_step_frame: Some(600),
                wall_step_us: 5_000,
                ..Self::base(
                    name,
                    "the first client's wall clock steps +5 ms at its frame 600",
                )
            },
            "near_max_fps" => ScenarioParams {
                frames: 1800,
                mode_min_frame_us: Some(32_787),
                ..Self::base(
                    name,
                    "30 fps on a 30.5 fps mode: a frame can be shortened by ~0.5 ms at most",
                )
            },
            _ => return None,
        };
        Some(p)
    }

    /// Refuse parameters that cannot work: every field inside [`limits`], and
    /// the combinations the model needs (the run must reach the server's
    /// ready frame, the restart and the wall-clock step must happen, no more
    /// line times than cameras, no more hosts than cameras, no client
    /// starting before time 0, the mode able to run the frame).
    pub fn validate(&self) -> Result<(), ParamError> {
        use limits as l;
        fn within<T: PartialOrd + std::fmt::Display>(
            field: &'static str,
            v: T,
            r: &std::ops::RangeInclusive<T>,
        ) -> Result<(), ParamError> {
            if r.contains(&v) {
                Ok(())
            } else {
                Err(ParamError {
                    field,
                    value: v.to_string(),
                    reason: format!("not in {}..={}", r.start(), r.end()),
                })
            }
        }
        fn span<T: PartialOrd + std::fmt::Display + Copy>(
            field: &'static str,
            (a, b): (T, T),
            r: &std::ops::RangeInclusive<T>,
        ) -> Result<(), ParamError> {
            let err = |reason: String| ParamError {
                field,
                value: format!("{a}..{b}"),
                reason,
            };
            if !(r.contains(&a) && r.contains(&b)) {
                return Err(err(format!("not in {}..={}", r.start(), r.end())));
            }
            if a > b {
                return Err(err(format!("empty range: {a} > {b}")));
            }
            Ok(())
        }
        let bad = |field, value: String, reason: String| {
            Err(ParamError {
                field,
                value,
                reason,
            })
        };
        within("clients", self.clients, &l::CLIENTS)?;
        within("frames", self.frames, &l::FRAMES)?;
        within("frame_duration_us", self.frame_duration_us, &l::FRAME_US)?;
        if let Some(m) = self.mode_min_frame_us {
            within("mode_min_frame_us", m, &l::FRAME_US)?;
        }
        within("delay_frames", self.delay_frames, &l::DELAY_FRAMES)?;
        span("latency_us", self.latency_us, &l::LATENCY_US)?;
        span(
            "clock_read_gap_ns",
            self.clock_read_gap_ns,
            &l::CLOCK_READ_GAP_NS,
        )?;
        span("net_delay_us", self.net_delay_us, &l::NET_DELAY_US)?;
        within("packet_loss_ppm", self.packet_loss_ppm, &l::PPM_SHARE)?;
        within("frame_drop_ppm", self.frame_drop_ppm, &l::PPM_SHARE)?;
        within("hosts", self.hosts, &l::HOSTS)?;
        within(
            "wall_offset_max_us",
            self.wall_offset_max_us,
            &l::WALL_OFFSET_MAX_US,
        )?;
        within("wall_noise_ns", self.wall_noise_ns, &l::WALL_NOISE_NS)?;
        span("sensor_ppm", self.sensor_ppm, &l::CLOCK_PPM)?;
        span("sys_ppm", self.sys_ppm, &l::CLOCK_PPM)?;
        within("wall_slew_ppm", self.wall_slew_ppm, &l::CLOCK_PPM)?;
        within(
            "wall_slew_period_ms",
            self.wall_slew_period_ms,
            &l::SLEW_PERIOD_MS,
        )?;
        within("jitter_us", self.jitter_us, &l::JITTER_US)?;
        within(
            "clock_error_bound_us",
            self.clock_error_bound_us,
            &l::CLOCK_ERROR_BOUND_US,
        )?;
        if let Some(v) = self.start_at_ms {
            within("start_at_ms", v, &l::START_MS)?;
        }
        match &self.line_ns {
            LineTimes::Range(a, b) => span("line_ns", (*a, *b), &l::LINE_NS)?,
            LineTimes::List(v) => {
                if v.is_empty() {
                    return bad("line_ns", String::new(), "no line time".into());
                }
                for &x in v {
                    within("line_ns", x, &l::LINE_NS)?;
                }
            }
        }
        within("server_start_ms", self.server_start_ms, &l::START_MS)?;
        span("client_lead_ms", self.client_lead_ms, &l::START_MS)?;
        span("startup_ms", self.startup_ms, &l::STARTUP_MS)?;
        if let Some(v) = self.late_start_ms {
            within("late_start_ms", v, &l::START_MS)?;
        }
        if let Some(v) = self.restart_after_frame {
            within("restart_after_frame", v, &l::FRAMES)?;
        }
        within("restart_gap_ms", self.restart_gap_ms, &l::START_MS)?;
        if let Some(v) = self.wall_step_frame {
            within("wall_step_frame", v, &l::FRAMES)?;
        }
        within("wall_step_us", self.wall_step_us, &l::WALL_STEP_US)?;
        within("sync_period", self.sync_period, &l::SYNC_PERIOD)?;
        within("ready_frame", self.ready_frame, &l::READY_FRAME)?;
        within(
            "min_adjustment_us",
            self.min_adjustment_us,
            &l::MIN_ADJUSTMENT_US,
        )?;

        // Combinations.
        let cameras = self.clients + 1;
        let work = cameras as u64 * self.frames;
        if work > l::CAMERA_FRAMES {
            return bad(
                "frames",
                self.frames.to_string(),
                format!(
                    "{cameras} cameras x {} frames = {work} camera-frames, more than the {} a run may take",
                    self.frames,
                    l::CAMERA_FRAMES
                ),
            );
        }
        if let LineTimes::List(v) = &self.line_ns
            && v.len() > cameras
        {
            let list: Vec<String> = v.iter().map(u64::to_string).collect();
            return bad(
                "line_ns",
                list.join(","),
                format!(
                    "{} line times for {cameras} cameras (one per camera, cycled when fewer)",
                    v.len()
                ),
            );
        }
        if self.hosts > cameras {
            return bad(
                "hosts",
                self.hosts.to_string(),
                format!("more hosts than the {cameras} cameras"),
            );
        }
        let nhosts = if self.hosts == 0 { cameras } else { self.hosts };
        if let Some(&h) = self.unsynced_hosts.iter().find(|&&h| h >= nhosts) {
            return bad(
                "unsynced_hosts",
                h.to_string(),
                format!("hosts are numbered 0..={} in this rig", nhosts - 1),
            );
        }
        if let Some(m) = self.mode_min_frame_us
            && m > self.frame_duration_us
        {
            return bad(
                "mode_min_frame_us",
                m.to_string(),
                format!(
                    "the mode's shortest frame is longer than the {} µs frame",
                    self.frame_duration_us
                ),
            );
        }
        if self.client_lead_ms.1 > self.server_start_ms {
            return bad(
                "server_start_ms",
                self.server_start_ms.to_string(),
                format!(
                    "clients start up to {} ms before the server (their lead), before time 0",
                    self.client_lead_ms.1
                ),
            );
        }
        // The server reaches SyncReady at its frame ready_frame and sends its
        // first packet at frame sync_period; a client needs that packet and a
        // frame or two to report ready.
        let needed = u64::from(self.ready_frame.max(self.sync_period)) + 2;
        if self.frames < needed {
            return bad(
                "frames",
                self.frames.to_string(),
                format!(
                    "the server reaches SyncReady at its frame {} and sends its first packet at frame {}: \
                     simulate at least {needed} frames",
                    self.ready_frame, self.sync_period
                ),
            );
        }
        if let Some(f) = self.restart_after_frame
            && f >= self.frames
        {
            return bad(
                "restart_after_frame",
                f.to_string(),
                format!(
                    "the run ends after {} server frames: no restart would happen",
                    self.frames
                ),
            );
        }
        if let Some(f) = self.wall_step_frame
            && f >= self.frames
        {
            return bad(
                "wall_step_frame",
                f.to_string(),
                format!(
                    "the run ends after {} server frames: no step would happen",
                    self.frames
                ),
            );
        }
        if let Some(ms) = self.late_start_ms {
            let run_ms = self.frames * u64::from(self.frame_duration_us) / 1000;
            if ms >= run_ms {
                return bad(
                    "late_start_ms",
                    ms.to_string(),
                    format!(
                        "the server runs {run_ms} ms ({} frames): the late client would start after the end",
                        self.frames
                    ),
                );
            }
        }
        Ok(())
    }

    /// What the parameters simulate, in one line: the rig, then every knob
    /// that differs from the common base (so a flag that changed a preset
    /// shows). Frames are whole lines, so even exact clocks leave each
    /// camera's frame a fraction of a line off the nominal duration.
    pub fn describe(&self) -> String {
        let b = Self::base(&self.name, "");
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let ppm = |(lo, hi): (f64, f64)| {
            if (lo, hi) == (0.0, 0.0) {
                "exact (0 ppm)".to_string()
            } else {
                format!("off by {lo}..{hi} ppm")
            }
        };
        let us_range = |(lo, hi): (u64, u64)| format!("{lo}..{hi} µs");
        let mut parts = vec![
            format!(
                "1 server + {}, {:.2} fps ({} µs frames), {}",
                plural(self.clients, "client"),
                1e6 / f64::from(self.frame_duration_us),
                self.frame_duration_us,
                plural(self.frames as usize, "server frame")
            ),
            format!("sensor clocks {}", ppm(self.sensor_ppm)),
            format!("system clocks {}", ppm(self.sys_ppm)),
            match &self.line_ns {
                LineTimes::Range(lo, hi) => {
                    format!("line times drawn in {lo}..{hi} ns (frames of whole lines)")
                }
                LineTimes::List(v) => {
                    let v: Vec<String> = v.iter().map(u64::to_string).collect();
                    format!("line times {} ns (frames of whole lines)", v.join(", "))
                }
            },
            match self.hosts {
                0 => "one host per camera".to_string(),
                n => format!("{} (a host's cameras share its clocks)", plural(n, "host")),
            },
        ];
        let when = |cond: bool, text: String| cond.then_some(text);
        let l = LayerParams::default();
        let optional = [
            when(
                self.packet_loss_ppm > 0,
                format!("{}% packet loss", f64::from(self.packet_loss_ppm) / 1e4),
            ),
            when(
                self.frame_drop_ppm > 0,
                format!("{}% frame drops", f64::from(self.frame_drop_ppm) / 1e4),
            ),
            when(
                self.net_delay_us != b.net_delay_us,
                format!("network delay {}", us_range(self.net_delay_us)),
            ),
            when(
                self.latency_us != b.latency_us,
                format!("completion latency {}", us_range(self.latency_us)),
            ),
            when(
                self.delay_frames != b.delay_frames,
                format!(
                    "adjustments applied {} frames after queueing",
                    self.delay_frames
                ),
            ),
            when(
                self.wall_offset_max_us != b.wall_offset_max_us,
                format!("wall clocks within ±{} µs", self.wall_offset_max_us),
            ),
            when(
                self.wall_slew_ppm > 0.0,
                format!(
                    "wall clocks slewing at {} ppm (period {} ms)",
                    self.wall_slew_ppm, self.wall_slew_period_ms
                ),
            ),
            when(
                self.jitter_us > 0,
                format!("SensorTimestamp late by 0..{} µs", self.jitter_us),
            ),
            self.mode_min_frame_us.map(|m| {
                format!(
                    "a {:.2} fps mode (shortest frame {m} µs)",
                    1e6 / f64::from(m)
                )
            }),
            self.late_start_ms
                .map(|ms| format!("the last client starts {ms} ms after the server")),
            self.restart_after_frame.map(|f| {
                format!(
                    "the server stops after frame {f} and starts again {} ms later",
                    self.restart_gap_ms
                )
            }),
            self.wall_step_frame.map(|f| {
                format!(
                    "the first client's wall clock steps {:+} µs at its frame {f}",
                    self.wall_step_us
                )
            }),
            match self.schedule {
                ScheduleMode::Off => None,
                ScheduleMode::All => {
                    Some("every precision camera follows the schedule (no server)".to_string())
                }
                ScheduleMode::Server => {
                    Some("a precision server pins its frames to the schedule".to_string())
                }
            },
            self.start_at_ms
                .map(|ms| format!("a precision server's start pinned at {ms} ms")),
            when(
                (self.sync_period, self.ready_frame, self.min_adjustment_us)
                    != (l.sync_period, l.ready_frame, l.min_adjustment_us),
                format!(
                    "sync period {}, ready frame {}, dead band {} µs",
                    self.sync_period, self.ready_frame, self.min_adjustment_us
                ),
            ),
        ];
        parts.extend(optional.into_iter().flatten());
        parts.join(", ")
    }

    /// One camera's configuration: `base` on `profile`, with the schedule
    /// and pinned start of a precision camera (the reference has neither).
    pub fn camera_config(&self, base: &Config, role: Role, profile: Profile) -> Config {
        let mut c = Config {
            profile,
            ..base.clone()
        };
        if profile == Profile::Precision {
            let p = &mut c.layer.precision;
            p.schedule = match self.schedule {
                ScheduleMode::Off => false,
                ScheduleMode::All => true,
                ScheduleMode::Server => role == Role::Server,
            };
            if role == Role::Server {
                p.start_at = self
                    .start_at_ms
                    .map(|ms| StartAt::At(WALL_EPOCH_NS + ms as i64 * 1_000_000));
            }
        }
        c
    }

    /// The configuration every camera's plugin instance gets (the default
    /// profile; `engine::run` sets the one it simulates).
    pub fn config(&self) -> Config {
        Config {
            layer: LayerParams {
                sync_period: self.sync_period,
                ready_frame: self.ready_frame,
                min_adjustment_us: self.min_adjustment_us,
                ..LayerParams::default()
            },
            clock_error_bound_us: self.clock_error_bound_us,
            ..Config::default()
        }
    }

    /// Draw every camera and host.
    pub fn build(&self) -> Scenario {
        let mut rng = Rng::stream(self.seed, "setup");
        let ncams = self.clients + 1;
        let nhosts = if self.hosts == 0 {
            ncams
        } else {
            self.hosts.min(ncams)
        };
        let ppb = |rng: &mut Rng, (lo, hi): (f64, f64)| {
            rng.signed_magnitude((lo * 1000.0).round() as i64, (hi * 1000.0).round() as i64)
        };
        let hosts: Vec<HostClock> = (0..nhosts)
            .map(|_| {
                let wmax = i64::from(self.wall_offset_max_us) * 1000;
                let mut h = HostClock {
                    boot_offset_ns: rng.range_i64(100_000_000_000, 20_000_000_000_000),
                    sys_ppb: ppb(&mut rng, self.sys_ppm),
                    wall_offset_ns: rng.range_i64(-wmax, wmax),
                    wall_epoch_ns: WALL_EPOCH_NS,
                    slew_ppb: 0,
                    slew_period_ns: 0,
                    slew_phase_ns: 0,
                };
                if self.wall_slew_ppm > 0.0 && self.wall_slew_period_ms > 0 {
                    // Drawn from its own stream: the other draws stay as they were.
                    let mut slew = Rng::stream(self.seed, &format!("slew/{}", h.boot_offset_ns));
                    h.slew_ppb = (self.wall_slew_ppm * 1000.0).round() as i64;
                    h.slew_period_ns = self.wall_slew_period_ms as i64 * 1_000_000;
                    h.slew_phase_ns = slew.range_i64(0, h.slew_period_ns);
                }
                h
            })
            .collect();
        let frame_ns = u64::from(self.frame_duration_us) * 1000;
        let server_start = self.server_start_ms as i64 * 1_000_000;
        let cameras = (0..ncams)
            .map(|i| {
                let line_ns = match &self.line_ns {
                    LineTimes::Range(lo, hi) => rng.range_u64(*lo, *hi),
                    LineTimes::List(v) if !v.is_empty() => v[i % v.len()],
                    LineTimes::List(_) => 20_000,
                };
                let mut sensor = SensorParams::new(
                    line_ns.max(1),
                    frame_ns,
                    ppb(&mut rng, self.sensor_ppm),
                    self.delay_frames,
                );
                if let Some(min) = self.mode_min_frame_us {
                    sensor = sensor.with_min_frame_ns(u64::from(min) * 1000);
                }
                let lead = rng.range_u64(self.client_lead_ms.0, self.client_lead_ms.1) as i64;
                let role = if i == 0 { Role::Server } else { Role::Client };
                let start_ns = match role {
                    Role::Server => server_start,
                    Role::Client if i == ncams - 1 && self.late_start_ms.is_some() => {
                        server_start + self.late_start_ms.unwrap_or(0) as i64 * 1_000_000
                    }
                    Role::Client => (server_start - lead * 1_000_000).max(0),
                };
                CameraSpec {
                    name: format!("cam{i}"),
                    role,
                    host: i * nhosts / ncams,
                    start_ns,
                    sensor,
                    restart_after_frame: (role == Role::Server)
                        .then_some(self.restart_after_frame)
                        .flatten(),
                    wall_step: (i == 1)
                        .then(|| self.wall_step_frame.map(|f| (f, self.wall_step_us * 1000)))
                        .flatten(),
                }
            })
            .collect();
        let host_clocks = (0..hosts.len())
            .map(|h| {
                let w = i64::from(self.wall_offset_max_us);
                if self.unsynced_hosts.contains(&h) {
                    KernelClock::unsynced()
                } else {
                    KernelClock::synced(w, 2 * w)
                }
            })
            .collect();
        Scenario {
            params: self.clone(),
            hosts,
            host_clocks,
            cameras,
        }
    }
}

/// One camera of a drawn scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraSpec {
    #[serde(rename = "camera")]
    pub name: String,
    pub role: Role,
    pub host: usize,
    pub start_ns: i64,
    pub sensor: SensorParams,
    pub restart_after_frame: Option<u64>,
    /// (run-local frame, step ns) of this camera's host wall clock.
    pub wall_step: Option<(u64, i64)>,
}

/// A scenario with every per-camera and per-host value drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    pub params: ScenarioParams,
    pub hosts: Vec<HostClock>,
    /// What each host's kernel says of its wall clock (what the layer's
    /// clock health reads): synchronised to within the scenario's
    /// ±`wall_offset_max_us` (the daemon's maximum error twice that), or,
    /// for `unsynced_hosts`, not at all.
    pub host_clocks: Vec<KernelClock>,
    pub cameras: Vec<CameraSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_builds_and_is_deterministic() {
        for name in PRESETS {
            let p = ScenarioParams::preset(name).unwrap();
            assert_eq!(p.name, *name);
            let a = p.build();
            assert_eq!(a, p.build());
            assert_eq!(a.cameras.len(), p.clients + 1);
            assert_eq!(a.cameras[0].role, Role::Server);
        }
        assert!(ScenarioParams::preset("nope").is_none());
    }

    #[test]
    fn every_preset_is_valid_and_nonsense_is_refused() {
        for name in PRESETS {
            let p = ScenarioParams::preset(name).unwrap();
            assert_eq!(p.validate(), Ok(()), "{name}");
        }
        // The field blamed when basic is changed by `f`.
        let blamed = |f: &dyn Fn(&mut ScenarioParams)| {
            let mut p = ScenarioParams::preset("basic").unwrap();
            f(&mut p);
            p.validate().unwrap_err().field
        };
        assert_eq!(blamed(&|p| p.clients = 0), "clients");
        assert_eq!(blamed(&|p| p.clients = 100_000), "clients");
        assert_eq!(blamed(&|p| p.frame_duration_us = 10), "frame_duration_us");
        assert_eq!(blamed(&|p| p.sensor_ppm = (0.0, 1e6)), "sensor_ppm");
        assert_eq!(blamed(&|p| p.sensor_ppm = (f64::NAN, 1.0)), "sensor_ppm");
        assert_eq!(blamed(&|p| p.frames = 50), "frames");
        assert_eq!(blamed(&|p| (p.clients, p.frames) = (200, 10_000)), "frames");
        assert_eq!(blamed(&|p| p.hosts = 4), "hosts");
        assert_eq!(blamed(&|p| p.server_start_ms = 500), "server_start_ms");
        let four = |p: &mut ScenarioParams| p.line_ns = LineTimes::List(vec![20_000; 4]);
        assert_eq!(blamed(&four), "line_ns");
        let slow_mode = |p: &mut ScenarioParams| p.mode_min_frame_us = Some(40_000);
        assert_eq!(blamed(&slow_mode), "mode_min_frame_us");
        let restart = |p: &mut ScenarioParams| p.restart_after_frame = Some(900);
        assert_eq!(blamed(&restart), "restart_after_frame");
        let late = |p: &mut ScenarioParams| p.late_start_ms = Some(31_000);
        assert_eq!(blamed(&late), "late_start_ms");
        // basic: one host per camera, 0..=2.
        assert_eq!(blamed(&|p| p.unsynced_hosts = vec![1, 3]), "unsynced_hosts");
        assert_eq!(
            blamed(&|p| p.clock_error_bound_us = 2_000_000),
            "clock_error_bound_us"
        );
    }

    #[test]
    fn mixed_sensors_share_hosts_in_pairs() {
        let s = ScenarioParams::preset("mixed_sensors").unwrap().build();
        let hosts: Vec<usize> = s.cameras.iter().map(|c| c.host).collect();
        assert_eq!(hosts, [0, 0, 1, 1]);
        let lines: Vec<u64> = s.cameras.iter().map(|c| c.sensor.line_ns).collect();
        assert_eq!(lines, [29_250, 18_377, 23_143, 26_369]);
    }
}
