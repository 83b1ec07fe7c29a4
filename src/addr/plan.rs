//! What `vip-bind` and `vip-unbind` will change, decided before the first change: a [`Plan`]
//! of [`Step`]s, computed from what the kernel holds ([`State`]) and the request
//! ([`Bind::plan`](super::Bind::plan), [`Unbind::plan`](super::Unbind::plan)). `-n` prints it as
//! `ip` commands ([`Plan::ip_commands`]); [`execute`](super::execute) runs it and takes it back
//! on failure. Pure: no socket here, so every decision is unit-tested without root.

use std::net::IpAddr;

use super::entry::{Entry, flushed_with};
use super::route::HostRoute;
use super::spec::{Vip, max_prefix};

/// One interface a plan may name or touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `net.ipv4.conf.NAME.promote_secondaries` (or `all`) is on: deleting a primary promotes
    /// one of its secondaries instead of flushing them all.
    pub promotes: bool,
}

/// What the kernel holds that a plan for one address depends on, read at once before planning
/// ([`read_state`](super::read_state)).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// Every address of the VIP's family, on every interface (`ip -4 addr show`).
    pub entries: Vec<Entry>,
    /// The routes to exactly `ADDR/32` (`/128`) in the main table, when they were read.
    pub routes: Option<Vec<HostRoute>>,
    /// The interfaces that hold the address or a route to it.
    pub links: Vec<Link>,
}

impl State {
    /// The name of interface `index`, or `if7` when it is not known.
    pub fn name(&self, index: u32) -> String {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map_or_else(|| format!("if{index}"), |l| l.name.clone())
    }

    /// The address `addr` on interface `index`, as the kernel has it.
    pub fn entry(&self, index: u32, addr: IpAddr) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.index == index && e.addr == addr)
    }

    /// What the kernel removes together with `e` (see [`flushed_with`]).
    pub(super) fn flushed(&self, e: &Entry) -> Vec<Entry> {
        let promotes = self.links.iter().any(|l| l.index == e.index && l.promotes);
        flushed_with(e, &self.entries, promotes)
    }

    /// The routes to the address; none when they were not read.
    pub(super) fn known_routes(&self) -> &[HostRoute] {
        self.routes.as_deref().unwrap_or_default()
    }
}

/// One change, with all it needs to be made and taken back.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `ip addr del ADDR/PREFIX dev DEV`. `flushed`: the secondaries the kernel removes with it
    /// (a [`Step::Restore`] puts them back; they are named here for the rollback). With
    /// `if_present`, an address already gone is success and its `Restore` is dropped (whoever
    /// removed it decided).
    Remove {
        index: u32,
        dev: String,
        entry: Entry,
        flushed: Vec<Entry>,
        if_present: bool,
    },
    /// `ip addr add` of each address the kernel flushed with the removal of `of`, as it was.
    Restore {
        index: u32,
        dev: String,
        of: IpAddr,
        entries: Vec<Entry>,
    },
    /// `ip addr add ADDR/PREFIX [brd B] dev DEV [label L] [nodad]`; an address that appeared
    /// meanwhile is success.
    Add { index: u32, dev: String, vip: Vip },
    /// `ip route del ROUTE`, exactly as listed; `what` is how it is named.
    DelRoute { route: HostRoute, what: String },
    /// `ip route add ADDR/32 dev DEV`, the classic `route add -host`.
    AddHostRoute {
        index: u32,
        dev: String,
        addr: IpAddr,
    },
    /// `ip route del ADDR/32 dev DEV`; no such route is success.
    DelHostRoute {
        index: u32,
        dev: String,
        addr: IpAddr,
    },
}

impl Step {
    /// The `ip` commands equivalent to this step.
    pub fn ip_commands(&self) -> Vec<String> {
        match self {
            Step::Remove { dev, entry, .. } => {
                vec![format!(
                    "ip addr del {}/{} dev {dev}",
                    entry.addr, entry.prefix
                )]
            }
            Step::Restore { dev, entries, .. } => entries
                .iter()
                .map(|x| ip_add_cmd(&x.as_vip(dev), dev))
                .collect(),
            Step::Add { dev, vip, .. } => vec![ip_add_cmd(vip, dev)],
            Step::DelRoute { what, .. } => vec![format!("ip route del {what}")],
            Step::AddHostRoute { dev, addr, .. } => vec![ip_route_cmd("add", *addr, dev)],
            Step::DelHostRoute { dev, addr, .. } => vec![ip_route_cmd("del", *addr, dev)],
        }
    }
}

/// Everything a `vip-bind` or `vip-unbind` will change, in order; empty when the asked-for
/// state already holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The `ip` commands equivalent to the plan, in its order (what `-n` prints).
    pub fn ip_commands(&self) -> Vec<String> {
        self.steps.iter().flat_map(Step::ip_commands).collect()
    }

    /// Does the plan add an address that is on none of this host's interfaces now? Only then
    /// is a duplicate probe (`--dad`) worth its wait.
    pub fn adds_new_address(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Add { .. }))
            && !self.steps.iter().any(|s| matches!(s, Step::Remove { .. }))
    }

    /// The host routes the plan removes, as named (`198.51.100.2/32 dev eth1`).
    pub fn routes_removed(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::DelRoute { what, .. } => Some(what.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first address the plan removes, with the secondaries put back after it.
    pub fn removal(&self) -> Option<(&Entry, &[Entry])> {
        self.steps.iter().find_map(|s| match s {
            Step::Remove { entry, flushed, .. } => Some((entry, flushed.as_slice())),
            _ => None,
        })
    }
}

/// Remove `e` from its interface (named `dev`) and put back at once what the kernel removes
/// with it.
pub(super) fn removal(
    steps: &mut Vec<Step>,
    e: &Entry,
    dev: &str,
    flushed: Vec<Entry>,
    if_present: bool,
) {
    steps.push(Step::Remove {
        index: e.index,
        dev: dev.to_string(),
        entry: e.clone(),
        flushed: flushed.clone(),
        if_present,
    });
    steps.extend(restore(e, dev, flushed));
}

/// The step that puts back what the removal of `e` flushed, if anything.
pub(super) fn restore(e: &Entry, dev: &str, flushed: Vec<Entry>) -> Option<Step> {
    (!flushed.is_empty()).then(|| Step::Restore {
        index: e.index,
        dev: dev.to_string(),
        of: e.addr,
        entries: flushed,
    })
}

/// The `ip addr` command equivalent to adding `vip`.
fn ip_add_cmd(vip: &Vip, dev: &str) -> String {
    let mut s = format!("ip addr add {}", vip.cidr());
    if let Some(b) = vip.broadcast {
        s.push_str(&format!(" brd {b}"));
    }
    s.push_str(&format!(" dev {dev}"));
    if let Some(l) = &vip.label {
        s.push_str(&format!(" label {l}"));
    }
    if vip.addr.is_ipv6() {
        s.push_str(" nodad");
    }
    s
}

/// The `ip route` command equivalent to the classic `route add -host` (or `del`).
fn ip_route_cmd(verb: &str, addr: IpAddr, dev: &str) -> String {
    format!("ip route {verb} {addr}/{} dev {dev}", max_prefix(addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::*;
    use crate::addr::{Broadcast, validate};

    #[test]
    fn ip_equivalents() {
        let vip = validate(ip(VIP), 24, Some("eth0:ha1".into()), Broadcast::Computed).unwrap();
        assert_eq!(
            ip_add_cmd(&vip, "eth0"),
            "ip addr add 198.51.100.2/24 brd 198.51.100.255 dev eth0 label eth0:ha1"
        );
        assert_eq!(
            ip_route_cmd("add", vip.addr, "eth0"),
            "ip route add 198.51.100.2/32 dev eth0"
        );
        let v6 = validate(ip("2001:db8::2"), 64, None, Broadcast::None).unwrap();
        assert_eq!(
            ip_add_cmd(&v6, "eth0"),
            "ip addr add 2001:db8::2/64 dev eth0 nodad"
        );
    }

    #[test]
    fn unknown_interfaces_are_named_by_number() {
        let s = State::default();
        assert_eq!(s.name(7), "if7");
        assert_eq!(state(&[], None).name(3), "eth1");
    }
}
