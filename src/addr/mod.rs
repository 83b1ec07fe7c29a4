//! VIP addresses and host routes: the `ip addr` / `ip route` operations vipkit needs, over one
//! netlink socket, plus the pure parsing and validation of what the user asked for.
//!
//! Layers, each file importing only those above it:
//! - `spec`: what a VIP is (address, prefix, label, broadcast grammar and checks); pure.
//! - `entry`: the addresses as the kernel reports them, and what they mean for a change; pure.
//! - `kernel`: the addresses over netlink (`ip addr show/add/del`).
//! - `route`: host routes over netlink (`ip route add/del ADDR/32 dev DEV`).
//! - `plan`: the [`Plan`] of [`Step`]s a change is, and the [`State`] it is computed from;
//!   pure, and what `-n` prints.
//! - `bind`, `unbind`: the requests of vip-bind and vip-unbind, each planned from a state
//!   (conflicts, what `--force` removes and puts back); pure.
//! - `execute`: reading that state, and running a plan with rollback on failure.
//!
//! Kernel facts this module relies on: adding an address twice answers EEXIST, deleting an
//! absent one EADDRNOTAVAIL, deleting an absent route ESRCH; address labels are not checked by
//! the kernel; deleting a primary IPv4 address with `promote_secondaries=0` flushes its
//! secondaries; IPv6 VIPs must be added with `IFA_F_NODAD` to be usable at once.

mod bind;
mod entry;
mod execute;
#[cfg(test)]
mod fixture;
mod kernel;
mod plan;
mod route;
mod spec;
mod unbind;

pub use bind::Bind;
pub use entry::{Entry, default_prefix, flushed_with, join_addrs};
pub use execute::{Applied, execute, read_state};
pub use kernel::{
    CAP, add, del, entry_of, is_absent, is_exists, list, list_all, name_of, promotes_secondaries,
    readd,
};
pub use plan::{Link, Plan, State, Step};
pub use route::{
    HostRoute, add_host_route, del_host_route, del_route, has_host_route, host_routes, readd_route,
};
pub use spec::{
    Broadcast, Vip, check_label, covers, max_prefix, netmask_prefix, parse_addr, validate,
};
pub use unbind::Unbind;
