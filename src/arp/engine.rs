//! The send plan and its execution: what garp decided to send (a [`Plan`]), sent on arping's
//! schedule (`-c`, `-i`, `-w`) through a [`PacketSocket`], listening for an answer when the plan
//! is a duplicate-address probe. [`probe`] is `arping -D` in one call, for `vip-bind --dad`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::frame::{ETH_P_ARP, ETH_P_IPV6, Mac, Packet, answer_from, mac_to_string};
use super::socket::PacketSocket;
use crate::error::{Error, Result};
use crate::iface::Interface;

/// Everything decided before the first packet: what to send, how often, what to wait for
/// (the arping options `-c`, `-i`, `-w`, `-D`).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub iface: String,
    pub ifindex: u32,
    pub mac: Mac,
    /// Sent back to back in each round.
    pub packets: Vec<Packet>,
    pub count: u32,
    pub interval: Duration,
    /// No packet is sent at or after this offset from the start (the first always is).
    pub deadline: Option<Duration>,
    /// `-D`: the address whose owner we are listening for.
    pub probe: Option<IpAddr>,
}

impl Plan {
    /// The duplicate-address probe of `target` on `iface`, like `arping -D -w WAIT -I IFACE
    /// TARGET`: one probe ([`Packet::probe`]), then listen until `wait` has passed since it
    /// went out. The one constructor behind `garp -D` (which may raise `count` and `interval`,
    /// as arping's `-c`/`-i`) and [`probe`]. Fails (exit 1) where [`ethernet_mac`] does.
    pub fn dad(iface: &Interface, target: IpAddr, wait: Duration) -> Result<Plan> {
        let mac = ethernet_mac(iface)?;
        Ok(Plan {
            iface: iface.name.clone(),
            ifindex: iface.index,
            mac,
            packets: vec![Packet::probe(mac, target)],
            count: 1,
            interval: Duration::ZERO,
            deadline: Some(wait),
            probe: Some(target),
        })
    }
}

/// The Ethernet address of an interface that can carry ARP and neighbour discovery: up, with
/// carrier, not NOARP, not loopback; otherwise a failure (exit 1) saying why.
pub fn ethernet_mac(iface: &Interface) -> Result<Mac> {
    let name = &iface.name;
    if !iface.up {
        return Err(Error::failed(format!(
            "{name} is down (ip link set {name} up)"
        )));
    }
    let Some(mac) = iface.mac else {
        return Err(Error::failed(format!(
            "{name} has no Ethernet address (loopback or point-to-point): nothing to announce"
        )));
    };
    if iface.noarp {
        return Err(Error::failed(format!(
            "{name} does not use ARP or neighbour discovery (NOARP)"
        )));
    }
    if !iface.running {
        return Err(Error::failed(format!(
            "{name} has no carrier: frames would be dropped"
        )));
    }
    Ok(mac)
}

/// Send the plan's rounds on schedule; with a probe, listen between and after them.
/// Returns the answering MAC of a probe, if any.
///
/// `report` receives one line per packet sent and, for a probe, the verdict (garp `-v`).
pub fn execute(plan: &Plan, report: &mut dyn FnMut(&str)) -> Result<Option<Mac>> {
    let iface = &plan.iface;
    let sock = PacketSocket::open(plan.ifindex)
        .map_err(|e| Error::os(format!("open a packet socket on {iface}"), e, "CAP_NET_RAW"))?;
    if let Some(target) = plan.probe {
        let ethertype = match target {
            IpAddr::V4(_) => ETH_P_ARP,
            IpAddr::V6(_) => ETH_P_IPV6,
        };
        sock.listen(ethertype)
            .map_err(|e| Error::os(format!("listen on {iface}"), e, "CAP_NET_RAW"))?;
    }
    let frames: Vec<Vec<u8>> = plan.packets.iter().map(|p| p.frame(plan.mac)).collect();
    let start = Instant::now();
    let deadline = plan.deadline.and_then(|d| start.checked_add(d));
    let mut buf = [0u8; 2048];
    let mut answer = None;

    for round in 0..plan.count {
        let Some(at) = plan
            .interval
            .checked_mul(round)
            .and_then(|offset| start.checked_add(offset))
        else {
            break;
        };
        if round > 0 && deadline.is_some_and(|d| at >= d) {
            break;
        }
        match plan.probe {
            Some(target) => {
                answer = listen(&sock, &mut buf, at, target, plan.mac, iface)?;
                if answer.is_some() {
                    break;
                }
            }
            None => std::thread::sleep(until(at)),
        }
        for (packet, frame) in plan.packets.iter().zip(&frames) {
            sock.send(frame)
                .map_err(|e| Error::os(format!("send on {iface}"), e, "CAP_NET_RAW"))?;
            report(&format!(
                "{iface} {}: sent {packet} ({}/{} at +{:.3}s)",
                mac_to_string(&plan.mac),
                round + 1,
                plan.count,
                start.elapsed().as_secs_f64()
            ));
        }
    }
    if let (Some(target), Some(deadline), None) = (plan.probe, deadline, answer) {
        answer = listen(&sock, &mut buf, deadline, target, plan.mac, iface)?;
    }
    if let Some(target) = plan.probe {
        report(&match answer {
            Some(mac) => format!(
                "{iface}: {target} answered from {} after {:.3}s",
                mac_to_string(&mac),
                start.elapsed().as_secs_f64()
            ),
            None => format!(
                "{iface}: no answer for {target} within {}s: free",
                crate::secs::show(plan.deadline.unwrap_or_default())
            ),
        });
    }
    // A plain close: it waits for the kernel's synchronize_net (~14 ms), but leaves no process
    // behind, where a helper would stay a zombie under an init that does not reap.
    drop(sock);
    Ok(answer)
}

/// Duplicate-address probe, like `arping -D -w WAIT -I DEV TARGET`: one RFC 5227 probe (IPv6:
/// an NS from `::`), then listen until `wait` has passed. The MAC of the first host that answers
/// for `target`, or `None` when the address is free: [`Plan::dad`] and [`execute`] in one call,
/// for `vip-bind --dad` (`garp -D` executes the same plan with its own `-c` and `-i`).
pub fn probe(dev: &str, target: IpAddr, wait: Duration) -> Result<Option<Mac>> {
    let plan = Plan::dad(&crate::iface::lookup(dev)?, target, wait)?;
    execute(&plan, &mut |_| {})
}

/// The conflict (exit 4) of a probe that `mac` answered: `duplicate address: TARGET is in use
/// by MAC on IFACE`, the one wording of `garp -D` and `vip-bind --dad`.
pub fn duplicate(target: IpAddr, mac: Mac, iface: &str) -> Error {
    Error::conflict(format!(
        "duplicate address: {target} is in use by {} on {iface}",
        mac_to_string(&mac)
    ))
}

/// Read frames until `until`, returning the first answer for `target`.
fn listen(
    sock: &PacketSocket,
    buf: &mut [u8],
    until: Instant,
    target: IpAddr,
    ours: Mac,
    iface: &str,
) -> Result<Option<Mac>> {
    while let Some((n, kind)) = sock
        .recv_until(buf, until)
        .map_err(|e| Error::os(format!("receive on {iface}"), e, "CAP_NET_RAW"))?
    {
        if let Some(mac) = answer_from(&buf[..n], kind, target, ours) {
            return Ok(Some(mac));
        }
    }
    Ok(None)
}

/// The time left until `deadline`, zero when past.
pub fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::{Arp, Nd};

    const MAC: Mac = [0x02, 0, 0, 0, 0, 5];

    fn eth0() -> Interface {
        Interface::ethernet("eth0", 7, MAC, Vec::new())
    }

    #[test]
    fn a_dad_plan_is_one_probe_then_the_wait() {
        let t = "198.51.100.3".parse().unwrap();
        let p = Plan::dad(&eth0(), IpAddr::V4(t), Duration::from_millis(50)).unwrap();
        assert_eq!(p.packets, vec![Packet::Arp(Arp::probe(MAC, t))]);
        assert_eq!((p.iface.as_str(), p.ifindex, p.mac), ("eth0", 7, MAC));
        assert_eq!((p.count, p.interval), (1, Duration::ZERO));
        assert_eq!(p.deadline, Some(Duration::from_millis(50)));
        assert_eq!(p.probe, Some(IpAddr::V4(t)));
        let t6 = "2001:db8::3".parse().unwrap();
        let p = Plan::dad(&eth0(), IpAddr::V6(t6), Duration::from_secs(1)).unwrap();
        assert_eq!(p.packets, vec![Packet::Nd(Nd::dad_probe(t6))]);
    }

    #[test]
    fn a_duplicate_is_a_conflict_naming_the_mac() {
        let e = duplicate("198.51.100.2".parse().unwrap(), MAC, "eth0");
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            "duplicate address: 198.51.100.2 is in use by 02:00:00:00:00:05 on eth0"
        );
    }

    #[test]
    fn a_dad_plan_needs_an_ethernet_interface() {
        let mut down = eth0();
        down.up = false;
        let e = Plan::dad(&down, "198.51.100.3".parse().unwrap(), Duration::ZERO).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("eth0 is down"), "{e}");
    }
}
