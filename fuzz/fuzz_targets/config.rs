// SPDX-License-Identifier: LGPL-2.1-or-later
//! The configuration parsers on any text: the file (`LIBCAMERA_SYNC_CONFIG`'s
//! INI dialect), the `LIBCAMERA_SYNC_*` variables, and `LIBCAMERA_LOG_LEVELS`.
//! Never a panic; an accepted configuration has every key in its documented
//! range; a rejection names where it came from.
//!
//! Input: camera id (length u8), file text (length u16), then variables
//! (key: an index into the known keys, or a name of its own; value: length
//! u8), then the log level spec (the rest).

#![no_main]

use std::collections::HashMap;

use camsync::plugin::config::{CONFIG_ENV, KEYS, env_name};
use camsync::plugin::logging::level_from_spec;
use camsync::plugin::{Config, ConfigError};
use camsync_fuzz::Reader;
use libfuzzer_sys::fuzz_target;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check(c: &Config) {
    assert!(c.net.group.is_multicast(), "{c:?}");
    assert_ne!(c.net.port, 0);
    assert!((1..=255).contains(&c.net.ttl));
    assert!(c.layer.sync_period > 0 && c.layer.ready_frame > 0);
    assert!(c.packet_timeout_s <= 3600);
    if let Some(i) = &c.net.interface {
        assert!(!i.is_empty() && i.len() <= 40, "{i:?}");
        assert!(
            !i.chars().any(|ch| ch.is_whitespace() || ch.is_control()),
            "{i:?}"
        );
    }
}

fn rejected(e: &ConfigError, origin_hint: &str) {
    let s = e.to_string();
    assert!(!s.is_empty());
    if let ConfigError::BadValue { origin, .. }
    | ConfigError::UnknownKey { origin, .. }
    | ConfigError::Syntax { origin, .. } = e
    {
        assert!(origin.starts_with(origin_hint), "{origin} / {origin_hint}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let n = usize::from(r.u8());
    let camera = text(r.bytes(n));
    let n = usize::from(r.u16());
    let file = text(r.bytes(n));
    let mut env = HashMap::new();
    for _ in 0..usize::from(r.u8() % 16) {
        let k = r.u8();
        let name = match KEYS.get(usize::from(k)) {
            Some(key) => env_name(key),
            None => {
                let n = usize::from(r.u8() % 32);
                format!("LIBCAMERA_SYNC_{}", text(r.bytes(n)))
            }
        };
        let n = usize::from(r.u8());
        env.insert(name, text(r.bytes(n)));
    }
    let spec = text(r.rest());

    let mut c = Config::default();
    match c.apply_file(&file, "fuzz.conf", &camera) {
        Ok(()) => check(&c),
        Err(e) => rejected(&e, "fuzz.conf:"),
    }
    // The file is read from disk only when the variable names one: here it
    // never does, so `load` sees the variables alone.
    env.remove(CONFIG_ENV);
    match Config::load(&camera, &|k| env.get(k).cloned()) {
        Ok(c) => check(&c),
        Err(e) => rejected(&e, "LIBCAMERA_SYNC_"),
    }
    let _ = level_from_spec(&spec);
});
