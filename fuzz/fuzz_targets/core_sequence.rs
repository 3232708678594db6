// SPDX-License-Identifier: LGPL-2.1-or-later
//! The layer driven by any sequence of hooks, clock samples and datagrams
//! (`camsync_fuzz::Op`), once per profile, each time through the plugin
//! instance libcamera runs (over the in-memory transport, on a clock the
//! input sets). Checked on every step:
//!
//! - no panic (a hook never fails: the instance is enabled and stays so);
//! - every `SyncAdjustment` is within the camera's `SyncAdjustment` limits
//!   and within ± half of the camera's frame (its `FrameDurationLimits` min
//!   in effect); compat's raw arithmetic is the reference's, so this is
//!   checked on what the instance writes into the request;
//! - `FrameWallClock` never goes back while the clocks are clean (every
//!   sample from the well-behaved camera model, none set by hand) and the
//!   frames move on by at least a millisecond;
//! - the counters add up (no datagram is accepted that was not delivered);
//!   with the rig's key (a keyed input), only packets signed with it are
//!   accepted: plain, forged (another key, no MAC) ones never.
//!
//! `CAMSYNC_FUZZ_TRACE=1` prints every operation (to read a crash input).

#![no_main]

use std::sync::{Arc, Once};

use camsync::core::auth::{AUTH_LEN, AuthKey, AuthPacket};
use camsync::core::{Completion, Controls, LayerParams, Profile, SyncPacket, WireFormat};
use camsync::net::{MemDatagram, MemoryTransport, NetConfig};
use camsync::plugin::logging::{self, Level, Record, Sink};
use camsync::plugin::{Config, Instance, ManualClock};
use camsync_fuzz::{Header, KEY, OTHER_KEY, Op, Origin, OwnedControls, Reader, within};
use libfuzzer_sys::fuzz_target;

/// Formats every record (the formatting code runs) and drops it.
struct Discard;

impl Sink for Discard {
    fn level(&self) -> Level {
        Level::Debug
    }
    fn write(&self, r: &Record<'_>) {
        assert!(!r.message.is_empty());
    }
}

/// The well-behaved camera of `Op::Frame`: boot clock 7 s after boot, wall
/// clock on 2026-01-01, exactly in step.
const BOOT0: i64 = 7_000_000_000;
const WALL_MINUS_BOOT: i64 = 1_767_225_600_000_000_000 - BOOT0;

struct Model {
    /// The last start of frame, boot ns.
    sof: i64,
    /// The clocks' time now, boot ns.
    now: i64,
}

impl Model {
    fn sample(&self) -> camsync::core::ClockSample {
        let t = self.now as u64;
        camsync::core::ClockSample {
            boot_before_ns: t,
            wall_ns: (self.now + WALL_MINUS_BOOT) as u64,
            boot_after_ns: t + 1_000,
        }
    }
}

type Inst = Instance<MemoryTransport, ManualClock>;

/// A datagram as it arrives from `o`.
fn sent(d: MemDatagram, o: Origin) -> MemDatagram {
    let d = d.to_addr(o.to());
    match o.from() {
        Some(a) => d.from_addr(a),
        None => d,
    }
}

/// What the checks need to remember of one run.
struct Checks {
    /// The camera's `SyncAdjustment` limits, as the `controls` hook gave them.
    limits: Option<[i32; 2]>,
    /// The frame duration in effect (`FrameDurationLimits` min), µs.
    frame_us: i64,
    /// Every clock sample so far came from the model.
    clean: bool,
    /// The last completed frame with a `FrameWallClock`: (timestamp, wall clock).
    last: Option<(i64, i64)>,
    /// The clocks' time (boot ns): a frame never starts after it.
    now: i64,
    profile: Profile,
    delivered: u64,
    /// Delivered packets signed with the rig's key.
    genuine: u64,
}

fn controls(c: &OwnedControls) -> Controls<'_> {
    Controls {
        sync_mode: c.sync_mode,
        sync_frames: c.sync_frames,
        frame_duration_limits_us: c.frame_duration_limits_us,
        sync_interface: c
            .sync_interface
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok()),
    }
}

impl Checks {
    /// The frame duration a request's valid `FrameDurationLimits` set (a
    /// camera without `SyncAdjustment` has no sync: its requests change nothing).
    fn apply(&mut self, c: &Controls<'_>) {
        if let Some([min, max]) = c.frame_duration_limits_us
            && (0..=max).contains(&min)
            && self.limits.is_some()
        {
            self.frame_us = min;
        }
    }

    fn adjustment(&self, applied: Option<i32>, op: usize) {
        let Some(a) = applied else { return };
        let p = self.profile;
        assert!(
            within(a, self.limits, self.frame_us),
            "{p:?} op {op}: SyncAdjustment {a} µs outside the camera's limits {:?} or half of \
             the {} µs frame",
            self.limits,
            self.frame_us
        );
    }

    fn completed(&mut self, ts: Option<i64>, fwc: Option<i64>, op: usize) {
        let (Some(ts), Some(fwc)) = (ts, fwc) else {
            return;
        };
        if let Some((lts, lfwc)) = self.last
            && self.clean
            && lts >= 0
            && ts >= lts.saturating_add(1_000_000)
            && ts <= self.now
        {
            assert!(
                fwc >= lfwc,
                "{:?} op {op}: FrameWallClock went back ({lfwc} -> {fwc} ns) while the \
                 timestamp moved on ({lts} -> {ts} ns) and the clocks are clean",
                self.profile
            );
        }
        self.last = Some((ts, fwc));
    }
}

fn complete(i: &Inst, k: &mut Checks, c: Completion, op: usize) {
    let out = i.request_completed(&c).expect("an enabled instance");
    let ts = (!c.cancelled).then_some(c.sensor_timestamp_ns).flatten();
    k.completed(ts, out.frame_wall_clock_ns, op);
}

fn queue(i: &Inst, k: &mut Checks, c: &Controls<'_>, op: usize) {
    let q = i.queue_request(c).expect("an enabled instance");
    k.apply(c);
    k.adjustment(q.sync_adjustment_us, op);
}

fn run(profile: Profile, h: Header, data: &[u8]) {
    let config = Config {
        profile,
        layer: LayerParams {
            sync_period: h.sync_period,
            ready_frame: h.ready_frame,
            min_adjustment_us: h.min_adjustment_us,
            ..LayerParams::default()
        },
        net: NetConfig {
            max_drain: h.max_drain,
            ..NetConfig::default()
        },
        key: h.keyed.then(|| AuthKey::new(KEY).unwrap()),
        ..Config::default()
    };
    let i = Instance::from_parts(
        "fuzz",
        Ok(config),
        MemoryTransport::new(),
        ManualClock::default(),
    );
    let mut m = Model {
        sof: BOOT0,
        now: BOOT0,
    };
    let mut k = Checks {
        limits: None,
        frame_us: 0,
        clean: true,
        last: None,
        now: BOOT0,
        profile,
        delivered: 0,
        genuine: 0,
    };
    let set_model_clock = |i: &Inst, m: &Model, k: &mut Checks| {
        let s = m.sample();
        k.now = m.now;
        i.with_clock(|c| c.set(s, m.now as u64));
    };
    set_model_clock(&i, &m, &mut k);
    let mut r = Reader::new(data);
    let mut n = 0;
    let trace = std::env::var_os("CAMSYNC_FUZZ_TRACE").is_some();
    while let Some(op) = Op::read(&mut r) {
        n += 1;
        if trace {
            eprintln!("{profile:?} op {n}: {op:?}");
        }
        match op {
            Op::Controls(c) => {
                let _ = i.controls(&c).expect("an enabled instance");
                k.limits = c.sync_adjustment_limits_us;
                if c.sync_adjustment_limits_us.is_some()
                    && let Some([min, _]) = c.frame_duration_limits_us
                {
                    k.frame_us = min;
                }
            }
            Op::Start(c) => {
                let c = controls(&c);
                i.start(&c).expect("an enabled instance");
                k.apply(&c);
            }
            Op::Queue(c) => queue(&i, &mut k, &controls(&c), n),
            Op::Complete {
                cancelled,
                sensor_ts_ns,
            } => complete(
                &i,
                &mut k,
                Completion {
                    sensor_timestamp_ns: sensor_ts_ns,
                    cancelled,
                },
                n,
            ),
            Op::Clock(s) => {
                k.clean = false;
                i.with_clock(|c| c.set(s, s.boot_after_ns));
            }
            Op::Datagram(o, d) => {
                if i.with_transport(|t| t.deliver(sent(MemDatagram::new(&d), o))) {
                    k.delivered += 1;
                }
            }
            Op::Packet(o, p, f) => {
                if i.with_transport(|t| t.deliver(sent(MemDatagram::packet(&p, f), o))) {
                    k.delivered += 1;
                }
            }
            Op::Stop => i.stop().expect("an enabled instance"),
            Op::Frame {
                frame_us,
                latency_us,
            } => {
                m.sof += i64::from(frame_us) * 1000;
                m.now = m.now.max(m.sof + i64::from(latency_us) * 1000);
                set_model_clock(&i, &m, &mut k);
                let c = Completion {
                    sensor_timestamp_ns: Some(m.sof),
                    cancelled: false,
                };
                complete(&i, &mut k, c, n);
                queue(&i, &mut k, &Controls::default(), n);
            }
            Op::Plausible {
                origin,
                frame_duration_us,
                ts_off_us,
                ready_off_us,
            } => {
                let wall_us = (m.now + WALL_MINUS_BOOT) / 1000;
                let p = SyncPacket {
                    frame_duration_us,
                    frame_ts_us: (wall_us + i64::from(ts_off_us)) as u64,
                    ready_time_us: (wall_us + i64::from(ready_off_us)) as u64,
                };
                let d = sent(MemDatagram::packet(&p, WireFormat::Layer), origin);
                if i.with_transport(|t| t.deliver(d)) {
                    k.delivered += 1;
                }
            }
            Op::Auth {
                origin,
                signer,
                sender,
                seq,
                frame_duration_us,
                ts_off_us,
                ready_off_us,
            } => {
                let wall_us = (m.now + WALL_MINUS_BOOT) / 1000;
                let a = AuthPacket {
                    sender: u64::from(sender),
                    seq: u64::from(seq),
                    packet: SyncPacket {
                        frame_duration_us,
                        frame_ts_us: (wall_us + i64::from(ts_off_us)) as u64,
                        ready_time_us: (wall_us + i64::from(ready_off_us)) as u64,
                    },
                };
                let bytes = match signer {
                    0 => a.encode(&AuthKey::new(KEY).unwrap()),
                    1 => a.encode(&AuthKey::new(OTHER_KEY).unwrap()),
                    _ => {
                        let mut b = a.encode(&AuthKey::new(KEY).unwrap());
                        b[48..AUTH_LEN].fill(0);
                        b
                    }
                };
                if i.with_transport(|t| t.deliver(sent(MemDatagram::new(&bytes), origin))) {
                    k.delivered += 1;
                    k.genuine += u64::from(signer == 0);
                }
            }
        }
    }
    let s = i.stats();
    assert!(s.rx.accepted + s.rx.rejected() <= k.delivered, "{s:?}");
    if h.keyed {
        assert!(
            s.rx.accepted <= k.genuine,
            "{profile:?}: {} packets accepted, {} signed with the key: {s:?}",
            s.rx.accepted,
            k.genuine
        );
    }
}

static LOG: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    LOG.call_once(|| {
        let _ = tracing::subscriber::set_global_default(logging::subscriber(Arc::new(Discard)));
    });
    let mut r = Reader::new(data);
    let h = Header::read(&mut r);
    let ops = r.rest();
    for &p in Profile::ALL {
        run(p, h, ops);
    }
});
