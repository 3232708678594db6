// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync simulate`: the closed-loop simulator, every profile side by side.

use std::path::PathBuf;

use camsync::core::Profile;
use camsync::sim::{
    self, LineTimes, PRESETS, Rig, ScenarioParams, ScheduleMode, SimReport, limits as l,
};

use crate::args::{self, num, span};
use crate::exit::{self, Failure, Outcome};
use crate::plot;
use crate::table::Table;

/// Simulate a rig in virtual time, every core profile side by side.
///
/// One server and N clients, each a simulated
/// camera running the plugin instance, on a simulated network. Fast and
/// deterministic for a seed. Every profile of the core runs on identical
/// inputs; the metrics are printed side by side, one column per profile.
///
/// Phase error = a client's true start of frame minus the nearest server true
/// start of frame, for every client frame from its first SyncReady frame on,
/// against server frames the server reported SyncReady (after a server
/// restart, its new run counts from its new ready frame); percentiles are
/// nearest-rank of |error|. Across hosts this includes the difference of
/// the hosts' wall-clock errors (|Δwall|), which nothing on the wire can
/// remove; "wall-corrected" takes it out frame by frame. Frames to lock =
/// first frame of the final stretch with |error| below one line time, if it
/// lasts at least one sync period; relock = the same after the scenario's
/// fault (server restart, wall-clock step), counted from the fault.
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
#[command(verbatim_doc_comment, allow_negative_numbers = true, after_help = EXIT_HELP)]
pub struct Args {
    /// Preset scenario.
    #[arg(long, default_value = "basic", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    scenario: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Profiles to run side by side, one column each (default: every profile).
    #[arg(long, value_parser = args::profile(), value_delimiter = ',')]
    profile: Vec<Profile>,
    /// Run the server on this profile in every column (a mixed rig: e.g.
    /// precision clients behind a compat server).
    #[arg(long, value_parser = args::profile())]
    server_profile: Option<Profile>,
    /// Write an SVG plot of phase error over time (checked before the run).
    #[arg(long, value_name = "FILE.svg", value_parser = args::writable_file)]
    plot: Option<PathBuf>,
    /// Seed of every random draw, 0..=18446744073709551615 (default: derived from the scenario name).
    #[arg(long)]
    seed: Option<u64>,
    /// Client cameras (plus one server), 1..=256.
    #[arg(long, value_parser = num(l::CLIENTS))]
    clients: Option<usize>,
    /// Server frames to simulate, 1..=1000000, at least the server's ready frame
    /// and first packet + 2; (clients + 1) x frames at most 2000000.
    #[arg(long, value_parser = num(l::FRAMES))]
    frames: Option<u64>,
    /// Frame duration (FrameDurationLimits), µs, 1000..=1000000.
    #[arg(long, value_parser = num(l::FRAME_US))]
    frame_us: Option<u32>,
    /// The sensor mode's shortest frame, µs (limits shortening), 1000..=--frame-us.
    #[arg(long, value_parser = num(l::FRAME_US))]
    mode_min_frame_us: Option<u32>,
    /// Frames from queueing a SyncAdjustment to the sensor applying it, 0..=16.
    #[arg(long, value_parser = num(l::DELAY_FRAMES))]
    delay_frames: Option<u32>,
    /// Completion latency after end of frame, µs, each in 0..=1000000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::LATENCY_US))]
    latency_us: Option<(u64, u64)>,
    /// Gap between the three clock reads of a sample, ns, each in 0..=1000000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::CLOCK_READ_GAP_NS))]
    clock_read_gap_ns: Option<(u64, u64)>,
    /// Network delay, µs, each in 0..=1000000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::NET_DELAY_US))]
    net_delay_us: Option<(u64, u64)>,
    /// Packet loss, parts per million, 0..=1000000.
    #[arg(long, value_parser = num(l::PPM_SHARE))]
    loss_ppm: Option<u32>,
    /// Frame drops, parts per million, 0..=1000000.
    #[arg(long, value_parser = num(l::PPM_SHARE))]
    drop_ppm: Option<u32>,
    /// Hosts the cameras are spread over (0: one per camera), 0..=cameras; one host's cameras share its clocks.
    #[arg(long, value_parser = num(l::HOSTS))]
    hosts: Option<usize>,
    /// Residual NTP/PTP wall-clock error per host, drawn in ±this, µs, 0..=1000000.
    #[arg(long, value_parser = num(l::WALL_OFFSET_MAX_US))]
    wall_offset_max_us: Option<u32>,
    /// Wall-clock read noise, ±ns, 0..=1000000.
    #[arg(long, value_parser = num(l::WALL_NOISE_NS))]
    wall_noise_ns: Option<u32>,
    /// Sensor oscillator error magnitude, ppm (random sign), each in 0..=1000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::CLOCK_PPM))]
    sensor_ppm: Option<(f64, f64)>,
    /// Boot clock rate error vs. the wall clock, ppm (random sign), each in 0..=1000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::CLOCK_PPM))]
    sys_ppm: Option<(f64, f64)>,
    /// NTP slewing: each host's wall clock also moves in a triangle wave of
    /// this slope, ppm, 0..=1000.
    #[arg(long, value_parser = num(l::CLOCK_PPM))]
    wall_slew_ppm: Option<f64>,
    /// Period of that triangle wave, ms, 1..=3600000.
    #[arg(long, value_parser = num(l::SLEW_PERIOD_MS))]
    wall_slew_period_ms: Option<u64>,
    /// Who follows a schedule on the wall clock (precision cameras): off;
    /// all (every camera, no server, no packet); server (the server pins its
    /// frames to it and sends packets).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(ScheduleMode::NAMES))]
    schedule: Option<String>,
    /// The server pins its start: SyncReady at this true time, ms from the
    /// start of the simulation, 0..=600000 (precision).
    #[arg(long, value_parser = num(l::START_MS))]
    start_at_ms: Option<u64>,
    /// Hosts whose kernel says the wall clock is unsynchronised, a list of
    /// host numbers (0..hosts-1): their cameras warn (the others' kernels say
    /// synchronised, to within --wall-offset-max-us).
    #[arg(long, value_name = "H,H,...", value_delimiter = ',', value_parser = num(l::HOSTS))]
    unsynced_hosts: Vec<usize>,
    /// The layer's clock_error_bound, µs, 0..=1000000 (0: one line time).
    #[arg(long, value_parser = num(l::CLOCK_ERROR_BOUND_US))]
    clock_error_bound_us: Option<u32>,
    /// Start-of-frame timestamp jitter: each SensorTimestamp is late by
    /// 0..this µs, 0..=20000.
    #[arg(long, value_parser = num(l::JITTER_US))]
    jitter_us: Option<u32>,
    /// Line times, ns, each in 1000..=100000: a range LO..HI to draw from, or a
    /// list A,B,C of at most one per camera (cycled when shorter).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_lines)]
    line_ns: Option<LineTimes>,
    /// When the server starts, ms, 0..=600000 (clients start before it: at least the --client-lead-ms maximum).
    #[arg(long, value_parser = num(l::START_MS))]
    server_start_ms: Option<u64>,
    /// Clients start this long before the server, ms, each in 0..=600000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::START_MS))]
    client_lead_ms: Option<(u64, u64)>,
    /// From start() to the first frame, ms, each in 0..=10000.
    #[arg(long, value_name = "LO..HI", allow_hyphen_values = true, value_parser = span(l::STARTUP_MS))]
    startup_ms: Option<(u64, u64)>,
    /// The last client starts this long after the server, ms, 0..=600000 (before the run ends).
    #[arg(long, value_parser = num(l::START_MS))]
    late_start_ms: Option<u64>,
    /// The server stops after this frame and restarts, 1..=1000000 (below --frames).
    #[arg(long, value_parser = num(l::FRAMES))]
    restart_after_frame: Option<u64>,
    /// Gap before the server restarts, ms, 0..=600000.
    #[arg(long, value_parser = num(l::START_MS))]
    restart_gap_ms: Option<u64>,
    /// The first client's wall clock steps at this frame, 1..=1000000 (below --frames).
    #[arg(long, value_parser = num(l::FRAMES))]
    wall_step_frame: Option<u64>,
    /// Size of the wall-clock step, µs, -1000000..=1000000.
    #[arg(long, value_parser = num(l::WALL_STEP_US))]
    wall_step_us: Option<i64>,
    /// Frames between server packets, 1..=10000.
    #[arg(long, value_parser = num(l::SYNC_PERIOD))]
    sync_period: Option<u32>,
    /// Frames until ready (rpi::SyncFrames), 1..=1000000.
    #[arg(long, value_parser = num(l::READY_FRAME))]
    ready_frame: Option<u32>,
    /// Client dead band, µs, 0..=1000000.
    #[arg(long, value_parser = num(l::MIN_ADJUSTMENT_US))]
    min_adjustment_us: Option<u32>,
}

const EXIT_HELP: &str = "Exit status: 0 every client of every profile reached SyncReady; 1 a \
    client never did; 2 usage error (bad flag or value, unwritable plot). Errors go to stderr.";

fn parse_lines(s: &str) -> Result<LineTimes, String> {
    if s.contains("..") {
        let (a, b) = span(l::LINE_NS)(s)?;
        return Ok(LineTimes::Range(a, b));
    }
    let one = num(l::LINE_NS);
    let v = s.split(',').map(&one).collect::<Result<Vec<_>, _>>()?;
    Ok(LineTimes::List(v))
}

/// The flag of each `ScenarioParams` field (for messages).
fn flag_of(field: &str) -> String {
    let f = match field {
        "frame_duration_us" => "frame_us",
        "packet_loss_ppm" => "loss_ppm",
        "frame_drop_ppm" => "drop_ppm",
        f => f,
    };
    format!("--{}", f.replace('_', "-"))
}

impl Args {
    fn params(&self) -> ScenarioParams {
        let mut p = ScenarioParams::preset(&self.scenario).unwrap_or_else(|| {
            // clap only lets PRESETS through.
            unreachable!("unknown scenario {}", self.scenario)
        });
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
            wall_slew_ppm <- wall_slew_ppm, wall_slew_period_ms <- wall_slew_period_ms,
            jitter_us <- jitter_us,
            server_start_ms <- server_start_ms, client_lead_ms <- client_lead_ms,
            startup_ms <- startup_ms, restart_gap_ms <- restart_gap_ms,
            wall_step_us <- wall_step_us, sync_period <- sync_period,
            ready_frame <- ready_frame, min_adjustment_us <- min_adjustment_us,
            clock_error_bound_us <- clock_error_bound_us,
        );
        if !self.unsynced_hosts.is_empty() {
            p.unsynced_hosts = self.unsynced_hosts.clone();
        }
        if self.mode_min_frame_us.is_some() {
            p.mode_min_frame_us = self.mode_min_frame_us;
        }
        if self.late_start_ms.is_some() {
            p.late_start_ms = self.late_start_ms;
        }
        if self.restart_after_frame.is_some() {
            p.restart_after_frame = self.restart_after_frame;
        }
        if let Some(m) = self.schedule.as_deref().and_then(ScheduleMode::from_name) {
            p.schedule = m;
        }
        if self.start_at_ms.is_some() {
            p.start_at_ms = self.start_at_ms;
        }
        if self.wall_step_frame.is_some() {
            p.wall_step_frame = self.wall_step_frame;
        }
        p
    }

    /// Whether the user set the flag of this `ScenarioParams` field.
    fn given(&self, field: &str) -> bool {
        match field {
            "clients" => self.clients.is_some(),
            "frames" => self.frames.is_some(),
            "frame_duration_us" => self.frame_us.is_some(),
            "mode_min_frame_us" => self.mode_min_frame_us.is_some(),
            "line_ns" => self.line_ns.is_some(),
            "hosts" => self.hosts.is_some(),
            "server_start_ms" => self.server_start_ms.is_some(),
            "late_start_ms" => self.late_start_ms.is_some(),
            "restart_after_frame" => self.restart_after_frame.is_some(),
            "wall_step_frame" => self.wall_step_frame.is_some(),
            "unsynced_hosts" => !self.unsynced_hosts.is_empty(),
            // Every other field is range-checked by its flag's parser: a
            // failure there can only be the preset's value.
            _ => false,
        }
    }

    /// "scenario NAME", and the flags that changed the preset, if any.
    fn title(&self, p: &ScenarioParams) -> String {
        let preset = ScenarioParams::preset(&self.scenario).map(|p| serde_json::to_value(&p));
        let now = serde_json::to_value(p);
        let changed: Vec<String> = match (preset, now) {
            (Some(Ok(serde_json::Value::Object(a))), Ok(serde_json::Value::Object(b))) => a
                .iter()
                .filter(|(k, v)| b.get(k.as_str()) != Some(v))
                .map(|(k, _)| flag_of(k))
                .collect(),
            _ => Vec::new(),
        };
        if changed.is_empty() {
            format!("scenario {}", self.scenario)
        } else {
            format!(
                "scenario {} changed by {}",
                self.scenario,
                changed.join(" ")
            )
        }
    }

    /// The parameters, refused (naming the flag) if they cannot work.
    fn checked_params(&self) -> Result<ScenarioParams, Failure> {
        let p = self.params();
        p.validate().map_err(|e| {
            let flag = flag_of(e.field);
            if self.given(e.field) {
                exit::invalid(&flag, e.value, e.reason)
            } else {
                exit::usage(format!(
                    "invalid value '{}' for '{flag}' (the {} scenario's value): {}",
                    e.value, self.scenario, e.reason
                ))
            }
        })?;
        Ok(p)
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "never".to_string(), |v| v.to_string())
}

fn f3(v: f64) -> String {
    format!("{v:.1}")
}

fn stats(a: &sim::ErrorStats) -> String {
    format!(
        "{} / {} / {} / {}",
        f3(a.p50_us),
        f3(a.p95_us),
        f3(a.p99_us),
        f3(a.max_us)
    )
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
            format!("{name} lock after 1st packet: frames / packets"),
            col(&|p| {
                let c = cl(p);
                format!(
                    "{} / {}",
                    opt(c.lock_after_first_packet),
                    opt(c.packets_to_lock)
                )
            }),
        );
        if c.frames_to_relock.is_some()
            || r.profiles
                .iter()
                .any(|p| p.clients[i].frames_to_relock.is_some())
        {
            t.row(
                format!("{name} relock after fault: frames / packets"),
                col(&|p| {
                    let c = cl(p);
                    format!("{} / {}", opt(c.frames_to_relock), opt(c.packets_to_relock))
                }),
            );
        }
        t.row(
            format!("{name} adjustments issued (max µs)"),
            col(&|p| {
                let c = cl(p);
                format!("{} ({})", c.adjustments_issued, c.max_adjustment_us)
            }),
        );
        t.row(
            format!("{name} phase error p50/p95/p99/max µs"),
            col(&|p| stats(&cl(p).alignment)),
        );
        if c.host != 0 || r.cameras.iter().any(|x| x.host != r.cameras[0].host) {
            t.row(
                format!("{name} |Δwall| vs server, µs"),
                col(&|p| format!("{:.1}", cl(p).wall_offset_vs_server_us.abs())),
            );
            t.row(
                format!("{name} beyond |Δwall| p50/p95/p99/max µs"),
                col(&|p| stats(&cl(p).beyond_wall)),
            );
        }
        t.row(
            format!("{name} ready frames out by > 1 line"),
            col(&|p| cl(p).ready_out_of_tolerance.to_string()),
        );
    }
    t.row(
        "cameras that warned of their host clock".to_string(),
        col(&|p| {
            let warned: Vec<&str> = std::iter::once((&p.server.camera, p.server.clock_warnings))
                .chain(p.clients.iter().map(|c| (&c.camera, c.clock_warnings)))
                .filter(|c| c.1 > 0)
                .map(|c| c.0.as_str())
                .collect();
            if warned.is_empty() {
                "none".to_string()
            } else {
                warned.join(" ")
            }
        }),
    );
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
        col(&|p| stats(&p.overall.alignment)),
    );
    t
}

pub fn run(args: &Args) -> Outcome {
    let params = args.checked_params()?;
    let profiles: &[Profile] = if args.profile.is_empty() {
        Profile::ALL
    } else {
        &args.profile
    };
    let rigs: Vec<Rig> = profiles
        .iter()
        .map(|&client| Rig {
            server: args.server_profile.unwrap_or(client),
            client,
        })
        .collect();
    let report = sim::simulate_rigs(&params, &rigs);
    if args.json {
        let s = serde_json::to_string(&report).map_err(|e| exit::usage(e.to_string()))?;
        println!("{s}");
    } else {
        println!("{} (seed {})", args.title(&params), report.seed);
        println!("  {}", report.summary);
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
        for h in &report.hosts {
            let k = &h.kernel;
            println!(
                "  host {} wall clock: kernel says {}; true error {:+.1} µs",
                h.host,
                if k.synchronised {
                    format!("synchronised, estimated error {} µs", k.est_error_us)
                } else {
                    "UNSYNCHRONISED".to_string()
                },
                h.wall_error_us
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
            "{}: 1 server + {} client(s), {} frames, seed {}: phase error vs. server",
            args.title(&params),
            params.clients,
            params.frames,
            params.seed
        );
        plot::lines(path, &title, "true time (s)", "phase error (µs)", &series)
            .map_err(|e| exit::usage(format!("cannot write {}: {e}", path.display())))?;
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    let never: Vec<String> = report
        .profiles
        .iter()
        .flat_map(|p| {
            p.clients
                .iter()
                .filter(|c| c.frames_to_ready.is_none())
                .map(move |c| format!("{} ({})", c.camera, p.profile))
        })
        .collect();
    exit::all_ready(&never, "")
}
