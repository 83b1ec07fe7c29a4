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

/// Progress shared between the probe's pieces and the deadline watcher.
#[derive(Debug)]
pub(super) struct Progress {
    start: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) phase: Option<Phase>,
    pub(super) code: Option<u16>,
    pub(super) tried: Option<SocketAddr>,
    pub(super) remote: Option<SocketAddr>,
    pub(super) namelookup: Option<Duration>,
    pub(super) connect: Option<Duration>,
}

impl Progress {
    pub(super) fn new(start: Instant) -> Progress {
        Progress {
            start,
            state: Mutex::new(State::default()),
        }
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a probe thread panicked; the data is still usable.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
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
        self.start.elapsed()
    }

    pub(super) fn outcome(&self, failure: Option<String>) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
