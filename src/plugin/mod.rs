// SPDX-License-Identifier: LGPL-2.1-or-later
//! The layer as libcamera runs it: one [`Instance`] per camera (the core
//! layer, its socket and its configuration behind a lock, reading the real
//! clocks), its [`config`]uration, [`logging`] in libcamera's format, and the
//! [`panic`](mod@panic) boundary the C API uses.

pub mod config;
pub mod instance;
pub mod logging;
pub mod panic;

pub use config::{Config, ConfigError};
pub use instance::{Disabled, Hook, Instance, QueueOutput, Stats, SystemClock};
