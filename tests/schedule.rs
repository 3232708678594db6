// SPDX-License-Identifier: LGPL-2.1-or-later
//! Issue 11's targets on the deterministic simulator: schedule mode (every
//! camera follows a lattice on the wall clock, no server), a server that
//! pins its frames to the schedule for reference clients, and a pinned
//! start.

mod common;

use camsync::core::{Profile, SyncPacket, WireFormat};
use camsync::net::{MemDatagram, MemoryTransport};
use camsync::plugin::{Config, Instance, ManualClock};
use camsync::sim::{self, LineTimes, Rig, ScenarioParams, ScheduleMode, SimReport};
use common::memory::{CAMERA, frame, mode, set_clock};

fn drift_18900(hosts: usize) -> ScenarioParams {
    ScenarioParams {
        hosts,
        line_ns: LineTimes::List(vec![18_900]),
        ..ScenarioParams::preset("drift").unwrap()
    }
}

fn precision(p: &ScenarioParams) -> SimReport {
    sim::simulate_rigs(p, &[Rig::uniform(Profile::Precision)])
}

/// L/2 + 3 µs of the rig's coarsest line, µs.
fn floor_us(r: &SimReport) -> f64 {
    let coarsest = r.cameras.iter().map(|c| c.sensor.line_ns).max().unwrap();
    coarsest as f64 / 2000.0 + 3.0
}

#[test]
fn schedule_mode_on_one_host_reaches_the_line_grid_and_the_lattice() {
    let p = ScenarioParams {
        schedule: ScheduleMode::All,
        ..drift_18900(1)
    };
    let r = precision(&p);
    let rep = &r.profiles[0];
    let a = rep.overall.alignment;
    // The same as a precision client with a server.
    assert!(a.p99_us <= 12.0, "{a:?}");
    let limit = floor_us(&r);
    let server = rep.server.first_ready_vs_lattice_us.unwrap();
    assert!(
        server.abs() <= limit,
        "cam0 first ready {server} µs off the lattice"
    );
    for c in &rep.clients {
        let e = c.first_ready_vs_lattice_us.unwrap();
        assert!(
            e.abs() <= limit,
            "{} first ready {e} µs off the lattice",
            c.camera
        );
        assert_eq!(c.packets_read, 0, "{} read packets", c.camera);
    }
    assert_eq!(rep.server.packets_sent, 0);
}

#[test]
fn schedule_mode_across_hosts_leaves_only_the_wall_clocks() {
    // No server at all; errors against the first camera. Each camera's p99
    // <= |its wall error - cam0's| + L/2 + 3 µs, frame by frame.
    let p = ScenarioParams {
        schedule: ScheduleMode::All,
        ..drift_18900(0)
    };
    let r = precision(&p);
    let limit = floor_us(&r);
    for c in &r.profiles[0].clients {
        assert!(
            c.beyond_wall.p99_us <= limit,
            "{}: {:?}",
            c.camera,
            c.beyond_wall
        );
        assert!(c.frames_to_ready.is_some(), "{}", c.camera);
    }
}

#[test]
fn a_pinned_start_is_every_cameras_first_ready_frame() {
    for hosts in [1, 0] {
        let p = ScenarioParams {
            start_at_ms: Some(8_000),
            ..drift_18900(hosts)
        };
        let r = precision(&p);
        let rep = &r.profiles[0];
        let limit = floor_us(&r);
        // On each camera's own wall clock: across hosts each is its own.
        let s = rep.server.first_ready_vs_start_us.unwrap();
        assert!(s.abs() <= limit, "hosts {hosts}: server {s} µs");
        for c in &rep.clients {
            let e = c.first_ready_vs_start_us.unwrap();
            let wall = c.wall_offset_vs_server_us.abs();
            assert!(
                e.abs() <= limit + wall,
                "hosts {hosts} {}: {e} µs (|Δwall| {wall})",
                c.camera
            );
        }
    }
}

#[test]
fn reference_clients_land_on_a_scheduled_servers_lattice() {
    // The server pins its frames to the schedule and sends packets; compat
    // clients follow them as they follow any server.
    let p = ScenarioParams {
        schedule: ScheduleMode::Server,
        ..drift_18900(1)
    };
    let r = sim::simulate_rigs(
        &p,
        &[Rig {
            server: Profile::Precision,
            client: Profile::Compat,
        }],
    );
    let rep = &r.profiles[0];
    let server = rep.server.first_ready_vs_lattice_us.unwrap();
    assert!(
        server.abs() <= floor_us(&r),
        "server first ready {server} µs off the lattice"
    );
    assert!(rep.overall.all_clients_ready);
    for c in &rep.clients {
        // Within the reference's own sawtooth of the server's frames.
        assert!(
            c.alignment.max_us < 1_000.0,
            "{}: {:?}",
            c.camera,
            c.alignment
        );
    }
}

#[test]
fn a_schedule_client_opens_no_socket_and_trusts_no_packet() {
    let mut config = Config::default();
    config.layer.precision.schedule = true;
    let i: common::memory::Inst = Instance::from_parts(
        "cam",
        Ok(config),
        MemoryTransport::new(),
        ManualClock::default(),
    );
    i.controls(&CAMERA).unwrap();
    set_clock(&i, -1);
    i.start(&mode(2)).unwrap();
    for n in 0..60 {
        // A forger floods the group: nothing can reach a camera that is not
        // listening, and the core reads nothing either way.
        i.with_transport(|t| {
            let forged = SyncPacket {
                frame_duration_us: 33_333,
                frame_ts_us: 1_767_225_600_000_000 + n as u64 * 33_333 + 7_000,
                ready_time_us: 1_767_225_600_000_000,
            };
            t.deliver(MemDatagram::packet(&forged, WireFormat::Layer));
        });
        i.queue_request(&mode(2)).unwrap();
        let out = frame(&i, n);
        assert_eq!(out.diag.packets, 0);
    }
    assert_eq!(i.socket_role(), None);
    let c = i.with_transport(|t| t.counters());
    assert_eq!((c.opens, c.received), (0, 0), "{c:?}");
}

#[test]
fn simulated_hosts_warn_of_an_unsynchronised_clock_and_only_those() {
    // Two hosts, PTP-grade clocks (±2 µs) on host 0, none on host 1: the
    // cameras of host 1 warn, whether they follow a server or the schedule;
    // host 0's do not.
    for schedule in [ScheduleMode::Off, ScheduleMode::All] {
        let p = ScenarioParams {
            wall_offset_max_us: 2,
            unsynced_hosts: vec![1],
            schedule,
            ..drift_18900(2)
        };
        let r = precision(&p);
        assert!(r.hosts[0].kernel.synchronised && !r.hosts[1].kernel.synchronised);
        let rep = &r.profiles[0];
        let warnings = std::iter::once((rep.server.camera.as_str(), rep.server.clock_warnings))
            .chain(
                rep.clients
                    .iter()
                    .map(|c| (c.camera.as_str(), c.clock_warnings)),
            );
        for (camera, warned) in warnings {
            let host = r.cameras.iter().find(|c| c.name == camera).unwrap().host;
            assert_eq!(
                warned,
                u64::from(host == 1),
                "{camera} on host {host} ({schedule:?})"
            );
        }
    }
}
