//! The addresses themselves, over netlink: list, add and remove, like `ip addr show`,
//! `ip addr add` and `ip addr del`; plus the two facts about interfaces a change depends on
//! (a name by index, promote_secondaries) and the errno meanings "already there" and "not
//! there".

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::entry::Entry;
use super::spec::Vip;
use crate::error::{Error, Result};
use crate::netlink::Socket;

/// The capability every change here needs.
pub const CAP: &str = "CAP_NET_ADMIN";

/// The netlink address family of `addr`.
pub(super) fn family(addr: IpAddr) -> AddressFamily {
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
            RouteNetlinkMessage::NewAddress(m) => entry_of(m),
            _ => None,
        })
        .collect())
}

/// The [`Entry`] an address message describes (a dump's reply, or an `RTM_NEWADDR` /
/// `RTM_DELADDR` notification, as `ip monitor address` prints them); None without an address.
pub fn entry_of(m: AddressMessage) -> Option<Entry> {
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

/// Put back addresses the kernel flushed with a primary (`ip addr add` of each, as it was); an
/// address already there again counts as put back. On failure, still tries the others, and
/// returns the first error.
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

/// The name of interface `index`, like `ip link show` prints it; `if7` when it has none (it
/// went away since its addresses were listed).
pub fn name_of(index: u32) -> String {
    nix::net::if_::if_indextoname(index)
        .ok()
        .and_then(|c| c.into_string().ok())
        .unwrap_or_else(|| format!("if{index}"))
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
