//! `vip-watch`: the supervisor's senses in one long-lived process. It reads the supervisor's
//! configuration with the library's own parsers (the one validator: `--check-config`,
//! `--print-config`, `--explain`), and otherwise runs the watcher (`watch::serve`), reporting
//! to the shell as `key=value` lines.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{Error, Result, os_reason};
use crate::exit;
use crate::iface;
use crate::netlink::Socket;
use crate::watch::{config, explain, serve};

const PROG: &str = "vip-watch";

/// What each exit code means for `vip-watch`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both.
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::SUCCESS,
        "With --check-config, --print-config or --explain: the configuration is valid. Watching: told to quit, or its standard input closed.",
    ),
    (
        exit::FAILURE,
        "Watching: standard output closed, or left unread (the shell is gone or stuck; see docs/vip-watch.md); IFACE missing; a socket failed; the loop stalled (no round ended for max(5 s, 4 x max(INTERVAL, TIMEOUT))).",
    ),
    (
        exit::USAGE,
        "An unreadable configuration, or one with problems (each listed as FILE:LINE).",
    ),
    (
        exit::NOPERM,
        "Watching needs CAP_NET_RAW for its packet socket; it changes no address, so it needs no CAP_NET_ADMIN.",
    ),
    (exit::CONFLICT, super::NOT_USED),
];

/// The clap definition of `vip-watch` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// The senses of vip-supervisor: probes, kernel and ARP watch, announcements.
///
/// Started once by vip-supervisor and kept for its lifetime; reads the same configuration file.
/// With --check-config, --print-config or --explain it only validates the file, with the
/// parsers the tools use (the one validator of vip-supervisor(8)), and exits.
#[derive(Parser, Debug)]
#[command(name = "vip-watch", version, after_help = super::exit_help())]
pub struct Args {
    /// The supervisor's configuration file (KEY=VALUE lines, see vip-supervisor(8))
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,
    /// Validate the configuration, print `FILE: ok` or every problem as FILE:LINE, and exit
    ///
    /// Each problem is one line on standard error, `vip-watch: FILE:LINE: KEY=VALUE: why`
    /// (`FILE: KEY=VALUE: why` for a key the file does not set), and the exit status is 2. The
    /// values are checked by the rules of vip-supervisor(8) and then by the parsers of the
    /// tools they are handed: URLs by httpcheck's, VIPs and labels by vip-bind's (a VIP written
    /// without a prefix with the prefix vip-bind would give it on IFACE now), the gateway by
    /// garp's; their reason follows the tool's name.
    #[arg(long, conflicts_with_all = ["print_config", "explain"])]
    pub check_config: bool,
    /// Validate, then print every key as KEY=VALUE (defaults filled in) for the shell, and exit
    ///
    /// One line per key of vip-supervisor(8), in its order, whether the file sets it or not,
    /// then IFACE_LINE=N, the line that sets IFACE. Values are normalized: VIPs as
    /// ADDR/PREFIX@IFACE:LABEL (the prefix only when written, the label only when given and in
    /// its full form), seconds in their shortest form (0.25, 1), addresses as the library prints them
    /// (2001:db8::2). No value holds a newline, a quote or a character a shell would expand:
    /// the lines are for `read`, never to be sourced. A configuration with problems prints them
    /// as --check-config does, and nothing on standard output.
    #[arg(long, conflicts_with = "explain")]
    pub print_config: bool,
    /// Validate, then print the worst-case detection and failover times the settings imply
    ///
    /// The first line is FILE; the others, indented, state the longest round, the worst-case
    /// time to see a failure, to take over (after a crash, and when the peer's kernel still
    /// answers), to fail back, the GARP schedule, the ARP probe rate, the damping (MIN_HOLD)
    /// and what a lost link does.
    #[arg(long)]
    pub explain: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// The prefix vip-bind would give `addr` on `dev` now, when the kernel can tell.
fn kernel_prefix(dev: &str, addr: IpAddr) -> Option<u8> {
    let index = iface::index(dev).ok()?;
    let mut sock = Socket::open().ok()?;
    let entries = crate::addr::list(&mut sock, addr.is_ipv6()).ok()?;
    Some(crate::addr::default_prefix(&entries, index, addr))
}

/// Validate the configuration; then check, print or explain it, or run the watcher.
pub fn run(args: &Args) -> Result<u8> {
    let shown = args.config.display().to_string();
    let bytes = std::fs::read(&args.config).map_err(|e| {
        Error::usage(format!(
            "cannot read configuration '{shown}': {}",
            os_reason(&e)
        ))
    })?;
    // sh reads bytes: a byte that is not UTF-8 becomes U+FFFD, which no value accepts.
    let text = String::from_utf8_lossy(&bytes);
    let cfg = match config::parse_with(&text, &kernel_prefix) {
        Ok(cfg) => cfg,
        Err(problems) => {
            let mut err = std::io::stderr().lock();
            for p in &problems {
                let _ = writeln!(err, "{PROG}: {}", p.show(&shown));
            }
            return Ok(exit::USAGE);
        }
    };
    if args.check_config {
        super::out(&format!("{shown}: ok"));
        return Ok(exit::SUCCESS);
    }
    if args.print_config {
        for line in cfg.print() {
            super::out(&line);
        }
        return Ok(exit::SUCCESS);
    }
    if args.explain {
        super::out(&shown);
        for line in explain::explain(&cfg) {
            super::out(&line);
        }
        return Ok(exit::SUCCESS);
    }
    serve::serve(&cfg)
}
