//! Interface lookup: index, MAC address, up/down, and the addresses an interface holds.
//!
//! Read with `getifaddrs(3)` and `if_nametoindex(3)`: no privilege needed, no netlink round trip.

use std::net::IpAddr;

use crate::error::{Error, Result};

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
    /// True when the interface holds `addr` (any prefix).
    pub fn holds(&self, addr: IpAddr) -> bool {
        self.addrs.iter().any(|(a, _)| *a == addr)
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

/// Everything about `name`, like `ip addr show dev NAME`.
pub fn lookup(name: &str) -> Result<Interface> {
    let index = index(name)?;
    let mut iface = Interface {
        name: name.to_string(),
        index,
        mac: None,
        up: false,
        running: false,
        noarp: false,
        addrs: Vec::new(),
    };
    let addrs = nix::ifaddrs::getifaddrs()
        .map_err(|e| Error::os(format!("list addresses of {name}"), e.into(), ""))?;
    for ifa in addrs.filter(|a| a.interface_name == name) {
        use nix::net::if_::InterfaceFlags as F;
        iface.up = ifa.flags.contains(F::IFF_UP);
        iface.running = ifa.flags.contains(F::IFF_RUNNING);
        iface.noarp = ifa.flags.contains(F::IFF_NOARP) || ifa.flags.contains(F::IFF_LOOPBACK);
        let Some(address) = ifa.address else { continue };
        if let Some(link) = address.as_link_addr() {
            if let Some(mac) = link.addr().filter(|m| *m != [0; 6]) {
                iface.mac = Some(mac);
            }
        } else if let Some(v4) = address.as_sockaddr_in() {
            let prefix = ifa
                .netmask
                .and_then(|m| {
                    m.as_sockaddr_in()
                        .map(|m| u32::from(m.ip()).count_ones() as u8)
                })
                .unwrap_or(32);
            iface.addrs.push((IpAddr::V4(v4.ip()), prefix));
        } else if let Some(v6) = address.as_sockaddr_in6() {
            let prefix = ifa
                .netmask
                .and_then(|m| {
                    m.as_sockaddr_in6()
                        .map(|m| u128::from(m.ip()).count_ones() as u8)
                })
                .unwrap_or(128);
            iface.addrs.push((IpAddr::V6(v6.ip()), prefix));
        }
    }
    Ok(iface)
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
        assert!(lo.holds("127.0.0.1".parse().unwrap()) || !lo.up);
    }

    #[test]
    fn missing_interface_is_a_failure() {
        assert_eq!(index("vipkit-nope0").unwrap_err().exit_code(), 1);
    }
}
