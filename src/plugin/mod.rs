// SPDX-License-Identifier: LGPL-2.1-or-later
//! The layer as libcamera runs it: one [`Instance`] per camera (the core
//! layer, its transport, its clocks and its configuration behind a lock),
//! its [`config`]uration, [`logging`] (to the host's logger once it gives
//! one, libcamera's format on stderr until then; every line naming its
//! camera, none written under a lock), and the [`panic`](mod@panic)
//! boundary the C API uses.
//!
//! - [`instance`]: the instance, generic over its transport and clocks;
//! - [`clock`]: the clocks it reads (system, or set by a simulator);
//! - [`health`]: the kernel's view of this host's wall clock, and the
//!   warnings when it cannot hold cameras on several hosts together;
//! - `rx`: a client's bounded, validating drain and its counters;
//! - `notices`: what it warns about (a variable frame rate, silence,
//!   failing sends, being disabled while asked for sync);
//! - `timers`: rate limits, watchdogs and back-off on the instance's clock;
//! - `files`: bounded, non-blocking reads of the files the configuration names.

pub mod clock;
pub mod config;
mod files;
pub mod health;
pub mod instance;
pub mod logging;
mod notices;
pub mod panic;
mod rx;
mod timers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError};
pub use health::KernelClock;
pub use instance::{Disabled, Hook, Instance, QueueOutput, Snapshot, Stats, adjustment_bounds};
pub use rx::RxStats;
