//! `vip-unbind`: take a VIP off an interface, like the classic `ifconfig eth0:1 down` +
//! `route del -host`, but idempotent (an absent address is success) and removing that one
//! address only: a primary whose removal would make the kernel flush its subnet's secondaries
//! (promote_secondaries off) is refused, naming them, and with `--force` they are put back.

use std::process::ExitCode;

use clap::Parser;

use super::out;
use super::target;
use crate::addr::{self, Unbind};
use crate::error::{Error, Result};
use crate::exit;
use crate::iface;
use crate::netlink::Socket;

const PROG: &str = "vip-unbind";

/// What each exit code means for `vip-unbind`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both (`--help` shows the shared table).
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
        "A bad address, prefix, netmask, broadcast address, label or legacy word.",
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
    ///
    /// `removed` is followed by the address as it was bound (and, with --force, by `(put back
    /// ...)` naming the secondaries put back); `absent` by the address and interface. Without
    /// -v, vip-unbind is quiet on success.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the equivalent `ip` commands that would run now; change nothing
    ///
    /// One a line; nothing is printed when there is nothing to remove. Conflicts are still
    /// reported (exit 4) unless --force is given; then the `ip addr add` commands that put back
    /// the secondaries of a removed primary follow its `ip addr del`.
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// Remove even a primary address that has secondaries (the kernel removes them with it
    /// unless promote_secondaries is on; they are put back as they were), or an address whose
    /// prefix or label differs from the one given
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
    let t = target::parse(&args.target, &args.addr, None, None, &args.words, &["down"])?;
    let index = iface::index(&t.iface)?;
    let mut sock = Socket::open().map_err(|e| Error::os("open netlink socket", e, addr::CAP))?;
    // Only a dry run needs to know about the host route in advance; otherwise deleting it and
    // accepting "no such route" saves a route dump on the failover path.
    let state = addr::read_state(&mut sock, t.addr, args.dry_run)?;
    let req = Unbind {
        index,
        dev: t.iface,
        addr: t.addr,
        prefix: t.prefix,
        label: t.label,
        force: args.force,
    };
    let plan = req.plan(&state)?;
    if args.dry_run {
        for line in plan.ip_commands() {
            out(&line);
        }
        return Ok(exit::SUCCESS);
    }
    addr::execute(&mut sock, &plan)?;
    if args.verbose {
        let dev = &req.dev;
        match plan.removal() {
            None => out(&format!("absent {} dev {dev}", req.addr)),
            Some((e, flushed)) => {
                let kept = if flushed.is_empty() {
                    String::new()
                } else {
                    format!(" (put back {})", addr::join_addrs(flushed))
                };
                out(&format!("removed {}{kept}", e.describe(dev)));
            }
        }
    }
    Ok(exit::SUCCESS)
}
