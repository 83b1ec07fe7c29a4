//! Pure: the classic BPF program a watching [`PacketSocket`](super::PacketSocket) attaches
//! (`SO_ATTACH_FILTER`, what `tcpdump 'arp or icmp6'` compiles to), so that the kernel drops
//! every frame that can neither claim one of our addresses nor probe for one before it is
//! queued.
//!
//! A socket watching IPv6 neighbour discovery must bind to all IPv6 (or all) traffic; without
//! a filter a load balancer's watcher would wake for every packet it forwards. With it, only
//! these reach user space, where [`answer_from`](super::answer_from) and the watcher decide:
//! - ARP whose sender is one of the watched IPv4 addresses (a claim);
//! - ARP from `0.0.0.0` whose target is one of them (a duplicate-address probe, RFC 5227);
//! - ICMPv6 neighbour advertisements (a claim), and neighbour solicitations from `::` (a
//!   duplicate-address probe, RFC 4862), whatever their target.
//!
//! An ordinary ARP request for a watched address ("who-has VIP tell CLIENT", a client
//! resolving it) and an ordinary solicitation (from a real source) are dropped.

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
/// Above this many IPv4 addresses neither the sender nor the target is compared in the kernel
/// (a jump offset is one byte, and a jump may have to cross a whole list): every ARP frame is
/// accepted and user space sorts them out.
pub const MAX_V4: usize = 200;

/// Offsets in an Ethernet frame: the ARP sender and target protocol addresses; the IPv6
/// next-header field, source address and (without extension headers) ICMPv6 type.
const ARP_SPA: u32 = (ETH_HLEN + 14) as u32;
const ARP_TPA: u32 = (ETH_HLEN + 24) as u32;
const IPV6_NEXT: u32 = (ETH_HLEN + 6) as u32;
const IPV6_SRC: u32 = (ETH_HLEN + 8) as u32;
const ICMPV6_TYPE: u32 = (ETH_HLEN + 40) as u32;
const ICMPV6: u32 = 58;
const NEIGHBOUR_SOLICITATION: u32 = 135;
const NEIGHBOUR_ADVERTISEMENT: u32 = 136;

/// A place in the program, before offsets are known: [`NEXT`] or a label.
type Label = usize;
/// The instruction after this one.
const NEXT: Label = usize::MAX;

/// The program being written: instructions whose jumps name labels, and where each label is.
#[derive(Default)]
struct Asm {
    prog: Vec<(u16, Label, Label, u32)>,
    at: Vec<usize>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.at.push(usize::MAX);
        self.at.len() - 1
    }

    fn place(&mut self, l: Label) {
        self.at[l] = self.prog.len();
    }

    fn op(&mut self, code: u16, k: u32) {
        self.prog.push((code, NEXT, NEXT, k));
    }

    fn jeq(&mut self, k: u32, jt: Label, jf: Label) {
        self.prog.push((JEQ_K, jt, jf, k));
    }

    /// `ret #0` placed at `drop` (where a list that matched nothing falls through to), then
    /// `ret #SNAPLEN` at `accept`.
    fn rets(&mut self, drop: Label, accept: Label) {
        self.place(drop);
        self.op(RET_K, 0);
        self.place(accept);
        self.op(RET_K, SNAPLEN);
    }

    fn finish(self) -> Vec<Insn> {
        let offset = |from: usize, to: Label| -> u8 {
            let target = if to == NEXT { from + 1 } else { self.at[to] };
            // Jumps only go forward, at most a list of MAX_V4 and a few instructions: fits
            // in a byte (checked by the tests with MAX_V4 addresses).
            u8::try_from(target.saturating_sub(from + 1)).unwrap_or(u8::MAX)
        };
        self.prog
            .iter()
            .enumerate()
            .map(|(i, &(code, jt, jf, k))| Insn {
                code,
                jt: offset(i, jt),
                jf: offset(i, jf),
                k,
            })
            .collect()
    }
}

/// The program: accept ARP whose sender is one of `v4` or whose sender is `0.0.0.0` and target
/// one of `v4`; and (when `ipv6`) every ICMPv6 neighbour advertisement and every neighbour
/// solicitation from `::`; drop everything else. No addresses and no IPv6: drops all.
pub fn claims(v4: &[Ipv4Addr], ipv6: bool) -> Vec<Insn> {
    let mut a = Asm::default();
    a.op(LDH_ABS, 12);
    let arp = a.label();
    if ipv6 {
        // IPv6 first: its part is short, so the jump over it to the ARP part always fits.
        let (drop, accept) = (a.label(), a.label());
        a.jeq(u32::from(ETH_P_IPV6), NEXT, arp);
        a.op(LDB_ABS, IPV6_NEXT);
        a.jeq(ICMPV6, NEXT, drop);
        a.op(LDB_ABS, ICMPV6_TYPE);
        a.jeq(NEIGHBOUR_ADVERTISEMENT, accept, NEXT);
        a.jeq(NEIGHBOUR_SOLICITATION, NEXT, drop);
        for word in 0..4 {
            a.op(LDW_ABS, IPV6_SRC + 4 * word);
            a.jeq(0, if word == 3 { accept } else { NEXT }, drop);
        }
        a.rets(drop, accept);
    }
    a.place(arp);
    if v4.is_empty() {
        a.op(RET_K, 0);
        return a.finish();
    }
    let (drop, accept) = (a.label(), a.label());
    if v4.len() > MAX_V4 {
        a.jeq(u32::from(ETH_P_ARP), accept, drop);
        a.rets(drop, accept);
        return a.finish();
    }
    // Not ARP: dropped right here (the drop at the end may be two lists away).
    let is_arp = a.label();
    a.jeq(u32::from(ETH_P_ARP), is_arp, NEXT);
    a.op(RET_K, 0);
    a.place(is_arp);
    // The sender: one of ours is a claim; 0.0.0.0 a probe, whose target is compared below;
    // anything else is dropped (each list ends at its own returns, so no jump crosses two).
    let probe = a.label();
    a.op(LDW_ABS, ARP_SPA);
    a.jeq(0, probe, NEXT);
    let (sender_drop, sender_accept) = (a.label(), a.label());
    for addr in v4 {
        a.jeq(u32::from(*addr), sender_accept, NEXT);
    }
    a.rets(sender_drop, sender_accept);
    a.place(probe);
    a.op(LDW_ABS, ARP_TPA);
    for addr in v4 {
        a.jeq(u32::from(*addr), accept, NEXT);
    }
    a.rets(drop, accept);
    a.finish()
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
        for vip in vips {
            let probe = Arp::probe(MAC, vip).frame();
            assert_eq!(run(&prog, &probe), SNAPLEN, "a probe for a watched address");
            let client = Arp::request(MAC, v4("198.51.100.7"), vip).frame();
            assert_eq!(
                run(&prog, &client),
                0,
                "a client resolving a watched address"
            );
        }
        let probe = Arp::probe(MAC, v4("198.51.100.9")).frame();
        assert_eq!(run(&prog, &probe), 0, "a probe for another address");
        let na = Nd::unsolicited_na(MAC, "2001:db8::2".parse().unwrap()).frame(MAC);
        assert_eq!(run(&prog, &na), 0, "no IPv6 watched");
    }

    #[test]
    fn ipv6_passes_advertisements_and_probes_only() {
        let prog = claims(&[], true);
        let t = "2001:db8::2".parse().unwrap();
        assert_eq!(run(&prog, &Nd::unsolicited_na(MAC, t).frame(MAC)), SNAPLEN);
        assert_eq!(
            run(&prog, &Nd::dad_probe(t).frame(MAC)),
            SNAPLEN,
            "a duplicate-address probe, from ::"
        );
        let resolve = Nd {
            src: "2001:db8::7".parse().unwrap(),
            lladdr: Some(MAC),
            ..Nd::dad_probe(t)
        };
        assert_eq!(
            run(&prog, &resolve.frame(MAC)),
            0,
            "a solicitation from a real source"
        );
        for word in 0..4 {
            let mut src = [0u8; 16];
            src[4 * word + 3] = 1;
            let other = Nd {
                src: src.into(),
                ..Nd::dad_probe(t)
            };
            assert_eq!(run(&prog, &other.frame(MAC)), 0, "source word {word}");
        }
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
        assert_eq!(run(&prog, &Arp::probe(MAC, vip).frame()), SNAPLEN);
        let t = "2001:db8::2".parse().unwrap();
        assert_eq!(run(&prog, &Nd::dad_probe(t).frame(MAC)), SNAPLEN);
        let none = claims(&[], false);
        assert_eq!(run(&none, &Arp::request(MAC, vip, vip).frame()), 0);
        assert_eq!(run(&none, &Arp::probe(MAC, vip).frame()), 0);
        let v4_only = claims(&[vip], false);
        assert_eq!(run(&v4_only, &Nd::dad_probe(t).frame(MAC)), 0);
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
        for (i, insn) in prog.iter().enumerate() {
            if insn.code == JEQ_K {
                let far = usize::from(insn.jt.max(insn.jf));
                assert!(i + 1 + far < prog.len(), "jump out of the program at {i}");
                assert!(far < usize::from(u8::MAX), "a jump that may not fit at {i}");
            }
        }
        for addr in [at_limit[0], at_limit[MAX_V4 - 1]] {
            assert_eq!(run(&prog, &Arp::request(MAC, addr, addr).frame()), SNAPLEN);
            assert_eq!(run(&prog, &Arp::probe(MAC, addr).frame()), SNAPLEN);
            assert_eq!(run(&prog, &Arp::request(MAC, x, addr).frame()), 0);
        }
        assert_eq!(run(&prog, &Arp::probe(MAC, x).frame()), 0);
        let na = Nd::unsolicited_na(MAC, "2001:db8::2".parse().unwrap()).frame(MAC);
        assert_eq!(run(&prog, &na), SNAPLEN);
        assert_eq!(run(&prog, &Arp::request(MAC, x, x).frame()), 0);
    }
}
