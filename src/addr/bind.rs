//! What `vip-bind` asks for ([`Bind`]) and what it takes: `--check`'s verdict and the
//! [`Plan`] that binds the address, with the conflicts `--force` overrides.

use super::entry::Entry;
use super::plan::{Plan, State, Step, removal, restore};
use super::route::HostRoute;
use super::spec::Vip;
use crate::error::{Error, Result};

/// What `vip-bind` asks for, resolved against the machine (interface index, prefix length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub index: u32,
    pub dev: String,
    pub vip: Vip,
    /// Also the host route `ADDR/32 dev DEV` (`--host-route`); [`State::routes`] must be read.
    pub host_route: bool,
    /// Move or replace what stands in the way (`--force`).
    pub force: bool,
}

/// What the kernel has of a bind request.
struct Found<'a> {
    /// The address on the interface asked for.
    here: Option<&'a Entry>,
    /// Why `here` is not as asked.
    differs: Option<String>,
    /// The address on other interfaces.
    elsewhere: Vec<&'a Entry>,
    /// The host route `ADDR/32 dev DEV` is there.
    route_here: bool,
    /// Routes to `ADDR/32` of our metric on another device (or via a gateway, or blackholes):
    /// the kernel would refuse ours as a duplicate, or keep routing through them.
    rivals: Vec<&'a HostRoute>,
}

impl Bind {
    /// Look up what the kernel has of this request.
    fn find<'a>(&self, state: &'a State) -> Found<'a> {
        let vip = &self.vip;
        let here = state.entry(self.index, vip.addr);
        let routes = state.known_routes();
        Found {
            here,
            differs: here.and_then(|e| {
                e.mismatch(
                    Some(vip.prefix),
                    vip.label.as_deref(),
                    vip.broadcast,
                    &self.dev,
                )
            }),
            elsewhere: state
                .entries
                .iter()
                .filter(|e| e.index != self.index && e.addr == vip.addr)
                .collect(),
            route_here: routes.iter().any(|r| r.is_plain_on(self.index)),
            rivals: routes
                .iter()
                .filter(|r| !r.is_plain_on(self.index) && r.competes())
                .collect(),
        }
    }

    /// Why the address is not bound as asked (what `vip-bind --check -v` says), or None when
    /// it is.
    pub fn check(&self, state: &State) -> Option<String> {
        let f = self.find(state);
        let name = |i| state.name(i);
        match (f.here, f.differs, f.elsewhere.first(), f.rivals.first()) {
            (None, _, Some(o), _) => Some(format!("on {} instead", state.name(o.index))),
            (None, _, None, _) => Some(format!("not on {}", self.dev)),
            (Some(_), Some(why), _, _) => Some(why),
            (Some(_), None, _, Some(r)) => Some(format!(
                "host route {} {}",
                r.describe(name),
                if f.route_here {
                    "competes with ours"
                } else {
                    "instead"
                }
            )),
            (Some(_), None, _, _) if self.host_route && !f.route_here => {
                Some("host route missing".to_string())
            }
            _ => None,
        }
    }

    /// What `vip-bind` changes: without `force`, a conflict (exit 4) when the address is on
    /// another interface, or here but not as asked, or a rival host route stands in the way.
    /// With it: those are removed first, and the secondaries the kernel removes with a primary
    /// are put back as they were (a replaced primary's after the new address, so that it stays
    /// the primary of its subnet).
    pub fn plan(&self, state: &State) -> Result<Plan> {
        let (req, f) = (self, self.find(state));
        let (index, dev, vip) = (req.index, req.dev.as_str(), &req.vip);
        let name = |i| state.name(i);
        if !req.force {
            if let Some(o) = f.elsewhere.first() {
                return Err(Error::conflict(format!(
                    "{} is already on {}; use --force to move it",
                    vip.addr,
                    state.name(o.index)
                )));
            }
            if let (Some(e), Some(why)) = (f.here, &f.differs) {
                return Err(Error::conflict(format!(
                    "{} is on {dev} as {} ({why}); use --force to replace it",
                    vip.addr,
                    e.describe(dev)
                )));
            }
            if let Some(r) = f.rivals.first() {
                return Err(Error::conflict(format!(
                    "host route {} is already there, not via {dev}; use --force to replace it",
                    r.describe(name)
                )));
            }
        }
        let mut steps = Vec::new();
        for o in &f.elsewhere {
            removal(&mut steps, o, &state.name(o.index), state.flushed(o), false);
        }
        let replaced = f.here.filter(|_| f.differs.is_some());
        let mut later = None;
        if let Some(e) = replaced {
            let flushed = state.flushed(e);
            steps.push(Step::Remove {
                index,
                dev: dev.to_string(),
                entry: e.clone(),
                flushed: flushed.clone(),
                if_present: false,
            });
            later = restore(e, dev, flushed);
        }
        if f.here.is_none() || replaced.is_some() {
            steps.push(Step::Add {
                index,
                dev: dev.to_string(),
                vip: vip.clone(),
            });
        }
        steps.extend(later);
        for r in &f.rivals {
            steps.push(Step::DelRoute {
                route: (*r).clone(),
                what: r.describe(name),
            });
        }
        if req.host_route && !f.route_here {
            steps.push(Step::AddHostRoute {
                index,
                dev: dev.to_string(),
                addr: vip.addr,
            });
        }
        Ok(Plan { steps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::*;

    #[test]
    fn a_new_vip_is_added_with_its_host_route() {
        let req = Bind {
            host_route: true,
            ..bind(VIP, 24, Some("eth0:ha1"))
        };
        let s = state(&[], Some(vec![]));
        assert_eq!(req.check(&s).as_deref(), Some("not on eth0"));
        let plan = req.plan(&s).unwrap();
        assert_eq!(
            lines(&plan),
            "ip addr add 198.51.100.2/24 dev eth0 label eth0:ha1\n\
             ip route add 198.51.100.2/32 dev eth0"
        );
        assert!(plan.adds_new_address());
    }

    #[test]
    fn a_vip_bound_as_asked_needs_nothing() {
        let s = state(
            &[entry(2, VIP, 24, true, "eth0:ha1")],
            Some(vec![HostRoute::listed(ip(VIP), Some(2), None)]),
        );
        for req in [
            bind(VIP, 24, Some("eth0:ha1")),
            Bind {
                host_route: true,
                ..bind(VIP, 24, None)
            },
        ] {
            assert_eq!(req.check(&s), None, "{req:?}");
            assert_eq!(req.plan(&s).unwrap(), Plan::default());
        }
        let req = Bind {
            host_route: true,
            ..bind(VIP, 24, None)
        };
        let no_route = state(&[entry(2, VIP, 24, true, "eth0:ha1")], Some(vec![]));
        assert_eq!(req.check(&no_route).as_deref(), Some("host route missing"));
        assert_eq!(
            lines(&req.plan(&no_route).unwrap()),
            "ip route add 198.51.100.2/32 dev eth0"
        );
    }

    #[test]
    fn a_vip_on_another_interface_is_moved_only_by_force() {
        // eth1 holds the VIP as the primary of its subnet, with a secondary.
        let s = state(
            &[
                entry(3, VIP, 24, false, "eth1"),
                entry(3, "198.51.100.9", 24, true, "eth1:x"),
            ],
            None,
        );
        let req = bind(VIP, 24, None);
        assert_eq!(req.check(&s).as_deref(), Some("on eth1 instead"));
        let e = req.plan(&s).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            "198.51.100.2 is already on eth1; use --force to move it"
        );
        let forced = Bind { force: true, ..req };
        let plan = forced.plan(&s).unwrap();
        assert_eq!(
            lines(&plan),
            "ip addr del 198.51.100.2/24 dev eth1\n\
             ip addr add 198.51.100.9/24 dev eth1 label eth1:x\n\
             ip addr add 198.51.100.2/24 dev eth0"
        );
        assert!(!plan.adds_new_address(), "no duplicate probe for our own");
        // With promote_secondaries on eth1, the kernel keeps the secondary itself.
        let mut promoted = s.clone();
        promoted.links = vec![link(2, false), link(3, true)];
        assert_eq!(
            lines(&forced.plan(&promoted).unwrap()),
            "ip addr del 198.51.100.2/24 dev eth1\nip addr add 198.51.100.2/24 dev eth0"
        );
    }

    #[test]
    fn replacing_a_primary_puts_its_secondaries_back_after_the_new_address() {
        let s = State {
            entries: vec![
                entry(4, "203.0.113.50", 24, false, "v1"),
                Entry {
                    broadcast: Some("203.0.113.255".parse().unwrap()),
                    ..entry(4, "203.0.113.70", 24, true, "v1:x")
                },
            ],
            routes: None,
            links: vec![link(4, false)],
        };
        let req = Bind {
            index: 4,
            dev: "v1".into(),
            ..bind("203.0.113.50", 32, None)
        };
        assert_eq!(req.check(&s).as_deref(), Some("prefix /24 not /32"));
        let e = req.plan(&s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "203.0.113.50 is on v1 as 203.0.113.50/24 dev v1 (prefix /24 not /32); use --force \
             to replace it"
        );
        let plan = Bind { force: true, ..req }.plan(&s).unwrap();
        assert_eq!(
            lines(&plan),
            "ip addr del 203.0.113.50/24 dev v1\n\
             ip addr add 203.0.113.50/32 dev v1\n\
             ip addr add 203.0.113.70/24 brd 203.0.113.255 dev v1 label v1:x"
        );
        let Some((removed, flushed)) = plan.removal() else {
            panic!("{plan:?}")
        };
        assert_eq!(removed.prefix, 24);
        assert_eq!(flushed.len(), 1, "named for the rollback");
    }

    #[test]
    fn a_rival_host_route_is_a_conflict_or_replaced() {
        let rival = HostRoute::listed(ip(VIP), Some(3), None);
        let req = Bind {
            host_route: true,
            ..bind(VIP, 24, None)
        };
        let s = state(
            &[entry(2, VIP, 24, true, "eth0")],
            Some(vec![rival.clone()]),
        );
        assert_eq!(
            req.check(&s).as_deref(),
            Some("host route 198.51.100.2/32 dev eth1 instead")
        );
        let e = req.plan(&s).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(e.to_string().contains("198.51.100.2/32 dev eth1"), "{e}");
        let forced = Bind {
            force: true,
            ..req.clone()
        };
        let plan = forced.plan(&s).unwrap();
        assert_eq!(
            lines(&plan),
            "ip route del 198.51.100.2/32 dev eth1\nip route add 198.51.100.2/32 dev eth0"
        );
        assert_eq!(plan.routes_removed(), ["198.51.100.2/32 dev eth1"]);
        // Beside ours, it still competes.
        let both = state(
            &[entry(2, VIP, 24, true, "eth0")],
            Some(vec![HostRoute::listed(ip(VIP), Some(2), None), rival]),
        );
        assert_eq!(
            req.check(&both).as_deref(),
            Some("host route 198.51.100.2/32 dev eth1 competes with ours")
        );
        // Through a gateway on our own interface: not ours either.
        let via = HostRoute::listed(ip(VIP), Some(2), Some(ip("198.51.100.1")));
        let s = state(&[entry(2, VIP, 24, true, "eth0")], Some(vec![via]));
        assert_eq!(
            req.check(&s).as_deref(),
            Some("host route 198.51.100.2/32 via 198.51.100.1 dev eth0 instead")
        );
    }
}
