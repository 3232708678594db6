// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the plugin instance logs, captured through a sink (deterministic:
//! the in-memory transport and a clock the test sets): every line names its
//! camera.

mod common;

use std::io::ErrorKind;

use camsync::core::{CameraControls, Completion, Controls};
use camsync::net::MemoryTransport;
use camsync::plugin::logging::Level;
use camsync::plugin::{Config, Instance, ManualClock};
use common::memory::{CAMERA, FRAME_US, Inst, WALL0, frame, logged, mode, set_clock};

fn instance(id: &str, config: Config) -> Inst {
    Instance::from_parts(
        id,
        Ok(config),
        MemoryTransport::new(),
        ManualClock::default(),
    )
}

#[test]
fn every_line_names_its_camera() {
    let records = logged(|| {
        let server = instance("/base/cam@0", Config::default());
        let client = instance("/base/cam@1", Config::default());
        let unsupported = instance("/base/cam@2", Config::default());
        assert!(
            unsupported
                .controls(&CameraControls::default())
                .unwrap()
                .is_none()
        );
        server.controls(&CAMERA).unwrap();
        client.controls(&CAMERA).unwrap();
        server.start(&mode(1)).unwrap();
        // The socket error of the report: an interface that does not exist.
        client.with_transport(|t| t.fail_opens(Some(ErrorKind::NotFound)));
        client.start(&mode(2)).unwrap();
        client.with_transport(|t| t.fail_opens(None));
        client.queue_request(&Controls::default()).unwrap();
        for n in 0..120 {
            frame(&server, n);
        }
    });
    let find = |camera: &str, needle: &str| {
        records
            .iter()
            .find(|r| r.1.starts_with(&format!("{camera}: ")) && r.1.contains(needle))
            .unwrap_or_else(|| panic!("no line '{camera}: ..{needle}..' in {records:#?}"))
    };
    assert_eq!(
        find("/base/cam@1", "sync socket: cannot open").0,
        Level::Error
    );
    assert_eq!(find("/base/cam@2", "not supported").0, Level::Warn);
    assert_eq!(find("/base/cam@0", "Sync achieved (server)").0, Level::Info);
    assert_eq!(find("/base/cam@0", "send packet").0, Level::Debug);
    for (_, line) in &records {
        assert!(
            ["/base/cam@0: ", "/base/cam@1: ", "/base/cam@2: "]
                .iter()
                .any(|c| line.starts_with(c)),
            "a line that names no camera: {line}"
        );
    }
}

/// The records at `level` that contain `needle`.
fn matching<'a>(records: &'a [(Level, String)], level: Level, needle: &str) -> Vec<&'a str> {
    records
        .iter()
        .filter(|r| r.0 == level && r.1.contains(needle))
        .map(|r| r.1.as_str())
        .collect()
}

fn count(records: &[(Level, String)], level: Level, needle: &str) -> usize {
    matching(records, level, needle).len()
}

fn limits(min: i64, max: i64) -> Controls<'static> {
    Controls {
        frame_duration_limits_us: Some([min, max]),
        ..Controls::default()
    }
}

#[test]
fn the_frame_rate_warning_is_about_what_the_application_sets() {
    // A camera whose mode can run 15..60 fps: its range is no reason to warn.
    let camera = CameraControls {
        frame_duration_limits_us: Some([16_666, 66_666]),
        ..CAMERA
    };
    let records = logged(|| {
        let c = instance("cam0", Config::default());
        c.controls(&camera).unwrap();
        c.start(&Controls {
            sync_mode: Some(2),
            frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
            ..Controls::default()
        })
        .unwrap();
        for _ in 0..3 {
            c.queue_request(&Controls::default()).unwrap();
        }
        // The application asks for a variable rate, on every request.
        for _ in 0..3 {
            c.queue_request(&limits(16_666, 66_666)).unwrap();
        }
        c.queue_request(&limits(20_000, 40_000)).unwrap();
        c.queue_request(&limits(FRAME_US, FRAME_US)).unwrap();
        c.queue_request(&limits(20_000, 40_000)).unwrap();

        // Without sync, a variable rate is the application's business.
        let off = instance("cam1", Config::default());
        off.controls(&camera).unwrap();
        off.start(&limits(16_666, 66_666)).unwrap();
        off.queue_request(&limits(20_000, 40_000)).unwrap();
        // Set before SyncMode, noticed when sync is asked for.
        off.queue_request(&mode(1)).unwrap();
    });
    let warned = matching(&records, Level::Warn, "FrameDurationLimits");
    assert_eq!(warned.len(), 4, "{records:#?}");
    assert!(warned[0].starts_with("cam0: FrameDurationLimits [16666, 66666] µs is not a fixed"));
    assert!(warned[1].starts_with("cam0: FrameDurationLimits [20000, 40000]"));
    assert!(warned[2].starts_with("cam0: FrameDurationLimits [20000, 40000]"));
    assert!(warned[3].starts_with("cam1: FrameDurationLimits [20000, 40000]"));
}

#[test]
fn a_disabled_layer_keeps_its_controls_says_why_and_never_reports_ready() {
    let e = Config::load("cam", &|k| (k == "LIBCAMERA_SYNC_TTL").then(|| "0".into())).unwrap_err();
    let records = logged(|| {
        let c: Inst = Instance::from_parts(
            "cam",
            Err(e),
            MemoryTransport::new(),
            ManualClock::default(),
        );
        assert!(!c.enabled());
        let added = c.controls(&CAMERA).unwrap();
        assert_eq!(added.map(<[_]>::len), Some(3), "the controls stay");
        assert!(c.start(&mode(1)).is_err());
        // 25 s of requests asking for sync, then 25 s not asking.
        for n in 0..1500 {
            let t = (n * FRAME_US * 1000) as u64;
            c.with_clock(|k| k.now_ns = t);
            let ask = if n < 750 {
                mode(1)
            } else {
                Controls::default()
            };
            let ask = if n == 750 { mode(0) } else { ask };
            assert!(c.queue_request(&ask).is_err());
            assert!(
                c.request_completed(&Completion {
                    sensor_timestamp_ns: Some(t as i64),
                    cancelled: false,
                })
                .is_err(),
                "no metadata, so never SyncReady"
            );
        }
        assert_eq!(c.socket_role(), None);
        assert!(c.stop().is_err());
    });
    assert_eq!(
        count(&records, Level::Error, "cam: configuration rejected"),
        1
    );
    assert_eq!(
        count(&records, Level::Error, "'ttl'"),
        4,
        "init, start, and reminders at 10 s and 20 s: {records:#?}"
    );
    assert_eq!(
        count(
            &records,
            Level::Error,
            "SyncReady is never reported (the application asks for SyncMode server)"
        ),
        1
    );
    assert_eq!(
        count(
            &records,
            Level::Error,
            "asks for SyncMode server, which is ignored"
        ),
        2
    );
}

#[test]
fn a_client_that_hears_nothing_says_so_once_and_again_when_it_hears() {
    let records = logged(|| {
        let c = instance("cam", Config::default());
        c.controls(&CAMERA).unwrap();
        set_clock(&c, -1);
        c.start(&mode(2)).unwrap();
        // Garbage only, for 6 s.
        for n in 0..180 {
            c.with_transport(|t| t.deliver(camsync::net::MemDatagram::new(&[0; 7])));
            frame(&c, n);
        }
        // A server's frame of now (a packet's frame time must be near our
        // wall clock).
        let now_us = (WALL0 + (common::memory::sof(180) as u64 - common::memory::BOOT0)) / 1000;
        let p = camsync::core::SyncPacket {
            frame_duration_us: 33_333,
            frame_ts_us: now_us,
            ready_time_us: now_us + 3_000_000,
        };
        c.with_transport(|t| {
            t.deliver(camsync::net::MemDatagram::packet(
                &p,
                camsync::core::WireFormat::Layer,
            ))
        });
        frame(&c, 180);
        frame(&c, 181);
    });
    let warned = matching(&records, Level::Warn, "no valid sync packet");
    assert_eq!(warned.len(), 1, "{records:#?}");
    // The first frame 5 s (packet_timeout) after the first silent one; a
    // garbage datagram arrived before each frame up to it.
    let frame_ns = FRAME_US * 1000;
    let at = (5_000_000_000 + frame_ns - 1) / frame_ns;
    let want = format!(
        "cam: no valid sync packet for {:.1} s on 239.255.255.250:10000 on interface (the \
         default route's); {} datagrams rejected (by reason: wrong_length {}):",
        (at * frame_ns) as f64 / 1e9,
        at + 1,
        at + 1
    );
    assert!(warned[0].starts_with(&want), "{}\n{want}", warned[0]);
    assert_eq!(
        count(
            &records,
            Level::Info,
            "cam: sync packets arriving on 239.255.255.250:10000"
        ),
        1
    );
}

#[test]
fn a_server_whose_sends_fail_says_so_once_and_again_when_they_work() {
    let cfg = Config {
        layer: camsync::core::LayerParams {
            sync_period: 5,
            ..camsync::core::LayerParams::default()
        },
        packet_timeout_s: 2,
        ..Config::default()
    };
    let records = logged(|| {
        let s = instance("srv", cfg);
        s.controls(&CAMERA).unwrap();
        set_clock(&s, -1);
        s.start(&mode(1)).unwrap();
        s.with_transport(|t| t.fail_sends(Some(ErrorKind::NetworkUnreachable)));
        for n in 0..150 {
            frame(&s, n);
        }
        s.with_transport(|t| t.fail_sends(None));
        for n in 150..160 {
            frame(&s, n);
        }
    });
    let warned = matching(&records, Level::Warn, "sending sync packets");
    assert_eq!(warned.len(), 1, "{records:#?}");
    assert!(
        warned[0].starts_with("srv: sending sync packets to 239.255.255.250:10000"),
        "{}",
        warned[0]
    );
    // Said at the first failed send 2 s (packet_timeout) after the first
    // one: sends are a sync period (5 frames) apart.
    let (secs, sends) = warned[0]
        .split_once("has failed for ")
        .and_then(|(_, r)| r.split_once(" s ("))
        .and_then(|(secs, r)| Some((secs.parse::<f64>().ok()?, r.split_once(' ')?.0)))
        .expect("the time and the count");
    let period_s = 5.0 * FRAME_US as f64 / 1e6;
    assert!((2.0..2.0 + period_s + 0.05).contains(&secs), "{secs}");
    let sends: u64 = sends.parse().unwrap();
    assert_eq!(sends, (secs / period_s).round() as u64 + 1);
    assert!(warned[0].contains("network unreachable"), "{}", warned[0]);
    assert_eq!(
        count(
            &records,
            Level::Info,
            "srv: sync packets sent again to 239.255.255.250:10000"
        ),
        1,
        "{records:#?}"
    );
}

/// A sink that blocks on its first record until told to go on.
struct Stalled {
    arrived: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    go_on: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl camsync::plugin::logging::Sink for Stalled {
    fn level(&self) -> Level {
        Level::Debug
    }
    fn write(&self, _: &camsync::plugin::logging::Record<'_>) {
        if let Some(tx) = self.arrived.lock().unwrap().take() {
            let _ = tx.send(());
            let _ = self
                .go_on
                .lock()
                .unwrap()
                .recv_timeout(std::time::Duration::from_secs(30));
        }
    }
}

#[test]
fn a_stalled_log_sink_blocks_no_other_thread_s_hooks() {
    // Records were written under the instance's lock: a log sink that
    // stalled (a full pipe, a slow file) stopped every hook of the camera.
    let (arrived_tx, arrived) = std::sync::mpsc::channel();
    let (go_on, go_on_rx) = std::sync::mpsc::channel();
    let sink = std::sync::Arc::new(Stalled {
        arrived: std::sync::Mutex::new(Some(arrived_tx)),
        go_on: std::sync::Mutex::new(go_on_rx),
    });
    let camera = std::sync::Arc::new(instance("/base/cam@0", Config::default()));
    camera.controls(&CAMERA).unwrap();
    camera.start(&mode(2)).unwrap();
    let app = {
        let (camera, sink) = (camera.clone(), sink.clone());
        std::thread::spawn(move || {
            let subscriber = camsync::plugin::logging::subscriber(sink);
            tracing::subscriber::with_default(subscriber, || {
                // A variable frame rate with sync on: a WARN, which stalls
                // in the sink.
                camera.queue_request(&limits(20_000, 40_000)).unwrap();
            });
        })
    };
    arrived
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the WARN reached the sink");
    // The app's thread is stuck in the sink; libcamera's thread is not.
    let (done_tx, done) = std::sync::mpsc::channel();
    {
        let camera = camera.clone();
        std::thread::spawn(move || {
            for n in 0..10 {
                camera.queue_request(&Controls::default()).unwrap();
                frame(&camera, n);
            }
            let _ = done_tx.send(camera.stats().frames);
        });
    }
    let frames = done.recv_timeout(std::time::Duration::from_secs(10));
    go_on.send(()).unwrap();
    app.join().unwrap();
    assert_eq!(frames, Ok(10), "hooks waited for the stalled sink");
}
