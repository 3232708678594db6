// SPDX-License-Identifier: LGPL-2.1-or-later
//! Replay a golden trace through the shipped plugin instance
//! (`plugin::Instance` over a [`MemoryTransport`], reading a
//! [`ManualClock`] set to the recorded readings) and check every output the
//! trace records as golden (`spec/traces.md`, "How to replay"):
//! - the `controls` line: sync available, and the controls added with their limits;
//! - each `expect`: the core's `SyncAdjustment`, `FrameWallClock`,
//!   `SyncReady`, `SyncTimer` and the packet to send (and nothing else);
//! - that a clock was sampled exactly when `clock` is not null;
//! - that exactly the datagrams in `rx` were consumed;
//! - cancelled requests produce nothing;
//! - the socket role (and interface) when a `net` entry is present.
//!
//! And what the plugin does with the core's outputs: the `SyncAdjustment` it
//! writes is the core's clamped to the camera's limits and half a frame
//! ([`adjustment_bounds`]), and the datagram it
//! sends is the expected packet in the layer's 24-byte format.

pub mod trace;

use std::fmt;
use std::io::BufRead;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::core::{
    ADDED_CONTROLS, CameraControls, ClockSample, Completion, Profile, SocketRole, SyncPacket,
    WireFormat,
};
use crate::net::{MemDatagram, MemoryTransport, NetConfig};
use crate::plugin::{Config, Instance, ManualClock, adjustment_bounds};
use trace::{Header, Line, TraceClock, TraceNet, TracePacket};

/// What replays a trace: the plugin instance, over memory, on the recorded clocks.
type ReplayInstance = Instance<MemoryTransport, ManualClock>;

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
    /// `SyncAdjustment`s the plugin clamped to the camera's limits.
    pub clamped: usize,
    /// The completion index (0-based, cancelled ones included) on which
    /// SyncReady first became true.
    pub ready_at: Option<usize>,
}

/// Replay one trace file.
pub fn replay_file(path: &Path, profile: Profile) -> Result<ReplayStats, ReplayError> {
    replay_reader(trace::open(path)?, profile)
}

/// The configuration a trace's header describes, with the core's `profile`.
fn config(h: &Header, profile: Profile, line: usize) -> Result<Config, ReplayError> {
    let group: Ipv4Addr = h
        .layer_params
        .group
        .parse()
        .map_err(|_| format_err(line, "layer_params.group is not an IPv4 address"))?;
    Ok(Config {
        profile,
        layer: h.layer_params(),
        net: NetConfig {
            group,
            port: h.layer_params.port,
            ..NetConfig::default()
        },
        ..Config::default()
    })
}

/// Replay a trace read from `input`.
pub fn replay_reader(input: impl BufRead, profile: Profile) -> Result<ReplayStats, ReplayError> {
    let mut state: Option<(Header, ReplayInstance)> = None;
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
                let inst = Instance::from_parts(
                    &h.camera,
                    Ok(config(&h, profile, lineno)?),
                    MemoryTransport::new(),
                    ManualClock::default(),
                );
                state = Some((h, inst));
                continue;
            }
            other => {
                let Some((header, inst)) = state.as_ref() else {
                    return Err(format_err(lineno, "the first line must be the header"));
                };
                stats.events += 1;
                step(header, inst, other, &mut ck, &mut stats);
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

/// Before a hook: the recorded clock reading (any value if none) and the
/// datagrams recorded as read, waiting on the port.
fn prepare(inst: &ReplayInstance, clock: Option<TraceClock>, rx: &[TracePacket]) -> Before {
    inst.with_clock(|k| {
        k.next = clock.map(ClockSample::from).unwrap_or_default();
        k.samples = 0;
    });
    let flushed = inst_flushed(inst);
    inst.with_transport(|t| {
        for p in rx {
            t.push_waiting(MemDatagram::packet(&p.packet(), WireFormat::Layer));
        }
        Before {
            opens: t.counters().opens,
            received: t.counters().received,
            flushed,
        }
    })
}

/// What the transport had done before a hook.
struct Before {
    opens: u64,
    received: u64,
    flushed: u64,
}

fn inst_flushed(inst: &ReplayInstance) -> u64 {
    inst.stats().rx.flushed
}

fn step(
    header: &Header,
    inst: &ReplayInstance,
    line: Line,
    ck: &mut Checker,
    stats: &mut ReplayStats,
) {
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
            let added = match inst.controls(&camera) {
                Ok(a) => a,
                Err(_) => return ck.eq("instance enabled", true, false),
            };
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
            let before = prepare(inst, s.clock, &s.rx);
            if inst.start(&s.controls.as_controls()).is_err() {
                return ck.eq("instance enabled", true, false);
            }
            check_clock(inst, s.clock.is_some(), ck);
            check_socket(inst, &before, s.net.as_ref(), s.rx.len(), ck);
        }
        Line::Queue(q) => {
            let before = prepare(inst, None, &q.rx);
            let Ok(out) = inst.queue_request(&q.controls.as_controls()) else {
                return ck.eq("instance enabled", true, false);
            };
            let expected = q.expect.sync_adjustment_us;
            ck.eq("expect.sync_adjustment_us", expected, out.requested_us);
            // The plugin writes the core's value within the camera's limits
            // and half the frame duration in use.
            let [lo, hi] = adjustment_bounds(
                header.camera_controls.sync_adjustment_limits_us,
                inst.frame_duration_us(),
            );
            let written = expected.map(|v| v.clamp(lo, hi));
            ck.eq(
                "SyncAdjustment written (the camera's limits, half a frame)",
                written,
                out.sync_adjustment_us,
            );
            ck.eq("SyncAdjustment clamped", written != expected, out.clamped);
            stats.clamped += usize::from(out.clamped);
            check_socket(inst, &before, q.net.as_ref(), q.rx.len(), ck);
        }
        Line::Complete(c) => {
            let before = prepare(inst, c.clock, &c.rx);
            let completion = Completion {
                sensor_timestamp_ns: c.sensor_timestamp_ns,
                cancelled: c.cancelled,
            };
            let Ok(out) = inst.request_completed(&completion) else {
                return ck.eq("instance enabled", true, false);
            };
            check_clock(inst, c.clock.is_some(), ck);
            let (consumed, sent) = inst.with_transport(|t| {
                let consumed = t.counters().received - before.received;
                t.clear_waiting();
                let sent = t.take_sent();
                (consumed, (sent, t.take_sent().is_some()))
            });
            ck.eq("rx consumed", c.rx.len() as u64, consumed);
            let e = &c.expect;
            ck.eq(
                "expect.frame_wall_clock_ns",
                e.frame_wall_clock_ns,
                out.frame_wall_clock_ns,
            );
            ck.eq("expect.sync_ready", e.sync_ready, out.sync_ready);
            ck.eq("expect.sync_timer_us", e.sync_timer_us, out.sync_timer_us);
            let expected_tx = e.tx.as_ref().map(TracePacket::packet);
            ck.eq("expect.tx", expected_tx, out.tx);
            // What went on the wire: that packet, in the layer format
            // (24 bytes, as the C++ layer sends), once.
            let (datagram, more) = sent;
            ck.eq(
                "datagram sent (length, packet)",
                expected_tx.map(|p| (WireFormat::Layer.datagram_len(), Ok(p))),
                datagram.map(|d| (d.len(), SyncPacket::decode(d.as_bytes()).map(|x| x.0))),
            );
            ck.eq("datagrams sent in one call", false, more);
            if let Some(tx) = &e.tx
                && let Some(dst) = &tx.dst
            {
                let cfg = inst.config();
                let ours = format!("{}:{}", cfg.net.group, cfg.net.port);
                ck.eq("expect.tx.dst", dst.as_str(), ours.as_str());
            }
            if let Some(net) = &c.net {
                check_socket(inst, &before, Some(net), 0, ck);
            }
            stats.packets_sent += usize::from(datagram.is_some());
            stats.packets_read += consumed as usize;
            if out.diag.sync_achieved && stats.ready_at.is_none() {
                stats.ready_at = Some(stats.completions);
            }
            stats.completions += 1;
        }
    }
}

/// A clock was sampled exactly when the trace recorded a reading.
fn check_clock(inst: &ReplayInstance, recorded: bool, ck: &mut Checker) {
    let samples = inst.with_clock(|k| k.samples);
    ck.eq("clock samples", u64::from(recorded), samples);
}

/// Check what the hook did with the socket against the trace's `net` entry,
/// and that the datagrams recorded in `rx` were the ones a receiver opening
/// discarded.
fn check_socket(
    inst: &ReplayInstance,
    before: &Before,
    net: Option<&TraceNet>,
    rx_len: usize,
    ck: &mut Checker,
) {
    let (opened, interface) = inst.with_transport(|t| {
        let opened = (t.counters().opens > before.opens)
            .then(|| t.role())
            .flatten();
        t.clear_waiting();
        (opened, t.interface().map(str::to_string))
    });
    let flushed = inst_flushed(inst) - before.flushed;
    ck.eq("rx consumed (socket flush)", rx_len as u64, flushed);
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
        let cfg = inst.config();
        if let Some(iface) = &net.interface {
            ck.eq(
                "net.interface",
                iface.as_str(),
                interface.as_deref().unwrap_or("0.0.0.0"),
            );
        }
        if let Some(group) = &net.group {
            ck.eq(
                "net.group",
                group.as_str(),
                cfg.net.group.to_string().as_str(),
            );
        }
        if let Some(bind) = &net.bind {
            let ours = format!("0.0.0.0:{}", cfg.net.port);
            ck.eq("net.bind", bind.as_str(), ours.as_str());
        }
    }
}
