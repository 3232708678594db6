// SPDX-License-Identifier: LGPL-2.1-or-later
//! The two UDP sockets: a sender (Server mode) and a non-blocking receiver
//! (Client mode). Both close on exec; neither ever blocks the caller.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{NetConfig, NetError, Received};
use crate::core::{SyncPacket, WireError, WireFormat};

/// How many stale datagrams [`Receiver::flush`] discards at most.
const FLUSH_LIMIT: usize = 4096;
/// A receive buffer larger than the largest valid datagram (the
/// authenticated format's), so a longer one is seen as such (and
/// `MSG_TRUNC` reports its real length anyway).
pub const RX_BUF: usize = crate::core::auth::AUTH_LEN + 24;
/// The socket receive buffer a receiver asks for, bytes (the kernel grants
/// up to `net.core.rmem_max`): room for a flood's worth of small datagrams
/// between two frames, so the real packets among them are not dropped.
pub const RCVBUF: usize = 4 << 20;

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
        // Each datagram says where it was sent: only those sent to the group
        // are sync packets (the port also gets unicast from anywhere).
        set_pktinfo(&socket).map_err(ctx("set IP_PKTINFO"))?;
        // As large as allowed; a smaller one still works.
        let _ = socket.set_recv_buffer_size(RCVBUF);
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

    /// The receive buffer the kernel granted, bytes.
    pub fn recv_buffer_size(&self) -> Option<usize> {
        self.socket.recv_buffer_size().ok()
    }

    /// Read one datagram into `buf` if one is waiting (`Ok(None)` when none is).
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        match recv_msg_trunc(self.socket.as_raw_fd(), buf) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Read, decode and validate one datagram; `None` when none is waiting
    /// (or the read failed). With it, what [`Transport::recv`] says of it.
    pub fn recv_decoded(&mut self) -> Option<(Decoded, Received)> {
        let mut buf = [0u8; RX_BUF];
        let r = self.recv(&mut buf).ok()??;
        let decoded = SyncPacket::decode_received(&buf, r.len)
            .and_then(|(p, f)| p.validate().map(|()| (p, f)));
        Some((decoded, r))
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

fn set_pktinfo(socket: &Socket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket, and a c_int option value of its size.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Room for one `IP_PKTINFO` control message (and then some).
const CMSG_SPACE: usize = 64;

/// `recvmsg` with `MSG_TRUNC`, so the length returned is the datagram's
/// real length even when the buffer is shorter, and with the `IP_PKTINFO`
/// control message: the address the datagram was sent to. Non-blocking
/// (`MSG_DONTWAIT`).
fn recv_msg_trunc(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: an all-zero sockaddr_in is a valid value.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 words: aligned for cmsghdr.
    let mut control = [0u64; CMSG_SPACE / 8];
    // SAFETY: an all-zero msghdr is a valid value; every pointer is set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut addr).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE as _;
    // SAFETY: `msg` points at `addr`, `iov` (over `buf`, writable for its
    // length) and `control`, all valid for writes of the sizes given and
    // alive across the call.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_TRUNC | libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let from = (i32::from(addr.sin_family) == libc::AF_INET).then(|| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
            u16::from_be(addr.sin_port),
        )
    });
    let mut to = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled
    // (msg_controllen says how much); each header they return lies within it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>());
                to = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
            }
            c = libc::CMSG_NXTHDR(&raw const msg, c);
        }
    }
    Ok(Received {
        len: n as usize,
        from,
        to,
    })
}
