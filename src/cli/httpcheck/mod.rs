//! `httpcheck`: the health probe, with a hard deadline, that replaces
//! `curl -o /dev/null -s -w %{http_code} URL` in the classic failover loop.
//!
//! It prints the status code (`000` for no response) and exits 0 iff the code is in `-e CODES`
//! (default 200), the body arrived whole within the size cap and, with `--body-match`, matched.
//! A curl-compatible subset (`-o /dev/null -s -S -f -w FORMAT -m -k -L -I --connect-timeout
//! --cacert -H`) lets the classic line work by changing only the program name; any other curl
//! flag is a usage error rather than silently ignored.
//!
//! This file holds the clap definition (its doc comments are `--help` and the man page's
//! OPTIONS), the argument grammars and `run`; `report` holds what is printed: the `-w` format
//! and the `-v` line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod report;

use self::report::{WriteOut, diagnostic, parse_write_out};
use crate::error::{Error, Result};
use crate::exit;
use crate::http::{self, Header, Method, Probe, STATUS_CODES, StatusSet, Target, TlsOptions};

const PROG: &str = "httpcheck";

/// What each exit code means for `httpcheck`, beside the shared table (`exit::TABLE`): the man
/// page's EXIT STATUS shows both (`--help` shows the shared table).
pub const EXIT_NOTES: &[(u8, &str)] = &[
    (
        exit::SUCCESS,
        "The status code is one of CODES, the body arrived whole within --max-filesize and matched --body-match if given; with -n: the URL and options are valid.",
    ),
    (
        exit::FAILURE,
        "Another status code, no answer before the deadline, connection refused, no route, name not found, TLS or certificate failure, a malformed answer, a body too large or not matching.",
    ),
    (
        exit::USAGE,
        "An unknown flag (curl's included), a bad URL, number, code list, header, regular expression, -w format or --cacert file.",
    ),
    (exit::NOPERM, super::NOT_USED),
    (exit::CONFLICT, super::NOT_USED),
];

/// The clap definition of `httpcheck` (for the generated man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Check that URL answers with an expected HTTP status, within a deadline that always holds.
///
/// Prints the status code (`000` when no response arrived) and exits 0 iff it is one of CODES.
/// One total deadline covers DNS, connect, TLS, request and response.
#[derive(Parser, Debug)]
#[command(
    name = "httpcheck",
    version,
    after_help = super::exit_help(),
    args_override_self = true,
    max_term_width = 100
)]
pub struct Args {
    /// Print nothing (also no -w output); the exit status is the verdict
    ///
    /// Neither the code (nor the -w output) on standard output nor a failure reason on standard
    /// error. This is what vip-supervisor(8) uses.
    #[arg(short, long)]
    quiet: bool,

    /// Print one diagnostic line on stderr: address tried, phase reached, elapsed time, verdict
    ///
    /// The line is printed whatever the verdict, as
    /// "httpcheck: METHOD URL addr=ADDRESS:PORT phase=PHASE elapsed=SECONDSs code=CODE ok",
    /// with "fail: WHY" in place of "ok" when the check failed. ADDRESS:PORT is the last address
    /// a connection was tried to ("-" if none); PHASE is how far the check got: resolve,
    /// connect, tls, request (sending), response (waiting for or reading the headers), body or
    /// done.
    #[arg(short, long)]
    verbose: bool,

    /// Check the URL and options and send nothing: exit 0 if the check could run as written,
    /// 2 (with the reason) if not
    ///
    /// Every option is checked as a real run checks it, but no name is resolved and no
    /// connection is made. vip-supervisor(8) validates its health URLs this way.
    #[arg(short = 'n', long = "dry-run")]
    dry_run: bool,

    #[arg(
        short = 't',
        long = "timeout",
        visible_short_alias = 'm',
        visible_alias = "max-time",
        value_name = "SECONDS",
        default_value = "2",
        value_parser = parse_seconds,
        help = TIMEOUT_HELP,
        long_help = format!(
            "{TIMEOUT_HELP}\n\nMore than 0 and at most {MAX_SECONDS}. -m and --max-time are \
             curl's names for it."
        )
    )]
    timeout: Duration,

    #[arg(
        long = "connect-timeout",
        value_name = "SECONDS",
        value_parser = parse_seconds,
        help = CONNECT_TIMEOUT_HELP,
        long_help = format!(
            "{CONNECT_TIMEOUT_HELP}\n\nDecimals allowed, more than 0 and at most {MAX_SECONDS}. \
             It never extends the total deadline; without it, only the total deadline bounds a \
             connection."
        )
    )]
    connect_timeout: Option<Duration>,

    #[arg(
        short = 'e',
        long = "expect",
        value_name = "CODES",
        default_value = "200",
        value_parser = parse_codes,
        help = EXPECT_HELP,
        long_help = format!(
            "{EXPECT_HELP}\n\nFor example 200, 200-399 (inclusive), 200,204 or 200-299,301,302. \
             Codes are {} to {}. (curl's -e sets the Referer header; that is not supported.)",
            STATUS_CODES.start(),
            STATUS_CODES.end()
        )
    )]
    expect: StatusSet,

    /// Extra request header 'Name: value' (repeatable); 'Host: NAME' picks a virtual host;
    /// 'Name;' sends it empty, 'Name:' leaves out the automatic User-Agent or Accept (as curl)
    ///
    /// -H 'Host: www.example.test' reaches a name-based virtual host (an nginx server_name
    /// block) through an address URL. As in curl, 'Name;' sends the header with an empty value,
    /// and 'Name:' with nothing (or only spaces) after the colon sends no such header: it leaves
    /// out the automatic User-Agent (httpcheck/VERSION) or Accept (*/*), while a header of that
    /// name given with a value is still sent in its place (-H 'X-A: 1' -H 'X-A:' sends
    /// 'X-A: 1').
    ///
    /// 'Host:' is a usage error: curl would send no Host at all, which an HTTP/1.1 server must
    /// answer with 400; the Host comes from the URL unless -H 'Host: NAME' gives one.
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header, action = clap::ArgAction::Append)]
    headers: Vec<Header>,

    /// Fail unless the response body matches this regular expression (^ and $ match at
    /// each line, as in grep)
    ///
    /// The syntax is that of the Rust regex crate, like grep -E. The body is searched as bytes,
    /// up to --max-filesize.
    #[arg(long = "body-match", value_name = "RE", value_parser = parse_regex)]
    body_match: Option<regex::bytes::Regex>,

    /// HTTPS: accept any certificate and any name
    #[arg(short = 'k', long)]
    insecure: bool,

    /// HTTPS: trust the PEM certificates in FILE instead of the system bundle
    ///
    /// A self-signed server certificate listed in FILE is accepted as it is (even if it says
    /// CA:TRUE, as openssl req -x509 makes them), provided its names cover the host of URL. A
    /// file that cannot be read or holds no certificate is a usage error.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,

    #[arg(
        short = 'L',
        long,
        help = format!(
            "Follow redirects (up to {}); without it a 3xx is the answer",
            http::MAX_REDIRECTS
        )
    )]
    location: bool,

    /// Fail when the body is larger than BYTES (suffixes K, M, G)
    ///
    /// The suffixes K, M and G multiply by 1024, 1024^2 and 1024^3.
    #[arg(long = "max-filesize", value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    max_filesize: u64,

    /// Send HEAD instead of GET
    #[arg(short = 'I', long)]
    head: bool,

    /// curl compatibility: where the body goes; only /dev/null (the body is never printed)
    ///
    /// httpcheck never prints or saves the body, so FILE must be /dev/null; anything else is a
    /// usage error.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// curl compatibility: print no failure reason on stderr (the code or -w output is still
    /// printed)
    #[arg(short = 's', long)]
    silent: bool,

    /// curl compatibility: with -s, still print the failure reason on stderr
    #[arg(short = 'S', long = "show-error")]
    show_error: bool,

    /// curl compatibility: accepted; a code outside CODES always fails
    #[arg(short = 'f', long)]
    fail: bool,

    /// curl compatibility: print FORMAT instead of the code and a newline, exactly as curl does
    /// (%{http_code} %{response_code} %{time_total} %{time_connect} %{time_namelookup}
    /// %{remote_ip} %{remote_port}, %%, \n \r \t)
    ///
    /// No newline is added. Variables, their names case-insensitive: %{http_code} or
    /// %{response_code}, the status code, three digits, 000 for none; %{time_total}, seconds
    /// from start to end, six decimals; %{time_connect}, seconds until the TCP connection was
    /// made, 0.000000 if none was; %{time_namelookup}, seconds until the name was resolved;
    /// %{remote_ip} and %{remote_port}, the address and port connected to (empty and 0 if no
    /// connection was made).
    ///
    /// %% prints %; \n, \r and \t print a newline, carriage return and tab; other text, a % or
    /// a backslash before anything else, and a %{ without a closing } print as they are.
    ///
    /// Unlike curl, a variable httpcheck does not know is a usage error rather than empty
    /// output, and @FILE and curl's %header{NAME} forms are not supported (usage error).
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT", value_parser = parse_write_out)]
    write_out: Option<WriteOut>,

    /// http:// or https:// URL to check
    ///
    /// http://HOST or https://HOST with an optional :PORT (1 to 65535), path and query; HOST is
    /// a name, an IPv4 address, or an IPv6 address in brackets. A URL without a scheme (curl
    /// would guess http), with another scheme, with a bad port, or with credentials
    /// (user:password@) is a usage error.
    #[arg(value_name = "URL", value_parser = parse_url)]
    url: Target,
}

/// The longest deadline `-t` and `--connect-timeout` take, in seconds: a day.
const MAX_SECONDS: u32 = 86_400;

const TIMEOUT_HELP: &str =
    "Total deadline in seconds (decimals allowed) for DNS, connect, TLS, request and response";

const CONNECT_TIMEOUT_HELP: &str =
    "Deadline in seconds for each TCP connection (never longer than the total deadline)";

const EXPECT_HELP: &str =
    "Status codes that pass: a code, a range LOW-HIGH, or a comma-separated list of both";

/// `-t`, `--connect-timeout`: a deadline, more than 0 and at most [`MAX_SECONDS`].
fn parse_seconds(s: &str) -> std::result::Result<Duration, String> {
    crate::secs::parse_deadline(s, MAX_SECONDS)
}

fn parse_codes(s: &str) -> std::result::Result<StatusSet, String> {
    StatusSet::parse(s).map_err(|e| e.to_string())
}

fn parse_header(s: &str) -> std::result::Result<Header, String> {
    Header::parse(s).map_err(|e| e.to_string())
}

fn parse_url(s: &str) -> std::result::Result<Target, String> {
    Target::parse(s).map_err(|e| e.to_string())
}

fn parse_regex(s: &str) -> std::result::Result<regex::bytes::Regex, String> {
    regex::bytes::RegexBuilder::new(s)
        .multi_line(true)
        .crlf(true)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let last = first.lines().last().unwrap_or("").trim().to_string();
            format!(
                "bad regular expression '{s}': {}",
                last.trim_start_matches("error: ")
            )
        })
}

/// A byte count with an optional K, M or G suffix (powers of 1024), as curl's `--max-filesize`.
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let bad = || format!("'{s}' is not a size (BYTES, or a number with K, M or G)");
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(bad)
}

/// Build the probe from the parsed arguments (loading `--cacert` now, so a bad file is a usage
/// error before anything is sent).
fn probe(args: &Args) -> Result<Probe> {
    if let Some(out) = args
        .output
        .as_ref()
        .filter(|o| *o != std::path::Path::new("/dev/null"))
    {
        return Err(Error::usage(format!(
            "-o {}: only /dev/null is supported (httpcheck never saves the body)",
            out.display()
        )));
    }
    let cacert = match &args.cacert {
        Some(path) => {
            Some(http::load_certs(path).map_err(|e| Error::usage(format!("--cacert: {e}")))?)
        }
        None => None,
    };
    Ok(Probe {
        url: args.url.clone(),
        method: if args.head { Method::Head } else { Method::Get },
        headers: args.headers.clone(),
        total: args.timeout,
        connect: args.connect_timeout,
        follow: args.location,
        max_body: args.max_filesize,
        body_match: args.body_match.clone(),
        expect: args.expect.clone(),
        tls: TlsOptions {
            insecure: args.insecure,
            cacert,
        },
    })
}

/// Print without adding a newline; a closed stdout is not an error.
fn print_raw(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    super::main(PROG, run)
}

/// Check once, print the code (or the `-w` format) and the failure reason; the exit code.
pub fn run(args: &Args) -> Result<u8> {
    let probe = probe(args)?;
    if args.dry_run {
        return Ok(exit::SUCCESS);
    }
    let outcome = http::check(&probe);
    if !args.quiet {
        match &args.write_out {
            Some(w) => print_raw(&w.render(&outcome)),
            None => super::out(&outcome.code_text()),
        }
    }
    if args.verbose {
        let _ = writeln!(
            std::io::stderr(),
            "{PROG}: {}",
            diagnostic(probe.method, &probe.url, &outcome)
        );
    } else if let Some(why) = &outcome.failure
        && !args.quiet
        && (!args.silent || args.show_error)
    {
        let _ = writeln!(std::io::stderr(), "{PROG}: {}: {why}", probe.url);
    }
    Ok(if outcome.passed() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::report::tests::outcome;
    use super::*;

    /// A command line as `main` parses it; clap's errors as the usage errors it prints.
    fn parse(args: &[&str]) -> Result<Args> {
        crate::cli::parse(std::iter::once("httpcheck").chain(args.iter().copied()))
            .map_err(|e| Error::usage(crate::cli::clap_line(&e)))
    }

    #[test]
    fn dry_run_validates_without_sending() {
        let a = parse(&["-n", "http://198.51.100.4/"]).unwrap();
        assert!(a.dry_run && probe(&a).is_ok());
        // What a dry run refuses is what a real run refuses: at parse time or in probe().
        for bad in [
            &["-n", "http://user@198.51.100.4/"][..],
            &["-n", "http://[198.51.100.4]/"],
            &["-n", "http://198.51.100.4%20/"],
            &["-n", "http://[::1/"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        let a = parse(&["--dry-run", "-o", "/tmp/x", "http://198.51.100.4/"]).unwrap();
        assert_eq!(probe(&a).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn the_classic_curl_line_parses() {
        let a = parse(&[
            "-o",
            "/dev/null",
            "-s",
            "-w",
            "%{http_code}",
            "http://198.51.100.4/",
        ])
        .unwrap();
        assert!(a.silent);
        assert_eq!(a.output.as_deref(), Some(std::path::Path::new("/dev/null")));
        assert_eq!(a.write_out.as_ref().unwrap().render(&outcome()), "200");
        assert_eq!(a.timeout, Duration::from_secs(2));
        assert!(probe(&a).is_ok());
        // Bundled short flags and attached values, as people write them for curl.
        let a = parse(&[
            "-sSfLk",
            "-m3",
            "-o/dev/null",
            "-w%{http_code}\\n",
            "http://x.test/",
        ])
        .unwrap();
        assert!(a.silent && a.show_error && a.fail && a.location && a.insecure);
        assert_eq!(a.timeout, Duration::from_secs(3));
        assert_eq!(a.write_out.unwrap().render(&outcome()), "200\n");
        // Options after the URL, long forms with '='.
        let a = parse(&[
            "http://x.test/",
            "--max-time=0.5",
            "--connect-timeout",
            "0.2",
        ])
        .unwrap();
        assert_eq!(a.timeout, Duration::from_millis(500));
        assert_eq!(a.connect_timeout, Some(Duration::from_millis(200)));
    }

    #[test]
    fn modern_flags_parse() {
        let a = parse(&[
            "-q",
            "-v",
            "-t",
            "1.5",
            "-e",
            "200-399,404",
            "-H",
            "Host: a.test",
            "-H",
            "X-A: b",
            "--body-match",
            "^ok$",
            "--cacert",
            "/dev/null",
            "-I",
            "--max-filesize",
            "64K",
            "https://198.51.100.4/health",
        ])
        .unwrap();
        assert!(a.quiet && a.verbose && a.head);
        assert_eq!(a.timeout, Duration::from_millis(1500));
        assert!(a.expect.contains(302) && a.expect.contains(404) && !a.expect.contains(500));
        assert_eq!(a.headers.len(), 2);
        assert_eq!(a.max_filesize, 64 * 1024);
        let re = a.body_match.unwrap();
        assert!(re.is_match(b"ok\n") && re.is_match(b"fine\r\nok\r\n") && !re.is_match(b" ok"));
    }

    #[test]
    fn the_flag_defaults_are_the_librarys() {
        // clap needs its defaults as text; they must say what `Probe::new` does.
        let a = parse(&["http://x.test/"]).unwrap();
        let p = Probe::new(a.url.clone());
        assert_eq!(a.timeout, p.total);
        assert_eq!(a.max_filesize, p.max_body);
        assert_eq!(a.expect, p.expect);
        assert_eq!(a.connect_timeout, p.connect);
    }

    #[test]
    fn later_values_override_earlier_ones_like_curl() {
        let a = parse(&["-t", "5", "-m", "1", "-s", "-s", "http://x.test/"]).unwrap();
        assert_eq!(a.timeout, Duration::from_secs(1));
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["--referer", "x", "http://x.test/"][..],
            &["-X", "POST", "http://x.test/"],
            &["--retry", "3", "http://x.test/"],
            &["-t", "0", "http://x.test/"],
            &["-t", "-1", "http://x.test/"],
            &["-t", "abc", "http://x.test/"],
            &["-t", "inf", "http://x.test/"],
            &["--connect-timeout", "0", "http://x.test/"],
            &["-e", "2xx", "http://x.test/"],
            &["-H", "nocolon", "http://x.test/"],
            &["-n", "-H", "Host:", "http://x.test/"],
            &["--body-match", "(", "http://x.test/"],
            &["--max-filesize", "1T", "http://x.test/"],
            &["-w", "%{nope}", "http://x.test/"],
            &["x.test/"],
            &["ftp://x.test/"],
            &["http://x.test:99999/"],
            &[],
            &["http://a.test/", "http://b.test/"],
        ] {
            let e = parse(args).map(|_| ()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let a = parse(&["-o", "/tmp/body", "http://x.test/"]).unwrap();
        assert_eq!(probe(&a).unwrap_err().exit_code(), 2);
        let a = parse(&["--cacert", "/nonexistent/ca.pem", "https://x.test/"]).unwrap();
        let e = probe(&a).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn help_lists_every_exit_code() {
        let e = crate::cli::parse::<Args, _, _>(["httpcheck", "--help"]).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        let help = e.render().to_string();
        for code in ["0  success", "1  failure", "2  usage"] {
            assert!(help.contains(code), "{help}");
        }
        for flag in [
            "--max-time",
            "-m",
            "--connect-timeout",
            "--write-out",
            "--body-match",
        ] {
            assert!(help.contains(flag), "{flag} missing from\n{help}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("2M").unwrap(), 2 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        for bad in ["", "M", "1.5M", "-1", "1T", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
