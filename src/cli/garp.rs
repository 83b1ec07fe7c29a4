//! `garp`: announce that an address now lives at this host's MAC, or probe whether another host
//! already uses it. The classic equivalent is iputils `arping`, whose flags and semantics it keeps
//! (`garp -I eth0 -c 3 -s VIP GW` is `arping -I eth0 -c 3 -s VIP GW`), but it returns right after
//! the last packet instead of waiting a second for replies, refuses to announce an address the
//! interface does not hold, and speaks IPv6 (neighbour advertisements and NS probes) too.
//!
//! Parsing and planning (which frames, how often) are pure and unit-tested here; the frames, the
//! plan's execution and the socket are in [`crate::arp`].
//!
//! Longer than the ~600 lines a file should keep to: about 300 of them are the unit tests of the
//! arping grammar and the plan, and the clap definition carries the long option docs that
//! `--help` and man/garp.8's OPTIONS are generated from. What is left is one tool's grammar and
//! plan, which read best next to their tests.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::addr;
use crate::arp::{self, Arp, Nd, Packet, Plan};
use crate::error::{Error, Result};
use crate::exit;
use crate::iface::{self, Interface};

const PROG: &str = "garp";

/// What each exit code means for `garp`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both (`--help` shows the shared table).
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::SUCCESS,
        "With -D: nobody answered within the deadline.",
    ),
    (
        exit::FAILURE,
        "No such interface; interface down, without carrier, without an Ethernet address (loopback) or NOARP; SOURCE not an address of IFACE (without --force); no IPv4 address to send an ordinary request from; a send failed.",
    ),
    (
        exit::USAGE,
        "A bad flag, address, count (-c 0) or number of seconds; source and target of different families; an IPv6 target other than the source; -D without TARGET; nothing to announce.",
    ),
    (exit::NOPERM, "Opening the packet socket needs CAP_NET_RAW."),
    (
        exit::CONFLICT,
        "With -D: another host answered for TARGET; the message names its MAC address.",
    ),
];

/// The clap definition of `garp` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// How long `-D` waits for an answer when `-w` is not given.
const DEFAULT_DAD_WAIT: Duration = Duration::from_secs(1);

/// Send gratuitous or gateway-aimed ARP (IPv6: unsolicited neighbour advertisements), or probe
/// for a duplicate address. Flags follow iputils arping.
///
/// `garp -I eth0 -s VIP GW` sends "who-has GW tell VIP" from eth0's MAC: the gateway answers
/// and, doing so, learns VIP's new MAC. Without TARGET the announcement is unsolicited
/// (sender = target = SOURCE). Quiet on success; returns right after the last packet.
#[derive(Parser, Debug, Clone, PartialEq)]
#[command(
    name = "garp",
    version,
    after_help = super::exit_help(),
    override_usage = "garp [-U|-A|--both] [-c COUNT] [-i SECONDS] [-w SECONDS] [-q|-v] [--force] -I IFACE [-s SOURCE] [TARGET]\n       garp -D [-c COUNT] [-i SECONDS] [-w SECONDS] [-q|-v] -I IFACE TARGET"
)]
pub struct Args {
    /// Interface to send on (an alias name IFACE:LABEL means IFACE, whatever label SOURCE has)
    ///
    /// Required. An alias name, as ifconfig(8) scripts use, is resolved as the kernel resolves
    /// it for ifconfig, route and older arping (current iputils arping refuses it). ARP belongs
    /// to the interface, not to a label, so the label need not be the one SOURCE carries; it
    /// must only be well formed (a usage error otherwise, as for "eth0:").
    #[arg(short = 'I', long = "interface", value_name = "IFACE")]
    pub interface: String,

    /// Address to announce: the ARP sender (IPv6: the advertised target). Must be an address of
    /// IFACE unless --force
    ///
    /// Otherwise exit 1. A labelled address ("ip addr add ... dev eth0 label eth0:ha1",
    /// "vip-bind eth0:ha1 ...") is an address of eth0: the interface's addresses are read over
    /// rtnetlink, as "ip addr" shows them. Not allowed with -D, whose probes come from 0.0.0.0
    /// (IPv6: ::).
    #[arg(short = 's', long = "source", value_name = "SOURCE")]
    pub source: Option<IpAddr>,

    /// Unsolicited ARP request: sender = target = SOURCE, or TARGET without -s (given both, as
    /// in arping: who-has TARGET tell SOURCE)
    #[arg(short = 'U', long = "unsolicited", conflicts_with_all = ["reply", "both"])]
    pub unsolicited: bool,

    /// ARP reply instead of request (arping -A); SOURCE defaults to TARGET and vice versa
    ///
    /// The reply says "SOURCE is-at MAC", with the target hardware address set to our own MAC:
    /// Linux treats a reply as gratuitous only then.
    #[arg(short = 'A', long = "reply", conflicts_with = "both")]
    pub reply: bool,

    /// Each round sends a request and then a reply
    ///
    /// The reply follows right after the request. SOURCE and TARGET default to each other as
    /// for -A.
    #[arg(long = "both")]
    pub both: bool,

    #[arg(
        short = 'D',
        long = "dad",
        conflicts_with_all = ["unsolicited", "reply", "both", "source", "force"],
        help = DAD_HELP,
        long_help = format!(
            "{DAD_HELP}\n\n\
             The probe is RFC 5227's \"who-has TARGET tell 0.0.0.0\"; for an IPv6 TARGET, a \
             neighbour solicitation from :: to its solicited-node multicast address (RFC 4862). \
             The deadline is -w (default {}); exit 4 comes as soon as another host \
             answers.\n\n\
             An answer is, as for \"arping -D\", any ARP request or reply whose sender is \
             TARGET from a MAC other than ours; for IPv6, a neighbour advertisement for TARGET \
             from another MAC. Another host probing for the same address at the same moment is \
             not counted.",
            crate::secs::show(DEFAULT_DAD_WAIT)
        )
    )]
    pub dad: bool,

    /// Packets (rounds) to send
    ///
    /// Rounds matter with --both, which sends two packets in each. At least 1; the first goes
    /// out at once.
    #[arg(
        short = 'c',
        long = "count",
        value_name = "COUNT",
        default_value_t = 1,
        value_parser = parse_count,
        allow_hyphen_values = true
    )]
    pub count: u32,

    #[arg(
        short = 'i',
        long = "interval",
        value_name = "SECONDS",
        default_value = "1",
        value_parser = parse_interval,
        allow_hyphen_values = true,
        help = INTERVAL_HELP,
        long_help = format!(
            "{INTERVAL_HELP}\n\n\
             Also .5; from 0 to {MAX_SECONDS}. Packets follow a fixed schedule from the first, \
             so they do not drift."
        )
    )]
    pub interval: Duration,

    #[arg(
        short = 'w',
        long = "deadline",
        value_name = "SECONDS",
        value_parser = parse_deadline,
        allow_hyphen_values = true,
        help = deadline_help(),
        long_help = format!(
            "{}\n\n\
             No packet is sent once this many seconds have passed since the first; more than \
             0, at most {MAX_SECONDS}. With -D the wait runs from the first probe. Without -D, \
             garp still returns right after its last packet.",
            deadline_help()
        )
    )]
    pub deadline: Option<Duration>,

    /// Print nothing, not even the answering MAC of -D (errors are still printed)
    ///
    /// Success and conflict are told by the exit status alone.
    #[arg(short = 'q', long = "quiet", conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say what was sent (and, with -D, what answered)
    ///
    /// One line on standard output per packet sent, saying what it was; with -D, the verdict:
    /// which MAC answered, or that nobody did.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Announce SOURCE even if IFACE does not hold it
    #[arg(long = "force")]
    pub force: bool,

    /// ARP target (the gateway, for a gateway-aimed request); the address to probe with -D
    ///
    /// With -U, -A or --both and no -s, the address to announce. An IPv6 TARGET other than
    /// SOURCE is refused: IPv6 announcements go to all nodes.
    #[arg(value_name = "TARGET")]
    pub target: Option<IpAddr>,
}

/// `-D`'s short help; its long help adds the numbers from the code.
const DAD_HELP: &str = "Duplicate-address probe for TARGET (from 0.0.0.0, IPv6: NS from ::): \
                        exit 0 if nobody answers within the deadline, 4 and the answering MAC \
                        if someone does";

/// `-i`'s short help.
const INTERVAL_HELP: &str = "Seconds between packets, decimals allowed (0.2)";

/// `-w`'s short help, with -D's default wait from the code.
fn deadline_help() -> String {
    format!(
        "Stop after this many seconds, decimals allowed; with -D, how long to wait for an answer \
         (default {})",
        crate::secs::show(DEFAULT_DAD_WAIT)
    )
}

/// The longest interval or deadline accepted: a day is already far beyond any use.
const MAX_SECONDS: u32 = 86_400;

fn parse_count(s: &str) -> std::result::Result<u32, String> {
    match s.parse::<u32>() {
        Ok(0) => Err("the count must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a whole number".into()),
    }
}

/// `-i`: seconds between packets, 0 to a day.
fn parse_interval(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse(s, MAX_SECONDS)
}

/// `-w`: a deadline, more than 0 and at most a day.
fn parse_deadline(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse_deadline(s, MAX_SECONDS)
}

/// Which announcement form was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Default: "who-has TARGET tell SOURCE".
    Request,
    /// `-U`: request with sender = target.
    Unsolicited,
    /// `-A`: reply.
    Reply,
    /// `--both`: request, then reply.
    Both,
    /// `-D`: duplicate-address probe.
    Probe,
}

impl Args {
    /// The form asked for by the flags.
    pub fn mode(&self) -> Mode {
        if self.dad {
            Mode::Probe
        } else if self.both {
            Mode::Both
        } else if self.reply {
            Mode::Reply
        } else if self.unsolicited {
            Mode::Unsolicited
        } else {
            Mode::Request
        }
    }

    /// The interface name without an `:LABEL` alias suffix: `-I eth0:ha1` sends on eth0, as
    /// the kernel resolves an alias name for `ifconfig`, `route` and the classic `arping`. The
    /// label must be well formed (`eth0:` is a usage error); which label SOURCE carries does
    /// not matter, ARP being per interface.
    pub fn device(&self) -> Result<&str> {
        match self.interface.split_once(':') {
            None => Ok(self.interface.as_str()),
            Some((dev, _)) => {
                iface::check_name(dev)?;
                addr::check_label(dev, &self.interface)?;
                Ok(dev)
            }
        }
    }
}

/// Check the addresses alone: families match, -D has a target, unicast everywhere (exit 2).
fn check_addresses(args: &Args) -> Result<()> {
    for a in [args.source, args.target].into_iter().flatten() {
        if !is_unicast(a) {
            return Err(Error::usage(format!("not a unicast address: {a}")));
        }
    }
    if let (Some(s), Some(t)) = (args.source, args.target) {
        if s.is_ipv4() != t.is_ipv4() {
            return Err(Error::usage(format!(
                "source {s} and target {t} are of different families"
            )));
        }
        if s.is_ipv6() && s != t {
            return Err(Error::usage(format!(
                "IPv6 announcements go to all nodes (ff02::1), not to a target: \
                 drop {t} or make it {s}"
            )));
        }
    }
    match (args.dad, args.source, args.target) {
        (true, _, None) => Err(Error::usage("-D needs the TARGET address to probe")),
        (false, None, None) => Err(Error::usage(
            "nothing to announce: give -s SOURCE, TARGET, or both",
        )),
        _ => Ok(()),
    }
}

fn is_unicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// The address `arping` would send from when only TARGET is given: the interface's IPv4 address
/// whose prefix covers TARGET, else its first IPv4 address.
fn source_for(iface: &Interface, target: Ipv4Addr) -> Option<Ipv4Addr> {
    let mut v4 = iface.addrs.iter().filter_map(|(a, p)| match a {
        IpAddr::V4(a) => Some((*a, *p)),
        IpAddr::V6(_) => None,
    });
    let first = v4.clone().next();
    v4.find(|(a, p)| addr::covers(IpAddr::V4(*a), *p, IpAddr::V4(target)))
        .or(first)
        .map(|(a, _)| a)
}

/// Decide everything from the arguments and what the interface looks like (pure).
pub fn plan(args: &Args, iface: &Interface) -> Result<Plan> {
    check_addresses(args)?;
    let mode = args.mode();
    if mode == Mode::Probe {
        let target = args.target.ok_or_else(|| Error::usage("-D needs TARGET"))?;
        let wait = args.deadline.unwrap_or(DEFAULT_DAD_WAIT);
        return Ok(Plan {
            count: args.count,
            interval: args.interval,
            ..Plan::dad(iface, target, wait)?
        });
    }
    let mac = arp::ethernet_mac(iface)?;
    let name = &iface.name;
    let (source, target) = match (args.source, args.target) {
        (Some(s), Some(t)) => (s, t),
        (Some(s), None) => (s, s),
        (None, Some(IpAddr::V4(t))) if mode == Mode::Request => {
            let s = source_for(iface, t).ok_or_else(|| {
                Error::failed(format!("{name} has no IPv4 address to send from: give -s"))
            })?;
            (IpAddr::V4(s), IpAddr::V4(t))
        }
        (None, Some(t)) => (t, t),
        (None, None) => return Err(Error::usage("nothing to announce")),
    };
    if !args.force && !iface.holds(source) {
        return Err(Error::failed(format!(
            "{source} is not an address of {name}: announcing it would point neighbours at \
             this host (--force to send anyway)"
        )));
    }
    let mut packets = Vec::new();
    match (source, target) {
        (IpAddr::V4(s), IpAddr::V4(t)) => {
            if matches!(mode, Mode::Request | Mode::Unsolicited | Mode::Both) {
                packets.push(Packet::Arp(Arp::request(mac, s, t)));
            }
            if matches!(mode, Mode::Reply | Mode::Both) {
                packets.push(Packet::Arp(Arp::reply(mac, s, t)));
            }
        }
        (IpAddr::V6(s), _) => packets.push(Packet::Nd(Nd::unsolicited_na(mac, s))),
        (s, t) => {
            return Err(Error::usage(format!(
                "source {s} and target {t} are of different families"
            )));
        }
    }
    Ok(Plan {
        iface: name.clone(),
        ifindex: iface.index,
        mac,
        packets,
        count: args.count,
        interval: args.interval,
        deadline: args.deadline,
        probe: None,
    })
}

/// Parse, plan, send; the exit code on success.
pub fn run(args: &Args) -> Result<u8> {
    // Pure checks first, so that a bad command line is exit 2 whatever the interface.
    check_addresses(args)?;
    let iface = iface::lookup(args.device()?)?;
    let plan = plan(args, &iface)?;
    let answer = arp::execute(&plan, &mut |line| {
        if args.verbose {
            super::out(line);
        }
    })?;
    match (answer, plan.probe) {
        (Some(_), Some(_)) if args.quiet => Ok(exit::CONFLICT),
        (Some(mac), Some(target)) => Err(arp::duplicate(target, mac, &plan.iface)),
        _ => Ok(exit::SUCCESS),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const MAC: arp::Mac = [0x02, 0, 0, 0, 0, 5];

    /// A command line as `main` parses it; clap's errors as the usage errors it prints.
    fn args(line: &str) -> Result<Args> {
        crate::cli::parse(std::iter::once("garp").chain(line.split_whitespace()))
            .map_err(|e| Error::usage(crate::cli::clap_line(&e)))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn eth0() -> Interface {
        let addrs = vec![
            (ip("198.51.100.5"), 24),
            (ip("198.51.100.2"), 24),
            (ip("2001:db8::5"), 64),
            (ip("2001:db8::2"), 64),
        ];
        Interface::ethernet("eth0", 7, MAC, addrs)
    }

    fn plan_of(line: &str) -> Result<Plan> {
        plan(&args(line)?, &eth0())
    }

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn ops_line_is_a_gateway_aimed_request_three_times() {
        let p = plan_of("-I eth0 -c 3 -s 198.51.100.2 198.51.100.1").unwrap();
        assert_eq!(
            p.packets,
            vec![Packet::Arp(Arp::request(
                MAC,
                v4("198.51.100.2"),
                v4("198.51.100.1")
            ))]
        );
        assert_eq!(p.count, 3);
        assert_eq!(p.interval, Duration::from_secs(1));
        assert_eq!(p.deadline, None);
        assert_eq!(p.probe, None);
        assert_eq!(p.ifindex, 7);
    }

    #[test]
    fn arping_flag_spellings_parse() {
        let a = args("-c3 -i0.2 -w 2 -Ieth0 -s198.51.100.2 -U -q").unwrap();
        assert_eq!(a.count, 3);
        assert_eq!(a.interval, Duration::from_millis(200));
        assert_eq!(a.deadline, Some(Duration::from_secs(2)));
        assert_eq!(a.interface, "eth0");
        assert!(a.unsolicited && a.quiet);
        let b =
            args("--interface eth0 --count 3 --interval .5 --source 198.51.100.2 --both").unwrap();
        assert_eq!(b.interval, Duration::from_millis(500));
        assert_eq!(b.mode(), Mode::Both);
    }

    #[test]
    fn no_target_is_unsolicited_for_source() {
        let p = plan_of("-I eth0 -s 198.51.100.2").unwrap();
        let vip = v4("198.51.100.2");
        assert_eq!(p.packets, vec![Packet::Arp(Arp::request(MAC, vip, vip))]);
    }

    #[test]
    fn unsolicited_and_reply_take_source_from_target() {
        let vip = v4("198.51.100.2");
        let p = plan_of("-I eth0 -U 198.51.100.2").unwrap();
        assert_eq!(p.packets, vec![Packet::Arp(Arp::request(MAC, vip, vip))]);
        let p = plan_of("-I eth0 -A 198.51.100.2").unwrap();
        assert_eq!(p.packets, vec![Packet::Arp(Arp::reply(MAC, vip, vip))]);
        let p = plan_of("-I eth0 --both -s 198.51.100.2").unwrap();
        assert_eq!(
            p.packets,
            vec![
                Packet::Arp(Arp::request(MAC, vip, vip)),
                Packet::Arp(Arp::reply(MAC, vip, vip))
            ]
        );
    }

    #[test]
    fn unsolicited_with_both_addresses_asks_for_target_as_arping_does() {
        let p = plan_of("-I eth0 -U -s 198.51.100.2 198.51.100.1").unwrap();
        assert_eq!(
            p.packets,
            vec![Packet::Arp(Arp::request(
                MAC,
                v4("198.51.100.2"),
                v4("198.51.100.1")
            ))]
        );
    }

    #[test]
    fn plain_target_sends_from_the_covering_interface_address() {
        let p = plan_of("-I eth0 198.51.100.1").unwrap();
        assert_eq!(
            p.packets,
            vec![Packet::Arp(Arp::request(
                MAC,
                v4("198.51.100.5"),
                v4("198.51.100.1")
            ))]
        );
        let mut bare = eth0();
        bare.addrs.retain(|(a, _)| a.is_ipv6());
        let e = plan(&args("-I eth0 198.51.100.1").unwrap(), &bare).unwrap_err();
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn source_for_prefers_the_covering_prefix() {
        let mut i = eth0();
        i.addrs.insert(0, (ip("203.0.113.9"), 24));
        assert_eq!(source_for(&i, v4("198.51.100.1")), Some(v4("198.51.100.5")));
        assert_eq!(source_for(&i, v4("192.0.2.1")), Some(v4("203.0.113.9")));
        i.addrs = vec![(ip("192.0.2.7"), 0)];
        assert_eq!(source_for(&i, v4("198.51.100.1")), Some(v4("192.0.2.7")));
    }

    #[test]
    fn ipv6_source_is_an_unsolicited_na() {
        let vip: Ipv6Addr = "2001:db8::2".parse().unwrap();
        for line in [
            "-I eth0 -s 2001:db8::2",
            "-I eth0 -U 2001:db8::2",
            "-I eth0 -A -s 2001:db8::2 2001:db8::2",
            "-I eth0 --both -s 2001:db8::2",
        ] {
            let p = plan_of(line).unwrap();
            assert_eq!(
                p.packets,
                vec![Packet::Nd(Nd::unsolicited_na(MAC, vip))],
                "{line}"
            );
        }
    }

    #[test]
    fn dad_plans_a_probe_with_a_default_wait() {
        let p = plan_of("-I eth0 -D 198.51.100.3").unwrap();
        assert_eq!(
            p.packets,
            vec![Packet::Arp(Arp::probe(MAC, v4("198.51.100.3")))]
        );
        assert_eq!(p.deadline, Some(Duration::from_secs(1)));
        assert_eq!(p.probe, Some(ip("198.51.100.3")));
        let p = plan_of("-I eth0 -D -w 0.05 2001:db8::9").unwrap();
        assert_eq!(
            p.packets,
            vec![Packet::Nd(Nd::dad_probe("2001:db8::9".parse().unwrap()))]
        );
        assert_eq!(p.deadline, Some(Duration::from_millis(50)));
    }

    #[test]
    fn dad_keeps_count_and_interval_as_arping_does() {
        let p = plan_of("-I eth0 -D -c 3 -i 0.2 198.51.100.3").unwrap();
        assert_eq!((p.count, p.interval), (3, Duration::from_millis(200)));
        assert_eq!(p.packets.len(), 1, "one probe per round");
        assert_eq!(p.deadline, Some(Duration::from_secs(1)));
    }

    #[test]
    fn usage_errors_exit_2() {
        for line in [
            "-I eth0 -i abc -s 198.51.100.2",
            "-I eth0 -i -1 -s 198.51.100.2",
            "-I eth0 -i 1..2 -s 198.51.100.2",
            "-I eth0 -i inf -s 198.51.100.2",
            "-I eth0 -i . -s 198.51.100.2",
            "-I eth0 -c 0 -s 198.51.100.2",
            "-I eth0 -c x -s 198.51.100.2",
            "-I eth0 -w 0 -s 198.51.100.2",
            "-I eth0 -s 198.51.100",
            "-I eth0 -s 198.51.100.2 2001:db8::1",
            "-I eth0 -s 2001:db8::2 198.51.100.1",
            "-I eth0 -s 2001:db8::2 2001:db8::1",
            "-I eth0 -s 0.0.0.0",
            "-I eth0 -s 255.255.255.255",
            "-I eth0 -s 224.0.0.1",
            "-I eth0 -s 198.51.100.2 ff02::1",
            "-I eth0",
            "-I eth0 -D",
            "-I eth0 -D -s 198.51.100.2 198.51.100.3",
            "-I eth0 -D -U 198.51.100.3",
            "-I eth0 -U -A -s 198.51.100.2",
            "-I eth0 -A --both -s 198.51.100.2",
            "-I eth0 -q -v -s 198.51.100.2",
            "-s 198.51.100.2",
            "-I eth0 -s 198.51.100.2 198.51.100.1 extra",
            "-I eth0 --bogus -s 198.51.100.2",
        ] {
            let err = args(line).and_then(|a| plan(&a, &eth0())).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{line}: {err}");
            assert!(!err.to_string().contains('\n'), "{line}: one line: {err}");
        }
    }

    #[test]
    fn non_local_source_exits_1_unless_forced() {
        let e = plan_of("-I eth0 -s 198.51.100.9 198.51.100.1").unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.to_string()
                .contains("198.51.100.9 is not an address of eth0")
        );
        assert!(plan_of("-I eth0 --force -s 198.51.100.9 198.51.100.1").is_ok());
        let e = plan_of("-I eth0 -U 198.51.100.9").unwrap_err();
        assert_eq!(e.exit_code(), 1, "-U takes the source from TARGET");
        assert_eq!(
            plan_of("-I eth0 -s 2001:db8::9").unwrap_err().exit_code(),
            1
        );
    }

    #[test]
    fn unusable_interfaces_exit_1() {
        let a = args("-I eth0 -s 198.51.100.2").unwrap();
        let mut down = eth0();
        down.up = false;
        let e = plan(&a, &down).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("eth0 is down"), "{e}");
        let mut lo = eth0();
        lo.mac = None;
        assert!(
            plan(&a, &lo)
                .unwrap_err()
                .to_string()
                .contains("no Ethernet")
        );
        let mut noarp = eth0();
        noarp.noarp = true;
        assert_eq!(plan(&a, &noarp).unwrap_err().exit_code(), 1);
        let mut nocarrier = eth0();
        nocarrier.running = false;
        assert!(
            plan(&a, &nocarrier)
                .unwrap_err()
                .to_string()
                .contains("carrier")
        );
    }

    #[test]
    fn alias_names_mean_the_device() {
        let device = |line: &str| args(line).unwrap().device().map(str::to_string);
        assert_eq!(device("-I eth0:ha1 -s 198.51.100.2").unwrap(), "eth0");
        assert_eq!(device("-I eth0 -s 198.51.100.2").unwrap(), "eth0");
        for bad in ["eth0:", "eth0:a/b", "eth0:waytoolonglabel", ":ha1"] {
            let e = device(&format!("-I {bad} -s 198.51.100.2")).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }

    #[test]
    fn interval_and_deadline_bounds() {
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert_eq!(parse_interval("86400"), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("86400.5").is_err());
        assert!(parse_deadline("0").is_err());
    }

    #[test]
    fn help_lists_every_flag_and_exit_code() {
        let e = crate::cli::parse::<Args, _, _>(["garp", "--help"]).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        let help = e.render().to_string();
        for flag in [
            "--interface",
            "--source",
            "--unsolicited",
            "--reply",
            "--both",
            "--dad",
            "--count",
            "--interval",
            "--deadline",
            "--quiet",
            "--verbose",
            "--force",
            "--version",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        for code in [
            "0  success",
            "1  failure",
            "2  usage",
            "3  no privilege",
            "4  conflict",
        ] {
            assert!(help.contains(code), "{code}");
        }
    }
}
