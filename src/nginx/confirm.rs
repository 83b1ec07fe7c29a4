//! Did nginx do what it was signalled for? [`Watch::before`] notes what the master looks like
//! before the signal, [`Watch::look`] compares after it, and [`poll_until`] repeats the looks
//! until a deadline: after HUP, new workers replace the old ones (or nginx's own `[emerg]` line
//! appears in its error log: the new configuration was refused); after USR1, the master and its
//! workers hold freshly opened log files; after QUIT/TERM, the master is gone. Sending the
//! signal between the two is [`crate::nginx::Master::deliver`]'s.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::error::{Error, Result};
use crate::nginx::error_log::ErrorLog;
use crate::nginx::procfs::{self, FileId, Title};
use crate::nginx::show::{join_pids, show_secs};

/// How often the confirmation looks at the processes.
pub const POLL: Duration = Duration::from_millis(10);

/// What to ask of the master (`nginx -s reload|reopen|quit|stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGHUP: reread the configuration, start new workers, retire the old ones gracefully.
    Reload,
    /// SIGUSR1: reopen the log files (after logrotate renamed them).
    Reopen,
    /// SIGQUIT: graceful shutdown, letting workers finish their requests.
    Quit,
    /// SIGTERM: fast shutdown.
    Stop,
}

impl Action {
    /// The signal nginx expects for this action.
    pub fn signal(self) -> Signal {
        match self {
            Action::Reload => Signal::SIGHUP,
            Action::Reopen => Signal::SIGUSR1,
            Action::Quit => Signal::SIGQUIT,
            Action::Stop => Signal::SIGTERM,
        }
    }
}

/// What [`Master::deliver`](crate::nginx::Master::deliver) saw, for the `-v` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signal sent, not confirmed (`--wait 0`).
    Sent,
    /// Signal sent, but the result cannot be seen from here (the reason, for a warning).
    Unconfirmed(String),
    /// New workers replaced the old ones.
    Reloaded { old: Vec<i32>, new: Vec<i32> },
    /// The master and these workers reopened their log files.
    Reopened { workers: Vec<i32> },
    /// The master exited.
    Exited,
}

/// Call `look` until it answers, the last time at or after `deadline`; between calls, `nap`
/// for the time left, at most `every`. None when the deadline passed without an answer. The
/// one deadline loop of this folder: every confirmation, and the wait for `nginx -t`.
pub fn poll_until<T>(
    deadline: Instant,
    every: Duration,
    mut nap: impl FnMut(Duration),
    mut look: impl FnMut() -> Option<T>,
) -> Option<T> {
    loop {
        let late = Instant::now() >= deadline;
        if let Some(answer) = look() {
            return Some(answer);
        }
        if late {
            return None;
        }
        nap(every.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// What the master looked like before the signal, to tell after it whether nginx did what it
/// was asked.
pub struct Watch {
    master: i32,
    sig: Signal,
    /// The master's error log, where nginx says what it refused (not read for QUIT/TERM).
    log: Option<ErrorLog>,
    before: Before,
}

/// What each action is confirmed against.
enum Before {
    /// HUP: the workers serving before it, all to be replaced.
    Workers(Vec<i32>),
    /// USR1: the log files the master and each worker held (`pids`, the master first), all to
    /// be reopened; None when they may not be read. `pending`: those not reopened at the last
    /// look.
    Files {
        workers: Vec<i32>,
        pids: Vec<i32>,
        files: Option<Vec<BTreeSet<FileId>>>,
        pending: Vec<i32>,
    },
    /// QUIT, TERM: the master, to exit.
    Running,
}

impl Watch {
    /// Look at `master` before `action`'s signal is sent: its workers and the end of its error
    /// log, and for a reopen the log files each process holds.
    pub fn before(master: i32, action: Action) -> Watch {
        let sig = action.signal();
        match action {
            Action::Reload => {
                let old = procfs::workers(master);
                let log = ErrorLog::of_master(master);
                Watch {
                    master,
                    sig,
                    log,
                    before: Before::Workers(old),
                }
            }
            Action::Reopen => {
                let workers = procfs::workers(master);
                let log = ErrorLog::of_master(master);
                let pids: Vec<i32> = std::iter::once(master)
                    .chain(workers.iter().copied())
                    .collect();
                let files = pids.iter().map(|&p| procfs::append_files(p)).collect();
                Watch {
                    master,
                    sig,
                    log,
                    before: Before::Files {
                        workers,
                        pids,
                        files,
                        pending: Vec::new(),
                    },
                }
            }
            Action::Quit | Action::Stop => Watch {
                master,
                sig,
                log: None,
                before: Before::Running,
            },
        }
    }

    /// One look after the signal, `alive` saying whether the master still runs: the outcome
    /// once nginx did what it was asked, an error as soon as it is clear it did not (HUP and
    /// USR1 must not make the master exit; an `[emerg]` line says what nginx refused), None
    /// while it may still happen.
    pub fn look(&mut self, alive: bool) -> Option<Result<Outcome>> {
        let master = self.master;
        match &mut self.before {
            Before::Running => (!alive).then_some(Ok(Outcome::Exited)),
            Before::Workers(old) => {
                if !alive {
                    return Some(Err(exited(master, self.sig, &self.log)));
                }
                let kids = procfs::children(master);
                let new: Vec<i32> = kids
                    .iter()
                    .filter(|(p, t)| *t == Title::Worker && !old.contains(p))
                    .map(|(p, _)| *p)
                    .collect();
                let old_serving = kids
                    .iter()
                    .any(|(p, t)| *t == Title::Worker && old.contains(p));
                if !new.is_empty() && !old_serving {
                    let old = old.clone();
                    return Some(Ok(Outcome::Reloaded { old, new }));
                }
                let line = self.log.as_mut().and_then(|l| l.emerg(&[master]))?;
                Some(Err(Error::failed(format!(
                    "nginx master {master} refused the new configuration and keeps the old one: \
                     {line}"
                ))))
            }
            Before::Files {
                workers,
                pids,
                files,
                pending,
            } => {
                let Some(files) = files else {
                    // Reading another user's /proc/PID/fd takes CAP_SYS_PTRACE; CAP_KILL alone
                    // signals.
                    return Some(Ok(Outcome::Unconfirmed(format!(
                        "cannot read the open files of nginx (/proc/{master}/fd; needs \
                         CAP_SYS_PTRACE): SIGUSR1 sent, log reopening not confirmed"
                    ))));
                };
                if !alive {
                    return Some(Err(exited(master, self.sig, &self.log)));
                }
                if let Some(line) = self.log.as_mut().and_then(|l| l.emerg(pids)) {
                    return Some(Err(Error::failed(format!(
                        "nginx could not reopen its logs: {line}"
                    ))));
                }
                *pending = pids
                    .iter()
                    .zip(files.iter())
                    .filter(|(p, files)| !reopened(**p, files))
                    .map(|(p, _)| *p)
                    .collect();
                pending.is_empty().then(|| {
                    Ok(Outcome::Reopened {
                        workers: workers.clone(),
                    })
                })
            }
        }
    }

    /// The error when `wait` passed without an answer from [`Watch::look`].
    pub fn late(&self, wait: Duration) -> Error {
        let master = self.master;
        Error::failed(match &self.before {
            Before::Workers(old) => format!(
                "nginx master {master} kept its old workers ({}) for {} after SIGHUP: not \
                 reloaded (new configuration refused?){}",
                join_pids(old),
                show_secs(wait),
                log_hint(&self.log)
            ),
            Before::Files { pending, .. } => format!(
                "nginx did not reopen its log files within {} (process {} still holds the old \
                 ones){}",
                show_secs(wait),
                join_pids(pending),
                log_hint(&self.log)
            ),
            Before::Running => format!(
                "nginx master {master} still running {} after {}",
                show_secs(wait),
                self.sig.as_str()
            ),
        })
    }
}

/// The error when the master died after a signal that should have left it running.
fn exited(master: i32, sig: Signal, log: &Option<ErrorLog>) -> Error {
    Error::failed(format!(
        "nginx master {master} exited after {}{}",
        sig.as_str(),
        log_hint(log)
    ))
}

/// `; see /var/log/nginx/error.log` when the error log is known.
fn log_hint(log: &Option<ErrorLog>) -> String {
    log.as_ref()
        .map(|l| format!("; see {}", l.path.display()))
        .unwrap_or_default()
}

/// Has `pid` reopened the files it held (`before`)? A process that exited needs nothing more.
fn reopened(pid: i32, before: &BTreeSet<FileId>) -> bool {
    if before.is_empty() || !procfs::exists(pid) {
        return true;
    }
    let now = procfs::append_files(pid).unwrap_or_default();
    !before.iter().all(|f| now.contains(f))
}
