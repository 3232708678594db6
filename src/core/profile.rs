//! Profiles: which arithmetic the core runs.
//!
//! `Compat` is libcamera's C++ sync layer bit for bit, its arithmetic defects
//! included, so that it reproduces the golden traces. Improvements (frequency
//! tracking, correct nearest-frame rounding, a sane clock fit) will live in
//! other variants and be measured against this one on identical inputs.

/// The arithmetic the core runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// The reference implementation's arithmetic, exactly.
    #[default]
    Compat,
}

impl Profile {
    /// Every profile, for side-by-side runs.
    pub const ALL: &'static [Profile] = &[Profile::Compat];

    pub const fn name(self) -> &'static str {
        match self {
            Profile::Compat => "compat",
        }
    }

    pub fn from_name(s: &str) -> Option<Profile> {
        Profile::ALL.iter().copied().find(|p| p.name() == s)
    }
}
