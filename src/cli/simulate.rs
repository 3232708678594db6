//! `camsync simulate`: the closed-loop simulator, every profile side by side.

use std::path::PathBuf;
use std::process::ExitCode;

use camsync::sim::{self, LineTimes, PRESETS, ScenarioParams, SimReport};

use crate::plot;
use crate::table::Table;

/// Simulate a rig in virtual time, every core profile side by side.
///
/// One server and N clients, each a simulated
/// camera driving the real core, on a simulated network. Fast and
/// deterministic for a seed. Every profile of the core runs on identical
/// inputs; the metrics are printed side by side, one column per profile.
///
/// Phase error = a client's true start of frame minus the nearest server true
/// start of frame, for every client frame from its first SyncReady frame on
/// (frames while the server is not streaming are excluded); percentiles are
/// nearest-rank of |error|. Frames to lock = first frame of the final stretch
/// with |error| below one line time, if it lasts at least one sync period.
///
/// Scenarios: basic, drift, mixed_sensors, loss, drops, late_client,
/// server_restart, wallclock_step, near_max_fps. Every parameter can be
/// overridden by a flag; ranges are written LO..HI (or one value).
///
/// Examples:
///   camsync simulate --scenario drift
///   camsync simulate --scenario drift --json
///   camsync simulate --scenario loss --loss-ppm 500000 --seed 7 --plot loss.svg
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Preset scenario.
    #[arg(long, default_value = "basic", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    scenario: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write an SVG plot of phase error over time.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Seed of every random draw (default: derived from the scenario name).
    #[arg(long)]
    seed: Option<u64>,
    /// Client cameras (plus one server).
    #[arg(long)]
    clients: Option<usize>,
    /// Server frames to simulate.
    #[arg(long)]
    frames: Option<u64>,
    /// Frame duration (FrameDurationLimits), µs.
    #[arg(long)]
    frame_us: Option<u32>,
    /// The sensor mode's shortest frame, µs (limits shortening).
    #[arg(long)]
    mode_min_frame_us: Option<u32>,
    /// Frames from queueing a SyncAdjustment to the sensor applying it.
    #[arg(long)]
    delay_frames: Option<u32>,
    /// Completion latency after end of frame, µs.
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_u64)]
    latency_us: Option<(u64, u64)>,
    /// Gap between the three clock reads of a sample, ns.
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_u64)]
    clock_read_gap_ns: Option<(u64, u64)>,
    /// Network delay, µs.
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_u64)]
    net_delay_us: Option<(u64, u64)>,
    /// Packet loss, parts per million.
    #[arg(long)]
    loss_ppm: Option<u32>,
    /// Frame drops, parts per million.
    #[arg(long)]
    drop_ppm: Option<u32>,
    /// Hosts the cameras are spread over (0: one per camera); one host's cameras share its clocks.
    #[arg(long)]
    hosts: Option<usize>,
    /// Residual NTP/PTP wall-clock error per host, drawn in ±this, µs.
    #[arg(long)]
    wall_offset_max_us: Option<u32>,
    /// Wall-clock read noise, ±ns.
    #[arg(long)]
    wall_noise_ns: Option<u32>,
    /// Sensor oscillator error magnitude, ppm (random sign).
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_f64)]
    sensor_ppm: Option<(f64, f64)>,
    /// Boot clock rate error vs. the wall clock, ppm (random sign).
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_f64)]
    sys_ppm: Option<(f64, f64)>,
    /// Line times, ns: a range LO..HI to draw from, or a list A,B,C per camera.
    #[arg(long, value_parser = parse_lines)]
    line_ns: Option<LineTimes>,
    /// When the server starts, ms.
    #[arg(long)]
    server_start_ms: Option<u64>,
    /// Clients start this long before the server, ms.
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_u64)]
    client_lead_ms: Option<(u64, u64)>,
    /// From start() to the first frame, ms.
    #[arg(long, value_name = "LO..HI", value_parser = parse_range_u64)]
    startup_ms: Option<(u64, u64)>,
    /// The last client starts this long after the server, ms.
    #[arg(long)]
    late_start_ms: Option<u64>,
    /// The server stops after this frame and restarts.
    #[arg(long)]
    restart_after_frame: Option<u64>,
    /// Gap before the server restarts, ms.
    #[arg(long)]
    restart_gap_ms: Option<u64>,
    /// The first client's wall clock steps at this frame.
    #[arg(long)]
    wall_step_frame: Option<u64>,
    /// Size of the wall-clock step, µs.
    #[arg(long, allow_hyphen_values = true)]
    wall_step_us: Option<i64>,
    /// Frames between server packets.
    #[arg(long)]
    sync_period: Option<u32>,
    /// Frames until ready (rpi::SyncFrames).
    #[arg(long)]
    ready_frame: Option<u32>,
    /// Client dead band, µs.
    #[arg(long)]
    min_adjustment_us: Option<u32>,
}

fn split_range(s: &str) -> (&str, &str) {
    s.split_once("..").unwrap_or((s, s))
}

fn parse_range_u64(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = split_range(s);
    let a: u64 = a.trim().parse().map_err(|e| format!("'{a}': {e}"))?;
    let b: u64 = b.trim().parse().map_err(|e| format!("'{b}': {e}"))?;
    if a > b {
        return Err(format!("empty range {a}..{b}"));
    }
    Ok((a, b))
}

fn parse_range_f64(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = split_range(s);
    let a: f64 = a.trim().parse().map_err(|e| format!("'{a}': {e}"))?;
    let b: f64 = b.trim().parse().map_err(|e| format!("'{b}': {e}"))?;
    if !(a >= 0.0 && a <= b) {
        return Err(format!("need 0 <= LO <= HI, got {a}..{b}"));
    }
    Ok((a, b))
}

fn parse_lines(s: &str) -> Result<LineTimes, String> {
    if s.contains("..") {
        let (a, b) = parse_range_u64(s)?;
        if a == 0 {
            return Err("line time must be > 0".into());
        }
        return Ok(LineTimes::Range(a, b));
    }
    let v = s
        .split(',')
        .map(|x| x.trim().parse::<u64>().map_err(|e| format!("'{x}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if v.contains(&0) {
        return Err("line time must be > 0".into());
    }
    Ok(LineTimes::List(v))
}

impl Args {
    fn params(&self) -> ScenarioParams {
        let mut p = ScenarioParams::preset(&self.scenario).expect("clap checked the name");
        macro_rules! set {
            ($($field:ident <- $flag:ident),* $(,)?) => {
                $(if let Some(v) = self.$flag.clone() { p.$field = v; })*
            };
        }
        set!(
            seed <- seed, clients <- clients, frames <- frames,
            frame_duration_us <- frame_us, delay_frames <- delay_frames,
            latency_us <- latency_us, clock_read_gap_ns <- clock_read_gap_ns,
            net_delay_us <- net_delay_us, packet_loss_ppm <- loss_ppm,
            frame_drop_ppm <- drop_ppm, hosts <- hosts,
            wall_offset_max_us <- wall_offset_max_us, wall_noise_ns <- wall_noise_ns,
            sensor_ppm <- sensor_ppm, sys_ppm <- sys_ppm, line_ns <- line_ns,
            server_start_ms <- server_start_ms, client_lead_ms <- client_lead_ms,
            startup_ms <- startup_ms, restart_gap_ms <- restart_gap_ms,
            wall_step_us <- wall_step_us, sync_period <- sync_period,
            ready_frame <- ready_frame, min_adjustment_us <- min_adjustment_us,
        );
        if self.mode_min_frame_us.is_some() {
            p.mode_min_frame_us = self.mode_min_frame_us;
        }
        if self.late_start_ms.is_some() {
            p.late_start_ms = self.late_start_ms;
        }
        if self.restart_after_frame.is_some() {
            p.restart_after_frame = self.restart_after_frame;
        }
        if self.wall_step_frame.is_some() {
            p.wall_step_frame = self.wall_step_frame;
        }
        p
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "never".to_string(), |v| v.to_string())
}

fn f3(v: f64) -> String {
    format!("{v:.1}")
}

/// The report as a table: one row per metric, one column per profile.
pub fn table(r: &SimReport) -> Table {
    let mut t = Table::new("metric", r.profiles.iter().map(|p| p.profile.to_string()));
    let col = |f: &dyn Fn(&sim::ProfileReport) -> String| -> Vec<String> {
        r.profiles.iter().map(f).collect()
    };
    let Some(first) = r.profiles.first() else {
        return t;
    };
    let server = &first.server.camera;
    t.row(
        format!("{server} (server) frames to ready"),
        col(&|p| opt(p.server.frames_to_ready)),
    );
    t.row(
        format!("{server} packets sent"),
        col(&|p| p.server.packets_sent.to_string()),
    );
    for (i, c) in first.clients.iter().enumerate() {
        let name = &c.camera;
        let cl = |p: &sim::ProfileReport| p.clients[i].clone();
        t.row(
            format!("{name} frames to ready"),
            col(&|p| opt(cl(p).frames_to_ready)),
        );
        t.row(
            format!("{name} frames to lock (<{} ns)", c.line_ns),
            col(&|p| opt(cl(p).frames_to_lock)),
        );
        t.row(
            format!("{name} adjustments issued"),
            col(&|p| cl(p).adjustments_issued.to_string()),
        );
        t.row(
            format!("{name} phase error p50/p95/p99/max µs"),
            col(&|p| {
                let a = cl(p).alignment;
                format!(
                    "{} / {} / {} / {}",
                    f3(a.p50_us),
                    f3(a.p95_us),
                    f3(a.p99_us),
                    f3(a.max_us)
                )
            }),
        );
    }
    t.row(
        "all clients ready".to_string(),
        col(&|p| p.overall.all_clients_ready.to_string()),
    );
    t.row(
        "frames to ready (max)".to_string(),
        col(&|p| opt(p.overall.frames_to_ready_max)),
    );
    t.row(
        "frames to lock (max)".to_string(),
        col(&|p| opt(p.overall.frames_to_lock_max)),
    );
    t.row(
        "adjustments issued".to_string(),
        col(&|p| p.overall.adjustments_issued.to_string()),
    );
    t.row(
        "phase error p50/p95/p99/max µs".to_string(),
        col(&|p| {
            let a = p.overall.alignment;
            format!(
                "{} / {} / {} / {}",
                f3(a.p50_us),
                f3(a.p95_us),
                f3(a.p99_us),
                f3(a.max_us)
            )
        }),
    );
    t
}

pub fn run(args: &Args) -> ExitCode {
    let params = args.params();
    if params.frame_duration_us == 0 {
        eprintln!("error: --frame-us must be > 0");
        return ExitCode::FAILURE;
    }
    let report = sim::simulate(&params);
    if args.json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!(
            "scenario {}: {} (seed {})",
            report.scenario, report.description, report.seed
        );
        for c in &report.cameras {
            println!(
                "  {} {} host {} line {} ns x {} lines, sensor {:+.3} ppm, starts at {:.3} s",
                c.name,
                match c.role {
                    sim::Role::Server => "server",
                    sim::Role::Client => "client",
                },
                c.host,
                c.sensor.line_ns,
                c.sensor.frame_lines,
                c.sensor.sensor_ppb as f64 / 1000.0,
                c.start_ns as f64 / 1e9
            );
        }
        println!();
        print!("{}", table(&report));
    }
    if let Some(path) = &args.plot {
        let series: Vec<plot::Series> = report
            .profiles
            .iter()
            .flat_map(|p| {
                p.clients.iter().enumerate().map(move |(i, c)| {
                    // Client i of the report is camera i + 1.
                    let points = p
                        .series
                        .iter()
                        .filter(|s| s.1 == i + 1)
                        .map(|s| (s.0, s.2))
                        .collect();
                    plot::Series {
                        name: format!("{} {}", c.camera, p.profile),
                        points,
                    }
                })
            })
            .collect();
        let title = format!(
            "camsync simulate --scenario {}: phase error vs. server",
            report.scenario
        );
        if let Err(e) = plot::lines(path, &title, "true time (s)", "phase error (µs)", &series) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    ExitCode::SUCCESS
}
