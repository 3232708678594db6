// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the plugin instance logs, captured through a sink (deterministic:
//! the in-memory transport and a clock the test sets): every line names its
//! camera.

use std::io::ErrorKind;
use std::sync::Arc;

use camsync::core::{CameraControls, ClockSample, Completion, Controls};
use camsync::net::MemoryTransport;
use camsync::plugin::logging::{self, Level, MemorySink};
use camsync::plugin::{Config, Instance, ManualClock};

type Inst = Instance<MemoryTransport, ManualClock>;

const FRAME_US: i64 = 33_333;
const BOOT0: u64 = 7_000_000_000;
const WALL0: u64 = 1_767_225_600_000_000_000;

const CAMERA: CameraControls = CameraControls {
    sync_adjustment_limits_us: Some([-16_666, 16_666]),
    frame_duration_limits_us: Some([FRAME_US, FRAME_US]),
};

fn instance(id: &str, config: Config) -> Inst {
    Instance::from_parts(
        id,
        Ok(config),
        MemoryTransport::new(),
        ManualClock::default(),
    )
}

fn mode(m: i32) -> Controls<'static> {
    Controls {
        sync_mode: Some(m),
        ..Controls::default()
    }
}

/// Complete frame `n` at 5 ms after its start; the instance's clock reads then.
fn frame(i: &Inst, n: i64) {
    let sof = BOOT0 as i64 + 100_000_000 + n * FRAME_US * 1000;
    let t = sof as u64 + 5_000_000;
    i.with_clock(|k| {
        k.set(
            ClockSample {
                boot_before_ns: t,
                wall_ns: WALL0 + (t - BOOT0),
                boot_after_ns: t,
            },
            t,
        )
    });
    i.request_completed(&Completion {
        sensor_timestamp_ns: Some(sof),
        cancelled: false,
    })
    .unwrap();
}

/// Run `f` with this crate's log going to a fresh sink; return what it got.
fn logged(f: impl FnOnce()) -> Vec<(Level, String)> {
    let sink = Arc::new(MemorySink::new(Level::Debug));
    tracing::subscriber::with_default(logging::subscriber(sink.clone()), f);
    sink.records()
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
