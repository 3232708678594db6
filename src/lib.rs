//! camsync: libcamera's sync layer, in Rust.
//!
//! - [`core`]: the pure, deterministic algorithm (no I/O);
//! - [`replay`]: replays golden traces through the core and checks every output.

pub mod core;
pub mod replay;
