//! Scenarios: the knobs of a simulation ([`ScenarioParams`]), the presets,
//! and the concrete draw of every camera and host ([`Scenario`]).

use serde::Serialize;

use super::rng::{Rng, fnv1a};
use super::sensor::{HostClock, SensorParams, WALL_EPOCH_NS};
use crate::core::LayerParams;

/// A camera's part in the rig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
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
    pub sync_period: u32,
    pub ready_frame: u32,
    pub min_adjustment_us: u32,
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
    /// The common base: 1 server + 2 clients at 30 fps, perfect oscillators,
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
            line_ns: LineTimes::Range(15_000, 30_000),
            server_start_ms: 3_000,
            client_lead_ms: (1_000, 2_000),
            startup_ms: (30, 80),
            late_start_ms: None,
            restart_after_frame: None,
            restart_gap_ms: 1_000,
            wall_step_frame: None,
            wall_step_us: 0,
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
                "1 server + 2 clients, 30 fps, ideal oscillators, one host each, 900 frames",
            ),
            "drift" => ScenarioParams {
                clients: 3,
                frames: 3600,
                sensor_ppm: (20.0, 50.0),
                sys_ppm: (20.0, 50.0),
                ..Self::base(
                    name,
                    "1 server + 3 clients, sensor and system clocks off by 20..50 ppm, 3600 frames",
                )
            },
            "mixed_sensors" => ScenarioParams {
                clients: 3,
                frames: 1800,
                hosts: 2,
                line_ns: LineTimes::List(vec![29_250, 18_377, 23_143, 26_369]),
                ..Self::base(
                    name,
                    "1 server + 3 clients with four different line times; cameras 0-1 share host 0, 2-3 host 1, 1800 frames",
                )
            },
            "loss" => ScenarioParams {
                frames: 1800,
                packet_loss_ppm: 200_000,
                net_delay_us: (1_000, 15_000),
                ..Self::base(
                    name,
                    "1 server + 2 clients, 20% packet loss, 1-15 ms network delay, 1800 frames",
                )
            },
            "drops" => ScenarioParams {
                frames: 1800,
                frame_drop_ppm: 20_000,
                ..Self::base(name, "1 server + 2 clients, 2% frame drops, 1800 frames")
            },
            "late_client" => ScenarioParams {
                late_start_ms: Some(10_000),
                ..Self::base(
                    name,
                    "1 server + 2 clients; the last client starts 10 s after the server, 900 frames",
                )
            },
            "server_restart" => ScenarioParams {
                frames: 1200,
                restart_after_frame: Some(450),
                restart_gap_ms: 1_000,
                ..Self::base(
                    name,
                    "1 server + 2 clients; the server stops after frame 450 and starts again 1 s later, 1200 frames",
                )
            },
            "wallclock_step" => ScenarioParams {
                frames: 1200,
                wall_step_frame: Some(600),
                wall_step_us: 5_000,
                ..Self::base(
                    name,
                    "1 server + 2 clients; the first client's wall clock steps +5 ms at its frame 600, 1200 frames",
                )
            },
            "near_max_fps" => ScenarioParams {
                frames: 1800,
                mode_min_frame_us: Some(32_787),
                ..Self::base(
                    name,
                    "1 server + 2 clients at 30 fps on a 30.5 fps mode: a frame can be shortened by ~0.5 ms at most, 1800 frames",
                )
            },
            _ => return None,
        };
        Some(p)
    }

    pub fn layer_params(&self) -> LayerParams {
        LayerParams {
            sync_period: self.sync_period,
            ready_frame: self.ready_frame,
            min_adjustment_us: self.min_adjustment_us,
            ..LayerParams::default()
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
                HostClock {
                    boot_offset_ns: rng.range_i64(100_000_000_000, 20_000_000_000_000),
                    sys_ppb: ppb(&mut rng, self.sys_ppm),
                    wall_offset_ns: rng.range_i64(-wmax, wmax),
                    wall_epoch_ns: WALL_EPOCH_NS,
                }
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
        Scenario {
            params: self.clone(),
            hosts,
            cameras,
        }
    }
}

/// One camera of a drawn scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraSpec {
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
    fn mixed_sensors_share_hosts_in_pairs() {
        let s = ScenarioParams::preset("mixed_sensors").unwrap().build();
        let hosts: Vec<usize> = s.cameras.iter().map(|c| c.host).collect();
        assert_eq!(hosts, [0, 0, 1, 1]);
        let lines: Vec<u64> = s.cameras.iter().map(|c| c.sensor.line_ns).collect();
        assert_eq!(lines, [29_250, 18_377, 23_143, 26_369]);
    }
}
