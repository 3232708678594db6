// SPDX-License-Identifier: LGPL-2.1-or-later
//! [`MemoryTransport`]: a deterministic transport in memory. What would be a
//! socket is two queues — datagrams waiting to be received, datagrams sent —
//! that the owner (the simulator's network, a trace replay, a test) fills and
//! empties. No I/O, no time, no allocation in steady state; faults can be
//! injected.

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::{NetError, Received, Transport};
use crate::core::{SocketRole, SyncPacket, WireFormat};

/// Bytes a [`MemDatagram`] keeps (longer datagrams keep their length only).
pub const MEM_DATAGRAM_CAP: usize = 128;

/// One datagram, held without allocating: up to [`MEM_DATAGRAM_CAP`] bytes
/// and its real length (longer ones are truncated on receipt, as a socket's
/// would be), and who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemDatagram {
    buf: [u8; MEM_DATAGRAM_CAP],
    len: usize,
    from: Option<SocketAddrV4>,
    to: Option<Ipv4Addr>,
}

impl MemDatagram {
    /// A datagram of these bytes.
    pub fn new(bytes: &[u8]) -> MemDatagram {
        let mut buf = [0; MEM_DATAGRAM_CAP];
        let n = bytes.len().min(MEM_DATAGRAM_CAP);
        buf[..n].copy_from_slice(&bytes[..n]);
        MemDatagram {
            buf,
            len: bytes.len(),
            from: None,
            to: None,
        }
    }

    /// `packet` encoded in `format`.
    pub fn packet(packet: &SyncPacket, format: WireFormat) -> MemDatagram {
        MemDatagram::new(packet.encode(format).as_bytes())
    }

    /// The same datagram, as sent from `from`.
    pub fn from_addr(self, from: SocketAddrV4) -> MemDatagram {
        MemDatagram {
            from: Some(from),
            ..self
        }
    }

    /// The same datagram, as sent to `to` (the group, or a unicast address).
    pub fn to_addr(self, to: Ipv4Addr) -> MemDatagram {
        MemDatagram {
            to: Some(to),
            ..self
        }
    }

    /// The datagram's length.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes kept (all of them unless longer than [`MEM_DATAGRAM_CAP`]).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(MEM_DATAGRAM_CAP)]
    }
}

/// What a [`MemoryTransport`] has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemCounters {
    /// Sockets opened (successfully).
    pub opens: u64,
    /// Opens that failed (see [`MemoryTransport::fail_opens`]).
    pub failed_opens: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams received.
    pub received: u64,
    /// Datagrams discarded when a receiver opened, or left waiting when it closed.
    pub discarded: u64,
    /// Datagrams delivered while no receiver was open (lost).
    pub undeliverable: u64,
}

/// A deterministic in-memory transport (see the module documentation).
#[derive(Debug, Default)]
pub struct MemoryTransport {
    role: Option<SocketRole>,
    /// The interface of the open socket (`has_interface`: one was given).
    interface: String,
    has_interface: bool,
    inbox: VecDeque<MemDatagram>,
    outbox: VecDeque<MemDatagram>,
    counters: MemCounters,
    open_error: Option<io::ErrorKind>,
    send_error: Option<io::ErrorKind>,
}

impl MemoryTransport {
    pub fn new() -> MemoryTransport {
        MemoryTransport::default()
    }

    /// The role of the open socket.
    pub fn role(&self) -> Option<SocketRole> {
        self.role
    }

    /// The interface the open socket was opened on (`None`: the default).
    pub fn interface(&self) -> Option<&str> {
        (self.role.is_some() && self.has_interface).then_some(self.interface.as_str())
    }

    pub fn counters(&self) -> MemCounters {
        self.counters
    }

    /// A datagram arrives from the network: queued if a receiver is open
    /// (returns true), lost otherwise.
    pub fn deliver(&mut self, d: MemDatagram) -> bool {
        if self.role == Some(SocketRole::Receiver) {
            self.inbox.push_back(d);
            true
        } else {
            self.counters.undeliverable += 1;
            false
        }
    }

    /// A datagram waiting on the port whether or not a receiver is open (a
    /// receiver opened later discards it).
    pub fn push_waiting(&mut self, d: MemDatagram) {
        self.inbox.push_back(d);
    }

    /// Datagrams waiting to be received.
    pub fn waiting(&self) -> usize {
        self.inbox.len()
    }

    /// Drop every waiting datagram; returns how many there were.
    pub fn clear_waiting(&mut self) -> usize {
        let n = self.inbox.len();
        self.inbox.clear();
        n
    }

    /// The oldest datagram sent and not yet taken.
    pub fn take_sent(&mut self) -> Option<MemDatagram> {
        self.outbox.pop_front()
    }

    /// From now on opening a socket fails with `kind` (`None`: succeeds).
    pub fn fail_opens(&mut self, kind: Option<io::ErrorKind>) {
        self.open_error = kind;
    }

    /// From now on sending fails with `kind` (`None`: succeeds).
    pub fn fail_sends(&mut self, kind: Option<io::ErrorKind>) {
        self.send_error = kind;
    }
}

impl Transport for MemoryTransport {
    fn open(&mut self, role: SocketRole, interface: Option<&str>) -> Result<usize, NetError> {
        // Whatever waits is discarded: a new receiver flushes it.
        let waiting = self.inbox.len();
        self.close();
        if let Some(kind) = self.open_error {
            self.counters.failed_opens += 1;
            return Err(NetError::Socket {
                what: "open the sync socket",
                source: kind.into(),
            });
        }
        self.role = Some(role);
        self.interface.clear();
        self.interface.push_str(interface.unwrap_or(""));
        self.has_interface = interface.is_some();
        self.counters.opens += 1;
        Ok(if role == SocketRole::Receiver {
            waiting
        } else {
            0
        })
    }

    fn close(&mut self) {
        self.role = None;
        self.counters.discarded += self.inbox.len() as u64;
        self.inbox.clear();
    }

    fn send(&mut self, datagram: &[u8]) -> Result<(), NetError> {
        if self.role != Some(SocketRole::Sender) {
            return Err(NetError::NotSender);
        }
        if let Some(kind) = self.send_error {
            return Err(NetError::Socket {
                what: "send the sync packet",
                source: kind.into(),
            });
        }
        self.outbox.push_back(MemDatagram::new(datagram));
        self.counters.sent += 1;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, NetError> {
        if self.role != Some(SocketRole::Receiver) {
            return Err(NetError::NotReceiver);
        }
        let Some(d) = self.inbox.pop_front() else {
            return Ok(None);
        };
        let bytes = d.as_bytes();
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.counters.received += 1;
        Ok(Some(Received {
            len: d.len,
            from: d.from,
            to: d.to,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SyncPacket = SyncPacket {
        frame_duration_us: 33_333,
        frame_ts_us: 1_767_225_603_077_388,
        ready_time_us: 1_767_225_606_410_688,
    };

    #[test]
    fn a_receiver_gets_what_is_delivered_after_it_opened() {
        let mut t = MemoryTransport::new();
        assert!(!t.deliver(MemDatagram::packet(&P, WireFormat::Layer)));
        t.push_waiting(MemDatagram::new(&[1; 7]));
        assert_eq!(t.open(SocketRole::Receiver, Some("lo")).unwrap(), 1);
        assert_eq!(t.interface(), Some("lo"));
        assert!(t.deliver(MemDatagram::packet(&P, WireFormat::Rpi)));
        let mut buf = [0u8; 48];
        let r = t.recv(&mut buf).unwrap().unwrap();
        assert_eq!(r.len, 40);
        assert_eq!(SyncPacket::decode(&buf[..r.len]).unwrap().0, P);
        assert_eq!(t.recv(&mut buf).unwrap(), None);
        assert!(t.send(&[0; 24]).is_err(), "a receiver cannot send");
        assert_eq!(t.counters().undeliverable, 1);
        assert_eq!(t.counters().discarded, 1);
    }

    #[test]
    fn long_datagrams_keep_their_length() {
        let mut t = MemoryTransport::new();
        t.open(SocketRole::Receiver, None).unwrap();
        t.deliver(MemDatagram::new(&[9; 100]));
        let mut buf = [0u8; 48];
        assert_eq!(t.recv(&mut buf).unwrap().unwrap().len, 100);
    }

    #[test]
    fn senders_queue_and_faults_inject() {
        let mut t = MemoryTransport::new();
        t.open(SocketRole::Sender, None).unwrap();
        assert_eq!(t.interface(), None);
        t.send(P.encode(WireFormat::Layer).as_bytes()).unwrap();
        assert_eq!(t.take_sent().unwrap().len(), 24);
        assert_eq!(t.take_sent(), None);
        t.fail_sends(Some(io::ErrorKind::NetworkUnreachable));
        assert!(t.send(&[0; 24]).is_err());
        t.fail_opens(Some(io::ErrorKind::AddrInUse));
        assert!(t.open(SocketRole::Receiver, None).is_err());
        assert_eq!(t.role(), None, "a failed open leaves no socket");
    }
}
