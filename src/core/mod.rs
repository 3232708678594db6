// SPDX-License-Identifier: LGPL-2.1-or-later
//! The pure core of the sync layer: no I/O, no clocks read, no `unsafe`, no C
//! types. Time, clock samples and received packets are inputs; metadata, the
//! `SyncAdjustment` value, packets to send and socket actions are outputs.
//!
//! - [`clock`]: clock recovery (wall clock from the sensor's clock);
//! - [`controls`]: the libcamera controls as plain values;
//! - [`layer`]: the per-camera state machine, hook by hook;
//! - `compat` + `frame`: the reference's per-camera state and per-frame
//!   arithmetic (server estimate, client correction), bit for bit;
//! - [`precision`]: the precision profile (wall-clock fit, timeline filter,
//!   server grid, actuation probe, client loop, server);
//! - [`wire`]: the two wire formats of the sync packet;
//! - [`auth`]: the opt-in authenticated format (HMAC-SHA256, a replay window);
//! - [`profile`]: which arithmetic runs (`Compat` = the reference).

#![forbid(unsafe_code)]

pub mod auth;
pub mod clock;
mod compat;
pub mod controls;
mod frame;
pub mod layer;
pub mod precision;
pub mod profile;
pub mod wire;

pub use clock::{ClockRecovery, ClockRecoveryParams, ClockSample, ClockSource};
pub use controls::{ADDED_CONTROLS, CameraControls, ControlInfo, Controls, Mode};
pub use layer::{
    Completion, FrameDiag, FrameOutput, HookOutput, Layer, LayerParams, NoPackets, PacketSource,
    SocketAction, SocketRole,
};
pub use profile::Profile;
pub use wire::{Datagram, Expect, SyncPacket, WireError, WireFormat};
