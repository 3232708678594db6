// SPDX-License-Identifier: LGPL-2.1-or-later
//! The layer's configuration: defaults, then an optional file named by
//! `LIBCAMERA_SYNC_CONFIG` (keys before any section apply to every camera; a
//! `[<camera id>]` section applies to that camera), then `LIBCAMERA_SYNC_*`
//! environment variables, which win.
//!
//! The file format is a deliberately tiny INI dialect, parsed by hand (a
//! dozen lines; no crate needed, and no crate's quirks to document):
//!
//! ```text
//! # comment            ; comment
//! profile = compat
//! group = 239.255.255.250
//! port = 10000
//! [/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a]
//! interface = eth0
//! ```
//!
//! A bad value, an unknown key or a malformed line is an error naming the key
//! (and the file and line); the caller then disables the layer for the camera
//! rather than guessing.

use std::net::Ipv4Addr;

use super::files::{clip, read_small, read_small_with_mode};
use crate::core::auth::AuthKey;
use crate::core::controls::{MAX_SYNC_FRAMES, check_interface};
use crate::core::precision::StartAt;
use crate::core::{LayerParams, Profile, WireFormat};
use crate::net::NetConfig;

/// Every key, in documentation order.
pub const KEYS: [&str; 18] = [
    "profile",
    "ready_tolerance",
    "group",
    "port",
    "sync_period",
    "ready_frame",
    "min_adjustment",
    "interface",
    "ttl",
    "loopback",
    "wire_format",
    "packet_timeout",
    "clock_error_bound",
    "schedule",
    "schedule_origin",
    "start_at",
    "servers",
    "key_file",
];

/// The most addresses `servers` may name.
pub const MAX_SERVERS: usize = 16;

/// The smallest `sync_period`, frames. A `SyncAdjustment` reaches the sensor
/// several frames after the packet it answers (the request queue, then the
/// sensor's own delay: up to 6 frames on the cameras measured), and a client
/// of the reference corrects on every packet: with packets closer together
/// than that it corrects the same error again before the first correction
/// shows, over-corrects and never locks, while it reports ready. 8 leaves the
/// correction time to land (the precision server sends every 8 frames while
/// its clients acquire, for the same reason).
pub const MIN_SYNC_PERIOD: u32 = 8;
/// The largest `sync_period`, frames (a packet every 5.5 minutes at 30 fps).
pub const MAX_SYNC_PERIOD: u32 = 10_000;

/// The largest `ready_tolerance`, µs (a few frames' worth of lines; beyond
/// it "ready" would mean nothing).
pub const MAX_READY_TOLERANCE_US: u32 = 100_000;

/// The largest `clock_error_bound`, µs (a second: beyond it no rig holds
/// frames together across hosts).
pub const MAX_CLOCK_ERROR_BOUND_US: u32 = 1_000_000;

/// The largest configuration file read, bytes (a real one is a few hundred).
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// How much of a value, key or line an error message quotes, characters.
const QUOTE: usize = 80;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "LIBCAMERA_SYNC_CONFIG";

/// The environment variable of `key` (`LIBCAMERA_SYNC_<KEY>`).
pub fn env_name(key: &str) -> String {
    format!("LIBCAMERA_SYNC_{}", key.to_ascii_uppercase())
}

/// One camera's settings: everything a plugin instance takes, whoever runs
/// it (libcamera through the C API, `camsync demo`, the simulator, a trace
/// replay, the tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The core's arithmetic, and with it the clocks the instance reads.
    pub profile: Profile,
    /// The algorithm's parameters.
    pub layer: LayerParams,
    /// The network's.
    pub net: NetConfig,
    /// Warn when a client has had no valid packet, or a server's sends have
    /// failed, for this long (s; 0: never).
    pub packet_timeout_s: u32,
    /// Warn when this host's wall clock is unsynchronised or its estimated
    /// error exceeds this, µs (0: one line time, once a precision client has
    /// measured it, else [`super::health::FALLBACK_BOUND_NS`]).
    pub clock_error_bound_us: u32,
    /// The pre-shared key of the authenticated packets (`key_file`): a
    /// server signs its packets, a client accepts only packets it signed.
    pub key: Option<AuthKey>,
}

/// The default `packet_timeout`, s.
pub const DEFAULT_PACKET_TIMEOUT_S: u32 = 5;

impl Default for Config {
    fn default() -> Config {
        Config {
            profile: Profile::default(),
            layer: LayerParams::default(),
            net: NetConfig::default(),
            packet_timeout_s: DEFAULT_PACKET_TIMEOUT_S,
            clock_error_bound_us: 0,
            key: None,
        }
    }
}

/// The largest key file read, bytes.
const MAX_KEY_FILE: usize = 4096;

/// Read the key file `path`: a regular file that no one but its owner may
/// read or write (the key is a secret shared by the rig), read without
/// blocking and without bound; the key is its content less trailing
/// whitespace, 16 to 1024 bytes (`openssl rand -hex 32 > key`).
fn read_key(path: &str) -> Result<AuthKey, String> {
    let (bytes, mode) = read_small_with_mode(path, MAX_KEY_FILE)?;
    if mode & 0o077 != 0 {
        return Err(format!(
            "its mode is {:o}: a key file must be readable by its owner only (chmod 600)",
            mode & 0o7777
        ));
    }
    let key = bytes.trim_ascii_end();
    AuthKey::new(key).map_err(|why| format!("{why}, and it holds {}", key.len()))
}

/// Why the configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: bad value '{value}' for key '{key}': {reason}")]
    BadValue {
        origin: String,
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("{origin}: unknown key '{key}' (known keys: {})", KEYS.join(", "))]
    UnknownKey { origin: String, key: String },
    #[error("{origin}: cannot parse line '{line}' (expected 'key = value' or '[camera id]')")]
    Syntax { origin: String, line: String },
    #[error("cannot read the configuration file '{path}': {reason}")]
    File { path: String, reason: String },
    #[error("{origin}: key_file '{path}': {reason}")]
    KeyFile {
        origin: String,
        path: String,
        reason: String,
    },
}

impl Config {
    /// Set one key from its textual value. `origin` names where it came from
    /// (for the error).
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<(), ConfigError> {
        let bad = |reason: &'static str| ConfigError::BadValue {
            origin: origin.to_string(),
            key: clip(key, QUOTE),
            value: clip(value, QUOTE),
            reason,
        };
        let v = value.trim();
        match key {
            "profile" => {
                self.profile = Profile::from_name(v).ok_or_else(|| bad(PROFILE_NAMES))?;
            }
            "schedule" => {
                self.layer.precision.schedule =
                    parse_bool(v).ok_or_else(|| bad("not a boolean"))?;
            }
            "schedule_origin" => {
                self.layer.precision.schedule_origin_ns = parse_seconds(v).ok_or_else(|| {
                    bad("not seconds since the epoch, 0-10000000000 (e.g. 1767225600.5)")
                })?;
            }
            "start_at" => {
                let at = match v.strip_prefix("next:") {
                    Some(n) => parse_seconds(n)
                        .filter(|&ns| ns > 0 && ns <= MAX_START_EVERY_NS)
                        .map(StartAt::Next),
                    None => parse_seconds(v).map(StartAt::At),
                };
                self.layer.precision.start_at = Some(at.ok_or_else(|| {
                    bad("not seconds since the epoch (0-10000000000) or next:<seconds> (up to 86400)")
                })?);
            }
            "ready_tolerance" => {
                let us: u32 = v
                    .parse()
                    .ok()
                    .filter(|us| *us <= MAX_READY_TOLERANCE_US)
                    .ok_or_else(|| bad("not an integer 0-100000 (µs; 0: one line time)"))?;
                self.layer.precision.ready_tolerance_ns = us * 1000;
            }
            "group" => {
                let a: Ipv4Addr = v.parse().map_err(|_| bad("not an IPv4 address"))?;
                if !a.is_multicast() {
                    return Err(bad("not a multicast address (224.0.0.0/4)"));
                }
                self.net.group = a;
            }
            "port" => {
                let p: u16 = v.parse().map_err(|_| bad("not a port number (1-65535)"))?;
                if p == 0 {
                    return Err(bad("not a port number (1-65535)"));
                }
                self.net.port = p;
            }
            "sync_period" => {
                self.layer.sync_period = v
                    .parse()
                    .ok()
                    .filter(|n| (MIN_SYNC_PERIOD..=MAX_SYNC_PERIOD).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "not an integer 8-10000 (frames; a client needs the frames between \
                             packets for its correction to reach the sensor, which takes up to \
                             6 frames)",
                        )
                    })?
            }
            "ready_frame" => {
                self.layer.ready_frame = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_SYNC_FRAMES).contains(n))
                    .ok_or_else(|| bad("not an integer 1-1000000 (frames)"))?
            }
            "min_adjustment" => {
                self.layer.min_adjustment_us = v
                    .parse()
                    .map_err(|_| bad("not a non-negative integer (µs)"))?
            }
            "interface" => {
                check_interface(v).map_err(bad)?;
                self.net.interface = Some(v.to_string());
            }
            "ttl" => {
                let t: u32 = v.parse().map_err(|_| bad("not an integer 1-255"))?;
                if !(1..=255).contains(&t) {
                    return Err(bad("not an integer 1-255"));
                }
                self.net.ttl = t;
            }
            "loopback" => {
                self.net.loopback = parse_bool(v).ok_or_else(|| bad("not a boolean"))?;
            }
            "wire_format" => {
                self.net.wire_format =
                    WireFormat::from_name(v).ok_or_else(|| bad("expected 'layer' or 'rpi'"))?
            }
            "packet_timeout" => {
                self.packet_timeout_s = v
                    .parse()
                    .ok()
                    .filter(|t| *t <= 3600)
                    .ok_or_else(|| bad("not an integer 0-3600 (seconds; 0: never warn)"))?
            }
            "clock_error_bound" => {
                self.clock_error_bound_us = v
                    .parse()
                    .ok()
                    .filter(|us| *us <= MAX_CLOCK_ERROR_BOUND_US)
                    .ok_or_else(|| bad("not an integer 0-1000000 (µs; 0: one line time)"))?
            }
            "key_file" => {
                let key = read_key(v).map_err(|why| ConfigError::KeyFile {
                    origin: origin.to_string(),
                    path: clip(v, QUOTE),
                    reason: why,
                })?;
                self.key = Some(key);
            }
            "servers" => {
                let list: Result<Vec<Ipv4Addr>, _> = v
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|a| !a.is_empty())
                    .map(str::parse)
                    .collect();
                match list {
                    Ok(l) if (1..=MAX_SERVERS).contains(&l.len()) => self.net.servers = l,
                    _ => {
                        return Err(bad(
                            "not a list of 1-16 IPv4 addresses (comma or space separated)",
                        ));
                    }
                }
            }
            _ => {
                return Err(ConfigError::UnknownKey {
                    origin: origin.to_string(),
                    key: clip(key, QUOTE),
                });
            }
        }
        Ok(())
    }

    /// Apply a configuration file's text for `camera_id`: the global keys,
    /// then the camera's section. Every line is checked, whichever camera it
    /// is for.
    pub fn apply_file(
        &mut self,
        text: &str,
        path: &str,
        camera_id: &str,
    ) -> Result<(), ConfigError> {
        let mut global = Vec::new();
        let mut mine = Vec::new();
        // None: global; Some(true): this camera's section; Some(false): another's.
        let mut section: Option<bool> = None;
        for (n, raw) in text.lines().enumerate() {
            let origin = format!("{path}:{}", n + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(ConfigError::Syntax {
                        origin,
                        line: clip(line, QUOTE),
                    });
                };
                section = Some(name.trim() == camera_id);
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(ConfigError::Syntax {
                    origin,
                    line: clip(line, QUOTE),
                });
            };
            let (k, v) = (k.trim(), v.trim());
            // Validate every line on a scratch copy, so a typo in another
            // camera's section is found too.
            Config::default().set(k, v, &origin)?;
            match section {
                None => global.push((k.to_string(), v.to_string(), origin)),
                Some(true) => mine.push((k.to_string(), v.to_string(), origin)),
                Some(false) => {}
            }
        }
        for (k, v, origin) in global.iter().chain(mine.iter()) {
            self.set(k, v, origin)?;
        }
        Ok(())
    }

    /// Apply the `LIBCAMERA_SYNC_*` variables `get` returns. An empty value
    /// counts as unset, as libcamera's own variables do.
    pub fn apply_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for key in KEYS {
            let name = env_name(key);
            if let Some(v) = get(&name).filter(|v| !v.trim().is_empty()) {
                self.set(key, &v, &name)?;
            }
        }
        Ok(())
    }

    /// The configuration of `camera_id` from the process environment (and the
    /// file it names).
    pub fn from_env(camera_id: &str) -> Result<Config, ConfigError> {
        Config::load(camera_id, &|k| std::env::var(k).ok())
    }

    /// The configuration of `camera_id` from the environment `get` returns.
    pub fn load(
        camera_id: &str,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = get(CONFIG_ENV).filter(|p| !p.trim().is_empty()) {
            let file = |reason: String| ConfigError::File {
                path: clip(&path, QUOTE),
                reason,
            };
            let f = read_small(&path, MAX_CONFIG_BYTES).map_err(file)?;
            let text = String::from_utf8(f).map_err(|e| {
                file(format!(
                    "it is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ))
            })?;
            c.apply_file(&text, &path, camera_id)?;
        }
        c.apply_env(get)?;
        c.check()?;
        Ok(c)
    }

    /// What no single key can say: a schedule and a pinned start need the
    /// precision profile (the reference has neither).
    pub fn check(&self) -> Result<(), ConfigError> {
        let p = &self.layer.precision;
        if self.profile == Profile::Compat && (p.schedule || p.start_at.is_some()) {
            return Err(ConfigError::BadValue {
                origin: "configuration".into(),
                key: "profile".into(),
                value: self.profile.name().into(),
                reason: "schedule and start_at need profile = precision",
            });
        }
        Ok(())
    }
}

/// The profiles a `profile` value may name (keep in step with `Profile::ALL`;
/// a test checks).
const PROFILE_NAMES: &str = "expected one of: compat, precision";

/// The longest `start_at = next:<N>`, ns (a day).
const MAX_START_EVERY_NS: i64 = 86_400 * 1_000_000_000;

/// Decimal seconds since the epoch (`1767225600`, `1767225600.25`), up to
/// 10¹⁰ s (the year 2286), as ns — exactly, not through an f64.
fn parse_seconds(v: &str) -> Option<i64> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s: i64 = whole.parse().ok().filter(|s| *s <= 10_000_000_000)?;
    let mut ns: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..9 {
        ns *= 10;
    }
    s.checked_mul(1_000_000_000)?.checked_add(ns)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_reference_values() {
        let c = Config::load("cam", &env(&[])).unwrap();
        assert_eq!(c.net.group, Ipv4Addr::new(239, 255, 255, 250));
        assert_eq!(c.net.port, 10000);
        assert_eq!(c.layer.sync_period, 30);
        assert_eq!(c.layer.ready_frame, 100);
        assert_eq!(c.layer.min_adjustment_us, 50);
        assert_eq!(c.net.ttl, 1);
        assert_eq!(c.net.interface, None);
        assert_eq!(c.net.wire_format, WireFormat::Layer);
        assert_eq!(c.profile, Profile::default());
        assert_eq!(c.packet_timeout_s, 5);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let mut pairs: Vec<(String, &str)> = KEYS.iter().map(|k| (env_name(k), "")).collect();
        pairs.push((CONFIG_ENV.to_string(), ""));
        pairs.push((env_name("port"), "  "));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(Config::load("cam", &env(&refs)).unwrap(), Config::default());
    }

    #[test]
    fn schedule_and_pinned_start() {
        let c = Config::load(
            "cam",
            &env(&[
                ("LIBCAMERA_SYNC_SCHEDULE", "on"),
                ("LIBCAMERA_SYNC_SCHEDULE_ORIGIN", "1767225600.000001"),
                ("LIBCAMERA_SYNC_START_AT", "next:10"),
            ]),
        )
        .unwrap();
        let p = c.layer.precision;
        assert!(p.schedule);
        assert_eq!(p.schedule_origin_ns, 1_767_225_600_000_001_000);
        assert_eq!(p.start_at, Some(StartAt::Next(10_000_000_000)));
        let c = Config::load("cam", &env(&[("LIBCAMERA_SYNC_START_AT", "1767225605.5")])).unwrap();
        assert_eq!(
            c.layer.precision.start_at,
            Some(StartAt::At(1_767_225_605_500_000_000))
        );
        for (k, v) in [
            ("LIBCAMERA_SYNC_SCHEDULE_ORIGIN", "-1"),
            ("LIBCAMERA_SYNC_SCHEDULE_ORIGIN", "1e9"),
            ("LIBCAMERA_SYNC_SCHEDULE_ORIGIN", "10000000001"),
            ("LIBCAMERA_SYNC_SCHEDULE_ORIGIN", "1.0000000001"),
            ("LIBCAMERA_SYNC_START_AT", "next:0"),
            ("LIBCAMERA_SYNC_START_AT", "next:86401"),
            ("LIBCAMERA_SYNC_START_AT", "tomorrow"),
            ("LIBCAMERA_SYNC_START_AT", "nan"),
            ("LIBCAMERA_SYNC_SCHEDULE", "maybe"),
        ] {
            let e = Config::load("cam", &env(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
        // The reference has neither.
        let e = Config::load(
            "cam",
            &env(&[
                ("LIBCAMERA_SYNC_PROFILE", "compat"),
                ("LIBCAMERA_SYNC_SCHEDULE", "on"),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("precision"), "{e}");
    }

    #[test]
    fn every_profile_is_named_in_the_error() {
        let e = Config::default().set("profile", "nope", "x").unwrap_err();
        for p in Profile::ALL {
            assert!(e.to_string().contains(p.name()), "{e}");
            let mut c = Config::default();
            c.set("profile", p.name(), "x").unwrap();
            assert_eq!(c.profile, *p);
        }
    }

    #[test]
    fn every_key_from_env() {
        let c = Config::load(
            "cam",
            &env(&[
                ("LIBCAMERA_SYNC_GROUP", "239.1.2.3"),
                ("LIBCAMERA_SYNC_PORT", "12345"),
                ("LIBCAMERA_SYNC_SYNC_PERIOD", "10"),
                ("LIBCAMERA_SYNC_READY_FRAME", "20"),
                ("LIBCAMERA_SYNC_MIN_ADJUSTMENT", "0"),
                ("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1"),
                ("LIBCAMERA_SYNC_TTL", "3"),
                ("LIBCAMERA_SYNC_LOOPBACK", "off"),
                ("LIBCAMERA_SYNC_WIRE_FORMAT", "rpi"),
                ("LIBCAMERA_SYNC_PROFILE", "compat"),
                ("LIBCAMERA_SYNC_PACKET_TIMEOUT", "0"),
                ("LIBCAMERA_SYNC_READY_TOLERANCE", "25"),
                ("LIBCAMERA_SYNC_CLOCK_ERROR_BOUND", "500"),
                ("LIBCAMERA_SYNC_SERVERS", "192.0.2.1, 192.0.2.2 192.0.2.3"),
            ]),
        )
        .unwrap();
        assert_eq!(c.profile, Profile::Compat);
        assert_eq!(c.packet_timeout_s, 0);
        assert_eq!(c.layer.precision.ready_tolerance_ns, 25_000);
        assert_eq!(c.clock_error_bound_us, 500);
        assert_eq!(c.net.group, Ipv4Addr::new(239, 1, 2, 3));
        assert_eq!(c.net.port, 12345);
        assert_eq!(c.layer.sync_period, 10);
        assert_eq!(c.layer.ready_frame, 20);
        assert_eq!(c.layer.min_adjustment_us, 0);
        assert_eq!(c.net.interface.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.net.ttl, 3);
        assert!(!c.net.loopback);
        assert_eq!(c.net.wire_format, WireFormat::Rpi);
        assert_eq!(
            c.net.servers,
            [
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(192, 0, 2, 2),
                Ipv4Addr::new(192, 0, 2, 3)
            ]
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            ("LIBCAMERA_SYNC_GROUP", "10.0.0.1"),
            ("LIBCAMERA_SYNC_PORT", "0"),
            ("LIBCAMERA_SYNC_PORT", "70000"),
            ("LIBCAMERA_SYNC_SYNC_PERIOD", "0"),
            ("LIBCAMERA_SYNC_SYNC_PERIOD", "7"),
            ("LIBCAMERA_SYNC_SYNC_PERIOD", "10001"),
            ("LIBCAMERA_SYNC_READY_FRAME", "1000001"),
            ("LIBCAMERA_SYNC_READY_FRAME", "-1"),
            ("LIBCAMERA_SYNC_MIN_ADJUSTMENT", "x"),
            ("LIBCAMERA_SYNC_TTL", "256"),
            ("LIBCAMERA_SYNC_LOOPBACK", "maybe"),
            ("LIBCAMERA_SYNC_WIRE_FORMAT", "json"),
            ("LIBCAMERA_SYNC_INTERFACE", "e th0"),
            ("LIBCAMERA_SYNC_PROFILE", "fast"),
            ("LIBCAMERA_SYNC_PACKET_TIMEOUT", "3601"),
            ("LIBCAMERA_SYNC_PACKET_TIMEOUT", "-1"),
            ("LIBCAMERA_SYNC_READY_TOLERANCE", "-1"),
            ("LIBCAMERA_SYNC_READY_TOLERANCE", "100001"),
            ("LIBCAMERA_SYNC_READY_TOLERANCE", "1e3"),
            ("LIBCAMERA_SYNC_CLOCK_ERROR_BOUND", "-1"),
            ("LIBCAMERA_SYNC_CLOCK_ERROR_BOUND", "1000001"),
            ("LIBCAMERA_SYNC_CLOCK_ERROR_BOUND", "20us"),
            ("LIBCAMERA_SYNC_SERVERS", "192.0.2.1,eth0"),
            ("LIBCAMERA_SYNC_SERVERS", ",,"),
        ] {
            let e = Config::load("cam", &env(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
            assert!(e.to_string().contains(v.trim()), "{e}");
        }
    }

    #[test]
    fn file_sections_are_per_camera_and_env_wins() {
        let text = "# sync\nport = 11000\nttl=2\n\n[camA]\nport = 11001\ninterface = lo\n[camB]\nport = 11002\n";
        let c = Config::load("camA", &env(&[])).unwrap();
        assert_eq!(c.net.port, 10000);
        let mut a = Config::default();
        a.apply_file(text, "f", "camA").unwrap();
        assert_eq!((a.net.port, a.net.ttl), (11001, 2));
        assert_eq!(a.net.interface.as_deref(), Some("lo"));
        let mut b = Config::default();
        b.apply_file(text, "f", "camB").unwrap();
        assert_eq!((b.net.port, b.net.interface.as_deref()), (11002, None));
        let mut other = Config::default();
        other.apply_file(text, "f", "camC").unwrap();
        assert_eq!(other.net.port, 11000);

        let dir = std::env::temp_dir().join(format!("camsync-cfg-{}", std::process::id()));
        std::fs::write(&dir, text).unwrap();
        let p = dir.to_string_lossy().into_owned();
        let c = Config::load(
            "camA",
            &env(&[(CONFIG_ENV, &p), ("LIBCAMERA_SYNC_PORT", "11500")]),
        )
        .unwrap();
        assert_eq!(c.net.port, 11500);
        assert_eq!(c.net.interface.as_deref(), Some("lo"));
        std::fs::remove_file(&dir).unwrap();
    }

    /// `Config::load` with `LIBCAMERA_SYNC_CONFIG=path`, in a thread: its
    /// error, or a panic if it has not returned within 10 s.
    fn load_within_10s(path: &std::path::Path) -> ConfigError {
        let p = path.to_string_lossy().into_owned();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Config::load("cam", &env(&[(CONFIG_ENV, &p)])));
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{}: still reading after 10 s", path.display()))
            .expect_err("not a configuration")
    }

    #[test]
    fn a_config_path_that_is_no_small_regular_file_is_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("camsync-cfg-kinds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A FIFO without a writer: open() waited for one forever.
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A huge (sparse) file: was read whole, and a bad line echoed whole.
        let huge = dir.join("huge.conf");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        for (path, why) in [
            (fifo.as_path(), "a FIFO"),
            (dir.as_path(), "a directory"),
            // Was read until memory ran out.
            (std::path::Path::new("/dev/zero"), "a character device"),
            (huge.as_path(), "2147483648 bytes long"),
        ] {
            let e = load_within_10s(path).to_string();
            assert!(
                e.contains(&*path.to_string_lossy()) && e.contains(why),
                "{}: {e}",
                path.display()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_quote_at_most_a_line_s_beginning() {
        let long = "x".repeat(60_000);
        for text in [
            long.clone(),
            format!("{long} = 1"),
            format!("port = {long}"),
        ] {
            let e = Config::default()
                .apply_file(&text, "f.conf", "cam")
                .unwrap_err()
                .to_string();
            assert!(e.len() < 400, "{} bytes: {}", e.len(), &e[..200]);
            assert!(e.contains("f.conf:1") && e.contains("bytes)"), "{e}");
        }
    }

    #[test]
    fn file_errors_name_the_line_and_key() {
        let mut c = Config::default();
        let e = c
            .apply_file("port = 1\n[x]\nprot = 2\n", "f.conf", "y")
            .unwrap_err();
        assert_eq!(
            e,
            ConfigError::UnknownKey {
                origin: "f.conf:3".into(),
                key: "prot".into()
            }
        );
        let e = c.apply_file("[x]\nttl = 0\n", "f.conf", "x").unwrap_err();
        assert!(
            e.to_string().contains("f.conf:2") && e.to_string().contains("'ttl'"),
            "{e}"
        );
        let e = c.apply_file("just words\n", "f.conf", "x").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }));
        let e = Config::load("x", &env(&[(CONFIG_ENV, "/nonexistent/sync.conf")])).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/sync.conf"));
    }
}
