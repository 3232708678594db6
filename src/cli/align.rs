//! `camsync align`: check recorded frame metadata for alignment, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use camsync::align::{self, Recording, Report};

use crate::plot;
use crate::table::Table;

/// Check recorded frame metadata: did the cameras capture the same instants?
///
/// Reads one file of per-frame metadata per camera, as written by
/// `rpicam-vid --metadata FILE --metadata-format json` (lenient: rpicam
/// leaves strings unquoted) or `--metadata-format txt`, by `cam --metadata`
/// (its standard output), or a CSV with a `frame_wall_clock_ns` (or
/// `FrameWallClock`) column and optional `sequence`, `sensor_timestamp_ns`,
/// `sync_ready` columns.
///
/// Frames are grouped across cameras by FrameWallClock (within half a frame
/// period). Reports the skew of each group (latest minus earliest wall
/// clock: p50/p99/max), frames without a partner, dropped frames (sequence or
/// timestamp gaps), and whether frame N is the same instant on every camera
/// from the first SyncReady frame.
///
/// Exit status: 0 aligned (or not checkable), 1 a file could not be read,
/// 2 frame numbering differs between cameras after SyncReady.
///
/// Examples:
///   camsync align cam0.json cam1.json
///   camsync align --plot skew.svg left.txt right.csv
///   camsync align --json a.json b.json c.json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write an SVG: group skew over time, and its histogram.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// One metadata file per camera.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    let mut recs: Vec<Recording> = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {name}: {e}");
                return ExitCode::from(1);
            }
        };
        match align::parse::parse(&name, &text) {
            Ok(r) => {
                for w in &r.warnings {
                    eprintln!("warning: {name}: {w}");
                }
                recs.push(r);
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let report = align::analyse(&recs);
    if args.json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print_report(&report);
    }
    if let Some(path) = &args.plot {
        let series = [plot::Series {
            name: String::new(),
            points: report.series.clone(),
        }];
        let values: Vec<f64> = report.series.iter().map(|p| p.1).collect();
        let r = plot::lines_and_histogram(
            path,
            &plot::LinePlot {
                title: "camsync align: frame group skew",
                x_label: "time since the first group (s)",
                y_label: "skew (µs)",
                series: &series,
            },
            &plot::Histogram {
                title: "skew histogram",
                x_label: "skew (µs)",
                values: &values,
                bins: 40,
            },
        );
        if let Err(e) = r {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    if report.numbering.checked && report.numbering.verdict.starts_with("NO") {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_report(r: &Report) {
    let mut t = Table::new(
        "camera",
        [
            "format",
            "frames",
            "period µs",
            "dropped",
            "no partner",
            "first SyncReady",
        ]
        .map(String::from),
    );
    for c in &r.cameras {
        t.row(
            c.name.clone(),
            vec![
                c.format.name().to_string(),
                c.frames.to_string(),
                format!("{:.1}", c.period_us),
                format!("{} ({})", c.dropped, c.drops_from),
                c.without_partner.to_string(),
                c.first_ready_index
                    .map_or_else(|| "never".into(), |i| format!("frame #{i}")),
            ],
        );
    }
    print!("{t}");
    println!(
        "frame groups: {} ({} with every camera), period {:.1} µs",
        r.groups, r.complete_groups, r.period_us
    );
    let s = r.skew;
    println!(
        "skew, all groups:          p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs",
        s.p50_us, s.p99_us, s.max_us
    );
    if let Some(s) = r.skew_after_ready {
        println!(
            "skew, from SyncReady on:   p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs ({} groups)",
            s.p50_us, s.p99_us, s.max_us, s.groups
        );
    }
    println!(
        "frame N the same instant on every camera: {}",
        r.numbering.verdict
    );
    if let Some(m) = &r.numbering.first_mismatch {
        println!("  first mismatch, frame number per camera: {m:?}");
    }
}
