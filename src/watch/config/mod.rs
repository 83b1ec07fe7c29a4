//! The supervisor's configuration file: `KEY=VALUE` lines, read (never sourced) and validated
//! with the parsers the tools use, so that the supervisor and the tools cannot disagree. This
//! is the one validator: `vip-supervisor --check-config`, `--explain` and its start-up all come
//! from it, through `vip-watch`.
//!
//! Layers, each file importing only those above it: `types` (what a valid configuration is,
//! the keys and their defaults, a problem); `file` reads the lines (the file grammar); `rules`
//! checks each kind of value; `vips` the VIP lists; this file, the rules between keys.

use std::time::Duration;

mod file;
mod rules;
mod types;
mod vips;

pub use rules::show_ms;
pub use types::{Config, KEYS, PrefixOf, Problem, Role, VipSpec};
pub use vips::default_prefix;

/// Parse and validate a configuration file's text: every problem, or the configuration. Pure:
/// a VIP written without a prefix is checked with the longest one (see [`parse_with`]).
pub fn parse(text: &str) -> std::result::Result<Config, Vec<Problem>> {
    parse_with(text, &|_, _| None)
}

/// [`parse`], asking `prefix_of` for the prefix of each VIP written without one, so that it is
/// checked as vip-bind will bind it (not the network or broadcast address of that subnet).
pub fn parse_with(text: &str, prefix_of: PrefixOf) -> std::result::Result<Config, Vec<Problem>> {
    let mut problems = Vec::new();
    let raw = file::read(text, &mut problems);
    let mut c = rules::Check::new(&raw);
    let cfg = validate(&mut c, prefix_of);
    problems.append(&mut c.problems);
    match cfg {
        Some(cfg) if problems.is_empty() => Ok(cfg),
        _ => Err(problems),
    }
}

/// Every key's rules and the rules between keys, in the order the supervisor always listed
/// their problems. None when any failed (each is in `c.problems`).
fn validate(c: &mut rules::Check, prefix_of: PrefixOf) -> Option<Config> {
    let iface = c.iface();
    let gateway = c.gateway();
    let mut seen = Vec::new();
    let own_vips = vips::vips(c, "OWN_VIPS", iface.as_deref(), &mut seen, prefix_of);
    let peer_vips = vips::vips(c, "PEER_VIPS", iface.as_deref(), &mut seen, prefix_of);
    let (own, peer) = (c.value("OWN_VIPS"), c.value("PEER_VIPS"));
    if own.is_empty() && peer.is_empty() {
        c.bad(
            "OWN_VIPS",
            "OWN_VIPS and PEER_VIPS are both empty: nothing to supervise",
        );
    }
    if let Some(Some(gw)) = gateway
        && seen.contains(&gw)
    {
        c.bad("GATEWAY", "the gateway cannot be a VIP");
    }
    let (self_text, peer_text) = (c.value("SELF_URL"), c.value("PEER_URL"));
    let self_url = if !self_text.is_empty() {
        c.url("SELF_URL").map(Some)
    } else if !own.is_empty() {
        c.bad(
            "SELF_URL",
            "required when OWN_VIPS is set: this host's health URL",
        );
        None
    } else {
        Some(None)
    };
    let peer_url = if !peer_text.is_empty() {
        let url = c.url("PEER_URL");
        if peer.is_empty() {
            c.bad(
                "PEER_URL",
                "set but PEER_VIPS is empty: it would have no effect",
            );
        }
        if peer_text == self_text {
            c.bad(
                "PEER_URL",
                "the same as SELF_URL: the peer would be this host",
            );
        }
        url.map(Some)
    } else if !peer.is_empty() {
        c.bad(
            "PEER_URL",
            "required when PEER_VIPS is set: the peer's health URL",
        );
        None
    } else {
        Some(None)
    };
    let interval = c.secs("INTERVAL", 10, 3_600_000);
    let timeout = c.secs("TIMEOUT", 10, 60_000);
    let rise = c.int("RISE", 1, 1000);
    let fall = c.int("FALL", 1, 1000);
    let min_hold = c.secs("MIN_HOLD", 0, 86_400_000);
    let garp_count = c.int("GARP_COUNT", 1, 100);
    let garp_interval = c.secs("GARP_INTERVAL", 0, 60_000);
    let mut garp_refresh = c.secs("GARP_REFRESH", 0, 86_400_000);
    if garp_refresh.is_some_and(|d| !d.is_zero() && d < Duration::from_millis(100)) {
        c.bad("GARP_REFRESH", "must be 0 (off) or at least 0.1 seconds");
        garp_refresh = None;
    }
    let failback = c.yes_no("FAILBACK");
    let dad = c.yes_no("DAD");
    let dad_timeout = c.secs("DAD_TIMEOUT", 1, 10_000);
    let dad_grace = c.int("DAD_GRACE", 0, 1000);
    let nginx_reload = c.yes_no("NGINX_RELOAD");
    let nginx_pidfile = match c.value("NGINX_PIDFILE") {
        "" => Some(None),
        _ => c.path("NGINX_PIDFILE").map(Some),
    };
    if !c.value("NGINX_PIDFILE").is_empty() && c.value("NGINX_RELOAD") == "no" {
        c.bad(
            "NGINX_PIDFILE",
            "set but NGINX_RELOAD=no: it would have no effect",
        );
    }
    let release_on_exit = c.yes_no("RELEASE_ON_EXIT");
    let state_file = c.path("STATE_FILE");
    let syslog = c.yes_no("SYSLOG");
    if c.value("FAILBACK") == "no" && c.value("DAD") == "no" {
        c.bad(
            "FAILBACK",
            "FAILBACK=no needs DAD=yes: without the duplicate probe the owner cannot see that \
             its VIP is held elsewhere",
        );
    }
    if !c.problems.is_empty() {
        return None;
    }
    Some(Config {
        iface_line: c.raw.line("IFACE").unwrap_or(0),
        iface: iface?,
        gateway: gateway?,
        own_vips,
        peer_vips,
        self_url: self_url?,
        peer_url: peer_url?,
        interval: interval?,
        timeout: timeout?,
        rise: rise?,
        fall: fall?,
        min_hold: min_hold?,
        garp_count: garp_count?,
        garp_interval: garp_interval?,
        garp_refresh: garp_refresh?,
        failback: failback?,
        dad: dad?,
        dad_timeout: dad_timeout?,
        dad_grace: dad_grace?,
        nginx_reload: nginx_reload?,
        nginx_pidfile: nginx_pidfile?,
        release_on_exit: release_on_exit?,
        state_file: state_file?,
        syslog: syslog?,
    })
}

#[cfg(test)]
mod tests;
