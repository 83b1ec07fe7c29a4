//! The watcher's two ends towards the shell: [`Out`], the protocol's lines written on stdout,
//! each waiting at most [`STALL`] for the shell to read (and telling the watchdog of rounds
//! and waits), and [`Input`], the commands read from
//! stdin as they come, in lines of at most [`MAX_COMMAND`] bytes. Also [`timeout_until`], the
//! one conversion of a deadline into a `poll(2)` timeout.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::error::{Error, Result};
use crate::watch::protocol::Line;

use super::watchdog::Watchdog;

/// How long a write to stdout may wait for the shell to read.
pub const STALL: Duration = Duration::from_secs(10);
/// The longest command line read; a longer one is reported and skipped.
const MAX_COMMAND: usize = 1024;

/// The lines written to stdout, each flushed, each waiting at most [`STALL`]; the
/// [`Watchdog`] is told of every `round` line and of every wait for the reader.
pub(super) struct Out {
    stdout: io::Stdout,
    watchdog: Watchdog,
}

impl Out {
    pub(super) fn new(watchdog: Watchdog) -> Out {
        Out {
            stdout: io::stdout(),
            watchdog,
        }
    }

    pub(super) fn line(&mut self, line: &Line) -> Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        if !self.writable(Instant::now())? {
            self.watchdog.reading(true);
            let ready = self.writable(Instant::now() + STALL);
            self.watchdog.reading(false);
            if !ready? {
                return Err(Error::failed(format!(
                    "write to stdout: not read for {}s (is the supervisor stuck?)",
                    crate::secs::show(STALL)
                )));
            }
        }
        let mut lock = self.stdout.lock();
        lock.write_all(text.as_bytes())
            .and_then(|()| lock.flush())
            .map_err(|e| Error::sys("write to stdout", e))?;
        if matches!(line, Line::Round { .. }) {
            self.watchdog.round();
        }
        Ok(())
    }

    /// A round ended without a line (`rounds changes`): the loop is alive all the same.
    pub(super) fn round_unwritten(&mut self) {
        self.watchdog.round();
    }

    /// Whether stdout takes a line by `deadline` (the shell reads).
    fn writable(&self, deadline: Instant) -> Result<bool> {
        loop {
            let mut fds = [PollFd::new(self.stdout.as_fd(), PollFlags::POLLOUT)];
            match poll(&mut fds, timeout_until(deadline)) {
                Ok(n) => return Ok(n > 0),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("wait for stdout", io::Error::from(e))),
            }
        }
    }

    /// An `error` line: `what` failed (for `vip`, if about one), and why.
    pub(super) fn error(
        &mut self,
        what: &'static str,
        vip: Option<IpAddr>,
        detail: &str,
    ) -> Result<()> {
        self.line(&Line::Error {
            what,
            vip,
            detail: detail.to_string(),
        })
    }
}

/// The shell's commands, read as they come.
#[derive(Default)]
pub(super) struct Input {
    pending: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    skipping: bool,
}

impl Input {
    /// Read what is there (stdin was readable): the complete lines, and whether the input
    /// ended. A line over [`MAX_COMMAND`] bytes comes back as an `Err` once, then is skipped.
    pub(super) fn read(&mut self) -> io::Result<(Vec<std::result::Result<String, String>>, bool)> {
        // At least std's stdin buffer (8 KiB), so that its BufReader reads straight into it
        // and never keeps bytes that poll(2) on fd 0 could not see.
        let mut chunk = [0u8; 16 * 1024];
        let n = match io::stdin().read(&mut chunk) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                return Ok((Vec::new(), false));
            }
            Err(e) => return Err(e),
        };
        let mut lines = Vec::new();
        for &b in &chunk[..n] {
            if b == b'\n' {
                if !self.skipping {
                    lines.push(
                        String::from_utf8(std::mem::take(&mut self.pending))
                            .map_err(|_| "a command that is not UTF-8".to_string()),
                    );
                }
                self.pending.clear();
                self.skipping = false;
            } else if !self.skipping {
                self.pending.push(b);
                if self.pending.len() > MAX_COMMAND {
                    self.pending.clear();
                    self.skipping = true;
                    lines.push(Err(format!("a command longer than {MAX_COMMAND} bytes")));
                }
            }
        }
        if n == 0 && !self.pending.is_empty() && !self.skipping {
            // The last line, without its newline.
            lines.push(
                String::from_utf8(std::mem::take(&mut self.pending))
                    .map_err(|_| "a command that is not UTF-8".to_string()),
            );
        }
        Ok((lines, n == 0))
    }
}

/// A poll(2) timeout that ends at `deadline`, rounded up to the millisecond so that the loop
/// never wakes just before it and spins.
pub(super) fn timeout_until(deadline: Instant) -> PollTimeout {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_micros().div_ceil(1000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_the_millisecond() {
        let now = Instant::now();
        assert_eq!(timeout_until(now), PollTimeout::ZERO);
        let t = timeout_until(now + Duration::from_micros(1500));
        assert!(matches!(t.as_millis(), Some(1 | 2)), "{t:?}");
        let far = timeout_until(now + Duration::from_secs(86_400 * 365));
        assert_eq!(far, PollTimeout::MAX);
    }
}
