// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the plugin instance logs, captured through a sink (deterministic:
//! the in-memory transport and a clock the test sets): every line names its
//! camera.

mod common;

use std::io::ErrorKind;

use camsync::core::{CameraControls, Controls};
use camsync::net::MemoryTransport;
use camsync::plugin::logging::Level;
use camsync::plugin::{Config, Instance, ManualClock};
use common::memory::{CAMERA, Inst, frame, logged, mode};

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
