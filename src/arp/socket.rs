//! [`PacketSocket`]: the raw `AF_PACKET` socket ARP and neighbour-discovery frames go through.
//! Every raw system call of [`crate::arp`] is in this file, each behind a safe method and with
//! a `// SAFETY:` note. Of the frames it knows only the Ethernet header, to address them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use super::filter::Insn;
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
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
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
        let sll = sockaddr_ll(self.ifindex, ethertype, &[0; 6]);
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

    /// Let the kernel queue only the frames `prog` accepts (`SO_ATTACH_FILTER`, a classic BPF
    /// program such as [`filter::claims`](super::filter::claims)). Attach it before
    /// [`listen`](PacketSocket::listen): the socket then never queues a frame the filter
    /// would have dropped.
    pub fn set_filter(&self, prog: &[Insn]) -> io::Result<()> {
        let mut code: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let len =
            u16::try_from(code.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let fprog = libc::sock_fprog {
            len,
            filter: code.as_mut_ptr(),
        };
        // SAFETY: setsockopt with a pointer to a live sock_fprog and its size; its `filter`
        // points at `len` live instructions, which the kernel copies before returning.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
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
        let sll = sockaddr_ll(self.ifindex, be16(frame, 12), &mac_at(frame, 0));
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

    /// One frame if one is queued, without blocking (for a caller that `poll(2)`s the socket
    /// itself, through [`AsFd`]).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, PacketType)>> {
        let mut sll = sockaddr_ll(0, 0, &[0; 6]);
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
}

impl AsFd for PacketSocket {
    /// For `poll(2)`: readable when a frame is queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The link-layer address of frames of `ethertype` to `dst` on interface `ifindex`; also the
/// space `recvfrom(2)` writes a sender's address into. Built as a plain value, no `zeroed()`.
fn sockaddr_ll(ifindex: u32, ethertype: u16, dst: &Mac) -> libc::sockaddr_ll {
    let mut addr = [0u8; 8];
    addr[..6].copy_from_slice(dst);
    libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ethertype.to_be(),
        sll_ifindex: ifindex as i32,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: addr,
    }
}

/// Linux's PACKET_IGNORE_OUTGOING (not in every libc version).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
