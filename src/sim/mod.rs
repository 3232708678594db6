//! The closed-loop simulator: simulated cameras, hosts and network in virtual
//! time, driving the real core (`crate::core::Layer`) hook by hook. Pure and
//! deterministic: no I/O, no real clocks; the same seed gives the same
//! numbers on every machine.
//!
//! The model is the one the golden traces were recorded with
//! (`spec/traces.md`): a free-running sensor per camera (line time, frame
//! length in whole lines, oscillator error, `SyncAdjustment` applied to one
//! frame two frames after it was queued), host clocks (boot clock with a rate
//! error, wall clock with a residual NTP/PTP offset and read noise; cameras on
//! one host share them), completion latency, frame drops, and a multicast
//! network with delay and loss.
//!
//! - [`rng`]: the seeded PRNG;
//! - [`sensor`]: sensor and host clock models (shared with `camsync demo`);
//! - [`scenario`]: parameters, presets, the per-camera draw;
//! - `engine`: the event loop;
//! - [`metrics`]: percentiles and phase error.

pub mod engine;
pub mod metrics;
pub mod rng;
pub mod scenario;
pub mod sensor;

use serde::Serialize;

pub use engine::{CameraTrace, FrameRecord, ProfileRun};
pub use metrics::{ErrorStats, Reference};
pub use scenario::{
    CameraSpec, LineTimes, PRESETS, ParamError, Role, Scenario, ScenarioParams, limits,
};

use crate::core::Profile;

/// Per-client results of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientMetrics {
    pub camera: String,
    pub host: usize,
    pub line_ns: u64,
    pub frame_lines: u64,
    /// Run-local frame on which SyncReady was first true (None: never).
    pub frames_to_ready: Option<u64>,
    /// First frame of the final stretch in which |phase error| stayed below
    /// one line time, if that stretch lasts at least one sync period.
    pub frames_to_lock: Option<u64>,
    /// Non-zero SyncAdjustments the layer issued.
    pub adjustments_issued: u64,
    pub adjustments_applied: u64,
    pub packets_read: u64,
    /// Phase error of every frame from the first SyncReady frame on.
    pub alignment: ErrorStats,
    /// Frames after ready outside the server's streaming spans (not measured).
    pub excluded: usize,
}

/// The server's results of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerMetrics {
    pub camera: String,
    pub frames_to_ready: Option<u64>,
    pub packets_sent: u64,
}

/// All clients together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    pub all_clients_ready: bool,
    /// The slowest client's frames to ready (None if one never got ready).
    pub frames_to_ready_max: Option<u64>,
    /// The slowest client's frames to lock (None if one never locked).
    pub frames_to_lock_max: Option<u64>,
    pub adjustments_issued: u64,
    pub alignment: ErrorStats,
}

/// One phase-error sample for plots: (true time s, client, error µs).
pub type Sample = (f64, usize, f64);

/// The results of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileReport {
    pub profile: &'static str,
    pub server: ServerMetrics,
    pub clients: Vec<ClientMetrics>,
    pub overall: Overall,
    /// Phase error over time of every measured client frame from its first
    /// SyncReady frame on (for plots).
    #[serde(skip)]
    pub series: Vec<Sample>,
}

/// The version of [`SimReport`]'s JSON form (`camsync simulate --json`).
pub const SCHEMA_VERSION: u32 = 1;

/// A simulation's results: the scenario and every profile side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    pub schema_version: u32,
    pub scenario: String,
    /// What the preset is about.
    pub description: String,
    /// What was simulated: [`ScenarioParams::describe`].
    pub summary: String,
    /// A string in JSON: seeds exceed 2^53, which JSON readers round.
    #[serde(serialize_with = "as_string")]
    pub seed: u64,
    pub frames: u64,
    pub cameras: Vec<CameraSpec>,
    pub profiles: Vec<ProfileReport>,
}

/// Simulate a scenario once per profile in [`Profile::ALL`]. The parameters
/// should pass [`ScenarioParams::validate`]: outside its limits a run may
/// not end.
pub fn simulate(params: &ScenarioParams) -> SimReport {
    simulate_profiles(params, Profile::ALL)
}

/// Simulate a scenario once per given profile, on identical inputs.
pub fn simulate_profiles(params: &ScenarioParams, profiles: &[Profile]) -> SimReport {
    let sc = params.build();
    let profiles = profiles
        .iter()
        .map(|&p| report(&sc, &engine::run(&sc, p)))
        .collect();
    SimReport {
        schema_version: SCHEMA_VERSION,
        scenario: params.name.clone(),
        description: params.description.clone(),
        summary: params.describe(),
        seed: params.seed,
        frames: params.frames,
        cameras: sc.cameras.clone(),
        profiles,
    }
}

/// Serialize a value by its `Display` form (a string in JSON).
pub fn as_string<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The server's frames as a reference for phase errors.
pub fn server_reference(sc: &Scenario, run: &ProfileRun) -> Reference {
    let half = i64::from(sc.params.frame_duration_us) * 500;
    let server = sc
        .cameras
        .iter()
        .position(|c| c.role == Role::Server)
        .unwrap_or(0);
    Reference {
        sofs: run.cameras[server]
            .frames
            .iter()
            .map(|f| f.true_sof_ns)
            .collect(),
        spans: run
            .server_runs
            .iter()
            .map(|&(a, b)| (a - half, b + half))
            .collect(),
    }
}

/// The first frame of the final stretch below `limit_ns`, if the stretch has at
/// least `min_len` measured frames.
fn lock_frame(errors: &[(u64, i64)], limit_ns: i64, min_len: usize) -> Option<u64> {
    let bad = errors.iter().rposition(|&(_, e)| e.abs() >= limit_ns);
    let start = bad.map_or(0, |i| i + 1);
    (errors.len() - start >= min_len.max(1)).then(|| errors[start].0)
}

fn report(sc: &Scenario, run: &ProfileRun) -> ProfileReport {
    let reference = server_reference(sc, run);
    let server_idx = sc
        .cameras
        .iter()
        .position(|c| c.role == Role::Server)
        .unwrap_or(0);
    let first_ready = |t: &CameraTrace| t.frames.iter().position(|f| f.sync_ready == Some(true));
    let st = &run.cameras[server_idx];
    let server = ServerMetrics {
        camera: sc.cameras[server_idx].name.clone(),
        frames_to_ready: first_ready(st).map(|i| st.frames[i].frame),
        packets_sent: st.packets_sent,
    };
    let mut clients = Vec::new();
    let mut pooled = Vec::new();
    let mut series = Vec::new();
    for (i, (spec, t)) in sc.cameras.iter().zip(&run.cameras).enumerate() {
        if spec.role != Role::Client {
            continue;
        }
        let ready = first_ready(t);
        let measured: Vec<(usize, u64, Option<i64>)> = t
            .frames
            .iter()
            .enumerate()
            .map(|(j, f)| (j, f.frame, reference.error(f.true_sof_ns)))
            .collect();
        let all: Vec<(u64, i64)> = measured
            .iter()
            .filter_map(|&(_, k, e)| Some((k, e?)))
            .collect();
        for f in &t.frames[ready.unwrap_or(t.frames.len())..] {
            if let Some(e) = reference.error(f.true_sof_ns) {
                series.push((f.true_sof_ns as f64 / 1e9, i, e as f64 / 1000.0));
            }
        }
        let (after, excluded) = match ready {
            Some(r) => {
                let after: Vec<i64> = measured[r..].iter().filter_map(|m| m.2).collect();
                let excluded = measured.len() - r - after.len();
                (after, excluded)
            }
            None => (Vec::new(), 0),
        };
        pooled.extend_from_slice(&after);
        clients.push(ClientMetrics {
            camera: spec.name.clone(),
            host: spec.host,
            line_ns: spec.sensor.line_ns,
            frame_lines: spec.sensor.frame_lines,
            frames_to_ready: ready.map(|r| t.frames[r].frame),
            frames_to_lock: lock_frame(
                &all,
                spec.sensor.line_ns as i64,
                sc.params.sync_period as usize,
            ),
            adjustments_issued: t.adjustments_requested,
            adjustments_applied: t.adjustments_applied,
            packets_read: t.packets_read,
            alignment: ErrorStats::of(&after),
            excluded,
        });
    }
    let all_ready = clients.iter().all(|c| c.frames_to_ready.is_some());
    let max_of = |f: fn(&ClientMetrics) -> Option<u64>| -> Option<u64> {
        clients
            .iter()
            .map(f)
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .max()
    };
    let overall = Overall {
        all_clients_ready: all_ready,
        frames_to_ready_max: max_of(|c| c.frames_to_ready),
        frames_to_lock_max: max_of(|c| c.frames_to_lock),
        adjustments_issued: clients.iter().map(|c| c.adjustments_issued).sum(),
        alignment: ErrorStats::of(&pooled),
    };
    ProfileReport {
        profile: run.profile.name(),
        server,
        clients,
        overall,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_needs_a_final_stretch_below_the_limit() {
        let e = [(0, 900), (1, 5), (2, -5), (3, 4)];
        assert_eq!(lock_frame(&e, 10, 2), Some(1));
        assert_eq!(lock_frame(&e, 10, 4), None);
        assert_eq!(lock_frame(&[(0, 1), (1, 2)], 10, 2), Some(0));
        assert_eq!(lock_frame(&[(0, 1), (1, 20)], 10, 1), None);
    }
}
