// SPDX-License-Identifier: LGPL-2.1-or-later
//! A flood rig over real loopback multicast: a server and a client plugin
//! instance (UDP, the system's clocks) frame by frame in real time, a
//! flooder thread sending garbage datagrams to the group meanwhile, and the
//! client's CPU time per `request_completed` (its thread's CPU clock).
//! Used by `tests/net_flood.rs` and `cargo bench --bench flood`.
//!
//! Everything is sent with IP_MULTICAST_IF = 127.0.0.1 and TTL 0: nothing
//! leaves this host.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use camsync::core::auth::{AUTH_LEN, AuthKey, AuthPacket};
use camsync::core::{CameraControls, Completion, Controls, LayerParams, Profile, SyncPacket};
use camsync::net::{NetConfig, Receiver, UdpTransport};
use camsync::plugin::{Config, Instance, SystemClock};

pub const FRAME_US: i64 = 33_333;

/// What one run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloodReport {
    /// Garbage datagrams sent per second (what the flooder achieved).
    pub flood_rate: f64,
    /// The client's `request_completed`, CPU µs per frame: mean and max.
    pub cpu_mean_us: f64,
    pub cpu_max_us: f64,
    /// Packets the server sent, and the client accepted.
    pub sent: u64,
    pub accepted: u64,
    /// Garbage the client read and rejected.
    pub rejected: u64,
    /// Frames whose drain stopped at its bound.
    pub drain_limited: u64,
    /// The client's first SyncReady frame.
    pub client_ready_at: Option<u64>,
    pub frames: u64,
    /// The client's counters.
    pub rx: camsync::plugin::RxStats,
    /// The largest |SyncAdjustment| the client wrote from its ready frame
    /// on, µs.
    pub max_adjustment_after_ready_us: i32,
}

/// What the flooder sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// 24 zero bytes (a zero frame duration).
    Garbage,
    /// A forger: well-formed plain packets of now (half a frame off the
    /// server), authenticated packets signed with another key, and every
    /// authenticated packet of the server replayed three times and once
    /// modified.
    Forger,
}

fn thread_cpu_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

fn boot_ns() -> i64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).unwrap();
    t.tv_sec() * 1_000_000_000 + t.tv_nsec()
}

fn wall_now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Send `rate` datagrams a second of `kind` to the group until `stop`,
/// counting them in `count`.
fn flood(port: u16, rate: u64, kind: Flood, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    s.set_multicast_ttl_v4(0).unwrap();
    s.set_multicast_loop_v4(true).unwrap();
    s.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
        .unwrap();
    let s: UdpSocket = s.into();
    let own = match s.local_addr() {
        Ok(std::net::SocketAddr::V4(a)) => Some(a),
        _ => None,
    };
    let to = SocketAddrV4::new(camsync::net::DEFAULT_GROUP, port);
    // The forger listens to the group for packets to replay.
    let mut ear = (kind == Flood::Forger).then(|| {
        let cfg = NetConfig {
            port,
            ..NetConfig::default()
        };
        Receiver::open(&cfg, Some(Ipv4Addr::LOCALHOST)).unwrap()
    });
    let other_key = AuthKey::new(b"not the rig's key, but as long").unwrap();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if let Some(ear) = ear.as_mut() {
            let mut buf = [0u8; 128];
            while let Ok(Some(r)) = ear.recv(&mut buf) {
                // The server's, not its own (which it hears too).
                if r.len != AUTH_LEN || r.from == own {
                    continue;
                }
                for _ in 0..3 {
                    let _ = s.send_to(&buf[..AUTH_LEN], to);
                }
                let mut modified = buf;
                modified[33] ^= 0x40;
                let _ = s.send_to(&modified[..AUTH_LEN], to);
                sent += 4;
            }
        }
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if sent >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let burst = due.min(sent + 1000) - sent;
        for _ in 0..burst {
            let ok = match kind {
                Flood::Garbage => s.send_to(&[0u8; 24], to).is_ok(),
                Flood::Forger => {
                    let now = wall_now_us();
                    let p = SyncPacket {
                        frame_duration_us: FRAME_US as u32,
                        frame_ts_us: now - FRAME_US as u64 / 2,
                        ready_time_us: now,
                    };
                    if sent.is_multiple_of(2) {
                        s.send_to(p.encode(camsync::core::WireFormat::Layer).as_bytes(), to)
                            .is_ok()
                    } else {
                        seq += 1;
                        let a = AuthPacket {
                            sender: 7,
                            seq,
                            packet: p,
                        };
                        s.send_to(&a.encode(&other_key), to).is_ok()
                    }
                }
            };
            sent += u64::from(ok);
        }
        count.store(sent, Ordering::Relaxed);
    }
}

/// Run `seconds` of frames at 30 fps, flooding at `rate` datagrams a second
/// (0: quiet) throughout.
pub fn run(port: u16, profile: Profile, seconds: f64, rate: u64) -> FloodReport {
    run_with(port, profile, seconds, rate, Flood::Garbage, None)
}

/// [`run`], flooding with `kind`; both cameras with `key` (authenticated
/// packets) if given.
pub fn run_with(
    port: u16,
    profile: Profile,
    seconds: f64,
    rate: u64,
    kind: Flood,
    key: Option<AuthKey>,
) -> FloodReport {
    let cfg = Config {
        key,
        profile,
        layer: LayerParams {
            sync_period: 8,
            ready_frame: 60,
            ..LayerParams::default()
        },
        net: NetConfig {
            port,
            interface: Some("127.0.0.1".into()),
            ttl: 1,
            ..NetConfig::default()
        },
        ..Config::default()
    };
    let inst = |id| {
        Instance::from_parts(
            id,
            Ok(cfg.clone()),
            UdpTransport::new(cfg.net.clone()),
            SystemClock::for_profile(profile),
        )
    };
    let camera = CameraControls {
        sync_adjustment_limits_us: Some([-16_666, 16_666]),
        frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
    };
    let mode = |m| Controls {
        sync_mode: Some(m),
        frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
        ..Controls::default()
    };
    let server = inst("server");
    let client = inst("client");
    server.controls(&camera).unwrap();
    client.controls(&camera).unwrap();
    server.start(&mode(1)).unwrap();
    client.start(&mode(2)).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let flooder = (rate > 0).then(|| {
        let (stop, count) = (stop.clone(), count.clone());
        std::thread::spawn(move || flood(port, rate, kind, stop, count))
    });

    let frames = (seconds * 1e6 / FRAME_US as f64) as u64;
    let t0 = boot_ns();
    let start = Instant::now();
    let mut cpu = Vec::with_capacity(frames as usize);
    let mut client_ready_at = None;
    let mut max_adjustment_after_ready_us = 0;
    for n in 0..frames {
        // Frame n starts at t0 + n frames; it completes 5 ms later.
        let sof = t0 + n as i64 * FRAME_US * 1000;
        let due = Duration::from_nanos((sof - t0 + 5_000_000) as u64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let done = |ts| Completion {
            sensor_timestamp_ns: Some(ts),
            cancelled: false,
        };
        server.queue_request(&Controls::default()).unwrap();
        server.request_completed(&done(sof)).unwrap();
        let q = client.queue_request(&Controls::default()).unwrap();
        if client_ready_at.is_some() {
            max_adjustment_after_ready_us =
                max_adjustment_after_ready_us.max(q.sync_adjustment_us.unwrap_or(0).abs());
        }
        let c0 = thread_cpu_ns();
        let out = client.request_completed(&done(sof + 2_000_000)).unwrap();
        cpu.push((thread_cpu_ns() - c0) as f64 / 1000.0);
        if out.sync_ready == Some(true) && client_ready_at.is_none() {
            client_ready_at = Some(n);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(f) = flooder {
        f.join().unwrap();
    }
    let (ss, cs) = (server.stats(), client.stats());
    FloodReport {
        flood_rate: count.load(Ordering::Relaxed) as f64 / elapsed,
        cpu_mean_us: cpu.iter().sum::<f64>() / cpu.len().max(1) as f64,
        cpu_max_us: cpu.iter().copied().fold(0.0, f64::max),
        sent: ss.packets_sent,
        accepted: cs.rx.accepted,
        rejected: cs.rx.rejected(),
        drain_limited: cs.rx.drain_limited,
        client_ready_at,
        frames,
        rx: cs.rx,
        max_adjustment_after_ready_us,
    }
}
