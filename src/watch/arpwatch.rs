//! The passive duplicate watch: one [`PacketSocket`] on IFACE that receives only the frames
//! that can claim a configured VIP (the kernel filters them, [`filter::claims`]), and the pure
//! rules for what a claim is ([`claim`]) and how often one is reported ([`Quiet`]). The same
//! socket sends the watcher's announcements and probes. Nothing is sent by watching.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::arp::{ETH_P_ARP, ETH_P_IPV6, Mac, PacketSocket, PacketType, answer_from, filter};

/// `ETH_P_ALL`: every EtherType (both ARP and IPv6 are watched).
const ETH_P_ALL: u16 = 0x0003;

/// The same claim from the same MAC is reported at most once per this period.
pub const QUIET: Duration = Duration::from_secs(1);

/// Open the watching socket on interface `ifindex` for `vips`: filter first, then bind to ARP,
/// IPv6 or both (only what the VIPs' families need), so that no other frame is ever queued.
pub fn open(ifindex: u32, vips: &[IpAddr]) -> io::Result<PacketSocket> {
    let v4: Vec<Ipv4Addr> = vips
        .iter()
        .filter_map(|v| match v {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6 = vips.iter().any(IpAddr::is_ipv6);
    let sock = PacketSocket::open(ifindex)?;
    sock.set_filter(&filter::claims(&v4, v6))?;
    sock.listen(match (v4.is_empty(), v6) {
        (false, true) => ETH_P_ALL,
        (true, true) => ETH_P_IPV6,
        _ => ETH_P_ARP,
    })?;
    Ok(sock)
}

/// Which of `vips` (if any) `frame` claims from a MAC other than `ours`, and that MAC: an ARP
/// request or reply whose sender is the VIP, or a neighbour advertisement for it
/// ([`answer_from`], the rule of `garp -D`, so a probe's answer is a claim too).
pub fn claim(frame: &[u8], kind: PacketType, vips: &[IpAddr], ours: Mac) -> Option<(IpAddr, Mac)> {
    vips.iter()
        .find_map(|v| answer_from(frame, kind, *v, ours).map(|m| (*v, m)))
}

/// Pure: when a claim is reported. The first claim of a VIP by a MAC at once; the same again
/// only after [`QUIET`], so that a host that keeps announcing costs one line a second.
#[derive(Debug, Default)]
pub struct Quiet {
    last: HashMap<(IpAddr, Mac), Instant>,
}

impl Quiet {
    /// Should the claim of `vip` by `mac` seen at `now` be reported?
    pub fn report(&mut self, vip: IpAddr, mac: Mac, now: Instant) -> bool {
        match self.last.get(&(vip, mac)) {
            Some(t) if now.duration_since(*t) < QUIET => false,
            _ => {
                // Forget old claims so that the map stays as small as the claims of a second.
                self.last.retain(|_, t| now.duration_since(*t) < QUIET);
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
