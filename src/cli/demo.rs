//! `camsync demo`: one server and N clients in one process, each a simulated
//! camera in real time driving the real core and real UDP multicast on the
//! loopback interface.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use camsync::core::{
    CameraControls, Completion, Controls, HookOutput, Layer, LayerParams, Mode, Profile, WireFormat,
};
use camsync::net::{NetConfig, Transport, resolve_interface};
use camsync::sim::ErrorStats;
use camsync::sim::rng::Rng;
use camsync::sim::sensor::{Sensor, SensorParams};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use camsync::plugin::SystemClock;

use crate::args::{parse_format, parse_profile};
use crate::plot;
use crate::sys;
use crate::table::Table;

/// Live demo: one server and N simulated cameras over real loopback multicast.
///
/// One server and N clients in this process, each a simulated
/// camera (its own line time, whole-line frame length, sensor clock error in
/// ppm, a two-frame control latency, µs start-of-frame timestamps) running in
/// real time and driving the real sync layer: the core plus real UDP
/// multicast. Traffic stays on this machine: every socket uses a loopback
/// interface (IP_MULTICAST_IF), and TTL 0.
///
/// Phase error = a client's start of frame minus the nearest server start of
/// frame (all cameras share this host's clock). Locked = |error| below one
/// line time; the table gives the share of frames locked from SyncReady on. Ends with a table and an SVG plot; exits non-zero if a client
/// never reports SyncReady.
///
/// Examples:
///   camsync demo
///   camsync demo --clients 64 --duration 20 --no-plot
///   camsync demo --port 10010 --json --plot /tmp/demo.svg
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Client cameras (plus one server).
    #[arg(long, default_value_t = 3)]
    clients: usize,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Frame rate of every camera.
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Multicast group.
    #[arg(long, default_value_t = camsync::net::DEFAULT_GROUP)]
    group: Ipv4Addr,
    /// UDP port.
    #[arg(long, default_value_t = camsync::net::DEFAULT_PORT)]
    port: u16,
    /// Interface (a loopback address or name): the demo's traffic never leaves this machine.
    #[arg(long, default_value = "127.0.0.1")]
    interface: String,
    /// Wire format the server sends.
    #[arg(long, default_value = "layer", value_parser = parse_format)]
    wire_format: WireFormat,
    /// Frames until SyncReady (rpi::SyncFrames).
    #[arg(long, default_value_t = 100)]
    ready_frame: u32,
    /// Frames between server packets.
    #[arg(long, default_value_t = 30)]
    sync_period: u32,
    /// Sensor clock error magnitude, ppm, drawn per camera (random sign): LO..HI.
    #[arg(long, default_value = "5..30", value_parser = parse_ppm)]
    sensor_ppm: (f64, f64),
    /// Seed of the camera draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The core's profile.
    #[arg(long, default_value = "compat", value_parser = parse_profile)]
    profile: Profile,
    /// Where to write the SVG plot of phase error over time.
    #[arg(long, default_value = "camsync-demo.svg")]
    plot: PathBuf,
    /// Do not write a plot.
    #[arg(long)]
    no_plot: bool,
    /// Print the results as JSON (no progress display).
    #[arg(long)]
    json: bool,
}

fn parse_ppm(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let a: f64 = a.trim().parse().map_err(|e| format!("'{a}': {e}"))?;
    let b: f64 = b.trim().parse().map_err(|e| format!("'{b}': {e}"))?;
    if !(a >= 0.0 && a <= b) {
        return Err(format!("need 0 <= LO <= HI, got {a}..{b}"));
    }
    Ok((a, b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Start(usize),
    Frame(usize),
    Complete {
        cam: usize,
        frame: u64,
        sensor_ts: i64,
    },
    Tick,
}

struct Cam {
    name: String,
    mode: Mode,
    layer: Layer,
    transport: Transport,
    params: SensorParams,
    sensor: Option<Sensor>,
    start_at: i64,
    first_sof: Option<i64>,
    last_completion: i64,
    rng: Rng,
    completed: u64,
    adjustments: u64,
    /// (frame, boot ns of its completion) of the first SyncReady.
    ready: Option<(u64, i64)>,
    /// (frame, true SOF, phase error ns) of every frame while the server streams.
    errors: Vec<(u64, i64, i64)>,
    last_error: Option<i64>,
}

/// Per-camera results.
#[derive(Serialize)]
struct CamReport {
    camera: String,
    role: &'static str,
    line_ns: u64,
    frame_lines: u64,
    sensor_ppm: f64,
    /// Seconds from the camera's start() to the completion reporting SyncReady.
    ready_after_s: Option<f64>,
    ready_frame: Option<u64>,
    /// Phase error of frames from the first SyncReady frame on (clients).
    alignment: Option<ErrorStats>,
    /// |error| < one line on the last frame.
    locked: Option<bool>,
    /// Share of the frames from SyncReady on with |error| < one line, %.
    locked_pct: Option<f64>,
    adjustments_issued: u64,
    packets_read: u64,
    packets_rejected: u64,
}

#[derive(Serialize)]
struct Report {
    profile: &'static str,
    group: String,
    port: u16,
    interface: String,
    duration_s: f64,
    frame_duration_us: i64,
    cameras: Vec<CamReport>,
    all_clients_ready: bool,
    client_frames: u64,
    cpu_s: f64,
    cpu_us_per_client_frame: f64,
    interrupted: bool,
}

fn send_or_warn(cam: &mut Cam, out: HookOutput) -> Result<(), String> {
    if let Some(action) = out.socket {
        cam.transport
            .apply(action, cam.layer.interface())
            .map_err(|e| format!("{}: {e}", cam.name))?;
    }
    Ok(())
}

pub fn run(args: &Args) -> ExitCode {
    match demo(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo(args: &Args) -> Result<ExitCode, String> {
    if !(args.fps > 0.5 && args.fps <= 1000.0) {
        return Err("--fps must be in (0.5, 1000]".into());
    }
    if args.duration.is_nan() || args.duration <= 0.0 {
        return Err("--duration must be > 0".into());
    }
    let ifaddr = resolve_interface(&args.interface).map_err(|e| e.to_string())?;
    if !ifaddr.is_loopback() {
        return Err(format!(
            "--interface {} ({ifaddr}) is not a loopback interface: the demo keeps its traffic on this machine",
            args.interface
        ));
    }
    if !args.group.is_multicast() {
        return Err(format!("--group {} is not a multicast address", args.group));
    }
    sys::catch_sigint();
    let frame_us = (1e6 / args.fps).round() as i64;
    let frame_ns = frame_us * 1000;
    let net = NetConfig {
        group: args.group,
        port: args.port,
        interface: Some(ifaddr.to_string()),
        // Loopback delivery to this host only; TTL 0 forbids any hop.
        ttl: 0,
        loopback: true,
        wire_format: args.wire_format,
        ..NetConfig::default()
    };
    let layer_params = LayerParams {
        sync_period: args.sync_period.max(1),
        ready_frame: args.ready_frame.max(1),
        ..LayerParams::default()
    };
    let mut setup = Rng::stream(args.seed, "demo/setup");
    let t0 = sys::boot_ns();
    let server_start = t0 + 1_000_000_000;
    let mut cams: Vec<Cam> = (0..=args.clients)
        .map(|i| {
            let line_ns = setup.range_u64(15_000, 30_000);
            let ppb = setup.signed_magnitude(
                (args.sensor_ppm.0 * 1000.0) as i64,
                (args.sensor_ppm.1 * 1000.0) as i64,
            );
            let lead = setup.range_i64(0, 900_000_000);
            let mode = if i == 0 { Mode::Server } else { Mode::Client };
            let mut layer = Layer::new(layer_params, args.profile);
            layer.controls(&CameraControls {
                sync_adjustment_limits_us: Some([-(frame_us / 2) as i32, (frame_us / 2) as i32]),
                frame_duration_limits_us: Some([frame_us, frame_us]),
            });
            Cam {
                name: format!("cam{i}"),
                mode,
                layer,
                transport: Transport::new(net.clone()),
                params: SensorParams::new(line_ns, frame_ns as u64, ppb, 2),
                sensor: None,
                start_at: if i == 0 {
                    server_start
                } else {
                    server_start - lead
                },
                first_sof: None,
                last_completion: 0,
                rng: Rng::stream(args.seed, &format!("demo/latency/cam{i}")),
                completed: 0,
                adjustments: 0,
                ready: None,
                errors: Vec::new(),
                last_error: None,
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

    let expected_frames = ((end - server_start).max(0) / frame_ns) as u64;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(expected_frames), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{elapsed:>3} [{bar:30}] {pos}/{len} server frames  {msg}",
            )
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        b
    };
    // The clocks the plugin reads for this profile.
    let mut clock = SystemClock::for_profile(args.profile);
    let cpu0 = sys::process_cpu_ns();
    // The server's last and next start of frame, for live phase errors.
    let mut server_sof: Option<(i64, i64)> = None;
    let mut interrupted = false;

    while let Some(Reverse((t, _, ev))) = heap.pop() {
        if t > end {
            break;
        }
        let now = sys::boot_ns();
        if t > now {
            std::thread::sleep(Duration::from_nanos((t - now) as u64));
        }
        if sys::interrupted() {
            interrupted = true;
            break;
        }
        match ev {
            Ev::Tick => {
                bar.set_message(status(&cams));
                if server_sof.is_some() {
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
                let out = c.layer.start(&controls, &mut clock);
                send_or_warn(c, out)?;
                let startup = c.rng.range_i64(30_000_000, 80_000_000);
                let s0 = sys::boot_ns() + startup;
                c.sensor = Some(Sensor::new(c.params, s0));
                for _ in 0..4 {
                    queue(c)?;
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
                if c.mode == Mode::Server {
                    server_sof = Some((f.sof_ns, f.next_sof_ns));
                } else if let Some((last, next)) = server_sof {
                    let (a, b) = (f.sof_ns - last, f.sof_ns - next);
                    let e = if a.abs() <= b.abs() { a } else { b };
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
                        sensor_ts,
                    },
                );
                push(&mut heap, f.next_sof_ns, Ev::Frame(i));
            }
            Ev::Complete {
                cam,
                frame,
                sensor_ts,
            } => {
                let c = &mut cams[cam];
                let completion = Completion {
                    sensor_timestamp_ns: Some(sensor_ts),
                    cancelled: false,
                };
                let out = {
                    let mut packets = c.transport.packets();
                    c.layer
                        .request_completed(&completion, &mut clock, &mut packets)
                };
                c.completed += 1;
                if out.sync_ready == Some(true) && c.ready.is_none() {
                    c.ready = Some((frame, sys::boot_ns()));
                }
                if let Some(p) = out.tx
                    && let Err(e) = c.transport.send(&p)
                {
                    tracing::warn!("{}: {e}", c.name);
                }
                queue(c)?;
            }
        }
    }
    for c in &mut cams {
        if let Some(action) = c.layer.stop() {
            let _ = c.transport.apply(action, None);
        }
    }
    bar.finish_and_clear();
    let cpu_ns = sys::process_cpu_ns().saturating_sub(cpu0);
    interrupted |= sys::interrupted();

    let client_frames: u64 = cams[1..].iter().map(|c| c.completed).sum();
    let reports: Vec<CamReport> = cams.iter().map(cam_report).collect();
    let all_ready = reports[1..].iter().all(|r| r.ready_after_s.is_some());
    let report = Report {
        profile: args.profile.name(),
        group: args.group.to_string(),
        port: args.port,
        interface: ifaddr.to_string(),
        duration_s: args.duration,
        frame_duration_us: frame_us,
        cameras: reports,
        all_clients_ready: all_ready,
        client_frames,
        cpu_s: cpu_ns as f64 / 1e9,
        cpu_us_per_client_frame: if client_frames > 0 {
            cpu_ns as f64 / 1000.0 / client_frames as f64
        } else {
            0.0
        },
        interrupted,
    };
    if !args.no_plot {
        write_plot(&args.plot, &cams, t0)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_report(&report);
        if !args.no_plot {
            println!("plot written to {}", args.plot.display());
        }
    }
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        if !args.json {
            eprintln!("error: a client never reached SyncReady");
        }
        ExitCode::FAILURE
    })
}

/// Queue one request (fresh controls); a client's SyncAdjustment goes to its sensor.
fn queue(c: &mut Cam) -> Result<(), String> {
    let out = c.layer.queue_request(&Controls::default());
    if let Some(a) = out.sync_adjustment_us {
        if a != 0 {
            c.adjustments += 1;
        }
        if let Some(s) = c.sensor.as_mut() {
            s.request_adjustment(sys::boot_ns(), a);
        }
    }
    send_or_warn(c, out)
}

fn status(cams: &[Cam]) -> String {
    let clients = &cams[1..];
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
        for c in clients {
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

fn cam_report(c: &Cam) -> CamReport {
    let client = c.mode == Mode::Client;
    let after: Vec<i64> = match c.ready {
        Some((f, _)) => c.errors.iter().filter(|e| e.0 >= f).map(|e| e.2).collect(),
        None => Vec::new(),
    };
    let rx = c.transport.rx_stats();
    CamReport {
        camera: c.name.clone(),
        role: c.mode.name(),
        line_ns: c.params.line_ns,
        frame_lines: c.params.frame_lines,
        sensor_ppm: c.params.sensor_ppb as f64 / 1000.0,
        ready_after_s: c.ready.map(|(_, t)| (t - c.start_at) as f64 / 1e9),
        ready_frame: c.ready.map(|(f, _)| f),
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
    }
}

fn print_report(r: &Report) {
    println!(
        "camsync demo: 1 server + {} clients, {:.0} fps, {}:{} on {}, profile {}, {:.1} s{}",
        r.cameras.len() - 1,
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
            "SyncReady after",
            "p50 µs",
            "p99 µs",
            "max µs",
            "locked %",
        ]
        .map(String::from),
    );
    for c in &r.cameras {
        let ready = match (c.ready_after_s, c.ready_frame) {
            (Some(s), Some(f)) => format!("{s:.2} s (frame {f})"),
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
                c.role.into(),
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
    println!(
        "all clients ready: {}; CPU {:.3} s for {} client frames = {:.1} µs per client-frame",
        if r.all_clients_ready { "yes" } else { "NO" },
        r.cpu_s,
        r.client_frames,
        r.cpu_us_per_client_frame
    );
}

fn write_plot(path: &std::path::Path, cams: &[Cam], t0: i64) -> Result<(), String> {
    // At most 8 clients are drawn, so the plot stays readable.
    let series: Vec<plot::Series> = cams[1..]
        .iter()
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
