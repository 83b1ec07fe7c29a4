//! The addresses as the kernel reports them ([`Entry`], one `ip -j addr` `addr_info` item) and
//! what they mean for a change: how one is shown, how it differs from a request, which
//! secondaries the kernel removes with a primary, what prefix a VIP given without one takes.
//! Pure: unit-tested without root.

use std::net::{IpAddr, Ipv4Addr};

use super::spec::{Vip, covers, max_prefix};

/// One address as the kernel reports it (`ip -j addr` `addr_info` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Interface index.
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    /// IPv4 label (`eth0`, `eth0:ha1`); None for IPv6.
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 secondary: another address of the same subnet is the primary.
    pub secondary: bool,
}

impl Entry {
    /// The entry as a [`Vip`] that [`add`](super::add) would put back exactly (prefix, label,
    /// broadcast); `dev` is the interface's name, the kernel's default label.
    pub fn as_vip(&self, dev: &str) -> Vip {
        Vip {
            addr: self.addr,
            prefix: self.prefix,
            label: self.label.clone().filter(|l| l != dev),
            broadcast: self.broadcast,
        }
    }

    /// The entry the way `ip addr` shows it: `198.51.100.2/24 dev eth0 brd 198.51.100.255
    /// label eth0:ha1` (no label when it is the default, `dev`).
    pub fn describe(&self, dev: &str) -> String {
        let mut s = format!("{}/{} dev {dev}", self.addr, self.prefix);
        if let Some(b) = self.broadcast {
            s.push_str(&format!(" brd {b}"));
        }
        if let Some(l) = self.label.as_ref().filter(|l| l.as_str() != dev) {
            s.push_str(&format!(" label {l}"));
        }
        s
    }

    /// Why the entry differs from what was asked for (`prefix /24 not /32, label eth0 not
    /// eth0:ha1`), or None when it matches. What was not asked for (None) matches anything.
    /// vip-bind calls a difference a conflict or a replacement, vip-unbind a conflict.
    pub fn mismatch(
        &self,
        prefix: Option<u8>,
        label: Option<&str>,
        broadcast: Option<Ipv4Addr>,
        dev: &str,
    ) -> Option<String> {
        let mut why = Vec::new();
        if let Some(p) = prefix.filter(|p| *p != self.prefix) {
            why.push(format!("prefix /{} not /{p}", self.prefix));
        }
        if let Some(l) = label {
            let have = self.label.as_deref().unwrap_or(dev);
            if have != l {
                why.push(format!("label {have} not {l}"));
            }
        }
        if let Some(b) = broadcast
            && self.broadcast != Some(b)
        {
            let have = self.broadcast.map_or("none".to_string(), |x| x.to_string());
            why.push(format!("broadcast {have} not {b}"));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// The addresses of `entries`, for a message: `198.51.100.2, 198.51.100.3`.
pub fn join_addrs(entries: &[Entry]) -> String {
    let v: Vec<String> = entries.iter().map(|x| x.addr.to_string()).collect();
    v.join(", ")
}

/// The addresses the kernel deletes together with `e`, like `ip addr del` of a primary does:
/// when `e` is a primary IPv4 address and `promotes` (its interface's promote_secondaries) is
/// off, every secondary of its subnet (same interface, same prefix length, same network), in
/// the kernel's order. None otherwise: with promote_secondaries on, one is promoted instead.
pub fn flushed_with(e: &Entry, entries: &[Entry], promotes: bool) -> Vec<Entry> {
    if !e.addr.is_ipv4() || e.secondary || promotes {
        return Vec::new();
    }
    entries
        .iter()
        .filter(|x| {
            x.index == e.index
                && x.secondary
                && x.prefix == e.prefix
                && covers(e.addr, e.prefix, x.addr)
        })
        .cloned()
        .collect()
}

/// The prefix length of a VIP given without one, like the classic `ifconfig` line without
/// `netmask` but from the interface instead of the address class: the prefix `addr` is bound
/// with on interface `index` (a missing prefix matches any, like a missing label), else that of
/// the interface's address that covers `addr`, else /32 (/128).
pub fn default_prefix(entries: &[Entry], index: u32, addr: IpAddr) -> u8 {
    let mine = || entries.iter().filter(|e| e.index == index);
    mine()
        .find(|e| e.addr == addr)
        .or_else(|| mine().find(|e| covers(e.addr, e.prefix, addr)))
        .map_or(max_prefix(addr), |e| e.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::{DOC_V6, ip as v4};

    fn entry(addr: &str, prefix: u8, secondary: bool) -> Entry {
        Entry {
            index: 2,
            addr: v4(addr),
            prefix,
            label: Some("eth0".into()),
            broadcast: None,
            secondary,
        }
    }

    #[test]
    fn a_primary_flushes_the_secondaries_of_its_own_subnet_only() {
        let primary = entry("198.51.100.4", 24, false);
        let entries = vec![
            primary.clone(),
            entry("198.51.100.2", 24, true),
            // Another subnet, and the same range with another prefix: not its secondaries.
            entry("203.0.113.1", 24, false),
            entry("203.0.113.2", 24, true),
            entry("198.51.100.130", 25, false),
            entry("198.51.100.131", 25, true),
            Entry {
                index: 3,
                ..entry("198.51.100.3", 24, true)
            },
        ];
        let flushed = flushed_with(&primary, &entries, false);
        assert_eq!(flushed, vec![entries[1].clone()]);
        assert!(
            flushed_with(&primary, &entries, true).is_empty(),
            "promoted"
        );
        assert!(
            flushed_with(&entries[1], &entries, false).is_empty(),
            "a secondary"
        );
        assert!(flushed_with(&entries[4], &entries, false) == vec![entries[5].clone()]);
    }

    #[test]
    fn an_entry_becomes_the_vip_that_puts_it_back() {
        let mut e = entry("198.51.100.2", 24, true);
        assert_eq!(
            e.as_vip("eth0").label,
            None,
            "the default label is no label"
        );
        e.label = Some("eth0:ha1".into());
        e.broadcast = Some("198.51.100.255".parse().unwrap());
        let vip = e.as_vip("eth0");
        assert_eq!(vip.label.as_deref(), Some("eth0:ha1"));
        assert_eq!(vip.broadcast, e.broadcast);
        assert_eq!(vip.cidr(), "198.51.100.2/24");
    }

    #[test]
    fn an_entry_is_described_and_compared_like_ip_addr_shows_it() {
        let mut e = entry("198.51.100.2", 24, true);
        assert_eq!(e.describe("eth0"), "198.51.100.2/24 dev eth0");
        assert_eq!(e.mismatch(None, None, None, "eth0"), None, "nothing asked");
        assert_eq!(e.mismatch(Some(24), Some("eth0"), None, "eth0"), None);
        e.label = Some("eth0:ha1".into());
        e.broadcast = Some("198.51.100.255".parse().unwrap());
        assert_eq!(
            e.describe("eth0"),
            "198.51.100.2/24 dev eth0 brd 198.51.100.255 label eth0:ha1"
        );
        assert_eq!(
            e.mismatch(
                Some(32),
                Some("eth0:ha2"),
                Some("198.51.100.127".parse().unwrap()),
                "eth0"
            )
            .as_deref(),
            Some(
                "prefix /24 not /32, label eth0:ha1 not eth0:ha2, \
                 broadcast 198.51.100.255 not 198.51.100.127"
            )
        );
        e.broadcast = None;
        let why = e.mismatch(None, None, Some("198.51.100.255".parse().unwrap()), "eth0");
        assert_eq!(why.as_deref(), Some("broadcast none not 198.51.100.255"));
        assert_eq!(
            join_addrs(&[e.clone(), entry("198.51.100.3", 24, true)]),
            "198.51.100.2, 198.51.100.3"
        );
    }

    #[test]
    fn a_missing_prefix_comes_from_the_bound_or_covering_address() {
        let entries = vec![
            entry("198.51.100.4", 24, false),
            entry("198.51.100.30", 32, true),
            Entry {
                index: 3,
                ..entry("203.0.113.1", 24, false)
            },
        ];
        let vip = |a: &str| default_prefix(&entries, 2, v4(a));
        assert_eq!(vip("198.51.100.30"), 32, "as bound");
        assert_eq!(vip("198.51.100.2"), 24, "covered by 198.51.100.4/24");
        assert_eq!(vip("203.0.113.7"), 32, "covered only on another interface");
        assert_eq!(default_prefix(&entries, 2, IpAddr::V6(DOC_V6)), 128);
    }
}
