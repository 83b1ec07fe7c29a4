//! The record of one check: how far it got ([`Phase`]), and what it found ([`Outcome`]). The
//! resolver, connector and transport write [`Progress`] as they go; the probe reads it when the
//! request ends, or at the deadline while the request is still stuck, so it is shared and locked.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Progress shared between the probe's pieces and the deadline watcher. A [`Checker`]'s is
/// long-lived: [`Progress::begin`] starts it over for each check.
///
/// [`Checker`]: super::probe::Checker
#[derive(Debug)]
pub(super) struct Progress {
    state: Mutex<State>,
}

#[derive(Debug)]
pub(super) struct State {
    /// When the check started, and its total deadline (every socket wait ends there).
    pub(super) start: Instant,
    pub(super) deadline: Instant,
    pub(super) phase: Option<Phase>,
    pub(super) code: Option<u16>,
    pub(super) tried: Option<SocketAddr>,
    pub(super) remote: Option<SocketAddr>,
    pub(super) namelookup: Option<Duration>,
    pub(super) connect: Option<Duration>,
    /// The request went out on a connection kept from an earlier check.
    pub(super) reused: bool,
    /// Some byte of the response has arrived.
    pub(super) received: bool,
}

impl State {
    fn new(start: Instant, deadline: Instant) -> State {
        State {
            start,
            deadline,
            phase: None,
            code: None,
            tried: None,
            remote: None,
            namelookup: None,
            connect: None,
            reused: false,
            received: false,
        }
    }
}

impl Progress {
    /// A check started at `start`, to end by `deadline`.
    pub(super) fn new(start: Instant, deadline: Instant) -> Progress {
        Progress {
            state: Mutex::new(State::new(start, deadline)),
        }
    }

    /// Start over: a new check started at `start`, to end by `deadline`.
    pub(super) fn begin(&self, start: Instant, deadline: Instant) {
        self.with(|s| *s = State::new(start, deadline));
    }

    /// Start the request over within the same check (a kept connection turned out stale):
    /// what the failed attempt reached is forgotten, the start and the deadline are kept.
    pub(super) fn retry(&self) {
        self.with(|s| *s = State::new(s.start, s.deadline));
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a probe thread panicked; the data is still usable.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The check's total deadline.
    pub(super) fn deadline(&self) -> Instant {
        self.with(|s| s.deadline)
    }

    /// Move to `phase` (redirects start again from Resolve).
    pub(super) fn set_phase(&self, phase: Phase) {
        self.with(|s| s.phase = Some(phase));
    }

    /// The phase reached so far.
    pub(super) fn phase(&self) -> Phase {
        self.with(|s| s.phase.unwrap_or(Phase::Start))
    }

    /// Move forward to `phase` unless already past it.
    pub(super) fn reach(&self, phase: Phase) {
        self.with(|s| {
            if s.phase.is_none_or(|p| p < phase) {
                s.phase = Some(phase);
            }
        });
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.with(|s| s.start.elapsed())
    }

    pub(super) fn outcome(&self, failure: Option<String>) -> Outcome {
        self.with(|s| Outcome {
            code: s.code,
            phase: s.phase.unwrap_or(Phase::Start),
            tried: s.tried,
            remote: s.remote,
            time_namelookup: s.namelookup,
            time_connect: s.connect,
            time_total: s.start.elapsed(),
            failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_code_text() {
        let now = Instant::now();
        let mut o = Progress::new(now, now).outcome(None);
        assert_eq!(o.code_text(), "000");
        o.code = Some(204);
        assert_eq!(o.code_text(), "204");
    }

    #[test]
    fn phases_are_ordered() {
        assert!(Phase::Resolve < Phase::Connect && Phase::Response < Phase::Body);
        let now = Instant::now();
        let p = Progress::new(now, now);
        p.reach(Phase::Body);
        p.reach(Phase::Response);
        assert_eq!(p.outcome(None).phase, Phase::Body);
        // A retry forgets how far the attempt got, not when the check started.
        p.with(|s| s.reused = true);
        p.retry();
        let o = p.outcome(None);
        assert_eq!(o.phase, Phase::Start);
        assert!(!p.with(|s| s.reused));
        assert_eq!(p.with(|s| (s.start, s.deadline)), (now, now));
    }
}
