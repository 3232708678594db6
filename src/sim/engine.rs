// SPDX-License-Identifier: LGPL-2.1-or-later
//! The virtual-time event loop: every camera's sensor, hooks, clocks and the
//! network between them, in true-time order. Each camera runs the shipped
//! plugin instance (`plugin::Instance`) over a [`MemoryTransport`], reading a
//! [`ManualClock`] the loop sets from the host model at each hook call. One
//! run per core profile, on identical inputs (every random draw comes from a
//! per-purpose stream that does not depend on what the algorithm does).

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::faults::{FORGER_ADDR, Faults, camera_addr};
use super::rng::Rng;
use super::scenario::{CameraSpec, Role, Scenario, ScheduleMode};
use super::sensor::{HostClock, Sensor};
use crate::core::{
    CameraControls, ClockSample, Completion, Controls, Mode, Profile, SyncPacket, WireFormat,
};
use crate::net::{MemDatagram, MemoryTransport};
use crate::plugin::{Config, Instance, ManualClock};

/// One sensor frame of one camera, as it happened (the simulator's truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRecord {
    /// The camera's run (0, then 1 after a restart).
    pub run: u32,
    /// Run-local frame index.
    pub frame: u64,
    /// True start of frame, ns.
    pub true_sof_ns: i64,
    pub lines: u64,
    pub adj_lines: i64,
    /// The SyncAdjustment applied to this frame, µs.
    pub adj_us: i32,
    /// The frame had no completion.
    pub dropped: bool,
    /// `SyncReady` as the layer reported it (None: not reported / dropped).
    pub sync_ready: Option<bool>,
    /// The client's correction computed on this frame, µs.
    pub correction_us: Option<i32>,
    /// Packets the layer read on this frame's completion.
    pub packets: u32,
    /// The client's own estimate of this frame's phase error, ns.
    pub estimated_error_ns: Option<i64>,
}

/// What one camera did during a run.
#[derive(Debug, Clone, Default)]
pub struct CameraTrace {
    pub frames: Vec<FrameRecord>,
    /// Non-zero SyncAdjustments the layer wrote.
    pub adjustments_requested: u64,
    /// Adjustments the sensor applied.
    pub adjustments_applied: u64,
    pub packets_sent: u64,
    pub packets_read: u64,
    /// Datagrams that reached the host while the camera had no receiver.
    pub packets_undeliverable: u64,
    /// The largest |SyncAdjustment| the layer wrote, µs.
    pub max_adjustment_us: u32,
    /// Warnings the layer gave about its host's wall clock.
    pub clock_warnings: u64,
}

/// Which profile the server and the clients run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rig {
    pub server: Profile,
    pub client: Profile,
}

impl Rig {
    /// The profile of a camera in `role`.
    pub fn profile(&self, role: Role) -> Profile {
        match role {
            Role::Server => self.server,
            Role::Client => self.client,
        }
    }

    /// Every camera on `p`.
    pub const fn uniform(p: Profile) -> Rig {
        Rig {
            server: p,
            client: p,
        }
    }

    /// `precision`, or `precision client / compat server` for a mixed rig.
    pub fn name(&self) -> String {
        if self.server == self.client {
            self.client.name().to_string()
        } else {
            format!(
                "{} client / {} server",
                self.client.name(),
                self.server.name()
            )
        }
    }
}

/// The result of simulating one profile.
#[derive(Debug, Clone)]
pub struct ProfileRun {
    pub rig: Rig,
    pub cameras: Vec<CameraTrace>,
    /// Streaming spans of the server, true ns (start of first frame, start of last frame).
    pub server_runs: Vec<(i64, i64)>,
    /// When the run ended, true ns.
    pub end_ns: i64,
    /// The hosts' clocks as the run began, and the wall-clock steps made
    /// during it: (true ns, host, step ns).
    pub hosts: Vec<HostClock>,
    pub wall_steps: Vec<(i64, usize, i64)>,
}

impl ProfileRun {
    /// The residual error of `host`'s wall clock at true time `t`, ns.
    pub fn wall_error(&self, host: usize, t: i64) -> i64 {
        let stepped: i64 = self
            .wall_steps
            .iter()
            .filter(|&&(at, h, _)| h == host && at <= t)
            .map(|s| s.2)
            .sum();
        self.hosts.get(host).map_or(0, |h| h.wall_error(t)) + stepped
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EvKind {
    /// A datagram arrives at a camera's host (sorts before hooks at equal times).
    Deliver {
        to: usize,
        packet: u32,
    },
    Start {
        cam: usize,
    },
    FrameStart {
        cam: usize,
        run: u32,
    },
    Complete {
        cam: usize,
        run: u32,
        record: usize,
        sensor_ts: i64,
    },
    Stop {
        cam: usize,
        gap_ns: i64,
    },
    /// The forger sends (see [`Faults::forger`]).
    Forge,
}

impl EvKind {
    fn class(&self) -> u8 {
        match self {
            EvKind::Deliver { .. } => 0,
            _ => 1,
        }
    }
}

/// What each camera runs: the plugin instance, over memory, on a set clock.
type SimInstance = Instance<MemoryTransport, ManualClock>;

struct Camera {
    inst: SimInstance,
    /// The mode its application sets.
    mode: Mode,
    sensor: Option<Sensor>,
    run: u32,
    started_runs: u32,
    last_completion: i64,
    trace: CameraTrace,
    latency: Rng,
    gaps: Rng,
    noise: Rng,
    drops: Rng,
    startup: Rng,
    jitter: Rng,
    /// The faults' own draws (frame drops), and the requests queued.
    fault_drops: Rng,
    requests: u64,
    /// The application has set SyncMode Off (a mode flip).
    flipped_off: bool,
}

struct Engine<'s> {
    sc: &'s Scenario,
    faults: &'s Faults,
    /// (sender, receiver) streams of the network faults, row-major.
    fault_net: Vec<Rng>,
    /// The server's latest packet (what a forger copies).
    last_server_packet: Option<SyncPacket>,
    hosts: Vec<HostClock>,
    cams: Vec<Camera>,
    /// (sender, receiver) network streams, row-major.
    net: Vec<Rng>,
    queue: BinaryHeap<Reverse<(i64, u8, u64, EvKind)>>,
    seq: u64,
    /// Every datagram sent, delivered by index.
    packets: Vec<MemDatagram>,
    server_frames: u64,
    server_runs: Vec<(i64, i64)>,
    end_ns: Option<i64>,
    now: i64,
    wall_steps: Vec<(i64, usize, i64)>,
}

/// Simulate `sc` with the core running `profile` on every camera.
pub fn run(sc: &Scenario, profile: Profile) -> ProfileRun {
    run_rig(sc, Rig::uniform(profile))
}

/// Simulate `sc` with the server and the clients on the profiles of `rig`,
/// every camera otherwise configured as the scenario says.
pub fn run_rig(sc: &Scenario, rig: Rig) -> ProfileRun {
    let base = sc.params.config();
    run_configured(sc, rig, |c| {
        sc.params.camera_config(&base, c.role, rig.profile(c.role))
    })
}

/// Simulate `sc` with each camera's plugin instance configured by `config`;
/// `rig` names the run in reports.
pub fn run_configured(
    sc: &Scenario,
    rig: Rig,
    config: impl Fn(&CameraSpec) -> Config,
) -> ProfileRun {
    run_with_faults(sc, rig, config, &Faults::default())
}

thread_local! {
    static NOW: Cell<Option<i64>> = const { Cell::new(None) };
}

/// The true time (ns) of the event the simulation running on this thread
/// is handling, if one is: what a log sink stamps a record with.
pub fn virtual_now_ns() -> Option<i64> {
    NOW.with(Cell::get)
}

/// As [`run_configured`], with `faults` on top of the scenario.
pub fn run_with_faults(
    sc: &Scenario,
    rig: Rig,
    config: impl Fn(&CameraSpec) -> Config,
    faults: &Faults,
) -> ProfileRun {
    let p = &sc.params;
    let seed = p.seed;
    let ncams = sc.cameras.len();
    let cams = sc
        .cameras
        .iter()
        .map(|c| {
            let s = |what: &str| Rng::stream(seed, &format!("{what}/{}", c.name));
            let config = config(c);
            // Following the schedule, the server camera is one more client.
            let mode = match c.role {
                Role::Server
                    if config.layer.precision.schedule && p.schedule == ScheduleMode::All =>
                {
                    Mode::Client
                }
                Role::Server => Mode::Server,
                Role::Client => Mode::Client,
            };
            Camera {
                inst: Instance::from_parts(
                    &c.name,
                    Ok(config),
                    MemoryTransport::new(),
                    ManualClock {
                        kernel: sc.host_clocks.get(c.host).copied(),
                        ..ManualClock::default()
                    },
                ),
                mode,
                sensor: None,
                run: 0,
                started_runs: 0,
                last_completion: i64::MIN / 2,
                trace: CameraTrace::default(),
                latency: s("latency"),
                gaps: s("gaps"),
                noise: s("noise"),
                drops: s("drops"),
                startup: s("startup"),
                jitter: s("jitter"),
                fault_drops: s("fault/drops"),
                requests: 0,
                flipped_off: false,
            }
        })
        .collect();
    let mut net = Vec::with_capacity(ncams * ncams);
    let mut fault_net = Vec::with_capacity(ncams * ncams);
    for a in &sc.cameras {
        for b in &sc.cameras {
            net.push(Rng::stream(seed, &format!("net/{}->{}", a.name, b.name)));
            fault_net.push(Rng::stream(
                seed,
                &format!("fault/net/{}->{}", a.name, b.name),
            ));
        }
    }
    let mut e = Engine {
        sc,
        faults,
        fault_net,
        last_server_packet: None,
        hosts: sc.hosts.clone(),
        cams,
        net,
        queue: BinaryHeap::new(),
        seq: 0,
        packets: Vec::new(),
        server_frames: 0,
        server_runs: Vec::new(),
        end_ns: None,
        now: 0,
        wall_steps: Vec::new(),
    };
    let fd = i64::from(p.frame_duration_us);
    for (i, c) in sc.cameras.iter().enumerate() {
        // The camera's supported range: its mode's shortest frame (the
        // half-frame clamp when the scenario sets no mode limit) to 1 s.
        let mode_min = p.mode_min_frame_us.map_or(fd / 2, i64::from);
        let limit = faults
            .adjust_limit_us
            .map_or((fd / 2) as i32, |l| l.unsigned_abs() as i32);
        let controls = CameraControls {
            sync_adjustment_limits_us: Some([-limit, limit]),
            frame_duration_limits_us: Some([mode_min, 1_000_000]),
        };
        // An enabled instance: the result is the controls added.
        let _ = e.cams[i].inst.controls(&controls);
        e.push(c.start_ns, EvKind::Start { cam: i });
    }
    if faults.forger.is_some() {
        e.push(faults.window_ns.0, EvKind::Forge);
    }
    // A bound in case the server never reaches its last frame.
    let hard_end = sc.cameras.iter().map(|c| c.start_ns).max().unwrap_or(0)
        + (p.frames as i64 + 1000) * fd * 2000
        + p.restart_gap_ms as i64 * 1_000_000;
    while let Some(Reverse((t, _, _, ev))) = e.queue.pop() {
        if t > e.end_ns.unwrap_or(hard_end) {
            break;
        }
        e.now = t;
        NOW.with(|n| n.set(Some(t)));
        e.handle(ev);
    }
    NOW.with(|n| n.set(None));
    let end_ns = e.end_ns.unwrap_or(hard_end);
    let cameras: Vec<CameraTrace> = e
        .cams
        .into_iter()
        .map(|c| {
            let stats = c.inst.stats();
            let undeliverable = c.inst.with_transport(|t| t.counters().undeliverable);
            CameraTrace {
                adjustments_applied: c.trace.frames.iter().filter(|f| f.adj_us != 0).count() as u64,
                packets_sent: stats.packets_sent,
                packets_read: stats.rx.accepted,
                packets_undeliverable: undeliverable,
                clock_warnings: stats.clock_warnings,
                ..c.trace
            }
        })
        .collect();
    ProfileRun {
        rig,
        server_runs: e.server_runs,
        hosts: sc.hosts.clone(),
        wall_steps: e.wall_steps,
        cameras,
        end_ns,
    }
}

impl Engine<'_> {
    fn push(&mut self, t: i64, ev: EvKind) {
        self.seq += 1;
        self.queue.push(Reverse((t, ev.class(), self.seq, ev)));
    }

    fn handle(&mut self, ev: EvKind) {
        match ev {
            EvKind::Deliver { to, packet } => {
                // Queued if the camera has a receiver open, lost otherwise.
                let d = self.packets[packet as usize];
                self.cams[to].inst.with_transport(|t| t.deliver(d));
            }
            EvKind::Start { cam } => self.start(cam),
            EvKind::FrameStart { cam, run } => self.frame_start(cam, run),
            EvKind::Complete {
                cam,
                run,
                record,
                sensor_ts,
            } => self.complete(cam, run, record, sensor_ts),
            EvKind::Stop { cam, gap_ns } => {
                let c = &mut self.cams[cam];
                c.sensor = None;
                c.run += 1; // in-flight requests complete cancelled: ignored
                let _ = c.inst.stop();
                self.push(self.now + gap_ns, EvKind::Start { cam });
            }
            EvKind::Forge => self.forge(),
        }
    }

    /// The forger sends its packet to every client, and plans the next.
    fn forge(&mut self) {
        let Some(f) = self.faults.forger else { return };
        if !self.faults.active(self.now) {
            return;
        }
        if let Some(real) = self.last_server_packet {
            let shift_us = f.shift_ns / 1000;
            let p = SyncPacket {
                frame_ts_us: real.frame_ts_us.saturating_add_signed(shift_us),
                ..real
            };
            let d = MemDatagram::packet(&p, WireFormat::Layer);
            // Spoofing: the server's address if datagrams carry one, else
            // as anonymous as the server's.
            let d = match (f.spoof, self.faults.addresses) {
                (false, _) => d.from_addr(FORGER_ADDR),
                (true, true) => d.from_addr(camera_addr(0, self.cams[0].run)),
                (true, false) => d,
            };
            let id = self.packets.len() as u32;
            self.packets.push(d);
            for (to, c) in self.sc.cameras.iter().enumerate() {
                if c.role == Role::Client {
                    self.push(self.now + 200_000, EvKind::Deliver { to, packet: id });
                }
            }
        }
        self.push(self.now + f.every_ns.max(1_000_000), EvKind::Forge);
    }

    /// Set the camera's clock for a hook called at `tc`: three reads,
    /// BOOTTIME, REALTIME, BOOTTIME (what its core gets if it asks for a
    /// sample), and `tc` as its monotonic time. Returns the time after the reads.
    fn set_clock(&mut self, cam: usize, tc: i64) -> i64 {
        let p = &self.sc.params;
        let c = &mut self.cams[cam];
        let g1 = c
            .gaps
            .range_u64(p.clock_read_gap_ns.0, p.clock_read_gap_ns.1) as i64;
        let g2 = c
            .gaps
            .range_u64(p.clock_read_gap_ns.0, p.clock_read_gap_ns.1) as i64;
        let nmax = i64::from(p.wall_noise_ns);
        let noise = c.noise.range_i64(-nmax, nmax);
        let h = &self.hosts[self.sc.cameras[cam].host];
        let sample = ClockSample {
            boot_before_ns: h.boot(tc) as u64,
            wall_ns: h.wall(tc + g1, noise) as u64,
            boot_after_ns: h.boot(tc + g1 + g2) as u64,
        };
        c.inst.with_clock(|k| k.set(sample, tc.max(0) as u64));
        tc + g1 + g2
    }

    fn queue_request(&mut self, cam: usize, tq: i64) {
        let controls = self.mode_flip(cam);
        let c = &mut self.cams[cam];
        let Ok(out) = c.inst.queue_request(&controls) else {
            return;
        };
        if let Some(a) = out.sync_adjustment_us {
            if a != 0 {
                c.trace.adjustments_requested += 1;
                c.trace.max_adjustment_us = c.trace.max_adjustment_us.max(a.unsigned_abs());
            }
            if let Some(s) = c.sensor.as_mut() {
                s.request_adjustment(tq, a);
            }
        }
    }

    /// The controls of a camera's next request: none, unless its
    /// application flips SyncMode (`Faults::mode_flips`).
    fn mode_flip(&mut self, cam: usize) -> Controls<'static> {
        let Some((flipper, every)) = self.faults.mode_flips else {
            return Controls::default();
        };
        let active = self.faults.active(self.now);
        let role = match self.sc.cameras[cam].role {
            Role::Server => Mode::Server,
            Role::Client => Mode::Client,
        };
        let c = &mut self.cams[cam];
        if flipper != cam {
            return Controls::default();
        }
        c.requests += 1;
        let flip = active && c.requests.is_multiple_of(u64::from(every.max(1)));
        let back = !active && c.flipped_off;
        if !(flip || back) {
            return Controls::default();
        }
        c.flipped_off = flip && !c.flipped_off;
        let mode = if c.flipped_off { Mode::Off } else { role };
        Controls {
            sync_mode: Some(mode.as_control()),
            ..Controls::default()
        }
    }

    fn start(&mut self, cam: usize) {
        let spec = &self.sc.cameras[cam];
        let p = &self.sc.params;
        let t = self.now;
        let c = &mut self.cams[cam];
        c.run = c.started_runs;
        c.started_runs += 1;
        let startup = c
            .startup
            .range_u64(p.startup_ms.0 * 1_000_000, p.startup_ms.1 * 1_000_000);
        let s0 = t + startup as i64;
        c.sensor = Some(Sensor::new(spec.sensor, s0));
        let run = c.run;
        let fd = i64::from(p.frame_duration_us);
        let controls = Controls {
            sync_mode: Some(c.mode.as_control()),
            frame_duration_limits_us: Some([fd, fd]),
            ..Controls::default()
        };
        let after = self.set_clock(cam, t);
        let _ = self.cams[cam].inst.start(&controls);
        for i in 0..4 {
            self.queue_request(cam, after + 20_000 * i);
        }
        self.push(s0, EvKind::FrameStart { cam, run });
    }

    fn frame_start(&mut self, cam: usize, run: u32) {
        let p = &self.sc.params;
        let spec = &self.sc.cameras[cam];
        let c = &mut self.cams[cam];
        if run != c.run {
            return;
        }
        let Some(sensor) = c.sensor.as_mut() else {
            return;
        };
        let f = sensor.next_frame();
        if let Some((frame, step)) = spec.wall_step
            && frame == f.index
            && run == 0
        {
            self.hosts[spec.host].wall_offset_ns += step;
            self.wall_steps.push((f.sof_ns, spec.host, step));
        }
        let dropped = c.drops.chance_ppm(p.frame_drop_ppm)
            | (self.faults.frame_drop_ppm > 0
                && self.faults.active(f.sof_ns)
                && c.fault_drops.chance_ppm(self.faults.frame_drop_ppm));
        let latency = c
            .latency
            .range_u64(p.latency_us.0 * 1000, p.latency_us.1 * 1000) as i64;
        let tc = (f.next_sof_ns + latency).max(c.last_completion + 1_000_000);
        let record = c.trace.frames.len();
        c.trace.frames.push(FrameRecord {
            run,
            frame: f.index,
            true_sof_ns: f.sof_ns,
            lines: f.lines,
            adj_lines: f.adj_lines,
            adj_us: f.adj_us,
            dropped,
            sync_ready: None,
            correction_us: None,
            packets: 0,
            estimated_error_ns: None,
        });
        if !dropped {
            c.last_completion = tc;
            let jitter = c.jitter.range_u64(0, u64::from(p.jitter_us) * 1000) as i64;
            let sensor_ts = self.hosts[spec.host].sensor_timestamp_jittered(f.sof_ns, jitter);
            self.push(
                tc,
                EvKind::Complete {
                    cam,
                    run,
                    record,
                    sensor_ts,
                },
            );
        }
        if spec.role == Role::Server {
            if f.index == 0 {
                self.server_runs.push((f.sof_ns, f.sof_ns));
            }
            if let Some(r) = self.server_runs.last_mut() {
                r.1 = f.sof_ns;
            }
            self.server_frames += 1;
            if self.server_frames == p.frames && self.end_ns.is_none() {
                self.end_ns = Some(f.next_sof_ns + p.latency_us.1 as i64 * 1000 + 1_000_000);
            }
        }
        self.push(f.next_sof_ns, EvKind::FrameStart { cam, run });
    }

    fn complete(&mut self, cam: usize, run: u32, record: usize, sensor_ts: i64) {
        if run != self.cams[cam].run {
            return;
        }
        let tc = self.now;
        let after = self.set_clock(cam, tc);
        let c = &mut self.cams[cam];
        let completion = Completion {
            sensor_timestamp_ns: Some(sensor_ts),
            cancelled: false,
        };
        let out = c.inst.request_completed(&completion).unwrap_or_default();
        let rec = &mut c.trace.frames[record];
        rec.sync_ready = out.sync_ready;
        rec.correction_us = out.diag.correction_us;
        rec.packets = out.diag.packets;
        rec.estimated_error_ns = out.diag.phase_error_ns;
        let frame = rec.frame;
        // The instance sends the core's packet, if there is one.
        if out.tx.is_some() {
            while let Some(d) = self.cams[cam]
                .inst
                .with_transport(MemoryTransport::take_sent)
            {
                let d = if self.faults.addresses {
                    d.from_addr(camera_addr(cam, run))
                } else {
                    d
                };
                if self.sc.cameras[cam].role == Role::Server {
                    self.last_server_packet = SyncPacket::decode(d.as_bytes()).ok().map(|(p, _)| p);
                }
                self.send(cam, d, after);
            }
        }
        self.queue_request(cam, after + 10_000);
        if run == 0 {
            let gap_ns = if self.sc.cameras[cam].restart_after_frame == Some(frame) {
                Some(self.sc.params.restart_gap_ms as i64 * 1_000_000)
            } else {
                self.faults
                    .restarts
                    .iter()
                    .find(|r| r.camera == cam && r.after_frame == frame)
                    .map(|r| r.gap_ns)
            };
            if let Some(gap_ns) = gap_ns {
                self.push(after + 1_000_000, EvKind::Stop { cam, gap_ns });
            }
        }
    }

    fn send(&mut self, from: usize, d: MemDatagram, t: i64) {
        let p = &self.sc.params;
        let n = self.cams.len();
        let id = self.packets.len() as u32;
        self.packets.push(d);
        for to in 0..n {
            if to == from {
                continue;
            }
            let rng = &mut self.net[from * n + to];
            let lost = rng.chance_ppm(p.packet_loss_ppm);
            let delay = rng.range_u64(p.net_delay_us.0 * 1000, p.net_delay_us.1 * 1000) as i64;
            if lost {
                continue;
            }
            if !(self.faults.network() && self.faults.active(t)) {
                self.push(t + delay, EvKind::Deliver { to, packet: id });
                continue;
            }
            let f = self.faults;
            let rng = &mut self.fault_net[from * n + to];
            if rng.chance_ppm(f.loss_ppm) {
                continue;
            }
            let mut at = t + delay + rng.range_i64(f.delay_ns.0, f.delay_ns.1.max(f.delay_ns.0));
            if rng.chance_ppm(f.reorder_ppm) {
                at += f.reorder_hold_ns;
            }
            let copy = rng
                .chance_ppm(f.duplicate_ppm)
                .then(|| rng.range_i64(0, 5_000_000));
            self.push(at, EvKind::Deliver { to, packet: id });
            if let Some(extra) = copy {
                self.push(at + extra, EvKind::Deliver { to, packet: id });
            }
        }
    }
}
