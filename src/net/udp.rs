// SPDX-License-Identifier: LGPL-2.1-or-later
//! [`UdpTransport`]: the sync packets over real UDP multicast, the transport
//! of the C API (and of `camsync demo`).

use std::os::fd::{AsRawFd, RawFd};

use super::{NetConfig, NetError, Received, Receiver, Sender, Transport, resolve_interface};
use crate::core::SocketRole;

#[derive(Debug)]
enum Open {
    Sender(Sender),
    Receiver(Receiver),
}

/// One UDP socket to the configured group and port: a sender (TTL and
/// loopback as configured) or a non-blocking receiver.
#[derive(Debug)]
pub struct UdpTransport {
    cfg: NetConfig,
    open: Option<Open>,
}

impl UdpTransport {
    /// A transport to `cfg.group:cfg.port` (its `interface`, `wire_format`
    /// and `max_drain` are the instance's business, not the socket's).
    pub fn new(cfg: NetConfig) -> UdpTransport {
        UdpTransport { cfg, open: None }
    }

    pub fn config(&self) -> &NetConfig {
        &self.cfg
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
    pub fn raw_fd(&self) -> Option<RawFd> {
        match &self.open {
            Some(Open::Sender(s)) => Some(s.as_raw_fd()),
            Some(Open::Receiver(r)) => Some(r.as_raw_fd()),
            None => None,
        }
    }
}

impl Transport for UdpTransport {
    fn open(&mut self, role: SocketRole, interface: Option<&str>) -> Result<usize, NetError> {
        self.close();
        let ifaddr = interface.map(resolve_interface).transpose()?;
        let (open, flushed) = match role {
            SocketRole::Sender => (Open::Sender(Sender::open(&self.cfg, ifaddr)?), 0),
            SocketRole::Receiver => {
                let mut r = Receiver::open(&self.cfg, ifaddr)?;
                let n = r.flush();
                (Open::Receiver(r), n)
            }
        };
        self.open = Some(open);
        Ok(flushed)
    }

    fn close(&mut self) {
        self.open = None;
    }

    fn send(&mut self, datagram: &[u8]) -> Result<(), NetError> {
        match &mut self.open {
            Some(Open::Sender(s)) => s.send(datagram),
            _ => Err(NetError::NotSender),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, NetError> {
        match &mut self.open {
            Some(Open::Receiver(r)) => r.recv(buf).map_err(|source| NetError::Socket {
                what: "receive from the sync socket",
                source,
            }),
            _ => Err(NetError::NotReceiver),
        }
    }
}
