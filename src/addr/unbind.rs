//! What `vip-unbind` asks for ([`Unbind`]) and the [`Plan`] that removes the address alone,
//! with the refusals `--force` overrides.

use std::net::IpAddr;

use super::entry::join_addrs;
use super::plan::{Plan, State, Step, removal};
use crate::error::{Error, Result};

/// What `vip-unbind` asks for: the address on interface `index`, with the prefix length and
/// label it must be bound with where given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbind {
    pub index: u32,
    pub dev: String,
    pub addr: IpAddr,
    pub prefix: Option<u8>,
    pub label: Option<String>,
    /// Remove it even when it differs, or is a primary whose secondaries would go (`--force`).
    pub force: bool,
}

impl Unbind {
    /// What `vip-unbind` changes: the address on the interface asked for, if it is there, and
    /// the host route `ADDR/32 dev DEV` (when [`State::routes`] was not read, its removal is
    /// planned anyway and "no such route" is success). Without `force`, a conflict (exit 4)
    /// when the address differs from the prefix or label given, or is a primary whose
    /// secondaries the kernel would remove with it; with it, they are put back.
    pub fn plan(&self, state: &State) -> Result<Plan> {
        let req = self;
        let dev = req.dev.as_str();
        let mut steps = Vec::new();
        if let Some(e) = state.entry(req.index, req.addr) {
            if !req.force
                && let Some(why) = e.mismatch(req.prefix, req.label.as_deref(), None, dev)
            {
                return Err(Error::conflict(format!(
                    "{} is on {dev} as {} ({why}); use --force to remove it anyway",
                    e.addr,
                    e.describe(dev)
                )));
            }
            let flushed = state.flushed(e);
            if !req.force && !flushed.is_empty() {
                return Err(Error::conflict(format!(
                    "{} is the primary address of {dev}: removing it makes the kernel remove \
                     its secondary addresses {} too (promote_secondaries is off); use --force \
                     to remove it alone (they are put back)",
                    e.addr,
                    join_addrs(&flushed)
                )));
            }
            removal(&mut steps, e, dev, flushed, true);
        }
        let route = state
            .routes
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| r.is_plain_on(req.index)));
        if route {
            steps.push(Step::DelHostRoute {
                index: req.index,
                dev: dev.to_string(),
                addr: req.addr,
            });
        }
        Ok(Plan { steps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::fixture::*;
    use crate::addr::route::HostRoute;

    #[test]
    fn unbinding_an_absent_address_removes_only_a_host_route() {
        let s = state(&[], None);
        // The routes were not read: their removal is planned, "no such route" is success.
        assert_eq!(
            lines(&unbind(2, VIP).plan(&s).unwrap()),
            "ip route del 198.51.100.2/32 dev eth0"
        );
        let read = state(&[], Some(vec![]));
        assert_eq!(unbind(2, VIP).plan(&read).unwrap(), Plan::default());
        let copy = state(&[entry(3, VIP, 24, false, "eth1")], Some(vec![]));
        assert_eq!(
            unbind(2, VIP).plan(&copy).unwrap(),
            Plan::default(),
            "a copy on another interface is left alone"
        );
    }

    #[test]
    fn unbinding_refuses_another_label_or_prefix_without_force() {
        let s = state(&[entry(2, VIP, 24, true, "eth0:ha1")], Some(vec![]));
        let req = Unbind {
            label: Some("eth0:ha2".into()),
            ..unbind(2, VIP)
        };
        let e = req.plan(&s).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            "198.51.100.2 is on eth0 as 198.51.100.2/24 dev eth0 label eth0:ha1 (label eth0:ha1 \
             not eth0:ha2); use --force to remove it anyway"
        );
        let req = Unbind {
            prefix: Some(32),
            ..unbind(2, VIP)
        };
        assert_eq!(req.plan(&s).unwrap_err().exit_code(), 4);
        let plan = Unbind { force: true, ..req }.plan(&s).unwrap();
        assert_eq!(lines(&plan), "ip addr del 198.51.100.2/24 dev eth0");
    }

    #[test]
    fn unbinding_a_primary_with_secondaries_needs_force_and_puts_them_back() {
        let s = state(
            &[entry(2, VIP, 24, true, "eth0:ha1")],
            Some(vec![HostRoute::listed(ip("198.51.100.4"), Some(2), None)]),
        );
        let e = unbind(2, "198.51.100.4").plan(&s).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(
            e.to_string()
                .starts_with("198.51.100.4 is the primary address of eth0: removing it makes")
                && e.to_string()
                    .contains("secondary addresses 198.51.100.2 too"),
            "{e}"
        );
        let forced = Unbind {
            force: true,
            ..unbind(2, "198.51.100.4")
        };
        let plan = forced.plan(&s).unwrap();
        assert_eq!(
            lines(&plan),
            "ip addr del 198.51.100.4/24 dev eth0\n\
             ip addr add 198.51.100.2/24 dev eth0 label eth0:ha1\n\
             ip route del 198.51.100.4/32 dev eth0"
        );
        let Some(Step::Remove { if_present, .. }) = plan.steps.first() else {
            panic!("{plan:?}")
        };
        assert!(if_present, "an address already gone is what unbind wants");
        // A primary alone in its subnet, or with promote_secondaries on, is just removed.
        let mut promoted = s.clone();
        promoted.links = vec![link(2, true)];
        assert_eq!(
            unbind(2, "198.51.100.4")
                .plan(&promoted)
                .unwrap()
                .steps
                .len(),
            2
        );
        let alone = state(&[], Some(vec![]));
        assert_eq!(
            lines(&unbind(2, "198.51.100.4").plan(&alone).unwrap()),
            "ip addr del 198.51.100.4/24 dev eth0"
        );
    }
}
