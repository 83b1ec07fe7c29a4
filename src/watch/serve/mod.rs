//! The long-lived watcher (`vip-watch -c FILE`): one thread waits in `poll(2)` on stdin (the
//! shell's commands), the netlink socket (link and address changes), the packet socket
//! (claims, probe answers) and the probe workers' wake socket, with a deadline from the next
//! thing due (a round, a round's TIMEOUT, a burst packet, a refresh, a probe's wait). It writes
//! the protocol of [`protocol`](super::protocol) on stdout (docs/vip-watch.md).
//!
//! Nothing is forked and no thread is started after the two probe workers: announcements and
//! probes go out on the one packet socket, opened once. Every wait has a deadline, the writes
//! to stdout included: a shell that stops reading for [`STALL`] ends the watcher (exit 1), as
//! does one that closed its end (EPIPE); the end of stdin (or `quit`) ends it with exit 0.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::arp::{Mac, Packet, PacketSocket};
use crate::error::{Error, Result};
use crate::exit;
use crate::http::{Outcome, Probe};
use crate::watch::announce::{self, Schedule};
use crate::watch::arpwatch::{self, Quiet};
use crate::watch::config::{Config, VipSpec};
use crate::watch::kernel::Kernel;
use crate::watch::probe::{Prober, Results};
use crate::watch::protocol::{Check, Command, Line, Mode, Target, parse_command};

/// How long a write to stdout may wait for the shell to read.
pub const STALL: Duration = Duration::from_secs(10);
/// The longest command line read; a longer one is reported and skipped.
const MAX_COMMAND: usize = 1024;
/// Frames read from the packet socket per wake-up (the rest on the next turn of the loop).
const FRAMES_PER_TURN: usize = 64;

/// Run the watcher for `cfg` until told to quit or its input closes; the exit code.
pub fn serve(cfg: &Config) -> Result<u8> {
    let mut w = Watcher::start(cfg)?;
    w.run()
}

/// The lines written to stdout, each flushed, each waiting at most [`STALL`].
struct Out {
    stdout: io::Stdout,
}

impl Out {
    fn line(&mut self, line: &Line) -> Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        let deadline = Instant::now() + STALL;
        loop {
            let mut fds = [PollFd::new(self.stdout.as_fd(), PollFlags::POLLOUT)];
            match poll(&mut fds, timeout_until(deadline)) {
                Ok(0) => {
                    return Err(Error::failed(format!(
                        "write to stdout: not read for {}s (is the supervisor stuck?)",
                        crate::secs::show(STALL)
                    )));
                }
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("wait for stdout", io::Error::from(e))),
            }
        }
        let mut lock = self.stdout.lock();
        lock.write_all(text.as_bytes())
            .and_then(|()| lock.flush())
            .map_err(|e| Error::sys("write to stdout", e))
    }
}

/// The shell's commands, read as they come.
#[derive(Default)]
struct Input {
    pending: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    skipping: bool,
}

impl Input {
    /// Read what is there (stdin was readable): the complete lines, and whether the input
    /// ended. A line over [`MAX_COMMAND`] bytes comes back as an `Err` once, then is skipped.
    fn read(&mut self) -> io::Result<(Vec<std::result::Result<String, String>>, bool)> {
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

/// One configured VIP and what the kernel last said about it.
struct Vip {
    spec: VipSpec,
    /// Bound on IFACE as configured (prefix, label): the `held` of the protocol.
    held: bool,
    /// Bound on IFACE at all: what announcements need.
    on_iface: bool,
}

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

struct Watcher<'a> {
    cfg: &'a Config,
    out: Out,
    input: Input,
    kernel: Kernel,
    sock: PacketSocket,
    sock_index: u32,
    mac: Mac,
    results: Results,
    probers: Vec<Prober>,
    vips: Vec<Vip>,
    addrs: Vec<IpAddr>,
    sched: Schedule,
    quiet: Quiet,
    link_up: bool,
    next_round: Instant,
    rounds: u64,
    round: Option<Round>,
    /// The last check of each target (result, code, [`reason`]), to write a line only on a
    /// change.
    last_check: [Option<(Check, String)>; 2],
    /// The last receive error of the packet socket, reported once until it changes.
    last_recv_error: Option<String>,
    frame: Vec<u8>,
}

fn index(t: Target) -> usize {
    match t {
        Target::Own => 0,
        Target::Peer => 1,
    }
}

impl<'a> Watcher<'a> {
    /// Open everything (exit 1 when IFACE does not exist or has no Ethernet address, 3
    /// without CAP_NET_RAW), start the probe workers and write `hello`.
    fn start(cfg: &'a Config) -> Result<Watcher<'a>> {
        let iface = &cfg.iface;
        let kernel = Kernel::open(iface)?;
        let Some(link) = kernel.link().cloned() else {
            return Err(Error::failed(format!("no such interface: {iface}")));
        };
        let Some(mac) = link.mac else {
            return Err(Error::failed(format!(
                "{iface} has no Ethernet address (loopback or point-to-point): nothing to \
                 announce or watch"
            )));
        };
        let specs: Vec<VipSpec> = cfg.own_vips.iter().chain(&cfg.peer_vips).cloned().collect();
        let addrs: Vec<IpAddr> = specs.iter().map(|s| s.addr).collect();
        let sock = arpwatch::open(link.index, &addrs)
            .map_err(|e| Error::os(format!("open a packet socket on {iface}"), e, "CAP_NET_RAW"))?;
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
        let vips = specs
            .into_iter()
            .map(|spec| Vip {
                held: kernel.bound_as(&spec),
                on_iface: kernel.holds(spec.addr),
                spec,
            })
            .collect();
        let mut w = Watcher {
            cfg,
            out: Out {
                stdout: io::stdout(),
            },
            input: Input::default(),
            link_up: kernel.link_up(),
            kernel,
            sock,
            sock_index: link.index,
            mac,
            results,
            probers,
            vips,
            addrs,
            sched: Schedule::new(
                cfg.garp_count,
                cfg.garp_interval,
                cfg.garp_refresh,
                cfg.dad_timeout,
            ),
            quiet: Quiet::default(),
            next_round: Instant::now(),
            rounds: 0,
            round: None,
            last_check: [None, None],
            last_recv_error: None,
            frame: vec![0u8; 2048],
        };
        w.out.line(&Line::Hello {
            pid: std::process::id(),
            iface: iface.clone(),
            mac,
            vips: w.addrs.clone(),
        })?;
        Ok(w)
    }

    /// The loop: until `quit` or the end of stdin (exit 0), or a write to stdout fails.
    fn run(&mut self) -> Result<u8> {
        loop {
            let now = Instant::now();
            if self.round.is_none() && now >= self.next_round {
                self.start_round(now);
            }
            if self
                .round
                .as_ref()
                .is_some_and(|r| r.complete() || now >= r.deadline)
            {
                self.finish_round()?;
                continue;
            }
            self.send_due(now)?;
            for vip in self.sched.expired(now) {
                self.out.line(&Line::Probe { vip, taken: None })?;
            }

            let wake = [
                self.round.as_ref().map(|r| r.deadline),
                self.round.is_none().then_some(self.next_round),
                self.sched.next(),
            ]
            .into_iter()
            .flatten()
            .min();
            let (stdin, kernel, frames, results) = {
                let stdin = io::stdin();
                let mut fds = [
                    PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.kernel.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.results.as_fd(), PollFlags::POLLIN),
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
                self.take_results();
            }
            if kernel {
                self.read_kernel()?;
            }
            if frames {
                self.read_frames()?;
            }
            if stdin && self.read_commands()? {
                return Ok(exit::SUCCESS);
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Rounds.

    fn start_round(&mut self, now: Instant) {
        self.rounds += 1;
        let n = self.rounds;
        self.next_round = next_start(self.next_round, now, self.cfg.interval);
        let mut round = Round {
            n,
            deadline: now + self.cfg.timeout,
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
        self.round = Some(round);
    }

    /// Take the workers' results: the current round's are kept, older ones only free their
    /// worker, which then starts the current round's check if it was queued.
    fn take_results(&mut self) {
        let now = Instant::now();
        for done in self.results.take() {
            let Some(p) = self.probers.iter_mut().find(|p| p.target() == done.target) else {
                continue;
            };
            p.finished(done.round);
            let Some(round) = self.round.as_mut() else {
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

    /// Write the round's check lines (where a result changed) and its round line.
    fn finish_round(&mut self) -> Result<()> {
        let Some(mut round) = self.round.take() else {
            return Ok(());
        };
        let timeout = crate::secs::show(self.cfg.timeout);
        let mut checks: [Option<Check>; 2] = [None, None];
        for target in [Target::Own, Target::Peer] {
            let (check, detail) = match std::mem::replace(round.slot(target), Slot::Off) {
                Slot::Off => continue,
                Slot::Done(c, d) => (c, d),
                Slot::Running => (failed(), format!("timed out after {timeout}s")),
                Slot::Queued => (
                    failed(),
                    format!("the previous check is still running after {timeout}s"),
                ),
            };
            let last = &mut self.last_check[index(target)];
            let key = (check.clone(), reason(&detail).to_string());
            if last.as_ref() != Some(&key) {
                self.out.line(&Line::Check {
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
        self.out.line(&Line::Round {
            n: round.n,
            own,
            peer,
            link_up: self.kernel.link_up(),
            held: self
                .vips
                .iter()
                .filter(|v| v.held)
                .map(|v| v.spec.addr)
                .collect(),
        })
    }

    // ------------------------------------------------------------------------------------
    // The kernel.

    /// Apply what the kernel reported: `vip` lines for VIPs whose state changed (a burst of
    /// one no longer on IFACE is cancelled), a `link` line when the link went up or down, and
    /// a new packet socket when IFACE was re-created with another index.
    fn read_kernel(&mut self) -> Result<()> {
        self.kernel.read()?;
        for i in 0..self.vips.len() {
            let held = self.kernel.bound_as(&self.vips[i].spec);
            let on_iface = self.kernel.holds(self.vips[i].spec.addr);
            let v = &mut self.vips[i];
            if v.on_iface && !on_iface {
                self.sched.cancel(v.spec.addr);
            }
            v.on_iface = on_iface;
            if v.held != held {
                v.held = held;
                let vip = v.spec.addr;
                self.out.line(&Line::Vip { vip, held })?;
            }
        }
        let up = self.kernel.link_up();
        if up != self.link_up {
            self.link_up = up;
            let (operstate, carrier) = self
                .kernel
                .link()
                .map_or(("notpresent".to_string(), false), |l| {
                    (l.operstate.clone(), l.carrier)
                });
            self.out.line(&Line::Link {
                up,
                operstate,
                carrier,
            })?;
        }
        if let Some(link) = self.kernel.link().cloned() {
            if let Some(mac) = link.mac {
                self.mac = mac;
            }
            if link.index != self.sock_index {
                match arpwatch::open(link.index, &self.addrs) {
                    Ok(sock) => {
                        self.sock = sock;
                        self.sock_index = link.index;
                    }
                    Err(e) => {
                        let e = Error::os(
                            format!("open a packet socket on {}", self.cfg.iface),
                            e,
                            "CAP_NET_RAW",
                        );
                        self.error("packet", None, &e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // Frames: claims and probe answers.

    fn read_frames(&mut self) -> Result<()> {
        for _ in 0..FRAMES_PER_TURN {
            let (n, kind) = match self.sock.try_recv(&mut self.frame) {
                Ok(Some(got)) => got,
                Ok(None) => break,
                // IFACE went down (the kernel unhooks the socket and says so once; it hooks it
                // again when IFACE comes up): the link line says it already.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => break,
                Err(e) => {
                    let why = Error::sys(format!("receive on {}", self.cfg.iface), e).to_string();
                    if self.last_recv_error.as_ref() != Some(&why) {
                        self.error("packet", None, &why)?;
                        self.last_recv_error = Some(why);
                    }
                    break;
                }
            };
            self.last_recv_error = None;
            let Some((vip, mac)) = arpwatch::claim(&self.frame[..n], kind, &self.addrs, self.mac)
            else {
                continue;
            };
            if self.sched.answer(vip) {
                self.out.line(&Line::Probe {
                    vip,
                    taken: Some(mac),
                })?;
            } else if self.quiet.report(vip, mac, Instant::now()) {
                let held = self.vips.iter().any(|v| v.spec.addr == vip && v.held);
                self.out.line(&Line::Duplicate { vip, mac, held })?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // Commands and what they send.

    /// Read and run the commands that arrived; true when the watcher must stop.
    fn read_commands(&mut self) -> Result<bool> {
        let (lines, eof) = self.input.read().map_err(|e| Error::sys("read stdin", e))?;
        if !lines.is_empty() {
            // Whatever the kernel queued before the command was written is seen first.
            self.read_kernel()?;
        }
        for line in lines {
            let cmd = match line.and_then(|l| parse_command(&l)) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => continue,
                Err(why) => {
                    self.error("command", None, &why)?;
                    continue;
                }
            };
            if self.command(cmd)? {
                return Ok(true);
            }
        }
        Ok(eof)
    }

    /// Run one command; true for `quit`.
    fn command(&mut self, cmd: Command) -> Result<bool> {
        let vip = match cmd {
            Command::Quit => return Ok(true),
            Command::Announce { vip, .. }
            | Command::Probe { vip }
            | Command::Refresh { vip, .. } => vip,
        };
        if !self.addrs.contains(&vip) {
            self.error(
                "command",
                Some(vip),
                &format!("{vip} is not in OWN_VIPS or PEER_VIPS"),
            )?;
            return Ok(false);
        }
        let now = Instant::now();
        match cmd {
            Command::Announce { burst, .. } => {
                let mode = if burst { Mode::Burst } else { Mode::Single };
                self.announce(vip, mode, now)?;
            }
            Command::Probe { .. } => {
                if self.sched.probe(vip, now) {
                    let frame = Packet::probe(self.mac, vip).frame(self.mac);
                    if let Err(e) = self.sock.send(&frame) {
                        self.sched.forget_probe(vip);
                        let e = Error::os(format!("send on {}", self.cfg.iface), e, "CAP_NET_RAW");
                        self.error("probe", Some(vip), &e.to_string())?;
                    }
                }
            }
            Command::Refresh { on, .. } => self.sched.set_refresh(vip, on, now),
            Command::Quit => return Ok(true),
        }
        Ok(false)
    }

    /// Send the first packet of an announcement of `vip` and write its line; refused while
    /// `vip` is not bound on IFACE (an announcement for an address we do not hold would pull
    /// the gateway to a host that drops the traffic).
    fn announce(&mut self, vip: IpAddr, mode: Mode, now: Instant) -> Result<()> {
        if !self.kernel.holds(vip) {
            let iface = &self.cfg.iface;
            return self.error(
                "announce",
                Some(vip),
                &format!("{vip} is not bound on {iface}: not announced"),
            );
        }
        if self.send_announcement(vip)? {
            self.sched.announced(vip, mode, now);
            let (_, to) = announce::packet(vip, self.cfg.gateway, self.mac);
            self.out.line(&Line::Announce {
                vip,
                mode,
                count: self.sched.count(mode),
                to,
            })?;
        }
        Ok(())
    }

    /// One announcement packet of `vip`; false (and an error line) when it could not be sent.
    fn send_announcement(&mut self, vip: IpAddr) -> Result<bool> {
        let (packet, _) = announce::packet(vip, self.cfg.gateway, self.mac);
        match self.sock.send(&packet.frame(self.mac)) {
            Ok(()) => Ok(true),
            Err(e) => {
                let e = Error::os(format!("send on {}", self.cfg.iface), e, "CAP_NET_RAW");
                self.error("announce", Some(vip), &e.to_string())?;
                Ok(false)
            }
        }
    }

    /// Send the burst packets and refreshes due at `now`, after reading what the kernel has
    /// queued: a VIP released a moment ago gets no more packets.
    fn send_due(&mut self, now: Instant) -> Result<()> {
        if self.sched.next().is_none_or(|t| t > now) {
            return Ok(());
        }
        self.read_kernel()?;
        let kernel = &self.kernel;
        let due = self.sched.due(now, |v| kernel.holds(v));
        for d in due {
            if self.send_announcement(d.vip)? && d.mode == Mode::Refresh {
                let (_, to) = announce::packet(d.vip, self.cfg.gateway, self.mac);
                self.out.line(&Line::Announce {
                    vip: d.vip,
                    mode: Mode::Refresh,
                    count: 1,
                    to,
                })?;
            }
        }
        Ok(())
    }

    fn error(&mut self, what: &'static str, vip: Option<IpAddr>, detail: &str) -> Result<()> {
        self.out.line(&Line::Error {
            what,
            vip,
            detail: detail.to_string(),
        })
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
    match detail.split_once(": ") {
        Some((_, rest)) if rest.starts_with("timed out after ") => rest,
        _ => detail,
    }
}

/// A poll(2) timeout that ends at `deadline`, rounded up to the millisecond so that the loop
/// never wakes just before it and spins.
fn timeout_until(deadline: Instant) -> PollTimeout {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_micros().div_ceil(1000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
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
