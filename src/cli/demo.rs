// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync demo`: one server and N clients in one process (or one role per
//! process, `--role`), each a simulated camera in real time driving the
//! shipped plugin instance (the core, real UDP multicast on the loopback
//! interface or in a private network namespace, the system clocks).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use camsync::core::precision::lattice::Lattice;
use camsync::core::precision::{PIN_LEAD_FRAMES, StartAt};
use camsync::core::{
    CameraControls, Completion, Controls, LayerParams, Mode, Profile, SocketRole, SyncPacket,
    WireFormat,
};
use camsync::net::{NetConfig, Receiver};
use camsync::plugin::{Config, ConfigError, Instance};
use camsync::sim::rng::Rng;
use camsync::sim::sensor::{Sensor, SensorParams};
use camsync::sim::{ErrorStats, ScheduleMode, limits};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::args::{self, num, span};
use crate::exit::{self, Outcome};
use crate::host_clock::{self, HostClock};
use crate::plot;
use crate::sys;
use crate::table::Table;

/// Live demo: one server and N simulated cameras over real loopback multicast.
///
/// One server and N clients in this process, each a simulated
/// camera (its own line time, whole-line frame length, sensor clock error in
/// ppm, a two-frame control latency, µs start-of-frame timestamps) running in
/// real time and driving the real sync layer: the plugin instance libcamera
/// runs, with real UDP multicast. Traffic stays on this machine: every socket
/// uses a loopback interface (IP_MULTICAST_IF), and TTL 0.
///
/// Phase error = a client's start of frame minus the nearest server start of
/// frame (all cameras share this host's clock). Locked = |error| below one
/// line time; the table gives the share of frames locked from SyncReady on.
/// Ends with a table and an SVG plot.
///
/// --schedule all: no server; every camera follows the lattice
/// t = n x frame duration on this host's wall clock (schedule mode, no
/// packet), and its phase error is against that lattice. --schedule server:
/// the server pins its frames to the lattice and sends packets. --start-at
/// pins the start: the server (with --schedule all, every camera) reports
/// SyncReady from that wall-clock instant.
///
/// One role per process (--role server, --role client --clients N) spreads
/// a rig over processes, or over network namespaces joined by veth pairs
/// (there --interface may name the namespace's own interface). A client
/// process measures its phase error against the frames the server
/// announces: the latest packet's frame time, stepped by the period between
/// its packets, on this host's wall clock.
///
/// Examples:
///   camsync demo
///   camsync demo --clients 64 --duration 20 --no-plot
///   camsync demo --port 10010 --json --plot /tmp/demo.svg
///   camsync demo --schedule all --no-plot
///   camsync demo --start-at next:5 --duration 12 --no-plot
///   camsync demo --role server --duration 30 --no-plot &
///   camsync demo --role client --clients 2 --duration 25 --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment, allow_negative_numbers = true, after_help = EXIT_HELP)]
pub struct Args {
    /// Which cameras this process runs: both (a server and --clients
    /// clients), server (the server alone) or client (--clients clients
    /// alone).
    #[arg(long, value_enum, default_value_t = Role::Both)]
    role: Role,
    /// Client cameras, 1..=1000 [default: 3; not with --role server].
    #[arg(long, value_parser = num(MAX_CLIENTS))]
    clients: Option<usize>,
    /// How long to run, seconds, 0.1..=86400; at least long enough for the
    /// server to reach SyncReady (1 s start + --ready-frame frames).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0, value_parser = num(0.1..=86_400.0))]
    duration: f64,
    /// Frame rate of every camera, 1..=1000.
    #[arg(long, default_value_t = 30.0, value_parser = num(1.0..=1000.0))]
    fps: f64,
    /// Multicast group (224.0.0.0/4).
    #[arg(long, default_value_t = camsync::net::DEFAULT_GROUP, value_parser = args::multicast)]
    group: Ipv4Addr,
    /// UDP port, 1..=65535.
    #[arg(long, default_value_t = camsync::net::DEFAULT_PORT, value_parser = args::port)]
    port: u16,
    /// Interface (a loopback address or name): the demo's traffic never
    /// leaves this machine. Inside a named network namespace (ip netns add,
    /// ip netns exec) any of the namespace's interfaces.
    #[arg(long, default_value = "127.0.0.1", value_parser = args::loopback_interface)]
    interface: Ipv4Addr,
    /// Wire format the server sends.
    #[arg(long, default_value = "layer", value_parser = args::wire_format())]
    wire_format: WireFormat,
    /// Frames until SyncReady (rpi::SyncFrames), 1..=1000000.
    #[arg(long, default_value_t = 100, value_parser = num(limits::READY_FRAME))]
    ready_frame: u32,
    /// Frames between server packets, 1..=10000.
    #[arg(long, default_value_t = 30, value_parser = num(limits::SYNC_PERIOD))]
    sync_period: u32,
    /// Sensor clock error magnitude, ppm, drawn per camera (random sign): LO..HI, each in 0..=1000.
    #[arg(long, value_name = "LO..HI", default_value = "5..30", allow_hyphen_values = true, value_parser = span(limits::CLOCK_PPM))]
    sensor_ppm: (f64, f64),
    /// Seed of the camera draws, 0..=18446744073709551615.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The core's profile (every camera).
    #[arg(long, default_value = Profile::default().name(), value_parser = args::profile())]
    profile: Profile,
    /// Run the server on this profile instead (a mixed rig: e.g. precision
    /// clients behind a compat server).
    #[arg(long, value_parser = args::profile())]
    server_profile: Option<Profile>,
    /// Who follows a schedule on the wall clock (precision): off; all (every
    /// camera, no server, no packet); server (the server pins its frames to
    /// it and sends packets).
    #[arg(long, default_value = "off", value_parser = clap::builder::PossibleValuesParser::new(ScheduleMode::NAMES))]
    schedule: String,
    /// A pinned start (precision): SyncReady from this wall-clock instant,
    /// <unix seconds> (up to 9 decimals) or next:<seconds> (the next
    /// multiple of 1..=86400 s after the server could be ready); the
    /// server's, or with --schedule all every camera's.
    #[arg(long, value_name = "WHEN", value_parser = start_at)]
    start_at: Option<StartAt>,
    /// Where to write the SVG plot of phase error over time (checked before
    /// the run; default camsync-demo.svg, none with --json).
    #[arg(long, value_name = "FILE.svg", value_parser = args::writable_file)]
    plot: Option<PathBuf>,
    /// Do not write a plot.
    #[arg(long, conflicts_with = "plot")]
    no_plot: bool,
    /// Print the results as JSON (no progress display, no plot unless --plot).
    #[arg(long)]
    json: bool,
}

/// Which cameras a demo process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    /// One server and --clients clients.
    Both,
    /// The server alone.
    Server,
    /// --clients clients alone, following a server run elsewhere.
    Client,
}

impl Role {
    const fn name(self) -> &'static str {
        match self {
            Role::Both => "both",
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// The most clients: one event loop runs them all in real time (1000 clients
/// at 30 fps take ~7 µs of CPU per client-frame; a run that falls behind
/// real time stops with an error).
const MAX_CLIENTS: std::ops::RangeInclusive<usize> = 1..=1000;

const EXIT_HELP: &str = "Exit status: 0 every client reached SyncReady (--role server: the \
    server did); 1 one did not (or the run was interrupted first); 2 usage error (bad flag or \
    value, unwritable plot, too few file descriptors), a socket error, or another sync server on \
    the group and port (not checked by --role client, which follows whichever server it hears). \
    Errors go to stderr.";

/// `--start-at`: as the configuration's `start_at` key.
fn start_at(s: &str) -> Result<StartAt, String> {
    let mut c = Config::default();
    match c.set("start_at", s, "--start-at") {
        Ok(()) => c
            .layer
            .precision
            .start_at
            .ok_or_else(|| "no start".to_string()),
        Err(ConfigError::BadValue { reason, .. }) => Err(reason.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Args {
    fn schedule(&self) -> ScheduleMode {
        ScheduleMode::from_name(&self.schedule).unwrap_or_default()
    }

    /// Whether camera `i` (cam0: the server's camera) follows the schedule.
    fn follows_schedule(&self, i: usize) -> bool {
        match self.schedule() {
            ScheduleMode::Off => false,
            ScheduleMode::All => true,
            ScheduleMode::Server => i == 0,
        }
    }

    /// The profile of camera `i`.
    fn profile_of(&self, i: usize) -> Profile {
        if i == 0 && self.schedule() != ScheduleMode::All {
            self.server_profile.unwrap_or(self.profile)
        } else {
            self.profile
        }
    }

    /// `--start-at` as given.
    fn start_at_text(&self) -> String {
        match self.start_at {
            Some(StartAt::At(t)) => unix_text(t),
            Some(StartAt::Next(n)) => format!("next:{}", n as f64 / 1e9),
            None => String::new(),
        }
    }

    /// The plot to write, if any.
    fn plot_path(&self) -> Option<PathBuf> {
        match (&self.plot, self.no_plot, self.json) {
            (Some(p), _, _) => Some(p.clone()),
            (None, false, false) => Some(PathBuf::from("camsync-demo.svg")),
            _ => None,
        }
    }

    /// The client cameras this process runs.
    fn clients(&self) -> usize {
        match self.role {
            Role::Server => 0,
            _ => self.clients.unwrap_or(3),
        }
    }

    /// Refuse a run that cannot reach its end: too short for the server to
    /// reach SyncReady, or more sockets than the descriptor limit.
    fn check(&self) -> Outcome {
        if self.role == Role::Server && self.clients.is_some() {
            return Err(exit::usage(
                "the argument '--clients <CLIENTS>' cannot be used with '--role server'",
            ));
        }
        sys::ensure_fds(self.clients() as u64 + 1 + FD_RESERVE).map_err(|e| {
            exit::invalid(
                "--clients",
                self.clients(),
                format!("one socket per camera: {e}"),
            )
        })?;
        let schedule = self.schedule();
        for (flag, asked, who) in [
            (
                "--schedule",
                schedule != ScheduleMode::Off,
                usize::from(schedule == ScheduleMode::All),
            ),
            (
                "--start-at",
                self.start_at.is_some(),
                usize::from(schedule == ScheduleMode::All),
            ),
        ] {
            // Camera 0 (the server's camera) and, with --schedule all, a client.
            if asked && (0..=who).any(|i| self.profile_of(i) != Profile::Precision) {
                return Err(exit::usage(format!(
                    "{flag} needs the precision profile on the cameras it pins (--profile \
                     precision, and --server-profile precision if given)"
                )));
            }
        }
        if self.start_at.is_some() && self.role == Role::Client && schedule != ScheduleMode::All {
            return Err(exit::usage(
                "--start-at pins the server (or, with --schedule all, every camera): a --role \
                 client process of a rig with a server gets the start from its packets",
            ));
        }
        if self.role == Role::Client && schedule != ScheduleMode::All {
            // The server runs elsewhere, perhaps ready long ago.
            return Ok(());
        }
        let frame_s = 1.0 / self.fps;
        if let Some(at) = self.start_at {
            self.check_start(at, frame_s)?;
        }
        if schedule == ScheduleMode::All {
            // No server: the cameras start within the first second and each
            // is ready at the first lattice point after it has measured its
            // camera and aligned (about 40 frames).
            let needed = SERVER_START_S + 0.08 + f64::from(SCHEDULE_READY_FRAMES) * frame_s;
            if self.duration < needed {
                return Err(exit::invalid(
                    "--duration",
                    self.duration,
                    format!(
                        "a camera following the schedule is ready about {SCHEDULE_READY_FRAMES} \
                         frames after it starts (within the first {SERVER_START_S} s): run at \
                         least {:.1} s",
                        (needed * 10.0).ceil() / 10.0
                    ),
                ));
            }
            return Ok(());
        }
        // The server starts 1 s in, its first frame up to 80 ms later; it is
        // ready at frame ready_frame and sends its first packet at frame
        // sync_period; a client reports ready a frame or two later.
        let frames = f64::from(self.ready_frame.max(self.sync_period)) + 3.0;
        let needed = SERVER_START_S + 0.08 + frames * frame_s;
        if self.duration < needed {
            return Err(exit::invalid(
                "--duration",
                self.duration,
                format!(
                    "the server reaches SyncReady {:.2} s after the start ({SERVER_START_S} s + \
                     {} frames at {} fps) and the clients a few frames later: run at least {:.1} s",
                    SERVER_START_S + 0.08 + f64::from(self.ready_frame) * frame_s,
                    self.ready_frame,
                    self.fps,
                    (needed * 10.0).ceil() / 10.0
                ),
            ));
        }
        Ok(())
    }
}

impl Args {
    /// A pinned start must come after the server could be ready (its
    /// `ready_frame` frames, and the [`PIN_LEAD_FRAMES`] it leaves itself to
    /// align to the lattice) and leave a few seconds of ready frames before
    /// the run ends.
    fn check_start(&self, at: StartAt, frame_s: f64) -> Outcome {
        let lead = self.ready_frame.max(PIN_LEAD_FRAMES);
        let earliest = SERVER_START_S + 0.08 + f64::from(lead) * frame_s;
        let now_s = sys::realtime_ns() as f64 / 1e9;
        let (ready_by, what) = match at {
            StartAt::Next(every) => (
                earliest + every as f64 / 1e9,
                "the next multiple after the server could be ready",
            ),
            StartAt::At(t) => {
                let from_now = t as f64 / 1e9 - now_s;
                if from_now < 0.0 {
                    return Err(exit::invalid(
                        "--start-at",
                        format!("{:.3}", t as f64 / 1e9),
                        format!("that instant was {:.1} s ago", -from_now),
                    ));
                }
                if from_now < earliest {
                    return Err(exit::invalid(
                        "--start-at",
                        format!("{:.3}", t as f64 / 1e9),
                        format!(
                            "{:.1} s from now: the server cannot be ready before {earliest:.1} \
                             s ({SERVER_START_S} s + {lead} frames)",
                            from_now
                        ),
                    ));
                }
                (from_now, "that instant")
            }
        };
        let needed = ready_by + 2.0;
        if self.duration < needed {
            return Err(exit::invalid(
                "--duration",
                self.duration,
                format!(
                    "the pinned start ({what}) comes up to {ready_by:.1} s after the demo starts: \
                     run at least {:.1} s",
                    needed.ceil()
                ),
            ));
        }
        Ok(())
    }
}

/// Unix time `ns` as seconds with 9 decimals.
fn unix_text(ns: i64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn schedule_name(m: ScheduleMode) -> &'static str {
    match m {
        ScheduleMode::Off => "off",
        ScheduleMode::All => "all",
        ScheduleMode::Server => "server",
    }
}

/// When the server starts, s after the demo's start.
const SERVER_START_S: f64 = 1.0;
/// Frames a camera following the schedule needs to be ready, with margin
/// (it measures its camera for ~25 frames, aligns, waits for a lattice point).
const SCHEDULE_READY_FRAMES: u32 = 90;
/// Descriptors besides the cameras' sockets (stdio, the plot, the watcher).
const FD_RESERVE: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Start(usize),
    Frame(usize),
    Complete {
        cam: usize,
        frame: u64,
        /// The frame's true start (this host's monotonic clock), ns.
        sof_ns: i64,
        sensor_ts: i64,
    },
    Tick,
}

struct Cam {
    name: String,
    mode: Mode,
    /// It follows the schedule (a client of it needs no socket).
    follows_schedule: bool,
    /// The plugin instance, as libcamera would run it for this camera.
    inst: Instance,
    params: SensorParams,
    sensor: Option<Sensor>,
    start_at: i64,
    first_sof: Option<i64>,
    last_completion: i64,
    rng: Rng,
    completed: u64,
    adjustments: u64,
    /// (frame, true start of frame ns) of the first frame reporting SyncReady.
    ready: Option<(u64, i64)>,
    /// (frame, true SOF, phase error ns) of every frame while the server streams.
    errors: Vec<(u64, i64, i64)>,
    last_error: Option<i64>,
    /// (true SOF, valid packets read on its completion) of every frame.
    packets: Vec<(i64, u32)>,
    /// How long each `request_completed` took, ns.
    hook_ns: Vec<u64>,
}

/// What the layer's `request_completed` cost this camera per frame (wall
/// time of the call: for a client, its bounded drain of the socket), µs.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
struct HookCost {
    mean_us: f64,
    p99_us: f64,
    max_us: f64,
}

impl HookCost {
    fn of(ns: &[u64]) -> Option<HookCost> {
        if ns.is_empty() {
            return None;
        }
        let mut v = ns.to_vec();
        v.sort_unstable();
        let us = |n: u64| n as f64 / 1000.0;
        Some(HookCost {
            mean_us: us(v.iter().sum::<u64>() / v.len() as u64),
            p99_us: us(camsync::sim::metrics::nearest_rank(&v, 99.0)),
            max_us: us(v[v.len() - 1]),
        })
    }
}

/// Where a client process's frames lost lock (|phase error| at least one
/// line after a sync period within it) and found it again (the next sync
/// period of frames within one line): s since the demo started, and the
/// valid packets the client read in between.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
struct LockLoss {
    lost_at_s: f64,
    locked_at_s: Option<f64>,
    packets: u64,
}

/// The server's frames as a client process hears them: the latest packet's
/// frame time and the period between packets (wall clock, ns).
#[derive(Debug, Clone, Copy)]
struct Heard {
    frame_wall_ns: i64,
    period_ns: f64,
    /// When it was heard, this host's monotonic clock, ns.
    at_mono_ns: i64,
}

impl Heard {
    /// A packet arrived: its frame time, and the server's frame duration.
    fn update(prev: Option<Heard>, p: &SyncPacket, now_mono_ns: i64) -> Heard {
        let frame_wall_ns = p.frame_ts_us as i64 * 1000;
        let fd_ns = f64::from(p.frame_duration_us) * 1000.0;
        // Whole frames between two packets give the period to a fraction
        // of a µs, which the rounded duration in the packet does not.
        let period_ns = prev
            .map(|h| (frame_wall_ns - h.frame_wall_ns) as f64)
            .and_then(|span| {
                let frames = (span / fd_ns).round();
                (frames >= 1.0 && (span / frames - fd_ns).abs() < fd_ns * 0.01)
                    .then(|| span / frames)
            })
            .unwrap_or(fd_ns);
        Heard {
            frame_wall_ns,
            period_ns,
            at_mono_ns: now_mono_ns,
        }
    }

    /// `wall_ns` minus the nearest server start of frame.
    fn error(&self, wall_ns: i64) -> i64 {
        let k = ((wall_ns - self.frame_wall_ns) as f64 / self.period_ns).round();
        wall_ns - self.frame_wall_ns - (k * self.period_ns).round() as i64
    }
}

/// Per-camera results.
#[derive(Serialize)]
struct CamReport {
    camera: String,
    role: &'static str,
    line_ns: u64,
    frame_lines: u64,
    sensor_ppm: f64,
    /// The first frame reporting SyncReady ...
    ready_frame: Option<u64>,
    /// ... and when it started, s since the demo started (one clock for every
    /// camera: frame N of every camera should start at one instant).
    ready_at_s: Option<f64>,
    /// Phase error of frames from the first SyncReady frame on (clients).
    alignment: Option<ErrorStats>,
    /// |error| < one line on the last frame.
    locked: Option<bool>,
    /// Share of the frames from SyncReady on with |error| < one line, %.
    locked_pct: Option<f64>,
    adjustments_issued: u64,
    packets_read: u64,
    packets_rejected: u64,
    /// Lock lost and found again after the first lock (clients).
    lock_losses: Vec<LockLoss>,
    /// When the client read each valid packet (the frame it completed), s
    /// since the demo started.
    packets_at_s: Vec<f64>,
    /// The cost of the layer's `request_completed` per frame.
    request_completed: Option<HookCost>,
    /// It followed the schedule (with --schedule all, its phase error is
    /// against the lattice).
    follows_schedule: bool,
    /// With a schedule: its first SyncReady frame's start on the wall clock
    /// minus the nearest lattice point, µs.
    first_ready_vs_lattice_us: Option<f64>,
    /// With a pinned start: its first SyncReady frame's start on the wall
    /// clock minus the pinned instant, µs.
    first_ready_vs_start_us: Option<f64>,
}

/// What the cameras' first SyncReady frames are measured against.
struct Pins {
    /// The schedule's lattice (None: no schedule).
    lattice: Option<Lattice>,
    start_at: Option<StartAt>,
    /// REALTIME minus MONOTONIC, ns.
    wall_minus_mono: i64,
}

impl Pins {
    /// The pinned instant nearest `wall` (ns): `next:N` resolves to a
    /// multiple of N (seconds apart, far beyond any phase error); with a
    /// schedule the start moves to the lattice point at or after it, as the
    /// layer does.
    fn start_near(&self, wall: i64) -> Option<i64> {
        let t = match self.start_at? {
            StartAt::At(t) => t,
            StartAt::Next(every) if every > 0 => {
                (wall as i128 + i128::from(every) / 2).div_euclid(i128::from(every)) as i64 * every
            }
            StartAt::Next(_) => return None,
        };
        Some(self.lattice.map_or(t, |l| l.at_or_after(t)))
    }
}

/// The version of [`Report`]'s JSON form (`camsync demo --json`).
const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report {
    schema_version: u32,
    /// Which cameras this process ran: both, server or client.
    role: &'static str,
    /// When the demo started (the origin of every `*_at_s`), Unix time, s.
    started_unix_s: f64,
    /// Client processes: the distinct addresses servers sent from.
    servers_heard: Vec<String>,
    profile: String,
    /// A string: seeds exceed 2^53, which JSON readers round.
    #[serde(serialize_with = "camsync::sim::as_string")]
    seed: u64,
    group: String,
    port: u16,
    interface: String,
    duration_s: f64,
    frame_duration_us: i64,
    cameras: Vec<CamReport>,
    all_clients_ready: bool,
    /// The latest minus the earliest start of the cameras' first SyncReady
    /// frames, µs (None: a camera never reported SyncReady).
    ready_spread_us: Option<f64>,
    client_frames: u64,
    cpu_s: f64,
    cpu_us_per_client_frame: f64,
    interrupted: bool,
    /// Who followed the schedule: off, all, server.
    schedule: &'static str,
    /// The pinned start asked for (`--start-at`).
    start_at: Option<String>,
    /// This host's wall clock as the kernel saw it at the end: what every
    /// camera's layer checks (they share it: one host).
    host_clock: Option<HostClock>,
}

/// The camera's instance has the socket its mode needs, or an error saying why not.
fn check_socket(cam: &Cam) -> Result<(), String> {
    let want = match cam.mode {
        Mode::Server => Some(SocketRole::Sender),
        Mode::Client if cam.follows_schedule => None,
        Mode::Client => Some(SocketRole::Receiver),
        Mode::Off => None,
    };
    if cam.inst.socket_role() == want {
        return Ok(());
    }
    Err(format!(
        "{}: {}",
        cam.name,
        cam.inst
            .last_socket_error()
            .unwrap_or_else(|| "the sync socket is not open".into())
    ))
}

pub fn run(args: &Args) -> Outcome {
    args.check()?;
    let report = demo(args).map_err(exit::usage)?;
    // The clients' check; a server alone checks itself.
    let never: Vec<&str> = report
        .cameras
        .iter()
        .filter(|c| c.role == Mode::Client.name() || args.role == Role::Server)
        .filter(|c| c.ready_frame.is_none())
        .map(|c| c.camera.as_str())
        .collect();
    let note = if report.interrupted {
        " (interrupted)"
    } else {
        ""
    };
    exit::all_ready(&never, note)
}

/// Run the demo, print its report; a client that never became ready is in
/// the report, not an error.
fn demo(args: &Args) -> Result<Report, String> {
    let ifaddr = args.interface;
    sys::catch_sigint();
    let frame_us = (1e6 / args.fps).round() as i64;
    let frame_ns = frame_us * 1000;
    // What every camera's instance is configured with, as a config file would.
    let config = Config {
        profile: args.profile,
        layer: LayerParams {
            sync_period: args.sync_period,
            ready_frame: args.ready_frame,
            ..LayerParams::default()
        },
        net: NetConfig {
            group: args.group,
            port: args.port,
            interface: Some(ifaddr.to_string()),
            // Loopback delivery to this host only; TTL 0 forbids any hop. In
            // a private namespace, 1: the rig's link, never beyond a router.
            ttl: if ifaddr.is_loopback() { 0 } else { 1 },
            loopback: true,
            wire_format: args.wire_format,
            ..NetConfig::default()
        },
        ..Config::default()
    };
    let schedule = args.schedule();
    // The schedule's lattice on the wall clock (origin: the epoch).
    let lattice = Lattice::new(0, frame_ns);
    // Cameras following the schedule resolve `next:N` each on its own (no
    // packet tells them the server's choice), so cameras started either side
    // of a multiple of N would pick different instants: the demo resolves it
    // once, as a script launching a rig would, and gives every camera the
    // instant.
    let start_at = match args.start_at {
        Some(StartAt::Next(every)) if schedule == ScheduleMode::All && every > 0 => {
            let earliest = sys::realtime_ns()
                + ((SERVER_START_S + 0.08) * 1e9) as i64
                + i64::from(args.ready_frame.max(PIN_LEAD_FRAMES)) * frame_ns;
            Some(StartAt::At(
                (earliest + every - 1).div_euclid(every) * every,
            ))
        }
        other => other,
    };
    let mut setup = Rng::stream(args.seed, "demo/setup");
    let t0 = sys::mono_ns();
    let wall_minus_mono = sys::realtime_ns() - sys::mono_ns();
    let started_unix_s = (t0 + wall_minus_mono) as f64 / 1e9;
    let server_start = t0 + (SERVER_START_S * 1e9) as i64;
    // Every camera of the whole rig is drawn (cam0 the server), so a camera
    // is the same whichever process runs it; this one keeps its role's.
    let mut cams: Vec<Cam> = (0..=args.clients())
        .map(|i| {
            let line_ns = setup.range_u64(15_000, 30_000);
            let ppb = setup.signed_magnitude(
                (args.sensor_ppm.0 * 1000.0) as i64,
                (args.sensor_ppm.1 * 1000.0) as i64,
            );
            // Clients start 0.5-1 s before the server (a precision client
            // measures its camera in its first ~25 frames); without a
            // server here, within 0.5 s of the demo's start.
            let lead = setup.range_i64(500_000_000, 1_000_000_000);
            (i, line_ns, ppb, lead)
        })
        .filter(|&(i, ..)| args.role != Role::Client || i > 0)
        .map(|(i, line_ns, ppb, lead)| {
            let mode = if i == 0 && schedule != ScheduleMode::All {
                Mode::Server
            } else {
                Mode::Client
            };
            let name = format!("cam{i}");
            let mut layer = config.layer;
            layer.precision.schedule = args.follows_schedule(i);
            if i == 0 || schedule == ScheduleMode::All {
                layer.precision.start_at = start_at;
            }
            let inst = Instance::with_config(
                &name,
                Ok(Config {
                    profile: args.profile_of(i),
                    layer,
                    ..config.clone()
                }),
            );
            // As the simulator's cameras: the mode's range, down to the
            // half-frame clamp (the application fixes the rate at start).
            // An enabled instance: the result is the controls added.
            let _ = inst.controls(&CameraControls {
                sync_adjustment_limits_us: Some([-(frame_us / 2) as i32, (frame_us / 2) as i32]),
                frame_duration_limits_us: Some([frame_us / 2, 1_000_000]),
            });
            Cam {
                name,
                mode,
                follows_schedule: args.follows_schedule(i),
                inst,
                params: SensorParams::new(line_ns, frame_ns as u64, ppb, 2),
                sensor: None,
                start_at: match (i, args.role) {
                    (0, _) => server_start,
                    (_, Role::Client) => t0 + 1_000_000_000 - lead,
                    _ => server_start - lead,
                },
                first_sof: None,
                last_completion: 0,
                rng: Rng::stream(args.seed, &format!("demo/latency/cam{i}")),
                completed: 0,
                adjustments: 0,
                ready: None,
                errors: Vec::new(),
                last_error: None,
                packets: Vec::new(),
                hook_ns: Vec::new(),
            }
        })
        .collect();
    let end = t0 + (args.duration * 1e9) as i64;
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: i64, ev: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, ev)));
    };
    for (i, c) in cams.iter().enumerate() {
        push(&mut heap, c.start_at, Ev::Start(i));
    }
    push(&mut heap, t0, Ev::Tick);

    // The progress counts the first camera's frames: the server's, or
    // (--role client) the first client's.
    let (counted_from, counted) = match args.role {
        _ if schedule == ScheduleMode::All => (t0, "frames"),
        Role::Client => (t0, "frames"),
        _ => (server_start, "server frames"),
    };
    let expected_frames = ((end - counted_from).max(0) / frame_ns) as u64;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(expected_frames), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(&format!(
                "{{elapsed:>3}} [{{bar:30}}] {{pos}}/{{len}} {counted}  {{msg}}"
            ))
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        b
    };
    // A second server on the group would steer these clients too: watch the
    // group for packets this demo's server did not send. A client process
    // hears its server there (and every other).
    let mut watcher = Receiver::open(&config.net, Some(ifaddr)).map_err(|e| e.to_string())?;
    let mut sent: VecDeque<SyncPacket> = VecDeque::new();
    let mut heard: Option<Heard> = None;
    let mut servers_heard: Vec<String> = Vec::new();
    let cpu0 = sys::process_cpu_ns();
    // The server's last and next start of frame, for live phase errors.
    let mut server_sof: Option<(i64, i64)> = None;
    let mut interrupted = false;
    // A loaded machine may delay an event by a few ms; this much lag means
    // the event loop cannot keep up.
    let max_lag_ns = (2 * frame_ns).max(500_000_000);

    while let Some(Reverse((t, _, ev))) = heap.pop() {
        if t > end {
            break;
        }
        let now = sys::mono_ns();
        if t > now {
            std::thread::sleep(Duration::from_nanos((t - now) as u64));
        } else if now - t > max_lag_ns {
            // The cameras' timing would no longer be real: stop rather than
            // report numbers that mean nothing.
            return Err(format!(
                "fell {:.2} s behind real time with {} clients at {} fps: this machine cannot \
                 run them in one event loop; use fewer --clients or a lower --fps",
                (now - t) as f64 / 1e9,
                args.clients(),
                args.fps
            ));
        }
        if sys::interrupted() {
            interrupted = true;
            break;
        }
        match ev {
            Ev::Tick => {
                // Cameras following the schedule trust no packet: a server
                // heard is only listed.
                if args.role == Role::Client || schedule == ScheduleMode::All {
                    hear_servers(&mut watcher, &mut heard, &mut servers_heard);
                } else if let Some(foreign) = foreign_server(&mut watcher, &sent) {
                    bar.finish_and_clear();
                    return Err(format!(
                        "another sync server ({foreign}) is sending to {}:{}: this demo's \
                         clients would follow it too; stop it or use another --port",
                        args.group, args.port
                    ));
                }
                bar.set_message(status(&cams));
                if server_sof.is_some()
                    || args.role == Role::Client
                    || schedule == ScheduleMode::All
                {
                    bar.set_position(cams[0].completed.min(expected_frames));
                }
                push(&mut heap, t + 200_000_000, Ev::Tick);
            }
            Ev::Start(i) => {
                let c = &mut cams[i];
                let controls = Controls {
                    sync_mode: Some(c.mode.as_control()),
                    frame_duration_limits_us: Some([frame_us, frame_us]),
                    ..Controls::default()
                };
                let _ = c.inst.start(&controls);
                check_socket(c)?;
                let startup = c.rng.range_i64(30_000_000, 80_000_000);
                let s0 = sys::mono_ns() + startup;
                c.sensor = Some(Sensor::new(c.params, s0));
                for _ in 0..4 {
                    queue(c, t)?;
                }
                push(&mut heap, s0, Ev::Frame(i));
            }
            Ev::Frame(i) => {
                let c = &mut cams[i];
                let Some(sensor) = c.sensor.as_mut() else {
                    continue;
                };
                let f = sensor.next_frame();
                c.first_sof.get_or_insert(f.sof_ns);
                if schedule == ScheduleMode::All {
                    // No server: against the lattice, on this host's wall clock.
                    if let Some(l) = lattice {
                        let e = l.error(f.sof_ns + wall_minus_mono);
                        c.errors.push((f.index, f.sof_ns, e));
                        c.last_error = Some(e);
                    }
                } else if c.mode == Mode::Server {
                    server_sof = Some((f.sof_ns, f.next_sof_ns));
                } else if let Some((last, next)) = server_sof {
                    let (a, b) = (f.sof_ns - last, f.sof_ns - next);
                    let e = if a.abs() <= b.abs() { a } else { b };
                    c.errors.push((f.index, f.sof_ns, e));
                    c.last_error = Some(e);
                } else if let Some(h) = heard
                    && f.sof_ns - h.at_mono_ns < HEARD_FOR_NS
                {
                    let e = h.error(f.sof_ns + wall_minus_mono);
                    c.errors.push((f.index, f.sof_ns, e));
                    c.last_error = Some(e);
                }
                let latency = c.rng.range_i64(3_000_000, 12_000_000);
                let tc = (f.next_sof_ns + latency).max(c.last_completion + 1_000_000);
                c.last_completion = tc;
                let sensor_ts = f.sof_ns.div_euclid(1000) * 1000;
                push(
                    &mut heap,
                    tc,
                    Ev::Complete {
                        cam: i,
                        frame: f.index,
                        sof_ns: f.sof_ns,
                        sensor_ts,
                    },
                );
                push(&mut heap, f.next_sof_ns, Ev::Frame(i));
            }
            Ev::Complete {
                cam,
                frame,
                sof_ns,
                sensor_ts,
            } => {
                let c = &mut cams[cam];
                let completion = Completion {
                    sensor_timestamp_ns: Some(sensor_ts),
                    cancelled: false,
                };
                // A server's packet goes out (or its failure is counted and
                // logged) inside the instance.
                let called = std::time::Instant::now();
                let out = c.inst.request_completed(&completion).unwrap_or_default();
                c.hook_ns.push(called.elapsed().as_nanos() as u64);
                c.completed += 1;
                if c.mode == Mode::Client {
                    c.packets.push((sof_ns, out.diag.packets));
                }
                if out.sync_ready == Some(true) && c.ready.is_none() {
                    c.ready = Some((frame, sof_ns));
                }
                if let Some(p) = out.tx {
                    // The watcher reads at the next tick: it will know it as ours.
                    if sent.len() == 64 {
                        sent.pop_front();
                    }
                    sent.push_back(p);
                }
                queue(c, t)?;
            }
        }
    }
    for c in &cams {
        let _ = c.inst.stop();
    }
    bar.finish_and_clear();
    let cpu_ns = sys::process_cpu_ns().saturating_sub(cpu0);
    interrupted |= sys::interrupted();

    let is_client = |c: &&Cam| c.mode == Mode::Client;
    let client_frames: u64 = cams.iter().filter(is_client).map(|c| c.completed).sum();
    let sync_period = args.sync_period as usize;
    let pins = Pins {
        lattice: lattice.filter(|_| schedule != ScheduleMode::Off),
        start_at,
        wall_minus_mono,
    };
    let reports: Vec<CamReport> = cams
        .iter()
        .map(|c| cam_report(c, t0, sync_period, &pins))
        .collect();
    let all_ready = reports
        .iter()
        .filter(|r| r.role == Mode::Client.name())
        .all(|r| r.ready_frame.is_some());
    let ready_sofs: Option<Vec<i64>> = cams.iter().map(|c| c.ready.map(|r| r.1)).collect();
    let ready_spread_us = ready_sofs.map(|v| {
        let (lo, hi) = (v.iter().min(), v.iter().max());
        hi.zip(lo).map_or(0.0, |(h, l)| (h - l) as f64 / 1000.0)
    });
    let report = Report {
        schema_version: SCHEMA_VERSION,
        role: args.role.name(),
        started_unix_s,
        servers_heard,
        seed: args.seed,
        profile: camsync::sim::Rig {
            server: args.server_profile.unwrap_or(args.profile),
            client: args.profile,
        }
        .name(),
        group: args.group.to_string(),
        port: args.port,
        interface: ifaddr.to_string(),
        duration_s: args.duration,
        frame_duration_us: frame_us,
        cameras: reports,
        all_clients_ready: all_ready,
        ready_spread_us,
        client_frames,
        cpu_s: cpu_ns as f64 / 1e9,
        cpu_us_per_client_frame: if client_frames > 0 {
            cpu_ns as f64 / 1000.0 / client_frames as f64
        } else {
            0.0
        },
        interrupted,
        schedule: schedule_name(schedule),
        start_at: args.start_at.map(|given| match (given, start_at) {
            (StartAt::Next(_), Some(StartAt::At(t))) => {
                format!("{} = {}", args.start_at_text(), unix_text(t))
            }
            _ => args.start_at_text(),
        }),
        host_clock: HostClock::read(),
    };
    // The results first, then the plot: a failing plot loses nothing.
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_report(&report);
    }
    if let Some(path) = args.plot_path() {
        write_plot(&path, &cams, t0)?;
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    Ok(report)
}

/// How long a client process measures against the server's last packet.
const HEARD_FOR_NS: i64 = 5_000_000_000;

/// A client process: the servers heard on the group (their addresses, in
/// order) and the latest one's frames. Drains the watcher.
fn hear_servers(watcher: &mut Receiver, heard: &mut Option<Heard>, servers: &mut Vec<String>) {
    while let Some((decoded, r)) = watcher.recv_decoded() {
        let Ok((p, _)) = decoded else { continue };
        let from = r.from.map_or_else(|| "?".into(), |a| a.to_string());
        if !servers.contains(&from) {
            servers.push(from);
        }
        *heard = Some(Heard::update(*heard, &p, sys::mono_ns()));
    }
}

/// The address of a server heard on the group whose packets this demo did
/// not send, if there is one. Drains the watcher.
fn foreign_server(watcher: &mut Receiver, ours: &VecDeque<SyncPacket>) -> Option<String> {
    let mut foreign = None;
    while let Some((decoded, r)) = watcher.recv_decoded() {
        if let Ok((p, _)) = decoded
            && !ours.contains(&p)
        {
            foreign.get_or_insert_with(|| r.from.map_or_else(|| "?".into(), |a| a.to_string()));
        }
    }
    foreign
}

/// Queue one request (fresh controls) at the event's time `t`; a client's
/// SyncAdjustment goes to its sensor. The event's time, not the clock's: a
/// loop running late under load must not make a request land a frame later
/// (libcamera applies controls per request, not by when they were queued).
fn queue(c: &mut Cam, t: i64) -> Result<(), String> {
    let out = c
        .inst
        .queue_request(&Controls::default())
        .map_err(|e| format!("{}: {e}", c.name))?;
    if let Some(a) = out.sync_adjustment_us {
        if a != 0 {
            c.adjustments += 1;
        }
        if let Some(s) = c.sensor.as_mut() {
            s.request_adjustment(t, a);
        }
    }
    check_socket(c)
}

fn status(cams: &[Cam]) -> String {
    let clients: Vec<&Cam> = cams.iter().filter(|c| c.mode == Mode::Client).collect();
    if clients.is_empty() {
        let ready = cams.iter().any(|c| c.ready.is_some());
        return if ready { "ready" } else { "waiting" }.into();
    }
    let ready = clients.iter().filter(|c| c.ready.is_some()).count();
    let locked = clients
        .iter()
        .filter(|c| {
            c.last_error
                .is_some_and(|e| e.unsigned_abs() < c.params.line_ns)
        })
        .count();
    let mut s = format!(
        "ready {ready}/{}  locked {locked}/{}",
        clients.len(),
        clients.len()
    );
    if clients.len() <= 6 {
        for c in &clients {
            let e = c
                .last_error
                .map_or_else(|| "-".into(), |e| format!("{:+.0}µs", e as f64 / 1000.0));
            let state = match (
                c.ready.is_some(),
                c.last_error
                    .is_some_and(|e| e.unsigned_abs() < c.params.line_ns),
            ) {
                (_, true) => "locked",
                (true, false) => "ready",
                (false, false) => "waiting",
            };
            s.push_str(&format!("  {} {e} {state}", c.name));
        }
    } else {
        let worst = clients
            .iter()
            .filter_map(|c| c.last_error)
            .map(i64::unsigned_abs)
            .max();
        if let Some(w) = worst {
            s.push_str(&format!("  worst |error| {:.0}µs", w as f64 / 1000.0));
        }
    }
    s
}

/// Where `c` lost lock after holding it for a sync period, and found it again.
fn lock_losses(c: &Cam, t0: i64, period: usize) -> Vec<LockLoss> {
    let line = c.params.line_ns as i64;
    let s = |t: i64| (t - t0) as f64 / 1e9;
    let packets = |from: i64, to: i64| -> u64 {
        c.packets
            .iter()
            .filter(|p| (from..to).contains(&p.0))
            .map(|p| u64::from(p.1))
            .sum()
    };
    let mut out = Vec::new();
    // The first frame of the current stretch within one line, whether the
    // camera has been locked, and where the current loss began.
    let (mut stretch, mut locked, mut lost_at) = (None::<usize>, false, None::<i64>);
    for (i, &(_, sof, e)) in c.errors.iter().enumerate() {
        if e.abs() >= line {
            stretch = None;
            if locked && lost_at.is_none() {
                lost_at = Some(sof);
            }
            continue;
        }
        let first = *stretch.get_or_insert(i);
        if i + 1 - first >= period.max(1) {
            locked = true;
            if let Some(at) = lost_at.take() {
                let back = c.errors[first].1;
                out.push(LockLoss {
                    lost_at_s: s(at),
                    locked_at_s: Some(s(back)),
                    packets: packets(at, back),
                });
            }
        }
    }
    if let Some(at) = lost_at {
        out.push(LockLoss {
            lost_at_s: s(at),
            locked_at_s: None,
            packets: packets(at, i64::MAX),
        });
    }
    out
}

fn cam_report(c: &Cam, t0: i64, sync_period: usize, pins: &Pins) -> CamReport {
    let client = c.mode == Mode::Client;
    let ready_wall = c.ready.map(|(_, sof)| sof + pins.wall_minus_mono);
    let us = |ns: i64| ns as f64 / 1000.0;
    let after: Vec<i64> = match c.ready {
        Some((f, _)) => c.errors.iter().filter(|e| e.0 >= f).map(|e| e.2).collect(),
        None => Vec::new(),
    };
    let rx = c.inst.stats().rx;
    CamReport {
        camera: c.name.clone(),
        role: c.mode.name(),
        line_ns: c.params.line_ns,
        frame_lines: c.params.frame_lines,
        sensor_ppm: c.params.sensor_ppb as f64 / 1000.0,
        ready_frame: c.ready.map(|(f, _)| f),
        ready_at_s: c.ready.map(|(_, sof)| (sof - t0) as f64 / 1e9),
        alignment: (client && c.ready.is_some()).then(|| ErrorStats::of(&after)),
        locked: client.then(|| {
            c.last_error
                .is_some_and(|e| e.unsigned_abs() < c.params.line_ns)
        }),
        locked_pct: (client && !after.is_empty()).then(|| {
            let n = after
                .iter()
                .filter(|e| e.unsigned_abs() < c.params.line_ns)
                .count();
            (1000.0 * n as f64 / after.len() as f64).round() / 10.0
        }),
        adjustments_issued: c.adjustments,
        packets_read: rx.accepted,
        packets_rejected: rx.rejected(),
        lock_losses: if client {
            lock_losses(c, t0, sync_period)
        } else {
            Vec::new()
        },
        request_completed: HookCost::of(&c.hook_ns),
        follows_schedule: c.follows_schedule,
        first_ready_vs_lattice_us: ready_wall.zip(pins.lattice).map(|(w, l)| us(l.error(w))),
        first_ready_vs_start_us: ready_wall.and_then(|w| pins.start_near(w).map(|t| us(w - t))),
        packets_at_s: c
            .packets
            .iter()
            .flat_map(|&(sof, n)| {
                std::iter::repeat_n(((sof - t0) as f64 / 1e6).round() / 1e3, n as usize)
            })
            .collect(),
    }
}

fn print_report(r: &Report) {
    let clients = r.cameras.iter().filter(|c| c.role == "client").count();
    let who = match r.role {
        _ if r.schedule == "all" => format!(
            "{} cameras following the schedule, no server{}",
            r.cameras.len(),
            if r.role == "client" {
                " (--role client)"
            } else {
                ""
            }
        ),
        "server" => "the server of a rig (--role server)".to_string(),
        "client" => format!("{clients} clients of a rig (--role client)"),
        _ => format!("1 server + {clients} clients"),
    };
    println!(
        "camsync demo: {who}, {:.0} fps, {}:{} on {}, profile {}, {:.1} s{}",
        1e6 / r.frame_duration_us as f64,
        r.group,
        r.port,
        r.interface,
        r.profile,
        r.duration_s,
        if r.interrupted { " (interrupted)" } else { "" }
    );
    let mut t = Table::new(
        "camera",
        [
            "role",
            "line ns",
            "ppm",
            "SyncReady at",
            "p50 µs",
            "p99 µs",
            "max µs",
            "locked %",
        ]
        .map(String::from),
    );
    for c in &r.cameras {
        let ready = match (c.ready_at_s, c.ready_frame) {
            (Some(s), Some(f)) => format!("{s:.6} s (frame {f})"),
            _ => "never".into(),
        };
        let (p50, p99, max) = c.alignment.map_or_else(
            || ("-".into(), "-".into(), "-".into()),
            |a| {
                (
                    format!("{:.1}", a.p50_us),
                    format!("{:.1}", a.p99_us),
                    format!("{:.1}", a.max_us),
                )
            },
        );
        t.row(
            c.camera.clone(),
            vec![
                if c.follows_schedule && c.role == Mode::Client.name() {
                    "schedule".into()
                } else {
                    c.role.into()
                },
                c.line_ns.to_string(),
                format!("{:+.1}", c.sensor_ppm),
                ready,
                p50,
                p99,
                max,
                c.locked_pct.map_or("-".into(), |p| format!("{p:.1}")),
            ],
        );
    }
    print!("{t}");
    if r.schedule == "all" {
        println!(
            "no server: every camera follows the lattice n x {} µs on this host's wall clock; \
             phase error against the lattice",
            r.frame_duration_us
        );
    }
    let firsts = |f: &dyn Fn(&CamReport) -> Option<f64>| -> String {
        r.cameras
            .iter()
            .map(|c| {
                f(c).map_or_else(
                    || format!("{} never", c.camera),
                    |us| format!("{} {us:+.1}", c.camera),
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if r.schedule != "off" {
        println!(
            "first SyncReady frames vs the lattice, µs: {}",
            firsts(&|c| c.first_ready_vs_lattice_us)
        );
    }
    if let Some(at) = &r.start_at {
        println!(
            "first SyncReady frames vs the pinned start ({at}), µs: {}",
            firsts(&|c| c.first_ready_vs_start_us)
        );
    }
    match r.ready_spread_us {
        Some(_) if r.schedule == "all" && r.start_at.is_none() => println!(
            "each camera is ready from the first lattice point after it aligned (--start-at \
             gives every camera the same one)"
        ),
        Some(us) => println!(
            "first SyncReady frames of all {} cameras start within {us:.1} µs of each other",
            r.cameras.len()
        ),
        None => println!("first SyncReady frames: not every camera reported SyncReady"),
    }
    println!(
        "all clients ready: {}; CPU {:.3} s for {} client frames = {:.1} µs per client-frame",
        if r.all_clients_ready { "yes" } else { "NO" },
        r.cpu_s,
        r.client_frames,
        r.cpu_us_per_client_frame
    );
    println!("{}", host_clock::describe(r.host_clock));
}

fn write_plot(path: &std::path::Path, cams: &[Cam], t0: i64) -> Result<(), String> {
    // At most 8 clients are drawn, so the plot stays readable.
    let series: Vec<plot::Series> = cams
        .iter()
        .filter(|c| c.mode == Mode::Client)
        .take(8)
        .map(|c| {
            let from = c.ready.map_or(u64::MAX, |r| r.0);
            plot::Series {
                name: c.name.clone(),
                points: c
                    .errors
                    .iter()
                    .filter(|e| e.0 >= from)
                    .map(|e| ((e.1 - t0) as f64 / 1e9, e.2 as f64 / 1000.0))
                    .collect(),
            }
        })
        .collect();
    plot::lines(
        path,
        "camsync demo: phase error vs. server after SyncReady",
        "time since start (s)",
        "phase error (µs)",
        &series,
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
