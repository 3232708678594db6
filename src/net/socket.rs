// SPDX-License-Identifier: LGPL-2.1-or-later
//! The two UDP sockets: a sender (Server mode) and a non-blocking receiver
//! (Client mode). Both close on exec; neither ever blocks the caller.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{NetConfig, NetError, Received};
use crate::core::wire::MAX_LEN;
use crate::core::{SyncPacket, WireError, WireFormat};

/// How many stale datagrams [`Receiver::flush`] discards at most.
const FLUSH_LIMIT: usize = 4096;
/// A receive buffer larger than the largest valid datagram, so a longer one
/// is seen as such (and `MSG_TRUNC` reports its real length anyway).
pub const RX_BUF: usize = MAX_LEN + 24;

fn udp_socket() -> io::Result<Socket> {
    Socket::new(
        Domain::IPV4,
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )
}

fn ctx(what: &'static str) -> impl Fn(io::Error) -> NetError {
    move |source| NetError::Socket { what, source }
}

/// Sends datagrams to the group (Server mode).
#[derive(Debug)]
pub struct Sender {
    socket: Socket,
    dest: SockAddr,
}

impl Sender {
    /// A sender on `interface` (`None`: the kernel's choice, i.e. the
    /// default route).
    pub fn open(cfg: &NetConfig, interface: Option<Ipv4Addr>) -> Result<Sender, NetError> {
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
        })
    }

    /// Send one datagram. Never blocks: a full send buffer drops it (the
    /// next packet follows `sync_period` frames later).
    pub fn send(&mut self, datagram: &[u8]) -> Result<(), NetError> {
        self.socket
            .send_to(datagram, &self.dest)
            .map(drop)
            .map_err(ctx("send the sync packet"))
    }

    /// Encode `packet` in `format` and send it.
    pub fn send_packet(&mut self, packet: &SyncPacket, format: WireFormat) -> Result<(), NetError> {
        self.send(packet.encode(format).as_bytes())
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

/// A datagram decoded and validated, with its format; or why it was rejected.
pub type Decoded = Result<(SyncPacket, WireFormat), WireError>;

/// Joined to the group, bound to the port, non-blocking (Client mode).
#[derive(Debug)]
pub struct Receiver {
    socket: Socket,
}

impl Receiver {
    /// Join `cfg.group` on `interface` (`None`: INADDR_ANY, the kernel picks
    /// from the routing table) and bind the port.
    pub fn open(cfg: &NetConfig, interface: Option<Ipv4Addr>) -> Result<Receiver, NetError> {
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
        Ok(Receiver { socket })
    }

    /// Discard every datagram waiting (stale from an earlier run), bounded.
    /// Returns how many were discarded.
    pub fn flush(&mut self) -> usize {
        let mut n = 0;
        let mut buf = [0u8; RX_BUF];
        while n < FLUSH_LIMIT && matches!(self.recv(&mut buf), Ok(Some(_))) {
            n += 1;
        }
        n
    }

    pub fn local_addr(&self) -> Option<SocketAddrV4> {
        self.socket.local_addr().ok()?.as_socket_ipv4()
    }

    /// Read one datagram into `buf` if one is waiting (`Ok(None)` when none is).
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        match recv_from_trunc(self.socket.as_raw_fd(), buf) {
            Ok((len, from)) => Ok(Some(Received { len, from })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Read, decode and validate one datagram; `None` when none is waiting
    /// (or the read failed).
    pub fn recv_decoded(&mut self) -> Option<(Decoded, Option<SocketAddrV4>)> {
        let mut buf = [0u8; RX_BUF];
        let r = self.recv(&mut buf).ok()??;
        let decoded = SyncPacket::decode_received(&buf, r.len)
            .and_then(|(p, f)| p.validate().map(|()| (p, f)));
        Some((decoded, r.from))
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
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
