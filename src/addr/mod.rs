//! VIP addresses and host routes: the `ip addr` / `ip route` operations vipkit needs, over one
//! netlink socket, plus the pure parsing and validation of what the user asked for.
//!
//! Layers, each file importing only those above it:
//! - `spec`: what a VIP is (address, prefix, label, broadcast grammar and checks) and the
//!   kernel's address entries as data; pure.
//! - `kernel`: the addresses over netlink (`ip addr show/add/del`).
//! - `route`: host routes over netlink (`ip route add/del ADDR/32 dev DEV`).
//!
//! Kernel facts this module relies on: adding an address twice answers EEXIST, deleting an
//! absent one EADDRNOTAVAIL, deleting an absent route ESRCH; address labels are not checked by
//! the kernel; deleting a primary IPv4 address with `promote_secondaries=0` flushes its
//! secondaries; IPv6 VIPs must be added with `IFA_F_NODAD` to be usable at once.

mod kernel;
mod route;
mod spec;

pub use kernel::{
    CAP, add, del, del_alone, is_absent, is_exists, list, list_all, promotes_secondaries, readd,
};
pub use route::{
    HostRoute, add_host_route, del_host_route, del_route, has_host_route, host_routes, readd_route,
};
pub use spec::{
    Broadcast, Entry, Vip, check_label, covers, flushed_with, max_prefix, netmask_prefix,
    parse_addr, validate,
};
