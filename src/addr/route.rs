//! Host routes, over netlink: the classic `route add -host ADDR dev DEV` and its removal,
//! and the routes to exactly `ADDR/32` (`/128`) that compete with it, listed so that they can
//! be named, removed and put back exactly.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};

use super::kernel::{CAP, family};
use super::spec::max_prefix;
use crate::error::{Error, Result};
use crate::netlink::Socket;

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

#[cfg(test)]
impl HostRoute {
    /// A route as [`host_routes`] would list it, for tests of what is decided from it.
    pub(crate) fn listed(addr: IpAddr, oif: Option<u32>, gateway: Option<IpAddr>) -> HostRoute {
        HostRoute {
            addr,
            oif,
            gateway,
            kind: RouteType::Unicast,
            metric: default_metric(addr),
            msg: RouteMessage::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::{DOC_V6, ip as v4};

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
}
