//! One blocking NETLINK_ROUTE socket: it owns sequence numbers and the receive buffer, asks the
//! kernel to acknowledge every change, and turns NACKs into `io::Error`s carrying the errno.
//!
//! No async runtime: every tool makes a handful of requests and exits. Receives have a deadline
//! so a wedged kernel reply can never hang a failover script.
//!
//! A long-lived reader (vip-watch) also [subscribes](Socket::subscribe) the same socket to the
//! kernel's notifications, like `ip monitor address link`: it then takes them with
//! [`Socket::recv_pending`] when `poll(2)` says the socket is readable, and dumps with
//! [`Socket::dump_keeping`], which keeps the notifications that arrive during the dump instead
//! of dropping them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket as RawSocket, SocketAddr, protocols::NETLINK_ROUTE};

/// How long one receive may wait for the kernel.
const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// Large enough for any single datagram of an address or route dump.
const RECV_BUF: usize = 64 * 1024;
/// Most datagrams [`Socket::recv_pending`] reads in one call.
pub const PENDING_BATCHES: usize = 64;

/// A connected, blocking NETLINK_ROUTE socket.
pub struct Socket {
    sock: RawSocket,
    seq: u32,
    buf: Vec<u8>,
}

impl Socket {
    /// Open a socket bound to a kernel-assigned port and connected to the kernel.
    pub fn open() -> io::Result<Self> {
        let mut sock = RawSocket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        set_recv_timeout(&sock, RECV_TIMEOUT)?;
        Ok(Socket {
            sock,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Send a change (`flags` such as `NLM_F_CREATE | NLM_F_EXCL`) and wait for its ACK.
    pub fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        loop {
            for reply in self.recv_batch(0)? {
                if reply.header.sequence_number != seq {
                    continue;
                }
                if let NetlinkPayload::Error(e) = reply.payload {
                    return match e.code {
                        None => Ok(()),
                        Some(_) => Err(e.to_io()),
                    };
                }
            }
        }
    }

    /// Send a get request for one object (`ip link show dev eth0`) and return the kernel's one
    /// reply message.
    pub fn get(&mut self, msg: RouteNetlinkMessage) -> io::Result<RouteNetlinkMessage> {
        let seq = self.send(msg, NLM_F_REQUEST)?;
        loop {
            for reply in self.recv_batch(0)? {
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    NetlinkPayload::InnerMessage(m) => return Ok(m),
                    _ => {}
                }
            }
        }
    }

    /// Send a dump request and collect every message of the reply.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.dump_inner(msg, None)
    }

    /// [`dump`](Socket::dump) on a [subscribed](Socket::subscribe) socket: the notifications
    /// that arrive while the reply is read are appended to `events`, in order, instead of
    /// being dropped, so that a reader which applies them after the dump misses no change.
    pub fn dump_keeping(
        &mut self,
        msg: RouteNetlinkMessage,
        events: &mut Vec<RouteNetlinkMessage>,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.dump_inner(msg, Some(events))
    }

    fn dump_inner(
        &mut self,
        msg: RouteNetlinkMessage,
        mut events: Option<&mut Vec<RouteNetlinkMessage>>,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut out = Vec::new();
        loop {
            for reply in self.recv_batch(0)? {
                if reply.header.sequence_number != seq {
                    if let (Some(events), 0, NetlinkPayload::InnerMessage(m)) = (
                        events.as_deref_mut(),
                        reply.header.port_number,
                        reply.payload,
                    ) {
                        events.push(m);
                    }
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Join the rtnetlink multicast groups `groups` (`RTNLGRP_*` numbers), like `ip monitor`:
    /// the kernel then sends a notification (sequence number 0) for every change in them.
    pub fn subscribe(&mut self, groups: &[u32]) -> io::Result<()> {
        for g in groups {
            self.sock.add_membership(*g)?;
        }
        Ok(())
    }

    /// The notifications queued now, without waiting (empty when there are none), at most
    /// [`PENDING_BATCHES`] datagrams of them so that a flood cannot hold the caller; it comes
    /// back when the socket is still readable. An `ENOBUFS` error means the kernel dropped some
    /// because the socket's buffer was full: the reader must dump again to learn the state.
    pub fn recv_pending(&mut self) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut out = Vec::new();
        for _ in 0..PENDING_BATCHES {
            let batch = match self.recv_batch(libc::MSG_DONTWAIT) {
                Ok(b) => b,
                Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => return Ok(out),
                Err(e) => return Err(e),
            };
            for m in batch {
                if let NetlinkPayload::InnerMessage(m) = m.payload {
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        // Notifications carry sequence number 0: no request of ours does.
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.sock.send(&bytes, 0)?;
        Ok(self.seq)
    }

    /// Receive one datagram (`flags` for recv(2)) and parse every netlink message in it. No
    /// datagram before the receive timeout, or none queued with `MSG_DONTWAIT`: ETIMEDOUT.
    fn recv_batch(
        &mut self,
        flags: libc::c_int,
    ) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        self.buf.clear();
        self.buf.reserve(RECV_BUF);
        let n = match self.sock.recv(&mut self.buf, flags) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
            }
            Err(e) => return Err(e),
        };
        let mut messages = Vec::new();
        let mut offset = 0;
        while offset < n {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[offset..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.header.length as usize;
            if len == 0 {
                break;
            }
            offset += (len + 3) & !3;
            messages.push(msg);
        }
        Ok(messages)
    }
}

impl AsFd for Socket {
    /// For `poll(2)`: readable when a reply or a notification is queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn set_recv_timeout(sock: &RawSocket, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: the fd is a valid open socket owned by `sock`, and `tv` is a properly initialised
    // timeval whose size we pass alongside it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
