// SPDX-License-Identifier: LGPL-2.1-or-later
//! The precision profile's targets (issue 7), asserted on the deterministic
//! simulator with fixed seeds: every number here is what `camsync simulate`
//! prints for the same flags. Phase error = a client's true start of frame
//! minus the nearest server start of frame, from SyncReady on.

use camsync::core::Profile;
use camsync::sim::{self, ClientMetrics, PRESETS, ProfileReport, Rig, ScenarioParams, SimReport};

const C: Profile = Profile::Compat;
const P: Profile = Profile::Precision;

fn rig(client: Profile, server: Profile) -> Rig {
    Rig { server, client }
}

fn preset(name: &str) -> ScenarioParams {
    ScenarioParams::preset(name).unwrap()
}

fn one_host(name: &str) -> ScenarioParams {
    ScenarioParams {
        hosts: 1,
        ..preset(name)
    }
}

fn side_by_side(p: &ScenarioParams) -> SimReport {
    sim::simulate_rigs(p, &[Rig::uniform(C), Rig::uniform(P)])
}

fn column<'a>(r: &'a SimReport, name: &str) -> &'a ProfileReport {
    r.profiles.iter().find(|p| p.profile == name).unwrap()
}

/// Half the coarsest line time of the rig plus 3 µs, in µs.
fn floor_us(r: &SimReport) -> f64 {
    let coarsest = r.cameras.iter().map(|c| c.sensor.line_ns).max().unwrap();
    coarsest as f64 / 2000.0 + 3.0
}

fn drift_18900() -> ScenarioParams {
    use camsync::sim::LineTimes;
    ScenarioParams {
        line_ns: LineTimes::List(vec![18_900]),
        ..one_host("drift")
    }
}

#[test]
fn drift_one_host_reaches_the_line_grid() {
    // camsync simulate --scenario drift --hosts 1 --line-ns 18900
    let r = side_by_side(&drift_18900());
    let (c, p) = (column(&r, "compat"), column(&r, "precision"));
    let a = p.overall.alignment;
    assert!(a.p99_us <= 12.0, "{a:?}");
    assert!(a.p50_us <= 6.0, "{a:?}");
    assert!(a.max_us <= 20.0, "{a:?}");
    let ratio = c.overall.alignment.p99_us / a.p99_us;
    assert!(ratio >= 8.0, "compat p99 / precision p99 = {ratio}");
    assert!(p.overall.all_clients_ready);
}

#[test]
fn every_preset_on_one_host_is_within_half_a_line() {
    for name in PRESETS {
        let r = side_by_side(&one_host(name));
        let p = column(&r, "precision");
        let limit = floor_us(&r);
        let half_frame = f64::from(r.cameras[0].sensor.frame_duration_ns as u32) / 2000.0;
        assert!(p.overall.all_clients_ready, "{name}");
        for c in &p.clients {
            assert!(
                c.alignment.p99_us <= limit,
                "{name} {}: {:?} > {limit}",
                c.camera,
                c.alignment
            );
            // Every request within half a frame.
            assert!(
                f64::from(c.max_adjustment_us) <= half_frame,
                "{name} {}",
                c.camera
            );
            // Ready means aligned: no frame reported ready while out by more
            // than the tolerance (one line).
            assert_eq!(c.ready_out_of_tolerance, 0, "{name} {}", c.camera);
        }
        // Never ready earlier than the reference would be.
        for (a, b) in column(&r, "compat").clients.iter().zip(&p.clients) {
            assert!(
                b.frames_to_ready >= a.frames_to_ready,
                "{name} {}",
                a.camera
            );
        }
    }
}

#[test]
fn near_max_fps_converges_by_lengthening() {
    for p in [one_host("near_max_fps"), preset("near_max_fps")] {
        let r = side_by_side(&p);
        for cl in &column(&r, "precision").clients {
            assert!(cl.lock_after_first_packet.is_some(), "{cl:?}");
        }
    }
    // The reference cannot shorten enough and sits far out for long.
    let r = side_by_side(&preset("near_max_fps"));
    assert!(column(&r, "compat").overall.alignment.max_us > 500.0);
}

#[test]
fn late_client_is_ready_only_when_aligned() {
    for p in [one_host("late_client"), preset("late_client")] {
        let r = side_by_side(&p);
        let late = column(&r, "precision").clients.last().unwrap();
        assert!(late.frames_to_ready.is_some());
        assert_eq!(late.ready_out_of_tolerance, 0);
        // The reference reports ready on the late camera's first frame,
        // milliseconds out (defect 18).
        let reference = column(&r, "compat").clients.last().unwrap();
        assert_eq!(reference.frames_to_ready, Some(0));
        assert!(reference.alignment.max_us > 1_000.0);
    }
}

#[test]
fn faults_relock_within_two_server_packets() {
    for p in [
        one_host("server_restart"),
        preset("server_restart"),
        one_host("wallclock_step"),
        preset("wallclock_step"),
    ] {
        let r = side_by_side(&p);
        let prec = column(&r, "precision");
        for c in &prec.clients {
            let packets = c.packets_to_relock.unwrap_or(u64::MAX);
            assert!(
                packets <= 2,
                "{} {}: relock after {packets} packets",
                p.name,
                c.camera
            );
            assert!(c.frames_to_relock.unwrap() <= 2 * u64::from(p.sync_period));
        }
    }
}

#[test]
fn across_hosts_only_the_wall_clocks_remain() {
    // Each client's p99 <= |its wall error - the server's| + L/2 + 3 µs,
    // with the wall-clock term taken frame by frame.
    for name in PRESETS {
        let r = side_by_side(&preset(name));
        let limit = floor_us(&r);
        for c in &column(&r, "precision").clients {
            assert!(
                c.beyond_wall.p99_us <= limit,
                "{name} {}: {:?}",
                c.camera,
                c.beyond_wall
            );
        }
    }
}

#[test]
fn start_of_frame_jitter_is_filtered() {
    // camsync simulate --scenario drift --hosts 1 --line-ns 18900 --jitter-us 10
    let p = ScenarioParams {
        jitter_us: 10,
        ..drift_18900()
    };
    let r = side_by_side(&p);
    let a = column(&r, "precision").overall.alignment;
    assert!(a.p99_us <= floor_us(&r), "{a:?}");
}

/// With start-of-frame jitter no client reports `SyncReady` while it is out
/// by more than a line, whatever the draw (each seed draws other sensor
/// rates, start times and jitter), and each stays near the line grid's
/// floor.
/// (Before the timeline's noise estimate was mended, seven of these ten
/// seeds at 10 µs had a client ready while 20-55 µs out: its period, learned
/// from three jittered timestamps it trusted, was microseconds a frame off.)
#[test]
fn start_of_frame_jitter_never_reports_ready_out_of_tolerance() {
    let runs = (1..=10)
        .map(|seed| (10, seed))
        .chain([(5, 1), (15, 2), (20, 3), (20, 4)]);
    for (jitter_us, seed) in runs {
        // camsync simulate --scenario drift --hosts 1 --line-ns 18900
        //   --jitter-us <jitter_us> --seed <seed> --profile precision
        let p = ScenarioParams {
            jitter_us,
            seed,
            ..drift_18900()
        };
        let r = sim::simulate_profiles(&p, &[P]);
        // Beyond 10 µs of jitter the filtered timeline keeps ~1 µs more.
        let limit = floor_us(&r) + if jitter_us > 10 { 2.0 } else { 0.0 };
        let prec = column(&r, "precision");
        assert!(
            prec.overall.all_clients_ready,
            "jitter {jitter_us} seed {seed}"
        );
        for c in &prec.clients {
            assert_eq!(
                c.ready_out_of_tolerance, 0,
                "jitter {jitter_us} seed {seed} {}: {:?}",
                c.camera, c.alignment
            );
            assert!(
                c.alignment.p99_us <= limit,
                "jitter {jitter_us} seed {seed} {}: {:?} > {limit}",
                c.camera,
                c.alignment
            );
        }
    }
}

#[test]
fn lock_within_two_server_packets_of_the_first() {
    // Two packet periods of the configured sync_period after the first
    // packet (a precision server sends more often while clients acquire, so
    // counting its packets would ask less of a reference server).
    for name in PRESETS {
        for p in [one_host(name), preset(name)] {
            let r = side_by_side(&p);
            for c in &column(&r, "precision").clients {
                let n = c.lock_after_first_packet.unwrap_or(u64::MAX);
                assert!(
                    n <= 2 * u64::from(p.sync_period),
                    "{name} hosts {} {}: lock {n} frames after the first packet",
                    p.hosts,
                    c.camera
                );
            }
        }
    }
}

/// The rig's clocks tick at one rate (as MONOTONIC, BOOTTIME and REALTIME
/// do on Linux, outside steps): the reference server's clock recovery is
/// then right, and a precision client follows it to the line grid.
fn linux_clocks(p: ScenarioParams) -> ScenarioParams {
    ScenarioParams {
        sys_ppm: (0.0, 0.0),
        ..p
    }
}

#[test]
fn a_precision_client_follows_a_reference_server() {
    let r = sim::simulate_rigs(&linux_clocks(drift_18900()), &[rig(P, C)]);
    let a = r.profiles[0].overall.alignment;
    assert!(a.p99_us <= 15.0, "{a:?}");
}

#[test]
fn a_reference_client_is_no_worse_behind_a_precision_server() {
    let r = sim::simulate_rigs(&linux_clocks(drift_18900()), &[Rig::uniform(C), rig(C, P)]);
    let (cc, cp) = (&r.profiles[0], &r.profiles[1]);
    assert!(cp.overall.alignment.p99_us <= cc.overall.alignment.p99_us + 1.0);
    for (a, b) in cc.clients.iter().zip(&cp.clients) {
        let (a, b): (&ClientMetrics, &ClientMetrics) = (a, b);
        assert!(
            b.alignment.p99_us <= a.alignment.p99_us + 1.0,
            "{}: {:?} vs {:?}",
            a.camera,
            b.alignment,
            a.alignment
        );
        assert_eq!(b.frames_to_ready, a.frames_to_ready, "{}", a.camera);
    }
}

#[test]
fn the_reference_server_clock_fit_is_what_limits_it_while_clocks_slew() {
    // With the preset's boot-vs-wall rate error (20-50 ppm), the reference
    // server's ClockRecovery (a 2 µs jitter clamp in ns, defects 13/21)
    // misplaces its own frames by hundreds of µs; no client can undo that.
    // The precision clients still agree with each other to the line grid.
    let r = sim::simulate_rigs(&drift_18900(), &[rig(P, C)]);
    let clients = &r.profiles[0].clients;
    let means: Vec<f64> = clients.iter().map(|c| c.alignment.mean_signed_us).collect();
    let spread = means.iter().cloned().fold(f64::MIN, f64::max)
        - means.iter().cloned().fold(f64::MAX, f64::min);
    assert!(means[0].abs() > 100.0, "{means:?}");
    assert!(spread < 10.0, "{means:?}");
}
