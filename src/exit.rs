//! The exit-code table shared by every vipkit tool, and the `run` helper their `main`s call.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: the asked-for state holds, the check passed, packets sent |
//! | 1 | failure: could not be done now, or the check failed |
//! | 2 | usage: the command as written can never succeed |
//! | 3 | no privilege (EPERM/EACCES); the message names the capability |
//! | 4 | conflict: the address answers from another host, or collides with existing state |

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{Error, Result};

/// Success: the asked-for state holds, the check passed, packets sent.
pub const SUCCESS: u8 = 0;
/// Failure: could not be done now, or the check failed.
pub const FAILURE: u8 = 1;
/// Usage: the command as written can never succeed.
pub const USAGE: u8 = 2;
/// No privilege: EPERM/EACCES.
pub const NOPERM: u8 = 3;
/// Conflict: duplicate address on the network, or collision with existing state.
pub const CONFLICT: u8 = 4;

/// One row of the exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: u8,
    /// One word: `success`, `failure`, `usage`, `no privilege`, `conflict`.
    pub name: &'static str,
    /// What the code means for every tool; each tool adds its own notes (`EXIT_NOTES`).
    pub meaning: &'static str,
}

/// The table every tool, man page and `--help` shows (DESIGN.md "Exit status").
pub const TABLE: [Code; 5] = [
    Code {
        code: SUCCESS,
        name: "success",
        meaning: "the asked-for state holds (changed now or already so), the check passed, \
                  packets sent.",
    },
    Code {
        code: FAILURE,
        name: "failure",
        meaning: "could not be done now, or the check failed.",
    },
    Code {
        code: USAGE,
        name: "usage",
        meaning: "the command as written can never succeed (bad flag, address or number).",
    },
    Code {
        code: NOPERM,
        name: "no privilege",
        meaning: "EPERM or EACCES; the message names the capability.",
    },
    Code {
        code: CONFLICT,
        name: "conflict",
        meaning: "the address answers from another host, or the request collides with \
                  existing state, and --force was not given.",
    },
];

/// The EXIT STATUS text every `--help` ends with.
pub const EXIT_HELP: &str = "\
Exit status:
  0  success: the asked-for state holds (changed now or already so), check passed, packets sent
  1  failure: could not be done now, or the check failed
  2  usage: bad flag, address or number; the command can never succeed as written
  3  no privilege (EPERM/EACCES); the message names the capability
  4  conflict: the address answers from another host, or collides with existing state";

/// Run a tool's body and turn its result into the process exit status.
///
/// `body` returns the exit code to use on success (0, or 1 for a check that failed and already
/// printed its verdict). Errors are printed as one line, `PROG: message`, and never as a panic or
/// a backtrace.
pub fn run(prog: &str, body: impl FnOnce() -> Result<u8>) -> ExitCode {
    match body() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            report(prog, &err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Print an error the way every tool does.
pub fn report(prog: &str, err: &Error) {
    match err {
        Error::Quiet(_) => {}
        // Help and version go to stdout as clap renders them.
        Error::Clap(e) if !e.use_stderr() => {
            let _ = e.print();
        }
        _ => {
            let _ = writeln!(std::io::stderr(), "{prog}: {err}");
        }
    }
}

/// Parse arguments with clap, turning its errors into one-line usage errors (exit 2).
pub fn parse<T: Parser, I, A>(args: I) -> Result<T>
where
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    T::try_parse_from(args).map_err(Error::from)
}

/// Print a line on stdout; a closed stdout (EPIPE) is not an error.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
