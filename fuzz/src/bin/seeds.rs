// SPDX-License-Identifier: LGPL-2.1-or-later
//! Writes the seed corpora, `fuzz/corpus/<target>/`: the golden traces'
//! opening (a server's and a client's first frames, hook for hook, with
//! their clock samples and packets) for `core_sequence` and `wire_decode`,
//! a few runs of the well-behaved camera model, and small hand-made inputs
//! for `config` and `c_api`.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --features seeds --bin seeds`

use std::path::{Path, PathBuf};

use camsync::core::{CameraControls, ClockSample, WireFormat};
use camsync::replay::trace::{self, Line, TraceControls};
use camsync_fuzz::{Header, Op, Origin, OwnedControls, encode};

/// Trace lines taken from each file: a server reaches SyncReady at frame
/// 100, so ~150 frames (two lines each) show the interesting part.
const LINES: usize = 320;

fn controls(c: &TraceControls) -> OwnedControls {
    OwnedControls {
        sync_mode: c.sync_mode,
        sync_frames: c.sync_frames,
        frame_duration_limits_us: c.frame_duration_limits_us,
        sync_interface: c.sync_interface.as_ref().map(|s| s.as_bytes().to_vec()),
    }
}

fn packets(rx: &[trace::TracePacket], ops: &mut Vec<Op>) {
    for p in rx {
        ops.push(Op::Packet(Origin::SERVER, p.packet(), WireFormat::Layer));
    }
}

/// A trace's first lines as operations, and the packets seen in it.
fn from_trace(path: &Path) -> (Header, Vec<Op>, Vec<Vec<u8>>) {
    let mut header = Header {
        sync_period: 30,
        ready_frame: 100,
        min_adjustment_us: 50,
        max_drain: 32,
        keyed: false,
    };
    let mut ops = Vec::new();
    let mut wire = Vec::new();
    let reader = trace::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for line in std::io::BufRead::lines(reader).take(LINES) {
        let line = line.unwrap();
        let clock = |c: Option<trace::TraceClock>, ops: &mut Vec<Op>| {
            if let Some(c) = c {
                ops.push(Op::Clock(ClockSample::from(c)));
            }
        };
        match serde_json::from_str::<Line>(&line).unwrap() {
            Line::Header(h) => {
                let p = h.layer_params();
                header = Header {
                    sync_period: p.sync_period,
                    ready_frame: p.ready_frame,
                    min_adjustment_us: p.min_adjustment_us,
                    max_drain: 32,
                    keyed: false,
                };
                let c = &h.camera_controls;
                ops.push(Op::Controls(CameraControls {
                    sync_adjustment_limits_us: c
                        .sync_adjustment
                        .then_some(c.sync_adjustment_limits_us.unwrap_or([-16_666, 16_666])),
                    frame_duration_limits_us: c.frame_duration_limits_us,
                }));
            }
            Line::Controls(_) => {}
            Line::Start(s) => {
                clock(s.clock, &mut ops);
                packets(&s.rx, &mut ops);
                ops.push(Op::Start(controls(&s.controls)));
            }
            Line::Queue(q) => {
                packets(&q.rx, &mut ops);
                ops.push(Op::Queue(controls(&q.controls)));
            }
            Line::Complete(c) => {
                packets(&c.rx, &mut ops);
                for p in c.rx.iter().chain(c.expect.tx.iter()).take(1) {
                    wire.push(p.packet().encode(WireFormat::Layer).as_bytes().to_vec());
                    wire.push(p.packet().encode(WireFormat::Rpi).as_bytes().to_vec());
                }
                clock(c.clock, &mut ops);
                ops.push(Op::Complete {
                    cancelled: c.cancelled,
                    sensor_ts_ns: c.sensor_timestamp_ns,
                });
            }
        }
    }
    (header, ops, wire)
}

const CAMERA: CameraControls = CameraControls {
    sync_adjustment_limits_us: Some([-16_666, 16_666]),
    frame_duration_limits_us: Some([33_333, 33_333]),
};

fn start(mode: i32) -> Op {
    Op::Start(OwnedControls {
        sync_mode: Some(mode),
        frame_duration_limits_us: Some([33_333, 33_333]),
        ..OwnedControls::default()
    })
}

/// The model camera: a client hearing a plausible server every 30 frames,
/// a server, and a client whose mode flips.
fn model_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let h = Header {
        sync_period: 30,
        ready_frame: 100,
        min_adjustment_us: 50,
        max_drain: 32,
        keyed: false,
    };
    let frame = Op::Frame {
        frame_us: 33_333,
        latency_us: 6_000,
    };
    let queued = vec![Op::Queue(OwnedControls::default()); 4];
    let mut client = vec![Op::Controls(CAMERA), start(2)];
    client.extend(queued.clone());
    for n in 0..300 {
        if n % 30 == 29 {
            client.push(Op::Plausible {
                origin: Origin::SERVER,
                frame_duration_us: 33_333,
                ts_off_us: -17_000,
                ready_off_us: 2_000_000 - n * 33_333,
            });
        }
        client.push(frame.clone());
    }
    let mut server = vec![Op::Controls(CAMERA), start(1)];
    server.extend(queued.clone());
    server.extend(std::iter::repeat_n(frame.clone(), 140));
    let mut flips = vec![Op::Controls(CAMERA), start(2)];
    flips.extend(queued);
    for n in 0..120 {
        if n % 7 == 0 {
            flips.push(Op::Queue(OwnedControls {
                sync_mode: Some(n / 7 % 3),
                ..OwnedControls::default()
            }));
        }
        if n % 10 == 9 {
            flips.push(Op::Plausible {
                origin: Origin::SERVER,
                frame_duration_us: 33_333,
                ts_off_us: -9_000,
                ready_off_us: 1_000_000,
            });
        }
        flips.push(frame.clone());
    }
    // A keyed client: its server signs, a forger sends plain and badly
    // signed packets between.
    let mut keyed = vec![Op::Controls(CAMERA), start(2)];
    keyed.extend(vec![Op::Queue(OwnedControls::default()); 4]);
    for n in 0..300u16 {
        if n % 30 == 29 {
            let ready_off_us = 2_000_000 - i32::from(n) * 33_333;
            keyed.push(Op::Auth {
                origin: Origin::SERVER,
                signer: 0,
                sender: 1,
                seq: n,
                frame_duration_us: 33_333,
                ts_off_us: -17_000,
                ready_off_us,
            });
            keyed.push(Op::Plausible {
                origin: Origin(2),
                frame_duration_us: 33_333,
                ts_off_us: -12_000,
                ready_off_us,
            });
            keyed.push(Op::Auth {
                origin: Origin::SERVER,
                signer: 1 + (n / 30 % 2) as u8,
                sender: 1,
                seq: n + 1,
                frame_duration_us: 33_333,
                ts_off_us: -12_000,
                ready_off_us,
            });
        }
        keyed.push(frame.clone());
    }
    vec![
        (
            "model_keyed_client",
            encode(&Header { keyed: true, ..h }, &keyed),
        ),
        ("model_client", encode(&h, &client)),
        ("model_server", encode(&h, &server)),
        (
            "model_mode_flips",
            encode(
                &Header {
                    sync_period: 10,
                    ..h
                },
                &flips,
            ),
        ),
    ]
}

fn c_api_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut s = Vec::new();
    // controls: SyncAdjustment ±16666, FrameDurationLimits 33333.
    s.push(0u8);
    s.push(3);
    s.extend((-16_666i32).to_le_bytes());
    s.extend(16_666i32.to_le_bytes());
    s.extend(33_333i64.to_le_bytes());
    s.extend(33_333i64.to_le_bytes());
    // start: client, frame duration, SyncInterface "127.0.0.1".
    let request = |s: &mut Vec<u8>, op: u8, mode: i32, iface: &[u8]| {
        s.push(op);
        s.push(1 | 4 | if iface.is_empty() { 0 } else { 8 });
        s.extend(mode.to_le_bytes());
        s.extend(0i32.to_le_bytes());
        s.extend(33_333i64.to_le_bytes());
        s.extend(33_333i64.to_le_bytes());
        if !iface.is_empty() {
            s.push(iface.len() as u8);
            s.extend(iface);
        }
        s.push(0); // controls not null
    };
    request(&mut s, 1, 2, b"127.0.0.1");
    for n in 0..40i64 {
        request(&mut s, 2, if n == 20 { 1 } else { 2 }, b"");
        s.push(3);
        s.push(2);
        s.extend((7_000_000_000 + n * 33_333_000).to_le_bytes());
    }
    s.push(5); // stats
    s.push(4); // stop
    s.push(7); // result names
    vec![("client_then_server", s)]
}

fn config_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let input = |camera: &str, file: &str, env: &[(u8, &str)], spec: &str| {
        let mut s = vec![camera.len() as u8];
        s.extend(camera.as_bytes());
        s.extend((file.len() as u16).to_le_bytes());
        s.extend(file.as_bytes());
        s.push(env.len() as u8);
        for (k, v) in env {
            s.push(*k);
            s.push(v.len() as u8);
            s.extend(v.as_bytes());
        }
        s.extend(spec.as_bytes());
        s
    };
    let file = "# sync\ninterface = 127.0.0.1\nsync_period = 15\nprofile = compat\n\n\
                [/base/i2c@88000/imx708@1a]\nport = 10001\nwire_format = rpi\nttl = 2\n\
                loopback = off\nready_tolerance = 25\npacket_timeout = 0\n";
    vec![
        (
            "file_and_env",
            input(
                "/base/i2c@88000/imx708@1a",
                file,
                &[(2, "239.1.2.3"), (3, "12345"), (7, "lo")],
                "SyncLayer:DEBUG,*:WARN,Sync*:0",
            ),
        ),
        (
            "bad_values",
            input("cam", "[cam\nport = 0\n", &[(8, "256"), (0, "fast")], "*:"),
        ),
    ]
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let traces = fuzz.join("../tests/traces");
    let corpus = fuzz.join("corpus");
    for t in ["core_sequence", "wire_decode", "config", "c_api"] {
        let _ = std::fs::remove_dir_all(corpus.join(t));
    }
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    scenarios.sort();
    let mut wire = Vec::new();
    for s in &scenarios {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        // Every scenario's first client; the servers of two.
        let mut cams = vec!["cam1"];
        if ["basic", "server_restart"].contains(&name.as_str()) {
            cams.push("cam0");
        }
        for cam in cams {
            let (h, ops, w) = from_trace(&s.join(format!("{cam}.jsonl.gz")));
            write(
                &corpus.join("core_sequence"),
                &format!("trace_{name}_{cam}"),
                &encode(&h, &ops),
            );
            wire.extend(w);
        }
    }
    for (name, data) in model_seeds() {
        write(&corpus.join("core_sequence"), name, &data);
    }
    wire.sort();
    wire.dedup();
    // A receiver at 30 fps whose wall clock is the packet's frame time.
    let receiver = |d: &[u8]| {
        let mut s = 33_333i64.to_le_bytes().to_vec();
        let ts = d
            .get(8..16)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
        s.extend(ts.to_le_bytes());
        s.extend(d);
        s
    };
    for (n, d) in wire.iter().take(6).enumerate() {
        write(
            &corpus.join("wire_decode"),
            &format!("trace_packet_{n}"),
            &receiver(d),
        );
    }
    write(&corpus.join("wire_decode"), "short", &receiver(&[0x5a; 23]));
    write(&corpus.join("wire_decode"), "long", &receiver(&[0x5a; 41]));
    for (name, data) in c_api_seeds() {
        write(&corpus.join("c_api"), name, &data);
    }
    for (name, data) in config_seeds() {
        write(&corpus.join("config"), name, &data);
    }
    println!("seeds written to {}", corpus.display());
}
