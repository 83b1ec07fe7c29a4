//! The passive duplicate watch: one [`PacketSocket`] on IFACE that receives only the frames
//! that can claim a configured VIP or probe for one (the kernel filters them,
//! [`filter::claims`]), and the pure rules for what a claim is ([`claim`]), what a probe by
//! another host is ([`query`]) and how often either is reported ([`Quiet`]). The same socket
//! sends the watcher's announcements and probes. Nothing is sent by watching.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::time::{Duration, Instant};

use crate::arp::{
    Arp, ArpOp, ETH_P_ARP, ETH_P_IPV6, Mac, Nd, NdKind, PacketSocket, PacketType, answer_from,
    filter, solicited_node,
};

/// `ETH_P_ALL`: every EtherType (both ARP and IPv6 are watched).
const ETH_P_ALL: u16 = 0x0003;

/// The same claim from the same MAC is reported at most once per this period.
pub const QUIET: Duration = Duration::from_secs(1);

/// The same probe from the same MAC is reported at most once per this period: shorter than
/// [`QUIET`], as a release's probe may follow that host's previous probe within a second.
pub const QUERY_QUIET: Duration = Duration::from_millis(100);

/// The watching socket, and what keeps IFACE receiving the IPv6 probes it is there for.
#[derive(Debug)]
pub struct Watching {
    pub sock: PacketSocket,
    /// Member of the solicited-node group of each IPv6 VIP on IFACE (None without IPv6 VIPs):
    /// a probe for a VIP goes to that group, which a NIC (and an MLD-snooping switch) passes
    /// only to a host that joined it, and this host joins it by itself only for the addresses
    /// it holds. Joined at the IP level, so the kernel also reports the membership (MLD).
    _groups: Option<UdpSocket>,
}

/// Open the watching socket on interface `ifindex` for `vips`: filter first, then bind to ARP,
/// IPv6 or both (only what the VIPs' families need), so that no other frame is ever queued;
/// then join the solicited-node group of every IPv6 VIP.
pub fn open(ifindex: u32, vips: &[IpAddr]) -> io::Result<Watching> {
    let v4: Vec<Ipv4Addr> = vips
        .iter()
        .filter_map(|v| match v {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6: Vec<Ipv6Addr> = vips
        .iter()
        .filter_map(|v| match v {
            IpAddr::V6(a) => Some(*a),
            IpAddr::V4(_) => None,
        })
        .collect();
    let sock = PacketSocket::open(ifindex)?;
    sock.set_filter(&filter::claims(&v4, !v6.is_empty()))?;
    sock.listen(match (v4.is_empty(), v6.is_empty()) {
        (false, false) => ETH_P_ALL,
        (true, false) => ETH_P_IPV6,
        _ => ETH_P_ARP,
    })?;
    let groups = if v6.is_empty() {
        None
    } else {
        let udp = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0))?;
        let mut joined = Vec::new();
        for group in v6.iter().map(|a| solicited_node(*a)) {
            // Two VIPs may share a group (the same last 24 bits).
            if !joined.contains(&group) {
                udp.join_multicast_v6(&group, ifindex).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("join {group}: {}", crate::error::os_reason(&e)),
                    )
                })?;
                joined.push(group);
            }
        }
        Some(udp)
    };
    Ok(Watching {
        sock,
        _groups: groups,
    })
}

/// Which of `vips` (if any) `frame` claims from a MAC other than `ours`, and that MAC: an ARP
/// request or reply whose sender is the VIP, or a neighbour advertisement for it
/// ([`answer_from`], the rule of `garp -D`, so a probe's answer is a claim too).
pub fn claim(frame: &[u8], kind: PacketType, vips: &[IpAddr], ours: Mac) -> Option<(IpAddr, Mac)> {
    vips.iter()
        .find_map(|v| answer_from(frame, kind, *v, ours).map(|m| (*v, m)))
}

/// Which of `vips` (if any) `frame` probes for from a MAC other than `ours`, and that MAC: a
/// duplicate-address probe as `garp -D` and the watcher's own `probe` send it, an ARP request
/// from `0.0.0.0` whose target is the VIP (RFC 5227; the MAC is the ARP sender's), or a
/// neighbour solicitation from `::` whose target is the VIP (RFC 4862; the Ethernet source's,
/// a solicitation from `::` carries no link-layer option). A frame whose Ethernet source is
/// `ours` is never one, nor is a frame this host sent.
pub fn query(frame: &[u8], kind: PacketType, vips: &[IpAddr], ours: Mac) -> Option<(IpAddr, Mac)> {
    if kind == PacketType::Outgoing || frame.len() < 14 || frame[6..12] == ours {
        return None;
    }
    let mut eth_src = [0u8; 6];
    eth_src.copy_from_slice(&frame[6..12]);
    let (vip, mac) = if let Some(a) = Arp::parse(frame) {
        if a.op != ArpOp::Request || !a.sender_ip.is_unspecified() {
            return None;
        }
        (IpAddr::V4(a.target_ip), a.sender_mac)
    } else {
        let n = Nd::parse(frame)?;
        if n.kind != NdKind::Solicitation || !n.src.is_unspecified() {
            return None;
        }
        (IpAddr::V6(n.target), eth_src)
    };
    (vips.contains(&vip) && mac != ours).then_some((vip, mac))
}

/// Pure: when a claim is reported. The first claim of a VIP by a MAC at once; the same again
/// only after the period ([`QUIET`] by default), so that a host that keeps announcing costs
/// one line a second.
#[derive(Debug)]
pub struct Quiet {
    period: Duration,
    last: HashMap<(IpAddr, Mac), Instant>,
}

impl Default for Quiet {
    fn default() -> Quiet {
        Quiet::every(QUIET)
    }
}

impl Quiet {
    /// Report the same thing at most once per `period`.
    pub fn every(period: Duration) -> Quiet {
        Quiet {
            period,
            last: HashMap::new(),
        }
    }

    /// Should the claim of `vip` by `mac` seen at `now` be reported?
    pub fn report(&mut self, vip: IpAddr, mac: Mac, now: Instant) -> bool {
        let period = self.period;
        match self.last.get(&(vip, mac)) {
            Some(t) if now.duration_since(*t) < period => false,
            _ => {
                // Forget old claims so that the map stays as small as the claims of a period.
                self.last.retain(|_, t| now.duration_since(*t) < period);
                self.last.insert((vip, mac), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::{Arp, Nd};

    const OURS: Mac = [2, 0, 0, 0, 0, 4];
    const OTHER: Mac = [2, 0, 0, 0, 0, 5];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn claims_are_frames_from_another_mac_naming_a_vip_as_sender() {
        let vips = [ip("198.51.100.2"), ip("198.51.100.3"), ip("2001:db8::2")];
        let v = "198.51.100.3".parse().unwrap();
        let garp = Arp::request(OTHER, v, v).frame();
        assert_eq!(
            claim(&garp, PacketType::Group, &vips, OURS),
            Some((ip("198.51.100.3"), OTHER))
        );
        let ours = Arp::request(OURS, v, v).frame();
        assert_eq!(claim(&ours, PacketType::Group, &vips, OURS), None);
        let probe = Arp::probe(OTHER, v).frame();
        assert_eq!(claim(&probe, PacketType::Group, &vips, OURS), None);
        let gw = Arp::request(OTHER, "198.51.100.1".parse().unwrap(), v).frame();
        assert_eq!(claim(&gw, PacketType::Group, &vips, OURS), None);
        let na = Nd::unsolicited_na(OTHER, "2001:db8::2".parse().unwrap()).frame(OTHER);
        assert_eq!(
            claim(&na, PacketType::Group, &vips, OURS),
            Some((ip("2001:db8::2"), OTHER))
        );
        assert_eq!(claim(&garp, PacketType::Outgoing, &vips, OURS), None);
    }

    #[test]
    fn queries_are_probes_from_another_mac_for_a_vip() {
        let vips = [ip("198.51.100.2"), ip("198.51.100.3"), ip("2001:db8::2")];
        let v: Ipv4Addr = "198.51.100.3".parse().unwrap();
        let v6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let q = |f: &[u8]| query(f, PacketType::Group, &vips, OURS);

        // garp -D, the watcher's own probe, the kernel's DAD: ARP from 0.0.0.0, NS from ::.
        assert_eq!(
            q(&Arp::probe(OTHER, v).frame()),
            Some((IpAddr::V4(v), OTHER))
        );
        assert_eq!(
            q(&Nd::dad_probe(v6).frame(OTHER)),
            Some((IpAddr::V6(v6), OTHER))
        );
        // The MAC reported is the ARP sender's (the one a takeover would conflict with).
        let mut f = Arp::probe(OTHER, v).frame();
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        assert_eq!(q(&f), Some((IpAddr::V4(v), OTHER)));

        // Not queries: from our MAC (Ethernet or ARP sender), sent by this host, for another
        // address, a client resolving a VIP, a claim, a reply from 0.0.0.0.
        assert_eq!(q(&Arp::probe(OURS, v).frame()), None);
        assert_eq!(q(&Nd::dad_probe(v6).frame(OURS)), None);
        let mut f = Arp::probe(OURS, v).frame();
        f[6..12].copy_from_slice(&OTHER);
        assert_eq!(q(&f), None, "ARP sender is our MAC");
        let f = Arp::probe(OTHER, v).frame();
        assert_eq!(query(&f, PacketType::Outgoing, &vips, OURS), None);
        assert_eq!(
            q(&Arp::probe(OTHER, "198.51.100.9".parse().unwrap()).frame()),
            None
        );
        assert_eq!(
            q(&Nd::dad_probe("2001:db8::9".parse().unwrap()).frame(OTHER)),
            None
        );
        let client = Arp::request(OTHER, "198.51.100.7".parse().unwrap(), v).frame();
        assert_eq!(q(&client), None, "who-has VIP tell CLIENT");
        let resolve = Nd {
            src: "2001:db8::7".parse().unwrap(),
            lladdr: Some(OTHER),
            ..Nd::dad_probe(v6)
        };
        assert_eq!(q(&resolve.frame(OTHER)), None, "NS from a real source");
        assert_eq!(q(&Arp::request(OTHER, v, v).frame()), None, "a claim");
        assert_eq!(
            q(&Nd::unsolicited_na(OTHER, v6).frame(OTHER)),
            None,
            "an advertisement"
        );
        let mut reply = Arp::reply(OTHER, Ipv4Addr::UNSPECIFIED, v);
        reply.target_mac = [0; 6];
        assert_eq!(q(&reply.frame()), None, "a reply is not a probe");
        assert_eq!(q(&[0u8; 10]), None, "a runt");

        // A probe is never a claim, and a claim never a query: a frame is one or the other.
        assert_eq!(
            claim(
                &Arp::probe(OTHER, v).frame(),
                PacketType::Group,
                &vips,
                OURS
            ),
            None
        );
        assert_eq!(
            claim(
                &Nd::dad_probe(v6).frame(OTHER),
                PacketType::Group,
                &vips,
                OURS
            ),
            None
        );
    }

    #[test]
    fn the_same_claim_is_reported_once_a_second() {
        let t0 = Instant::now();
        let mut q = Quiet::default();
        let v = ip("198.51.100.2");
        assert!(q.report(v, OTHER, t0));
        assert!(!q.report(v, OTHER, t0 + Duration::from_millis(999)));
        assert!(
            q.report(v, OURS, t0 + Duration::from_millis(10)),
            "another MAC"
        );
        assert!(q.report(ip("198.51.100.3"), OTHER, t0), "another VIP");
        assert!(q.report(v, OTHER, t0 + QUIET));
        assert!(!q.report(v, OTHER, t0 + QUIET + Duration::from_millis(1)));
    }
}
