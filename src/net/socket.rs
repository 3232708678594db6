// SPDX-License-Identifier: LGPL-2.1-or-later
//! The two sockets: a sender (Server mode) and a non-blocking receiver
//! (Client mode). Both close on exec; neither ever blocks the caller.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::reject::{RateLimitedLog, RxStats};
use super::{NetConfig, NetError};
use crate::core::wire::MAX_LEN;
use crate::core::{PacketSource, SyncPacket, WireError, WireFormat};

/// How many stale datagrams opening a receiver discards at most.
const FLUSH_LIMIT: usize = 4096;
/// Receive buffer: larger than the largest valid datagram so a longer one is
/// seen as such (and `MSG_TRUNC` reports its real length anyway).
const RX_BUF: usize = MAX_LEN + 24;

fn udp_socket() -> io::Result<Socket> {
    Socket::new(
        Domain::IPV4,
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )
}

/// Sends packets to the group (Server mode).
#[derive(Debug)]
pub struct Sender {
    socket: Socket,
    dest: SockAddr,
    format: WireFormat,
    /// Sends that failed (logged).
    pub send_errors: u64,
}

impl Sender {
    /// A sender on `interface` (`None`: the kernel's choice, i.e. the
    /// default route).
    pub fn open(cfg: &NetConfig, interface: Option<Ipv4Addr>) -> Result<Sender, NetError> {
        let ctx = |what: &'static str| move |e| NetError::Socket { what, source: e };
        let socket = udp_socket().map_err(ctx("create the sender socket"))?;
        if let Some(ifaddr) = interface {
            socket
                .set_multicast_if_v4(&ifaddr)
                .map_err(ctx("set IP_MULTICAST_IF"))?;
        }
        socket
            .set_multicast_ttl_v4(cfg.ttl)
            .map_err(ctx("set IP_MULTICAST_TTL"))?;
        socket
            .set_multicast_loop_v4(cfg.loopback)
            .map_err(ctx("set IP_MULTICAST_LOOP"))?;
        Ok(Sender {
            socket,
            dest: SocketAddrV4::new(cfg.group, cfg.port).into(),
            format: cfg.wire_format,
            send_errors: 0,
        })
    }

    /// Send one packet in the configured format. Never blocks: a full send
    /// buffer drops the packet (the next one follows `sync_period` frames later).
    pub fn send(&mut self, packet: &SyncPacket) -> Result<(), NetError> {
        let d = packet.encode(self.format);
        match self.socket.send_to(d.as_bytes(), &self.dest) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.send_errors += 1;
                Err(NetError::Socket {
                    what: "send the sync packet",
                    source: e,
                })
            }
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddrV4> {
        self.socket.local_addr().ok()?.as_socket_ipv4()
    }
}

impl AsRawFd for Sender {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// A datagram decoded and validated, with its format; or why it was rejected.
pub type Decoded = Result<(SyncPacket, WireFormat), WireError>;

/// A datagram as received, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub bytes: &'a [u8],
    /// The datagram's real length (may exceed `bytes.len()`: truncated).
    pub len: usize,
    pub from: Option<SocketAddrV4>,
}

/// Joined to the group, bound to the port, non-blocking (Client mode).
#[derive(Debug)]
pub struct Receiver {
    socket: Socket,
    buf: [u8; RX_BUF],
    max_drain: usize,
    stats: RxStats,
    log: RateLimitedLog,
}

impl Receiver {
    /// Join `cfg.group` on `interface` (`None`: INADDR_ANY, the kernel picks
    /// from the routing table), bind the port, discard what is waiting.
    pub fn open(cfg: &NetConfig, interface: Option<Ipv4Addr>) -> Result<Receiver, NetError> {
        let ctx = |what: &'static str| move |e| NetError::Socket { what, source: e };
        let socket = udp_socket().map_err(ctx("create the receiver socket"))?;
        socket
            .set_reuse_address(true)
            .map_err(ctx("set SO_REUSEADDR"))?;
        // Only the group joined here, not every group joined on the host.
        socket
            .set_multicast_all_v4(false)
            .map_err(ctx("clear IP_MULTICAST_ALL"))?;
        socket
            .join_multicast_v4(&cfg.group, &interface.unwrap_or(Ipv4Addr::UNSPECIFIED))
            .map_err(ctx("join the multicast group"))?;
        let bind = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, cfg.port);
        socket
            .bind(&bind.into())
            .map_err(ctx("bind the sync port"))?;
        let mut r = Receiver {
            socket,
            buf: [0; RX_BUF],
            max_drain: cfg.max_drain.max(1),
            stats: RxStats::default(),
            log: RateLimitedLog::new(std::time::Duration::from_secs(5)),
        };
        r.flush();
        Ok(r)
    }

    /// Discard every datagram waiting (stale from an earlier run), bounded.
    /// Returns how many were discarded.
    pub fn flush(&mut self) -> usize {
        let mut n = 0;
        while n < FLUSH_LIMIT && self.recv_raw().is_some() {
            n += 1;
        }
        self.stats.flushed += n as u64;
        n
    }

    pub fn stats(&self) -> RxStats {
        self.stats
    }

    pub fn local_addr(&self) -> Option<SocketAddrV4> {
        self.socket.local_addr().ok()?.as_socket_ipv4()
    }

    /// Read one datagram if one is waiting; `None` when none is (or on an
    /// error, which is logged).
    pub fn recv_raw(&mut self) -> Option<Received<'_>> {
        match recv_from_trunc(self.socket.as_raw_fd(), &mut self.buf) {
            Ok((len, from)) => Some(Received {
                bytes: &self.buf[..len.min(RX_BUF)],
                len,
                from,
            }),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
            Err(e) => {
                tracing::warn!("sync socket receive error: {e}");
                None
            }
        }
    }

    /// Read, decode and validate one datagram; `None` when none is waiting.
    pub fn recv_decoded(&mut self) -> Option<(Decoded, Option<SocketAddrV4>)> {
        let r = self.recv_raw()?;
        let decoded = SyncPacket::decode_received(r.bytes, r.len)
            .and_then(|(p, f)| p.validate().map(|()| (p, f)));
        Some((decoded, r.from))
    }

    /// The packets of this frame: at most `max_drain` datagrams are read;
    /// invalid ones are counted, logged (rate-limited) and skipped.
    pub fn drain(&mut self) -> Drain<'_> {
        Drain { rx: self, read: 0 }
    }
}

/// A bounded drain of a [`Receiver`], handed to the core as its packet source.
pub struct Drain<'a> {
    rx: &'a mut Receiver,
    read: usize,
}

impl PacketSource for Drain<'_> {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        while self.read < self.rx.max_drain {
            self.read += 1;
            let (decoded, from) = self.rx.recv_decoded()?;
            match decoded {
                Ok((p, _)) => {
                    self.rx.stats.accepted += 1;
                    return Some(p);
                }
                Err(e) => {
                    self.rx.stats.count(&e);
                    self.rx.log.rejected(from, &e);
                }
            }
        }
        self.rx.stats.drain_limited += 1;
        None
    }
}

/// `recvfrom` with `MSG_TRUNC`, so the return value is the datagram's real
/// length even when the buffer is shorter. Non-blocking (`MSG_DONTWAIT`).
fn recv_from_trunc(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddrV4>)> {
    // SAFETY: an all-zero sockaddr_in is a valid value.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut addrlen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes; `addr`
    // and `addrlen` are valid for writes and addrlen holds addr's size.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            (&raw mut addr).cast(),
            &mut addrlen,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let from = (i32::from(addr.sin_family) == libc::AF_INET).then(|| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
            u16::from_be(addr.sin_port),
        )
    });
    Ok((n as usize, from))
}
