//! The kernel's view of IFACE for the watcher: its link and which addresses it holds, over one
//! NETLINK_ROUTE socket subscribed to link and address notifications (`ip monitor link
//! address`), so that a VIP removed by hand or a lost carrier is seen when it happens, not at
//! the next round.
//!
//! The state is one dump (links, then addresses) and every notification since, applied in
//! order. Notifications that arrive during a dump are kept and applied after it (each one says
//! what is true after it, so applying one the dump already reflects changes nothing). When the
//! kernel drops notifications (`ENOBUFS`, the socket's buffer overflowed), the view is dumped
//! again.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};

use crate::addr::{self, Entry};
use crate::arp::Mac;
use crate::error::{Error, Result};
use crate::netlink::Socket;
use crate::watch::config::VipSpec;

/// The rtnetlink groups followed: links, IPv4 and IPv6 addresses.
const GROUPS: [u32; 3] = [
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
];

/// IFACE's link as the kernel last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub mac: Option<Mac>,
    /// `IFF_UP`: `ip link set IFACE up`.
    pub admin_up: bool,
    /// `IFLA_OPERSTATE` as /sys/class/net/IFACE/operstate spells it.
    pub operstate: String,
    /// `IFF_LOWER_UP`: carrier.
    pub carrier: bool,
}

impl Link {
    /// Up for the supervisor: administratively up, operstate `up` or `unknown`, carrier
    /// present; the rule of the shell's `link_check` on /sys.
    pub fn up(&self) -> bool {
        self.admin_up && self.carrier && matches!(self.operstate.as_str(), "up" | "unknown")
    }

    /// The link an `RTM_NEWLINK` describes, and the interface's name in it.
    fn from_msg(m: &LinkMessage) -> (Option<&str>, Link) {
        let flags = m.header.flags;
        let mut name = None;
        let mut link = Link {
            index: m.header.index,
            mac: None,
            admin_up: flags.contains(LinkFlags::Up),
            operstate: "unknown".to_string(),
            carrier: flags.contains(LinkFlags::LowerUp),
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.as_str()),
                LinkAttribute::Address(b) => {
                    link.mac = <[u8; 6]>::try_from(b.as_slice())
                        .ok()
                        .filter(|m| *m != [0; 6]);
                }
                LinkAttribute::OperState(s) => link.operstate = operstate(*s),
                _ => {}
            }
        }
        (name, link)
    }
}

/// An operational state as /sys/class/net/IFACE/operstate spells it.
fn operstate(s: State) -> String {
    match s {
        State::Unknown => "unknown".to_string(),
        State::NotPresent => "notpresent".to_string(),
        State::Down => "down".to_string(),
        State::LowerLayerDown => "lowerlayerdown".to_string(),
        State::Testing => "testing".to_string(),
        State::Dormant => "dormant".to_string(),
        State::Up => "up".to_string(),
        State::Other(n) => format!("state{n}"),
        _ => "unknown".to_string(),
    }
}

/// Pure: the machine's addresses as the kernel last reported them.
#[derive(Debug, Default, Clone)]
pub struct Table {
    entries: Vec<Entry>,
}

impl Table {
    /// The table of a dump.
    pub fn new(entries: Vec<Entry>) -> Table {
        Table { entries }
    }

    /// Apply a notification: `RTM_NEWADDR` (`new`) adds or replaces the entry with the same
    /// interface, address and prefix (the kernel's key), `RTM_DELADDR` removes it.
    pub fn apply(&mut self, new: bool, e: Entry) {
        let same = |x: &Entry| x.index == e.index && x.addr == e.addr && x.prefix == e.prefix;
        match self.entries.iter().position(same) {
            Some(i) if new => self.entries[i] = e,
            Some(i) => {
                self.entries.remove(i);
            }
            None if new => self.entries.push(e),
            None => {}
        }
    }

    /// Is `spec` bound on interface `index` (named `dev`) as configured: its prefix and its
    /// label, each when it has one? The rule of `vip-bind --check IFACE[:LABEL] ADDR[/PREFIX]`
    /// (no prefix written: any prefix, as vip-bind then picks one).
    pub fn bound_as(&self, index: u32, dev: &str, spec: &VipSpec) -> bool {
        self.entries.iter().any(|e| {
            e.index == index
                && e.addr == spec.addr
                && e.mismatch(spec.prefix, spec.label.as_deref(), None, dev)
                    .is_none()
        })
    }

    /// Does interface `index` hold `addr` at all (any prefix, any label)?
    pub fn holds(&self, index: u32, addr: IpAddr) -> bool {
        self.entries
            .iter()
            .any(|e| e.index == index && e.addr == addr)
    }
}

/// IFACE's link and the address table, kept current from one subscribed socket.
pub struct Kernel {
    sock: Socket,
    iface: String,
    /// None: IFACE does not exist (deleted, or renamed away).
    link: Option<Link>,
    table: Table,
}

impl Kernel {
    /// Subscribe, then dump IFACE's link and every address. Fails (exit 1) when IFACE does
    /// not exist.
    pub fn open(iface: &str) -> Result<Kernel> {
        let mut sock = Socket::open().map_err(|e| Error::sys("open netlink socket", e))?;
        sock.subscribe(&GROUPS)
            .map_err(|e| Error::sys("subscribe to netlink notifications", e))?;
        let mut k = Kernel {
            sock,
            iface: iface.to_string(),
            link: None,
            table: Table::default(),
        };
        k.sync()?;
        if k.link.is_none() {
            return Err(Error::failed(format!("no such interface: {iface}")));
        }
        Ok(k)
    }

    /// Dump links and addresses again, then apply what arrived meanwhile.
    fn sync(&mut self) -> Result<()> {
        let mut events = Vec::new();
        let links = self
            .sock
            .dump_keeping(
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
                &mut events,
            )
            .map_err(|e| Error::sys("list links", e))?;
        self.link = None;
        for m in &links {
            if let RouteNetlinkMessage::NewLink(l) = m {
                self.on_link(l);
            }
        }
        let addrs = self
            .sock
            .dump_keeping(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                &mut events,
            )
            .map_err(|e| Error::sys("list addresses", e))?;
        self.table = Table::new(
            addrs
                .into_iter()
                .filter_map(|m| match m {
                    RouteNetlinkMessage::NewAddress(a) => addr::entry_of(a),
                    _ => None,
                })
                .collect(),
        );
        for m in events {
            self.apply(m);
        }
        Ok(())
    }

    /// Take every notification queued now (the socket was readable). Dumps again when the
    /// kernel reports lost notifications.
    pub fn read(&mut self) -> Result<()> {
        match self.sock.recv_pending() {
            Ok(msgs) => {
                for m in msgs {
                    self.apply(m);
                }
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.sync(),
            Err(e) => Err(Error::sys("read netlink notifications", e)),
        }
    }

    fn apply(&mut self, m: RouteNetlinkMessage) {
        match m {
            RouteNetlinkMessage::NewLink(l) => self.on_link(&l),
            RouteNetlinkMessage::DelLink(l)
                if self
                    .link
                    .as_ref()
                    .is_some_and(|x| x.index == l.header.index) =>
            {
                self.link = None;
            }
            RouteNetlinkMessage::NewAddress(a) => {
                if let Some(e) = addr::entry_of(a) {
                    self.table.apply(true, e);
                }
            }
            RouteNetlinkMessage::DelAddress(a) => {
                if let Some(e) = addr::entry_of(a) {
                    self.table.apply(false, e);
                }
            }
            _ => {}
        }
    }

    /// A link message: IFACE's (by name, perhaps re-created with a new index), or the one
    /// with IFACE's index under another name (renamed away).
    fn on_link(&mut self, m: &LinkMessage) {
        let (name, link) = Link::from_msg(m);
        if name == Some(self.iface.as_str()) {
            self.link = Some(link);
        } else if name.is_some() && self.link.as_ref().is_some_and(|x| x.index == link.index) {
            self.link = None;
        }
    }

    /// IFACE's link; None while it does not exist.
    pub fn link(&self) -> Option<&Link> {
        self.link.as_ref()
    }

    /// Is the link up (see [`Link::up`])? An interface that does not exist is down.
    pub fn link_up(&self) -> bool {
        self.link.as_ref().is_some_and(Link::up)
    }

    /// Is `spec` bound on IFACE as configured ([`Table::bound_as`])?
    pub fn bound_as(&self, spec: &VipSpec) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| self.table.bound_as(l.index, &self.iface, spec))
    }

    /// Does IFACE hold `addr` at all?
    pub fn holds(&self, addr: IpAddr) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| self.table.holds(l.index, addr))
    }
}

impl AsFd for Kernel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u32, addr: &str, prefix: u8, label: Option<&str>) -> Entry {
        Entry {
            index,
            addr: addr.parse().unwrap(),
            prefix,
            label: label.map(str::to_string),
            broadcast: None,
            secondary: false,
        }
    }

    fn spec(addr: &str, prefix: u8, label: Option<&str>) -> VipSpec {
        VipSpec {
            addr: addr.parse().unwrap(),
            prefix: Some(prefix),
            label: label.map(str::to_string),
            line: 1,
        }
    }

    #[test]
    fn bound_as_configured_means_prefix_and_label_as_vip_bind_check() {
        let t = Table::new(vec![
            entry(2, "198.51.100.4", 24, Some("eth0")),
            entry(2, "198.51.100.2", 24, Some("eth0:ha1")),
            entry(2, "198.51.100.3", 32, Some("eth0")),
            entry(3, "198.51.100.9", 24, Some("eth1")),
            entry(2, "2001:db8::2", 64, None),
        ]);
        assert!(t.bound_as(2, "eth0", &spec("198.51.100.2", 24, Some("eth0:ha1"))));
        assert!(
            t.bound_as(2, "eth0", &spec("198.51.100.2", 24, None)),
            "no label configured: any label"
        );
        assert!(!t.bound_as(2, "eth0", &spec("198.51.100.2", 24, Some("eth0:ha2"))));
        assert!(
            !t.bound_as(2, "eth0", &spec("198.51.100.3", 24, None)),
            "/32 not /24"
        );
        assert!(
            !t.bound_as(2, "eth0", &spec("198.51.100.9", 24, None)),
            "on eth1"
        );
        assert!(t.bound_as(2, "eth0", &spec("2001:db8::2", 64, None)));
        assert!(t.bound_as(2, "eth0", &spec("198.51.100.4", 24, Some("eth0"))));
        let mut any = spec("198.51.100.3", 24, None);
        any.prefix = None;
        assert!(t.bound_as(2, "eth0", &any), "no prefix written: any prefix");
        assert!(t.holds(2, "198.51.100.3".parse().unwrap()));
        assert!(!t.holds(2, "198.51.100.9".parse().unwrap()));
    }

    #[test]
    fn notifications_add_replace_and_remove_by_the_kernels_key() {
        let mut t = Table::default();
        let vip = spec("198.51.100.2", 24, Some("eth0:ha1"));
        t.apply(true, entry(2, "198.51.100.2", 24, Some("eth0")));
        assert!(!t.bound_as(2, "eth0", &vip));
        t.apply(true, entry(2, "198.51.100.2", 24, Some("eth0:ha1")));
        assert!(t.bound_as(2, "eth0", &vip), "the same key replaced");
        assert_eq!(t.entries.len(), 1);
        t.apply(true, entry(2, "198.51.100.2", 32, Some("eth0:ha1")));
        t.apply(false, entry(2, "198.51.100.2", 24, None));
        assert!(!t.bound_as(2, "eth0", &vip));
        assert!(t.holds(2, "198.51.100.2".parse().unwrap()), "the /32 stays");
        t.apply(false, entry(2, "198.51.100.2", 32, None));
        t.apply(false, entry(2, "198.51.100.2", 32, None));
        assert!(t.entries.is_empty());
    }

    #[test]
    fn link_up_needs_admin_up_carrier_and_an_up_operstate() {
        let mut l = Link {
            index: 2,
            mac: None,
            admin_up: true,
            operstate: "up".into(),
            carrier: true,
        };
        assert!(l.up());
        l.operstate = "unknown".into();
        assert!(l.up());
        l.operstate = "lowerlayerdown".into();
        assert!(!l.up());
        l.operstate = "up".into();
        l.carrier = false;
        assert!(!l.up());
        l.carrier = true;
        l.admin_up = false;
        assert!(!l.up());
    }

    #[test]
    fn link_messages_are_read_by_name_and_index() {
        let mut m = LinkMessage::default();
        m.header.index = 7;
        m.header.flags = LinkFlags::Up | LinkFlags::LowerUp | LinkFlags::Running;
        m.attributes.push(LinkAttribute::IfName("eth0".into()));
        m.attributes
            .push(LinkAttribute::Address(vec![2, 0, 0, 0, 0, 4]));
        m.attributes.push(LinkAttribute::OperState(State::Up));
        let (name, l) = Link::from_msg(&m);
        assert_eq!(name, Some("eth0"));
        assert_eq!(l.index, 7);
        assert_eq!(l.mac, Some([2, 0, 0, 0, 0, 4]));
        assert!(l.up());
        let mut lo = LinkMessage::default();
        lo.attributes.push(LinkAttribute::Address(vec![0; 6]));
        lo.attributes
            .push(LinkAttribute::OperState(State::LowerLayerDown));
        let (name, l) = Link::from_msg(&lo);
        assert_eq!(
            (name, l.mac, l.operstate.as_str()),
            (None, None, "lowerlayerdown")
        );
    }

    #[test]
    fn a_missing_interface_is_a_failure() {
        let e = Kernel::open("vipkit-nope0").err().unwrap();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "no such interface: vipkit-nope0");
    }

    #[test]
    fn loopback_is_seen_with_its_address() {
        let k = Kernel::open("lo").unwrap();
        assert!(k.link().is_some());
        let l = k.link().unwrap();
        assert_eq!(l.mac, None);
        if l.admin_up {
            assert!(k.holds("127.0.0.1".parse().unwrap()));
            assert!(k.bound_as(&spec("127.0.0.1", 8, None)));
            assert!(k.bound_as(&spec("127.0.0.1", 8, Some("lo"))));
        }
    }
}
