//! The stall watchdog: one thread, started with the watcher, that ends the process (exit 1)
//! when the main loop has written no `round` line for [`limit`]; rounds are bounded by
//! `TIMEOUT`, so a loop that goes that long without one is stuck (a hung system call, a
//! deadlock), and the shell is better told by the end of its input than left waiting.
//!
//! Time spent waiting for the shell to read a line is not counted: that wait has its own
//! limit ([`STALL`](super::STALL)) and its own message, and it is the shell that is stuck.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The shortest limit, whatever the settings.
const AT_LEAST: Duration = Duration::from_secs(5);

/// How long the loop may go without a `round` line: max(5 s, 4 × max(INTERVAL, TIMEOUT)).
pub(super) fn limit(interval: Duration, timeout: Duration) -> Duration {
    interval
        .max(timeout)
        .checked_mul(4)
        .unwrap_or(Duration::MAX)
        .max(AT_LEAST)
}

/// What the loop last did, as the watchdog sees it.
#[derive(Debug, Clone, Copy)]
struct Beat {
    /// The last `round` line (at first, the start), moved on by every finished wait for the
    /// reader, so that such waits do not count.
    last: Instant,
    /// Since when the loop has been waiting for the shell to read, if it is.
    reading: Option<Instant>,
}

impl Beat {
    /// Pure: how long the loop has gone without a round at `now`, not counting the wait for
    /// the reader.
    fn stalled(&self, now: Instant) -> Duration {
        let since = now.saturating_duration_since(self.last);
        let waiting = self
            .reading
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        since.saturating_sub(waiting)
    }

    fn round(&mut self, now: Instant) {
        self.last = now;
    }

    fn reading(&mut self, now: Instant, waiting: bool) {
        match (self.reading.take(), waiting) {
            (Some(since), false) => self.last += now.saturating_duration_since(since),
            (Some(since), true) => self.reading = Some(since),
            (None, true) => self.reading = Some(now),
            (None, false) => {}
        }
    }
}

/// The loop's side of the watchdog: it says when a round ended and when it waits
/// for the reader.
#[derive(Debug, Clone)]
pub(super) struct Watchdog {
    beat: Arc<Mutex<Beat>>,
}

impl Watchdog {
    /// Start the watchdog thread: `prog: stalled: no round for Ns` on stderr and exit 1 once
    /// the loop has gone `limit` without a round.
    pub(super) fn start(prog: &'static str, limit: Duration) -> Result<Watchdog> {
        let beat = Arc::new(Mutex::new(Beat {
            last: Instant::now(),
            reading: None,
        }));
        let w = Watchdog { beat };
        let seen = w.clone();
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                loop {
                    let stalled = seen.lock().stalled(Instant::now());
                    if stalled >= limit {
                        eprintln!(
                            "{prog}: stalled: no round for {}s",
                            crate::secs::show(limit)
                        );
                        std::process::exit(i32::from(crate::exit::FAILURE));
                    }
                    // Wakes about once per `limit` while rounds come: nothing to do between.
                    std::thread::sleep(limit - stalled);
                }
            })
            .map_err(|e| Error::sys("start the watchdog thread", e))?;
        Ok(w)
    }

    fn lock(&self) -> MutexGuard<'_, Beat> {
        // A panic elsewhere while holding it leaves a Beat that is still whole.
        self.beat.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A `round` line was written.
    pub(super) fn round(&self) {
        self.lock().round(Instant::now());
    }

    /// The loop starts (true) or stops (false) waiting for the shell to read.
    pub(super) fn reading(&self, waiting: bool) {
        self.lock().reading(Instant::now(), waiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_limit_is_four_rounds_and_at_least_five_seconds() {
        assert_eq!(limit(MS(100), MS(100)), S(5));
        assert_eq!(limit(MS(20), MS(50)), S(5));
        assert_eq!(limit(S(2), MS(500)), S(8));
        assert_eq!(limit(MS(500), S(3)), S(12));
        assert_eq!(limit(S(1), S(1)), S(5));
        assert_eq!(limit(Duration::MAX, S(1)), Duration::MAX);
    }

    #[test]
    fn time_spent_waiting_for_the_reader_is_not_a_stall() {
        let t0 = Instant::now();
        let mut b = Beat {
            last: t0,
            reading: None,
        };
        assert_eq!(b.stalled(t0 + S(3)), S(3));
        b.round(t0 + S(3));
        assert_eq!(b.stalled(t0 + S(4)), S(1));
        // Waiting for the reader from 4 s to 12 s: the clock stops at 1 s.
        b.reading(t0 + S(4), true);
        assert_eq!(b.stalled(t0 + S(10)), S(1));
        b.reading(t0 + S(11), true);
        assert_eq!(
            b.stalled(t0 + S(12)),
            S(1),
            "a second start keeps the first"
        );
        b.reading(t0 + S(12), false);
        assert_eq!(b.stalled(t0 + S(12)), S(1));
        assert_eq!(b.stalled(t0 + S(14)), S(3), "and runs again after it");
        b.reading(t0 + S(14), false);
        assert_eq!(
            b.stalled(t0 + S(14)),
            S(3),
            "an end without a start changes nothing"
        );
        b.round(t0 + S(15));
        assert_eq!(b.stalled(t0 + S(15)), Duration::ZERO);
    }
}
