//! Running a [`Plan`] over netlink: each step in order and, when one fails, every step made so
//! far taken back, last first, so that nothing is half-applied (the shape of garp's
//! plan/execute). Also the one read of the [`State`] a plan is computed from.

use std::net::IpAddr;

use super::kernel::{self, is_absent, is_exists};
use super::plan::{Link, Plan, State, Step};
use super::route;
use crate::error::{Error, Result};
use crate::exit;
use crate::netlink::Socket;

/// Read what a plan for `addr` depends on: the addresses of its family (`ip addr show`), with
/// `routes` the routes to exactly `ADDR/32` (`ip route show table main exact ADDR/32`), and the
/// names and promote_secondaries of the interfaces that hold either. Needs no privilege.
pub fn read_state(sock: &mut Socket, addr: IpAddr, routes: bool) -> Result<State> {
    let entries = kernel::list(sock, addr.is_ipv6())?;
    let routes = if routes {
        Some(route::host_routes(sock, addr)?)
    } else {
        None
    };
    let mut indexes: Vec<u32> = entries
        .iter()
        .filter(|e| e.addr == addr)
        .map(|e| e.index)
        .chain(routes.iter().flatten().filter_map(|r| r.oif))
        .collect();
    indexes.sort_unstable();
    indexes.dedup();
    let links = indexes
        .into_iter()
        .map(|index| {
            let name = kernel::name_of(index);
            // Only an IPv4 primary takes secondaries with it: no need to look otherwise.
            let primary = entries
                .iter()
                .any(|e| e.index == index && e.addr == addr && e.addr.is_ipv4() && !e.secondary);
            let promotes = primary && kernel::promotes_secondaries(&name);
            Link {
                index,
                name,
                promotes,
            }
        })
        .collect();
    Ok(State {
        entries,
        routes,
        links,
    })
}

/// What running a plan changed where the plan could not know in advance: another process
/// may have made a step meanwhile (then it is success, not a change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// The address was added now.
    pub added: bool,
    /// The host route was added now.
    pub route_added: bool,
}

/// Make the changes of `plan`, in order. When a step fails, the steps made before it are taken
/// back, last first, as far as the kernel lets us, and the step's error is returned.
pub fn execute(sock: &mut Socket, plan: &Plan) -> Result<Applied> {
    let mut done: Vec<&Step> = Vec::new();
    // Addresses found already removed (by someone else): their Restore is dropped.
    let mut gone: Vec<IpAddr> = Vec::new();
    for step in &plan.steps {
        match make(sock, step, &gone) {
            Ok(true) => done.push(step),
            Ok(false) => {
                if let Step::Remove { entry, .. } = step {
                    gone.push(entry.addr);
                }
            }
            Err(e) => {
                for made in done.into_iter().rev() {
                    undo(sock, made);
                }
                return Err(e);
            }
        }
    }
    Ok(Applied {
        added: done.iter().any(|s| matches!(s, Step::Add { .. })),
        route_added: done.iter().any(|s| matches!(s, Step::AddHostRoute { .. })),
    })
}

/// Make one step; false when there was nothing to do (already so).
fn make(sock: &mut Socket, step: &Step, gone: &[IpAddr]) -> Result<bool> {
    match step {
        Step::Remove {
            index,
            dev,
            entry,
            if_present,
            ..
        } => match kernel::del(sock, *index, dev, entry.addr, entry.prefix) {
            Err(e) if *if_present && is_absent(&e) => Ok(false),
            other => other.map(|()| true),
        },
        Step::Restore { of, .. } if gone.contains(of) => Ok(false),
        Step::Restore {
            index,
            dev,
            entries,
            ..
        } => kernel::readd(sock, *index, dev, entries).map(|()| true),
        Step::Add { index, dev, vip } => match kernel::add(sock, *index, dev, vip) {
            // Someone else added it between our look and our add: it is there now.
            Err(e) if is_exists(&e) => Ok(false),
            other => other.map(|()| true),
        },
        Step::DelRoute { route, what } => route::del_route(sock, route, what).map(|()| true),
        Step::AddHostRoute { index, dev, addr } => {
            match route::add_host_route(sock, *index, dev, *addr) {
                // Added meanwhile: fine if it is ours, a conflict if another appeared.
                Err(e) if is_exists(&e) => {
                    let routes = route::host_routes(sock, *addr)?;
                    if routes.iter().any(|r| r.is_plain_on(*index)) {
                        return Ok(false);
                    }
                    let other = routes
                        .iter()
                        .find(|r| r.competes())
                        .map_or_else(String::new, |r| format!(" {}", r.describe(kernel::name_of)));
                    Err(Error::conflict(format!(
                        "host route{other} appeared meanwhile, not via {dev}; use --force to \
                         replace it"
                    )))
                }
                other => other.map(|()| true),
            }
        }
        Step::DelHostRoute { index, dev, addr } => {
            match route::del_host_route(sock, *index, dev, *addr) {
                // Without privilege the route table is read instead, so that an unprivileged
                // no-op still succeeds.
                Err(e)
                    if e.exit_code() == exit::NOPERM
                        && !route::has_host_route(sock, *index, *addr)? =>
                {
                    Ok(false)
                }
                Err(e) if is_absent(&e) => Ok(false),
                other => other.map(|()| true),
            }
        }
    }
}

/// Take back a step that was made. Best effort: the address set is restored, though a
/// put-back primary may come back as a secondary of what was re-added after it.
fn undo(sock: &mut Socket, step: &Step) {
    match step {
        Step::Remove {
            index,
            dev,
            entry,
            flushed,
            ..
        } => {
            let _ = kernel::add(sock, *index, dev, &entry.as_vip(dev));
            let _ = kernel::readd(sock, *index, dev, flushed);
        }
        // Its Remove's undo puts the same addresses back.
        Step::Restore { .. } => {}
        Step::Add { index, dev, vip } => {
            let _ = kernel::del(sock, *index, dev, vip.addr, vip.prefix);
        }
        Step::DelRoute { route, .. } => {
            let _ = route::readd_route(sock, route);
        }
        Step::AddHostRoute { index, dev, addr } => {
            let _ = route::del_host_route(sock, *index, dev, *addr);
        }
        Step::DelHostRoute { index, dev, addr } => {
            let _ = route::add_host_route(sock, *index, dev, *addr);
        }
    }
}
