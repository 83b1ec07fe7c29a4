//! Running one check: the [`Probe`] (what to ask and what passes), [`check`] with its hard
//! deadline, the request through ureq with our connector and resolver, the verdict on the
//! status and body, and the one-line reason of a failure.

use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::header::{self as http_header, HeaderName};

use super::progress::{Outcome, Phase, Progress};
use super::spec::{Header, MAX_HEAD, StatusSet, Target};
use super::tls::TlsOptions;
use super::transport::{ProbeConnector, ProbeResolver, READ_CHUNK};
use crate::error::{lowercase_first, os_reason};

/// Default total deadline, like `curl -m 2`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on the response body: a health page is small; anything larger fails the check.
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// Redirects followed with `-L` (curl follows up to 50; a health URL needs a few at most).
pub const MAX_REDIRECTS: u32 = 10;

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

/// Run one check and never take longer than `probe.total` (plus thread wake-up slack).
///
/// Like `curl -o /dev/null -s -w %{http_code} --max-time T URL`, but with the verdict decided
/// here: the status must be in `probe.expect`, the body complete, within `probe.max_body` and
/// matching `probe.body_match`. One request on a new connection, closed when it ends.
pub fn check(probe: &Probe) -> Outcome {
    let start = Instant::now();
    let deadline = start + probe.total;
    let progress = Arc::new(Progress::new(start, deadline));
    let (tx, rx) = mpsc::sync_channel(1);
    let job = {
        let probe = probe.clone();
        let progress = progress.clone();
        move || {
            let failure = run(&probe, &progress);
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
        let failure = run(probe, &progress);
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

/// The same check again and again (vip-watch's rounds), each like [`check`] but on the
/// calling thread, over one connection kept open between checks (HTTP/1.1 keep-alive), and
/// with buffers kept from one check to the next.
///
/// Each check is bounded by ureq's global timeout (`probe.total`), the connect deadline and
/// the socket deadlines, which cover every phase (a host name is resolved by ureq's resolver,
/// which abandons a slow `getaddrinfo` at the deadline; an address literal needs no lookup),
/// so that a caller that watches the deadline itself starts no thread per check.
///
/// The connection is kept only after a complete response that allows it (not `Connection:
/// close`, not HTTP/1.0 without keep-alive, the body read to its end, nothing sent after it),
/// so a check that timed out, failed on the connection or on its status closes it (only a
/// body that does not match `body_match` leaves it kept: it was read whole); it serves checks
/// for [`KEEP_FOR`](super::KEEP_FOR) at most. A kept connection is looked at before it is
/// used: one the server closed while it was idle is dropped and a new one made. One that
/// turns out stale only once the request is on it (reset, or closed before any byte of a
/// response came) is not a failure: the request is made again, once, on a new connection,
/// within the same deadline.
pub struct Checker {
    probe: Probe,
    progress: Arc<Progress>,
    agent: Agent,
    /// Where the body is read into, and kept when it is to be matched.
    chunk: Vec<u8>,
    body: Vec<u8>,
}

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checker")
            .field("url", &self.probe.url)
            .finish()
    }
}

impl Checker {
    /// Checks of `probe`; nothing is opened until the first.
    pub fn new(probe: Probe) -> Checker {
        let now = Instant::now();
        let progress = Arc::new(Progress::new(now, now));
        let agent = agent(&probe, &progress, true);
        Checker {
            probe,
            progress,
            agent,
            chunk: vec![0; BODY_CHUNK],
            body: Vec::new(),
        }
    }

    /// One check, within `probe.total`.
    pub fn check(&mut self) -> Outcome {
        let start = Instant::now();
        let deadline = start + self.probe.total;
        self.progress.begin(start, deadline);
        let mut failure = self.request(None);
        if let Some(why) = &failure
            && timeout_of(why).is_none()
            && self.progress.with(|s| s.reused && !s.received)
        {
            // The kept connection was stale (the server closed or reset it as the request
            // went out): not the server's answer. Once more on a new one, in what is left.
            let left = deadline.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                self.progress.retry();
                failure = self.request(Some(left));
            }
        }
        self.progress.outcome(failure)
    }

    fn request(&mut self, total: Option<Duration>) -> Option<String> {
        request(
            &self.agent,
            &self.probe,
            &self.progress,
            total,
            &mut self.chunk,
            &mut self.body,
        )
    }
}

/// `PHASE: timed out after Ns`: where the check was when `deadline` (as given) passed.
fn timed_out(phase: Phase, deadline: Duration) -> String {
    format!("{phase}: {}", timeout_text(deadline))
}

/// `timed out after Ns`: a check's failure when `deadline` (as given) passed, without the
/// phase (for a caller whose own deadline came first, and does not know the phase).
pub fn timeout_text(deadline: Duration) -> String {
    format!("timed out after {}s", crate::secs::show(deadline))
}

/// The phase-free part of a failure reason that is a timeout (`timed out after 2s` from
/// `connect: timed out after 2s`, or from itself); None for any other reason.
pub fn timeout_of(reason: &str) -> Option<&str> {
    let rest = reason.split_once(": ").map_or(reason, |(_, rest)| rest);
    rest.starts_with("timed out after ").then_some(rest)
}

/// Bytes of the body read at once.
const BODY_CHUNK: usize = 16 * 1024;

/// One request on a new agent, its connection closed after it; returns why it failed, or
/// None.
fn run(probe: &Probe, progress: &Arc<Progress>) -> Option<String> {
    let agent = agent(probe, progress, false);
    let mut chunk = vec![0; BODY_CHUNK];
    request(&agent, probe, progress, None, &mut chunk, &mut Vec::new())
}

/// The agent that makes `probe`'s requests with our resolver and connector, recording them
/// in `progress`; `keep`: it keeps its connection for the next request.
fn agent(probe: &Probe, progress: &Arc<Progress>, keep: bool) -> Agent {
    let removed = |name: HeaderName| probe.headers.iter().any(|h| h.removes() && h.name == name);
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(if probe.follow { MAX_REDIRECTS } else { 0 })
        .max_redirects_will_error(false)
        .timeout_global(Some(probe.total))
        .proxy(None)
        // The transport hands ureq a head already checked against curl's limits (and stripped
        // of the headers ureq does not act on): ureq's own limit must not be the smaller one.
        // The input buffer grows to this size only when a head needs it.
        .max_response_header_size(MAX_HEAD)
        .input_buffer_size(MAX_HEAD + 2 * READ_CHUNK)
        .output_buffer_size(request_size(probe))
        .no_delay(true)
        .max_idle_connections(usize::from(keep))
        .max_idle_connections_per_host(1)
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
    let connector = ProbeConnector::new(progress.clone(), probe.connect, probe.tls.clone(), keep);
    let resolver = ProbeResolver::new(progress.clone());
    Agent::with_parts(config, connector, resolver)
}

/// Room for the request head: every line of it fits (ureq writes it a line at a time at
/// least), whatever the URL and the `-H` headers.
fn request_size(probe: &Probe) -> usize {
    let headers: usize = probe
        .headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.as_ref().map_or(0, |v| v.len()) + 4)
        .sum();
    4096 + 2 * probe.url.as_str().len() + headers
}

/// The request itself (within `total` if given, else `probe.total`), the verdict on its
/// response; returns why it failed, or None.
fn request(
    agent: &Agent,
    probe: &Probe,
    progress: &Arc<Progress>,
    total: Option<Duration>,
    chunk: &mut [u8],
    body: &mut Vec<u8>,
) -> Option<String> {
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
    if let Some(total) = total {
        req = req.config().timeout_global(Some(total)).build();
    }

    let response = match req.call() {
        Ok(r) => r,
        Err(e) => return Some(describe(&e, progress.phase(), probe)),
    };
    let code = response.status().as_u16();
    progress.with(|s| s.code = Some(code));
    progress.reach(Phase::Body);
    if !probe.expect.contains(code) {
        // The verdict is known: do not spend the rest of the deadline on the body (and the
        // connection, its body not read, is not kept).
        progress.set_phase(Phase::Done);
        return Some(format!("status {code}, expected {}", probe.expect));
    }

    let mut reader = response.into_body().into_reader();
    let keep = probe.body_match.is_some();
    body.clear();
    let mut seen: u64 = 0;
    loop {
        let n = match reader.read(chunk) {
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
        && !re.is_match(body)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::spec::HeadTooLarge;

    #[test]
    fn a_timeout_is_recognised_whatever_its_phase() {
        let d = Duration::from_millis(300);
        assert_eq!(timeout_text(d), "timed out after 0.3s");
        assert_eq!(
            timeout_of(&timed_out(Phase::Connect, d)),
            Some("timed out after 0.3s")
        );
        assert_eq!(timeout_of(&timeout_text(d)), Some("timed out after 0.3s"));
        assert_eq!(timeout_of("connection refused"), None);
        assert_eq!(timeout_of("status 503, expected 200"), None);
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
    fn a_head_beyond_the_limit_is_described_with_the_limit() {
        assert_eq!(
            describe(
                &HeadTooLarge::Total.into_error(),
                Phase::Response,
                &Probe::new(Target::parse("http://x.test/").unwrap())
            ),
            "response headers larger than 307200 bytes"
        );
    }

    // A Checker against scripted loopback servers: which connections it keeps, and that a
    // kept connection that turns out stale is not a failed check.

    use std::io::Write;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::http::KEEP_FOR;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

    /// A loopback server that runs `serve(connection number, stream)` on each connection it
    /// accepts, each on a thread of its own; counts the connections.
    struct Server {
        addr: SocketAddr,
        accepted: Arc<AtomicUsize>,
    }

    impl Server {
        fn start(serve: impl Fn(usize, TcpStream) + Send + Sync + 'static) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = Arc::new(AtomicUsize::new(0));
            let count = accepted.clone();
            let serve = Arc::new(serve);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let serve = serve.clone();
                    std::thread::spawn(move || serve(n, stream));
                }
            });
            Server { addr, accepted }
        }

        fn checker(&self) -> Checker {
            let mut probe = Probe::new(Target::parse(&format!("http://{}/", self.addr)).unwrap());
            probe.total = Duration::from_millis(500);
            Checker::new(probe)
        }

        fn accepted(&self) -> usize {
            self.accepted.load(Ordering::SeqCst)
        }
    }

    /// Read one request head; false at the end of the connection.
    fn request_in(s: &mut TcpStream) -> bool {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut got = Vec::new();
        let mut b = [0u8; 512];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&b[..n]),
            }
        }
        true
    }

    /// `n` checks, 10 ms apart: each one's failure, if any.
    fn checks(c: &mut Checker, n: usize) -> Vec<Option<String>> {
        (0..n)
            .map(|_| {
                let o = c.check();
                std::thread::sleep(Duration::from_millis(10));
                o.failure
            })
            .collect()
    }

    #[test]
    fn a_checker_keeps_its_connection() {
        let server = Server::start(|_, mut s| {
            while request_in(&mut s) {
                let _ = s.write_all(OK);
            }
        });
        let mut c = server.checker();
        assert!(checks(&mut c, 20).iter().all(Option::is_none));
        assert_eq!(server.accepted(), 1);
    }

    #[test]
    fn a_kept_connection_serves_checks_for_keep_for_then_a_new_one_is_made() {
        let server = Server::start(|_, mut s| {
            while request_in(&mut s) {
                let _ = s.write_all(OK);
            }
        });
        let mut c = server.checker();
        let start = Instant::now();
        while start.elapsed() < KEEP_FOR + KEEP_FOR / 2 {
            assert!(c.check().passed());
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(server.accepted(), 2);
    }

    #[test]
    fn a_response_that_ends_the_connection_is_not_kept() {
        // `Connection: close`, HTTP/1.0 without keep-alive, a failed status (its body is not
        // read): each check on a new connection, each answered.
        for (answer, failure) in [
            (
                &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok\n"[..],
                None,
            ),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n", None),
            (
                b"HTTP/1.1 503 Busy\r\nContent-Length: 3\r\n\r\nno\n",
                Some("status 503, expected 200".to_string()),
            ),
        ] {
            let server = Server::start(move |_, mut s| {
                // Answer every request, as a server that ignores its own header would: the
                // client is the one that must not send another.
                while request_in(&mut s) {
                    let _ = s.write_all(answer);
                }
            });
            let mut c = server.checker();
            let failures = checks(&mut c, 5);
            assert!(failures.iter().all(|f| *f == failure), "{failures:?}");
            assert_eq!(server.accepted(), 5, "{}", String::from_utf8_lossy(answer));
        }
    }

    #[test]
    fn a_server_that_closes_idle_connections_fails_no_check() {
        // Closed right after each response, without saying so: the next check sees the
        // close before it sends.
        let server = Server::start(|_, mut s| {
            if request_in(&mut s) {
                let _ = s.write_all(OK);
            }
        });
        let mut c = server.checker();
        let failures = checks(&mut c, 10);
        assert!(failures.iter().all(Option::is_none), "{failures:?}");
        assert_eq!(server.accepted(), 10);
    }

    #[test]
    fn a_kept_connection_closed_as_the_request_arrives_is_retried_once() {
        // The server answers one request per connection and, when the next one arrives,
        // closes: with the request read (the client reads the end of the connection) or
        // unread (the kernel resets it). Either way the check goes again on a new
        // connection, within the same deadline, and passes.
        for reset in [false, true] {
            let server = Server::start(move |_, mut s| {
                if !request_in(&mut s) {
                    return;
                }
                let _ = s.write_all(OK);
                if reset {
                    let mut b = [0u8; 1];
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = s.peek(&mut b);
                } else {
                    request_in(&mut s);
                }
            });
            let mut c = server.checker();
            let outcomes: Vec<Outcome> = (0..5).map(|_| c.check()).collect();
            assert!(
                outcomes.iter().all(Outcome::passed),
                "reset={reset}: {outcomes:?}"
            );
            assert_eq!(
                server.accepted(),
                5,
                "reset={reset}: one connection per check"
            );
        }
    }

    #[test]
    fn a_kept_connection_that_gets_no_answer_times_out_and_is_dropped() {
        // The second request on the connection is never answered (a host that died): the
        // check fails at its deadline, is not retried, and the next one connects anew.
        let server = Server::start(|n, mut s| {
            let mut served = 0;
            while request_in(&mut s) {
                if n == 0 && served == 1 {
                    std::thread::sleep(Duration::from_secs(3));
                    return;
                }
                let _ = s.write_all(OK);
                served += 1;
            }
        });
        let mut c = server.checker();
        assert!(c.check().passed());
        let slow = c.check();
        assert_eq!(
            slow.failure.as_deref(),
            Some("response: timed out after 0.5s"),
            "{slow:?}"
        );
        assert!(slow.time_total >= Duration::from_millis(500), "{slow:?}");
        assert!(slow.time_total < Duration::from_millis(900), "{slow:?}");
        assert_eq!(server.accepted(), 1, "a timeout is not retried");
        assert!(c.check().passed());
        assert_eq!(server.accepted(), 2);
    }
}
