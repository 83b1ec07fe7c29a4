//! VIP addresses and host routes: the `ip addr` / `ip route` operations vipkit needs, over one
//! netlink socket, plus the pure parsing and validation of what the user asked for.
//!
//! Kernel facts this module relies on: adding an address twice answers EEXIST, deleting an
//! absent one EADDRNOTAVAIL, deleting an absent route ESRCH; address labels are not checked by
//! the kernel; deleting a primary IPv4 address with `promote_secondaries=0` flushes its
//! secondaries; IPv6 VIPs must be added with `IFA_F_NODAD` to be usable at once.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::{Error, Result};
use crate::netlink::Socket;

/// The capability every change here needs.
pub const CAP: &str = "CAP_NET_ADMIN";

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

impl Entry {
    /// The entry as a [`Vip`] that [`add`] would put back exactly (prefix, label, broadcast);
    /// `dev` is the interface's name, the kernel's default label.
    pub fn as_vip(&self, dev: &str) -> Vip {
        Vip {
            addr: self.addr,
            prefix: self.prefix,
            label: self.label.clone().filter(|l| l != dev),
            broadcast: self.broadcast,
        }
    }
}

impl Vip {
    /// `198.51.100.2/24`
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

/// Why an existing entry differs from what was asked for, or None when it matches. What was
/// not asked for (None) matches anything; `dev` is the interface's name, the kernel's default
/// label. The one rule for "bound as described": vip-bind (conflict, present, `--check`),
/// vip-unbind (conflict or remove) and vip-watch (held or not).
pub fn mismatch(
    e: &Entry,
    prefix: Option<u8>,
    label: Option<&str>,
    broadcast: Option<Ipv4Addr>,
    dev: &str,
) -> Option<String> {
    let mut why = Vec::new();
    if let Some(p) = prefix.filter(|p| *p != e.prefix) {
        why.push(format!("prefix /{} not /{p}", e.prefix));
    }
    if let Some(l) = label {
        let have = e.label.as_deref().unwrap_or(dev);
        if have != l {
            why.push(format!("label {have} not {l}"));
        }
    }
    if let Some(b) = broadcast
        && e.broadcast != Some(b)
    {
        let have = e.broadcast.map_or("none".to_string(), |x| x.to_string());
        why.push(format!("broadcast {have} not {b}"));
    }
    (!why.is_empty()).then(|| why.join(", "))
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

fn family(addr: IpAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// Every address of one family on the machine, like `ip -4 addr show` / `ip -6 addr show`.
pub fn list(sock: &mut Socket, ipv6: bool) -> Result<Vec<Entry>> {
    dump(
        sock,
        if ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        },
    )
}

/// Every address on the machine, IPv4 and IPv6, in one dump, like `ip addr show`.
///
/// This (with [`list`]) is vipkit's one reader of which addresses an interface holds: a
/// labelled IPv4 address (`eth0:ha1`) is filed under its interface's index here, whereas
/// `getifaddrs(3)` files it under the label's name.
pub fn list_all(sock: &mut Socket) -> Result<Vec<Entry>> {
    dump(sock, AddressFamily::Unspec)
}

fn dump(sock: &mut Socket, family: AddressFamily) -> Result<Vec<Entry>> {
    let mut req = AddressMessage::default();
    req.header.family = family;
    let replies = sock
        .dump(RouteNetlinkMessage::GetAddress(req))
        .map_err(|e| Error::sys("list addresses", e))?;
    Ok(replies
        .into_iter()
        .filter_map(|msg| match msg {
            RouteNetlinkMessage::NewAddress(m) => entry(m),
            _ => None,
        })
        .collect())
}

/// The [`Entry`] an address message describes (a dump's reply, or an `RTM_NEWADDR` /
/// `RTM_DELADDR` notification, as `ip monitor address` prints them); None without an address.
pub fn entry(m: AddressMessage) -> Option<Entry> {
    let mut entry = Entry {
        index: m.header.index,
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix: m.header.prefix_len,
        label: None,
        broadcast: None,
        secondary: m.header.flags.contains(AddressHeaderFlags::Secondary),
    };
    let mut local = None;
    let mut address = None;
    for attr in m.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            AddressAttribute::Label(l) => entry.label = Some(l),
            AddressAttribute::Broadcast(b) => entry.broadcast = Some(b),
            AddressAttribute::Flags(f) => {
                entry.secondary |= f.contains(AddressFlags::Secondary);
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
    entry.addr = local.or(address)?;
    Some(entry)
}

/// Add `vip` to interface `index` (named `dev`), like
/// `ip addr add ADDR/PREFIX [brd B] dev DEV [label L] [nodad]`.
/// Fails with EEXIST (mapped by the caller) when it is already there.
pub fn add(sock: &mut Socket, index: u32, dev: &str, vip: &Vip) -> Result<()> {
    let mut m = AddressMessage::default();
    m.header.family = family(vip.addr);
    m.header.prefix_len = vip.prefix;
    m.header.scope = AddressScope::Universe;
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(vip.addr));
    m.attributes.push(AddressAttribute::Address(vip.addr));
    if vip.addr.is_ipv4() {
        let label = vip.label.clone().unwrap_or_else(|| dev.to_string());
        m.attributes.push(AddressAttribute::Label(label));
    } else {
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    if let Some(b) = vip.broadcast {
        m.attributes.push(AddressAttribute::Broadcast(b));
    }
    sock.request(
        RouteNetlinkMessage::NewAddress(m),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map_err(|e| Error::os(format!("add {} to {dev}", vip.cidr()), e, CAP))
}

/// Remove `addr/prefix` from interface `index`, like `ip addr del ADDR/PREFIX dev DEV`.
pub fn del(sock: &mut Socket, index: u32, dev: &str, addr: IpAddr, prefix: u8) -> Result<()> {
    let mut m = AddressMessage::default();
    m.header.family = family(addr);
    m.header.prefix_len = prefix;
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(addr));
    if addr.is_ipv6() {
        m.attributes.push(AddressAttribute::Address(addr));
    }
    sock.request(RouteNetlinkMessage::DelAddress(m), 0)
        .map_err(|e| Error::os(format!("remove {addr}/{prefix} from {dev}"), e, CAP))
}

fn host_route_msg(index: u32, addr: IpAddr) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(addr);
    m.header.destination_prefix_length = max_prefix(addr);
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Boot;
    m.header.scope = RouteScope::Link;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(addr)));
    m.attributes.push(RouteAttribute::Oif(index));
    m
}

/// Add the classic `route add -host ADDR dev DEV`, i.e. `ip route add ADDR/32 dev DEV`.
pub fn add_host_route(sock: &mut Socket, index: u32, dev: &str, addr: IpAddr) -> Result<()> {
    sock.request(
        RouteNetlinkMessage::NewRoute(host_route_msg(index, addr)),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map_err(|e| {
        Error::os(
            format!("add host route {addr}/{} dev {dev}", max_prefix(addr)),
            e,
            CAP,
        )
    })
}

/// Remove the host route, like `ip route del ADDR/32 dev DEV`.
pub fn del_host_route(sock: &mut Socket, index: u32, dev: &str, addr: IpAddr) -> Result<()> {
    let mut m = host_route_msg(index, addr);
    // Match any protocol and scope, as `ip route del` does.
    m.header.protocol = RouteProtocol::Unspec;
    m.header.scope = RouteScope::NoWhere;
    sock.request(RouteNetlinkMessage::DelRoute(m), 0)
        .map_err(|e| {
            Error::os(
                format!("remove host route {addr}/{} dev {dev}", max_prefix(addr)),
                e,
                CAP,
            )
        })
}

/// One route to exactly `ADDR/32` (`/128`) in the main table, as
/// `ip route show table main ADDR/32` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRoute {
    pub addr: IpAddr,
    /// The outgoing interface; None for multipath or device-less routes (blackhole).
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
    pub kind: RouteType,
    /// The metric (`ip route ... metric N`) as the kernel stored it.
    pub metric: u32,
    /// The route as dumped, to put it back exactly.
    msg: RouteMessage,
}

impl HostRoute {
    /// The route `route add -host ADDR dev DEV` makes: unicast, out of `index`, no gateway.
    pub fn is_plain_on(&self, index: u32) -> bool {
        self.kind == RouteType::Unicast && self.oif == Some(index) && self.gateway.is_none()
    }

    /// Does it share the metric of the route [`add_host_route`] adds (0 for IPv4; 1024 for
    /// IPv6, which the kernel uses for a route added without one)? Then the two compete: the
    /// kernel refuses ours as a duplicate (EEXIST), or keeps whichever came first.
    pub fn competes(&self) -> bool {
        self.metric == default_metric(self.addr)
    }

    /// `198.51.100.2/32 dev eth1`, `198.51.100.2/32 via 198.51.100.9 dev eth1 metric 100`,
    /// `blackhole 198.51.100.2/32`, with interface names from `name_of`.
    pub fn describe(&self, name_of: impl Fn(u32) -> String) -> String {
        let mut s = match self.kind {
            RouteType::Unicast => String::new(),
            RouteType::BlackHole => "blackhole ".into(),
            RouteType::Unreachable => "unreachable ".into(),
            RouteType::Prohibit => "prohibit ".into(),
            other => format!("{other:?} ").to_lowercase(),
        };
        s.push_str(&format!("{}/{}", self.addr, max_prefix(self.addr)));
        if let Some(g) = self.gateway {
            s.push_str(&format!(" via {g}"));
        }
        if let Some(i) = self.oif {
            s.push_str(&format!(" dev {}", name_of(i)));
        }
        if !self.competes() {
            s.push_str(&format!(" metric {}", self.metric));
        }
        s
    }
}

/// The metric the kernel gives a route added without one: 0 for IPv4, 1024 for IPv6.
fn default_metric(addr: IpAddr) -> u32 {
    if addr.is_ipv4() { 0 } else { 1024 }
}

/// Every route to exactly `ADDR/32` (`/128`) in the main table, any device, like
/// `ip route show table main exact ADDR/32`.
pub fn host_routes(sock: &mut Socket, addr: IpAddr) -> Result<Vec<HostRoute>> {
    let mut req = RouteMessage::default();
    req.header.address_family = family(addr);
    let replies = sock
        .dump(RouteNetlinkMessage::GetRoute(req))
        .map_err(|e| Error::sys("list routes", e))?;
    let want = RouteAddress::from(addr);
    let mut out = Vec::new();
    for msg in replies {
        let RouteNetlinkMessage::NewRoute(m) = msg else {
            continue;
        };
        let table = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(m.header.table));
        if table != u32::from(RouteHeader::RT_TABLE_MAIN)
            || m.header.destination_prefix_length != max_prefix(addr)
            || !m
                .attributes
                .contains(&RouteAttribute::Destination(want.clone()))
        {
            continue;
        }
        let mut r = HostRoute {
            addr,
            oif: None,
            gateway: None,
            kind: m.header.kind,
            metric: 0,
            msg: m.clone(),
        };
        for a in &m.attributes {
            match a {
                RouteAttribute::Oif(i) => r.oif = Some(*i),
                RouteAttribute::Priority(p) => r.metric = *p,
                RouteAttribute::Gateway(RouteAddress::Inet(g)) => r.gateway = Some((*g).into()),
                RouteAttribute::Gateway(RouteAddress::Inet6(g)) => r.gateway = Some((*g).into()),
                _ => {}
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Is there a host route `ADDR/32 dev DEV` in the main table (`ip route show ADDR/32 dev DEV`)?
pub fn has_host_route(sock: &mut Socket, index: u32, addr: IpAddr) -> Result<bool> {
    Ok(host_routes(sock, addr)?
        .iter()
        .any(|r| r.is_plain_on(index)))
}

/// Remove exactly this route, like `ip route del` with all it was listed with.
pub fn del_route(sock: &mut Socket, r: &HostRoute, what: &str) -> Result<()> {
    let mut m = RouteMessage::default();
    m.header = r.msg.header.clone();
    m.header.protocol = RouteProtocol::Unspec;
    m.header.scope = RouteScope::NoWhere;
    m.attributes = r
        .msg
        .attributes
        .iter()
        .filter(|a| {
            matches!(
                a,
                RouteAttribute::Destination(_)
                    | RouteAttribute::Oif(_)
                    | RouteAttribute::Gateway(_)
                    | RouteAttribute::Priority(_)
                    | RouteAttribute::Table(_)
            )
        })
        .cloned()
        .collect();
    sock.request(RouteNetlinkMessage::DelRoute(m), 0)
        .map_err(|e| Error::os(format!("remove route {what}"), e, CAP))
}

/// Put a route removed by [`del_route`] back as it was listed.
pub fn readd_route(sock: &mut Socket, r: &HostRoute) -> Result<()> {
    let mut m = r.msg.clone();
    m.attributes
        .retain(|a| !matches!(a, RouteAttribute::CacheInfo(_) | RouteAttribute::Expires(_)));
    sock.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)
        .map_err(|e| Error::os("restore route", e, CAP))
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

/// Remove `e` from interface `index` (named `dev`) and nothing else: like `ip addr del`, then
/// `ip addr add` of each address in `flushed` (what [`flushed_with`] said the kernel takes
/// with it), as it was. An `e` already gone is success (and nothing is put back: whoever
/// removed it decided). When putting one back fails, the rest and `e` are put back as far as
/// possible and the error is returned.
pub fn del_alone(
    sock: &mut Socket,
    index: u32,
    dev: &str,
    e: &Entry,
    flushed: &[Entry],
) -> Result<()> {
    match del(sock, index, dev, e.addr, e.prefix) {
        Err(err) if is_absent(&err) => return Ok(()),
        other => other?,
    }
    readd(sock, index, dev, flushed).inspect_err(|_| {
        let _ = add(sock, index, dev, &e.as_vip(dev));
    })
}

/// Put back addresses the kernel flushed (see [`del_alone`]); an address already there again
/// counts as put back. On failure, still tries the others, and returns the first error.
pub fn readd(sock: &mut Socket, index: u32, dev: &str, entries: &[Entry]) -> Result<()> {
    let mut first = None;
    for x in entries {
        match add(sock, index, dev, &x.as_vip(dev)) {
            Err(err) if !is_exists(&err) => {
                first.get_or_insert(err);
            }
            _ => {}
        }
    }
    first.map_or(Ok(()), Err)
}

/// Is `promote_secondaries` on for `dev` (then deleting a primary promotes instead of flushing)?
pub fn promotes_secondaries(dev: &str) -> bool {
    let read = |name: &str| {
        std::fs::read_to_string(format!(
            "/proc/sys/net/ipv4/conf/{name}/promote_secondaries"
        ))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
    };
    read(dev) || read("all")
}

/// True when an errno means "already there" for an add.
pub fn is_exists(e: &Error) -> bool {
    e.errno() == Some(libc::EEXIST)
}

/// True when an errno means "not there" for a delete.
pub fn is_absent(e: &Error) -> bool {
    matches!(
        e.errno(),
        Some(libc::EADDRNOTAVAIL) | Some(libc::ESRCH) | Some(libc::ENOENT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const DOC_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

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
    fn host_routes_compete_at_the_default_metric() {
        let r = HostRoute {
            addr: v4("198.51.100.2"),
            oif: Some(3),
            gateway: None,
            kind: RouteType::Unicast,
            metric: 0,
            msg: RouteMessage::default(),
        };
        let name = |i: u32| format!("eth{i}");
        assert!(r.competes() && r.is_plain_on(3) && !r.is_plain_on(2));
        assert_eq!(r.describe(name), "198.51.100.2/32 dev eth3");
        let far = HostRoute {
            metric: 100,
            gateway: Some(v4("198.51.100.9")),
            ..r.clone()
        };
        assert!(!far.competes() && !far.is_plain_on(3));
        assert_eq!(
            far.describe(name),
            "198.51.100.2/32 via 198.51.100.9 dev eth3 metric 100"
        );
        let hole = HostRoute {
            kind: RouteType::BlackHole,
            oif: None,
            ..r.clone()
        };
        assert_eq!(hole.describe(name), "blackhole 198.51.100.2/32");
        let v6 = HostRoute {
            addr: IpAddr::V6(DOC_V6),
            metric: 1024,
            ..r
        };
        assert!(v6.competes());
        assert_eq!(v6.describe(name), "2001:db8::2/128 dev eth3");
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
