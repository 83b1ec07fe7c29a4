//! Interface lookup: index, MAC address, up/down, and the addresses an interface holds.
//!
//! Everything comes from rtnetlink, like `ip link show dev NAME` and `ip addr show dev NAME`:
//! one link request and one address dump ([`crate::addr::list_all`], the same reader vip-bind
//! uses). Never from `getifaddrs(3)`, which files a labelled IPv4 address under the label's
//! name (`eth0:ha1`) instead of its interface, so a VIP bound with a label would look foreign.

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

use crate::addr;
use crate::error::{Error, Result};
use crate::netlink::Socket;

/// What the tools need to know about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The name as given (`eth0`).
    pub name: String,
    /// The kernel's index (`ip link` number).
    pub index: u32,
    /// The hardware address, if the interface has an Ethernet-style one (loopback has none).
    pub mac: Option<[u8; 6]>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier present (`IFF_RUNNING`, "LOWER_UP").
    pub running: bool,
    /// The interface answers no ARP (`IFF_NOARP`).
    pub noarp: bool,
    /// The addresses it holds with their prefix lengths, IPv4 and IPv6.
    pub addrs: Vec<(IpAddr, u8)>,
}

impl Interface {
    /// True when the interface holds `addr` (any prefix, any label).
    pub fn holds(&self, addr: IpAddr) -> bool {
        self.addrs.iter().any(|(a, _)| *a == addr)
    }

    /// An Ethernet interface that is up, with carrier, holding `addrs`: what the unit tests of
    /// the planning code (garp's, arp's) plan against without a kernel.
    #[cfg(test)]
    pub(crate) fn ethernet(name: &str, index: u32, mac: [u8; 6], addrs: Vec<(IpAddr, u8)>) -> Self {
        Interface {
            name: name.to_string(),
            index,
            mac: Some(mac),
            up: true,
            running: true,
            noarp: false,
            addrs,
        }
    }
}

/// Check an interface name the way the kernel does (non-empty, < 16 bytes, no `/`, `:` or space).
pub fn check_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    if bad {
        return Err(Error::usage(format!("invalid interface name: {name:?}")));
    }
    Ok(())
}

/// The index of `name`, like `ip link show NAME`; exit 1 when no such interface exists.
pub fn index(name: &str) -> Result<u32> {
    check_name(name)?;
    nix::net::if_::if_nametoindex(name)
        .map_err(|_| Error::failed(format!("no such interface: {name}")))
}

/// Everything about `name`, like `ip addr show dev NAME`: the link by name (RTM_GETLINK), then
/// one dump of the addresses (RTM_GETADDR), kept for this interface whatever their labels.
pub fn lookup(name: &str) -> Result<Interface> {
    check_name(name)?;
    let mut sock = Socket::open().map_err(|e| Error::sys("open netlink socket", e))?;
    let mut req = LinkMessage::default();
    req.attributes.push(LinkAttribute::IfName(name.to_string()));
    let reply =
        sock.get(RouteNetlinkMessage::GetLink(req))
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENODEV) => Error::failed(format!("no such interface: {name}")),
                _ => Error::sys(format!("look up interface {name}"), e),
            })?;
    let RouteNetlinkMessage::NewLink(link) = reply else {
        return Err(Error::failed(format!(
            "look up interface {name}: unexpected netlink reply"
        )));
    };
    let mut iface = from_link(name, &link);
    iface.addrs = addr::list_all(&mut sock)?
        .into_iter()
        .filter(|e| e.index == iface.index)
        .map(|e| (e.addr, e.prefix))
        .collect();
    Ok(iface)
}

/// The link facts of an RTM_NEWLINK message; no addresses yet.
fn from_link(name: &str, link: &LinkMessage) -> Interface {
    let flags = link.header.flags;
    let mac = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice())
            .ok()
            .filter(|m| *m != [0; 6]),
        _ => None,
    });
    Interface {
        name: name.to_string(),
        index: link.header.index,
        mac,
        up: flags.contains(LinkFlags::Up),
        running: flags.contains(LinkFlags::Running),
        noarp: flags.contains(LinkFlags::Noarp) || flags.contains(LinkFlags::Loopback),
        addrs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked_like_the_kernel() {
        assert!(check_name("eth0").is_ok());
        assert!(check_name("a23456789012345").is_ok());
        for bad in ["", "a234567890123456", "eth0:1", "a/b", "a b", "."] {
            assert_eq!(check_name(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn loopback_has_no_mac_and_holds_127_0_0_1() {
        let lo = lookup("lo").unwrap();
        assert_eq!(lo.mac, None);
        assert!(lo.noarp);
        assert_eq!(lo.index, index("lo").unwrap());
        assert!(lo.holds("127.0.0.1".parse().unwrap()) || !lo.up);
    }

    #[test]
    fn missing_interface_is_a_failure() {
        assert_eq!(index("vipkit-nope0").unwrap_err().exit_code(), 1);
        let e = lookup("vipkit-nope0").unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "no such interface: vipkit-nope0");
    }
}
