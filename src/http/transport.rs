//! The network side of a check, as ureq's resolver, connector and transport: name lookup, one TCP
//! connection per address within the connect deadline, the TLS handshake, and every socket read
//! and write bounded by what is left of the total deadline. The response head is read through
//! [`HeadReader`] within curl's limits before ureq sees it. Each step records its phase in
//! [`Progress`].

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::http::{Uri, uri::Scheme};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use super::progress::{Phase, Progress};
use super::spec::{Head, HeadReader, HeadTooLarge, status_line_code};
use super::tls::{TlsOptions, build_tls_config};
use crate::error::{lowercase_first, os_reason};

/// How long a kept connection serves checks: the first request after that goes out on a new
/// connection, so that the server's accept path (listening socket, backlog, accept), which a
/// request on a kept connection does not go through, is tested at least this often.
pub const KEEP_FOR: Duration = Duration::from_secs(1);

/// Most bytes read from the socket at once while reading a response head.
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// Resolves with ureq's resolver (which abandons a slow `getaddrinfo` at the deadline) and
/// records the phase and the time taken.
#[derive(Debug)]
pub(super) struct ProbeResolver {
    progress: Arc<Progress>,
}

impl ProbeResolver {
    pub(super) fn new(progress: Arc<Progress>) -> ProbeResolver {
        ProbeResolver { progress }
    }
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
/// does the TLS handshake itself, bounded by the total deadline. The deadline is the check's
/// in [`Progress`], so that one connector serves every check of a [`Checker`]'s agent.
///
/// [`Checker`]: super::probe::Checker
#[derive(Debug)]
pub(super) struct ProbeConnector {
    progress: Arc<Progress>,
    connect: Option<Duration>,
    tls: TlsOptions,
    tls_config: OnceLock<Arc<ClientConfig>>,
    /// Whether its connections may serve more than one request.
    keep: bool,
    /// The buffers of the last connection closed, for the next one.
    spare: Arc<Spare>,
}

/// Buffers left by a closed connection: a new connection takes them instead of allocating.
type Spare = Mutex<Option<ProbeBuffers>>;

impl Connector<()> for ProbeConnector {
    type Out = ProbeTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<ProbeTransport>, ureq::Error> {
        self.progress.set_phase(Phase::Connect);
        let now = Instant::now();
        let deadline = self.progress.deadline();
        // Which deadline ends the connection attempts decides what a timeout reports.
        let (until, reason) = match self.connect {
            Some(c) if now + c < deadline => (now + c, ureq::Timeout::Connect),
            _ => (deadline, ureq::Timeout::Global),
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
            Io::Tls(Box::new(handshake(stream, host, config, deadline)?))
        } else {
            Io::Plain(stream)
        };
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let buffers = spare.unwrap_or_else(|| {
            ProbeBuffers::new(
                details.config.output_buffer_size(),
                details.config.input_buffer_size(),
            )
        });
        Ok(Some(ProbeTransport {
            io,
            born: Instant::now(),
            peer,
            buffers,
            progress: self.progress.clone(),
            keep: self.keep,
            kept: false,
            spare: self.spare.clone(),
            status_seen: false,
            head: HeadReader::default(),
            in_head: true,
            ready: Vec::new(),
        }))
    }
}

impl ProbeConnector {
    /// Connections for the checks recorded in `progress`: each within `connect` (if given)
    /// and all within the check's deadline; `keep`: a connection may be kept for the next
    /// request (else it serves one and is closed).
    pub(super) fn new(
        progress: Arc<Progress>,
        connect: Option<Duration>,
        tls: TlsOptions,
        keep: bool,
    ) -> ProbeConnector {
        ProbeConnector {
            progress,
            connect,
            tls,
            tls_config: OnceLock::new(),
            keep,
            spare: Arc::new(Mutex::new(None)),
        }
    }

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

    /// One read, waiting at most `left`.
    fn read(&mut self, buf: &mut [u8], left: Duration) -> std::result::Result<usize, ureq::Error> {
        self.tcp().set_read_timeout(Some(left))?;
        loop {
            let r = match self {
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

    /// Whether the connection is idle and still open: nothing waiting to be read (neither
    /// the server's close nor bytes nobody asked for), no error pending. One `recv(2)` that
    /// peeks without waiting.
    fn idle_and_open(&self) -> bool {
        if let Io::Tls(s) = self
            && s.conn.wants_write()
        {
            return false;
        }
        matches!(peek(self.tcp()), Peek::Nothing)
    }
}

/// What a peek at a socket found.
#[derive(Debug, PartialEq, Eq)]
enum Peek {
    /// Nothing to read yet: the connection is open and quiet.
    Nothing,
    /// Bytes are waiting.
    Data,
    /// The peer closed its side (or an error is pending, the peer's reset among them).
    Closed,
}

/// Look at what `sock` has to read without taking it and without waiting.
fn peek(sock: &TcpStream) -> Peek {
    let mut byte = [0u8; 1];
    // SAFETY: `sock` owns an open socket for the duration of the call, and `byte` is a valid
    // buffer of the length passed; MSG_PEEK leaves the data where it is, MSG_DONTWAIT makes
    // the call return at once whatever the socket's blocking mode.
    let n = unsafe {
        libc::recv(
            sock.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            byte.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => Peek::Closed,
        n if n > 0 => Peek::Data,
        _ => match io::Error::last_os_error().kind() {
            io::ErrorKind::WouldBlock => Peek::Nothing,
            io::ErrorKind::Interrupted => Peek::Nothing,
            _ => Peek::Closed,
        },
    }
}

/// Send what the socket takes of `buf` at once, without waiting (0 when its send buffer is
/// full); an error the socket has (a reset, a closed connection) is returned.
fn send_now(sock: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `sock` owns an open socket for the duration of the call, and `buf` is a valid
    // buffer of the length passed, only read; MSG_DONTWAIT makes the call return at once,
    // MSG_NOSIGNAL makes a closed connection an EPIPE error rather than a signal.
    let n = unsafe {
        libc::send(
            sock.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    match usize::try_from(n) {
        Ok(n) => Ok(n),
        Err(_) => {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            }
        }
    }
}

/// The input buffer's size to start with, before a response needs more: a health answer's
/// head and body fit, and a body is read this much at a time.
const INPUT_START: usize = READ_CHUNK;

/// ureq's input and output buffers over our connection: the input starts at [`INPUT_START`]
/// and grows only when a response head needs more (up to the configured input size, curl's
/// limits plus room to read on); the output is sized for the request. Allocated once and
/// kept with the connection, then handed to the next one ([`Spare`]): a check allocates and
/// clears nothing.
#[derive(Debug, Default)]
pub(super) struct ProbeBuffers {
    /// Bytes `consumed..filled` are the unconsumed input; `filled..` is free.
    input: Vec<u8>,
    filled: usize,
    consumed: usize,
    /// The most the input may grow to.
    max_input: usize,
    output: Vec<u8>,
    /// The last `input_consume` consumed something (see [`Buffers::can_use_input`]).
    progress: bool,
    /// Where a response head is read from the socket before it is looked at.
    chunk: Vec<u8>,
}

impl ProbeBuffers {
    fn new(output: usize, max_input: usize) -> ProbeBuffers {
        ProbeBuffers {
            input: Vec::new(),
            filled: 0,
            consumed: 0,
            max_input: max_input.max(1),
            output: vec![0; output.max(1)],
            progress: false,
            chunk: Vec::new(),
        }
    }

    /// Empty, for another connection; memory grown for one large head is given back.
    fn clear(&mut self) {
        self.filled = 0;
        self.consumed = 0;
        self.progress = false;
        if self.input.len() > INPUT_START {
            self.input = Vec::new();
        }
    }

    /// Make room for `want` more bytes of input if it can grow that far (at least one byte
    /// more, up to the limit, whatever `want`).
    fn reserve_input(&mut self, want: usize) {
        self.shift();
        let free = self.input.len() - self.filled;
        if free >= want {
            return;
        }
        let size = (self.filled + want)
            .max(2 * self.input.len())
            .max(INPUT_START)
            .min(self.max_input);
        if size > self.input.len() {
            self.input.resize(size, 0);
        }
    }

    /// Move the unconsumed input to the front.
    fn shift(&mut self) {
        if self.consumed == 0 {
            return;
        }
        self.input.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
    }

    /// The scratch buffer a head is read into.
    fn chunk(&mut self) -> &mut [u8] {
        if self.chunk.is_empty() {
            self.chunk = vec![0; READ_CHUNK];
        }
        &mut self.chunk
    }
}

impl Buffers for ProbeBuffers {
    fn output(&mut self) -> &mut [u8] {
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        &self.input[self.consumed..self.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        if self.input.is_empty() {
            self.reserve_input(INPUT_START);
        } else {
            self.shift();
        }
        &mut self.input[self.filled..]
    }

    fn input_appended(&mut self, amount: usize) {
        self.filled = (self.filled + amount).min(self.input.len());
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.consumed = (self.consumed + amount).min(self.filled);
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        // Scratch space for a request body read through `Read` (ureq asks for 10 KiB).
        self.reserve_input(10 * 1024);
        (&mut self.input[self.filled..], &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.filled > self.consumed && self.progress
    }
}

/// ureq's view of our connection: every read and write bounded by the check's deadline, and
/// each one moving the recorded phase forward (request sent, then response).
pub(super) struct ProbeTransport {
    io: Io,
    /// When the connection was made (kept for [`KEEP_FOR`] at most).
    born: Instant,
    peer: Option<SocketAddr>,
    buffers: ProbeBuffers,
    progress: Arc<Progress>,
    /// May serve another request after this one (a [`Checker`]'s connection).
    ///
    /// [`Checker`]: super::probe::Checker
    keep: bool,
    /// Served a request already: the next goes out on a kept connection.
    kept: bool,
    spare: Arc<Spare>,
    /// The status line of this connection's response has been seen.
    status_seen: bool,
    /// The response head as it arrives, until it is complete.
    head: HeadReader,
    /// Still reading a response head through `head` (false: bytes go straight to ureq).
    in_head: bool,
    /// Bytes for ureq's input buffer that did not fit in it yet.
    ready: Vec<u8>,
}

impl fmt::Debug for ProbeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTransport")
            .field("peer", &self.peer)
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
        let (kept, peer) = (self.kept, self.peer);
        self.progress.with(|s| {
            if kept && !s.reused {
                // No connector ran for this request: say where it went.
                s.reused = true;
                s.tried = peer;
                s.remote = peer;
            }
            if s.phase.is_none_or(|p| p < Phase::Request) {
                s.phase = Some(Phase::Request);
            }
        });
        let timeout = timeout.for_write();
        let left = remaining(self.progress.deadline(), timeout)?;
        let output = &self.buffers.output()[..amount];
        let result = match &mut self.io {
            Io::Plain(s) => {
                // A request fits in an idle connection's send buffer: sent without waiting,
                // the socket needs no timeout for it.
                let sent = send_now(s, output).map_err(|e| io_error(e, ureq::Timeout::Global))?;
                if sent == output.len() {
                    return Ok(());
                }
                s.set_write_timeout(Some(left))?;
                s.write_all(&output[sent..])
            }
            Io::Tls(s) => {
                s.sock.set_write_timeout(Some(left))?;
                s.write_all(output).and_then(|()| s.flush())
            }
        };
        result.map_err(|e| io_error(e, ureq::Timeout::Global))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.progress.reach(Phase::Response);
        loop {
            if !self.ready.is_empty() {
                self.buffers.reserve_input(self.ready.len());
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
            let left = remaining(self.progress.deadline(), timeout.for_read())?;
            let chunk = self.buffers.chunk();
            let n = self.io.read(chunk, left)?;
            if n == 0 {
                // The server closed mid-head: ureq gets what came and reports it.
                self.in_head = false;
                self.ready = self.head.take_all();
                if self.ready.is_empty() {
                    return Ok(false);
                }
                continue;
            }
            self.progress.with(|s| s.received = true);
            self.head.buf.extend_from_slice(&chunk[..n]);
            if !self.status_seen {
                let code = status_line_code(&self.head.buf);
                self.note_status(code);
            }
        }
    }

    fn is_open(&mut self) -> bool {
        // ureq asks when a response is complete (may the connection go back to the pool?)
        // and again before it sends the next request on it.
        if !self.keep || !self.nothing_held_back() {
            return false;
        }
        if self.in_head {
            // Before the next request: what arrived since the response (the server's close,
            // bytes nobody asked for) is seen now, the moment it matters.
            return self.born.elapsed() < KEEP_FOR && self.io.idle_and_open();
        }
        // A response just ended, read to its end: the next one starts from nothing.
        self.kept = true;
        self.status_seen = false;
        self.in_head = true;
        true
    }

    fn is_tls(&self) -> bool {
        matches!(self.io, Io::Tls(_))
    }
}

impl ProbeTransport {
    /// Read straight into ureq's input buffer (past the head: the body).
    fn read_into_ureq(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let left = remaining(self.progress.deadline(), timeout.for_read())?;
        self.buffers.reserve_input(READ_CHUNK);
        let input = self.buffers.input_append_buf();
        let amount = self.io.read(input, left)?;
        self.buffers.input_appended(amount);
        if amount > 0 {
            self.progress.with(|s| s.received = true);
        }
        if !self.status_seen {
            let code = status_line_code(self.buffers.input());
            self.note_status(code);
        }
        Ok(amount > 0)
    }

    /// Nothing of a response is held back from ureq: no head half read, no bytes waiting.
    fn nothing_held_back(&self) -> bool {
        self.ready.is_empty() && self.head.buf.is_empty()
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
        if self.keep {
            // The next connection of this agent reads into the same memory.
            let mut buffers = std::mem::take(&mut self.buffers);
            buffers.clear();
            *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(buffers);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::spec::MAX_HEAD;

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
    fn the_input_buffer_starts_small_and_grows_only_as_a_head_needs() {
        let max = MAX_HEAD + 2 * READ_CHUNK;
        let mut b = ProbeBuffers::new(4096, max);
        assert!(
            b.input.is_empty(),
            "nothing allocated before the first read"
        );
        assert_eq!(b.input_append_buf().len(), INPUT_START);
        b.input_append_buf()[..5].copy_from_slice(b"HTTP/");
        b.input_appended(5);
        assert_eq!(b.input(), b"HTTP/");
        // ureq consumed nothing (a partial head): the next read appends.
        b.input_consume(0);
        assert!(!b.can_use_input());
        // A head larger than the buffer: it grows, keeping what is there, up to the limit.
        b.reserve_input(100 * 1024);
        assert!(b.input_append_buf().len() >= 100 * 1024);
        assert_eq!(b.input(), b"HTTP/");
        b.reserve_input(10 * max);
        assert_eq!(b.input.len(), max);
        b.input_appended(max - 5);
        assert!(b.input_append_buf().is_empty(), "no room past the limit");
        // Consumed input makes room again, the rest moved to the front.
        b.input_consume(max - 2);
        assert!(b.can_use_input());
        assert_eq!(b.input().len(), 2);
        assert_eq!(b.input_append_buf().len(), max - 2);
        // For the next connection: empty, and the grown memory given back.
        b.clear();
        assert!(b.input().is_empty() && b.input.is_empty());
        assert_eq!(b.input_append_buf().len(), INPUT_START);
        assert_eq!(b.output().len(), 4096);
    }

    #[test]
    fn a_peek_tells_an_idle_connection_from_a_closed_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(peek(&client), Peek::Nothing);
        assert_eq!(send_now(&client, b"GET").unwrap(), 3);
        server.write_all(b"x").unwrap();
        let ready = Instant::now() + Duration::from_secs(5);
        while peek(&client) == Peek::Nothing && Instant::now() < ready {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(peek(&client), Peek::Data, "a byte nobody asked for");
        // Peeking leaves it there.
        let mut b = [0u8; 4];
        assert_eq!((&client).read(&mut b).unwrap(), 1);
        drop(server);
        while peek(&client) == Peek::Nothing && Instant::now() < ready {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(peek(&client), Peek::Closed);
    }
}
