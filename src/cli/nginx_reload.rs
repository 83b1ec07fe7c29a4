//! `nginx-reload`: a verified `kill -HUP $(cat nginx.pid)`.
//!
//! Reads the pidfile strictly, checks that the PID is a live nginx master, optionally runs
//! `nginx -t` first, signals through a pidfd, and confirms the result (new workers after a
//! reload) within `--wait`. The logic lives in [`crate::nginx`]; this module is the command
//! line and the `-v` line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::error::Result;
use crate::exit;
use crate::nginx::{self, Action, ConfigTest, Master, Outcome};

const PROG: &str = "nginx-reload";

/// What each exit code means for `nginx-reload`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both (`--help` shows the shared table).
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::SUCCESS,
        "Signalled and confirmed: new workers after a reload, reopened logs, master gone after quit/stop; or just signalled, with --wait 0, or (with a warning) a reopen whose result cannot be seen (see Privileges).",
    ),
    (
        exit::FAILURE,
        "Nothing signalled: no pidfile found, a refused pidfile, no such process, not an nginx master (by its title or by the binary it executes), the configuration test failed. Or signalled but not confirmed: nginx refused the new configuration and kept its old workers, could not reopen a log file, or the master did not exit within --wait.",
    ),
    (
        exit::USAGE,
        "An unknown option or signal name, a bad --wait value, -c without -t, -q with -v.",
    ),
    (
        exit::NOPERM,
        "To signal the master (CAP_KILL) or to read the pidfile (CAP_DAC_READ_SEARCH); also when the binary of -t may not be executed (no capability is named then).",
    ),
    (exit::CONFLICT, super::NOT_USED),
];

/// The clap definition of `nginx-reload` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// The longest `--wait` accepted, in seconds.
const MAX_WAIT: u32 = 3600;

/// Reload nginx safely: verify the pidfile names an nginx master, then signal it and confirm.
///
/// Replaces `kill -HUP $(cat /run/nginx.pid)` (and the classic script's mistaken
/// `kill -USR1 'cat nginx.pid'`). Refuses pidfiles holding 0, 1, negative or garbage values,
/// symbolic links, and PIDs that are not an nginx master process (by its title and by the
/// binary it executes): nothing is signalled then.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_help = super::exit_help())]
pub struct Args {
    #[arg(
        short = 'p',
        long = "pidfile",
        value_name = "PIDFILE",
        help = format!("The nginx pidfile [default: {}]", default_pidfiles()),
        long_help = format!(
            "The nginx pidfile [default: {}]\n\n\
             When none of those exists, exit 1 naming the paths tried. A pidfile must be a \
             regular file, not a symbolic link, of at most {} bytes: one plain decimal PID (no \
             sign, spaces or leading zeros) above 1 and below the kernel's pid_max, and at \
             most a trailing newline. Anything else is \
             refused and nothing is signalled.",
            default_pidfiles(),
            nginx::PIDFILE_MAX
        )
    )]
    pub pidfile: Option<PathBuf>,

    /// What to ask of nginx, named as nginx -s names it: reload (HUP), reopen (USR1), quit
    /// (QUIT), stop (TERM)
    #[arg(short = 's', long = "signal", value_enum, default_value_t = SignalArg::Reload, value_name = "SIGNAL")]
    pub signal: SignalArg,

    #[arg(
        short = 't',
        long = "test",
        help = "Test the configuration with nginx -t first; signal nothing if it fails",
        long_help = format!(
            "Test the configuration with nginx -t first; signal nothing if it fails\n\n\
             It tests what the running master would load (see --nginx and -c) and shows \
             nginx's own [emerg] line when it fails. It may resolve upstream host names, so it \
             is killed if it has not finished within {} seconds.",
            crate::secs::show(nginx::CONFIG_TEST_TIMEOUT)
        )
    )]
    pub test: bool,

    /// The nginx binary: the master may run it under any name (else only binaries named nginx
    /// or nginx-* are taken for nginx), and -t runs it [default for -t: the one the running
    /// master executes]
    ///
    /// Without --nginx, -t runs the binary the master executes (its /proc/PID/exe, even when a
    /// package upgrade replaced it on disk), else nginx from PATH.
    #[arg(long = "nginx", value_name = "BIN")]
    pub nginx: Option<PathBuf>,

    /// The configuration file for -t [default: the master's own -c, else nginx's built-in path]
    ///
    /// A relative path is taken from the current directory. Only with -t: the master always
    /// rereads the file it was started with.
    #[arg(short = 'c', long = "conf", value_name = "CONF", requires = "test")]
    pub conf: Option<PathBuf>,

    #[arg(
        long = "wait",
        value_name = "S",
        default_value = "5",
        value_parser = parse_wait,
        help = "Seconds to confirm the result (new workers; reopened logs; master gone), \
                decimals allowed; 0 sends the signal without confirming",
        long_help = format!(
            "Seconds to confirm the result (new workers; reopened logs; master gone), \
             decimals allowed; 0 sends the signal without confirming\n\n\
             From 0 to {MAX_WAIT}. The wait ends as soon as the result, or nginx's refusal, is \
             seen; all of it passes only when nothing happens."
        )
    )]
    pub wait: Duration,

    /// Print no warnings (a result that cannot be confirmed); errors are still printed, and
    /// success is silent anyway
    ///
    /// Errors are one line on standard error either way, so that scripts can log them.
    #[arg(short = 'q', long = "quiet", conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print one line on standard output saying what happened (old and new worker PIDs)
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

/// `/run/nginx.pid, /var/run/nginx.pid, ...`: the pidfiles searched without `-p`.
fn default_pidfiles() -> String {
    format!(
        "the first that exists of {}",
        nginx::DEFAULT_PIDFILES.join(", ")
    )
}

/// The `-s` values, named as `nginx -s` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignalArg {
    /// SIGHUP: reread the configuration, start new workers, retire the old ones
    Reload,
    /// SIGUSR1: reopen the log files (after logrotate renamed them)
    Reopen,
    /// SIGQUIT: graceful shutdown, workers finish the requests in progress
    Quit,
    /// SIGTERM: fast shutdown
    Stop,
}

impl From<SignalArg> for Action {
    fn from(s: SignalArg) -> Action {
        match s {
            SignalArg::Reload => Action::Reload,
            SignalArg::Reopen => Action::Reopen,
            SignalArg::Quit => Action::Quit,
            SignalArg::Stop => Action::Stop,
        }
    }
}

/// `--wait`: seconds from 0 to [`MAX_WAIT`], decimals allowed.
fn parse_wait(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse(s, MAX_WAIT)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Find and verify the master, test its configuration if asked, signal, confirm.
pub fn run(args: &Args) -> Result<u8> {
    let pidfile = match &args.pidfile {
        Some(p) => p.clone(),
        None => nginx::find_pidfile(&nginx::DEFAULT_PIDFILES)?,
    };
    let pid = nginx::read_pidfile(&pidfile)?;
    let master = Master::verify(pid, &pidfile, args.nginx.as_deref())?;
    if args.test {
        ConfigTest::for_master(&master, args.nginx.as_deref(), args.conf.as_deref())?
            .run(nginx::CONFIG_TEST_TIMEOUT)?;
    }
    let action = Action::from(args.signal);
    let outcome = master.deliver(action, args.wait)?;
    if let Outcome::Unconfirmed(why) = &outcome
        && !args.quiet
    {
        let _ = writeln!(std::io::stderr(), "{PROG}: warning: {why}");
    }
    if args.verbose {
        super::out(&describe(&master, action, &outcome));
    }
    Ok(crate::exit::SUCCESS)
}

/// The `-v` line.
fn describe(master: &Master, action: Action, outcome: &Outcome) -> String {
    let pid = master.pid;
    let sig = action.signal().as_str();
    match outcome {
        Outcome::Sent => format!("sent {sig} to nginx master {pid} (not confirmed: --wait 0)"),
        Outcome::Unconfirmed(_) => format!("sent {sig} to nginx master {pid} (not confirmed)"),
        Outcome::Reloaded { old, new } => format!(
            "nginx master {pid} reloaded: workers {} -> {}",
            nginx::join_pids(old),
            nginx::join_pids(new)
        ),
        Outcome::Reopened { workers } => format!(
            "nginx master {pid} and workers {} reopened their logs",
            nginx::join_pids(workers)
        ),
        Outcome::Exited => format!("nginx master {pid} exited after {sig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Args, clap::Error> {
        crate::cli::parse::<Args, _, _>(std::iter::once("nginx-reload").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_reload_with_a_five_second_confirmation() {
        let a = parse(&[]).expect("parse");
        assert_eq!(a.signal, SignalArg::Reload);
        assert_eq!(a.wait, Duration::from_secs(5));
        assert!(a.pidfile.is_none() && !a.test && !a.quiet && !a.verbose);
        assert_eq!(
            Action::from(a.signal).signal(),
            nix::sys::signal::Signal::SIGHUP
        );
    }

    #[test]
    fn signals_map_to_what_nginx_expects() {
        use nix::sys::signal::Signal::*;
        for (word, sig) in [
            ("reload", SIGHUP),
            ("reopen", SIGUSR1),
            ("quit", SIGQUIT),
            ("stop", SIGTERM),
        ] {
            let a = parse(&["-s", word]).expect("parse");
            assert_eq!(Action::from(a.signal).signal(), sig, "{word}");
        }
        assert_eq!(parse(&["-s", "HUP"]).expect_err("HUP").exit_code(), 2);
        assert_eq!(parse(&["-s", "usr2"]).expect_err("usr2").exit_code(), 2);
    }

    #[test]
    fn full_command_line() {
        let a = parse(&[
            "-p",
            "/run/x.pid",
            "-s",
            "reload",
            "-t",
            "--nginx",
            "/usr/sbin/nginx",
            "-c",
            "/etc/nginx/nginx.conf",
            "--wait",
            "0.5",
            "-v",
        ])
        .expect("parse");
        assert_eq!(a.pidfile, Some(PathBuf::from("/run/x.pid")));
        assert!(a.test && a.verbose);
        assert_eq!(a.nginx, Some(PathBuf::from("/usr/sbin/nginx")));
        assert_eq!(a.conf, Some(PathBuf::from("/etc/nginx/nginx.conf")));
        assert_eq!(a.wait, Duration::from_millis(500));
        let long = parse(&[
            "--pidfile=/run/x.pid",
            "--signal=quit",
            "--test",
            "--conf=/x.conf",
            "--quiet",
        ])
        .expect("parse");
        assert!(long.test && long.quiet);
        assert_eq!(long.signal, SignalArg::Quit);
    }

    #[test]
    fn wait_must_be_a_sane_number_of_seconds() {
        assert_eq!(parse(&["--wait", "0"]).expect("0").wait, Duration::ZERO);
        for bad in ["-1", "abc", "inf", "NaN", "3601", ""] {
            let e = parse(&["--wait", bad]).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn conf_only_makes_sense_with_test() {
        assert_eq!(parse(&["-c", "/x.conf"]).expect_err("-c").exit_code(), 2);
        assert_eq!(parse(&["-q", "-v"]).expect_err("-q -v").exit_code(), 2);
        // --nginx also names the binary the master must run: it stands alone.
        let a = parse(&["--nginx", "/opt/web/sbin/web"]).expect("--nginx");
        assert_eq!(a.nginx, Some(PathBuf::from("/opt/web/sbin/web")));
        assert!(!a.test);
    }

    #[test]
    fn help_lists_exit_codes_and_the_default_pidfiles() {
        let e = crate::cli::parse::<Args, _, _>(["nginx-reload", "--help"]).expect_err("help");
        assert_eq!(e.exit_code(), 0);
        let help = e.render().to_string();
        assert!(help.contains("Exit status:"), "{help}");
        for p in nginx::DEFAULT_PIDFILES {
            assert!(help.contains(p), "{p} missing from help");
        }
    }
}
