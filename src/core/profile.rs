// SPDX-License-Identifier: LGPL-2.1-or-later
//! Profiles: which arithmetic the core runs.
//!
//! `Compat` is libcamera's C++ sync layer bit for bit, its arithmetic defects
//! included, so that it reproduces the golden traces. `Precision` speaks the
//! same wire protocol and aims at the physical limit (the sensor's line
//! grid): a phase-and-frequency loop, whole-line requests predicted through
//! the actuation latency, a sane wall-clock fit (`super::precision`). Both
//! run on identical inputs in the simulator and the bench, side by side.

/// The arithmetic the core runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// The reference implementation's arithmetic, exactly.
    Compat,
    /// Frame alignment at the line grid, on the same wire (the default:
    /// it follows and leads the reference, see the README's table).
    #[default]
    Precision,
}

impl Profile {
    /// Every profile, for side-by-side runs.
    pub const ALL: &'static [Profile] = &[Profile::Compat, Profile::Precision];

    pub const fn name(self) -> &'static str {
        match self {
            Profile::Compat => "compat",
            Profile::Precision => "precision",
        }
    }

    pub fn from_name(s: &str) -> Option<Profile> {
        Profile::ALL.iter().copied().find(|p| p.name() == s)
    }
}
