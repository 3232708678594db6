// SPDX-License-Identifier: LGPL-2.1-or-later
//! The transport: real UDP multicast sockets for the core's socket actions.
//!
//! - [`socket`]: the sender (Server) and the non-blocking, bounded receiver (Client);
//! - [`iface`]: interface names and addresses;
//! - [`reject`]: counting and rate-limited logging of rejected datagrams;
//! - [`Transport`]: follows the core's [`SocketAction`]s, one socket at a time.

pub mod iface;
pub mod reject;
pub mod socket;

use std::net::Ipv4Addr;

use crate::core::{PacketSource, SocketAction, SocketRole, SyncPacket, WireFormat};

pub use iface::resolve_interface;
pub use reject::RxStats;
pub use socket::{Drain, Receiver, Sender};

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
}

pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
pub const DEFAULT_PORT: u16 = 10000;

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP,
            port: DEFAULT_PORT,
            interface: None,
            ttl: 1,
            loopback: true,
            wire_format: WireFormat::Layer,
            max_drain: 32,
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
}

#[derive(Debug)]
enum Open {
    Sender(Sender),
    Receiver(Receiver),
}

/// The one socket of a layer instance, following the core's socket actions.
#[derive(Debug)]
pub struct Transport {
    cfg: NetConfig,
    open: Option<Open>,
    /// Stats of receivers already closed, so counts survive a reopen.
    closed_stats: RxStats,
}

impl Transport {
    pub fn new(cfg: NetConfig) -> Transport {
        Transport {
            cfg,
            open: None,
            closed_stats: RxStats::default(),
        }
    }

    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Carry out a socket action. `interface` is the layer's `SyncInterface`
    /// (which wins over the configured one). The old socket is closed first,
    /// so on error no socket is open.
    pub fn apply(&mut self, action: SocketAction, interface: Option<&str>) -> Result<(), NetError> {
        self.close();
        let SocketAction::Open(role) = action else {
            return Ok(());
        };
        let spec = interface.or(self.cfg.interface.as_deref());
        let ifaddr = spec.map(resolve_interface).transpose()?;
        self.open = Some(match role {
            SocketRole::Sender => Open::Sender(Sender::open(&self.cfg, ifaddr)?),
            SocketRole::Receiver => Open::Receiver(Receiver::open(&self.cfg, ifaddr)?),
        });
        tracing::debug!(
            role = ?role,
            group = %self.cfg.group,
            port = self.cfg.port,
            interface = spec.unwrap_or("(default)"),
            "sync socket opened"
        );
        Ok(())
    }

    /// Close the socket, if any.
    pub fn close(&mut self) {
        if let Some(Open::Receiver(r)) = self.open.take() {
            self.closed_stats += r.stats();
        }
    }

    /// The role of the open socket.
    pub fn role(&self) -> Option<SocketRole> {
        match self.open {
            Some(Open::Sender(_)) => Some(SocketRole::Sender),
            Some(Open::Receiver(_)) => Some(SocketRole::Receiver),
            None => None,
        }
    }

    /// The open socket's descriptor (for inspection).
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match &self.open {
            Some(Open::Sender(s)) => Some(s.as_raw_fd()),
            Some(Open::Receiver(r)) => Some(r.as_raw_fd()),
            None => None,
        }
    }

    /// Send a packet (Server mode).
    pub fn send(&mut self, packet: &SyncPacket) -> Result<(), NetError> {
        match &mut self.open {
            Some(Open::Sender(s)) => s.send(packet),
            _ => Err(NetError::NotSender),
        }
    }

    /// This frame's packets: a bounded drain of the receiver, or nothing.
    pub fn packets(&mut self) -> Packets<'_> {
        match &mut self.open {
            Some(Open::Receiver(r)) => Packets::Drain(r.drain()),
            _ => Packets::Nothing,
        }
    }

    /// Receive statistics over every receiver this transport has had.
    pub fn rx_stats(&self) -> RxStats {
        let mut s = self.closed_stats;
        if let Some(Open::Receiver(r)) = &self.open {
            s += r.stats();
        }
        s
    }
}

/// The packet source of one frame (no allocation).
pub enum Packets<'a> {
    Nothing,
    Drain(Drain<'a>),
}

impl PacketSource for Packets<'_> {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        match self {
            Packets::Nothing => None,
            Packets::Drain(d) => d.next_packet(),
        }
    }
}
