//! What a VIP is, before any kernel is asked: the address, prefix, netmask and label grammar,
//! and the checks `ip addr add` would not make (network and broadcast addresses, `brd +`,
//! labels). Pure: everything here is unit-tested without root.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::{Error, Result};

/// How the broadcast address of an IPv4 VIP is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// None, like `ip addr add` without `brd`.
    None,
    /// `brd +`: the subnet's all-ones address.
    Computed,
    /// An explicit address inside the subnet.
    Explicit(Ipv4Addr),
}

/// A fully validated VIP: what `vip-bind` adds and `vip-bind --check` looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
    /// IPv4 label; None means the kernel's default (the interface name).
    pub label: Option<String>,
    /// The broadcast address to set, already resolved (`+` computed); IPv4 only.
    pub broadcast: Option<Ipv4Addr>,
}

impl Vip {
    /// `198.51.100.2/24`
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

/// The longest prefix for the address family: 32 or 128.
pub fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// Parse `ADDR` or `ADDR/PREFIX`. Rejects what can never be a VIP (unspecified, multicast,
/// loopback, limited broadcast, IPv4-mapped IPv6) with a usage error naming the value. The
/// prefix length is decimal digits without a sign or leading zeros (`/024` is refused, as a
/// typo is likelier than an intent).
pub fn parse_addr(text: &str) -> Result<(IpAddr, Option<u8>)> {
    let (a, p) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| Error::usage(format!("invalid address: {text:?}")))?;
    let prefix = match p {
        None => None,
        Some(p) => {
            let bad =
                |why: String| Error::usage(format!("invalid prefix length in {text:?}: {why}"));
            if p.len() > 1 && p.starts_with('0') {
                return Err(bad("leading zeros are not allowed".into()));
            }
            let n: u8 = Some(p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
                .filter(|n| *n >= 1 && *n <= max_prefix(addr))
                .ok_or_else(|| bad(format!("expected 1 to {}", max_prefix(addr))))?;
            Some(n)
        }
    };
    let unusable = match addr {
        IpAddr::V4(v4) => {
            v4.is_unspecified() || v4.is_multicast() || v4.is_loopback() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return Err(Error::usage(format!(
                    "not a usable VIP address: {v6} is an IPv4-mapped IPv6 address \
                     (bind {v4} instead)"
                )));
            }
            v6.is_unspecified() || v6.is_multicast() || v6.is_loopback()
        }
    };
    if unusable {
        return Err(Error::usage(format!("not a usable VIP address: {addr}")));
    }
    Ok((addr, prefix))
}

/// Turn a dotted netmask into a prefix length; non-contiguous masks (`255.0.255.0`) are refused.
pub fn netmask_prefix(text: &str) -> Result<u8> {
    let mask: Ipv4Addr = text
        .parse()
        .map_err(|_| Error::usage(format!("invalid netmask: {text:?}")))?;
    let bits = u32::from(mask);
    let prefix = bits.leading_ones();
    if bits.count_ones() != prefix || prefix == 0 {
        return Err(Error::usage(format!(
            "invalid netmask: {text} (not a contiguous mask)"
        )));
    }
    Ok(prefix as u8)
}

/// The mask of an IPv4 prefix length.
fn mask4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// Does the network `net/prefix` contain `addr`?
pub fn covers(net: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = mask4(prefix);
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

/// Check everything about a VIP that does not depend on the machine, and resolve `brd +`.
pub fn validate(
    addr: IpAddr,
    prefix: u8,
    label: Option<String>,
    broadcast: Broadcast,
) -> Result<Vip> {
    let broadcast = match (addr, broadcast) {
        (_, Broadcast::None) => None,
        (IpAddr::V6(_), _) => {
            return Err(Error::usage(format!(
                "IPv6 addresses have no broadcast address: {addr}"
            )));
        }
        // Like `ip addr add ... brd +`: /31 and /32 have no broadcast address.
        (IpAddr::V4(_), Broadcast::Computed) if prefix >= 31 => None,
        (IpAddr::V4(a), Broadcast::Computed) => Some(Ipv4Addr::from(u32::from(a) | !mask4(prefix))),
        (IpAddr::V4(a), Broadcast::Explicit(b)) => {
            if b == a {
                return Err(Error::usage(format!(
                    "broadcast {b} equals the address {a}/{prefix}"
                )));
            }
            if !covers(IpAddr::V4(a), prefix, IpAddr::V4(b)) {
                return Err(Error::usage(format!(
                    "broadcast {b} is outside the subnet of {a}/{prefix}"
                )));
            }
            Some(b)
        }
    };
    if let IpAddr::V4(a) = addr {
        let host = u32::from(a) & !mask4(prefix);
        if prefix <= 30 && (host == 0 || host == !mask4(prefix)) {
            let what = if host == 0 { "network" } else { "broadcast" };
            return Err(Error::usage(format!(
                "{a} is the {what} address of {a}/{prefix}, not a host address"
            )));
        }
    }
    // The subnet-router anycast address (host part all zero) belongs to every router of the
    // subnet; the kernel joins it itself below /127 (RFC 4291 2.6.1, RFC 6164 for /127).
    if let IpAddr::V6(a) = addr
        && prefix < 127
        && u128::from(a) & !u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0) == 0
    {
        return Err(Error::usage(format!(
            "{a} is the subnet-router anycast (network) address of {a}/{prefix}, not a host \
             address"
        )));
    }
    if label.is_some() && addr.is_ipv6() {
        return Err(Error::usage(format!(
            "IPv6 addresses have no labels: {addr}"
        )));
    }
    Ok(Vip {
        addr,
        prefix,
        label,
        broadcast,
    })
}

/// Check a label the kernel would accept silently but `ip`/`ifconfig` would not: it must be
/// `IFACE:SOMETHING`, at most 15 bytes, without white space.
pub fn check_label(iface: &str, label: &str) -> Result<()> {
    let suffix = label.strip_prefix(iface).and_then(|s| s.strip_prefix(':'));
    match suffix {
        None => Err(Error::usage(format!(
            "invalid label {label:?}: must start with \"{iface}:\""
        ))),
        Some("") => Err(Error::usage(format!(
            "invalid label {label:?}: empty after the colon"
        ))),
        Some(_) if label.len() > 15 => Err(Error::usage(format!(
            "invalid label {label:?}: longer than 15 characters"
        ))),
        Some(s)
            if s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/') =>
        {
            Err(Error::usage(format!(
                "invalid label {label:?}: bad character"
            )))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::{DOC_V6, ip as v4};

    #[test]
    fn netmasks_must_be_contiguous() {
        assert_eq!(netmask_prefix("255.255.255.0").unwrap(), 24);
        assert_eq!(netmask_prefix("255.255.255.255").unwrap(), 32);
        assert_eq!(netmask_prefix("255.255.128.0").unwrap(), 17);
        for bad in [
            "255.0.255.0",
            "0.0.0.0",
            "255.255.255.1",
            "255.255.255",
            "netmask",
        ] {
            let e = netmask_prefix(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn addresses_and_prefixes_are_checked() {
        assert_eq!(
            parse_addr("198.51.100.2").unwrap(),
            (v4("198.51.100.2"), None)
        );
        assert_eq!(
            parse_addr("198.51.100.2/24").unwrap(),
            (v4("198.51.100.2"), Some(24))
        );
        assert_eq!(parse_addr("2001:db8::2/64").unwrap().1, Some(64));
        for bad in [
            "198.51.100.256",
            "198.51.100",
            "198.51.100.2/33",
            "198.51.100.2/0",
            "198.51.100.2/x",
            "2001:db8::2/129",
            "0.0.0.0",
            "224.0.0.1",
            "127.0.0.1",
            "255.255.255.255",
            "::",
            "ff02::1",
            "",
        ] {
            assert_eq!(parse_addr(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn prefix_lengths_are_plain_decimal() {
        for bad in [
            "198.51.100.2/024",
            "198.51.100.2/+24",
            "198.51.100.2/",
            "2001:db8::2/064",
        ] {
            let e = parse_addr(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert!(
            parse_addr("198.51.100.2/024")
                .unwrap_err()
                .to_string()
                .contains("leading zeros")
        );
    }

    #[test]
    fn ipv4_mapped_and_subnet_router_anycast_are_not_vips() {
        let e = parse_addr("::ffff:198.51.100.9").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("::ffff:198.51.100.9"), "{e}");
        assert!(e.to_string().contains("IPv4-mapped"), "{e}");
        let net: IpAddr = "2001:db8::".parse().unwrap();
        let e = validate(net, 64, None, Broadcast::None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("2001:db8::/64"), "{e}");
        // /127 and /128 have no subnet-router anycast address (RFC 6164); hosts are fine.
        assert!(validate(net, 127, None, Broadcast::None).is_ok());
        assert!(validate(net, 128, None, Broadcast::None).is_ok());
        assert!(validate(IpAddr::V6(DOC_V6), 64, None, Broadcast::None).is_ok());
    }

    #[test]
    fn broadcast_equal_to_the_address_says_so() {
        let a = v4("198.51.100.2");
        let e = validate(
            a,
            24,
            None,
            Broadcast::Explicit("198.51.100.2".parse().unwrap()),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("equals the address"), "{e}");
    }

    #[test]
    fn broadcast_is_computed_or_checked() {
        let a = v4("198.51.100.2");
        let vip = validate(a, 24, None, Broadcast::Computed).unwrap();
        assert_eq!(vip.broadcast, Some("198.51.100.255".parse().unwrap()));
        assert_eq!(
            validate(a, 32, None, Broadcast::Computed)
                .unwrap()
                .broadcast,
            None
        );
        let ok = Broadcast::Explicit("198.51.100.255".parse().unwrap());
        assert!(validate(a, 24, None, ok).is_ok());
        let outside = Broadcast::Explicit("198.51.101.255".parse().unwrap());
        let e = validate(a, 24, None, outside).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("198.51.101.255"), "{e}");
        let v6 = Broadcast::Explicit("198.51.100.255".parse().unwrap());
        assert_eq!(
            validate(IpAddr::V6(DOC_V6), 64, None, v6)
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn network_and_broadcast_addresses_are_not_vips() {
        assert!(validate(v4("198.51.100.0"), 24, None, Broadcast::None).is_err());
        assert!(validate(v4("198.51.100.255"), 24, None, Broadcast::None).is_err());
        assert!(validate(v4("198.51.100.255"), 32, None, Broadcast::None).is_ok());
    }

    #[test]
    fn labels_follow_ifconfig_rules() {
        assert!(check_label("eth0", "eth0:1").is_ok());
        assert!(check_label("eth0", "eth0:ha1").is_ok());
        for bad in ["eth1:1", "eth0:", "eth0", "eth0:toolongname", "eth0:a b"] {
            assert_eq!(
                check_label("eth0", bad).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
        assert!(
            validate(
                IpAddr::V6(DOC_V6),
                64,
                Some("eth0:1".into()),
                Broadcast::None
            )
            .is_err()
        );
    }

    #[test]
    fn coverage_by_prefix() {
        assert!(covers(v4("198.51.100.4"), 24, v4("198.51.100.2")));
        assert!(!covers(v4("198.51.100.4"), 24, v4("198.51.101.2")));
        assert!(!covers(v4("198.51.100.4"), 24, IpAddr::V6(DOC_V6)));
        assert!(covers(
            "2001:db8::4".parse().unwrap(),
            64,
            IpAddr::V6(DOC_V6)
        ));
    }
}
