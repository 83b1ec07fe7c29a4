//! HTTP/1.1 health probe with a connect deadline and one hard total deadline.
//!
//! The classic loop ran `curl -o /dev/null -s -w %{http_code} URL` without a timeout, so one peer
//! that accepted connections and never answered froze failover forever. [`check`] replaces it:
//! one request over [`ureq`] 3 with our own resolver, connector and transport, so that
//!
//! - one total deadline covers DNS, connect, TLS, request, response headers and body; ureq's
//!   `timeout_global` enforces it inside the request, every socket read and write is bounded by
//!   what is left of it, and [`check`] itself stops waiting at the deadline whatever the request
//!   is stuck in (a `getaddrinfo` that ureq can only abandon, not interrupt, for example);
//! - a separate connect deadline bounds each TCP connection;
//! - the response head is read by our transport within curl's limits ([`MAX_HEADER_LINE`],
//!   [`MAX_HEAD`]), and ureq is handed only the headers it acts on (framing, `Location`), so
//!   its parser's cap of 128 header lines does not refuse what curl accepts;
//! - redirects are not followed unless asked, the body is read but capped, and HTTPS verifies
//!   certificates (system bundle, or `--cacert`, or not at all with `--insecure`);
//! - TLS (rustls with ring) is set up only when a URL is `https`: a plain-http probe never builds
//!   a TLS configuration nor reads a certificate bundle.
//!
//! What happened is reported as an [`Outcome`]: the status code if response headers arrived,
//! the phase reached, the address tried, the timings `curl -w` prints, and why it failed.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use ureq::Agent;
use ureq::http::header::{self as http_header, HeaderName, HeaderValue};
use ureq::http::{Uri, uri::Scheme};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

use crate::error::{Error, Result, lowercase_first, os_reason};

/// Default total deadline, like `curl -m 2`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on the response body: a health page is small; anything larger fails the check.
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// The longest response header line accepted: curl's `CURL_MAX_HTTP_HEADER`, 100 KiB.
pub const MAX_HEADER_LINE: usize = 100 * 1024;
/// The most bytes a response head may take (status line, header lines and the blank line):
/// curl's limit, 300 KiB. The number of header lines has no limit of its own.
pub const MAX_HEAD: usize = 300 * 1024;
/// Redirects followed with `-L` (curl follows up to 50; a health URL needs a few at most).
pub const MAX_REDIRECTS: u32 = 10;
/// Where the system CA bundle is looked for when `--cacert` is not given (after `$SSL_CERT_FILE`).
pub const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A set of acceptable status codes: `200`, `200-399`, `200,204`, `200-299,301`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl StatusSet {
    /// Parse a comma-separated list of codes and inclusive `LOW-HIGH` ranges (100..=999).
    pub fn parse(s: &str) -> Result<StatusSet> {
        let bad = |why: &str| Error::usage(format!("bad status codes '{s}': {why}"));
        let mut ranges = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(bad("empty item"));
            }
            let (lo, hi) = match item.split_once('-') {
                Some((lo, hi)) => (status_code(lo.trim(), s)?, status_code(hi.trim(), s)?),
                None => {
                    let c = status_code(item, s)?;
                    (c, c)
                }
            };
            if lo > hi {
                return Err(bad(&format!("range {item} is reversed")));
            }
            ranges.push((lo, hi));
        }
        Ok(StatusSet {
            ranges,
            text: s.to_string(),
        })
    }

    /// Is `code` one of the accepted codes?
    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= code && code <= hi)
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet {
            ranges: vec![(200, 200)],
            text: "200".to_string(),
        }
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn status_code(s: &str, whole: &str) -> Result<u16> {
    let bad = || {
        Error::usage(format!(
            "bad status codes '{whole}': '{s}' is not a code 100-999"
        ))
    };
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match s.parse::<u16>() {
        Ok(c) if (100..=999).contains(&c) => Ok(c),
        _ => Err(bad()),
    }
}

/// A validated `http://` or `https://` URL.
#[derive(Clone, Debug)]
pub struct Target {
    uri: Uri,
    text: String,
    https: bool,
}

impl Target {
    /// Parse and check a URL: scheme `http` or `https`, a host, a port 1-65535, no credentials.
    pub fn parse(s: &str) -> Result<Target> {
        let bad = |why: &str| Error::usage(format!("bad URL '{s}': {why}"));
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("no scheme (write http://HOST/...)"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(bad(&format!(
                    "unsupported scheme '{other}' (http or https)"
                )));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad(
                "credentials in URLs are not supported (use -H 'Authorization: ...')",
            ));
        }
        let (host, port) = split_host_port(authority).map_err(|why| bad(&why))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if let Some(port) = port {
            match port.parse::<u32>() {
                Ok(p) if (1..=65535).contains(&p) && port.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => return Err(bad(&format!("bad port '{port}'"))),
            }
        }
        let uri: Uri = s.parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.host().is_none() {
            return Err(bad("no host"));
        }
        Ok(Target {
            uri,
            text: s.to_string(),
            https,
        })
    }

    /// Is this an `https` URL?
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Split `host[:port]` or `[v6][:port]`; the port is returned as written (it may be empty).
fn split_host_port(authority: &str) -> std::result::Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in host".to_string())?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("bad IPv6 address '{host}'"));
        }
        return match after {
            "" => Ok((host, None)),
            p => match p.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("junk after ']': '{p}'")),
            },
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// One request header given with `-H`.
#[derive(Clone, Debug)]
pub struct Header {
    name: HeaderName,
    /// None: `Name:` with nothing after it, which (as in curl) means "do not send this header".
    value: Option<HeaderValue>,
}

impl Header {
    /// Parse curl's `-H` forms: `Name: value`, `Name;` (send it empty), `Name:` (do not send
    /// our own: the automatic `User-Agent` or `Accept`). `Host:` is refused: curl would send no
    /// Host at all, which an HTTP/1.1 server must answer with 400, and ureq always sends one.
    pub fn parse(s: &str) -> Result<Header> {
        let bad = |why: &str| Error::usage(format!("bad header '{s}': {why}"));
        let (name, value) = match s.split_once(':') {
            Some((name, value)) => {
                let value = value.trim();
                (name, (!value.is_empty()).then_some(value))
            }
            None => match s.strip_suffix(';') {
                Some(name) => (name, Some("")),
                None => return Err(bad("expected 'Name: value'")),
            },
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(&format!("'{name}' is not a header name")))?;
        let value = match value {
            Some(v) => Some(HeaderValue::from_str(v).map_err(|_| bad("invalid characters"))?),
            None => None,
        };
        if value.is_none() && name == http_header::HOST {
            return Err(bad(
                "the Host header cannot be left out (HTTP/1.1 requires it; it comes from the \
                 URL unless -H 'Host: NAME' gives one)",
            ));
        }
        Ok(Header { name, value })
    }

    /// `Name:`: leave this header out.
    pub fn removes(&self) -> bool {
        self.value.is_none()
    }
}

/// How to verify HTTPS servers.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Accept any certificate (`curl -k`).
    pub insecure: bool,
    /// Trust only these certificates (`curl --cacert`); None: the system bundle.
    pub cacert: Option<Vec<CertificateDer<'static>>>,
}

/// Read the PEM certificates of `path` (for `--cacert`), like curl's `--cacert FILE`.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let data =
        std::fs::read(path).map_err(|e| Error::sys(format!("read {}", path.display()), e))?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&data) {
        let cert = item.map_err(|e| {
            Error::failed(format!("read {}: bad PEM certificate: {e}", path.display()))
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(Error::failed(format!(
            "read {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// The request method: GET, or HEAD with `-I`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Get,
    Head,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        })
    }
}

/// Everything one health check needs.
#[derive(Clone, Debug)]
pub struct Probe {
    pub url: Target,
    pub method: Method,
    pub headers: Vec<Header>,
    /// Total deadline: DNS, connect, TLS, request, response and body.
    pub total: Duration,
    /// Deadline of each TCP connection (within `total`); None: only `total`.
    pub connect: Option<Duration>,
    /// Follow up to [`MAX_REDIRECTS`] redirects (`curl -L`).
    pub follow: bool,
    /// A longer body fails the check.
    pub max_body: u64,
    /// The body must match this regular expression.
    pub body_match: Option<regex::bytes::Regex>,
    /// Status codes that pass.
    pub expect: StatusSet,
    pub tls: TlsOptions,
}

impl Probe {
    /// A GET of `url` with the defaults: 2 s, status 200, no redirects, 1 MiB body cap.
    pub fn new(url: Target) -> Probe {
        Probe {
            url,
            method: Method::Get,
            headers: Vec::new(),
            total: DEFAULT_TIMEOUT,
            connect: None,
            follow: false,
            max_body: DEFAULT_MAX_BODY,
            body_match: None,
            expect: StatusSet::default(),
            tls: TlsOptions::default(),
        }
    }
}

/// How far a check got. Ordered: a later phase compares greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Not started.
    Start,
    /// Resolving the host name.
    Resolve,
    /// Opening the TCP connection.
    Connect,
    /// TLS handshake.
    Tls,
    /// Sending the request.
    Request,
    /// Waiting for and reading the response headers.
    Response,
    /// Reading the body.
    Body,
    /// Finished: a complete response (passing or not).
    Done,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Start => "start",
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Request => "request",
            Phase::Response => "response",
            Phase::Body => "body",
            Phase::Done => "done",
        })
    }
}

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status code of the last response whose headers arrived; None: no response (`000`).
    pub code: Option<u16>,
    /// The phase reached when the check ended.
    pub phase: Phase,
    /// The last address a connection was tried to.
    pub tried: Option<SocketAddr>,
    /// The address of the last connection made (`%{remote_ip}`, `%{remote_port}`).
    pub remote: Option<SocketAddr>,
    /// Time until the name was resolved.
    pub time_namelookup: Option<Duration>,
    /// Time until the TCP connection was made.
    pub time_connect: Option<Duration>,
    /// Time until the check ended.
    pub time_total: Duration,
    /// Why the check failed; None: it passed.
    pub failure: Option<String>,
}

impl Outcome {
    /// Did the check pass (expected status, complete body, body matched)?
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The status code as `curl -w %{http_code}` prints it: three digits, `000` for none.
    pub fn code_text(&self) -> String {
        format!("{:03}", self.code.unwrap_or(0))
    }
}

/// Progress shared between the probe's pieces and the deadline watcher.
#[derive(Debug)]
struct Progress {
    start: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    phase: Option<Phase>,
    code: Option<u16>,
    tried: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    namelookup: Option<Duration>,
    connect: Option<Duration>,
}

impl Progress {
    fn new(start: Instant) -> Progress {
        Progress {
            start,
            state: Mutex::new(State::default()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a probe thread panicked; the data is still usable.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Move to `phase` (redirects start again from Resolve).
    fn set_phase(&self, phase: Phase) {
        self.with(|s| s.phase = Some(phase));
    }

    /// The phase reached so far.
    fn phase(&self) -> Phase {
        self.with(|s| s.phase.unwrap_or(Phase::Start))
    }

    /// Move forward to `phase` unless already past it.
    fn reach(&self, phase: Phase) {
        self.with(|s| {
            if s.phase.is_none_or(|p| p < phase) {
                s.phase = Some(phase);
            }
        });
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn outcome(&self, failure: Option<String>) -> Outcome {
        let time_total = self.elapsed();
        self.with(|s| Outcome {
            code: s.code,
            phase: s.phase.unwrap_or(Phase::Start),
            tried: s.tried,
            remote: s.remote,
            time_namelookup: s.namelookup,
            time_connect: s.connect,
            time_total,
            failure,
        })
    }
}

/// Run one check and never take longer than `probe.total` (plus thread wake-up slack).
///
/// Like `curl -o /dev/null -s -w %{http_code} --max-time T URL`, but with the verdict decided
/// here: the status must be in `probe.expect`, the body complete, within `probe.max_body` and
/// matching `probe.body_match`.
pub fn check(probe: &Probe) -> Outcome {
    let start = Instant::now();
    let deadline = start + probe.total;
    let progress = Arc::new(Progress::new(start));
    let (tx, rx) = mpsc::sync_channel(1);
    let job = {
        let probe = probe.clone();
        let progress = progress.clone();
        move || {
            let failure = run(&probe, &progress, deadline);
            let _ = tx.send(progress.outcome(failure));
        }
    };
    // The probe runs on its own thread so that this one can stop waiting at the deadline
    // whatever the probe is blocked in. The thread is left behind on timeout: the process
    // exits right after, and in a library user it ends at its own deadline.
    let spawned = std::thread::Builder::new()
        .name("httpcheck".into())
        .spawn(job);
    if spawned.is_err() {
        // No thread: run inline, still bounded by ureq's timeouts and the socket timeouts.
        let failure = run(probe, &progress, deadline);
        return progress.outcome(failure);
    }
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => match rx.try_recv() {
            Ok(outcome) => outcome,
            Err(_) => {
                let mut outcome = progress.outcome(None);
                outcome.failure = Some(timed_out(outcome.phase, probe.total));
                outcome
            }
        },
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            progress.outcome(Some("internal error: probe thread died".into()))
        }
    }
}

/// `PHASE: timed out after Ns`: where the check was when `deadline` (as given) passed.
fn timed_out(phase: Phase, deadline: Duration) -> String {
    format!("{phase}: timed out after {}s", crate::secs::show(deadline))
}

/// The request itself; returns why it failed, or None.
fn run(probe: &Probe, progress: &Arc<Progress>, deadline: Instant) -> Option<String> {
    let removed = |name: HeaderName| probe.headers.iter().any(|h| h.removes() && h.name == name);
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(if probe.follow { MAX_REDIRECTS } else { 0 })
        .max_redirects_will_error(false)
        .timeout_global(Some(probe.total))
        .proxy(None)
        // The transport hands ureq a head already checked against curl's limits (and stripped
        // of the headers ureq does not act on): ureq's own limit must not be the smaller one.
        .max_response_header_size(MAX_HEAD)
        .input_buffer_size(MAX_HEAD + 2 * READ_CHUNK)
        .no_delay(true)
        .max_idle_connections(0)
        // As in curl, `-H 'User-Agent:'` and `-H 'Accept:'` leave out our automatic header
        // (an empty value here means none); one given with a value replaces it anyway.
        .user_agent(if removed(http_header::USER_AGENT) {
            ""
        } else {
            concat!("httpcheck/", env!("CARGO_PKG_VERSION"))
        })
        .accept(if removed(http_header::ACCEPT) {
            ""
        } else {
            "*/*"
        })
        .build();
    let connector = ProbeConnector {
        progress: progress.clone(),
        deadline,
        connect: probe.connect,
        tls: probe.tls.clone(),
        tls_config: OnceLock::new(),
    };
    let resolver = ProbeResolver {
        progress: progress.clone(),
    };
    let agent = Agent::with_parts(config, connector, resolver);
    let mut req = match probe.method {
        Method::Get => agent.get(probe.url.uri.clone()),
        Method::Head => agent.head(probe.url.uri.clone()),
    };
    for h in &probe.headers {
        // `Name:` sends nothing: an empty value here would go out as `name: ` (that is `Name;`).
        if let Some(v) = &h.value {
            req = req.header(h.name.clone(), v.clone());
        }
    }

    let response = match req.call() {
        Ok(r) => r,
        Err(e) => return Some(describe(&e, progress.phase(), probe)),
    };
    let code = response.status().as_u16();
    progress.with(|s| s.code = Some(code));
    progress.reach(Phase::Body);
    if !probe.expect.contains(code) {
        // The verdict is known: do not spend the rest of the deadline on the body.
        progress.set_phase(Phase::Done);
        return Some(format!("status {code}, expected {}", probe.expect));
    }

    let mut reader = response.into_body().into_reader();
    let keep = probe.body_match.is_some();
    let mut body = Vec::new();
    let mut seen: u64 = 0;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // ureq hands its own errors (its timeouts among them) over wrapped in io::Error.
            Err(e) => {
                let why = describe(&ureq::Error::from(e), Phase::Body, probe);
                return Some(if why.starts_with("body: ") {
                    why
                } else {
                    format!("body: {why}")
                });
            }
        };
        seen += n as u64;
        if seen > probe.max_body {
            return Some(format!("body larger than {} bytes", probe.max_body));
        }
        if keep {
            body.extend_from_slice(&chunk[..n]);
        }
    }
    progress.set_phase(Phase::Done);
    if let Some(re) = &probe.body_match
        && !re.is_match(&body)
    {
        return Some(format!("body does not match '{}'", re.as_str()));
    }
    None
}

/// One line saying why a request failed in `phase`; a timeout names the phase and the deadline
/// that passed (`--connect-timeout`'s for [`ureq::Timeout::Connect`], else the total one).
fn describe(e: &ureq::Error, phase: Phase, probe: &Probe) -> String {
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect) => timed_out(
            Phase::Connect,
            probe.connect.unwrap_or(probe.total).min(probe.total),
        ),
        ureq::Error::Timeout(_) => timed_out(phase, probe.total),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            timed_out(phase, probe.total)
        }
        ureq::Error::Io(io) => os_reason(io),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::LargeResponseHeader(_, limit) => {
            format!("response headers larger than {limit} bytes")
        }
        ureq::Error::Protocol(p) => format!("bad response: {}", lowercase_first(&p.to_string())),
        other => lowercase_first(&other.to_string()),
    }
}

/// Resolves with ureq's resolver (which abandons a slow `getaddrinfo` at the deadline) and
/// records the phase and the time taken.
#[derive(Debug)]
struct ProbeResolver {
    progress: Arc<Progress>,
}

impl Resolver for ProbeResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        self.progress.set_phase(Phase::Resolve);
        let literal = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        let result = match (literal, uri.port_u16().or_else(|| default_port(uri))) {
            // An address literal needs no lookup (and no lookup thread).
            (Some(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => DefaultResolver::default().resolve(uri, config, timeout),
        };
        if result.is_ok() {
            let t = self.progress.elapsed();
            self.progress.with(|s| s.namelookup = Some(t));
        }
        result
    }
}

fn default_port(uri: &Uri) -> Option<u16> {
    match uri.scheme() {
        Some(s) if *s == Scheme::HTTP => Some(80),
        Some(s) if *s == Scheme::HTTPS => Some(443),
        _ => None,
    }
}

/// Opens the TCP connection (each address bounded by the connect deadline) and, for https,
/// does the TLS handshake itself, bounded by the total deadline.
#[derive(Debug)]
struct ProbeConnector {
    progress: Arc<Progress>,
    deadline: Instant,
    connect: Option<Duration>,
    tls: TlsOptions,
    tls_config: OnceLock<Arc<ClientConfig>>,
}

impl Connector<()> for ProbeConnector {
    type Out = ProbeTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<ProbeTransport>, ureq::Error> {
        self.progress.set_phase(Phase::Connect);
        let now = Instant::now();
        // Which deadline ends the connection attempts decides what a timeout reports.
        let (until, reason) = match self.connect {
            Some(c) if now + c < self.deadline => (now + c, ureq::Timeout::Connect),
            _ => (self.deadline, ureq::Timeout::Global),
        };
        let stream = connect_any(&details.addrs, until, reason, &self.progress)?;
        let peer = stream.peer_addr().ok();
        let t = self.progress.elapsed();
        self.progress.with(|s| {
            s.remote = peer;
            s.connect = Some(t);
        });
        let _ = stream.set_nodelay(true);
        let io = if details.needs_tls() {
            self.progress.set_phase(Phase::Tls);
            let host = details
                .uri
                .host()
                .unwrap_or("")
                .trim_start_matches('[')
                .trim_end_matches(']');
            let config = self.tls_config()?;
            Io::Tls(Box::new(handshake(stream, host, config, self.deadline)?))
        } else {
            Io::Plain(stream)
        };
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(ProbeTransport {
            io,
            buffers,
            progress: self.progress.clone(),
            deadline: self.deadline,
            status_seen: false,
            head: HeadReader::default(),
            in_head: true,
            ready: Vec::new(),
        }))
    }
}

impl ProbeConnector {
    /// The rustls configuration, built on first use only (plain http never pays for it).
    fn tls_config(&self) -> std::result::Result<Arc<ClientConfig>, ureq::Error> {
        if let Some(c) = self.tls_config.get() {
            return Ok(c.clone());
        }
        let config =
            build_tls_config(&self.tls).map_err(|e| ureq::Error::Io(io::Error::other(e)))?;
        Ok(self.tls_config.get_or_init(|| config).clone())
    }
}

/// Try each address in turn until `until`; an address that refuses or is unreachable moves on
/// at once, one that stays silent gets half of what is left when others remain.
fn connect_any(
    addrs: &[SocketAddr],
    until: Instant,
    reason: ureq::Timeout,
    progress: &Progress,
) -> std::result::Result<TcpStream, ureq::Error> {
    let mut last: Option<io::Error> = None;
    for (i, addr) in addrs.iter().enumerate() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let budget = if i + 1 < addrs.len() {
            (left / 2).max(Duration::from_millis(10)).min(left)
        } else {
            left
        };
        progress.with(|s| s.tried = Some(*addr));
        match TcpStream::connect_timeout(addr, budget) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Err(ureq::Error::Timeout(reason))
        }
        Some(e) => Err(ureq::Error::Io(e)),
        None => Err(ureq::Error::Timeout(reason)),
    }
}

/// What is left of `deadline` as a socket timeout, or a timeout error when nothing is.
fn remaining(
    deadline: Instant,
    ureq_timeout: NextTimeout,
) -> std::result::Result<Duration, ureq::Error> {
    let mut left = deadline.saturating_duration_since(Instant::now());
    let mut reason = ureq::Timeout::Global;
    if let Some(t) = ureq_timeout.not_zero()
        && *t < left
    {
        left = *t;
        reason = ureq_timeout.reason;
    }
    if left.is_zero() {
        Err(ureq::Error::Timeout(reason))
    } else {
        Ok(left)
    }
}

fn handshake(
    mut sock: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
    deadline: Instant,
) -> std::result::Result<StreamOwned<ClientConnection, TcpStream>, ureq::Error> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ureq::Error::Io(io::Error::other(format!("tls: bad server name '{host}'"))))?;
    let mut conn = ClientConnection::new(config, name)
        .map_err(|e| ureq::Error::Io(io::Error::other(format!("tls: {e}"))))?;
    while conn.is_handshaking() {
        let left = remaining(deadline, NextTimeout::default())?;
        sock.set_read_timeout(Some(left))?;
        sock.set_write_timeout(Some(left))?;
        match conn.complete_io(&mut sock) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(ureq::Error::Io(io::Error::other(
                    "tls handshake: connection closed by the server",
                )));
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                return Err(ureq::Error::Timeout(ureq::Timeout::Global));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let why = match e.get_ref() {
                    Some(inner) => lowercase_first(&inner.to_string()),
                    None => os_reason(&e),
                };
                return Err(ureq::Error::Io(io::Error::other(format!(
                    "tls handshake: {why}"
                ))));
            }
        }
    }
    Ok(StreamOwned::new(conn, sock))
}

/// The socket, plain or under TLS.
enum Io {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => &s.sock,
        }
    }
}

/// ureq's view of our connection: every read and write bounded by the deadline, and each one
/// moving the recorded phase forward (request sent, then response).
struct ProbeTransport {
    io: Io,
    buffers: LazyBuffers,
    progress: Arc<Progress>,
    deadline: Instant,
    /// The status line of this connection's response has been seen.
    status_seen: bool,
    /// The response head as it arrives, until it is complete.
    head: HeadReader,
    /// Still reading a response head through `head` (false: bytes go straight to ureq).
    in_head: bool,
    /// Bytes for ureq's input buffer that did not fit in it yet.
    ready: Vec<u8>,
}

/// Most bytes read from the socket at once while reading a response head.
const READ_CHUNK: usize = 16 * 1024;

/// The response headers ureq acts on: the framing of the body and redirects. The probe itself
/// reads no header, so ureq is handed only these, and the head's size is bounded by curl's
/// limits ([`MAX_HEADER_LINE`], [`MAX_HEAD`]) rather than by ureq's parser, which takes at most
/// 128 header lines (a response with 200 is common enough behind some frameworks).
const USED_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "location",
];

/// What the bytes of a response head received so far amount to.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Not complete yet: more bytes are needed.
    Partial,
    /// Complete: the status line, the [`USED_HEADERS`] lines and the blank line, bytes as
    /// received. What followed the head stays in the reader.
    Complete(Vec<u8>),
    /// Not a well-formed HTTP/1.x head: ureq gets the bytes as they are and says what is wrong
    /// with them, as it did before this reader existed.
    Raw,
}

/// A response head beyond curl's limits.
#[derive(Debug, PartialEq, Eq)]
enum HeadTooLarge {
    /// One line longer than [`MAX_HEADER_LINE`].
    Line,
    /// The head longer than [`MAX_HEAD`].
    Total,
}

impl HeadTooLarge {
    fn into_error(self) -> ureq::Error {
        match self {
            HeadTooLarge::Line => ureq::Error::Io(io::Error::other(format!(
                "response header line longer than {} KiB ({MAX_HEADER_LINE} bytes)",
                MAX_HEADER_LINE / 1024
            ))),
            HeadTooLarge::Total => ureq::Error::LargeResponseHeader(MAX_HEAD + 1, MAX_HEAD),
        }
    }
}

/// Reads a response head line by line as its bytes arrive (pure: the transport feeds it),
/// each line looked at once.
#[derive(Debug, Default)]
struct HeadReader {
    /// Bytes received and not handed on.
    buf: Vec<u8>,
    /// Where the first line not yet looked at starts in `buf`.
    pos: usize,
    /// How many bytes from `pos` on are known to hold no line end (a long line arriving in
    /// small pieces is searched once, not once per piece).
    searched: usize,
    /// The lines looked at that ureq gets.
    used: Vec<u8>,
}

impl HeadReader {
    /// Look at the lines completed since the last call.
    fn scan(&mut self) -> std::result::Result<Head, HeadTooLarge> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(nl) = rest[self.searched..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + self.searched)
            else {
                self.searched = rest.len();
                let prefix = &rest[..rest.len().min(5)];
                if self.pos == 0 && !b"HTTP/".starts_with(prefix) {
                    return Ok(Head::Raw);
                }
                // (one byte more may be the CR of a line that is not too long)
                if rest.len() > MAX_HEADER_LINE + 1 {
                    return Err(HeadTooLarge::Line);
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(HeadTooLarge::Total);
                }
                return Ok(Head::Partial);
            };
            let end = self.pos + nl + 1;
            let raw = &rest[..=nl];
            let line = raw[..nl].strip_suffix(b"\r").unwrap_or(&raw[..nl]);
            if line.len() > MAX_HEADER_LINE {
                return Err(HeadTooLarge::Line);
            }
            if end > MAX_HEAD {
                return Err(HeadTooLarge::Total);
            }
            if self.pos == 0 {
                if !line.starts_with(b"HTTP/") {
                    return Ok(Head::Raw);
                }
                self.used.extend_from_slice(raw);
            } else if line.is_empty() {
                self.used.extend_from_slice(raw);
                self.buf.drain(..end);
                self.pos = 0;
                self.searched = 0;
                return Ok(Head::Complete(std::mem::take(&mut self.used)));
            } else {
                // `name: value`; anything else (obs-fold, no colon, a bad name) is ureq's to
                // refuse.
                let name = match line.iter().position(|&b| b == b':') {
                    Some(colon) if colon > 0 => &line[..colon],
                    _ => return Ok(Head::Raw),
                };
                if !name.iter().all(|&b| is_tchar(b)) {
                    return Ok(Head::Raw);
                }
                if USED_HEADERS
                    .iter()
                    .any(|u| name.eq_ignore_ascii_case(u.as_bytes()))
                {
                    self.used.extend_from_slice(raw);
                }
            }
            self.pos = end;
            self.searched = 0;
        }
    }

    /// Everything received and not handed on, as it arrived; the reader starts over.
    fn take_all(&mut self) -> Vec<u8> {
        self.pos = 0;
        self.searched = 0;
        self.used.clear();
        std::mem::take(&mut self.buf)
    }
}

/// A character of an HTTP token (a header name), RFC 9110 section 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The code of a complete HTTP/1.x status line at the start of `buf`: `HTTP/1.1 200 OK\r\n`.
fn status_line_code(buf: &[u8]) -> Option<u16> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))?;
    let (digits, after) = rest.split_at_checked(3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(after.is_empty() || after[0] == b' ') {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl fmt::Debug for ProbeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTransport")
            .field("peer", &self.io.tcp().peer_addr().ok())
            .field("tls", &matches!(self.io, Io::Tls(_)))
            .finish()
    }
}

fn io_error(e: io::Error, reason: ureq::Timeout) -> ureq::Error {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        ureq::Error::Timeout(reason)
    } else {
        ureq::Error::Io(e)
    }
}

impl Transport for ProbeTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        self.progress.reach(Phase::Request);
        let timeout = timeout.for_write();
        let left = remaining(self.deadline, timeout)?;
        self.io.tcp().set_write_timeout(Some(left))?;
        let output = &self.buffers.output()[..amount];
        let result = match &mut self.io {
            Io::Plain(s) => s.write_all(output),
            Io::Tls(s) => s.write_all(output).and_then(|()| s.flush()),
        };
        result.map_err(|e| io_error(e, ureq::Timeout::Global))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.progress.reach(Phase::Response);
        loop {
            if !self.ready.is_empty() {
                let free = self.buffers.input_append_buf();
                let n = free.len().min(self.ready.len());
                if n == 0 {
                    return Err(HeadTooLarge::Total.into_error());
                }
                free[..n].copy_from_slice(&self.ready[..n]);
                self.buffers.input_appended(n);
                self.ready.drain(..n);
                return Ok(true);
            }
            if !self.in_head {
                return self.read_into_ureq(timeout);
            }
            match self.head.scan().map_err(HeadTooLarge::into_error)? {
                Head::Complete(used) => {
                    // After an interim response (100 Continue, 103 Early Hints) another head
                    // follows.
                    self.in_head = status_line_code(&used)
                        .is_some_and(|c| (100..200).contains(&c) && c != 101);
                    self.ready = used;
                    if !self.in_head {
                        self.ready.extend(self.head.take_all());
                    }
                    continue;
                }
                Head::Raw => {
                    self.in_head = false;
                    self.ready = self.head.take_all();
                    continue;
                }
                Head::Partial => {}
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = self.read_socket(&mut chunk, timeout)?;
            if n == 0 {
                // The server closed mid-head: ureq gets what came and reports it.
                self.in_head = false;
                self.ready = self.head.take_all();
                if self.ready.is_empty() {
                    return Ok(false);
                }
                continue;
            }
            self.head.buf.extend_from_slice(&chunk[..n]);
            if !self.status_seen {
                let code = status_line_code(&self.head.buf);
                self.note_status(code);
            }
        }
    }

    fn is_open(&mut self) -> bool {
        // One request per check: never reuse a connection.
        false
    }

    fn is_tls(&self) -> bool {
        matches!(self.io, Io::Tls(_))
    }
}

impl ProbeTransport {
    /// Read straight into ureq's input buffer (past the head: the body).
    fn read_into_ureq(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let left = remaining(self.deadline, timeout)?;
        self.io.tcp().set_read_timeout(Some(left))?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            let r = match &mut self.io {
                Io::Plain(s) => s.read(input),
                Io::Tls(s) => s.read(input),
            };
            match r {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, ureq::Timeout::Global)),
            }
        };
        self.buffers.input_appended(amount);
        if !self.status_seen {
            let code = status_line_code(self.buffers.input());
            self.note_status(code);
        }
        Ok(amount > 0)
    }

    /// One read from the socket, bounded by what is left of the deadline.
    fn read_socket(
        &mut self,
        buf: &mut [u8],
        timeout: NextTimeout,
    ) -> std::result::Result<usize, ureq::Error> {
        let left = remaining(self.deadline, timeout.for_read())?;
        self.io.tcp().set_read_timeout(Some(left))?;
        loop {
            let r = match &mut self.io {
                Io::Plain(s) => s.read(buf),
                Io::Tls(s) => s.read(buf),
            };
            match r {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, ureq::Timeout::Global)),
            }
        }
    }

    /// Like curl, report the code of a status line as soon as one whole line arrived, even if
    /// the headers after it never complete.
    fn note_status(&mut self, code: Option<u16>) {
        if let Some(code) = code {
            self.status_seen = true;
            self.progress.with(|s| s.code = Some(code));
        }
    }
}

impl Drop for ProbeTransport {
    fn drop(&mut self) {
        let _ = self.io.tcp().shutdown(Shutdown::Both);
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `opts`: no verification, the `--cacert` certificates
/// (a self-signed server certificate listed there is accepted as is), or the system bundle.
fn build_tls_config(opts: &TlsOptions) -> std::result::Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = if opts.insecure {
        Arc::new(NoVerifier(provider))
    } else {
        let (certs, pinned) = match &opts.cacert {
            Some(certs) => (certs.clone(), certs.clone()),
            None => (system_bundle()?, Vec::new()),
        };
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        let webpki = if added > 0 {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("tls: {e}"))?,
            )
        } else {
            None
        };
        if webpki.is_none() && pinned.is_empty() {
            return Err("tls: no usable CA certificate".to_string());
        }
        Arc::new(CaOrPinned {
            webpki,
            pinned,
            provider,
        })
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The system CA bundle: `$SSL_CERT_FILE`, else the first of [`CA_BUNDLES`] that exists.
fn system_bundle() -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let path = from_env
        .into_iter()
        .chain(CA_BUNDLES.iter().map(std::path::PathBuf::from))
        .find(|p| p.is_file())
        .ok_or_else(|| "tls: no CA bundle found (use --cacert FILE or --insecure)".to_string())?;
    load_certs(&path).map_err(|e| format!("tls: {e}"))
}

/// Standard chain verification against the roots; failing that, a server certificate that is
/// byte for byte one of the `--cacert` certificates is accepted if its names cover the host
/// (OpenSSL, hence curl, accepts such a self-signed certificate; webpki alone does not when it
/// says `CA:TRUE`, as `openssl req -x509` makes it by default).
#[derive(Debug)]
struct CaOrPinned {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaOrPinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let chain = match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match chain {
            Ok(v) => Ok(v),
            Err(e)
                if self
                    .pinned
                    .iter()
                    .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                // The exact certificate was given: trust it, but the name must still match.
                let parsed = ParsedCertificate::try_from(end_entity).map_err(|_| e)?;
                verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `--insecure`: any certificate, any name (as `curl -k`); handshake signatures still checked.
#[derive(Debug)]
struct NoVerifier(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sets() {
        let s = StatusSet::parse("200").unwrap();
        assert!(s.contains(200) && !s.contains(204));
        let s = StatusSet::parse("200-399").unwrap();
        assert!(s.contains(200) && s.contains(301) && s.contains(399) && !s.contains(400));
        let s = StatusSet::parse("200,204").unwrap();
        assert!(s.contains(204) && !s.contains(201));
        let s = StatusSet::parse("200-299, 301,302").unwrap();
        assert!(s.contains(250) && s.contains(302) && !s.contains(303));
        assert_eq!(s.to_string(), "200-299, 301,302");
        assert!(StatusSet::default().contains(200));
    }

    #[test]
    fn bad_status_sets_are_usage_errors() {
        for bad in [
            "", "20", "2000", "abc", "200,", ",200", "399-200", "200-", "-200", "99", "0", "+200",
            "200-3x0", "1000",
        ] {
            let e = StatusSet::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn urls() {
        for ok in [
            "http://198.51.100.4/",
            "http://198.51.100.4",
            "HTTP://198.51.100.4:8080/health?x=1",
            "https://example.test/",
            "http://[2001:db8::4]:80/",
            "http://[2001:db8::4]/",
            "http://host.test:65535/",
        ] {
            Target::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(Target::parse("https://x.test/").unwrap().is_https());
        assert!(!Target::parse("http://x.test/").unwrap().is_https());
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for (bad, why) in [
            ("198.51.100.4/", "no scheme"),
            ("ftp://198.51.100.4/", "unsupported scheme 'ftp'"),
            ("http://198.51.100.4:0/", "bad port '0'"),
            ("http://198.51.100.4:65536/", "bad port '65536'"),
            ("http://198.51.100.4:80x/", "bad port '80x'"),
            ("http://198.51.100.4:/", "bad port ''"),
            ("http:///path", "no host"),
            ("http://", "no host"),
            ("http://[2001:db8::4/", "unclosed"),
            ("http://[nope]/", "bad IPv6"),
            ("http://u:p@198.51.100.4/", "credentials"),
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn headers() {
        let h = Header::parse("Host: www.test").unwrap();
        assert_eq!(h.name, "host");
        assert_eq!(h.value.unwrap(), "www.test");
        let h = Header::parse("X-Empty;").unwrap();
        assert_eq!(h.value.unwrap(), "");
        let h = Header::parse("User-Agent:").unwrap();
        assert!(h.value.is_none() && h.removes());
        let h = Header::parse("Accept:   ").unwrap();
        assert!(h.removes());
        assert!(!Header::parse("Accept;").unwrap().removes());
        // Host cannot be left out; it can be emptied or replaced.
        let e = Header::parse("Host:").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("'Host:'"), "{e}");
        assert!(Header::parse("host:").is_err());
        assert_eq!(Header::parse("Host;").unwrap().value.unwrap(), "");
        let h = Header::parse("X-A:b:c").unwrap();
        assert_eq!(h.value.unwrap(), "b:c");
        for bad in ["NoColon", "Bad Name: x", ": x", "X: a\nb"] {
            assert_eq!(Header::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn outcome_code_text() {
        let mut o = Progress::new(Instant::now()).outcome(None);
        assert_eq!(o.code_text(), "000");
        o.code = Some(204);
        assert_eq!(o.code_text(), "204");
    }

    #[test]
    fn phases_are_ordered() {
        assert!(Phase::Resolve < Phase::Connect && Phase::Response < Phase::Body);
        let p = Progress::new(Instant::now());
        p.reach(Phase::Body);
        p.reach(Phase::Response);
        assert_eq!(p.outcome(None).phase, Phase::Body);
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line_code(b"HTTP/1.1 200 OK\r\nX: y"), Some(200));
        assert_eq!(status_line_code(b"HTTP/1.0 404\r\n"), Some(404));
        assert_eq!(status_line_code(b"HTTP/1.1 503 Busy\n"), Some(503));
        assert_eq!(status_line_code(b"HTTP/1.1 200 OK"), None); // line not complete
        assert_eq!(status_line_code(b"HTTP/1.1 20"), None);
        assert_eq!(status_line_code(b"HTTP/1.1 2000 OK\r\n"), None);
        assert_eq!(status_line_code(b"HTTP/1.1 2x0 OK\r\n"), None);
        assert_eq!(status_line_code(b"SSH-2.0-OpenSSH_9.2p1\r\n"), None);
        assert_eq!(status_line_code(b""), None);
    }

    fn reader(bytes: &[u8]) -> HeadReader {
        HeadReader {
            buf: bytes.to_vec(),
            ..HeadReader::default()
        }
    }

    #[test]
    fn heads_keep_only_the_headers_ureq_acts_on() {
        let mut r = reader(
            b"HTTP/1.1 302 Found\r\nServer: x\r\nLOCATION: /a\r\nContent-Length: 3\r\n\
              Set-Cookie: a=b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nok\n",
        );
        assert_eq!(
            r.scan(),
            Ok(Head::Complete(
                b"HTTP/1.1 302 Found\r\nLOCATION: /a\r\nContent-Length: 3\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    .to_vec()
            ))
        );
        // What followed the head stays, for the body.
        assert_eq!(r.take_all(), b"ok\n");
        // Bare LF line ends, as httparse accepts them.
        let mut r = reader(b"HTTP/1.0 200 OK\nX: y\ncontent-length: 0\n\n");
        assert_eq!(
            r.scan(),
            Ok(Head::Complete(
                b"HTTP/1.0 200 OK\ncontent-length: 0\n\n".to_vec()
            ))
        );
    }

    #[test]
    fn heads_arrive_in_pieces() {
        let whole = b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok";
        let mut r = HeadReader::default();
        let mut got = None;
        for (i, b) in whole.iter().enumerate() {
            r.buf.push(*b);
            match r.scan() {
                Ok(Head::Partial) => {}
                Ok(Head::Complete(h)) => {
                    got = Some((i, h));
                    break;
                }
                other => panic!("byte {i}: {other:?}"),
            }
        }
        let (i, head) = got.expect("complete");
        assert_eq!(i, whole.len() - 3);
        assert_eq!(head, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(r.take_all().is_empty());
    }

    #[test]
    fn many_headers_and_long_lines_within_curls_limits_pass() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..5000 {
            head.extend_from_slice(format!("X-Header-{i}: value\r\n").as_bytes());
        }
        head.extend_from_slice(
            format!("X-Long: {}\r\n", "a".repeat(MAX_HEADER_LINE - 8)).as_bytes(),
        );
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        assert!(head.len() < MAX_HEAD);
        assert_eq!(
            reader(&head).scan(),
            Ok(Head::Complete(
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()
            ))
        );
    }

    #[test]
    fn heads_beyond_curls_limits_fail_before_they_end() {
        // A line one byte too long, whether or not its end has arrived.
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEADER_LINE - 3));
        assert_eq!(reader(long.as_bytes()).scan(), Ok(Head::Partial));
        assert_eq!(
            reader(format!("{long}\r").as_bytes()).scan(),
            Ok(Head::Partial)
        );
        assert!(matches!(
            reader(format!("{long}\r\n\r\n").as_bytes()).scan(),
            Ok(Head::Complete(_))
        ));
        let longer = format!("{long}aa");
        assert_eq!(reader(longer.as_bytes()).scan(), Err(HeadTooLarge::Line));
        assert_eq!(
            reader(format!("{longer}\r\n").as_bytes()).scan(),
            Err(HeadTooLarge::Line)
        );
        // The same line arriving in pieces: each byte looked at once, the limit still holds.
        let mut r = reader(b"HTTP/1.1 200 OK\r\nX: ");
        let mut result = r.scan();
        while result == Ok(Head::Partial) {
            r.buf.extend_from_slice(&[b'a'; 1000]);
            result = r.scan();
        }
        assert_eq!(result, Err(HeadTooLarge::Line));
        assert!(r.buf.len() < MAX_HEADER_LINE + 2000);
        // Short lines without end: the whole head's limit.
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while head.len() <= MAX_HEAD {
            head.extend_from_slice(b"X-More: yes\r\n");
        }
        assert_eq!(reader(&head).scan(), Err(HeadTooLarge::Total));
        assert!(
            HeadTooLarge::Line
                .into_error()
                .to_string()
                .contains("longer than 100 KiB (102400 bytes)")
        );
        assert_eq!(
            describe(
                &HeadTooLarge::Total.into_error(),
                Phase::Response,
                &Probe::new(Target::parse("http://x.test/").unwrap())
            ),
            "response headers larger than 307200 bytes"
        );
    }

    #[test]
    fn what_is_not_a_well_formed_head_goes_to_ureq_as_it_is() {
        for raw in [
            &b"SSH-2.0-OpenSSH_9.2p1\r\n"[..],
            b"SSH",
            b"<html>",
            b"HTTP/1.1 200 OK\r\nNo colon here\r\n",
            b"HTTP/1.1 200 OK\r\n: no name\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n",
        ] {
            let mut r = reader(raw);
            assert_eq!(r.scan(), Ok(Head::Raw), "{}", String::from_utf8_lossy(raw));
            assert_eq!(r.take_all(), raw);
        }
        for partial in [&b""[..], b"H", b"HTTP", b"HTTP/1.1 200 OK\r\nX-A: 1"] {
            assert_eq!(reader(partial).scan(), Ok(Head::Partial));
        }
    }

    #[test]
    fn timeouts_name_the_phase_and_the_deadline() {
        let mut probe = Probe::new(Target::parse("http://198.51.100.4/").unwrap());
        probe.total = Duration::from_secs(2);
        probe.connect = Some(Duration::from_millis(300));
        let global = ureq::Error::Timeout(ureq::Timeout::Global);
        assert_eq!(
            describe(&global, Phase::Body, &probe),
            "body: timed out after 2s"
        );
        assert_eq!(
            describe(&global, Phase::Resolve, &probe),
            "resolve: timed out after 2s"
        );
        let connect = ureq::Error::Timeout(ureq::Timeout::Connect);
        assert_eq!(
            describe(&connect, Phase::Connect, &probe),
            "connect: timed out after 0.3s"
        );
        // A body read that timed out comes back from ureq wrapped in an io::Error.
        let wrapped = ureq::Error::from(ureq::Error::Timeout(ureq::Timeout::Global).into_io());
        assert_eq!(
            describe(&wrapped, Phase::Body, &probe),
            "body: timed out after 2s"
        );
        let io = ureq::Error::Io(io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(describe(&io, Phase::Tls, &probe), "tls: timed out after 2s");
    }

    #[test]
    fn remaining_time_is_bounded_by_both_deadlines() {
        let past = Instant::now() - Duration::from_millis(1);
        assert!(matches!(
            remaining(past, NextTimeout::default()),
            Err(ureq::Error::Timeout(ureq::Timeout::Global))
        ));
        let later = Instant::now() + Duration::from_secs(10);
        let left = remaining(later, NextTimeout::default()).unwrap();
        assert!(left > Duration::from_secs(9));
    }

    #[test]
    fn cacert_file_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(
            load_certs(&empty)
                .unwrap_err()
                .to_string()
                .contains("no PEM certificate")
        );
        let missing = dir.path().join("missing.pem");
        assert!(
            load_certs(&missing)
                .unwrap_err()
                .to_string()
                .contains("no such file")
        );
    }
}
