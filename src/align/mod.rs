// SPDX-License-Identifier: LGPL-2.1-or-later
//! Offline alignment check: do frames recorded on several cameras start at
//! the same instant? Pure: recordings in, a report out.
//!
//! Frames are grouped across cameras by `FrameWallClock`: a frame group
//! starts at the earliest unassigned frame and takes, from each camera, the
//! frame within half a frame period of it. A group's *skew* is its latest
//! minus its earliest wall clock. Frames in a group that does not contain
//! every camera have no partner. Drops are sequence gaps, or wall-clock gaps
//! of more than 1.5 periods when there is no sequence number. From the first
//! frame on which every camera reports `SyncReady`, frame N of every camera
//! must be in one group.
//!
//! The frame period that groups frames is the server's: the one recording
//! without `SyncAdjustment` when every other has it (only clients write
//! it), else the first file's.
//!
//! The verdict ([`Report::aligned`]) is yes only when that was checked and
//! holds: two cameras or more, at one frame rate, whose recordings share
//! instants, every one reporting `SyncReady`. Anything else is a no, saying
//! which of these failed.
//!
//! - [`parse`]: the file formats.

pub mod parse;

use serde::Serialize;

pub use parse::{Format, ParseError};

use crate::sim::metrics::nearest_rank;

/// One frame's metadata, as far as alignment needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Frame {
    /// `FrameWallClock`, ns since the epoch.
    pub wall_ns: Option<i64>,
    pub sequence: Option<u64>,
    pub sensor_timestamp_ns: Option<i64>,
    pub sync_ready: Option<bool>,
    /// `SyncAdjustment`, µs (a client's; servers write none).
    pub sync_adjustment_us: Option<i64>,
}

/// The frames of one camera, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub name: String,
    pub format: Format,
    pub frames: Vec<Frame>,
    /// Things the reader had to be lenient about.
    pub warnings: Vec<String>,
}

/// Skew statistics over frame groups, µs (nearest-rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct SkewStats {
    pub groups: usize,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl SkewStats {
    fn of(skews_ns: &[i64]) -> SkewStats {
        let mut v = skews_ns.to_vec();
        v.sort_unstable();
        let us = |ns: i64| ns as f64 / 1000.0;
        SkewStats {
            groups: v.len(),
            p50_us: us(nearest_rank(&v, 50.0)),
            p95_us: us(nearest_rank(&v, 95.0)),
            p99_us: us(nearest_rank(&v, 99.0)),
            max_us: us(v.last().copied().unwrap_or(0)),
        }
    }
}

/// Per-camera results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraReport {
    #[serde(rename = "camera")]
    pub name: String,
    pub format: Format,
    pub frames: usize,
    /// Frames without a FrameWallClock (not groupable).
    pub without_wall_clock: usize,
    /// Median wall-clock period, µs.
    pub period_us: f64,
    /// Frames missing from the recording (sequence or timestamp gaps).
    pub dropped: u64,
    /// How drops were found: "sequence" or "timestamp".
    pub drops_from: &'static str,
    /// Frames in a group without every other camera.
    pub without_partner: usize,
    /// Index (in the file) of the first frame reporting SyncReady.
    pub first_ready_index: Option<usize>,
    /// First and last FrameWallClock, s after the earliest frame of any camera.
    pub wall_clock_span_s: Option<(f64, f64)>,
    pub warnings: Vec<String>,
}

/// Whether frame N is the same instant on every camera, from the first SyncReady.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Numbering {
    /// Every camera reported SyncReady at some point.
    pub checked: bool,
    /// The first SyncReady frames of all cameras are in one group.
    pub ready_frames_aligned: bool,
    /// Complete groups after the first SyncReady, checked.
    pub groups_checked: usize,
    /// Of those, groups whose frames do not all have the same N.
    pub mismatched_groups: usize,
    /// The first mismatch: N per camera.
    pub first_mismatch: Option<Vec<i64>>,
    /// A human-readable verdict.
    pub verdict: String,
}

/// One frame group, for plots: (time since the first group, s; skew, µs).
pub type GroupPoint = (f64, f64);

/// The version of [`Report`]'s JSON form (`camsync align --json`).
pub const SCHEMA_VERSION: u32 = 1;

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// Frame N is the same instant on every camera from the first SyncReady.
    pub aligned: bool,
    /// Why (not): a human-readable verdict.
    pub verdict: String,
    pub cameras: Vec<CameraReport>,
    /// The period used for grouping, µs: the reference camera's.
    pub period_us: f64,
    /// The reference camera: the server, if one recording is told apart as
    /// it (no `SyncAdjustment` where every other has some), else the first.
    pub reference: String,
    /// The reference is the server (not merely the first file).
    pub reference_is_server: bool,
    pub groups: usize,
    pub complete_groups: usize,
    /// Skew of complete groups, all of them (None: no group has every camera).
    pub skew: Option<SkewStats>,
    /// Skew of complete groups from the first group in which every camera is
    /// ready (None: a camera is never ready, or no such group).
    pub skew_after_ready: Option<SkewStats>,
    pub numbering: Numbering,
    /// Skew of every complete group over time (for plots).
    #[serde(skip)]
    pub series: Vec<GroupPoint>,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}

/// A camera's median frame period from consecutive wall clocks, ns.
fn period_ns(r: &Recording) -> Option<i64> {
    let walls: Vec<i64> = r.frames.iter().filter_map(|f| f.wall_ns).collect();
    median(
        walls
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|&d| d > 0)
            .collect(),
    )
}

/// Frames missing from a recording.
fn dropped(r: &Recording, period: i64) -> (u64, &'static str) {
    let seqs: Vec<u64> = r.frames.iter().filter_map(|f| f.sequence).collect();
    if seqs.len() == r.frames.len() && !seqs.is_empty() {
        let n = seqs
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]).saturating_sub(1))
            .fold(0u64, u64::saturating_add);
        return (n, "sequence");
    }
    let walls: Vec<i64> = r.frames.iter().filter_map(|f| f.wall_ns).collect();
    // Wall clocks are in 0..2^62 (parse::MAX_WALL_NS): no difference overflows;
    // the 1.5-period test is done in i128.
    let n = walls
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&d| period > 0 && i128::from(d) * 2 > i128::from(period) * 3)
        .map(|d| ((d + period / 2) / period - 1).max(0) as u64)
        .fold(0u64, u64::saturating_add);
    (n, "timestamp")
}

/// Frame number relative to the first ready frame: by sequence if every
/// frame has one, otherwise by wall clock in periods.
fn frame_number(r: &Recording, ready: usize, i: usize, period: i64) -> Option<i64> {
    let (a, b) = (&r.frames[ready], &r.frames[i]);
    if let (Some(sa), Some(sb)) = (a.sequence, b.sequence) {
        return Some(sb as i64 - sa as i64);
    }
    let d = b.wall_ns? - a.wall_ns?;
    Some((d + d.signum() * period / 2) / period.max(1))
}

/// Periods differing by more than this share are different frame rates.
const RATE_TOLERANCE: f64 = 0.01;

/// The server's recording: the only one without `SyncAdjustment` when every
/// other has it (a client writes one on every request).
fn server(recs: &[Recording]) -> Option<usize> {
    let without: Vec<usize> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.frames.iter().all(|f| f.sync_adjustment_us.is_none()))
        .map(|(i, _)| i)
        .collect();
    (recs.len() > 1 && without.len() == 1).then(|| without[0])
}

/// Group the frames of every recording and report.
pub fn analyse(recs: &[Recording]) -> Report {
    // The server's period (or the first file's): the clients follow it.
    let server = server(recs);
    let reference = server.unwrap_or(0);
    let period = recs
        .get(reference)
        .and_then(period_ns)
        .or_else(|| median(recs.iter().filter_map(period_ns).collect()))
        .unwrap_or(33_333_000)
        .max(1);
    // Every groupable frame: (wall, camera, index in file).
    let mut all: Vec<(i64, usize, usize)> = recs
        .iter()
        .enumerate()
        .flat_map(|(c, r)| {
            r.frames
                .iter()
                .enumerate()
                .filter_map(move |(i, f)| Some((f.wall_ns?, c, i)))
        })
        .collect();
    all.sort_unstable();
    let n = recs.len();
    let mut groups: Vec<Vec<Option<usize>>> = Vec::new();
    let mut group_start = Vec::new();
    let mut cur: Vec<Option<usize>> = vec![None; n];
    let mut start: Option<i64> = None;
    for &(t, c, i) in &all {
        let fits = start.is_some_and(|s| t - s < period / 2) && cur[c].is_none();
        if !fits {
            if let Some(s) = start {
                groups.push(std::mem::replace(&mut cur, vec![None; n]));
                group_start.push(s);
            }
            start = Some(t);
        }
        cur[c] = Some(i);
    }
    if let Some(s) = start {
        groups.push(cur);
        group_start.push(s);
    }
    let wall = |c: usize, i: usize| recs[c].frames[i].wall_ns.unwrap_or(0);
    let skew_of = |g: &[Option<usize>]| -> i64 {
        let ts: Vec<i64> = g
            .iter()
            .enumerate()
            .filter_map(|(c, i)| Some(wall(c, (*i)?)))
            .collect();
        ts.iter().max().unwrap_or(&0) - ts.iter().min().unwrap_or(&0)
    };
    let complete: Vec<usize> = (0..groups.len())
        .filter(|&g| groups[g].iter().all(Option::is_some))
        .collect();
    let skews: Vec<i64> = complete.iter().map(|&g| skew_of(&groups[g])).collect();
    let t0 = group_start.first().copied().unwrap_or(0);
    let series = complete
        .iter()
        .zip(&skews)
        .map(|(&g, &s)| ((group_start[g] - t0) as f64 / 1e9, s as f64 / 1000.0))
        .collect();

    // Per camera.
    let mut without_partner = vec![0usize; n];
    for g in &groups {
        if g.iter().any(Option::is_none) {
            for (c, i) in g.iter().enumerate() {
                if i.is_some() {
                    without_partner[c] += 1;
                }
            }
        }
    }
    let first_ready: Vec<Option<usize>> = recs
        .iter()
        .map(|r| r.frames.iter().position(|f| f.sync_ready == Some(true)))
        .collect();
    let earliest = all.first().map_or(0, |f| f.0);
    let cameras: Vec<CameraReport> = recs
        .iter()
        .enumerate()
        .map(|(c, r)| {
            let p = period_ns(r).unwrap_or(period);
            let walls = || r.frames.iter().filter_map(|f| f.wall_ns);
            let s = |ns: i64| (ns - earliest) as f64 / 1e9;
            let (dropped, drops_from) = dropped(r, p);
            CameraReport {
                name: r.name.clone(),
                format: r.format,
                frames: r.frames.len(),
                without_wall_clock: r.frames.iter().filter(|f| f.wall_ns.is_none()).count(),
                period_us: p as f64 / 1000.0,
                dropped,
                drops_from,
                without_partner: without_partner[c],
                first_ready_index: first_ready[c],
                wall_clock_span_s: walls().min().zip(walls().max()).map(|(a, b)| (s(a), s(b))),
                warnings: r.warnings.clone(),
            }
        })
        .collect();

    // Frame numbering from the first SyncReady.
    let group_of = |c: usize, i: usize| groups.iter().position(|g| g[c] == Some(i));
    let numbering = match first_ready.iter().copied().collect::<Option<Vec<usize>>>() {
        None => Numbering {
            checked: false,
            ready_frames_aligned: false,
            groups_checked: 0,
            mismatched_groups: 0,
            first_mismatch: None,
            verdict: "not checked: not every camera reports SyncReady".into(),
        },
        Some(ready) => {
            let ready_groups: Vec<Option<usize>> = ready
                .iter()
                .enumerate()
                .map(|(c, &i)| group_of(c, i))
                .collect();
            let aligned = ready_groups
                .iter()
                .all(|g| g.is_some() && *g == ready_groups[0]);
            let from = ready_groups.iter().flatten().copied().max().unwrap_or(0);
            let mut checked = 0;
            let mut mismatched = 0;
            let mut first = None;
            for &g in complete.iter().filter(|&&g| g >= from) {
                let ns: Vec<i64> = (0..n)
                    .map(|c| {
                        groups[g][c]
                            .and_then(|i| frame_number(&recs[c], ready[c], i, period))
                            .unwrap_or(i64::MIN)
                    })
                    .collect();
                checked += 1;
                if ns.iter().any(|&x| x != ns[0]) {
                    mismatched += 1;
                    first.get_or_insert(ns);
                }
            }
            let verdict = if aligned && mismatched == 0 {
                format!(
                    "yes: the first SyncReady frames are one instant, and frame N is the same instant on every camera ({checked} groups)"
                )
            } else if !aligned {
                "NO: the cameras' first SyncReady frames are not the same instant".to_string()
            } else {
                format!("NO: {mismatched} of {checked} groups pair different frame numbers")
            };
            Numbering {
                checked: true,
                ready_frames_aligned: aligned,
                groups_checked: checked,
                mismatched_groups: mismatched,
                first_mismatch: first,
                verdict,
            }
        }
    };
    // Skew after every camera is ready.
    let skew_after_ready = first_ready
        .iter()
        .copied()
        .collect::<Option<Vec<usize>>>()
        .map(|ready| {
            let from = ready
                .iter()
                .enumerate()
                .filter_map(|(c, &i)| group_of(c, i))
                .max()
                .unwrap_or(0);
            let v: Vec<i64> = complete
                .iter()
                .zip(&skews)
                .filter(|&(&g, _)| g >= from)
                .map(|(_, &s)| s)
                .collect();
            SkewStats::of(&v)
        })
        .filter(|s| s.groups > 0);
    let (aligned, verdict) = verdict(recs, &cameras, &complete, &first_ready, &numbering);
    Report {
        schema_version: SCHEMA_VERSION,
        aligned,
        verdict,
        cameras,
        period_us: period as f64 / 1000.0,
        reference: recs
            .get(reference)
            .map_or_else(String::new, |r| r.name.clone()),
        reference_is_server: server.is_some(),
        groups: groups.len(),
        complete_groups: complete.len(),
        skew: (!skews.is_empty()).then(|| SkewStats::of(&skews)),
        skew_after_ready,
        numbering,
        series,
    }
}

/// Whether frame N is the same instant on every camera, and why (not), in
/// the order a user would fix things.
fn verdict(
    recs: &[Recording],
    cameras: &[CameraReport],
    complete: &[usize],
    first_ready: &[Option<usize>],
    numbering: &Numbering,
) -> (bool, String) {
    let no = |why: String| (false, format!("NO: {why}"));
    if recs.len() < 2 {
        return no(format!(
            "alignment needs two cameras or more, got {}",
            recs.len()
        ));
    }
    let periods: Vec<f64> = cameras.iter().map(|c| c.period_us).collect();
    let (lo, hi) = periods
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &p| (a.min(p), b.max(p)));
    if hi > lo * (1.0 + RATE_TOLERANCE) {
        let rates: Vec<String> = cameras
            .iter()
            .map(|c| {
                format!(
                    "{} {:.1} µs = {:.2} fps",
                    c.name,
                    c.period_us,
                    1e6 / c.period_us
                )
            })
            .collect();
        return no(format!(
            "the cameras run at different frame rates ({}): frame N cannot be the same instant on every camera",
            rates.join(", ")
        ));
    }
    if complete.is_empty() {
        let spans: Vec<String> = cameras
            .iter()
            .map(|c| match c.wall_clock_span_s {
                Some((a, b)) => format!("{} {a:.3}..{b:.3} s", c.name),
                None => format!("{} no FrameWallClock", c.name),
            })
            .collect();
        let start = cameras
            .iter()
            .filter_map(|c| c.wall_clock_span_s)
            .map(|s| s.0);
        let end = cameras
            .iter()
            .filter_map(|c| c.wall_clock_span_s)
            .map(|s| s.1);
        let overlap = start.fold(f64::MIN, f64::max) <= end.fold(f64::MAX, f64::min);
        return no(if overlap {
            format!(
                "no frame group has every camera: no frame is within half a period of a frame of \
                 every other camera ({})",
                spans.join(", ")
            )
        } else {
            format!(
                "the recordings do not overlap in time: no instant was captured by every camera \
                 ({}, from the earliest frame)",
                spans.join(", ")
            )
        });
    }
    let never: Vec<&str> = cameras
        .iter()
        .zip(first_ready)
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| c.name.as_str())
        .collect();
    if !never.is_empty() {
        return no(format!(
            "frame numbering not checked: {} never report(s) SyncReady",
            never.join(", ")
        ));
    }
    (
        numbering.ready_frames_aligned && numbering.mismatched_groups == 0,
        numbering.verdict.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, walls: &[i64], ready_from: usize) -> Recording {
        Recording {
            name: name.into(),
            format: Format::Csv,
            frames: walls
                .iter()
                .enumerate()
                .map(|(i, &w)| Frame {
                    wall_ns: Some(w),
                    sync_ready: Some(i >= ready_from),
                    ..Frame::default()
                })
                .collect(),
            warnings: vec![],
        }
    }

    const P: i64 = 33_333_000;

    #[test]
    fn groups_skew_partners_and_drops() {
        let a: Vec<i64> = (0..10).map(|k| k * P).collect();
        // b: 100 µs late, frame 5 dropped.
        let b: Vec<i64> = (0..10)
            .filter(|&k| k != 5)
            .map(|k| k * P + 100_000)
            .collect();
        let r = analyse(&[rec("a", &a, 2), rec("b", &b, 2)]);
        assert_eq!(r.groups, 10);
        assert_eq!(r.complete_groups, 9);
        assert_eq!(r.skew.unwrap().max_us, 100.0);
        assert_eq!(r.cameras[0].without_partner, 1);
        assert_eq!(r.cameras[1].dropped, 1);
        assert_eq!(r.cameras[1].drops_from, "timestamp");
        assert!(r.numbering.ready_frames_aligned);
        assert_eq!(r.numbering.mismatched_groups, 0);
        assert!(r.numbering.verdict.starts_with("yes"));
        assert!(r.aligned && r.verdict.starts_with("yes"), "{}", r.verdict);
    }

    #[test]
    fn what_cannot_be_aligned_says_why() {
        let a: Vec<i64> = (0..10).map(|k| k * P).collect();
        let verdict = |recs: &[Recording]| {
            let r = analyse(recs);
            assert!(!r.aligned, "{}", r.verdict);
            r.verdict
        };
        assert!(verdict(&[rec("a", &a, 2)]).contains("two cameras or more"));
        // One hour apart: no instant in common, and no skew to report.
        let later: Vec<i64> = a.iter().map(|t| t + 3_600_000_000_000).collect();
        let r = analyse(&[rec("a", &a, 2), rec("b", &later, 2)]);
        assert_eq!((r.complete_groups, r.skew), (0, None));
        assert!(
            r.verdict.contains("do not overlap in time"),
            "{}",
            r.verdict
        );
        // Overlapping in time, but half a period apart: no groups either.
        let half: Vec<i64> = a.iter().map(|t| t + P / 2).collect();
        assert!(verdict(&[rec("a", &a, 2), rec("b", &half, 2)]).contains("no frame group"));
        // 30 and 60 fps.
        let fast: Vec<i64> = (0..20).map(|k| k * P / 2).collect();
        let v = verdict(&[rec("a", &a, 2), rec("b", &fast, 4)]);
        assert!(v.contains("different frame rates"), "{v}");
        // A camera that never reports SyncReady.
        let v = verdict(&[rec("a", &a, 2), rec("b", &a, 99)]);
        assert!(v.contains("b never report(s) SyncReady"), "{v}");
    }

    #[test]
    fn ready_one_frame_apart_is_reported() {
        let a: Vec<i64> = (0..10).map(|k| k * P).collect();
        let r = analyse(&[rec("a", &a, 2), rec("b", &a, 3)]);
        assert!(!r.numbering.ready_frames_aligned);
        assert!(r.numbering.verdict.starts_with("NO"));
        assert!(!r.aligned);
        assert_eq!(r.skew.unwrap().max_us, 0.0);
    }
}
