//! `vip-unbind`: take a VIP off an interface, like the classic `ifconfig eth0:1 down` +
//! `route del -host`, but idempotent (an absent address is success) and removing that one
//! address only: a primary whose removal would make the kernel flush its subnet's secondaries
//! (promote_secondaries off) is refused, naming them, and with `--force` they are put back.

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;

use super::out;
use crate::addr::{self, Entry, mismatch};
use crate::cli::vip_bind::{describe, ip_add_cmd, ip_route_cmd, parse_target};
use crate::error::{Error, Result};
use crate::exit;
use crate::iface;
use crate::netlink::Socket;

const PROG: &str = "vip-unbind";

/// What each exit code means for `vip-unbind`, beside the shared table (`exit::TABLE`): `--help` and
/// the man page's EXIT STATUS show both.
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::SUCCESS,
        "The address is not on the interface now (removed now, or already absent).",
    ),
    (
        exit::FAILURE,
        "No such interface, or the kernel refused the change.",
    ),
    (
        exit::USAGE,
        "A bad address, prefix, netmask, label or legacy word.",
    ),
    (exit::NOPERM, "The capability is CAP_NET_ADMIN."),
    (
        exit::CONFLICT,
        "The address is a primary address whose removal would make the kernel remove the secondary addresses of its subnet too, or it is bound with another prefix length or label than given; and --force was not given.",
    ),
];

/// The clap definition of `vip-unbind` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Remove a virtual IP from an interface (ifconfig IF:LABEL down, route del -host).
///
/// An address that is not there is success. The host route ADDR/32 dev IFACE is removed too.
/// The legacy form works: vip-unbind eth0:ha1 198.51.100.2 down
#[derive(Parser, Debug)]
#[command(name = "vip-unbind", version, after_help = super::exit_help())]
pub struct Args {
    /// Print one line saying what happened: removed or absent
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the equivalent `ip` commands that would run now; change nothing
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// Remove even a primary address that has secondaries (the kernel removes them with it
    /// unless promote_secondaries is on; they are put back), or an address whose prefix or
    /// label differs from the one given
    #[arg(long)]
    pub force: bool,
    /// Interface, optionally with the label suffix: eth0 or eth0:ha1
    #[arg(value_name = "IFACE[:LABEL]")]
    pub target: String,
    /// The VIP, optionally with its prefix length
    #[arg(value_name = "ADDR[/PREFIX]")]
    pub addr: String,
    /// Legacy ifconfig words: broadcast B, netmask M, down
    #[arg(value_name = "WORDS")]
    pub words: Vec<String>,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Run `vip-unbind` with parsed arguments; returns the exit code.
pub fn run(args: &Args) -> Result<u8> {
    let t = parse_target(&args.target, &args.addr, None, None, &args.words, &["down"])?;
    let index = iface::index(&t.iface)?;
    let dev = t.iface.as_str();
    let mut sock = Socket::open().map_err(|e| Error::os("open netlink socket", e, addr::CAP))?;
    let entries = addr::list(&mut sock, t.addr.is_ipv6())?;
    let here = entries
        .iter()
        .find(|e| e.index == index && e.addr == t.addr);
    // Only a dry run needs to know about the host route in advance; otherwise deleting it and
    // accepting "no such route" saves a route dump on the failover path.
    let has_route = args.dry_run && addr::has_host_route(&mut sock, index, t.addr)?;

    let Some(e) = here else {
        if args.dry_run {
            if has_route {
                out(&ip_route_cmd("del", t.addr, dev));
            }
            return Ok(exit::SUCCESS);
        }
        del_route(&mut sock, index, dev, t.addr)?;
        if args.verbose {
            out(&format!("absent {} dev {dev}", t.addr));
        }
        return Ok(exit::SUCCESS);
    };

    if !args.force {
        refuse_mismatch(e, t.label.as_deref(), t.prefix, dev)?;
    }
    // A primary IPv4 address takes its subnet's secondaries with it unless promote_secondaries
    // is on (then one is promoted): refused without --force; with it, they are put back.
    let flushed = if e.addr.is_ipv4() && !e.secondary {
        addr::flushed_with(e, &entries, addr::promotes_secondaries(dev))
    } else {
        Vec::new()
    };
    if !args.force && !flushed.is_empty() {
        return Err(Error::conflict(format!(
            "{} is the primary address of {dev}: removing it makes the kernel remove its \
             secondary addresses {} too (promote_secondaries is off); use --force to remove it \
             alone (they are put back)",
            e.addr,
            list(&flushed)
        )));
    }
    if args.dry_run {
        out(&format!("ip addr del {}/{} dev {dev}", e.addr, e.prefix));
        for x in &flushed {
            out(&ip_add_cmd(&x.as_vip(dev), dev));
        }
        if has_route {
            out(&ip_route_cmd("del", t.addr, dev));
        }
        return Ok(exit::SUCCESS);
    }
    addr::del_alone(&mut sock, index, dev, e, &flushed)?;
    if let Err(err) = del_route(&mut sock, index, dev, t.addr) {
        // Nothing half-applied: put the address back as it was.
        let _ = addr::add(&mut sock, index, dev, &e.as_vip(dev));
        return Err(err);
    }
    if args.verbose {
        let kept = if flushed.is_empty() {
            String::new()
        } else {
            format!(" (put back {})", list(&flushed))
        };
        out(&format!("removed {}{kept}", describe(e, dev)));
    }
    Ok(exit::SUCCESS)
}

/// `198.51.100.2, 198.51.100.3`
fn list(entries: &[Entry]) -> String {
    let v: Vec<String> = entries.iter().map(|x| x.addr.to_string()).collect();
    v.join(", ")
}

/// Remove the host route if there is one; "no such route" is success. Without privilege the
/// route table is read instead, so an unprivileged no-op still succeeds.
fn del_route(sock: &mut Socket, index: u32, dev: &str, addr: IpAddr) -> Result<()> {
    match addr::del_host_route(sock, index, dev, addr) {
        Err(e) if e.exit_code() == exit::NOPERM && !addr::has_host_route(sock, index, addr)? => {
            Ok(())
        }
        Err(e) if !addr::is_absent(&e) => Err(e),
        _ => Ok(()),
    }
}

/// A prefix or label given on the command line must match what is bound.
fn refuse_mismatch(e: &Entry, label: Option<&str>, prefix: Option<u8>, dev: &str) -> Result<()> {
    match mismatch(e, prefix, label, None, dev) {
        None => Ok(()),
        Some(why) => Err(Error::conflict(format!(
            "{} is on {dev} as {} ({why}); use --force to remove it anyway",
            e.addr,
            describe(e, dev)
        ))),
    }
}
