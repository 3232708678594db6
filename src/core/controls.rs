// SPDX-License-Identifier: LGPL-2.1-or-later AND BSD-2-Clause
// Ported from libcamera's sync layer (the unmerged Sync Layer v2 series):
// src/layer/sync/sync.cpp (BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd;
// Copyright (C) 2025, Ideas On Board Oy) and src/layer/sync/sync.h
// (LGPL-2.1-or-later; Copyright (C) 2025, Ideas On Board Oy). See LICENSE.

//! The libcamera controls the layer reads and writes, as plain values.
//!
//! The adapter (or a replay) turns libcamera's `ControlList` into
//! [`Controls`] and the camera's `ControlInfoMap` into [`CameraControls`];
//! the core never sees a libcamera type.

/// `rpi::SyncMode`: 0 Off, 1 Server, 2 Client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Mode {
    #[default]
    Off,
    Server,
    Client,
}

impl Mode {
    /// The control's value, or `None` for a value outside the enumeration.
    pub fn from_control(v: i32) -> Option<Mode> {
        match v {
            0 => Some(Mode::Off),
            1 => Some(Mode::Server),
            2 => Some(Mode::Client),
            _ => None,
        }
    }

    pub const fn as_control(self) -> i32 {
        match self {
            Mode::Off => 0,
            Mode::Server => 1,
            Mode::Client => 2,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Server => "server",
            Mode::Client => "client",
        }
    }
}

/// The sync-related entries of a request's (or `start()`'s) control list.
/// Each is `Some` only if the application set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Controls<'a> {
    /// `rpi::SyncMode`.
    pub sync_mode: Option<i32>,
    /// `rpi::SyncFrames`: frames until ready (server).
    pub sync_frames: Option<i32>,
    /// `FrameDurationLimits` [min, max], µs.
    pub frame_duration_limits_us: Option<[i64; 2]>,
    /// `SyncInterface`: the network interface, a name or an IPv4 address.
    pub sync_interface: Option<&'a str>,
}

/// What the layer needs to know of the camera's `ControlInfoMap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CameraControls {
    /// `SyncAdjustment` [min, max] µs, if the camera has the control at all.
    pub sync_adjustment_limits_us: Option<[i32; 2]>,
    /// `FrameDurationLimits` [min, max] µs, if the camera has the control.
    pub frame_duration_limits_us: Option<[i64; 2]>,
}

/// A control the layer adds to the camera's `ControlInfoMap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlInfo {
    /// libcamera's name, with its vendor prefix.
    pub name: &'static str,
    pub min: i64,
    pub max: i64,
    pub def: Option<i64>,
    /// The allowed values of an enumerated control; empty otherwise.
    pub values: &'static [i64],
}

/// The controls the layer advertises when the camera supports sync (the
/// reference's `updateControls`).
pub const ADDED_CONTROLS: [ControlInfo; 3] = [
    ControlInfo {
        name: "rpi::SyncMode",
        min: 0,
        max: 2,
        def: Some(0),
        values: &[0, 1, 2],
    },
    ControlInfo {
        name: "rpi::SyncFrames",
        min: 1,
        max: MAX_SYNC_FRAMES as i64,
        def: Some(100),
        values: &[],
    },
    // A string control; min and max bound its length.
    ControlInfo {
        name: "SyncInterface",
        min: 1,
        max: 40,
        def: None,
        values: &[],
    },
];

/// The longest `SyncInterface` value accepted (the control's advertised max).
pub const MAX_INTERFACE_LEN: usize = 40;

/// The largest `rpi::SyncFrames` (and `ready_frame`) accepted: the control's
/// advertised maximum.
pub const MAX_SYNC_FRAMES: u32 = 1_000_000;

/// Why a `SyncInterface` value (or the `interface` key) is refused: the same
/// rule for the control and the configuration.
pub fn check_interface(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_INTERFACE_LEN {
        return Err("empty or longer than 40 bytes");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace, NUL or another control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_without_whitespace_or_control_characters() {
        assert_eq!(check_interface("eth0"), Ok(()));
        assert_eq!(check_interface("192.168.1.2"), Ok(()));
        for bad in ["", "e th0", "eth0\0", "eth0\n", "\teth0", "eth\u{85}0"] {
            assert!(check_interface(bad).is_err(), "{bad:?}");
        }
        assert!(check_interface(&"x".repeat(41)).is_err());
    }

    #[test]
    fn mode_round_trip_and_rejects_unknown_values() {
        for m in [Mode::Off, Mode::Server, Mode::Client] {
            assert_eq!(Mode::from_control(m.as_control()), Some(m));
        }
        assert_eq!(Mode::from_control(3), None);
        assert_eq!(Mode::from_control(-1), None);
    }
}
