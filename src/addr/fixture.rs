//! The kernel states and requests the planning tests start from (test only).

use std::net::{IpAddr, Ipv6Addr};

use super::{Bind, Broadcast, Entry, HostRoute, Link, Plan, State, Unbind, validate};

pub const VIP: &str = "198.51.100.2";

/// An IPv6 VIP from the documentation range.
pub const DOC_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An address on interface `index` (2 is eth0, 3 is eth1, 4 is v1).
pub fn entry(index: u32, addr: &str, prefix: u8, secondary: bool, label: &str) -> Entry {
    Entry {
        index,
        addr: ip(addr),
        prefix,
        label: (!label.is_empty()).then(|| label.to_string()),
        broadcast: None,
        secondary,
    }
}

pub fn link(index: u32, promotes: bool) -> Link {
    let name = match index {
        2 => "eth0",
        3 => "eth1",
        _ => "v1",
    };
    Link {
        index,
        name: name.into(),
        promotes,
    }
}

/// eth0 holds its own 198.51.100.4/24; `more` are added, and each interface is known.
pub fn state(more: &[Entry], routes: Option<Vec<HostRoute>>) -> State {
    let mut entries = vec![entry(2, "198.51.100.4", 24, false, "eth0")];
    entries.extend_from_slice(more);
    State {
        entries,
        routes,
        links: vec![link(2, false), link(3, false), link(4, false)],
    }
}

pub fn lines(plan: &Plan) -> String {
    plan.ip_commands().join("\n")
}

pub fn bind(addr: &str, prefix: u8, label: Option<&str>) -> Bind {
    Bind {
        index: 2,
        dev: "eth0".into(),
        vip: validate(ip(addr), prefix, label.map(String::from), Broadcast::None).unwrap(),
        host_route: false,
        force: false,
    }
}

pub fn unbind(index: u32, addr: &str) -> Unbind {
    Unbind {
        index,
        dev: link(index, false).name,
        addr: ip(addr),
        prefix: None,
        label: None,
        force: false,
    }
}
