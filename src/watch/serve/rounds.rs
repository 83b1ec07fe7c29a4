//! The check rounds: their schedule (one every `INTERVAL`, start to start), the probe workers
//! that run their checks, and their assembly into the protocol's lines: a `check` line for a
//! target whose result changed, then the `round` line, once both checks are in or the round's
//! `TIMEOUT` has passed.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::http::{Outcome, Probe};
use crate::watch::config::Config;
use crate::watch::probe::{Prober, Results};
use crate::watch::protocol::{Check, Line, Target};

use super::stdio::Out;

/// One target's part of the round in progress.
enum Slot {
    /// No URL configured.
    Off,
    /// Its worker is still busy with an older check: started when it is free.
    Queued,
    Running,
    Done(Check, String),
}

struct Round {
    n: u64,
    deadline: Instant,
    own: Slot,
    peer: Slot,
}

impl Round {
    fn slot(&mut self, t: Target) -> &mut Slot {
        match t {
            Target::Own => &mut self.own,
            Target::Peer => &mut self.peer,
        }
    }

    fn complete(&self) -> bool {
        [&self.own, &self.peer]
            .iter()
            .all(|s| matches!(s, Slot::Off | Slot::Done(..)))
    }
}

/// The rounds: the one in progress, when the next is due, and the workers.
pub(super) struct Rounds {
    interval: Duration,
    timeout: Duration,
    results: Results,
    probers: Vec<Prober>,
    next: Instant,
    count: u64,
    current: Option<Round>,
    /// The last check of each target (result, code, [`reason`]), to write a line only on a
    /// change.
    last_check: [Option<(Check, String)>; 2],
    /// Which round lines are written.
    quiet: Quiet,
}

/// A round line without its number.
type RoundKey = (Option<Check>, Option<Check>, bool, Vec<IpAddr>);

/// Pure: which round lines are written, `rounds every` (the default) or `rounds changes`.
struct Quiet {
    every: bool,
    /// What the last round said (all of its line but `n`), how many rounds since it changed,
    /// and when a round line was last written.
    last_round: Option<RoundKey>,
    same_for: u64,
    written: Instant,
    /// With `rounds changes`, the rounds after a change still written one by one: enough
    /// for RISE or FALL to be counted by the reader.
    settle: u64,
}

impl Quiet {
    fn new(settle: u64, now: Instant) -> Quiet {
        Quiet {
            every: true,
            last_round: None,
            same_for: 0,
            written: now,
            settle,
        }
    }

    /// Should a round saying `key`, ended at `now`, be written? Notes it.
    fn worth_writing(&mut self, key: RoundKey, now: Instant) -> bool {
        if self.last_round.as_ref() == Some(&key) {
            self.same_for = self.same_for.saturating_add(1);
        } else {
            self.same_for = 0;
            self.last_round = Some(key);
        }
        let write = self.every
            || self.same_for <= self.settle
            || now.duration_since(self.written) >= HEARTBEAT;
        if write {
            self.written = now;
        }
        write
    }
}

/// With `rounds changes`, a round line at least this often all the same (the reader's clock).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

fn index(t: Target) -> usize {
    match t {
        Target::Own => 0,
        Target::Peer => 1,
    }
}

impl Rounds {
    /// Start a worker for each of SELF_URL and PEER_URL that is set; the first round is due
    /// now.
    pub(super) fn start(cfg: &Config) -> Result<Rounds> {
        let results = Results::new().map_err(|e| Error::sys("create a socket pair", e))?;
        let mut probers = Vec::new();
        for (target, url) in [(Target::Own, &cfg.self_url), (Target::Peer, &cfg.peer_url)] {
            if let Some(url) = url {
                let mut probe = Probe::new(url.clone());
                probe.total = cfg.timeout;
                probers.push(
                    Prober::spawn(target, probe, &results)
                        .map_err(|e| Error::sys("start a probe thread", e))?,
                );
            }
        }
        Ok(Rounds {
            interval: cfg.interval,
            timeout: cfg.timeout,
            results,
            probers,
            next: Instant::now(),
            count: 0,
            current: None,
            last_check: [None, None],
            quiet: Quiet::new(u64::from(cfg.rise.max(cfg.fall)), Instant::now()),
        })
    }

    /// `rounds every` (true) or `rounds changes`.
    pub(super) fn set_every(&mut self, every: bool) {
        self.quiet.every = every;
    }

    /// The workers' wake socket: readable when results are waiting.
    pub(super) fn results_fd(&self) -> BorrowedFd<'_> {
        self.results.as_fd()
    }

    /// When the rounds next need the loop: the deadline of the round in progress, else the
    /// start of the next.
    pub(super) fn wake(&self) -> Instant {
        self.current.as_ref().map_or(self.next, |r| r.deadline)
    }

    /// Start the next round if none is in progress and it is due at `now`.
    pub(super) fn start_if_due(&mut self, now: Instant) {
        if self.current.is_some() || now < self.next {
            return;
        }
        self.count += 1;
        let n = self.count;
        self.next = next_start(self.next, now, self.interval);
        let mut round = Round {
            n,
            deadline: now + self.timeout,
            own: Slot::Off,
            peer: Slot::Off,
        };
        for p in &mut self.probers {
            *round.slot(p.target()) = if p.start(n) {
                Slot::Running
            } else {
                Slot::Queued
            };
        }
        self.current = Some(round);
    }

    /// Whether the round in progress is over at `now`: both checks are in, or its deadline
    /// has passed.
    pub(super) fn over(&self, now: Instant) -> bool {
        self.current
            .as_ref()
            .is_some_and(|r| r.complete() || now >= r.deadline)
    }

    /// Take the workers' results: the current round's are kept, older ones only free their
    /// worker, which then starts the current round's check if it was queued.
    pub(super) fn take_results(&mut self) {
        let now = Instant::now();
        for done in self.results.take() {
            let Some(p) = self.probers.iter_mut().find(|p| p.target() == done.target) else {
                continue;
            };
            p.finished(done.round);
            let Some(round) = self.current.as_mut() else {
                continue;
            };
            let (n, deadline) = (round.n, round.deadline);
            let slot = round.slot(done.target);
            if done.round == n {
                let (check, detail) = verdict(&done.outcome);
                *slot = Slot::Done(check, detail);
            } else if matches!(slot, Slot::Queued) && now < deadline && p.start(n) {
                *slot = Slot::Running;
            }
        }
    }

    /// Write the round's check lines (where a result changed) and its round line, which
    /// carries the link's state and the VIPs held; the round's number (None: no round was in
    /// progress).
    pub(super) fn finish(
        &mut self,
        out: &mut Out,
        link_up: bool,
        held: Vec<IpAddr>,
    ) -> Result<Option<u64>> {
        let Some(mut round) = self.current.take() else {
            return Ok(None);
        };
        let timeout = crate::secs::show(self.timeout);
        let mut checks: [Option<Check>; 2] = [None, None];
        for target in [Target::Own, Target::Peer] {
            let (check, detail) = match std::mem::replace(round.slot(target), Slot::Off) {
                Slot::Off => continue,
                Slot::Done(c, d) => (c, d),
                Slot::Running => (failed(), crate::http::timeout_text(self.timeout)),
                Slot::Queued => (
                    failed(),
                    format!("the previous check is still running after {timeout}s"),
                ),
            };
            let last = &mut self.last_check[index(target)];
            let key = (check.clone(), reason(&detail).to_string());
            if last.as_ref() != Some(&key) {
                out.line(&Line::Check {
                    n: round.n,
                    target,
                    check: check.clone(),
                    detail: detail.clone(),
                })?;
                *last = Some(key);
            }
            checks[index(target)] = Some(check);
        }
        let [own, peer] = checks;
        let key = (own.clone(), peer.clone(), link_up, held.clone());
        if !self.quiet.worth_writing(key, Instant::now()) {
            out.round_unwritten();
            return Ok(Some(round.n));
        }
        out.line(&Line::Round {
            n: round.n,
            own,
            peer,
            link_up,
            held,
        })?;
        Ok(Some(round.n))
    }
}

/// When the round after one due at `due` and started at `now` is due: start to start on the
/// schedule, so that waking a little late (poll(2) counts in milliseconds) does not add up
/// round after round; after a round that ended past the next start, `INTERVAL` from now.
fn next_start(due: Instant, now: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    if next <= now { now + interval } else { next }
}

/// A check that did not answer in time.
fn failed() -> Check {
    Check {
        passed: false,
        code: None,
    }
}

/// A finished check as the protocol reports it, with its reason (empty when it passed).
fn verdict(o: &Outcome) -> (Check, String) {
    (
        Check {
            passed: o.passed(),
            code: o.code,
        },
        o.failure.clone().unwrap_or_default(),
    )
}

/// What a check's detail says for deciding whether it changed: a timeout is one reason
/// whatever phase it hit (the worker names the phase, `connect: timed out after 1s`; the
/// watcher, when the deadline comes first, cannot), anything else is itself.
fn reason(detail: &str) -> &str {
    crate::http::timeout_of(detail).unwrap_or(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_one_reason_whatever_the_phase() {
        assert_eq!(reason("connect: timed out after 1s"), "timed out after 1s");
        assert_eq!(reason("response: timed out after 1s"), "timed out after 1s");
        assert_eq!(reason("timed out after 1s"), "timed out after 1s");
        assert_eq!(reason("connection refused"), "connection refused");
        assert_eq!(
            reason("status 503, expected 200"),
            "status 503, expected 200"
        );
        assert_eq!(reason("body: bad response: x"), "body: bad response: x");
    }

    #[test]
    fn with_rounds_changes_only_news_the_settle_rounds_and_a_heartbeat_are_written() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let key = |ok: bool| -> RoundKey {
            let c = Check {
                passed: ok,
                code: Some(if ok { 200 } else { 503 }),
            };
            (Some(c), None, true, Vec::new())
        };
        let mut q = Quiet::new(2, t0);
        // `rounds every`: all of them.
        assert!((1..5).all(|i| q.worth_writing(key(true), t0 + ms(10 * i))));
        q.every = false;
        // The same again and again: nothing until a second after the last written one.
        assert!(!q.worth_writing(key(true), t0 + ms(50)));
        assert!(!q.worth_writing(key(true), t0 + ms(1039)));
        assert!(q.worth_writing(key(true), t0 + ms(1040)));
        assert!(!q.worth_writing(key(true), t0 + ms(1050)));
        // A change: it and the two rounds after it (RISE/FALL 2), then quiet again.
        assert!(q.worth_writing(key(false), t0 + ms(1060)));
        assert!(q.worth_writing(key(false), t0 + ms(1070)));
        assert!(q.worth_writing(key(false), t0 + ms(1080)));
        assert!(!q.worth_writing(key(false), t0 + ms(1090)));
        assert!(q.worth_writing(key(true), t0 + ms(1100)));
    }

    #[test]
    fn rounds_keep_their_schedule_when_woken_late() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Woken 1 ms late for a round due at t0: the next is still due at t0 + INTERVAL.
        assert_eq!(next_start(t0, t0 + ms(1), ms(20)), t0 + ms(20));
        assert_eq!(next_start(t0, t0, ms(20)), t0 + ms(20));
        // A round that ran past the next start: the one after is INTERVAL from now.
        assert_eq!(next_start(t0, t0 + ms(25), ms(20)), t0 + ms(45));
        assert_eq!(next_start(t0, t0 + ms(20), ms(20)), t0 + ms(40));
    }
}
