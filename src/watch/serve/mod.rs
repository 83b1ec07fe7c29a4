//! The long-lived watcher (`vip-watch -c FILE`): one thread waits in `poll(2)` on stdin (the
//! shell's commands), the netlink socket (link and address changes), the packet socket
//! (claims, probe answers) and the probe workers' wake socket, with a deadline from the next
//! thing due (a round, a round's TIMEOUT, a burst packet, a refresh, a probe's wait). It writes
//! the protocol of [`protocol`](super::protocol) on stdout (docs/vip-watch.md).
//!
//! Nothing is forked and no thread is started after the watchdog and the two probe workers:
//! announcements and probes go out on the one packet socket, opened once. Every wait has a
//! deadline, the writes to stdout included: a shell that stops reading for [`STALL`] ends the
//! watcher (exit 1), as does one that closed its end (EPIPE); the end of stdin (or `quit`)
//! ends it with exit 0. A loop that stops writing rounds for another reason (a hung system
//! call) is ended by the `watchdog` (exit 1).
//!
//! This module is the loop; its layers, each importing only those below it:
//! - `commands`: the shell's commands, checked and run on `iface`;
//! - `rounds`: the check rounds, their schedule, workers and lines;
//! - `iface`: the kernel's view of IFACE, the packet socket, what is sent on it and when;
//! - `stdio`: the lines written on stdout and the commands read from stdin;
//! - `watchdog`: the thread that ends a watcher whose loop stopped writing rounds.

mod commands;
mod iface;
mod rounds;
mod stdio;
mod watchdog;

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::error::{Error, Result};
use crate::exit;
use crate::watch::config::Config;
use crate::watch::protocol::Line;

use iface::Iface;
use rounds::Rounds;
pub use stdio::STALL;
use stdio::{Input, Out, timeout_until};
use watchdog::Watchdog;

/// The name the watchdog's message starts with.
const PROG: &str = "vip-watch";

/// Test-only: set to `1`, the main loop sleeps for ever after the line of round 3, so that
/// the tests can see the watchdog end a stalled watcher. Not a setting: undocumented on
/// purpose, and nothing else reads it.
const TEST_STALL: &str = "VIPKIT_WATCH_TEST_STALL";
/// The round after whose line [`TEST_STALL`] stalls the loop.
const TEST_STALL_AFTER: u64 = 3;

/// Run the watcher for `cfg` until told to quit or its input closes; the exit code.
pub fn serve(cfg: &Config) -> Result<u8> {
    let mut w = Watcher::start(cfg)?;
    w.run()
}

struct Watcher<'a> {
    out: Out,
    input: Input,
    iface: Iface<'a>,
    rounds: Rounds,
    /// [`TEST_STALL`] is set.
    test_stall: bool,
}

impl<'a> Watcher<'a> {
    /// Open everything (exit 1 when IFACE does not exist or has no Ethernet address, 3
    /// without CAP_NET_RAW), start the probe workers and write `hello`.
    fn start(cfg: &'a Config) -> Result<Watcher<'a>> {
        // First, so that a start that hangs is caught too.
        let watchdog = Watchdog::start(PROG, watchdog::limit(cfg.interval, cfg.timeout))?;
        let iface = Iface::open(cfg)?;
        let rounds = Rounds::start(cfg)?;
        let mut w = Watcher {
            out: Out::new(watchdog),
            input: Input::default(),
            iface,
            rounds,
            test_stall: std::env::var_os(TEST_STALL).is_some_and(|v| v == "1"),
        };
        w.out.line(&Line::Hello {
            pid: std::process::id(),
            iface: cfg.iface.clone(),
            mac: w.iface.mac(),
            vips: w.iface.addrs().to_vec(),
        })?;
        Ok(w)
    }

    /// The loop: until `quit` or the end of stdin (exit 0), or a write to stdout fails.
    fn run(&mut self) -> Result<u8> {
        loop {
            let now = Instant::now();
            self.rounds.start_if_due(now);
            if self.rounds.over(now) {
                let (link_up, held) = (self.iface.link_up(), self.iface.held());
                let n = self.rounds.finish(&mut self.out, link_up, held)?;
                if self.test_stall && n == Some(TEST_STALL_AFTER) {
                    loop {
                        std::thread::sleep(Duration::from_secs(3600));
                    }
                }
                continue;
            }
            self.iface.send_due(now, &mut self.out)?;
            self.iface.end_probes(now, &mut self.out)?;

            let wake = [Some(self.rounds.wake()), self.iface.next_due()]
                .into_iter()
                .flatten()
                .min();
            let (stdin, kernel, frames, results) = {
                let stdin = io::stdin();
                let mut fds = [
                    PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.iface.kernel_fd(), PollFlags::POLLIN),
                    PollFd::new(self.iface.packet_fd(), PollFlags::POLLIN),
                    PollFd::new(self.rounds.results_fd(), PollFlags::POLLIN),
                ];
                let timeout = wake.map_or(PollTimeout::NONE, timeout_until);
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(Error::sys("poll", io::Error::from(e))),
                }
                let ready = |f: &PollFd| {
                    f.revents().is_some_and(|r| {
                        r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                    })
                };
                (
                    ready(&fds[0]),
                    ready(&fds[1]),
                    ready(&fds[2]),
                    ready(&fds[3]),
                )
            };
            // Results first, so that a round completes; the kernel before commands, so that
            // an `announce` right after vip-bind sees the address.
            if results {
                self.rounds.take_results();
            }
            if kernel {
                self.iface.read_kernel(&mut self.out)?;
            }
            if frames {
                self.iface.read_frames(&mut self.out)?;
            }
            if stdin
                && commands::read(
                    &mut self.input,
                    &mut self.iface,
                    &mut self.rounds,
                    &mut self.out,
                )?
            {
                return Ok(exit::SUCCESS);
            }
        }
    }
}
