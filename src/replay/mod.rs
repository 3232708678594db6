// SPDX-License-Identifier: LGPL-2.1-or-later
//! Replay a golden trace through the core and check every output the trace
//! records as golden (`spec/traces.md`, "How to replay"):
//! - the `controls` line: sync available, and the controls added with their limits;
//! - each `expect`: `SyncAdjustment`, `FrameWallClock`, `SyncReady`,
//!   `SyncTimer` and the sent packet (and nothing else);
//! - that a clock was sampled exactly when `clock` is not null;
//! - that exactly the datagrams in `rx` were consumed;
//! - cancelled requests produce nothing;
//! - the socket role (and interface) when a `net` entry is present.

pub mod trace;

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use crate::core::{
    ADDED_CONTROLS, CameraControls, ClockSample, ClockSource, Completion, Layer, PacketSource,
    Profile, SocketAction, SocketRole, SyncPacket,
};
use trace::{Header, Line, TraceClock, TraceNet, TracePacket};

/// The first difference between a trace and the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// 1-based line number in the trace.
    pub line: usize,
    /// What differed (`expect.sync_timer_us`, `clock sampled`, …).
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: expected {}, got {}",
            self.line, self.what, self.expected, self.actual
        )
    }
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: not a valid trace line: {msg}")]
    Parse { line: usize, msg: String },
    #[error("line {line}: {msg}")]
    Format { line: usize, msg: String },
    #[error("{0}")]
    Mismatch(Mismatch),
}

/// What a successful replay covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayStats {
    /// Lines checked after the header (controls and hook calls).
    pub events: usize,
    /// `requestCompleted` calls.
    pub completions: usize,
    /// Packets the core sent.
    pub packets_sent: usize,
    /// Packets the core consumed.
    pub packets_read: usize,
    /// The completion index (0-based, cancelled ones included) on which
    /// SyncReady first became true.
    pub ready_at: Option<usize>,
}

/// Hands the core the recorded clock readings and counts the samples taken.
struct TraceClockSource {
    reading: Option<TraceClock>,
    samples: u32,
}

impl ClockSource for TraceClockSource {
    fn sample(&mut self) -> ClockSample {
        self.samples += 1;
        self.reading.map(ClockSample::from).unwrap_or_default()
    }
}

/// Hands the core the recorded datagrams and counts what it consumed.
struct TraceInbox<'a> {
    rx: &'a [TracePacket],
    consumed: usize,
}

impl PacketSource for TraceInbox<'_> {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        let p = self.rx.get(self.consumed)?.packet();
        self.consumed += 1;
        Some(p)
    }
}

/// Replay one trace file.
pub fn replay_file(path: &Path, profile: Profile) -> Result<ReplayStats, ReplayError> {
    replay_reader(trace::open(path)?, profile)
}

/// Replay a trace read from `input`.
pub fn replay_reader(input: impl BufRead, profile: Profile) -> Result<ReplayStats, ReplayError> {
    let mut state: Option<(Header, Layer)> = None;
    let mut stats = ReplayStats::default();
    for (i, text) in input.lines().enumerate() {
        let lineno = i + 1;
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| ReplayError::Parse {
            line: lineno,
            msg: e.to_string(),
        })?;
        let mut ck = Checker {
            line: lineno,
            first: None,
        };
        match line {
            Line::Header(h) => {
                if state.is_some() {
                    return Err(format_err(lineno, "a second header"));
                }
                if h.format != 1 {
                    return Err(format_err(
                        lineno,
                        &format!("trace format {} (only 1 is known)", h.format),
                    ));
                }
                let layer = Layer::new(h.layer_params(), profile);
                state = Some((h, layer));
                continue;
            }
            other => {
                let Some((header, layer)) = state.as_mut() else {
                    return Err(format_err(lineno, "the first line must be the header"));
                };
                stats.events += 1;
                step(header, layer, other, &mut ck, &mut stats);
            }
        }
        if let Some(m) = ck.first {
            return Err(ReplayError::Mismatch(m));
        }
    }
    if state.is_none() {
        return Err(format_err(0, "empty trace: no header"));
    }
    Ok(stats)
}

fn format_err(line: usize, msg: &str) -> ReplayError {
    ReplayError::Format {
        line,
        msg: msg.to_string(),
    }
}

/// Collects the first mismatch of a line.
struct Checker {
    line: usize,
    first: Option<Mismatch>,
}

impl Checker {
    fn eq<T: PartialEq + fmt::Debug>(&mut self, what: &str, expected: T, actual: T) {
        if self.first.is_none() && expected != actual {
            self.first = Some(Mismatch {
                line: self.line,
                what: what.to_string(),
                expected: show(&expected),
                actual: show(&actual),
            });
        }
    }
}

/// `Some(x)` shows as `x`, `None` as `null`, like the trace.
fn show<T: fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    if s == "None" {
        return "null".into();
    }
    match s.strip_prefix("Some(").and_then(|r| r.strip_suffix(')')) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

fn step(header: &Header, layer: &mut Layer, line: Line, ck: &mut Checker, stats: &mut ReplayStats) {
    match line {
        Line::Header(_) => unreachable!("handled by the caller"),
        Line::Controls(c) => {
            let cam = &header.camera_controls;
            let camera = CameraControls {
                sync_adjustment_limits_us: cam.sync_adjustment.then(|| {
                    cam.sync_adjustment_limits_us
                        .unwrap_or([i32::MIN, i32::MAX])
                }),
                frame_duration_limits_us: cam.frame_duration_limits_us,
            };
            let added = layer.controls(&camera);
            ck.eq(
                "expect.sync_available",
                c.expect.sync_available,
                added.is_some(),
            );
            let added = added.unwrap_or(&[]);
            if let Some(n) = c.expect.n_added {
                ck.eq("expect.n_added", n, added.len());
            }
            if let Some(expected) = &c.expect.added_controls {
                // Sorted, as the expected map's keys are.
                let mut names: Vec<&str> = added.iter().map(|a| a.name).collect();
                names.sort_unstable();
                ck.eq(
                    "expect.added_controls (names)",
                    expected.keys().map(String::as_str).collect::<Vec<_>>(),
                    names.clone(),
                );
                for info in ADDED_CONTROLS.iter().filter(|a| names.contains(&a.name)) {
                    if let Some(e) = expected.get(info.name) {
                        let actual = trace::TraceControlInfo {
                            min: info.min,
                            max: info.max,
                            def: info.def,
                            values: (!info.values.is_empty()).then(|| info.values.to_vec()),
                        };
                        ck.eq(&format!("expect.added_controls.{}", info.name), e, &actual);
                    }
                }
            }
        }
        Line::Start(s) => {
            let mut clock = TraceClockSource {
                reading: s.clock,
                samples: 0,
            };
            let out = layer.start(&s.controls.as_controls(), &mut clock);
            ck.eq("clock samples", u32::from(s.clock.is_some()), clock.samples);
            check_socket(header, layer, out.socket, s.net.as_ref(), s.rx.len(), ck);
        }
        Line::Queue(q) => {
            let out = layer.queue_request(&q.controls.as_controls());
            ck.eq(
                "expect.sync_adjustment_us",
                q.expect.sync_adjustment_us,
                out.sync_adjustment_us,
            );
            check_socket(header, layer, out.socket, q.net.as_ref(), q.rx.len(), ck);
        }
        Line::Complete(c) => {
            let mut clock = TraceClockSource {
                reading: c.clock,
                samples: 0,
            };
            let mut inbox = TraceInbox {
                rx: &c.rx,
                consumed: 0,
            };
            let completion = Completion {
                sensor_timestamp_ns: c.sensor_timestamp_ns,
                cancelled: c.cancelled,
            };
            let out = layer.request_completed(&completion, &mut clock, &mut inbox);
            ck.eq("clock samples", u32::from(c.clock.is_some()), clock.samples);
            ck.eq("rx consumed", c.rx.len(), inbox.consumed);
            let e = &c.expect;
            ck.eq(
                "expect.frame_wall_clock_ns",
                e.frame_wall_clock_ns,
                out.frame_wall_clock_ns,
            );
            ck.eq("expect.sync_ready", e.sync_ready, out.sync_ready);
            ck.eq("expect.sync_timer_us", e.sync_timer_us, out.sync_timer_us);
            ck.eq("expect.tx", e.tx.as_ref().map(TracePacket::packet), out.tx);
            if let Some(tx) = &e.tx
                && let Some(dst) = &tx.dst
            {
                let ours = format!("{}:{}", header.layer_params.group, header.layer_params.port);
                ck.eq("expect.tx.dst", dst.as_str(), ours.as_str());
            }
            if let Some(net) = &c.net {
                check_socket(header, layer, None, Some(net), 0, ck);
            }
            stats.packets_sent += usize::from(out.tx.is_some());
            stats.packets_read += inbox.consumed;
            if out.diag.sync_achieved && stats.ready_at.is_none() {
                stats.ready_at = Some(stats.completions);
            }
            stats.completions += 1;
        }
    }
}

/// Check a hook's socket action against the trace's `net` entry, and that the
/// datagrams flushed when a receiver opens are the ones recorded in `rx`.
fn check_socket(
    header: &Header,
    layer: &Layer,
    action: Option<SocketAction>,
    net: Option<&TraceNet>,
    rx_len: usize,
    ck: &mut Checker,
) {
    let opened = match action {
        Some(SocketAction::Open(role)) => Some(role),
        _ => None,
    };
    let flushed = if opened == Some(SocketRole::Receiver) {
        rx_len
    } else {
        0
    };
    ck.eq("rx consumed (socket flush)", rx_len, flushed);
    let Some(net) = net else { return };
    let role = match opened {
        Some(SocketRole::Sender) => "sender",
        Some(SocketRole::Receiver) => "receiver",
        None => "none",
    };
    ck.eq("net.role", net.role.as_str(), role);
    ck.eq(
        "net.nonblocking",
        net.nonblocking,
        opened == Some(SocketRole::Receiver),
    );
    if opened == Some(SocketRole::Receiver) {
        if let Some(iface) = &net.interface {
            ck.eq(
                "net.interface",
                iface.as_str(),
                layer.interface().unwrap_or("0.0.0.0"),
            );
        }
        if let Some(group) = &net.group {
            ck.eq(
                "net.group",
                group.as_str(),
                header.layer_params.group.as_str(),
            );
        }
        if let Some(bind) = &net.bind {
            let ours = format!("0.0.0.0:{}", header.layer_params.port);
            ck.eq("net.bind", bind.as_str(), ours.as_str());
        }
    }
}
