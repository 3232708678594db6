// SPDX-License-Identifier: LGPL-2.1-or-later
//! Faults injected into a simulation on top of its scenario, for the fault
//! matrix (`tests/fault_matrix.rs`): network trouble (loss, delay,
//! duplication, reordering) and dropped frames within a time window, camera
//! restarts, an application flipping `SyncMode`, and a forger sending
//! well-formed packets. Every draw comes from streams of its own, so a run
//! without faults is the run the scenario alone gives.

use std::net::{Ipv4Addr, SocketAddrV4};

/// A camera stopping after one of its frames and starting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    /// The camera (index in the scenario; 0 is the server).
    pub camera: usize,
    /// It stops after this run-local frame of its first run ...
    pub after_frame: u64,
    /// ... and starts again this much later, ns.
    pub gap_ns: i64,
}

/// Someone on the network sending well-formed sync packets to every client:
/// the real server's latest packet with its frame timestamp moved by
/// `shift_ns`, from an address of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forger {
    /// A forged packet every this long, ns.
    pub every_ns: i64,
    /// How far the forged frame grid is from the server's, ns.
    pub shift_ns: i64,
    /// It sends from the server's own address (spoofed), not from its own
    /// ([`FORGER_ADDR`]).
    pub spoof: bool,
}

/// The forger's address (the documentation range, TEST-NET-1).
pub const FORGER_ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 200), 40_000);

/// The address camera `cam` sends from in its run `run` (a restarted
/// camera's socket gets a new ephemeral port, as a real one would).
pub fn camera_addr(cam: usize, run: u32) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::new(192, 0, 2, (cam % 200 + 1) as u8),
        40_000 + (run % 1000) as u16 + 1,
    )
}

/// Faults on top of a scenario. The default is none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// When the network and frame faults below apply: true ns, [from, to).
    pub window_ns: (i64, i64),
    /// Extra packet loss, ppm of deliveries.
    pub loss_ppm: u32,
    /// Extra network delay, ns [lo, hi].
    pub delay_ns: (i64, i64),
    /// A delivery is duplicated (a second copy up to 5 ms later), ppm.
    pub duplicate_ppm: u32,
    /// A delivery is held back by `reorder_hold_ns`, so that later packets
    /// overtake it, ppm.
    pub reorder_ppm: u32,
    pub reorder_hold_ns: i64,
    /// Frames dropped (no completion), ppm.
    pub frame_drop_ppm: u32,
    /// Cameras that stop and start again (whenever their frame comes, window or not).
    pub restarts: Vec<Restart>,
    /// Camera `.0`'s application sets `SyncMode` Off and back to its role
    /// every `.1` requests, within the window (back in its role after it).
    pub mode_flips: Option<(usize, u32)>,
    pub forger: Option<Forger>,
    /// The cameras' `SyncAdjustment` limits, ± µs (default: half a frame,
    /// the sensor model's own clamp). A camera may advertise more, up to a
    /// whole frame: the layer must still never ask for more than half.
    pub adjust_limit_us: Option<i32>,
    /// Every datagram carries its sender's address ([`camera_addr`]: a
    /// restarted camera sends from a new port, as a real one does). Off
    /// (the scenarios'): datagrams say nothing of their sender, and every
    /// server is one to the clients.
    pub addresses: bool,
}

impl Faults {
    /// Whether true time `t` is within the window.
    pub fn active(&self, t: i64) -> bool {
        (self.window_ns.0..self.window_ns.1).contains(&t)
    }

    /// Whether any network fault is configured.
    pub fn network(&self) -> bool {
        self.loss_ppm > 0
            || self.delay_ns != (0, 0)
            || self.duplicate_ppm > 0
            || self.reorder_ppm > 0
    }
}
