// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync align` on the fixture files of tests/fixtures/align (written by
//! generate.py there, which documents the numbers asserted here).

use std::path::PathBuf;
use std::process::Command;

use camsync::align::{self, Format};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/align")
        .join(name)
}

const FILES: [&str; 4] = ["cam0.json", "cam1.txt", "cam2.cam", "cam3.csv"];

fn read(names: &[&str]) -> Vec<align::Recording> {
    names
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(fixture(n)).unwrap();
            align::parse::parse(n, &text).unwrap()
        })
        .collect()
}

/// The skews of the complete groups from the ready frame on, ns, sorted,
/// computed from generate.py's model: camera c's frame k is offset by
/// BASE[c] + ((7k + 3c) mod 23) µs (cam1 5 ms more before frame 15); every
/// camera is ready from frame 20; cam1 drops frame 40, cam2 frame 55.
fn after_ready_skews() -> Vec<i64> {
    const BASE: [i64; 4] = [0, 40_000, -30_000, 10_000];
    let offset = |c: i64, k: i64| {
        BASE[c as usize]
            + ((k * 7 + 3 * c) % 23) * 1000
            + if c == 1 && k < 15 { 5_000_000 } else { 0 }
    };
    let mut v: Vec<i64> = (20..90)
        .filter(|&k| k != 40 && k != 55)
        .map(|k| {
            let o: Vec<i64> = (0..4).map(|c| offset(c, k)).collect();
            o.iter().max().unwrap() - o.iter().min().unwrap()
        })
        .collect();
    v.sort_unstable();
    v
}

/// The nearest-rank `p`-th percentile of sorted values, in µs.
fn percentile_us(v: &[i64], p: f64) -> f64 {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
}

#[test]
fn every_format_is_read_without_losing_a_frame() {
    let recs = read(&FILES);
    let formats: Vec<Format> = recs.iter().map(|r| r.format).collect();
    assert_eq!(
        formats,
        [
            Format::RpicamJson,
            Format::RpicamTxt,
            Format::Cam,
            Format::Csv
        ]
    );
    let frames: Vec<usize> = recs.iter().map(|r| r.frames.len()).collect();
    assert_eq!(frames, [90, 89, 89, 90]);
    assert!(
        recs.iter()
            .flat_map(|r| &r.frames)
            .all(|f| f.wall_ns.is_some())
    );
    // rpicam's unquoted strings are read, with one warning.
    assert_eq!(recs[0].warnings.len(), 1);
    assert!(
        recs[0].warnings[0].contains("90 unquoted"),
        "{:?}",
        recs[0].warnings
    );
    assert_eq!(recs[2].frames[0].sequence, Some(2));
}

#[test]
fn groups_skew_drops_and_numbering() {
    let r = align::analyse(&read(&FILES));
    assert_eq!((r.groups, r.complete_groups), (90, 88));
    // Before SyncReady cam1 is 5 ms late; afterwards offsets are within 90 µs.
    let skew = r.skew.unwrap();
    assert_eq!(
        (skew.p50_us, skew.p99_us, skew.max_us),
        (67.0, 5090.0, 5090.0)
    );
    let after = r.skew_after_ready.unwrap();
    assert_eq!(
        (after.groups, after.p50_us, after.p99_us, after.max_us),
        (68, 67.0, 90.0, 90.0)
    );
    let v = after_ready_skews();
    assert_eq!(
        (after.groups, after.p50_us, after.p95_us, after.p99_us),
        (
            v.len(),
            percentile_us(&v, 50.0),
            percentile_us(&v, 95.0),
            percentile_us(&v, 99.0)
        )
    );
    // No recording is told apart as the server (none has SyncAdjustment):
    // the first file's period groups the frames.
    assert_eq!(
        (r.reference.as_str(), r.reference_is_server),
        ("cam0.json", false)
    );
    let dropped: Vec<(u64, &str)> = r
        .cameras
        .iter()
        .map(|c| (c.dropped, c.drops_from))
        .collect();
    assert_eq!(
        dropped,
        [
            (0, "timestamp"),
            (1, "timestamp"),
            (1, "sequence"),
            (0, "sequence")
        ]
    );
    let lonely: Vec<usize> = r.cameras.iter().map(|c| c.without_partner).collect();
    assert_eq!(lonely, [2, 1, 1, 2]);
    assert!(r.numbering.ready_frames_aligned);
    assert_eq!(
        (r.numbering.groups_checked, r.numbering.mismatched_groups),
        (68, 0)
    );
    assert!(r.aligned);
}

#[test]
fn cli_reports_and_plots() {
    let svg = std::env::temp_dir().join(format!("camsync-align-{}.svg", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .arg("align")
        .args(FILES.map(fixture))
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let v = after_ready_skews();
    let want = format!(
        "p50 {:.1} µs  p95 {:.1} µs  p99 {:.1} µs  max {:.1} µs (68 groups)",
        percentile_us(&v, 50.0),
        percentile_us(&v, 95.0),
        percentile_us(&v, 99.0),
        percentile_us(&v, 100.0)
    );
    assert!(text.contains(&want), "{want}\n{text}");
    assert!(
        text.contains("period 33340.0 µs (") && text.contains("cam0.json, the first file)"),
        "{text}"
    );
    assert!(
        text.contains("frame N the same instant on every camera: yes"),
        "{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unquoted string value"), "{err}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("skew histogram"));
    std::fs::remove_file(&svg).ok();
}

#[test]
fn cli_json_and_misaligned_numbering_fail_the_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .args(["align", "--json"])
        .args(["cam0.json", "cam1.txt", "cam2.cam", "late/cam3.csv"].map(fixture))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["aligned"], false);
    assert_eq!(v["numbering"]["ready_frames_aligned"], false);
    assert_eq!(
        v["cameras"][0]["camera"],
        fixture("cam0.json").display().to_string()
    );
    assert_eq!(v["cameras"][3]["first_ready_index"], 21);
    assert_eq!(v["cameras"][0]["format"], "rpicam_json");
}

#[test]
fn cli_unreadable_file_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .args(["align"])
        .arg(fixture("cam0.json"))
        .arg(fixture("generate.py"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a recognised metadata file"));
}

/// `camsync align` on `files` with `stdin`: (exit code, stdout, stderr).
fn align_cli(files: &[String], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_camsync"))
        .arg("align")
        .args(files)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

#[test]
fn cli_reads_one_recording_from_stdin() {
    let csv = std::fs::read_to_string(fixture("cam3.csv")).unwrap();
    let (code, out, _) = align_cli(&[path("cam2.cam"), "-".into()], &csv);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("\nstdin "), "{out}");
    assert!(
        out.contains("the same instant on every camera: yes"),
        "{out}"
    );
}

#[test]
fn cli_says_why_recordings_cannot_be_aligned() {
    // (second file, what the verdict and the error say)
    let cases = [
        ("later/cam3.csv", "the recordings do not overlap in time"),
        ("fps60/cam3.csv", "the cameras run at different frame rates"),
        (
            "late/cam3.csv",
            "the cameras' first SyncReady frames are not the same instant",
        ),
    ];
    for (second, says) in cases {
        let (code, out, err) = align_cli(&[path("cam3.csv"), path(second)], "");
        assert_eq!(code, Some(1), "{second}: {out}{err}");
        assert!(
            out.contains(&format!("the same instant on every camera: NO: {says}")),
            "{second}: {out}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("error: {says}")), "{err}");
    }
    // No frame group: the skew says so instead of 0.0 µs.
    let (_, out, _) = align_cli(&[path("cam3.csv"), path("later/cam3.csv")], "");
    assert!(
        out.contains("skew, all groups:          none: no frame group has every camera"),
        "{out}"
    );
}

#[test]
fn the_period_is_the_servers_when_it_can_be_told_apart() {
    // Two clients (they write SyncAdjustment) a little slower than the
    // server, which is the second file: its period groups the frames.
    let csv = |period: i64, offset: i64, adjustment: bool| {
        let mut t = String::from(if adjustment {
            "frame_wall_clock_ns,sync_ready,sync_adjustment_us\n"
        } else {
            "frame_wall_clock_ns,sync_ready\n"
        });
        for k in 0..60 {
            let w = 1_767_225_700_000_000_000 + k * period + offset;
            t += &format!(
                "{w},{}{}\n",
                u8::from(k >= 10),
                if adjustment { ",0" } else { "" }
            );
        }
        t
    };
    let recs: Vec<align::Recording> = [
        ("client1.csv", csv(33_340_000, 20_000, true)),
        ("server.csv", csv(33_333_000, 0, false)),
        ("client2.csv", csv(33_340_000, -15_000, true)),
    ]
    .iter()
    .map(|(n, t)| align::parse::parse(n, t).unwrap())
    .collect();
    let r = align::analyse(&recs);
    assert_eq!(
        (r.reference.as_str(), r.reference_is_server, r.period_us),
        ("server.csv", true, 33_333.0)
    );
    let periods: Vec<f64> = r.cameras.iter().map(|c| c.period_us).collect();
    assert_eq!(periods, [33_340.0, 33_333.0, 33_340.0]);
}
