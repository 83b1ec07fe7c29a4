//! The rounds' HTTP checks: one long-lived thread per URL (SELF_URL, PEER_URL), started once,
//! each running one check when told to (its [`http::Checker`], on that thread), so that a round
//! starts no thread and no process, and reuses the connection of the round before (HTTP/1.1
//! keep-alive) and the buffers. The results come back on a channel, and a byte on a socket
//! pair wakes the watcher's `poll(2)`.
//!
//! A check is bounded by TIMEOUT inside ([`http::Checker::check`]); the watcher also stops
//! waiting for it at TIMEOUT and counts it failed. A check still running when the next round starts
//! (a resolver stuck past its deadline) is not started twice: that round counts it failed too.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;

use crate::http::{Checker, Outcome, Probe};
use crate::watch::protocol::Target;

/// A finished check.
#[derive(Debug)]
pub struct Done {
    pub target: Target,
    /// The round it was started for.
    pub round: u64,
    pub outcome: Outcome,
}

/// The results of every worker, and the socket that says one is waiting.
pub struct Results {
    rx: mpsc::Receiver<Done>,
    tx: mpsc::Sender<Done>,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
}

impl Results {
    pub fn new() -> io::Result<Results> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        // A worker never waits on a full socket: a full one already says "look".
        wake_tx.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        Ok(Results {
            rx,
            tx,
            wake_rx,
            wake_tx,
        })
    }

    /// Every result that has arrived (the wake socket was readable).
    pub fn take(&mut self) -> Vec<Done> {
        // A short read took every byte there was: no second read to learn that.
        let mut sink = [0u8; 64];
        while matches!(self.wake_rx.read(&mut sink), Ok(n) if n == sink.len()) {}
        self.rx.try_iter().collect()
    }
}

impl AsFd for Results {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.wake_rx.as_fd()
    }
}

/// One URL's worker.
pub struct Prober {
    target: Target,
    jobs: mpsc::Sender<u64>,
    /// The round whose check is running, if any.
    busy: Option<u64>,
}

impl Prober {
    /// Start the worker thread for `probe`, reporting to `results`.
    pub fn spawn(target: Target, probe: Probe, results: &Results) -> io::Result<Prober> {
        let (jobs, rx) = mpsc::channel::<u64>();
        let tx = results.tx.clone();
        let wake = results.wake_tx.try_clone()?;
        std::thread::Builder::new()
            .name(format!("check-{target}"))
            .spawn(move || {
                let mut checker = Checker::new(probe);
                // Ends when the watcher drops its `Prober` (the sender) or goes away.
                while let Ok(round) = rx.recv() {
                    let outcome = checker.check();
                    if tx
                        .send(Done {
                            target,
                            round,
                            outcome,
                        })
                        .is_err()
                    {
                        break;
                    }
                    let _ = (&wake).write(&[1]);
                }
            })?;
        Ok(Prober {
            target,
            jobs,
            busy: None,
        })
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// Start the check of `round`; false when the previous one has not finished.
    pub fn start(&mut self, round: u64) -> bool {
        if self.busy.is_some() {
            return false;
        }
        if self.jobs.send(round).is_err() {
            return false;
        }
        self.busy = Some(round);
        true
    }

    /// The worker finished the check of `round`.
    pub fn finished(&mut self, round: u64) {
        if self.busy == Some(round) {
            self.busy = None;
        }
    }
}
