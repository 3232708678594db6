// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync align`: check recorded frame metadata for alignment, offline.

use std::path::PathBuf;

use camsync::align::{self, Recording, Report};

use crate::args;
use crate::exit::{self, Outcome};
use crate::plot;
use crate::table::Table;

/// Check recorded frame metadata: did the cameras capture the same instants?
///
/// Reads one file of per-frame metadata per camera, as written by
/// `rpicam-vid --metadata FILE --metadata-format json` (lenient: rpicam
/// leaves strings unquoted) or `--metadata-format txt`, by `cam --metadata`
/// (its standard output), or a CSV with a `frame_wall_clock_ns` (or
/// `FrameWallClock`) column and optional `sequence`, `sensor_timestamp_ns`,
/// `sync_ready`, `sync_adjustment_us` columns.
///
/// Frames are grouped across cameras by FrameWallClock (within half the
/// server's frame period: the server is the one recording without
/// SyncAdjustment, else the first file is taken). Reports the skew of each
/// group (latest minus earliest wall clock: p50/p95/p99/max), frames without
/// a partner, dropped frames (sequence or timestamp gaps), and whether frame
/// N is the same instant on every camera from the first SyncReady frame.
///
/// Examples:
///   camsync align cam0.json cam1.json
///   camsync align --plot skew.svg left.txt right.csv
///   camsync align --json a.json b.json c.json
#[derive(clap::Args)]
#[command(verbatim_doc_comment, after_help = EXIT_HELP)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write an SVG: group skew over time, and its histogram (checked before reading).
    #[arg(long, value_name = "FILE.svg", value_parser = args::writable_file)]
    plot: Option<PathBuf>,
    /// One metadata file per camera, at least two; `-` reads one of them from stdin.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
}

const EXIT_HELP: &str = "Exit status: 0 every camera reports SyncReady and from the first \
    SyncReady frame N is the same instant on every camera; 1 not (or it cannot be: no overlap, \
    different frame rates, no SyncReady); 2 usage error (fewer than two files, a file given \
    twice, unreadable or unrecognised, no frames). Errors go to stderr.";

pub fn run(args: &Args) -> Outcome {
    if args.files.len() < 2 {
        return Err(exit::usage(format!(
            "align compares cameras: give at least two metadata files (got {})",
            args.files.len()
        )));
    }
    let recs = read_all(&args.files)?;
    let report = align::analyse(&recs);
    if args.json {
        let s = serde_json::to_string(&report).map_err(|e| exit::usage(e.to_string()))?;
        println!("{s}");
    } else {
        print_report(&report);
    }
    if let Some(path) = &args.plot {
        let series = [plot::Series {
            name: String::new(),
            points: report.series.clone(),
        }];
        let values: Vec<f64> = report.series.iter().map(|p| p.1).collect();
        plot::lines_and_histogram(
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
        )
        .map_err(|e| exit::usage(format!("cannot write {}: {e}", path.display())))?;
        if !args.json {
            println!("plot written to {}", path.display());
        }
    }
    if report.aligned {
        Ok(())
    } else {
        Err(exit::check(
            report
                .verdict
                .strip_prefix("NO: ")
                .unwrap_or(&report.verdict),
        ))
    }
}

/// Read and parse every file (`-`: standard input, once). Refuses a file
/// given twice, two files holding the same frames, and a file without a
/// frame that can be grouped: none of them can say anything about alignment.
fn read_all(files: &[PathBuf]) -> Result<Vec<Recording>, exit::Failure> {
    use std::os::unix::fs::MetadataExt;
    let mut seen: Vec<(u64, u64, String)> = Vec::new();
    let mut recs: Vec<Recording> = Vec::new();
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(exit::usage("'-' (stdin) given twice"));
    }
    for path in files {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "stdin".to_string()
        } else {
            path.display().to_string()
        };
        let fail = |e: &dyn std::fmt::Display| exit::usage(format!("{name}: {e}"));
        let text = if stdin {
            std::io::read_to_string(std::io::stdin()).map_err(|e| fail(&e))?
        } else {
            let md = std::fs::metadata(path).map_err(|e| fail(&e))?;
            if let Some((_, _, first)) = seen.iter().find(|s| (s.0, s.1) == (md.dev(), md.ino())) {
                return Err(exit::usage(format!(
                    "{name}: the same file as {first}: give each camera's recording once"
                )));
            }
            seen.push((md.dev(), md.ino(), name.clone()));
            std::fs::read_to_string(path).map_err(|e| fail(&e))?
        };
        let r = align::parse::parse(&name, &text).map_err(|e| fail(&e))?;
        if !r.frames.iter().any(|f| f.wall_ns.is_some()) {
            return Err(fail(&format!(
                "{} frame(s), none with a FrameWallClock: nothing to align",
                r.frames.len()
            )));
        }
        if let Some(twin) = recs.iter().find(|o| o.frames == r.frames) {
            return Err(exit::usage(format!(
                "{name} holds exactly the frames of {}: the same recording twice?",
                twin.name
            )));
        }
        for w in &r.warnings {
            eprintln!("warning: {name}: {w}");
        }
        recs.push(r);
    }
    Ok(recs)
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
        "frame groups: {} ({} with every camera), period {:.1} µs ({}, {})",
        r.groups,
        r.complete_groups,
        r.period_us,
        r.reference,
        if r.reference_is_server {
            "the server: the only one without SyncAdjustment"
        } else {
            "the first file"
        }
    );
    let skew = |s: Option<align::SkewStats>, groups: bool| {
        s.map_or_else(
            || "none: no frame group has every camera".to_string(),
            |s| {
                let n = if groups {
                    format!(" ({} groups)", s.groups)
                } else {
                    String::new()
                };
                format!(
                    "p50 {:.1} µs  p95 {:.1} µs  p99 {:.1} µs  max {:.1} µs{n}",
                    s.p50_us, s.p95_us, s.p99_us, s.max_us
                )
            },
        )
    };
    println!("skew, all groups:          {}", skew(r.skew, false));
    if r.numbering.checked {
        println!(
            "skew, from SyncReady on:   {}",
            skew(r.skew_after_ready, true)
        );
    }
    println!("frame N the same instant on every camera: {}", r.verdict);
    if let Some(m) = r
        .numbering
        .first_mismatch
        .as_ref()
        .filter(|_| r.verdict == r.numbering.verdict)
    {
        println!("  first mismatch, frame number per camera: {m:?}");
    }
}
