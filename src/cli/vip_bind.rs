//! `vip-bind`: put a VIP on an interface, like the classic
//! `ifconfig eth0:1 VIP broadcast B netmask M up` + `route add -host VIP dev eth0:1`,
//! but idempotent, atomic (nothing half-applied) and with exit codes scripts can trust.
//!
//! The grammar shared with `vip-unbind` (the `IFACE[:LABEL] ADDR[/PREFIX]` target and the
//! legacy ifconfig words) lives here too.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use super::out;
use crate::addr::{self, Broadcast, Entry, HostRoute, Vip, mismatch};
use crate::error::{Error, Result};
use crate::exit;
use crate::iface;
use crate::netlink::Socket;

const PROG: &str = "vip-bind";

/// What each exit code means for `vip-bind`, beside the shared table (`exit::TABLE`): `--help` and
/// the man page's EXIT STATUS show both.
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::FAILURE,
        "No such interface, or the kernel refused the change; with --check: ADDR is not bound as described.",
    ),
    (
        exit::USAGE,
        "A bad address, prefix, netmask, broadcast address, label or legacy word.",
    ),
    (
        exit::NOPERM,
        "The capability is CAP_NET_ADMIN (CAP_NET_RAW for --dad).",
    ),
    (
        exit::CONFLICT,
        "Another host answers for the address (--dad), or it is on another interface, or on IFACE with another prefix length, label or broadcast address; with --host-route, a host route to it goes through another device; and --force was not given.",
    ),
];

/// The clap definition of `vip-bind` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Bind a virtual IP to an interface (ifconfig IF:LABEL VIP ... up, route add -host).
///
/// Idempotent: binding an address that is already bound as described succeeds and changes
/// nothing. The legacy ifconfig form works too:
/// vip-bind eth0:ha1 198.51.100.2 broadcast 198.51.100.255 netmask 255.255.255.0 up
#[derive(Parser, Debug)]
#[command(name = "vip-bind", version, after_help = super::exit_help())]
pub struct Args {
    /// Print one line saying what happened: added or present (or bound / not bound with --check)
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the equivalent `ip` commands that would run now; change nothing
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// Address label IFACE:LABEL (or just LABEL); IPv4 only, at most 15 characters
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// Broadcast address inside the subnet, or + to compute it; IPv4 only
    #[arg(long, value_name = "B|+")]
    pub broadcast: Option<String>,
    /// Also add the host route ADDR/32 dev IFACE (the classic `route add -host`); one to ADDR
    /// on another device is a conflict (exit 4) unless --force
    #[arg(long)]
    pub host_route: bool,
    /// Probe for a duplicate first; exit 4 if another host answers for ADDR
    #[arg(long)]
    pub dad: bool,
    /// How long --dad waits for an answer, in seconds (decimals allowed)
    #[arg(long, value_name = "S", default_value = "1", value_parser = parse_dad_timeout)]
    pub dad_timeout: Duration,
    /// Exit 0 if ADDR is bound as described, 1 if not; change nothing
    #[arg(long)]
    pub check: bool,
    /// Move ADDR from another interface, or replace it when bound with another prefix, label
    /// or broadcast (secondaries the kernel removes with a primary are put back); with
    /// --host-route, also replace a host route to ADDR on another device
    #[arg(long)]
    pub force: bool,
    /// Interface, optionally with the label suffix: eth0 or eth0:ha1
    #[arg(value_name = "IFACE[:LABEL]")]
    pub target: String,
    /// The VIP, optionally with its prefix length: 198.51.100.2/24, 2001:db8::2/64
    #[arg(value_name = "ADDR[/PREFIX]")]
    pub addr: String,
    /// Legacy ifconfig words: broadcast B, netmask M, up
    #[arg(value_name = "WORDS")]
    pub words: Vec<String>,
}

/// What the command line asked for, before looking at the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub iface: String,
    pub label: Option<String>,
    pub addr: IpAddr,
    pub prefix: Option<u8>,
    pub broadcast: Broadcast,
}

/// Parse `IFACE[:LABEL] ADDR[/PREFIX]`, the `--label`/`--broadcast` flags and the legacy words.
/// `extra` lists the words this tool accepts besides `broadcast` and `netmask` (`up`, `down`).
pub fn parse_target(
    target: &str,
    addr_text: &str,
    label_flag: Option<&str>,
    broadcast_flag: Option<&str>,
    words: &[String],
    extra: &[&str],
) -> Result<Target> {
    let (iface, mut label) = match target.split_once(':') {
        Some((i, _)) => (i.to_string(), Some(target.to_string())),
        None => (target.to_string(), None),
    };
    iface::check_name(&iface)?;
    if let Some(l) = label_flag {
        let full = if l.contains(':') {
            l.to_string()
        } else {
            format!("{iface}:{l}")
        };
        if label.as_ref().is_some_and(|x| *x != full) {
            return Err(Error::usage(format!(
                "label {full:?} contradicts {target:?}"
            )));
        }
        label = Some(full);
    }
    if let Some(l) = &label {
        addr::check_label(&iface, l)?;
    }
    let (addr, mut prefix) = addr::parse_addr(addr_text)?;
    if let (Some(l), true) = (&label, addr.is_ipv6()) {
        return Err(Error::usage(format!(
            "IPv6 addresses have no labels: {l} {addr}"
        )));
    }
    let mut broadcast = match broadcast_flag {
        None => Broadcast::None,
        Some(b) => parse_broadcast(b)?,
    };
    let mut it = words.iter();
    let mut seen_mask = false;
    let mut seen_brd = false;
    let mut seen_extra: Vec<&str> = Vec::new();
    while let Some(word) = it.next() {
        match word.as_str() {
            "broadcast" => {
                let v = value(&mut it, "broadcast")?;
                let b = parse_broadcast(v)?;
                if seen_brd || (broadcast_flag.is_some() && broadcast != b) {
                    return Err(Error::usage(format!("broadcast given twice: {v}")));
                }
                seen_brd = true;
                broadcast = b;
            }
            "netmask" => {
                let v = value(&mut it, "netmask")?;
                if addr.is_ipv6() {
                    return Err(Error::usage(format!(
                        "netmask {v} given for IPv6 address {addr}: use ADDR/PREFIX"
                    )));
                }
                let p = addr::netmask_prefix(v)?;
                if seen_mask {
                    return Err(Error::usage(format!("netmask given twice: {v}")));
                }
                if prefix.is_some_and(|x| x != p) {
                    return Err(Error::usage(format!(
                        "netmask {v} contradicts the prefix of {addr_text}"
                    )));
                }
                seen_mask = true;
                prefix = Some(p);
            }
            w if extra.contains(&w) => {
                if seen_extra.contains(&w) {
                    return Err(Error::usage(format!("{w} given twice")));
                }
                seen_extra.push(w);
            }
            w => {
                let mut expected = vec!["broadcast B", "netmask M"];
                expected.extend_from_slice(extra);
                return Err(Error::usage(format!(
                    "unknown word {w:?} (expected {})",
                    expected.join(", ")
                )));
            }
        }
    }
    Ok(Target {
        iface,
        label,
        addr,
        prefix,
        broadcast,
    })
}

/// `--dad-timeout`: a deadline, more than 0 and at most an hour.
fn parse_dad_timeout(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse_deadline(s, 3600)
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, word: &str) -> Result<&'a str> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| Error::usage(format!("{word} needs a value")))
}

fn parse_broadcast(text: &str) -> Result<Broadcast> {
    if text == "+" {
        return Ok(Broadcast::Computed);
    }
    text.parse::<Ipv4Addr>()
        .map(Broadcast::Explicit)
        .map_err(|_| Error::usage(format!("invalid broadcast address: {text:?}")))
}

/// The `ip addr` command equivalent to adding `vip`.
pub fn ip_add_cmd(vip: &Vip, dev: &str) -> String {
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

/// The `ip route` command equivalent to the classic `route add -host`.
pub fn ip_route_cmd(verb: &str, addr: IpAddr, dev: &str) -> String {
    format!(
        "ip route {verb} {addr}/{} dev {dev}",
        addr::max_prefix(addr)
    )
}

/// Describe an existing entry the way `ip addr` would.
pub fn describe(e: &Entry, dev: &str) -> String {
    let mut s = format!("{}/{} dev {dev}", e.addr, e.prefix);
    if let Some(b) = e.broadcast {
        s.push_str(&format!(" brd {b}"));
    }
    if let Some(l) = e.label.as_ref().filter(|l| l.as_str() != dev) {
        s.push_str(&format!(" label {l}"));
    }
    s
}

/// Interface name for an index, from the address list, falling back to the number.
fn dev_name(index: u32) -> String {
    nix::net::if_::if_indextoname(index)
        .ok()
        .and_then(|c| c.into_string().ok())
        .unwrap_or_else(|| format!("if{index}"))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Run `vip-bind` with parsed arguments; returns the exit code.
pub fn run(args: &Args) -> Result<u8> {
    let t = parse_target(
        &args.target,
        &args.addr,
        args.label.as_deref(),
        args.broadcast.as_deref(),
        &args.words,
        &["up"],
    )?;
    let index = iface::index(&t.iface)?;
    let dev = t.iface.as_str();
    let mut sock = Socket::open().map_err(|e| Error::os("open netlink socket", e, addr::CAP))?;
    let entries = addr::list(&mut sock, t.addr.is_ipv6())?;
    let here = entries
        .iter()
        .find(|e| e.index == index && e.addr == t.addr);

    // No prefix given: the one ADDR is bound with here (a missing prefix matches any, like a
    // missing label), else that of the interface address that covers ADDR, else /32 (/128).
    let prefix = t.prefix.or(here.map(|e| e.prefix)).unwrap_or_else(|| {
        entries
            .iter()
            .find(|e| {
                e.index == index && e.addr != t.addr && addr::covers(e.addr, e.prefix, t.addr)
            })
            .map_or(addr::max_prefix(t.addr), |e| e.prefix)
    });
    let vip = addr::validate(t.addr, prefix, t.label.clone(), t.broadcast)?;
    let elsewhere: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.index != index && e.addr == vip.addr)
        .collect();
    let routes = if args.host_route {
        addr::host_routes(&mut sock, vip.addr)?
    } else {
        Vec::new()
    };
    let route_here = routes.iter().any(|r| r.is_plain_on(index));
    // Routes to ADDR/32 of our metric on another device (or via a gateway, or blackholes):
    // the kernel would refuse ours as a duplicate, or keep routing through them.
    let rivals: Vec<&HostRoute> = routes
        .iter()
        .filter(|r| !r.is_plain_on(index) && r.competes())
        .collect();
    let differs = here.and_then(|e| {
        mismatch(
            e,
            Some(vip.prefix),
            vip.label.as_deref(),
            vip.broadcast,
            dev,
        )
    });

    if args.check {
        let verdict = match (here, &differs, elsewhere.first(), rivals.first()) {
            (None, _, Some(o), _) => Some(format!("on {} instead", dev_name(o.index))),
            (None, _, None, _) => Some(format!("not on {dev}")),
            (Some(_), Some(why), _, _) => Some(why.clone()),
            (Some(_), None, _, Some(r)) => Some(format!(
                "host route {} {}",
                r.describe(dev_name),
                if route_here {
                    "competes with ours"
                } else {
                    "instead"
                }
            )),
            (Some(_), None, _, _) if args.host_route && !route_here => {
                Some("host route missing".to_string())
            }
            _ => None,
        };
        return Ok(match verdict {
            None => {
                if args.verbose {
                    out(&format!("bound {}", vip_line(&vip, dev)));
                }
                exit::SUCCESS
            }
            Some(why) => {
                if args.verbose {
                    out(&format!("not bound {}: {why}", vip_line(&vip, dev)));
                }
                exit::FAILURE
            }
        });
    }

    if !args.force {
        if let Some(o) = elsewhere.first() {
            return Err(Error::conflict(format!(
                "{} is already on {}; use --force to move it",
                vip.addr,
                dev_name(o.index)
            )));
        }
        if let (Some(e), Some(why)) = (here, &differs) {
            return Err(Error::conflict(format!(
                "{} is on {dev} as {} ({why}); use --force to replace it",
                vip.addr,
                describe(e, dev)
            )));
        }
        if let Some(r) = rivals.first() {
            return Err(Error::conflict(format!(
                "host route {} is already there, not via {dev}; use --force to replace it",
                r.describe(dev_name)
            )));
        }
    }

    // What each removal takes with it: deleting a primary flushes its secondaries when
    // promote_secondaries is off. They are put back as they were; none is lost to --force.
    let replace = differs.is_some();
    let plan = Plan {
        vip: &vip,
        index,
        dev,
        moves: elsewhere
            .iter()
            .map(|o| {
                let odev = dev_name(o.index);
                let flushed = addr::flushed_with(o, &entries, addr::promotes_secondaries(&odev));
                (*o, odev, flushed)
            })
            .collect(),
        replaced: here.filter(|_| replace).map(|e| {
            let flushed = addr::flushed_with(e, &entries, addr::promotes_secondaries(dev));
            (e, flushed)
        }),
        add_addr: here.is_none() || replace,
        rivals,
        add_route: args.host_route && !route_here,
    };
    if args.dry_run {
        for line in plan.ip_commands() {
            out(&line);
        }
        return Ok(exit::SUCCESS);
    }

    if plan.add_addr && args.dad && here.is_none() && elsewhere.is_empty() {
        dad_probe(dev, vip.addr, args.dad_timeout)?;
    }

    let mut done = Vec::new();
    match plan.apply(&mut sock, &mut done) {
        Ok((added, route_added)) => {
            if args.verbose {
                let what = if added { "added" } else { "present" };
                let route = match (route_added, plan.rivals.is_empty()) {
                    (false, _) => String::new(),
                    (true, true) => " (host route added)".to_string(),
                    (true, false) => {
                        let old: Vec<String> =
                            plan.rivals.iter().map(|r| r.describe(dev_name)).collect();
                        format!(" (host route added, replacing {})", old.join(", "))
                    }
                };
                out(&format!("{what} {}{route}", vip_line(&vip, dev)));
            }
            Ok(exit::SUCCESS)
        }
        Err(e) => {
            // Nothing half-applied: undo what was done, last step first.
            for step in done.into_iter().rev() {
                step.undo(&mut sock);
            }
            Err(e)
        }
    }
}

/// Everything a bind will change, decided before the first change (also what `-n` prints).
struct Plan<'a> {
    vip: &'a Vip,
    index: u32,
    dev: &'a str,
    /// Copies on other interfaces to remove (--force): each with its interface's name and the
    /// secondaries the kernel removes with it, to put back.
    moves: Vec<(&'a Entry, String, Vec<Entry>)>,
    /// The copy here to replace (--force), with the secondaries removed with it.
    replaced: Option<(&'a Entry, Vec<Entry>)>,
    add_addr: bool,
    /// Host routes to remove first (--force).
    rivals: Vec<&'a HostRoute>,
    add_route: bool,
}

/// One change made, and how to take it back.
enum Step {
    /// An address removed, and what the kernel removed with it.
    Removed(u32, Entry, Vec<Entry>),
    Added(u32, Vip),
    RouteRemoved(HostRoute),
    RouteAdded(u32, IpAddr),
}

impl Step {
    /// Best effort: the address set is restored, though a put-back primary may come back as
    /// a secondary of what was re-added after it.
    fn undo(self, sock: &mut Socket) {
        match self {
            Step::Removed(idx, old, flushed) => {
                let odev = dev_name(idx);
                let _ = addr::add(sock, idx, &odev, &old.as_vip(&odev));
                let _ = addr::readd(sock, idx, &odev, &flushed);
            }
            Step::Added(idx, vip) => {
                let _ = addr::del(sock, idx, &dev_name(idx), vip.addr, vip.prefix);
            }
            Step::RouteRemoved(r) => {
                let _ = addr::readd_route(sock, &r);
            }
            Step::RouteAdded(idx, a) => {
                let _ = addr::del_host_route(sock, idx, &dev_name(idx), a);
            }
        }
    }
}

impl Plan<'_> {
    /// The `ip` commands equivalent to [`Plan::apply`], in its order.
    fn ip_commands(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (o, odev, flushed) in &self.moves {
            lines.push(format!("ip addr del {}/{} dev {odev}", o.addr, o.prefix));
            lines.extend(flushed.iter().map(|x| ip_add_cmd(&x.as_vip(odev), odev)));
        }
        if let Some((e, _)) = &self.replaced {
            lines.push(format!(
                "ip addr del {}/{} dev {}",
                e.addr, e.prefix, self.dev
            ));
        }
        if self.add_addr {
            lines.push(ip_add_cmd(self.vip, self.dev));
        }
        if let Some((_, flushed)) = &self.replaced {
            lines.extend(
                flushed
                    .iter()
                    .map(|x| ip_add_cmd(&x.as_vip(self.dev), self.dev)),
            );
        }
        for r in &self.rivals {
            lines.push(format!("ip route del {}", r.describe(dev_name)));
        }
        if self.add_route {
            lines.push(ip_route_cmd("add", self.vip.addr, self.dev));
        }
        lines
    }

    /// Make the change, recording each step in `done` so the caller can undo them. Returns
    /// whether the address and the host route were added now.
    fn apply(&self, sock: &mut Socket, done: &mut Vec<Step>) -> Result<(bool, bool)> {
        let (vip, index, dev) = (self.vip, self.index, self.dev);
        for (o, odev, flushed) in &self.moves {
            addr::del(sock, o.index, odev, o.addr, o.prefix)?;
            done.push(Step::Removed(o.index, (*o).clone(), flushed.clone()));
            addr::readd(sock, o.index, odev, flushed)?;
        }
        if let Some((e, flushed)) = &self.replaced {
            addr::del(sock, index, dev, e.addr, e.prefix)?;
            done.push(Step::Removed(index, (*e).clone(), flushed.clone()));
        }
        let mut added = false;
        if self.add_addr {
            match addr::add(sock, index, dev, vip) {
                Ok(()) => {
                    added = true;
                    done.push(Step::Added(index, vip.clone()));
                }
                // Someone else added it between our look and our add: it is there now.
                Err(e) if addr::is_exists(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((_, flushed)) = &self.replaced {
            // After the new address, so that it stays the primary of its subnet.
            addr::readd(sock, index, dev, flushed)?;
        }
        for r in &self.rivals {
            addr::del_route(sock, r, &r.describe(dev_name))?;
            done.push(Step::RouteRemoved((*r).clone()));
        }
        let mut route_added = false;
        if self.add_route {
            match addr::add_host_route(sock, index, dev, vip.addr) {
                Ok(()) => {
                    route_added = true;
                    done.push(Step::RouteAdded(index, vip.addr));
                }
                // Added meanwhile: fine if it is ours, a conflict if another appeared.
                Err(e) if addr::is_exists(&e) => {
                    let routes = addr::host_routes(sock, vip.addr)?;
                    if !routes.iter().any(|r| r.is_plain_on(index)) {
                        let other = routes
                            .iter()
                            .find(|r| r.competes())
                            .map_or_else(String::new, |r| format!(" {}", r.describe(dev_name)));
                        return Err(Error::conflict(format!(
                            "host route{other} appeared meanwhile, not via {dev}; use --force \
                             to replace it"
                        )));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok((added, route_added))
    }
}

fn vip_line(vip: &Vip, dev: &str) -> String {
    let mut s = format!("{} dev {dev}", vip.cidr());
    if let Some(l) = &vip.label {
        s.push_str(&format!(" label {l}"));
    }
    s
}

/// `--dad`: refuse to bind an address another host answers for (exit 4), like `garp -D`.
fn dad_probe(dev: &str, addr: IpAddr, wait: Duration) -> Result<()> {
    match crate::arp::probe(dev, addr, wait)? {
        None => Ok(()),
        Some(mac) => Err(crate::arp::duplicate(addr, mac, dev)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn target(t: &str, a: &str, w: &[&str]) -> Result<Target> {
        parse_target(t, a, None, None, &words(w), &["up"])
    }

    #[test]
    fn legacy_ifconfig_form() {
        let t = target(
            "eth0:ha1",
            "198.51.100.2",
            &[
                "broadcast",
                "198.51.100.255",
                "netmask",
                "255.255.255.0",
                "up",
            ],
        )
        .unwrap();
        assert_eq!(t.iface, "eth0");
        assert_eq!(t.label.as_deref(), Some("eth0:ha1"));
        assert_eq!(t.prefix, Some(24));
        assert_eq!(
            t.broadcast,
            Broadcast::Explicit("198.51.100.255".parse().unwrap())
        );
    }

    #[test]
    fn modern_form_and_label_flag() {
        let t = parse_target(
            "eth0",
            "198.51.100.2/24",
            Some("ha1"),
            Some("+"),
            &[],
            &["up"],
        )
        .unwrap();
        assert_eq!(t.label.as_deref(), Some("eth0:ha1"));
        assert_eq!(t.broadcast, Broadcast::Computed);
        assert_eq!(t.prefix, Some(24));
        let t = target("eth0", "2001:db8::2", &[]).unwrap();
        assert_eq!(t.prefix, None);
    }

    #[test]
    fn classic_typos_are_usage_errors_naming_the_word() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            (
                "eth0:1",
                "198.51.100.2",
                &["netamsk", "255.255.255.0"],
                "netamsk",
            ),
            (
                "eth0:1",
                "198.51.100.2",
                &["netmask", "255.0.255.0"],
                "255.0.255.0",
            ),
            ("eth0:1", "198.51.100.256", &[], "198.51.100.256"),
            ("eth0:1", "198.51.100.2", &["netmask"], "netmask"),
            (
                "eth0:1",
                "198.51.100.2",
                &["broadcast", "198.51.101.255x"],
                "198.51.101.255x",
            ),
            (
                "eth0:1",
                "198.51.100.2/24",
                &["netmask", "255.255.0.0"],
                "255.255.0.0",
            ),
            ("eth0:1", "198.51.100.2", &["down"], "down"),
            ("eth0:", "198.51.100.2", &[], "eth0:"),
            ("eth1:x", "2001:db8::2", &[], "eth1:x"),
            (
                "eth0:waytoolonglabel",
                "198.51.100.2",
                &[],
                "waytoolonglabel",
            ),
            ("etho/1", "198.51.100.2", &[], "etho/1"),
        ];
        for (t, a, w, needle) in cases {
            let e = target(t, a, w).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{t} {a} {w:?}: {e}");
            assert!(e.to_string().contains(needle), "{e} should name {needle}");
        }
    }

    #[test]
    fn a_word_given_twice_says_so() {
        let cases: &[(&[&str], &str)] = &[
            (&["up", "up"], "up given twice"),
            (
                &["netmask", "255.255.255.0", "netmask", "255.255.255.0"],
                "netmask given twice",
            ),
            (
                &["broadcast", "198.51.100.255", "broadcast", "198.51.100.255"],
                "broadcast given twice",
            ),
        ];
        for (w, needle) in cases {
            let e = target("eth0:1", "198.51.100.2", w).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e}");
        }
        let e = parse_target(
            "eth0",
            "198.51.100.2",
            None,
            None,
            &words(&["down", "down"]),
            &["down"],
        )
        .unwrap_err();
        assert!(e.to_string().contains("down given twice"), "{e}");
        // A netmask that agrees with the prefix is not a repetition.
        assert!(target("eth0", "198.51.100.2/24", &["netmask", "255.255.255.0"]).is_ok());
    }

    #[test]
    fn contradicting_label_flag_is_refused() {
        let e = parse_target("eth0:a", "198.51.100.2", Some("b"), None, &[], &["up"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn ip_equivalents() {
        let vip = addr::validate(
            "198.51.100.2".parse().unwrap(),
            24,
            Some("eth0:ha1".into()),
            Broadcast::Computed,
        )
        .unwrap();
        assert_eq!(
            ip_add_cmd(&vip, "eth0"),
            "ip addr add 198.51.100.2/24 brd 198.51.100.255 dev eth0 label eth0:ha1"
        );
        assert_eq!(
            ip_route_cmd("add", vip.addr, "eth0"),
            "ip route add 198.51.100.2/32 dev eth0"
        );
    }

    #[test]
    fn clap_accepts_both_forms() {
        let a = Args::try_parse_from([
            "vip-bind",
            "-v",
            "eth0:ha1",
            "198.51.100.2",
            "netmask",
            "255.255.255.0",
            "up",
        ])
        .unwrap();
        assert_eq!(a.words, ["netmask", "255.255.255.0", "up"]);
        let a =
            Args::try_parse_from(["vip-bind", "--host-route", "eth0", "198.51.100.2/24"]).unwrap();
        assert!(a.host_route);
    }
}
