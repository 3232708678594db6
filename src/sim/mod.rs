// SPDX-License-Identifier: LGPL-2.1-or-later
//! The closed-loop simulator: simulated cameras, hosts and network in virtual
//! time, each camera running the shipped plugin instance
//! (`crate::plugin::Instance` over `crate::net::MemoryTransport`) hook by hook. Pure and
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
//! - [`faults`]: faults on top of a scenario (the fault matrix's);
//! - [`metrics`]: percentiles and phase error.

pub mod engine;
pub mod faults;
pub mod metrics;
pub mod rng;
pub mod scenario;
pub mod sensor;

use serde::Serialize;

pub use engine::{CameraTrace, FrameRecord, ProfileRun, Rig, run_with_faults, virtual_now_ns};
pub use faults::{Faults, Forger, Restart};
pub use metrics::{ErrorStats, Reference};
pub use scenario::{
    CameraSpec, LineTimes, PRESETS, ParamError, Role, Scenario, ScenarioParams, ScheduleMode,
    limits,
};

use crate::core::Profile;
use crate::core::precision::lattice::Lattice;
use crate::plugin::KernelClock;

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
    /// Frames from the first packet the client read to the first lasting
    /// lock (a sync period of frames within one line, wall-corrected).
    pub lock_after_first_packet: Option<u64>,
    /// Packets the client had read when that lock began.
    pub packets_to_lock: Option<u64>,
    /// After the scenario's fault (a server restart, a wall-clock step):
    /// frames from the fault to the first lasting lock (0: lock never
    /// lost), and the packets read in between.
    pub frames_to_relock: Option<u64>,
    pub packets_to_relock: Option<u64>,
    /// Non-zero SyncAdjustments the layer issued.
    pub adjustments_issued: u64,
    pub adjustments_applied: u64,
    /// The largest SyncAdjustment issued, µs (absolute).
    pub max_adjustment_us: u32,
    pub packets_read: u64,
    /// Phase error of every frame from the client's first SyncReady frame
    /// on, against server frames the server reported SyncReady.
    pub alignment: ErrorStats,
    /// Frames the client reported SyncReady while |wall-corrected phase
    /// error| exceeded one of its line times (measured frames only).
    pub ready_out_of_tolerance: usize,
    /// Phase error of every frame from the first SyncReady frame on while
    /// the server streams, whether or not the server was ready (shows the
    /// transient after a server restart).
    pub alignment_all: ErrorStats,
    /// Frames after ready not in `alignment` (server not streaming, or not
    /// ready).
    pub excluded: usize,
    /// The residual wall-clock error of the server's host minus this
    /// client's, µs (mean over the measured frames): aligned on the wall
    /// clock, the client's frames start this much off in true time, and
    /// nothing on the wire can remove it.
    pub wall_offset_vs_server_us: f64,
    /// Phase error with that wall-clock difference taken out, frame by
    /// frame: the alignment in wall-clock time.
    pub alignment_wall: ErrorStats,
    /// How far |phase error| exceeds that frame's |wall-clock difference|
    /// (0 when within it): what the sync layer adds on top of the clocks.
    pub beyond_wall: ErrorStats,
    /// With a schedule: its first SyncReady frame's start (on its host's
    /// wall clock) minus the nearest lattice point, µs.
    pub first_ready_vs_lattice_us: Option<f64>,
    /// With a pinned start: its first SyncReady frame's start (on its
    /// host's wall clock) minus the pinned instant, µs.
    pub first_ready_vs_start_us: Option<f64>,
    /// Warnings the layer gave that its host's wall clock was
    /// unsynchronised or beyond the bound.
    pub clock_warnings: u64,
}

/// The server's results of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerMetrics {
    pub camera: String,
    pub frames_to_ready: Option<u64>,
    pub packets_sent: u64,
    /// Its first SyncReady frame's start against the schedule and the
    /// pinned start (see [`ClientMetrics`]).
    pub first_ready_vs_lattice_us: Option<f64>,
    pub first_ready_vs_start_us: Option<f64>,
    /// As the clients'.
    pub clock_warnings: u64,
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
    pub alignment_wall: ErrorStats,
}

/// One phase-error sample for plots: (true time s, client, error µs).
pub type Sample = (f64, usize, f64);

/// The results of one profile (or mixed rig).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileReport {
    /// The profile, or `<client> client / <server> server` for a mixed rig.
    pub profile: String,
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
    /// Each host's wall clock: what its kernel says, and its true error.
    pub hosts: Vec<HostReport>,
    pub profiles: Vec<ProfileReport>,
}

/// One host's wall clock in a simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostReport {
    pub host: usize,
    /// What its kernel says (what the layer's clock health reads).
    pub kernel: KernelClock,
    /// Its true residual error as the run starts, µs: across hosts, frames
    /// aligned on the wall clock are out by the difference of these
    /// (|Δwall|).
    pub wall_error_us: f64,
}

/// Simulate a scenario once per profile in [`Profile::ALL`]. The parameters
/// should pass [`ScenarioParams::validate`]: outside its limits a run may
/// not end.
pub fn simulate(params: &ScenarioParams) -> SimReport {
    simulate_profiles(params, Profile::ALL)
}

/// Simulate a scenario once per given profile, on identical inputs.
pub fn simulate_profiles(params: &ScenarioParams, profiles: &[Profile]) -> SimReport {
    let rigs: Vec<Rig> = profiles.iter().map(|&p| Rig::uniform(p)).collect();
    simulate_rigs(params, &rigs)
}

/// Simulate a scenario once per rig (server and client profiles), on
/// identical inputs.
pub fn simulate_rigs(params: &ScenarioParams, rigs: &[Rig]) -> SimReport {
    let sc = params.build();
    let profiles = rigs
        .iter()
        .map(|&r| report(&sc, &engine::run_rig(&sc, r)))
        .collect();
    SimReport {
        schema_version: SCHEMA_VERSION,
        scenario: params.name.clone(),
        description: params.description.clone(),
        summary: params.describe(),
        seed: params.seed,
        frames: params.frames,
        cameras: sc.cameras.clone(),
        hosts: sc
            .host_clocks
            .iter()
            .zip(&sc.hosts)
            .enumerate()
            .map(|(host, (&kernel, h))| HostReport {
                host,
                kernel,
                wall_error_us: h.wall_error(0) as f64 / 1000.0,
            })
            .collect(),
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

fn server_index(sc: &Scenario) -> usize {
    sc.cameras
        .iter()
        .position(|c| c.role == Role::Server)
        .unwrap_or(0)
}

/// The server's frames as a reference for phase errors.
pub fn server_reference(sc: &Scenario, run: &ProfileRun) -> Reference {
    let half = i64::from(sc.params.frame_duration_us) * 500;
    if sc.params.schedule == ScheduleMode::All && run.rig.server == Profile::Precision {
        return lattice_reference(sc, run);
    }
    let frames = &run.cameras[server_index(sc)].frames;
    // A frame without metadata (dropped, or completed after the end) keeps
    // the state its run last reported.
    let mut last = (u32::MAX, false);
    let ready = frames
        .iter()
        .map(|f| {
            if f.run != last.0 {
                last = (f.run, false);
            }
            if let Some(r) = f.sync_ready {
                last.1 = r;
            }
            last.1
        })
        .collect();
    Reference {
        sofs: frames.iter().map(|f| f.true_sof_ns).collect(),
        ready,
        spans: run
            .server_runs
            .iter()
            .map(|&(a, b)| (a - half, b + half))
            .collect(),
    }
}

/// With every camera following the schedule there is no server: the
/// reference is the lattice itself, as the first camera's wall clock places
/// it in true time (always ready), over the first camera's streaming spans.
fn lattice_reference(sc: &Scenario, run: &ProfileRun) -> Reference {
    let period = i64::from(sc.params.frame_duration_us) * 1000;
    let half = period / 2;
    let idx = server_index(sc);
    let host = sc.cameras[idx].host;
    let epoch = run.hosts.get(host).map_or(0, |h| h.wall_epoch_ns);
    let mut sofs = Vec::new();
    let mut spans = Vec::new();
    for &(a, b) in &run.server_runs {
        spans.push((a - half, b + half));
        // Lattice points k·T on the wall clock, wall = epoch + t + error(t).
        let mut t = a - period;
        let w = epoch + t + run.wall_error(host, t);
        t -= w.rem_euclid(period);
        while t <= b + period {
            let err = run.wall_error(host, t);
            let w = epoch + t + err;
            // Land exactly on the point even as the error drifts.
            sofs.push(t - Lattice::new(0, period).map_or(0, |l| l.error(w)));
            t += period;
        }
    }
    sofs.sort_unstable();
    sofs.dedup();
    Reference {
        ready: vec![true; sofs.len()],
        sofs,
        spans,
    }
}

/// The first frame of the final stretch below `limit_ns`, if the stretch has at
/// least `min_len` measured frames.
fn lock_frame(errors: &[(u64, i64)], limit_ns: i64, min_len: usize) -> Option<u64> {
    let bad = errors.iter().rposition(|&(_, e)| e.abs() >= limit_ns);
    let start = bad.map_or(0, |i| i + 1);
    (errors.len() - start >= min_len.max(1)).then(|| errors[start].0)
}

/// The first frame of a stretch of at least `min_len` measured frames below
/// `limit_ns`.
fn first_lock(errors: &[(u64, i64)], limit_ns: i64, min_len: usize) -> Option<u64> {
    let mut run = 0;
    for (i, &(_, e)) in errors.iter().enumerate() {
        run = if e.abs() < limit_ns { run + 1 } else { 0 };
        if run >= min_len.max(1) {
            return Some(errors[i + 1 - run].0);
        }
    }
    None
}

/// The true time of the scenario's fault, if it has one: the server's
/// second run starting, or the stepped wall clock.
fn fault_ns(sc: &Scenario, run: &ProfileRun) -> Option<i64> {
    if let Some(&(start, _)) = run.server_runs.get(1) {
        return Some(start);
    }
    let (i, spec) = sc
        .cameras
        .iter()
        .enumerate()
        .find(|(_, c)| c.wall_step.is_some())?;
    let (frame, _) = spec.wall_step?;
    run.cameras[i]
        .frames
        .iter()
        .find(|f| f.run == 0 && f.frame == frame)
        .map(|f| f.true_sof_ns)
}

/// One client's frames against the server, for the metrics.
struct Measured {
    /// (record index, true SOF, error ns, server frame ready).
    frames: Vec<(usize, i64, i64, bool)>,
}

fn report(sc: &Scenario, run: &ProfileRun) -> ProfileReport {
    let reference = server_reference(sc, run);
    let server_idx = server_index(sc);
    let first_ready = |t: &CameraTrace| t.frames.iter().position(|f| f.sync_ready == Some(true));
    let st = &run.cameras[server_idx];
    let server_host = sc.cameras[server_idx].host;
    // A camera's first SyncReady frame on its host's wall clock, against the
    // schedule's lattice and the pinned start.
    let period_ns = i64::from(sc.params.frame_duration_us) * 1000;
    let first_ready_wall = |i: usize| -> Option<i64> {
        let t = &run.cameras[i];
        let f = &t.frames[first_ready(t)?];
        let host = sc.cameras[i].host;
        let epoch = run.hosts.get(host).map_or(0, |h| h.wall_epoch_ns);
        Some(epoch + f.true_sof_ns + run.wall_error(host, f.true_sof_ns))
    };
    let vs_lattice = |i: usize| {
        (sc.params.schedule != ScheduleMode::Off)
            .then(|| first_ready_wall(i))
            .flatten()
            .and_then(|w| Some(Lattice::new(0, period_ns)?.error(w) as f64 / 1000.0))
    };
    let vs_start = |i: usize| {
        let ms = sc.params.start_at_ms?;
        let w = first_ready_wall(i)?;
        let epoch = run.hosts.first().map_or(0, |h| h.wall_epoch_ns);
        Some((w - (epoch + ms as i64 * 1_000_000)) as f64 / 1000.0)
    };
    let server = ServerMetrics {
        camera: sc.cameras[server_idx].name.clone(),
        frames_to_ready: first_ready(st).map(|i| st.frames[i].frame),
        packets_sent: st.packets_sent,
        first_ready_vs_lattice_us: vs_lattice(server_idx),
        first_ready_vs_start_us: vs_start(server_idx),
        clock_warnings: st.clock_warnings,
    };
    let fault = fault_ns(sc, run);
    let mut clients = Vec::new();
    let mut pooled = Vec::new();
    let mut pooled_wall = Vec::new();
    let mut series = Vec::new();
    for (i, (spec, t)) in sc.cameras.iter().zip(&run.cameras).enumerate() {
        if spec.role != Role::Client {
            continue;
        }
        let line = spec.sensor.line_ns as i64;
        let ready = first_ready(t);
        let m = Measured {
            frames: t
                .frames
                .iter()
                .enumerate()
                .filter_map(|(j, f)| {
                    let (e, r) = reference.nearest(f.true_sof_ns)?;
                    Some((j, f.true_sof_ns, e, r))
                })
                .collect(),
        };
        // Packets read up to (and including) each record.
        let mut read = Vec::with_capacity(t.frames.len());
        let mut n = 0u64;
        for f in &t.frames {
            n += u64::from(f.packets);
            read.push(n);
        }
        // Aligned on the wall clock, a client's frames start this far from
        // the server's in true time: the server's wall error minus its own.
        let wall_diff =
            |sof: i64| -> i64 { run.wall_error(server_host, sof) - run.wall_error(spec.host, sof) };
        let r0 = ready.unwrap_or(t.frames.len());
        let after: Vec<&(usize, i64, i64, bool)> = m.frames.iter().filter(|f| f.0 >= r0).collect();
        let measured: Vec<&&(usize, i64, i64, bool)> = after.iter().filter(|f| f.3).collect();
        let errors: Vec<i64> = measured.iter().map(|f| f.2).collect();
        let wall_errors: Vec<i64> = measured.iter().map(|f| f.2 - wall_diff(f.1)).collect();
        let beyond: Vec<i64> = measured
            .iter()
            .map(|f| (f.2.abs() - wall_diff(f.1).abs()).max(0))
            .collect();
        let mean_wall_diff = if measured.is_empty() {
            0.0
        } else {
            measured.iter().map(|f| wall_diff(f.1) as f64).sum::<f64>()
                / measured.len() as f64
                / 1000.0
        };
        for f in &measured {
            series.push((f.1 as f64 / 1e9, i, f.2 as f64 / 1000.0));
        }
        let out_of_tolerance = measured
            .iter()
            .filter(|f| {
                t.frames[f.0].sync_ready == Some(true) && (f.2 - wall_diff(f.1)).abs() > line
            })
            .count();
        let excluded = if ready.is_some() {
            t.frames.len() - r0 - measured.len()
        } else {
            0
        };
        pooled.extend_from_slice(&errors);
        pooled_wall.extend_from_slice(&wall_errors);
        // Lock, as before: the final stretch below one line (true error).
        let min_len = sc.params.sync_period as usize;
        let all: Vec<(u64, i64)> = m.frames.iter().map(|&(j, _, e, _)| (j as u64, e)).collect();
        let lock = lock_frame(&all, line, min_len).map(|j| t.frames[j as usize].frame);
        // Lock and relock as the targets count them: the first stretch of at
        // least a sync period below one line (wall-corrected error) from the
        // first packet, and from the fault.
        let corrected: Vec<(usize, i64, i64)> = m
            .frames
            .iter()
            .map(|&(j, sof, e, _)| (j, sof, e - wall_diff(sof)))
            .collect();
        let lock_from = |from: usize| -> Option<usize> {
            let errs: Vec<(u64, i64)> = corrected
                .iter()
                .filter(|f| f.0 >= from)
                .map(|&(j, _, e)| (j as u64, e))
                .collect();
            first_lock(&errs, line, min_len).map(|j| j as usize)
        };
        let packets_between =
            |from: usize, to: usize| read[to] - if from > 0 { read[from - 1] } else { 0 };
        let first_packet = read.iter().position(|&n| n > 0);
        let first_lock_at = first_packet.and_then(lock_from);
        let lock_after_first_packet = first_packet.zip(first_lock_at).map(|(p, l)| (l - p) as u64);
        let packets_to_lock = first_lock_at.map(|l| read[l]);
        let fault_frame = fault.and_then(|at| t.frames.iter().position(|f| f.true_sof_ns >= at));
        let relock_at = fault_frame.and_then(lock_from);
        let frames_to_relock = fault_frame.zip(relock_at).map(|(f, l)| (l - f) as u64);
        let packets_to_relock = fault_frame
            .zip(relock_at)
            .map(|(f, l)| packets_between(f, l));
        clients.push(ClientMetrics {
            camera: spec.name.clone(),
            host: spec.host,
            line_ns: spec.sensor.line_ns,
            frame_lines: spec.sensor.frame_lines,
            frames_to_ready: ready.map(|r| t.frames[r].frame),
            frames_to_lock: lock,
            lock_after_first_packet,
            packets_to_lock,
            frames_to_relock,
            packets_to_relock,
            adjustments_issued: t.adjustments_requested,
            adjustments_applied: t.adjustments_applied,
            max_adjustment_us: t.max_adjustment_us,
            packets_read: t.packets_read,
            alignment: ErrorStats::of(&errors),
            ready_out_of_tolerance: out_of_tolerance,
            alignment_all: ErrorStats::of(&after.iter().map(|f| f.2).collect::<Vec<_>>()),
            excluded,
            wall_offset_vs_server_us: (mean_wall_diff * 1000.0).round() / 1000.0,
            alignment_wall: ErrorStats::of(&wall_errors),
            beyond_wall: ErrorStats::of(&beyond),
            first_ready_vs_lattice_us: vs_lattice(i),
            first_ready_vs_start_us: vs_start(i),
            clock_warnings: t.clock_warnings,
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
        alignment_wall: ErrorStats::of(&pooled_wall),
    };
    ProfileReport {
        profile: run.rig.name(),
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
    fn first_lock_is_the_first_long_enough_stretch() {
        let e = [(0, 900), (1, 5), (2, 900), (3, 4), (4, 3), (5, 900)];
        assert_eq!(first_lock(&e, 10, 2), Some(3));
        assert_eq!(first_lock(&e, 10, 1), Some(1));
        assert_eq!(first_lock(&e, 10, 3), None);
    }

    #[test]
    fn lock_needs_a_final_stretch_below_the_limit() {
        let e = [(0, 900), (1, 5), (2, -5), (3, 4)];
        assert_eq!(lock_frame(&e, 10, 2), Some(1));
        assert_eq!(lock_frame(&e, 10, 4), None);
        assert_eq!(lock_frame(&[(0, 1), (1, 2)], 10, 2), Some(0));
        assert_eq!(lock_frame(&[(0, 1), (1, 20)], 10, 1), None);
    }
}
