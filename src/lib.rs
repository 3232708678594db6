// SPDX-License-Identifier: LGPL-2.1-or-later
//! camsync: libcamera's sync layer, in Rust.
//!
//! - [`core`]: the pure, deterministic algorithm (no I/O);
//! - [`ffi`]: the C API (`include/camsync.h`) over [`plugin`];
//! - [`plugin`]: one camera's layer instance (generic over its transport and clocks; config, logging);
//! - [`net`]: transports: UDP multicast, and a deterministic one in memory;
//! - [`replay`]: replays golden traces through the plugin instance and checks every output;
//! - [`sim`]: the closed-loop simulator (virtual time, deterministic);
//! - [`align`]: offline alignment check of recorded frame metadata.
//!
//! `replay`, `sim` and `align` serve the `camsync` tools and are built with
//! the `cli` feature (on by default); the layer itself needs none of them.

#[cfg(feature = "cli")]
pub mod align;
pub mod core;
pub mod ffi;
pub mod net;
pub mod plugin;
#[cfg(feature = "cli")]
pub mod replay;
#[cfg(feature = "cli")]
pub mod sim;
