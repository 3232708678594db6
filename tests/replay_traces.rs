// SPDX-License-Identifier: LGPL-2.1-or-later
//! Every golden trace in tests/traces replays through the compat profile with
//! zero mismatches; and the replay really detects a wrong output.

use std::io::{BufRead, Cursor};
use std::path::{Path, PathBuf};

use camsync::core::Profile;
use camsync::replay::{ReplayError, replay_file, replay_reader, trace};

fn traces() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traces");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/traces") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.to_string_lossy().ends_with(".jsonl.gz") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_golden_trace_replays_exactly() {
    let files = traces();
    assert!(
        files.len() >= 34,
        "expected the 34 golden traces, found {}",
        files.len()
    );
    let mut events = 0;
    for f in &files {
        match replay_file(f, Profile::Compat) {
            Ok(s) => {
                assert!(s.completions > 0, "{}: no completions", f.display());
                events += s.events;
            }
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    println!("{} traces, {events} events replayed", files.len());
}

#[test]
fn the_plugin_clamps_what_the_reference_sent_beyond_the_camera_limits() {
    // slow_client's late client gets corrections of about -33 ms (defects.md
    // 20) from a camera whose SyncAdjustment is limited to +-16666 us: the
    // replay checks the core sent them as the reference did, and that the
    // plugin wrote them clamped. Count them from the trace itself.
    let ls = lines("slow_client/cam2.jsonl.gz");
    let beyond = ls
        .iter()
        .filter_map(|l| {
            let at = l.find("\"sync_adjustment_us\":")? + 21;
            let end = at + l[at..].find(['}', ','])?;
            l[at..end].parse::<i64>().ok()
        })
        .filter(|v| v.abs() > 16_666)
        .count();
    assert!(beyond > 0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traces/slow_client/cam2.jsonl.gz");
    let s = replay_file(&path, Profile::Compat).unwrap();
    assert_eq!(s.clamped, beyond);
}

/// The lines of one trace, to mutate.
fn lines(rel: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/traces")
        .join(rel);
    trace::open(&path)
        .unwrap()
        .lines()
        .map(Result::unwrap)
        .collect()
}

/// Replace the first line (after `after`) containing `needle` by `f(line)`;
/// replay; return the mismatch.
fn mutate(
    rel: &str,
    after: usize,
    needle: &str,
    f: impl Fn(&str) -> String,
) -> (usize, camsync::replay::Mismatch) {
    let mut ls = lines(rel);
    let i = (after..ls.len())
        .find(|&i| ls[i].contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"));
    let new = f(&ls[i]);
    assert_ne!(new, ls[i], "the mutation must change the line");
    ls[i] = new;
    let text = ls.join("\n");
    match replay_reader(Cursor::new(text), Profile::Compat) {
        Err(ReplayError::Mismatch(m)) => (i + 1, m),
        other => panic!("mutated line {} was not caught: {other:?}", i + 1),
    }
}

/// Change the first number after `key` by `delta`.
fn bump(line: &str, key: &str, delta: i64) -> String {
    let at = line.find(key).expect("key") + key.len();
    let end = at + line[at..].find([',', '}']).unwrap();
    let v: i128 = line[at..end].parse().unwrap();
    format!("{}{}{}", &line[..at], v + i128::from(delta), &line[end..])
}

#[test]
fn an_off_by_one_sync_timer_is_caught() {
    let (line, m) = mutate("basic/cam0.jsonl.gz", 2, "\"sync_timer_us\":3", |l| {
        bump(l, "\"sync_timer_us\":", 1)
    });
    assert_eq!(m.line, line);
    assert_eq!(m.what, "expect.sync_timer_us");
}

#[test]
fn a_frame_wall_clock_off_by_256ns_is_caught() {
    let (line, m) = mutate(
        "drift/cam2.jsonl.gz",
        500,
        "\"frame_wall_clock_ns\":1",
        |l| bump(l, "\"frame_wall_clock_ns\":", 256),
    );
    assert_eq!(
        (m.line, m.what.as_str()),
        (line, "expect.frame_wall_clock_ns")
    );
}

#[test]
fn a_wrong_sent_packet_is_caught() {
    let (line, m) = mutate("basic/cam0.jsonl.gz", 2, "\"tx\":{", |l| {
        bump(l, "\"wall_clock_ready_time_us\":", -1)
    });
    assert_eq!((m.line, m.what.as_str()), (line, "expect.tx"));
}

#[test]
fn a_wrong_sync_adjustment_is_caught() {
    // The first non-zero adjustment a client wrote.
    let ls = lines("basic/cam1.jsonl.gz");
    let i = ls
        .iter()
        .position(|l| {
            l.contains("\"sync_adjustment_us\":")
                && !l.contains("\"sync_adjustment_us\":0")
                && !l.contains("null")
        })
        .expect("a non-zero adjustment");
    let (line, m) = mutate("basic/cam1.jsonl.gz", i, "\"sync_adjustment_us\":", |l| {
        bump(l, "\"sync_adjustment_us\":", 1)
    });
    assert_eq!(
        (m.line, m.what.as_str()),
        (line, "expect.sync_adjustment_us")
    );
}

#[test]
fn a_flipped_sync_ready_is_caught() {
    let (_, m) = mutate("basic/cam1.jsonl.gz", 2, "\"sync_ready\":false", |l| {
        l.replacen("\"sync_ready\":false", "\"sync_ready\":true", 1)
    });
    assert_eq!(m.what, "expect.sync_ready");
}

#[test]
fn an_unsampled_clock_is_caught() {
    let (_, m) = mutate("basic/cam0.jsonl.gz", 2, "\"kind\":\"complete\"", |l| {
        let a = l.find("\"clock\":{").unwrap();
        let b = a + l[a..].find('}').unwrap() + 1;
        format!("{}\"clock\":null{}", &l[..a], &l[b..])
    });
    assert_eq!(m.what, "clock samples");
}

#[test]
fn an_unconsumed_datagram_is_caught() {
    // A datagram recorded on a server's completion: a server never reads.
    let (_, m) = mutate("basic/cam0.jsonl.gz", 2, "\"rx\":[]", |l| {
        l.replacen(
            "\"rx\":[]",
            "\"rx\":[{\"frame_duration_us\":33333,\"wall_clock_frame_timestamp_us\":1767225603077388,\"wall_clock_ready_time_us\":1767225606410688}]",
            1,
        )
    });
    assert_eq!(m.what, "rx consumed");
}

const RX: &str = "\"rx\":[{\"frame_duration_us\":33333,\"wall_clock_frame_timestamp_us\":1767225603077388,\"wall_clock_ready_time_us\":1767225606410688}],";

#[test]
fn datagrams_flushed_by_a_receiver_opening_replay_and_others_are_caught() {
    // On the start that opens the client's receiver, a datagram recorded as
    // read is the one the opening discarded: the replay passes.
    let mut ls = lines("basic/cam1.jsonl.gz");
    assert!(ls[2].starts_with("{\"kind\":\"start\"") && ls[2].contains("receiver"));
    ls[2] = ls[2].replacen(
        "{\"kind\":\"start\",",
        &format!("{{\"kind\":\"start\",{RX}"),
        1,
    );
    replay_reader(Cursor::new(ls.join("\n")), Profile::Compat).unwrap();
    // On a request that opens nothing, no datagram can have been read.
    let (_, m) = mutate("basic/cam1.jsonl.gz", 3, "\"kind\":\"queue\"", |l| {
        l.replacen(
            "{\"kind\":\"queue\",",
            &format!("{{\"kind\":\"queue\",{RX}"),
            1,
        )
    });
    assert_eq!(m.what, "rx consumed (socket flush)");
}

#[test]
fn a_wrong_socket_role_is_caught() {
    let (_, m) = mutate("basic/cam1.jsonl.gz", 2, "\"role\":\"receiver\"", |l| {
        l.replacen("\"role\":\"receiver\"", "\"role\":\"sender\"", 1)
    });
    assert_eq!(m.what, "net.role");
}

#[test]
fn a_wrong_advertised_limit_is_caught() {
    let (_, m) = mutate("basic/cam0.jsonl.gz", 0, "\"kind\":\"controls\"", |l| {
        l.replacen("\"max\":1000000", "\"max\":100000", 1)
    });
    assert_eq!(m.what, "expect.added_controls.rpi::SyncFrames");
}

#[test]
fn a_cancelled_request_with_output_is_caught() {
    let (_, m) = mutate(
        "server_restart/cam0.jsonl.gz",
        0,
        "\"cancelled\":true",
        |l| l.replacen("\"sync_ready\":null", "\"sync_ready\":false", 1),
    );
    assert_eq!(m.what, "expect.sync_ready");
}

#[test]
fn garbage_lines_are_an_error_not_a_pass() {
    let r = replay_reader(Cursor::new("{\"kind\":\"queue\"}"), Profile::Compat);
    assert!(
        matches!(r, Err(ReplayError::Parse { line: 1, .. })),
        "{r:?}"
    );
    let r = replay_reader(Cursor::new(""), Profile::Compat);
    assert!(r.is_err(), "an empty trace is not a pass");
}
