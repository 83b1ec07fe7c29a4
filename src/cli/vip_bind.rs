//! `vip-bind`: put a VIP on an interface, like the classic
//! `ifconfig eth0:1 VIP broadcast B netmask M up` + `route add -host VIP dev eth0:1`,
//! but idempotent, atomic (nothing half-applied) and with exit codes scripts can trust.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use super::out;
use super::target;
use crate::addr::{self, Bind, State, Vip};
use crate::error::{Error, Result};
use crate::exit;
use crate::iface;
use crate::netlink::Socket;

const PROG: &str = "vip-bind";

/// What each exit code means for `vip-bind`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both (`--help` shows the shared table).
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
    ///
    /// `added` or `present` is followed by the address, its interface and label, and by
    /// `(host route added)` when the host route was added now (`(host route added, replacing
    /// ROUTE)` when --force replaced another). With --check: `bound` or `not bound`, followed by
    /// the reason. Without -v, vip-bind is quiet on success.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the equivalent `ip` commands that would run now; change nothing
    ///
    /// One a line; nothing is printed when the address is already bound as described.
    /// Conflicts are still reported (exit 4) unless --force is given; then the `ip addr del`
    /// commands that would move or replace the address come first, followed by the `ip addr
    /// add` commands that put back the secondaries removed with it, and the `ip route del` of a
    /// host route replaced.
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// Address label IFACE:LABEL (or just LABEL); IPv4 only, at most 15 characters
    ///
    /// Same as writing IFACE:LABEL as the target; when both are given they must agree.
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// Broadcast address inside the subnet, or + to compute it; IPv4 only
    ///
    /// The address must lie inside the subnet of ADDR/PREFIX and differ from ADDR. + sets the
    /// subnet's all-ones address, as `ip addr add ... brd +` does; for /31 and /32 it sets none.
    #[arg(long, value_name = "B|+")]
    pub broadcast: Option<String>,
    /// Also add the host route ADDR/32 dev IFACE (the classic `route add -host`); one to ADDR
    /// on another device is a conflict (exit 4) unless --force
    ///
    /// /128 for IPv6. If it cannot be added, the address is removed again. A route to ADDR/32
    /// with the same metric on another device (or via a gateway, or a blackhole) is a conflict
    /// (exit 4, naming it) unless --force, which replaces it; routes of another metric are left
    /// alone (the host route, metric 0, is preferred over them). With --check, a missing host
    /// route, or a conflicting one, makes the check fail.
    #[arg(long)]
    pub host_route: bool,
    /// Probe for a duplicate first; exit 4 if another host answers for ADDR
    ///
    /// Before adding the address, vip-bind probes the network for another host that answers
    /// for ADDR, as `garp -D` does (this needs CAP_NET_RAW too). No probe is sent when the
    /// address is already on this host.
    #[arg(long)]
    pub dad: bool,
    // Help text from dad_timeout_help(), so that the range is the one the parser applies.
    #[arg(
        long,
        value_name = "S",
        default_value = "1",
        value_parser = parse_dad_timeout,
        help = dad_timeout_help(),
        long_help = format!(
            "{}\n\nThe wait adds to every bind, so keep it short where failover time matters.",
            dad_timeout_help()
        )
    )]
    pub dad_timeout: Duration,
    /// Exit 0 if ADDR is bound as described, 1 if not; change nothing
    ///
    /// As described: with the prefix length, and with the label, broadcast address and host
    /// route where given. With -v, `bound ...` or `not bound ...: REASON` is printed; without,
    /// a check prints nothing. A missing interface also exits 1; a bad command line still
    /// exits 2.
    #[arg(long)]
    pub check: bool,
    /// Move ADDR from another interface, or replace it when bound with another prefix, label
    /// or broadcast (secondaries the kernel removes with a primary are put back as they were);
    /// with --host-route, also replace a host route to ADDR on another device
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

/// The longest `--dad-timeout`, in seconds.
const MAX_DAD_TIMEOUT: u32 = 3600;

/// `--dad-timeout`: a deadline, more than 0 and at most [`MAX_DAD_TIMEOUT`].
fn parse_dad_timeout(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse_deadline(s, MAX_DAD_TIMEOUT)
}

/// `--dad-timeout`'s one-line help, stating the range [`parse_dad_timeout`] applies.
fn dad_timeout_help() -> String {
    format!(
        "How long --dad waits for an answer, in seconds: more than 0, at most \
         {MAX_DAD_TIMEOUT}; decimals allowed"
    )
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Run `vip-bind` with parsed arguments; returns the exit code.
pub fn run(args: &Args) -> Result<u8> {
    let t = target::parse(
        &args.target,
        &args.addr,
        args.label.as_deref(),
        args.broadcast.as_deref(),
        &args.words,
        &["up"],
    )?;
    let index = iface::index(&t.iface)?;
    let mut sock = Socket::open().map_err(|e| Error::os("open netlink socket", e, addr::CAP))?;
    let state = addr::read_state(&mut sock, t.addr, args.host_route)?;
    let prefix = t
        .prefix
        .unwrap_or_else(|| addr::default_prefix(&state.entries, index, t.addr));
    let req = Bind {
        index,
        vip: addr::validate(t.addr, prefix, t.label, t.broadcast)?,
        dev: t.iface,
        host_route: args.host_route,
        force: args.force,
    };
    if args.check {
        return Ok(check(args, &req, &state));
    }
    let plan = req.plan(&state)?;
    if args.dry_run {
        for line in plan.ip_commands() {
            out(&line);
        }
        return Ok(exit::SUCCESS);
    }
    if args.dad && plan.adds_new_address() {
        dad_probe(&req.dev, req.vip.addr, args.dad_timeout)?;
    }
    let applied = addr::execute(&mut sock, &plan)?;
    if args.verbose {
        let what = if applied.added { "added" } else { "present" };
        let replaced = plan.routes_removed();
        let route = match (applied.route_added, replaced.is_empty()) {
            (false, _) => String::new(),
            (true, true) => " (host route added)".to_string(),
            (true, false) => format!(" (host route added, replacing {})", replaced.join(", ")),
        };
        out(&format!("{what} {}{route}", vip_line(&req.vip, &req.dev)));
    }
    Ok(exit::SUCCESS)
}

/// `--check`: exit 0 if bound as asked, 1 if not; with `-v`, say which and why.
fn check(args: &Args, req: &Bind, state: &State) -> u8 {
    let line = vip_line(&req.vip, &req.dev);
    match req.check(state) {
        None => {
            if args.verbose {
                out(&format!("bound {line}"));
            }
            exit::SUCCESS
        }
        Some(why) => {
            if args.verbose {
                out(&format!("not bound {line}: {why}"));
            }
            exit::FAILURE
        }
    }
}

/// The VIP as the `-v` lines name it: `198.51.100.2/24 dev eth0 label eth0:ha1`.
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

    #[test]
    fn dad_timeout_range_is_the_one_the_help_states() {
        let parse = |t: &str| {
            Args::try_parse_from(["vip-bind", "--dad-timeout", t, "eth0", "198.51.100.2"])
        };
        assert!(parse("0").is_err(), "a deadline is more than 0");
        assert!(parse("0.05").is_ok());
        assert!(parse(&MAX_DAD_TIMEOUT.to_string()).is_ok());
        assert!(parse(&format!("{MAX_DAD_TIMEOUT}.5")).is_err());
        let help = command().render_long_help().to_string();
        assert!(
            help.contains(&format!("more than 0, at most {MAX_DAD_TIMEOUT}")),
            "{help}"
        );
        assert!(
            help.contains("keep it short where failover time matters"),
            "{help}"
        );
    }
}
