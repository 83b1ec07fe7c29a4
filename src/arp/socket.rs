//! [`PacketSocket`]: the raw `AF_PACKET` socket ARP and neighbour-discovery frames go through.
//! Every `unsafe` of [`crate::arp`] is in this file, each behind a safe method and with a
//! `// SAFETY:` note. Of the frames it knows only the Ethernet header, to address them.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use super::frame::{ETH_HLEN, Mac, PacketType, be16, mac_at};

/// A raw `AF_PACKET` socket on one interface, like the one `arping` opens.
///
/// Opened without a protocol it receives nothing and costs nothing to open; [`listen`] binds it
/// to one EtherType on the interface. Closing any `AF_PACKET` socket waits for an RCU grace
/// period in the kernel (`synchronize_net`, ~12-16 ms here, paid at process exit too). That
/// wait is accepted: handing the socket to a helper process to close later would leave a
/// process behind, a zombie wherever PID 1 does not reap.
///
/// [`listen`]: PacketSocket::listen
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// `socket(AF_PACKET, SOCK_RAW, 0)` for interface `ifindex`. Needs CAP_NET_RAW (EPERM is
    /// returned as is; the caller names the capability).
    pub fn open(ifindex: u32) -> io::Result<PacketSocket> {
        // SAFETY: plain socket(2) call; the result is checked and owned right away.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(PacketSocket { fd, ifindex })
    }

    /// Receive frames of `ethertype` arriving on the interface (`bind(2)`), skipping our own.
    /// The socket had no protocol before, so binding does not wait for the kernel either.
    pub fn listen(&self, ethertype: u16) -> io::Result<()> {
        let one: libc::c_int = 1;
        // SAFETY: setsockopt with a pointer to a live c_int and its size. PACKET_IGNORE_OUTGOING
        // (Linux 4.20) is an optimisation: failure is ignored, frames are also filtered by type.
        unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        let sll = self.sockaddr(ethertype, &[0; 6]);
        // SAFETY: bind with a pointer to a live sockaddr_ll and its exact size.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Send one complete Ethernet frame (destination, source and EtherType included) out of the
    /// interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        if frame.len() < ETH_HLEN {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let sll = self.sockaddr(be16(frame, 12), &mac_at(frame, 0));
        // SAFETY: sendto with a live buffer and its length, and a live sockaddr_ll and its size.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    /// Wait until `deadline` for one frame; `Ok(None)` when the deadline passes first. Only
    /// meaningful after [`listen`](PacketSocket::listen).
    pub fn recv_until(
        &self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> io::Result<Option<(usize, PacketType)>> {
        loop {
            if let Some(got) = self.try_recv(buf)? {
                return Ok(Some(got));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // Round up so that we never wake just before the deadline and spin.
            let wait = deadline - now;
            let ms = wait.as_millis() + u128::from(!wait.subsec_nanos().is_multiple_of(1_000_000));
            let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
            // SAFETY: poll on one live pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }

    /// One frame if one is queued, without blocking.
    fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, PacketType)>> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: recvfrom into a live buffer of buf.len() bytes, and a live sockaddr_ll whose
        // size is passed in `len`.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let kind = match sll.sll_pkttype {
            libc::PACKET_HOST => PacketType::Host,
            libc::PACKET_BROADCAST | libc::PACKET_MULTICAST => PacketType::Group,
            libc::PACKET_OUTGOING => PacketType::Outgoing,
            _ => PacketType::Other,
        };
        Ok(Some((n as usize, kind)))
    }

    fn sockaddr(&self, ethertype: u16, dst: &Mac) -> libc::sockaddr_ll {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(dst);
        sll
    }
}

/// Linux's PACKET_IGNORE_OUTGOING (not in every libc version).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
