// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the fuzz targets share: a byte reader that never fails (a short
//! input reads as zeros), and the operation stream of `core_sequence`, with
//! its encoder (the seeds are written in it, `src/bin/seeds.rs`).
//!
//! A `core_sequence` input is a 4-byte header (the layer's tuning) then
//! operations, each a tag byte and its fields, little-endian:
//!
//! | tag % 11 | operation | fields |
//! |---|---|---|
//! | 0 | `controls` hook | flags (1: SyncAdjustment, 2: FrameDurationLimits), adj min i32, adj max i32, fdl min i64, fdl max i64 |
//! | 1 | `start` | controls (below) |
//! | 2 | `queueRequest` | controls |
//! | 3 | `requestCompleted` | flags (1: cancelled, 2: has timestamp), SensorTimestamp i64 |
//! | 4 | set the clocks | boot before u64, wall u64, boot after u64 |
//! | 5 | a raw datagram arrives | origin, len u8, min(len, 64) bytes |
//! | 6 | a packet arrives | origin, format u8, frame duration u32, frame ts u64, ready u64 |
//! | 7 | `stop` | — |
//! | 8 | one frame of a well-behaved camera | frame length µs u16 (+20000), completion latency µs u16 |
//! | 9 | a plausible packet | origin, frame duration u32, frame ts and ready time as i32 µs from the camera's wall clock |
//! | 10 | a plausible authenticated packet | origin, signer u8 (0: the rig's key, 1: another, 2: none, a MAC of zeros), sender u8, sequence u16, then as 9 |
//!
//! Origin (u8): bits 0-1 the sender (0: unknown, else 192.0.2.1-3), bit 2
//! sent to this host rather than to the group.
//!
//! The header's byte 3, bit 7: the rig has a key (`key_file`), [`KEY`].
//!
//! Controls: flags u8 (1: SyncMode, 2: SyncFrames, 4: FrameDurationLimits,
//! 8: SyncInterface), then only the fields flagged: mode i32, frames i32,
//! limits 2 × i64, interface length u8 and up to 48 bytes.

use std::net::{Ipv4Addr, SocketAddrV4};

use camsync::core::{CameraControls, ClockSample, SyncPacket, WireFormat};

/// Who sent a datagram, and to where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin(pub u8);

impl Origin {
    /// From the first server (192.0.2.1), to the group.
    pub const SERVER: Origin = Origin(1);

    /// The sender's address (`None`: unknown).
    pub fn from(self) -> Option<SocketAddrV4> {
        match self.0 & 3 {
            0 => None,
            n => Some(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, n), 40_001)),
        }
    }

    /// Where it was sent: this host (unicast), or the group.
    pub fn to(self) -> Ipv4Addr {
        if self.0 & 4 != 0 {
            Ipv4Addr::new(192, 0, 2, 100)
        } else {
            Ipv4Addr::new(239, 255, 255, 250)
        }
    }
}

/// Reads little-endian values; past the end everything is zero.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let b = self.bytes(N);
        out[..b.len()].copy_from_slice(b);
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    pub fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.array())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
    pub fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.array())
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    /// The rest of the input.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(usize::MAX)
    }
}

/// The controls of `start` and `queueRequest`, owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedControls {
    pub sync_mode: Option<i32>,
    pub sync_frames: Option<i32>,
    pub frame_duration_limits_us: Option<[i64; 2]>,
    /// Raw bytes: not necessarily UTF-8.
    pub sync_interface: Option<Vec<u8>>,
}

/// The tuning in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub sync_period: u32,
    pub ready_frame: u32,
    pub min_adjustment_us: u32,
    pub max_drain: usize,
    /// The cameras have the rig's key ([`KEY`]).
    pub keyed: bool,
}

/// The rig's pre-shared key in a keyed input, and another one.
pub const KEY: &[u8] = b"camsync fuzz key, 32 bytes long!";
pub const OTHER_KEY: &[u8] = b"camsync fuzz key, 32 bytes long?";

impl Header {
    pub fn read(r: &mut Reader<'_>) -> Header {
        let b = r.array::<4>();
        Header {
            sync_period: 1 + u32::from(b[0] & 63),
            ready_frame: 1 + u32::from(b[1]),
            min_adjustment_us: u32::from(b[2]) * 4,
            max_drain: 1 + usize::from(b[3] & 63),
            keyed: b[3] & 0x80 != 0,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push((self.sync_period.clamp(1, 64) - 1) as u8);
        out.push((self.ready_frame.clamp(1, 256) - 1) as u8);
        out.push((self.min_adjustment_us / 4).min(255) as u8);
        out.push((self.max_drain.clamp(1, 64) - 1) as u8 | if self.keyed { 0x80 } else { 0 });
    }
}

/// One operation of a `core_sequence` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Controls(CameraControls),
    Start(OwnedControls),
    Queue(OwnedControls),
    Complete {
        cancelled: bool,
        sensor_ts_ns: Option<i64>,
    },
    Clock(ClockSample),
    Datagram(Origin, Vec<u8>),
    Packet(Origin, SyncPacket, WireFormat),
    Stop,
    /// One frame of a camera whose clocks behave: its start of frame moves
    /// on by `frame_us` (20000 + the field), it completes `latency_us`
    /// later, and the next request is queued.
    Frame {
        frame_us: u32,
        latency_us: u32,
    },
    /// A packet whose times are offsets (µs) from the camera's wall clock.
    Plausible {
        origin: Origin,
        frame_duration_us: u32,
        ts_off_us: i32,
        ready_off_us: i32,
    },
    /// As `Plausible`, in the authenticated format, signed by `signer`
    /// (0: [`KEY`], 1: [`OTHER_KEY`], else unsigned: a MAC of zeros).
    Auth {
        origin: Origin,
        signer: u8,
        sender: u8,
        seq: u16,
        frame_duration_us: u32,
        ts_off_us: i32,
        ready_off_us: i32,
    },
}

/// The longest `SyncInterface` an input carries (longer than the control's 40).
pub const MAX_IFACE: usize = 48;
/// The longest raw datagram kept (`MemDatagram`'s capacity).
pub const MAX_DATAGRAM: usize = 64;

fn read_controls(r: &mut Reader<'_>) -> OwnedControls {
    let f = r.u8();
    OwnedControls {
        sync_mode: (f & 1 != 0).then(|| r.i32()),
        sync_frames: (f & 2 != 0).then(|| r.i32()),
        frame_duration_limits_us: (f & 4 != 0).then(|| [r.i64(), r.i64()]),
        sync_interface: (f & 8 != 0).then(|| {
            let n = usize::from(r.u8()).min(MAX_IFACE);
            r.bytes(n).to_vec()
        }),
    }
}

fn write_controls(c: &OwnedControls, out: &mut Vec<u8>) {
    let f = u8::from(c.sync_mode.is_some())
        | u8::from(c.sync_frames.is_some()) << 1
        | u8::from(c.frame_duration_limits_us.is_some()) << 2
        | u8::from(c.sync_interface.is_some()) << 3;
    out.push(f);
    if let Some(m) = c.sync_mode {
        out.extend(m.to_le_bytes());
    }
    if let Some(n) = c.sync_frames {
        out.extend(n.to_le_bytes());
    }
    if let Some([a, b]) = c.frame_duration_limits_us {
        out.extend(a.to_le_bytes());
        out.extend(b.to_le_bytes());
    }
    if let Some(i) = &c.sync_interface {
        let i = &i[..i.len().min(MAX_IFACE)];
        out.push(i.len() as u8);
        out.extend(i);
    }
}

impl Op {
    /// The next operation, or `None` at the end of the input.
    pub fn read(r: &mut Reader<'_>) -> Option<Op> {
        if r.is_empty() {
            return None;
        }
        Some(match r.u8() % 11 {
            0 => {
                let f = r.u8();
                let (amin, amax) = (r.i32(), r.i32());
                let (fmin, fmax) = (r.i64(), r.i64());
                Op::Controls(CameraControls {
                    sync_adjustment_limits_us: (f & 1 != 0).then_some([amin, amax]),
                    frame_duration_limits_us: (f & 2 != 0).then_some([fmin, fmax]),
                })
            }
            1 => Op::Start(read_controls(r)),
            2 => Op::Queue(read_controls(r)),
            3 => {
                let f = r.u8();
                let ts = r.i64();
                Op::Complete {
                    cancelled: f & 1 != 0,
                    sensor_ts_ns: (f & 2 != 0).then_some(ts),
                }
            }
            4 => Op::Clock(ClockSample {
                boot_before_ns: r.u64(),
                wall_ns: r.u64(),
                boot_after_ns: r.u64(),
            }),
            5 => {
                let o = Origin(r.u8());
                let n = usize::from(r.u8());
                // A datagram longer than the capacity keeps its length only.
                let mut d = r.bytes(n.min(MAX_DATAGRAM)).to_vec();
                d.resize(n, 0);
                Op::Datagram(o, d)
            }
            6 => {
                let o = Origin(r.u8());
                let format = if r.bool() {
                    WireFormat::Rpi
                } else {
                    WireFormat::Layer
                };
                Op::Packet(
                    o,
                    SyncPacket {
                        frame_duration_us: r.u32(),
                        frame_ts_us: r.u64(),
                        ready_time_us: r.u64(),
                    },
                    format,
                )
            }
            7 => Op::Stop,
            8 => Op::Frame {
                frame_us: 20_000 + u32::from(r.u16()),
                latency_us: u32::from(r.u16()),
            },
            9 => Op::Plausible {
                origin: Origin(r.u8()),
                frame_duration_us: r.u32(),
                ts_off_us: r.i32(),
                ready_off_us: r.i32(),
            },
            _ => Op::Auth {
                origin: Origin(r.u8()),
                signer: r.u8(),
                sender: r.u8(),
                seq: r.u16(),
                frame_duration_us: r.u32(),
                ts_off_us: r.i32(),
                ready_off_us: r.i32(),
            },
        })
    }

    /// Append this operation's encoding (what [`Op::read`] reads back).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::Controls(c) => {
                out.push(0);
                let a = c.sync_adjustment_limits_us;
                let f = c.frame_duration_limits_us;
                out.push(u8::from(a.is_some()) | u8::from(f.is_some()) << 1);
                let [amin, amax] = a.unwrap_or_default();
                let [fmin, fmax] = f.unwrap_or_default();
                out.extend(amin.to_le_bytes());
                out.extend(amax.to_le_bytes());
                out.extend(fmin.to_le_bytes());
                out.extend(fmax.to_le_bytes());
            }
            Op::Start(c) => {
                out.push(1);
                write_controls(c, out);
            }
            Op::Queue(c) => {
                out.push(2);
                write_controls(c, out);
            }
            Op::Complete {
                cancelled,
                sensor_ts_ns,
            } => {
                out.push(3);
                out.push(u8::from(*cancelled) | u8::from(sensor_ts_ns.is_some()) << 1);
                out.extend(sensor_ts_ns.unwrap_or(0).to_le_bytes());
            }
            Op::Clock(s) => {
                out.push(4);
                out.extend(s.boot_before_ns.to_le_bytes());
                out.extend(s.wall_ns.to_le_bytes());
                out.extend(s.boot_after_ns.to_le_bytes());
            }
            Op::Datagram(o, d) => {
                out.push(5);
                out.push(o.0);
                let n = d.len().min(255);
                out.push(n as u8);
                out.extend(&d[..n.min(MAX_DATAGRAM)]);
            }
            Op::Packet(o, p, f) => {
                out.push(6);
                out.push(o.0);
                out.push(u8::from(*f == WireFormat::Rpi));
                out.extend(p.frame_duration_us.to_le_bytes());
                out.extend(p.frame_ts_us.to_le_bytes());
                out.extend(p.ready_time_us.to_le_bytes());
            }
            Op::Stop => out.push(7),
            Op::Frame {
                frame_us,
                latency_us,
            } => {
                out.push(8);
                let f = frame_us.saturating_sub(20_000).min(u32::from(u16::MAX)) as u16;
                out.extend(f.to_le_bytes());
                out.extend((*latency_us).min(u32::from(u16::MAX)).to_le_bytes()[..2].iter());
            }
            Op::Plausible {
                origin,
                frame_duration_us,
                ts_off_us,
                ready_off_us,
            } => {
                out.push(9);
                out.push(origin.0);
                out.extend(frame_duration_us.to_le_bytes());
                out.extend(ts_off_us.to_le_bytes());
                out.extend(ready_off_us.to_le_bytes());
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
                out.push(10);
                out.extend([origin.0, *signer, *sender]);
                out.extend(seq.to_le_bytes());
                out.extend(frame_duration_us.to_le_bytes());
                out.extend(ts_off_us.to_le_bytes());
                out.extend(ready_off_us.to_le_bytes());
            }
        }
    }
}

/// Whether `a` (µs) is within the camera's limits and ± half of a frame of
/// `frame_us` (if known, > 0); where the two leave nothing in common (limits
/// without 0), only 0 is.
pub fn within(a: i32, limits: Option<[i32; 2]>, frame_us: i64) -> bool {
    let a = i64::from(a);
    let (mut lo, mut hi) = limits.map_or((i64::MIN, i64::MAX), |[x, y]| {
        (i64::from(x.min(y)), i64::from(x.max(y)))
    });
    if frame_us > 0 {
        (lo, hi) = (lo.max(-(frame_us / 2)), hi.min(frame_us / 2));
    }
    // Limits that leave out 0 (or half a frame) allow only 0: no change.
    if lo > 0 || hi < 0 {
        a == 0
    } else {
        (lo..=hi).contains(&a)
    }
}

/// Encode a whole input.
pub fn encode(header: &Header, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    header.encode(&mut out);
    for op in ops {
        op.encode(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip() {
        let h = Header {
            sync_period: 5,
            ready_frame: 20,
            min_adjustment_us: 48,
            max_drain: 8,
            keyed: true,
        };
        let ops = vec![
            Op::Controls(CameraControls {
                sync_adjustment_limits_us: Some([-16_666, 16_666]),
                frame_duration_limits_us: Some([33_333, 33_333]),
            }),
            Op::Start(OwnedControls {
                sync_mode: Some(2),
                frame_duration_limits_us: Some([33_333, 33_333]),
                sync_interface: Some(b"lo".to_vec()),
                ..OwnedControls::default()
            }),
            Op::Clock(ClockSample {
                boot_before_ns: 1,
                wall_ns: 2,
                boot_after_ns: 3,
            }),
            Op::Datagram(Origin(5), vec![7; 100]),
            Op::Packet(
                Origin::SERVER,
                SyncPacket {
                    frame_duration_us: 33_333,
                    frame_ts_us: 9,
                    ready_time_us: 10,
                },
                WireFormat::Rpi,
            ),
            Op::Complete {
                cancelled: false,
                sensor_ts_ns: Some(5),
            },
            Op::Frame {
                frame_us: 33_333,
                latency_us: 5_000,
            },
            Op::Plausible {
                origin: Origin(2),
                frame_duration_us: 33_333,
                ts_off_us: -10,
                ready_off_us: 3_000_000,
            },
            Op::Auth {
                origin: Origin::SERVER,
                signer: 1,
                sender: 7,
                seq: 9,
                frame_duration_us: 33_333,
                ts_off_us: -5,
                ready_off_us: 1_000,
            },
            Op::Queue(OwnedControls::default()),
            Op::Stop,
        ];
        let bytes = encode(&h, &ops);
        let mut r = Reader::new(&bytes);
        assert_eq!(Header::read(&mut r), h);
        let mut back = Vec::new();
        while let Some(op) = Op::read(&mut r) {
            back.push(op);
        }
        // A long datagram keeps its length, its bytes beyond 64 are zero.
        let mut want = ops.clone();
        if let Op::Datagram(_, d) = &mut want[3] {
            d[MAX_DATAGRAM..].fill(0);
        }
        assert_eq!(back, want);
    }
}
