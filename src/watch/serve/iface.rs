//! IFACE as the watcher sees and uses it: the kernel's view of its link and of the configured
//! VIPs (turned into `vip` and `link` lines as it changes), the packet socket with the claims,
//! probe answers and other hosts' probes read from it (`duplicate`, `probe` and `query`
//! lines), and what is sent on that
//! socket, announcements and probes, on the [`Schedule`] of bursts, refreshes and probe waits.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

use crate::arp::{Mac, Packet};
use crate::error::{Error, Result};
use crate::watch::announce::{self, Schedule};
use crate::watch::arpwatch::{self, Quiet, Watching};
use crate::watch::config::{Config, VipSpec};
use crate::watch::kernel::Kernel;
use crate::watch::protocol::{Line, Mode};

use super::stdio::Out;

/// Frames read from the packet socket per wake-up (the rest on the next turn of the loop).
const FRAMES_PER_TURN: usize = 64;

/// One configured VIP and what the kernel last said about it.
struct Vip {
    spec: VipSpec,
    /// Bound on IFACE as configured (prefix, label): the `held` of the protocol.
    held: bool,
    /// Bound on IFACE at all: what announcements need.
    on_iface: bool,
}

pub(super) struct Iface<'a> {
    cfg: &'a Config,
    kernel: Kernel,
    /// The packet socket (and the IPv6 groups joined for it).
    watch: Watching,
    sock_index: u32,
    mac: Mac,
    vips: Vec<Vip>,
    addrs: Vec<IpAddr>,
    sched: Schedule,
    /// How often a claim (`duplicate`), and a probe by another host (`query`), is reported.
    quiet: Quiet,
    quiet_queries: Quiet,
    link_up: bool,
    /// The last receive error of the packet socket, reported once until it changes.
    last_recv_error: Option<String>,
    frame: Vec<u8>,
}

impl<'a> Iface<'a> {
    /// Read IFACE's state and open its packet socket (exit 1 when IFACE does not exist or has
    /// no Ethernet address, 3 without CAP_NET_RAW).
    pub(super) fn open(cfg: &'a Config) -> Result<Iface<'a>> {
        let iface = &cfg.iface;
        let kernel = Kernel::open(iface)?;
        let Some(link) = kernel.link().cloned() else {
            return Err(Error::failed(format!("no such interface: {iface}")));
        };
        let Some(mac) = link.mac else {
            return Err(Error::failed(format!(
                "{iface} has no Ethernet address (loopback or point-to-point): nothing to \
                 announce or watch"
            )));
        };
        let specs: Vec<VipSpec> = cfg.own_vips.iter().chain(&cfg.peer_vips).cloned().collect();
        let addrs: Vec<IpAddr> = specs.iter().map(|s| s.addr).collect();
        let watch = arpwatch::open(link.index, &addrs)
            .map_err(|e| Error::os(format!("open a packet socket on {iface}"), e, "CAP_NET_RAW"))?;
        let vips = specs
            .into_iter()
            .map(|spec| Vip {
                held: kernel.bound_as(&spec),
                on_iface: kernel.holds(spec.addr),
                spec,
            })
            .collect();
        Ok(Iface {
            cfg,
            link_up: kernel.link_up(),
            kernel,
            watch,
            sock_index: link.index,
            mac,
            vips,
            addrs,
            sched: Schedule::new(
                cfg.garp_count,
                cfg.garp_interval,
                cfg.garp_refresh,
                cfg.dad_timeout,
            ),
            quiet: Quiet::default(),
            quiet_queries: Quiet::every(arpwatch::QUERY_QUIET),
            last_recv_error: None,
            frame: vec![0u8; 2048],
        })
    }

    /// The netlink socket: readable when the kernel has news.
    pub(super) fn kernel_fd(&self) -> BorrowedFd<'_> {
        self.kernel.as_fd()
    }

    /// The packet socket: readable when frames came.
    pub(super) fn packet_fd(&self) -> BorrowedFd<'_> {
        self.watch.sock.as_fd()
    }

    pub(super) fn mac(&self) -> Mac {
        self.mac
    }

    /// The configured VIPs, OWN_VIPS then PEER_VIPS.
    pub(super) fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    pub(super) fn link_up(&self) -> bool {
        self.kernel.link_up()
    }

    /// The VIPs bound on IFACE as configured.
    pub(super) fn held(&self) -> Vec<IpAddr> {
        self.vips
            .iter()
            .filter(|v| v.held)
            .map(|v| v.spec.addr)
            .collect()
    }

    /// When the next burst packet, refresh or probe's end is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.sched.next()
    }

    // ------------------------------------------------------------------------------------
    // The kernel.

    /// Apply what the kernel reported: `vip` lines for VIPs whose state changed (a burst of
    /// one no longer on IFACE is cancelled), a `link` line when the link went up or down, and
    /// a new packet socket when IFACE was re-created with another index.
    pub(super) fn read_kernel(&mut self, out: &mut Out) -> Result<()> {
        self.kernel.read()?;
        for i in 0..self.vips.len() {
            let held = self.kernel.bound_as(&self.vips[i].spec);
            let on_iface = self.kernel.holds(self.vips[i].spec.addr);
            let v = &mut self.vips[i];
            if v.on_iface && !on_iface {
                self.sched.cancel(v.spec.addr);
            }
            v.on_iface = on_iface;
            if v.held != held {
                v.held = held;
                let vip = v.spec.addr;
                out.line(&Line::Vip { vip, held })?;
            }
        }
        let up = self.kernel.link_up();
        if up != self.link_up {
            self.link_up = up;
            let (operstate, carrier) = self
                .kernel
                .link()
                .map_or(("notpresent".to_string(), false), |l| {
                    (l.operstate.clone(), l.carrier)
                });
            out.line(&Line::Link {
                up,
                operstate,
                carrier,
            })?;
        }
        if let Some(link) = self.kernel.link().cloned() {
            if let Some(mac) = link.mac {
                self.mac = mac;
            }
            if link.index != self.sock_index {
                match arpwatch::open(link.index, &self.addrs) {
                    Ok(watch) => {
                        self.watch = watch;
                        self.sock_index = link.index;
                    }
                    Err(e) => {
                        let e = Error::os(
                            format!("open a packet socket on {}", self.cfg.iface),
                            e,
                            "CAP_NET_RAW",
                        );
                        out.error("packet", None, &e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // Frames: claims and probe answers.

    pub(super) fn read_frames(&mut self, out: &mut Out) -> Result<()> {
        for _ in 0..FRAMES_PER_TURN {
            let (n, kind) = match self.watch.sock.try_recv(&mut self.frame) {
                Ok(Some(got)) => got,
                Ok(None) => break,
                // IFACE went down (the kernel unhooks the socket and says so once; it hooks it
                // again when IFACE comes up): the link line says it already.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => break,
                Err(e) => {
                    let why = Error::sys(format!("receive on {}", self.cfg.iface), e).to_string();
                    if self.last_recv_error.as_ref() != Some(&why) {
                        out.error("packet", None, &why)?;
                        self.last_recv_error = Some(why);
                    }
                    break;
                }
            };
            self.last_recv_error = None;
            let frame = &self.frame[..n];
            let Some((vip, mac)) = arpwatch::claim(frame, kind, &self.addrs, self.mac) else {
                // Another host probing for a VIP: reported, never taken as the answer to a
                // probe of ours (two hosts probing at once would each see the other's).
                if let Some((vip, mac)) = arpwatch::query(frame, kind, &self.addrs, self.mac)
                    && self.quiet_queries.report(vip, mac, Instant::now())
                {
                    out.line(&Line::Query { vip, mac })?;
                }
                continue;
            };
            if self.sched.answer(vip) {
                out.line(&Line::Probe {
                    vip,
                    taken: Some(mac),
                })?;
            } else if self.quiet.report(vip, mac, Instant::now()) {
                let held = self.vips.iter().any(|v| v.spec.addr == vip && v.held);
                out.line(&Line::Duplicate { vip, mac, held })?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // What is sent.

    /// Send the first packet of an announcement of `vip` and write its line; refused while
    /// `vip` is not bound on IFACE (an announcement for an address we do not hold would pull
    /// the gateway to a host that drops the traffic).
    pub(super) fn announce(
        &mut self,
        vip: IpAddr,
        mode: Mode,
        now: Instant,
        out: &mut Out,
    ) -> Result<()> {
        if !self.kernel.holds(vip) {
            let iface = &self.cfg.iface;
            return out.error(
                "announce",
                Some(vip),
                &format!("{vip} is not bound on {iface}: not announced"),
            );
        }
        if self.send_announcement(vip, out)? {
            self.sched.announced(vip, mode, now);
            let (_, to) = announce::packet(vip, self.cfg.gateway, self.mac);
            out.line(&Line::Announce {
                vip,
                mode,
                count: self.sched.count(mode),
                to,
            })?;
        }
        Ok(())
    }

    /// Send a duplicate probe for `vip`, unless one is already waiting for its answer.
    pub(super) fn probe(&mut self, vip: IpAddr, now: Instant, out: &mut Out) -> Result<()> {
        if self.sched.probe(vip, now) {
            let frame = Packet::probe(self.mac, vip).frame(self.mac);
            if let Err(e) = self.watch.sock.send(&frame) {
                self.sched.forget_probe(vip);
                let e = Error::os(format!("send on {}", self.cfg.iface), e, "CAP_NET_RAW");
                out.error("probe", Some(vip), &e.to_string())?;
            }
        }
        Ok(())
    }

    /// Start or stop the `GARP_REFRESH` re-announcements of `vip`.
    pub(super) fn set_refresh(&mut self, vip: IpAddr, on: bool, now: Instant) {
        self.sched.set_refresh(vip, on, now);
    }

    /// One announcement packet of `vip`; false (and an error line) when it could not be sent.
    fn send_announcement(&mut self, vip: IpAddr, out: &mut Out) -> Result<bool> {
        let (packet, _) = announce::packet(vip, self.cfg.gateway, self.mac);
        match self.watch.sock.send(&packet.frame(self.mac)) {
            Ok(()) => Ok(true),
            Err(e) => {
                let e = Error::os(format!("send on {}", self.cfg.iface), e, "CAP_NET_RAW");
                out.error("announce", Some(vip), &e.to_string())?;
                Ok(false)
            }
        }
    }

    /// Send the burst packets and refreshes due at `now`, after reading what the kernel has
    /// queued: a VIP released a moment ago gets no more packets.
    pub(super) fn send_due(&mut self, now: Instant, out: &mut Out) -> Result<()> {
        if self.sched.next().is_none_or(|t| t > now) {
            return Ok(());
        }
        self.read_kernel(out)?;
        let kernel = &self.kernel;
        let due = self.sched.due(now, |v| kernel.holds(v));
        for d in due {
            if self.send_announcement(d.vip, out)? && d.mode == Mode::Refresh {
                let (_, to) = announce::packet(d.vip, self.cfg.gateway, self.mac);
                out.line(&Line::Announce {
                    vip: d.vip,
                    mode: Mode::Refresh,
                    count: 1,
                    to,
                })?;
            }
        }
        Ok(())
    }

    /// Write a `probe` line without a claimant for each probe whose wait ended by `now`.
    pub(super) fn end_probes(&mut self, now: Instant, out: &mut Out) -> Result<()> {
        for vip in self.sched.expired(now) {
            out.line(&Line::Probe { vip, taken: None })?;
        }
        Ok(())
    }
}
