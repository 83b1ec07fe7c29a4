//! The failover benchmark's steady-state meter: for each group of processes (one balancer's
//! supervisor, every process it is made of), the processes and threads it creates and the CPU
//! time it uses over a window.
//!
//! ```text
//! usage: steady SECONDS NAME=PID[,PID...]...
//! out:   NAME SECONDS PROCESSES THREADS CPU_SECONDS LOST     (one line per group)
//! ```
//!
//! A group is its PIDs and all their descendants. New tasks are counted from the kernel's
//! process events (the proc connector, `NETLINK_CONNECTOR` / `CN_IDX_PROC`): every fork or
//! thread creation by a member is reported with its parent's and child's PID and thread group,
//! so a new process (child PID = its thread group) and a new thread are told apart, exactly,
//! however short-lived the child is; no polling of `/proc` can see a process that lives 1 ms.
//! The connector only exists in the initial network namespace, so this runs there (beside the
//! bench), not in a balancer's namespace. LOST is 1 when the kernel dropped events (the socket
//! overflowed): the counts are then lower bounds.
//!
//! CPU time is the difference over the window of each member's own time plus that of its
//! reaped children: per live process, the larger of its live threads' `schedstat` run time
//! (nanoseconds) and `utime + stime` (clock ticks, which include threads that already
//! exited), plus `cutime + cstime`. A child that ends inside the window is thus counted
//! through its parent; a child whose parent is not a member (an orphan reaped by an init
//! outside the group) would be missed, which is why the supervisors' processes are the group
//! and not a sample of them.
//!
//! Built by bench/failover with plain `rustc -O`: standard library only (libc's socket calls
//! are declared here).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const AF_NETLINK: i32 = 16;
const SOCK_DGRAM: i32 = 2;
const SOCK_CLOEXEC: i32 = 0o2000000;
const NETLINK_CONNECTOR: i32 = 11;
const SOL_SOCKET: i32 = 1;
const SO_RCVBUF: i32 = 8;
const SO_RCVBUFFORCE: i32 = 33;
const SO_RCVTIMEO: i32 = 20;
const ENOBUFS: i32 = 105;
const EAGAIN: i32 = 11;
const EINTR: i32 = 4;
const SC_CLK_TCK: i32 = 2;
const NLMSG_DONE: u16 = 3;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// Offsets in one message: nlmsghdr (16 bytes), cn_msg (20), then struct proc_event: what,
/// cpu, timestamp (8-aligned in the struct), then the event's data.
const EV_WHAT: usize = 16 + 20;
const EV_DATA: usize = EV_WHAT + 16;

#[repr(C)]
struct SockaddrNl {
    family: u16,
    pad: u16,
    pid: u32,
    groups: u32,
}

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

extern "C" {
    fn socket(domain: i32, ty: i32, protocol: i32) -> i32;
    fn bind(fd: i32, addr: *const SockaddrNl, len: u32) -> i32;
    fn send(fd: i32, buf: *const u8, len: usize, flags: i32) -> isize;
    fn recv(fd: i32, buf: *mut u8, len: usize, flags: i32) -> isize;
    fn setsockopt(fd: i32, level: i32, name: i32, val: *const u8, len: u32) -> i32;
    fn sysconf(name: i32) -> i64;
}

/// The kernel's process-event socket, subscribed; unsubscribed when dropped.
struct Events {
    fd: OwnedFd,
}

fn check(r: i32, what: &str) -> io::Result<()> {
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

impl Events {
    fn open() -> io::Result<Events> {
        // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd at once.
        let raw = unsafe { socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR) };
        check(raw, "socket(AF_NETLINK, NETLINK_CONNECTOR)")?;
        // SAFETY: raw is a fresh descriptor nobody else owns.
        let ev = Events {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        };
        // A deep buffer, so that a burst of forks elsewhere on the machine is not lost.
        ev.set_int(SO_RCVBUFFORCE, 8 << 20)
            .or_else(|_| ev.set_int(SO_RCVBUF, 8 << 20))?;
        let tv = Timeval {
            sec: 0,
            usec: 100_000,
        };
        // SAFETY: tv is a live timeval of the size given.
        let r = unsafe {
            setsockopt(
                ev.fd.as_raw_fd(),
                SOL_SOCKET,
                SO_RCVTIMEO,
                (&tv as *const Timeval).cast(),
                std::mem::size_of::<Timeval>() as u32,
            )
        };
        check(r, "setsockopt(SO_RCVTIMEO)")?;
        let sa = SockaddrNl {
            family: AF_NETLINK as u16,
            pad: 0,
            pid: 0,
            groups: CN_IDX_PROC,
        };
        // SAFETY: sa is a live sockaddr_nl of the size given.
        let r = unsafe {
            bind(
                ev.fd.as_raw_fd(),
                &sa,
                std::mem::size_of::<SockaddrNl>() as u32,
            )
        };
        check(r, "bind(CN_IDX_PROC)")?;
        ev.control(PROC_CN_MCAST_LISTEN)?;
        Ok(ev)
    }

    fn set_int(&self, name: i32, v: i32) -> io::Result<()> {
        // SAFETY: v is a live int of the size given.
        let r = unsafe {
            setsockopt(
                self.fd.as_raw_fd(),
                SOL_SOCKET,
                name,
                (&v as *const i32).cast(),
                4,
            )
        };
        check(r, "setsockopt(SO_RCVBUF)")
    }

    /// Send PROC_CN_MCAST_LISTEN or _IGNORE: nlmsghdr + cn_msg + the u32 operation.
    fn control(&self, op: u32) -> io::Result<()> {
        let mut m = Vec::with_capacity(40);
        m.extend_from_slice(&40u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        for v in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
            m.extend_from_slice(&v.to_ne_bytes());
        }
        m.extend_from_slice(&4u16.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&op.to_ne_bytes());
        // SAFETY: m is a live buffer of the length given.
        let r = unsafe { send(self.fd.as_raw_fd(), m.as_ptr(), m.len(), 0) };
        check(r as i32, "send(PROC_CN_MCAST)")
    }

    /// One datagram into buf: Ok(Some(len)), Ok(None) on the receive timeout, Err on a loss
    /// (ENOBUFS) or any other failure.
    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is a live, writable buffer of the length given.
        let n = unsafe { recv(self.fd.as_raw_fd(), buf.as_mut_ptr(), buf.len(), 0) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(EAGAIN) | Some(EINTR) => Ok(None),
            _ => Err(e),
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        // The kernel counts listeners and keeps sending events while any is left.
        let _ = self.control(PROC_CN_MCAST_IGNORE);
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// The numeric fields of /proc/PID/stat after the command name and the state: [0] ppid,
/// [10] utime, [11] stime, [12] cutime, [13] cstime (stat(5) fields 4, 14, 15, 16, 17).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(
        rest.split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

fn ppid(pid: u32) -> Option<u32> {
    stat_fields(pid).and_then(|f| f.first().map(|&p| p as u32))
}

/// Every process now, as pid → ppid.
fn all_parents() -> HashMap<u32, u32> {
    let mut m = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if let Some(pp) = ppid(pid) {
                    m.insert(pid, pp);
                }
            }
        }
    }
    m
}

/// CPU seconds of process pid and its reaped children (see the module doc); 0 when gone.
fn cpu_s(pid: u32, tick: f64) -> f64 {
    let Some(f) = stat_fields(pid) else {
        return 0.0;
    };
    let ticks = |i: usize| f.get(i).copied().unwrap_or(0) as f64 * tick;
    let mut live = 0.0;
    if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) {
        for e in dir.flatten() {
            let p = e.path().join("schedstat");
            if let Ok(s) = fs::read_to_string(p) {
                live += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
                    / 1e9;
            }
        }
    }
    live.max(ticks(10) + ticks(11)) + ticks(12) + ticks(13)
}

struct Group {
    name: String,
    members: HashSet<u32>,
    procs: u64,
    threads: u64,
    cpu0: f64,
}

/// The group whose member pid is or descends from, walking /proc for a parent not seen yet.
fn group_of(groups: &[Group], pid: u32) -> Option<usize> {
    let mut p = pid;
    for _ in 0..64 {
        if let Some(i) = groups.iter().position(|g| g.members.contains(&p)) {
            return Some(i);
        }
        match ppid(p) {
            Some(pp) if pp > 1 => p = pp,
            _ => return None,
        }
    }
    None
}

fn usage() -> ! {
    eprintln!("usage: steady SECONDS NAME=PID[,PID...]...");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(secs) = args
        .first()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|&s| s > 0.0)
    else {
        usage()
    };
    let mut groups = Vec::new();
    for a in &args[1..] {
        let Some((name, pids)) = a.split_once('=') else {
            usage()
        };
        let roots: Option<HashSet<u32>> = pids.split(',').map(|p| p.parse().ok()).collect();
        let Some(members) = roots else { usage() };
        groups.push(Group {
            name: name.to_string(),
            members,
            procs: 0,
            threads: 0,
            cpu0: 0.0,
        });
    }
    if groups.is_empty() {
        usage()
    }
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { sysconf(SC_CLK_TCK) };
    let tick = 1.0 / if hz > 0 { hz as f64 } else { 100.0 };

    // Subscribe first, then take the process tree: a fork in between is seen either way.
    let ev = match Events::open() {
        Ok(ev) => ev,
        Err(e) => {
            eprintln!("steady: process events: {e} (needs root, in the initial network namespace)");
            std::process::exit(1)
        }
    };
    let parents = all_parents();
    for g in &mut groups {
        loop {
            let add: Vec<u32> = parents
                .iter()
                .filter(|(p, pp)| !g.members.contains(p) && g.members.contains(pp))
                .map(|(&p, _)| p)
                .collect();
            if add.is_empty() {
                break;
            }
            g.members.extend(add);
        }
    }
    let t0 = Instant::now();
    for g in &mut groups {
        g.cpu0 = g.members.iter().map(|&p| cpu_s(p, tick)).sum();
    }

    let window = Duration::from_secs_f64(secs);
    let mut lost = false;
    let mut buf = vec![0u8; 64 * 1024];
    while t0.elapsed() < window {
        let n = match ev.recv(&mut buf) {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => {
                lost = true;
                continue;
            }
            Err(e) => {
                eprintln!("steady: receive process events: {e}");
                std::process::exit(1)
            }
        };
        let mut off = 0;
        while off + EV_DATA <= n {
            let m = &buf[off..n];
            let len = u32_at(m, 0).unwrap_or(0) as usize;
            if len < EV_DATA || len > m.len() {
                break;
            }
            match u32_at(m, EV_WHAT) {
                Some(PROC_EVENT_FORK) => {
                    let (Some(ptgid), Some(cpid), Some(ctgid)) = (
                        u32_at(m, EV_DATA + 4),
                        u32_at(m, EV_DATA + 8),
                        u32_at(m, EV_DATA + 12),
                    ) else {
                        break;
                    };
                    if cpid == ctgid {
                        // A new process: its parent says whose it is.
                        if let Some(i) = group_of(&groups, ptgid) {
                            groups[i].procs += 1;
                            groups[i].members.insert(ctgid);
                        }
                    } else if let Some(i) = group_of(&groups, ctgid) {
                        // A new thread: the kernel names the process's parent as its parent,
                        // so the thread group it joined says whose it is.
                        groups[i].threads += 1;
                    }
                }
                Some(PROC_EVENT_EXIT) => {
                    // A process (not a thread) ended: its PID may be reused by a stranger.
                    if let (Some(pid), Some(tgid)) = (u32_at(m, EV_DATA), u32_at(m, EV_DATA + 4)) {
                        if pid == tgid {
                            for g in &mut groups {
                                g.members.remove(&pid);
                            }
                        }
                    }
                }
                _ => {}
            }
            off += (len + 3) & !3;
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    for g in &groups {
        let cpu1: f64 = g.members.iter().map(|&p| cpu_s(p, tick)).sum();
        println!(
            "{} {:.3} {} {} {:.4} {}",
            g.name,
            dt,
            g.procs,
            g.threads,
            (cpu1 - g.cpu0).max(0.0),
            u8::from(lost)
        );
    }
}
