//! `vip-watch`: the supervisor's senses in one long-lived process. It reads the supervisor's
//! configuration with the library's own parsers (the one validator: `--check-config`,
//! `--print-config`, `--explain`), and otherwise runs the watcher (`watch::serve`), reporting
//! to the shell as `key=value` lines.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{Error, Result};
use crate::exit;
use crate::watch::{config, serve};

const PROG: &str = "vip-watch";

/// What each exit code means for `vip-watch`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both.
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::USAGE,
        "A bad flag, or a configuration with problems (each listed as FILE:LINE).",
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
#[derive(Parser, Debug)]
#[command(name = "vip-watch", version, after_help = super::exit_help())]
pub struct Args {
    /// The supervisor's configuration file (KEY=VALUE lines)
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,
    /// Validate the configuration, print `FILE: ok` or every problem as FILE:LINE, and exit
    #[arg(long, conflicts_with_all = ["print_config", "explain"])]
    pub check_config: bool,
    /// Validate, then print every key as KEY=VALUE (defaults filled in) for the shell, and exit
    #[arg(long, conflicts_with = "explain")]
    pub print_config: bool,
    /// Validate, then print the worst-case detection and failover times the settings imply
    #[arg(long)]
    pub explain: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Validate the configuration; then check, print or explain it, or run the watcher.
pub fn run(args: &Args) -> Result<u8> {
    let shown = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| Error::sys(format!("read {shown}"), e))?;
    let cfg = match config::parse(&text) {
        Ok(cfg) => cfg,
        Err(problems) => {
            for p in &problems {
                eprintln!("{PROG}: {shown}:{}", p.why);
            }
            return Ok(exit::USAGE);
        }
    };
    if args.check_config {
        super::out(&format!("{shown}: ok"));
        return Ok(exit::SUCCESS);
    }
    serve::serve(&cfg)
}
