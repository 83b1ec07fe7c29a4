//! vipkit: keep a website reachable when one of its Nginx load balancers dies.
//!
//! Small, exact replacements for each step of the classic shell failover loop:
//! `vip-bind`/`vip-unbind` (ifconfig + route), `garp` (arping), `httpcheck` (curl with
//! deadlines), `nginx-reload` (a verified `kill -HUP`). Each binary is one line calling
//! [`cli`]; the domain modules below hold the logic and are usable as a library.

pub mod addr;
pub mod arp;
pub mod cli;
pub mod error;
pub mod exit;
pub mod http;
pub mod iface;
pub mod netlink;
pub mod nginx;
pub mod secs;
pub mod watch;

pub use error::{Error, Result};
