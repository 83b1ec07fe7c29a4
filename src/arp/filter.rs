//! Pure: the classic BPF program a watching [`PacketSocket`](super::PacketSocket) attaches
//! (`SO_ATTACH_FILTER`, what `tcpdump 'arp or icmp6'` compiles to), so that the kernel drops
//! every frame that cannot be another host claiming one of our addresses before it is queued.
//!
//! A socket watching IPv6 neighbour advertisements must bind to all IPv6 (or all) traffic;
//! without a filter a load balancer's watcher would wake for every packet it forwards. With it,
//! only ARP frames whose sender is one of the watched IPv4 addresses and ICMPv6 neighbour
//! advertisements reach user space, where [`answer_from`](super::answer_from) decides.

use std::net::Ipv4Addr;

use super::frame::{ETH_HLEN, ETH_P_ARP, ETH_P_IPV6};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `ldh [k]`, `ld [k]`, `ldb [k]`: load 2, 4 or 1 bytes at offset k, big-endian.
const LDH_ABS: u16 = 0x28;
const LDW_ABS: u16 = 0x20;
const LDB_ABS: u16 = 0x30;
/// `jeq #k, jt, jf`.
const JEQ_K: u16 = 0x15;
/// `ret #k`: keep k bytes of the frame (0: drop it).
const RET_K: u16 = 0x06;

/// Bytes kept of an accepted frame: more than any ARP or ND frame.
pub const SNAPLEN: u32 = 2048;
/// Above this many IPv4 addresses the sender is not compared in the kernel (a jump offset is
/// one byte): every ARP frame is accepted and user space sorts them out.
pub const MAX_V4: usize = 200;

/// Offset of the ARP sender protocol address in an Ethernet frame.
const ARP_SPA: u32 = (ETH_HLEN + 14) as u32;
/// Offset of the IPv6 next-header field, and of the ICMPv6 type without extension headers.
const IPV6_NEXT: u32 = (ETH_HLEN + 6) as u32;
const ICMPV6_TYPE: u32 = (ETH_HLEN + 40) as u32;
const ICMPV6: u32 = 58;
const NEIGHBOUR_ADVERTISEMENT: u32 = 136;

/// Where a conditional jump goes, before offsets are known.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Next,
    Ipv6,
    Accept,
    Drop,
}

/// The program: accept ARP whose sender is one of `v4`, and (when `ipv6`) every ICMPv6
/// neighbour advertisement; drop everything else. No addresses and no IPv6: drops all.
pub fn claims(v4: &[Ipv4Addr], ipv6: bool) -> Vec<Insn> {
    let mut prog: Vec<(u16, To, To, u32)> = vec![(LDH_ABS, To::Next, To::Next, 12)];
    let no_arp = if ipv6 { To::Ipv6 } else { To::Drop };
    if !v4.is_empty() {
        prog.push((JEQ_K, To::Next, no_arp, u32::from(ETH_P_ARP)));
        if v4.len() > MAX_V4 {
            prog.push((RET_K, To::Next, To::Next, SNAPLEN));
        } else {
            prog.push((LDW_ABS, To::Next, To::Next, ARP_SPA));
            for a in v4 {
                prog.push((JEQ_K, To::Accept, To::Next, u32::from(*a)));
            }
            prog.push((RET_K, To::Next, To::Next, 0));
        }
    }
    let ipv6_at = prog.len();
    if ipv6 {
        prog.push((JEQ_K, To::Next, To::Drop, u32::from(ETH_P_IPV6)));
        prog.push((LDB_ABS, To::Next, To::Next, IPV6_NEXT));
        prog.push((JEQ_K, To::Next, To::Drop, ICMPV6));
        prog.push((LDB_ABS, To::Next, To::Next, ICMPV6_TYPE));
        prog.push((JEQ_K, To::Accept, To::Drop, NEIGHBOUR_ADVERTISEMENT));
    } else {
        prog.push((RET_K, To::Next, To::Next, 0));
    }
    let accept_at = prog.len();
    prog.push((RET_K, To::Next, To::Next, SNAPLEN));
    let drop_at = prog.len();
    prog.push((RET_K, To::Next, To::Next, 0));
    let offset = |from: usize, to: To| -> u8 {
        let target = match to {
            To::Next => from + 1,
            To::Ipv6 => ipv6_at,
            To::Accept => accept_at,
            To::Drop => drop_at,
        };
        // At most MAX_V4 + a few instructions apart: fits in a byte.
        u8::try_from(target - from - 1).unwrap_or(u8::MAX)
    };
    prog.iter()
        .enumerate()
        .map(|(i, &(code, jt, jf, k))| Insn {
            code,
            jt: offset(i, jt),
            jf: offset(i, jf),
            k,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::{Arp, Mac, Nd};

    const MAC: Mac = [0x02, 0, 0, 0, 0, 4];

    /// A classic BPF interpreter for the instructions above: the bytes kept (0: dropped).
    fn run(prog: &[Insn], frame: &[u8]) -> u32 {
        let mut a: u32 = 0;
        let mut pc = 0;
        let load = |k: u32, n: usize| -> Option<u32> {
            let k = k as usize;
            let b = frame.get(k..k + n)?;
            Some(b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x)))
        };
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LDH_ABS => a = load(i.k, 2).expect("load in range"),
                LDW_ABS => a = load(i.k, 4).expect("load in range"),
                LDB_ABS => a = load(i.k, 1).expect("load in range"),
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn arp_from_a_watched_sender_passes_the_rest_is_dropped() {
        let vips = [v4("198.51.100.2"), v4("198.51.100.3")];
        let prog = claims(&vips, false);
        for vip in vips {
            let garp = Arp::request(MAC, vip, vip).frame();
            assert_eq!(run(&prog, &garp), SNAPLEN);
            let reply = Arp::reply(MAC, vip, v4("198.51.100.1")).frame();
            assert_eq!(run(&prog, &reply), SNAPLEN);
        }
        let other = Arp::request(MAC, v4("198.51.100.1"), v4("198.51.100.2")).frame();
        assert_eq!(run(&prog, &other), 0, "a who-has from the gateway");
        let probe = Arp::probe(MAC, v4("198.51.100.2")).frame();
        assert_eq!(run(&prog, &probe), 0, "a probe claims nothing");
        let na = Nd::unsolicited_na(MAC, "2001:db8::2".parse().unwrap()).frame(MAC);
        assert_eq!(run(&prog, &na), 0, "no IPv6 watched");
    }

    #[test]
    fn ipv6_passes_advertisements_only() {
        let prog = claims(&[], true);
        let t = "2001:db8::2".parse().unwrap();
        assert_eq!(run(&prog, &Nd::unsolicited_na(MAC, t).frame(MAC)), SNAPLEN);
        assert_eq!(run(&prog, &Nd::dad_probe(t).frame(MAC)), 0);
        let garp = Arp::request(MAC, v4("198.51.100.2"), v4("198.51.100.2")).frame();
        assert_eq!(run(&prog, &garp), 0, "no IPv4 watched");
        let mut udp = Nd::unsolicited_na(MAC, t).frame(MAC);
        udp[20] = 17;
        assert_eq!(run(&prog, &udp), 0, "IPv6 that is not ICMPv6");
        let mut ipv4 = Arp::request(MAC, v4("198.51.100.2"), v4("198.51.100.2")).frame();
        ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(run(&prog, &ipv4), 0);
    }

    #[test]
    fn both_families_and_the_empty_program() {
        let prog = claims(&[v4("198.51.100.2")], true);
        let vip = v4("198.51.100.2");
        assert_eq!(run(&prog, &Arp::request(MAC, vip, vip).frame()), SNAPLEN);
        let na = Nd::unsolicited_na(MAC, "2001:db8::2".parse().unwrap()).frame(MAC);
        assert_eq!(run(&prog, &na), SNAPLEN);
        let other = Arp::request(MAC, v4("198.51.100.9"), vip).frame();
        assert_eq!(run(&prog, &other), 0);
        let none = claims(&[], false);
        assert_eq!(run(&none, &Arp::request(MAC, vip, vip).frame()), 0);
    }

    #[test]
    fn many_addresses_accept_all_arp() {
        let many: Vec<Ipv4Addr> = (0..=MAX_V4 as u32)
            .map(|i| Ipv4Addr::from(0xc633_0000 + i))
            .collect();
        let prog = claims(&many, true);
        let x = v4("192.0.2.7");
        assert_eq!(run(&prog, &Arp::request(MAC, x, x).frame()), SNAPLEN);
        let at_limit: Vec<Ipv4Addr> = many[..MAX_V4].to_vec();
        let prog = claims(&at_limit, true);
        assert!(prog.iter().all(|i| usize::from(i.jt) < prog.len()));
        let last = at_limit[MAX_V4 - 1];
        assert_eq!(run(&prog, &Arp::request(MAC, last, last).frame()), SNAPLEN);
        let na = Nd::unsolicited_na(MAC, "2001:db8::2".parse().unwrap()).frame(MAC);
        assert_eq!(run(&prog, &na), SNAPLEN);
        assert_eq!(run(&prog, &Arp::request(MAC, x, x).frame()), 0);
    }
}
