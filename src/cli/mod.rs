//! One module per tool: its clap definition, its legacy grammar, `run` and `main`; a grammar two
//! tools share lives beside them (`target`: vip-bind's and vip-unbind's `IFACE[:LABEL]
//! ADDR[/PREFIX]` and ifconfig words), never in one of the two. Plus what every tool shares: the
//! one `main`, error printing, the exit-status help.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::Result;
use crate::exit;

pub mod garp;
pub mod httpcheck;
pub mod nginx_reload;
pub mod target;
pub mod vip_bind;
pub mod vip_unbind;
pub mod vip_watch;

/// The `EXIT_NOTES` entry of a code a tool never exits with.
pub const NOT_USED: &str = "not used";

/// The one `main` of every tool (`src/bin/*.rs` call it through `cli::<tool>::main`): parse
/// the command line, run the tool, turn the result into the exit status.
///
/// `run` returns the exit code on success (0, or 1 for a check that failed and already printed
/// its verdict). Help and version go to stdout (exit 0); any other clap error and every error of
/// the tool is one stderr line, `PROG: message`, never a panic or a backtrace.
pub fn main<A: Parser>(prog: &str, run: impl FnOnce(&A) -> Result<u8>) -> ExitCode {
    let args = match A::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(exit::SUCCESS);
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{prog}: {}", clap_line(&e));
            return ExitCode::from(exit::USAGE);
        }
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "{prog}: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Parse a command line as `main` does (for tests and for grammars built on clap).
pub fn parse<A: Parser, I, T>(args: I) -> std::result::Result<A, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    A::try_parse_from(args)
}

/// A clap error as one line: its first paragraph joined, without the `error: ` prefix, and a
/// pointer to `--help`.
pub fn clap_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let para: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = para.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (see --help)")
}

/// The exit-status text every `--help` ends with, from the shared table.
pub fn exit_help() -> String {
    let mut s = String::from("Exit status:");
    for code in exit::TABLE {
        s.push_str(&format!(
            "\n  {}  {}: {}",
            code.code, code.name, code.meaning
        ));
    }
    s
}

/// Print a line on stdout; a closed stdout (EPIPE) is not an error.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_are_one_line_pointing_to_help() {
        let e = clap::Command::new("x")
            .try_get_matches_from(["x", "--nope"])
            .unwrap_err();
        let line = clap_line(&e);
        assert!(!line.contains('\n') && line.contains("--nope"), "{line}");
        assert!(line.ends_with("(see --help)"), "{line}");
    }

    #[test]
    fn the_help_lists_every_code() {
        let help = exit_help();
        for code in exit::TABLE {
            assert!(
                help.contains(&format!("  {}  {}", code.code, code.name)),
                "{help}"
            );
        }
    }
}
