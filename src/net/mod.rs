// SPDX-License-Identifier: LGPL-2.1-or-later
//! Transports: what carries the sync packets between cameras.
//!
//! A [`Transport`] is one socket at a time, opened and closed as the core
//! asks, sending and receiving raw datagrams. What the layer does with them —
//! encoding, decoding and validating, the bounded drain per frame, the
//! counters — is the plugin instance's (`crate::plugin::Instance`), so every
//! transport gets the same treatment.
//!
//! - [`udp`]: [`UdpTransport`], real UDP multicast, the one the C API uses;
//! - [`memory`]: [`MemoryTransport`], deterministic queues in memory, for the
//!   simulator, the trace replay and the tests;
//! - [`socket`]: the UDP sender (Server mode) and non-blocking receiver (Client mode);
//! - [`iface`]: interface names and addresses.

pub mod iface;
pub mod memory;
pub mod socket;
pub mod udp;

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::core::{SocketRole, WireFormat};

pub use iface::resolve_interface;
pub use memory::{MemDatagram, MemoryTransport};
pub use socket::{Receiver, Sender};
pub use udp::UdpTransport;

/// Network settings (defaults as libcamera's sync layer and the Raspberry Pi IPA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// Multicast group.
    pub group: Ipv4Addr,
    pub port: u16,
    /// Interface name or IPv4 address used when the application sets no
    /// `SyncInterface`; `None`: the kernel's choice.
    pub interface: Option<String>,
    /// Multicast TTL (1: the local network only).
    pub ttl: u32,
    /// Deliver our own multicast to sockets on this host (needed when server
    /// and clients share a host).
    pub loopback: bool,
    /// The format a server sends (clients accept both).
    pub wire_format: WireFormat,
    /// Datagrams a client reads per frame at most.
    pub max_drain: usize,
    /// The servers a client accepts packets from (empty: any).
    pub servers: Vec<Ipv4Addr>,
}

pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
pub const DEFAULT_PORT: u16 = 10000;
/// Datagrams a client reads per frame at most: a flood of 100 000 datagrams
/// a second is 3 333 a frame at 30 fps.
pub const DEFAULT_MAX_DRAIN: usize = 4096;

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP,
            port: DEFAULT_PORT,
            interface: None,
            ttl: 1,
            loopback: true,
            wire_format: WireFormat::Layer,
            max_drain: DEFAULT_MAX_DRAIN,
            servers: Vec::new(),
        }
    }
}

/// A network failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot {what}: {source}")]
    Socket {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("interface '{interface}': {reason}")]
    Interface { interface: String, reason: String },
    #[error("no sender socket is open")]
    NotSender,
    #[error("no receiver socket is open")]
    NotReceiver,
}

impl NetError {
    /// The address (port) is in use: another socket holds it exclusively.
    pub fn is_addr_in_use(&self) -> bool {
        matches!(self, NetError::Socket { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}

/// A datagram [`Transport::recv`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The datagram's real length; more than the buffer's when it was
    /// truncated (only the buffer's worth was read).
    pub len: usize,
    /// Who sent it, if known.
    pub from: Option<SocketAddrV4>,
    /// The address it was sent to (the IP header's destination), if known:
    /// the group, or this host's address for a unicast datagram.
    pub to: Option<Ipv4Addr>,
}

/// One socket at a time, carrying raw datagrams. No call blocks.
pub trait Transport {
    /// Open a socket for `role`, closing any other first (on error none is
    /// open). `interface` is a name or IPv4 address (`None`: the kernel's
    /// choice). A receiver joins the group, binds the port and discards the
    /// datagrams already waiting: returns how many it discarded.
    fn open(&mut self, role: SocketRole, interface: Option<&str>) -> Result<usize, NetError>;

    /// Close the socket, if any.
    fn close(&mut self);

    /// Send one datagram to the group (a sender must be open).
    fn send(&mut self, datagram: &[u8]) -> Result<(), NetError>;

    /// Read one waiting datagram into `buf` (a receiver must be open);
    /// `Ok(None)` when nothing is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, NetError>;
}
