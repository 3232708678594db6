//! camsync: libcamera's sync layer, in Rust.
//!
//! - [`core`]: the pure, deterministic algorithm (no I/O);
//! - [`net`]: UDP multicast sockets that carry out the core's socket actions;
//! - [`replay`]: replays golden traces through the core and checks every output.

pub mod core;
pub mod net;
pub mod replay;
