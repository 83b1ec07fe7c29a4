//! What a configuration is once validated (the [`Config`] the validator returns and the
//! runtime runs on, its VIPs and their roles), every key with its default, and a [`Problem`]
//! as the supervisor prints it. The bottom layer of `config`: it imports none of the others.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::Target;

/// Every key of man/vip-supervisor.8, in its order, with the default a file that does not set
/// it gets (DESIGN.md's table).
pub const KEYS: &[(&str, &str)] = &[
    ("IFACE", ""),
    ("GATEWAY", ""),
    ("OWN_VIPS", ""),
    ("PEER_VIPS", ""),
    ("SELF_URL", ""),
    ("PEER_URL", ""),
    ("INTERVAL", "1"),
    ("TIMEOUT", "1"),
    ("RISE", "2"),
    ("FALL", "2"),
    ("MIN_HOLD", "0"),
    ("GARP_COUNT", "3"),
    ("GARP_INTERVAL", "0.2"),
    ("GARP_REFRESH", "10"),
    ("FAILBACK", "yes"),
    ("DAD", "yes"),
    ("DAD_TIMEOUT", "0.05"),
    ("DAD_GRACE", "2"),
    ("NGINX_RELOAD", "no"),
    ("NGINX_PIDFILE", ""),
    ("RELEASE_ON_EXIT", "yes"),
    ("STATE_FILE", "/run/vip-supervisor.state"),
    ("SYSLOG", "yes"),
];

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
