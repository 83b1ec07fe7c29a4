//! `OWN_VIPS` and `PEER_VIPS`: space-separated `ADDR[/PREFIX][@LABEL]` words. Each word is
//! checked by the supervisor's rules (an address, a prefix in range, not the network or
//! broadcast address, a label of plain characters starting with the interface, listed once),
//! then by vip-bind's own parsers (`addr::check_label`, `addr::parse_addr`, `addr::validate`),
//! so that a VIP the configuration accepts is one vip-bind binds.

use std::net::IpAddr;

use super::rules::{Check, ip};
use super::types::{PrefixOf, VipSpec};
use crate::addr::{self, Broadcast};

/// The words of a list, split as the shell splits them (blanks, tabs).
fn words(list: &str) -> impl Iterator<Item = &str> {
    list.split([' ', '\t', '\n']).filter(|w| !w.is_empty())
}

/// The supervisor's own rules for `ADDR[/PREFIX]` (the messages operators know): the address
/// and the prefix as written.
fn vip_shape(a: &str) -> std::result::Result<(IpAddr, Option<u8>), String> {
    let (text, prefix) = match a.split_once('/') {
        Some((t, p)) => (t, Some(p)),
        None => (a, None),
    };
    let Some(ip) = ip(text) else {
        return Err(format!("'{text}' is not an IPv4 or IPv6 address"));
    };
    let max = addr::max_prefix(ip);
    let prefix = match prefix.filter(|p| !p.is_empty()) {
        None => return Ok((ip, None)),
        Some(p) => {
            let digits = p.bytes().all(|b| b.is_ascii_digit()) && !p.starts_with('0');
            let n = p
                .parse::<u8>()
                .ok()
                .filter(|n| digits && *n >= 1 && *n <= max);
            n.ok_or_else(|| format!("'{a}': the prefix must be 1 to {max}"))?
        }
    };
    if let IpAddr::V4(v4) = ip
        && prefix <= 30
    {
        let size = 1u32 << (32 - prefix);
        let host = u32::from(v4) % size;
        if host == 0 {
            return Err(format!("'{a}' is the network address of its /{prefix}"));
        }
        if host == size - 1 {
            return Err(format!("'{a}' is the broadcast address of its /{prefix}"));
        }
    }
    Ok((ip, Some(prefix)))
}

/// Check the list of `key`: every word's problems go to `check`; the words that
/// pass are returned. `iface` is IFACE when it is valid (the labels are checked against it, and
/// `prefix_of` asked for the prefix of a VIP written without one); `seen` holds the addresses
/// of the lists checked before, so that none is listed twice.
pub fn vips(
    check: &mut Check,
    key: &str,
    iface: Option<&str>,
    seen: &mut Vec<IpAddr>,
    prefix_of: PrefixOf,
) -> Vec<VipSpec> {
    let list = check.value(key);
    let written_iface = check.value("IFACE");
    let line = check.raw.line(key).unwrap_or(0);
    let mut out = Vec::new();
    for word in words(list) {
        let (a, label) = match word.split_once('@') {
            Some((a, l)) => (a, Some(l)),
            None => (word, None),
        };
        let (ip, prefix) = match vip_shape(a) {
            Ok(v) => v,
            Err(why) => {
                check.bad(key, why);
                continue;
            }
        };
        if let Some(l) = label {
            let plain = |c: char| c.is_ascii_alphanumeric() || "_.:-".contains(c);
            if l.is_empty() || !l.chars().all(plain) {
                check.bad(
                    key,
                    format!(
                        "'{word}': a label is @NAME or @{written_iface}:NAME (letters, digits \
                         and . _ - :)"
                    ),
                );
                continue;
            }
            if let Some((dev, _)) = l.split_once(':')
                && dev != written_iface
            {
                check.bad(
                    key,
                    format!("'{word}': the label must start with the interface, {written_iface}:"),
                );
                continue;
            }
        }
        if seen.contains(&ip) {
            let text = a.split_once('/').map_or(a, |(t, _)| t);
            check.bad(
                key,
                format!("'{text}' is listed twice (in OWN_VIPS or PEER_VIPS)"),
            );
            continue;
        }
        seen.push(ip);
        // vip-bind's parsers have the final word, as for `vip-bind IFACE[:LABEL] ADDR`.
        let label = label.map(|l| {
            if l.contains(':') {
                l.to_string()
            } else {
                format!("{written_iface}:{l}")
            }
        });
        let tool = |e: crate::Error| format!("'{word}': vip-bind: {e}");
        if let (Some(dev), Some(l)) = (iface, &label)
            && let Err(e) = addr::check_label(dev, l)
        {
            check.bad(key, tool(e));
            continue;
        }
        if let Err(e) = addr::parse_addr(a) {
            check.bad(key, tool(e));
            continue;
        }
        // Without a prefix, the one vip-bind would bind it with now; without a kernel to ask,
        // the longest, which still checks the label.
        let bound = prefix
            .or_else(|| iface.and_then(|dev| prefix_of(dev, ip)))
            .unwrap_or(addr::max_prefix(ip));
        if let Err(e) = addr::validate(ip, bound, label.clone(), Broadcast::None) {
            check.bad(key, tool(e));
            continue;
        }
        out.push(VipSpec {
            addr: ip,
            prefix,
            label,
            line,
        });
    }
    out
}

/// The prefix vip-bind gives `addr` on interface `index` when none is written: the one it is
/// bound with there, else that of the interface's address covering it, else /32 (/128).
pub fn default_prefix(entries: &[addr::Entry], index: u32, addr: IpAddr) -> u8 {
    let mine = || entries.iter().filter(|e| e.index == index);
    mine()
        .find(|e| e.addr == addr)
        .or_else(|| mine().find(|e| addr::covers(e.addr, e.prefix, addr)))
        .map_or(addr::max_prefix(addr), |e| e.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisors_shape_rules() {
        let ok = |a: &str| vip_shape(a).unwrap();
        assert_eq!(ok("198.51.100.2/24").1, Some(24));
        assert_eq!(ok("198.51.100.2").1, None);
        // An empty prefix is left to vip-bind's parser, which refuses it.
        assert_eq!(ok("198.51.100.2/").1, None);
        assert_eq!(ok("198.51.100.0/31").1, Some(31));
        assert_eq!(ok("2001:db8::2/64").1, Some(64));
        for (bad, why) in [
            (
                "198.51.100.300/24",
                "'198.51.100.300' is not an IPv4 or IPv6 address",
            ),
            ("eth0", "'eth0' is not an IPv4"),
            (
                "198.51.100.2/33",
                "'198.51.100.2/33': the prefix must be 1 to 32",
            ),
            ("198.51.100.2/0", "must be 1 to 32"),
            ("198.51.100.2/024", "must be 1 to 32"),
            ("198.51.100.2/+24", "must be 1 to 32"),
            ("2001:db8::2/129", "must be 1 to 128"),
            (
                "198.51.100.0/24",
                "'198.51.100.0/24' is the network address of its /24",
            ),
            ("198.51.100.255/24", "is the broadcast address of its /24"),
            ("198.51.100.3/30", "is the broadcast address of its /30"),
        ] {
            let e = vip_shape(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    fn entry(index: u32, a: &str, prefix: u8) -> addr::Entry {
        addr::Entry {
            index,
            addr: a.parse().unwrap(),
            prefix,
            label: None,
            broadcast: None,
            secondary: false,
        }
    }

    #[test]
    fn a_missing_prefix_is_vip_bind_s() {
        let entries = [
            entry(2, "198.51.100.4", 24),
            entry(2, "198.51.100.30", 32),
            entry(3, "203.0.113.1", 24),
        ];
        let p = |a: &str| default_prefix(&entries, 2, a.parse().unwrap());
        assert_eq!(p("198.51.100.30"), 32);
        assert_eq!(p("198.51.100.2"), 24);
        assert_eq!(p("203.0.113.7"), 32);
        assert_eq!(p("2001:db8::2"), 128);
    }
}
