// SPDX-License-Identifier: LGPL-2.1-or-later
//! The golden trace format (`spec/traces.md`, format 1): one JSON object per
//! line, integers exact (u64 values are read as integers, never as f64).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use crate::core::{ClockRecoveryParams, ClockSample, Controls, LayerParams, SyncPacket};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    Header(Header),
    Controls(ControlsLine),
    Start(StartLine),
    Queue(QueueLine),
    Complete(CompleteLine),
}

#[derive(Debug, Deserialize)]
pub struct Header {
    pub format: u32,
    #[serde(default)]
    pub scenario: String,
    #[serde(default)]
    pub camera: String,
    pub layer_params: TraceLayerParams,
    pub clock_recovery: TraceClockRecovery,
    pub camera_controls: TraceCameraControls,
}

#[derive(Debug, Deserialize)]
pub struct TraceLayerParams {
    pub group: String,
    pub port: u16,
    pub sync_period: u32,
    pub ready_frame: u32,
    pub min_adjustment_us: u32,
}

#[derive(Debug, Deserialize)]
pub struct TraceClockRecovery {
    pub num_samples: u32,
    pub max_jitter: u32,
    pub min_samples: u32,
    pub error_threshold: u32,
}

impl Header {
    pub fn layer_params(&self) -> LayerParams {
        let p = &self.layer_params;
        let c = &self.clock_recovery;
        LayerParams {
            sync_period: p.sync_period,
            ready_frame: p.ready_frame,
            min_adjustment_us: p.min_adjustment_us,
            clock_recovery: ClockRecoveryParams {
                num_samples: c.num_samples,
                max_jitter: c.max_jitter,
                min_samples: c.min_samples,
                error_threshold: c.error_threshold,
            },
            ..LayerParams::default()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TraceCameraControls {
    pub sync_adjustment: bool,
    pub frame_duration_limits_us: Option<[i64; 2]>,
    #[serde(default)]
    pub sync_adjustment_limits_us: Option<[i32; 2]>,
}

#[derive(Debug, Deserialize)]
pub struct ControlsLine {
    pub expect: ControlsExpect,
}

#[derive(Debug, Deserialize)]
pub struct ControlsExpect {
    pub sync_available: bool,
    #[serde(default)]
    pub added_controls: Option<BTreeMap<String, TraceControlInfo>>,
    #[serde(default)]
    pub n_added: Option<usize>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct TraceControlInfo {
    pub min: i64,
    pub max: i64,
    pub def: Option<i64>,
    #[serde(default)]
    pub values: Option<Vec<i64>>,
}

/// A control list as recorded: each key only if the application set it.
#[derive(Debug, Default, Deserialize)]
pub struct TraceControls {
    pub sync_mode: Option<i32>,
    pub sync_frames: Option<i32>,
    pub frame_duration_limits_us: Option<[i64; 2]>,
    pub sync_interface: Option<String>,
}

impl TraceControls {
    pub fn as_controls(&self) -> Controls<'_> {
        Controls {
            sync_mode: self.sync_mode,
            sync_frames: self.sync_frames,
            frame_duration_limits_us: self.frame_duration_limits_us,
            sync_interface: self.sync_interface.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TraceClock {
    pub boot_before_ns: u64,
    pub wall_ns: u64,
    pub boot_after_ns: u64,
}

impl From<TraceClock> for ClockSample {
    fn from(c: TraceClock) -> Self {
        ClockSample {
            boot_before_ns: c.boot_before_ns,
            wall_ns: c.wall_ns,
            boot_after_ns: c.boot_after_ns,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TracePacket {
    pub frame_duration_us: u32,
    pub wall_clock_frame_timestamp_us: u64,
    pub wall_clock_ready_time_us: u64,
    /// On sent packets: where they went (`group:port`).
    #[serde(default)]
    pub dst: Option<String>,
}

impl TracePacket {
    pub fn packet(&self) -> SyncPacket {
        SyncPacket {
            frame_duration_us: self.frame_duration_us,
            frame_ts_us: self.wall_clock_frame_timestamp_us,
            ready_time_us: self.wall_clock_ready_time_us,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TraceNet {
    #[serde(default)]
    pub events: Vec<String>,
    pub role: String,
    pub nonblocking: bool,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub bind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StartLine {
    #[serde(default)]
    pub controls: TraceControls,
    pub clock: Option<TraceClock>,
    #[serde(default)]
    pub rx: Vec<TracePacket>,
    #[serde(default)]
    pub net: Option<TraceNet>,
}

#[derive(Debug, Deserialize)]
pub struct QueueLine {
    #[serde(default)]
    pub controls: TraceControls,
    pub expect: QueueExpect,
    #[serde(default)]
    pub rx: Vec<TracePacket>,
    #[serde(default)]
    pub net: Option<TraceNet>,
}

#[derive(Debug, Deserialize)]
pub struct QueueExpect {
    pub sync_adjustment_us: Option<i32>,
}

#[derive(Debug, Deserialize)]
pub struct CompleteLine {
    pub sensor_timestamp_ns: Option<i64>,
    pub clock: Option<TraceClock>,
    #[serde(default)]
    pub rx: Vec<TracePacket>,
    pub expect: CompleteExpect,
    #[serde(default)]
    pub cancelled: bool,
    #[serde(default)]
    pub net: Option<TraceNet>,
}

#[derive(Debug, Deserialize)]
pub struct CompleteExpect {
    pub frame_wall_clock_ns: Option<i64>,
    pub sync_ready: Option<bool>,
    pub sync_timer_us: Option<i64>,
    pub tx: Option<TracePacket>,
}

/// Open a trace file, transparently gunzipping it (by its magic bytes).
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let mut f = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic)?;
    let f = File::open(path)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            f,
        ))))
    } else {
        Ok(Box::new(BufReader::new(f)))
    }
}
