//! The supervisor's configuration file: `KEY=VALUE` lines, read (never sourced) and validated
//! with the parsers the tools use, so that the supervisor and the tools cannot disagree. This
//! is the one validator: `vip-supervisor --check-config`, `--explain` and its start-up all come
//! from it, through `vip-watch`.
//!
//! Layers: `file` reads the lines (the file grammar); `rules` checks each kind of value;
//! `vips` the VIP lists; this file holds the types, the rules between keys and the
//! `KEY=VALUE` form `vip-watch --print-config` hands the shell.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::Target;

mod file;
mod rules;
mod vips;

pub use file::KEYS;
pub use rules::show_ms;
pub use vips::default_prefix;

/// One VIP of `OWN_VIPS` or `PEER_VIPS`: `ADDR[/PREFIX][@LABEL]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub addr: IpAddr,
    /// As written. None: vip-bind's default when it binds (the prefix of the interface address
    /// covering it, else /32 or /128), as for `vip-bind IFACE ADDR`.
    pub prefix: Option<u8>,
    /// The full label `IFACE:NAME` (IPv4 only), when `@NAME` or `@IFACE:NAME` was given.
    pub label: Option<String>,
    /// The 1-based line of the file it came from (for messages).
    pub line: usize,
}

impl VipSpec {
    /// What the tools get as interface: `IFACE`, or the label `IFACE:NAME`.
    pub fn target<'a>(&'a self, iface: &'a str) -> &'a str {
        self.label.as_deref().unwrap_or(iface)
    }
}

/// `ADDR[/PREFIX][@IFACE:LABEL]`, the normalized form of a list word.
impl fmt::Display for VipSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(p) = self.prefix {
            write!(f, "/{p}")?;
        }
        if let Some(l) = &self.label {
            write!(f, "@{l}")?;
        }
        Ok(())
    }
}

/// Whose VIP it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `OWN_VIPS`: held while SELF_URL is healthy.
    Own,
    /// `PEER_VIPS`: taken while PEER_URL is unhealthy.
    Peer,
}

/// Every key of man/vip-supervisor.8, validated, with its default where the file has none.
#[derive(Debug, Clone)]
pub struct Config {
    pub iface: String,
    /// The line that sets IFACE (for messages about the interface).
    pub iface_line: usize,
    pub gateway: Option<IpAddr>,
    pub own_vips: Vec<VipSpec>,
    pub peer_vips: Vec<VipSpec>,
    pub self_url: Option<Target>,
    pub peer_url: Option<Target>,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub min_hold: Duration,
    pub garp_count: u32,
    pub garp_interval: Duration,
    /// Zero: off.
    pub garp_refresh: Duration,
    pub failback: bool,
    pub dad: bool,
    pub dad_timeout: Duration,
    pub dad_grace: u32,
    pub nginx_reload: bool,
    pub nginx_pidfile: Option<PathBuf>,
    pub release_on_exit: bool,
    pub state_file: PathBuf,
    pub syslog: bool,
}

impl Config {
    /// Every VIP with its role: own ones first, then the peer's (the supervisor's numbering).
    pub fn vips(&self) -> impl Iterator<Item = (Role, &VipSpec)> {
        let own = self.own_vips.iter().map(|v| (Role::Own, v));
        own.chain(self.peer_vips.iter().map(|v| (Role::Peer, v)))
    }

    /// Every key as `KEY=VALUE`, in [`KEYS`]' order, defaults filled in and values normalized
    /// (VIPs as `ADDR[/PREFIX][@IFACE:LABEL]`, seconds as [`crate::secs::show`] writes them),
    /// then `IFACE_LINE=N`: what `vip-watch --print-config` prints for the shell.
    pub fn print(&self) -> Vec<String> {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        let secs = |d: Duration| crate::secs::show(d);
        let list = |v: &[VipSpec]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let url = |u: &Option<Target>| u.as_ref().map_or(String::new(), |t| t.to_string());
        let values = [
            self.iface.clone(),
            self.gateway.map_or(String::new(), |g| g.to_string()),
            list(&self.own_vips),
            list(&self.peer_vips),
            url(&self.self_url),
            url(&self.peer_url),
            secs(self.interval),
            secs(self.timeout),
            self.rise.to_string(),
            self.fall.to_string(),
            secs(self.min_hold),
            self.garp_count.to_string(),
            secs(self.garp_interval),
            secs(self.garp_refresh),
            yes(self.failback),
            yes(self.dad),
            secs(self.dad_timeout),
            self.dad_grace.to_string(),
            yes(self.nginx_reload),
            self.nginx_pidfile
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
            yes(self.release_on_exit),
            self.state_file.display().to_string(),
            yes(self.syslog),
        ];
        let mut out: Vec<String> = KEYS
            .iter()
            .zip(values)
            .map(|((k, _), v)| format!("{k}={v}"))
            .collect();
        out.push(format!("IFACE_LINE={}", self.iface_line));
        out
    }
}

/// One problem of a configuration file, printed as `FILE:LINE: KEY=VALUE: why` (`FILE: ...`
/// when it concerns no line, e.g. a required key that is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    /// Empty for a line that is not `KEY=VALUE`; `value` then holds the line.
    pub key: String,
    pub value: String,
    pub why: String,
}

impl Problem {
    /// The problem as the supervisor prints it (after `PROG: `), in file `file`.
    pub fn show(&self, file: &str) -> String {
        let at = match self.line {
            Some(n) => format!("{file}:{n}"),
            None => file.to_string(),
        };
        if self.key.is_empty() {
            format!("{at}: '{}': {}", self.value, self.why)
        } else {
            format!("{at}: {}={}: {}", self.key, self.value, self.why)
        }
    }
}

/// How the validator learns the prefix vip-bind would give a VIP written without one:
/// `(IFACE, ADDR)` to the prefix, or None when it cannot tell (no such interface, no kernel).
pub type PrefixOf<'a> = &'a dyn Fn(&str, IpAddr) -> Option<u8>;

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
