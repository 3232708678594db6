//! camsync: libcamera's sync layer, in Rust.
//!
//! - [`core`]: the pure, deterministic algorithm (no I/O);
//! - [`ffi`]: the C API (`include/camsync.h`) over [`plugin`];
//! - [`plugin`]: one camera's layer instance (lock, real clocks, config, logging);
//! - [`net`]: UDP multicast sockets that carry out the core's socket actions;
//! - [`replay`]: replays golden traces through the core and checks every output;
//! - [`sim`]: the closed-loop simulator (virtual time, deterministic);
//! - [`align`]: offline alignment check of recorded frame metadata.

pub mod align;
pub mod core;
pub mod ffi;
pub mod net;
pub mod plugin;
pub mod replay;
pub mod sim;
