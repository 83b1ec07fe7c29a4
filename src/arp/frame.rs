//! The pure layer of [`crate::arp`]: ARP and IPv6 neighbour-discovery frames as bytes, built
//! and parsed without any I/O, the ICMPv6 checksum, and the rule for what counts as another host
//! answering a duplicate-address probe. Byte-level unit tests below, written from the RFCs.
//!
//! Longer than the ~600 lines a file should keep to: over 200 of them are the byte-level tests,
//! and the ARP and ND codecs share the Ethernet helpers, [`Packet`] and [`answer_from`], which
//! speak for both families; split by family, each half would reach into the other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An Ethernet (EUI-48) hardware address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address, where ARP announcements go.
pub const BROADCAST: Mac = [0xff; 6];
/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// The IPv6 all-nodes multicast address, where unsolicited advertisements go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Length of the Ethernet header: destination, source, EtherType.
pub(super) const ETH_HLEN: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_HLEN: usize = 40;
const ICMPV6: u8 = 58;
const ND_HOP_LIMIT: u8 = 255;
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;

/// Neighbour advertisement flag: the sender is a router.
pub const NA_ROUTER: u8 = 0x80;
/// Neighbour advertisement flag: an answer to a solicitation.
pub const NA_SOLICITED: u8 = 0x40;
/// Neighbour advertisement flag: replace an existing cache entry.
pub const NA_OVERRIDE: u8 = 0x20;

/// Lowercase colon-separated, as `ip link` prints it.
pub fn mac_to_string(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// ARP operation (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    /// "who-has TARGET tell SENDER" (opcode 1).
    Request,
    /// "SENDER is-at MAC" (opcode 2).
    Reply,
}

/// One Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub op: ArpOp,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// "who-has TARGET tell SENDER", like `arping -s SENDER TARGET`. With `sender == target` it is
    /// the gratuitous request of `arping -U`. The target hardware address is zero (RFC 5227, and
    /// what the kernel's own announcements carry).
    pub fn request(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Arp {
        Arp {
            op: ArpOp::Request,
            sender_mac: mac,
            sender_ip: sender,
            target_mac: [0; 6],
            target_ip: target,
        }
    }

    /// "SENDER is-at MAC", like `arping -A`: the target hardware address repeats our own, which
    /// Linux requires before it treats a reply with `sender == target` as gratuitous.
    pub fn reply(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Arp {
        Arp {
            op: ArpOp::Reply,
            sender_mac: mac,
            sender_ip: sender,
            target_mac: mac,
            target_ip: target,
        }
    }

    /// RFC 5227 probe "who-has TARGET tell 0.0.0.0", like `arping -D TARGET`.
    pub fn probe(mac: Mac, target: Ipv4Addr) -> Arp {
        Arp::request(mac, Ipv4Addr::UNSPECIFIED, target)
    }

    /// The whole Ethernet frame, broadcast (as `arping` sends every packet), 42 bytes.
    pub fn frame(&self) -> [u8; ETH_HLEN + ARP_LEN] {
        let mut f = [0u8; ETH_HLEN + ARP_LEN];
        f[0..6].copy_from_slice(&BROADCAST);
        f[6..12].copy_from_slice(&self.sender_mac);
        f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
        let a = &mut f[ETH_HLEN..];
        a[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
        a[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
        a[4] = 6;
        a[5] = 4;
        let op: u16 = match self.op {
            ArpOp::Request => 1,
            ArpOp::Reply => 2,
        };
        a[6..8].copy_from_slice(&op.to_be_bytes());
        a[8..14].copy_from_slice(&self.sender_mac);
        a[14..18].copy_from_slice(&self.sender_ip.octets());
        a[18..24].copy_from_slice(&self.target_mac);
        a[24..28].copy_from_slice(&self.target_ip.octets());
        f
    }

    /// Parse an Ethernet frame holding an Ethernet/IPv4 ARP request or reply.
    pub fn parse(frame: &[u8]) -> Option<Arp> {
        if frame.len() < ETH_HLEN + ARP_LEN || be16(frame, 12) != ETH_P_ARP {
            return None;
        }
        let a = &frame[ETH_HLEN..];
        if be16(a, 0) != 1 || be16(a, 2) != 0x0800 || a[4] != 6 || a[5] != 4 {
            return None;
        }
        let op = match be16(a, 6) {
            1 => ArpOp::Request,
            2 => ArpOp::Reply,
            _ => return None,
        };
        Some(Arp {
            op,
            sender_mac: mac_at(a, 8),
            sender_ip: Ipv4Addr::new(a[14], a[15], a[16], a[17]),
            target_mac: mac_at(a, 18),
            target_ip: Ipv4Addr::new(a[24], a[25], a[26], a[27]),
        })
    }
}

impl std::fmt::Display for Arp {
    /// tcpdump's wording: `request who-has T tell S`, `reply S is-at MAC`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.op {
            ArpOp::Request => write!(
                f,
                "ARP request who-has {} tell {}",
                self.target_ip, self.sender_ip
            ),
            ArpOp::Reply => write!(
                f,
                "ARP reply {} is-at {} to {}",
                self.sender_ip,
                mac_to_string(&self.sender_mac),
                self.target_ip
            ),
        }
    }
}

/// Which neighbour-discovery message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdKind {
    /// Neighbour solicitation (ICMPv6 type 135), IPv6's "who-has".
    Solicitation,
    /// Neighbour advertisement (ICMPv6 type 136), IPv6's "is-at".
    Advertisement,
}

/// One IPv6 neighbour solicitation or advertisement (RFC 4861).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nd {
    pub kind: NdKind,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub target: Ipv6Addr,
    /// `NA_ROUTER | NA_SOLICITED | NA_OVERRIDE` (advertisements only).
    pub flags: u8,
    /// The source (NS) or target (NA) link-layer address option.
    pub lladdr: Option<Mac>,
}

impl Nd {
    /// Unsolicited advertisement of `addr` at `mac` to all nodes with the override flag, what
    /// `ndsend ADDR IFACE` and the kernel's `ndisc_notify` send. Source is `addr` itself.
    pub fn unsolicited_na(mac: Mac, addr: Ipv6Addr) -> Nd {
        Nd {
            kind: NdKind::Advertisement,
            src: addr,
            dst: ALL_NODES,
            target: addr,
            flags: NA_OVERRIDE,
            lladdr: Some(mac),
        }
    }

    /// Duplicate-address probe for `target` (RFC 4862 5.4.2): from `::` to the target's
    /// solicited-node group, with no source link-layer option (not allowed from `::`).
    pub fn dad_probe(target: Ipv6Addr) -> Nd {
        Nd {
            kind: NdKind::Solicitation,
            src: Ipv6Addr::UNSPECIFIED,
            dst: solicited_node(target),
            target,
            flags: 0,
            lladdr: None,
        }
    }

    /// The whole Ethernet frame from `eth_src` to the multicast MAC of `dst` (unicast
    /// destinations are not needed by garp). Hop limit 255, checksum filled in.
    pub fn frame(&self, eth_src: Mac) -> Vec<u8> {
        let mut icmp = Vec::with_capacity(32);
        match self.kind {
            NdKind::Solicitation => {
                icmp.extend_from_slice(&[ICMPV6_NS, 0, 0, 0, 0, 0, 0, 0]);
            }
            NdKind::Advertisement => {
                icmp.extend_from_slice(&[ICMPV6_NA, 0, 0, 0, self.flags, 0, 0, 0]);
            }
        }
        icmp.extend_from_slice(&self.target.octets());
        if let Some(mac) = self.lladdr {
            let kind = match self.kind {
                NdKind::Solicitation => OPT_SOURCE_LLADDR,
                NdKind::Advertisement => OPT_TARGET_LLADDR,
            };
            icmp.extend_from_slice(&[kind, 1]);
            icmp.extend_from_slice(&mac);
        }
        let sum = icmpv6_checksum(&self.src, &self.dst, &icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());

        let mut f = Vec::with_capacity(ETH_HLEN + IPV6_HLEN + icmp.len());
        f.extend_from_slice(&multicast_mac(&self.dst));
        f.extend_from_slice(&eth_src);
        f.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        f.extend_from_slice(&[ICMPV6, ND_HOP_LIMIT]);
        f.extend_from_slice(&self.src.octets());
        f.extend_from_slice(&self.dst.octets());
        f.extend_from_slice(&icmp);
        f
    }

    /// Parse an Ethernet frame holding a valid NS or NA: no extension headers, hop limit 255,
    /// code 0, correct checksum (the checks of RFC 4861 7.1.1/7.1.2 that matter here).
    pub fn parse(frame: &[u8]) -> Option<Nd> {
        if frame.len() < ETH_HLEN + IPV6_HLEN + 24 || be16(frame, 12) != ETH_P_IPV6 {
            return None;
        }
        let ip = &frame[ETH_HLEN..];
        if ip[0] >> 4 != 6 || ip[6] != ICMPV6 || ip[7] != ND_HOP_LIMIT {
            return None;
        }
        let len = usize::from(be16(ip, 4));
        let icmp = ip.get(IPV6_HLEN..IPV6_HLEN + len)?;
        if len < 24 || icmp[1] != 0 {
            return None;
        }
        let src = ipv6_at(ip, 8);
        let dst = ipv6_at(ip, 24);
        if icmpv6_checksum(&src, &dst, icmp) != 0 {
            return None;
        }
        let (kind, option) = match icmp[0] {
            ICMPV6_NS => (NdKind::Solicitation, OPT_SOURCE_LLADDR),
            ICMPV6_NA => (NdKind::Advertisement, OPT_TARGET_LLADDR),
            _ => return None,
        };
        let mut lladdr = None;
        let mut opts = &icmp[24..];
        while opts.len() >= 8 {
            let olen = usize::from(opts[1]) * 8;
            if olen == 0 || olen > opts.len() {
                return None;
            }
            if opts[0] == option && olen == 8 {
                lladdr = Some(mac_at(opts, 2));
            }
            opts = &opts[olen..];
        }
        Some(Nd {
            kind,
            src,
            dst,
            target: ipv6_at(icmp, 8),
            flags: if kind == NdKind::Advertisement {
                icmp[4]
            } else {
                0
            },
            lladdr,
        })
    }
}

impl std::fmt::Display for Nd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            NdKind::Solicitation => write!(
                f,
                "neighbour solicitation who-has {} from {} to {}",
                self.target, self.src, self.dst
            ),
            NdKind::Advertisement => {
                write!(f, "neighbour advertisement {}", self.target)?;
                if let Some(mac) = self.lladdr {
                    write!(f, " is-at {}", mac_to_string(&mac))?;
                }
                let names = [(NA_ROUTER, "router"), (NA_SOLICITED, "solicited")];
                let mut flags: Vec<&str> = names
                    .iter()
                    .filter(|(bit, _)| self.flags & bit != 0)
                    .map(|(_, n)| *n)
                    .collect();
                if self.flags & NA_OVERRIDE != 0 {
                    flags.push("override");
                }
                write!(f, " to {}", self.dst)?;
                if !flags.is_empty() {
                    write!(f, " [{}]", flags.join(","))?;
                }
                Ok(())
            }
        }
    }
}

/// The solicited-node multicast group of `addr`: `ff02::1:ffXX:XXXX` (RFC 4291 2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address an IPv6 multicast group maps to: `33:33` and its low 32 bits (RFC 2464).
pub fn multicast_mac(group: &Ipv6Addr) -> Mac {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// The ICMPv6 checksum over the pseudo-header and `msg` (RFC 4443 2.3). With the checksum field
/// of `msg` zeroed it is the value to store; over a received message it is 0 when valid.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map(u32::from).unwrap_or(0);
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, ICMPV6]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The big-endian 16-bit field at `at`.
pub(super) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The 6-byte hardware address at `at`.
pub(super) fn mac_at(b: &[u8], at: usize) -> Mac {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
}

fn ipv6_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(a)
}

/// One frame to send: ARP or IPv6 neighbour discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    Arp(Arp),
    Nd(Nd),
}

impl Packet {
    /// The duplicate-address probe for `target` from `mac`: RFC 5227's "who-has TARGET tell
    /// 0.0.0.0" ([`Arp::probe`]), for IPv6 an NS from `::` ([`Nd::dad_probe`]).
    pub fn probe(mac: Mac, target: IpAddr) -> Packet {
        match target {
            IpAddr::V4(t) => Packet::Arp(Arp::probe(mac, t)),
            IpAddr::V6(t) => Packet::Nd(Nd::dad_probe(t)),
        }
    }

    /// The Ethernet frame, from `mac`.
    pub fn frame(&self, mac: Mac) -> Vec<u8> {
        match self {
            Packet::Arp(a) => a.frame().to_vec(),
            Packet::Nd(n) => n.frame(mac),
        }
    }
}

impl std::fmt::Display for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Packet::Arp(a) => a.fmt(f),
            Packet::Nd(n) => n.fmt(f),
        }
    }
}

/// Where a received frame was headed, from `sockaddr_ll.sll_pkttype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// To us (unicast to our MAC).
    Host,
    /// Broadcast or multicast.
    Group,
    /// Sent by this host (our own frames looped back to packet sockets).
    Outgoing,
    /// Anything else (another host's unicast seen in promiscuous mode).
    Other,
}

/// Is `frame` another host answering for `target`? Returns its MAC.
///
/// IPv4 (as `arping -D`): any ARP request or reply whose sender is `target`, from a MAC other
/// than ours. IPv6: a neighbour advertisement for `target` from another MAC (its target
/// link-layer option, else the Ethernet source).
pub fn answer_from(frame: &[u8], kind: PacketType, target: IpAddr, ours: Mac) -> Option<Mac> {
    if kind == PacketType::Outgoing || frame.len() < 14 {
        return None;
    }
    let mac = match target {
        IpAddr::V4(t) => {
            let a = Arp::parse(frame)?;
            if a.sender_ip != t || !matches!(a.op, ArpOp::Request | ArpOp::Reply) {
                return None;
            }
            a.sender_mac
        }
        IpAddr::V6(t) => {
            let n = Nd::parse(frame)?;
            if n.kind != NdKind::Advertisement || n.target != t {
                return None;
            }
            let mut eth_src = [0u8; 6];
            eth_src.copy_from_slice(&frame[6..12]);
            n.lladdr.unwrap_or(eth_src)
        }
    };
    (mac != ours).then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x05];
    const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    const GW: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    const OTHER: Mac = [0x02, 0, 0, 0, 0, 4];

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Expected frames are written out field by field from RFC 826 / RFC 4861; the ICMPv6
    // checksums were computed separately (a few lines of Python over the same bytes), and
    // `tcpdump -vv` reports them correct. tests/it/garp.rs checks the same bytes on the wire.

    #[test]
    fn gateway_aimed_request_bytes() {
        let want = hex("ffffffffffff 02005e100005 0806 \
             0001 0800 06 04 0001 02005e100005 c6336402 000000000000 c6336401");
        assert_eq!(Arp::request(MAC, VIP, GW).frame().to_vec(), want);
    }

    #[test]
    fn unsolicited_request_bytes() {
        let want = hex("ffffffffffff 02005e100005 0806 \
             0001 0800 06 04 0001 02005e100005 c6336402 000000000000 c6336402");
        assert_eq!(Arp::request(MAC, VIP, VIP).frame().to_vec(), want);
    }

    #[test]
    fn gratuitous_reply_bytes_repeat_the_mac_as_target() {
        let want = hex("ffffffffffff 02005e100005 0806 \
             0001 0800 06 04 0002 02005e100005 c6336402 02005e100005 c6336402");
        assert_eq!(Arp::reply(MAC, VIP, VIP).frame().to_vec(), want);
    }

    #[test]
    fn probe_bytes_come_from_0_0_0_0() {
        let want = hex("ffffffffffff 02005e100005 0806 \
             0001 0800 06 04 0001 02005e100005 00000000 000000000000 c6336402");
        assert_eq!(Arp::probe(MAC, VIP).frame().to_vec(), want);
    }

    #[test]
    fn arp_parse_round_trips_and_rejects_garbage() {
        for a in [
            Arp::request(MAC, VIP, GW),
            Arp::reply(MAC, VIP, VIP),
            Arp::probe(MAC, VIP),
        ] {
            let mut f = a.frame().to_vec();
            assert_eq!(Arp::parse(&f), Some(a));
            f.extend_from_slice(&[0; 18]); // Ethernet padding to 60 bytes
            assert_eq!(Arp::parse(&f), Some(a));
        }
        let f = Arp::request(MAC, VIP, GW).frame();
        assert_eq!(Arp::parse(&f[..41]), None);
        let mut bad = f;
        bad[12] = 0x08;
        bad[13] = 0x00;
        assert_eq!(Arp::parse(&bad), None);
        let mut bad = f;
        bad[21] = 3; // opcode 3 (RARP)
        assert_eq!(Arp::parse(&bad), None);
    }

    #[test]
    fn arp_display_reads_like_tcpdump() {
        assert_eq!(
            Arp::request(MAC, VIP, GW).to_string(),
            "ARP request who-has 198.51.100.1 tell 198.51.100.2"
        );
        assert_eq!(
            Arp::reply(MAC, VIP, VIP).to_string(),
            "ARP reply 198.51.100.2 is-at 02:00:5e:10:00:05 to 198.51.100.2"
        );
    }

    #[test]
    fn unsolicited_na_bytes() {
        let vip: Ipv6Addr = "2001:db8::2".parse().unwrap();
        // Checksum 0x9b14: pseudo-header + message summed in 16-bit words, one's complement.
        let want = hex("333300000001 02005e100005 86dd \
             60000000 0020 3a ff \
             20010db8000000000000000000000002 ff020000000000000000000000000001 \
             88 00 9b14 20000000 20010db8000000000000000000000002 \
             02 01 02005e100005");
        let got = Nd::unsolicited_na(MAC, vip).frame(MAC);
        assert_eq!(hex_of(&got), hex_of(&want));
    }

    #[test]
    fn dad_probe_ns_bytes() {
        let t: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let want = hex("3333ff000002 02005e100005 86dd \
             60000000 0018 3a ff \
             00000000000000000000000000000000 ff0200000000000000000001ff000002 \
             87 00 4ceb 00000000 20010db8000000000000000000000002");
        let got = Nd::dad_probe(t).frame(MAC);
        assert_eq!(hex_of(&got), hex_of(&want));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn checksum_of_a_valid_message_is_zero() {
        let vip: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let f = Nd::unsolicited_na(MAC, vip).frame(MAC);
        assert_eq!(icmpv6_checksum(&vip, &ALL_NODES, &f[54..]), 0);
        // Odd length is padded with a zero byte.
        let a: Ipv6Addr = "::".parse().unwrap();
        assert_eq!(
            icmpv6_checksum(&a, &a, &[0x01]),
            !(0x0100u16 + 1 + u16::from(ICMPV6))
        );
    }

    #[test]
    fn nd_parse_round_trips_and_checks() {
        let vip: Ipv6Addr = "2001:db8::2".parse().unwrap();
        for nd in [Nd::unsolicited_na(MAC, vip), Nd::dad_probe(vip)] {
            let f = nd.frame(MAC);
            assert_eq!(Nd::parse(&f), Some(nd));
            let mut bad = f.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(Nd::parse(&bad), None, "checksum must be checked");
            let mut bad = f.clone();
            bad[21] = 64; // hop limit
            assert_eq!(Nd::parse(&bad), None, "hop limit must be 255");
            assert_eq!(Nd::parse(&f[..f.len() - 1]), None);
        }
        let mut f = Nd::unsolicited_na(MAC, vip).frame(MAC);
        f[14 + 40 + 24 + 1] = 0; // option of length 0 is invalid
        // Recompute the checksum so only the option is wrong.
        f[56] = 0;
        f[57] = 0;
        let sum = icmpv6_checksum(&vip, &ALL_NODES, &f[54..]);
        f[56..58].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(Nd::parse(&f), None);
    }

    #[test]
    fn multicast_mapping() {
        let a: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node(a),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            multicast_mac(&solicited_node(a)),
            [0x33, 0x33, 0xff, 0x45, 0x67, 0x89]
        );
        assert_eq!(multicast_mac(&ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
    }

    #[test]
    fn nd_display() {
        let vip: Ipv6Addr = "2001:db8::2".parse().unwrap();
        assert_eq!(
            Nd::unsolicited_na(MAC, vip).to_string(),
            "neighbour advertisement 2001:db8::2 is-at 02:00:5e:10:00:05 to ff02::1 [override]"
        );
        assert_eq!(
            Nd::dad_probe(vip).to_string(),
            "neighbour solicitation who-has 2001:db8::2 from :: to ff02::1:ff00:2"
        );
    }

    #[test]
    fn mac_formatting() {
        assert_eq!(mac_to_string(&MAC), "02:00:5e:10:00:05");
    }

    #[test]
    fn answers_are_recognised_like_arping_d() {
        let vip = VIP;
        let target = IpAddr::V4(vip);
        // The kernel's answer to a probe: reply from VIP to 0.0.0.0, unicast to us.
        let mut reply = Arp::reply(OTHER, vip, Ipv4Addr::UNSPECIFIED);
        reply.target_mac = MAC;
        let f = reply.frame();
        assert_eq!(answer_from(&f, PacketType::Host, target, MAC), Some(OTHER));
        // Another host's announcement of the address counts too.
        let f = Arp::request(OTHER, vip, vip).frame();
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), Some(OTHER));
        // Our own frames, other addresses, and other probes do not.
        let f = Arp::request(MAC, vip, vip).frame();
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
        assert_eq!(answer_from(&f, PacketType::Outgoing, target, OTHER), None);
        let f = Arp::request(OTHER, Ipv4Addr::new(198, 51, 100, 4), vip).frame();
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
        let f = Arp::probe(OTHER, vip).frame();
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
    }

    #[test]
    fn ipv6_answers_are_advertisements_for_the_target() {
        let t: Ipv6Addr = "2001:db8::4".parse().unwrap();
        let target = IpAddr::V6(t);
        let mut na = Nd::unsolicited_na(OTHER, t);
        na.flags = 0; // the kernel's reply to a DAD probe: not solicited, not override
        let f = na.frame(OTHER);
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), Some(OTHER));
        na.lladdr = None;
        let f = na.frame(OTHER);
        assert_eq!(
            answer_from(&f, PacketType::Group, target, MAC),
            Some(OTHER),
            "no option: the Ethernet source"
        );
        let f = Nd::dad_probe(t).frame(OTHER);
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
        let f = Nd::unsolicited_na(OTHER, "2001:db8::5".parse().unwrap()).frame(OTHER);
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
        let f = Nd::unsolicited_na(MAC, t).frame(MAC);
        assert_eq!(answer_from(&f, PacketType::Group, target, MAC), None);
    }
}
