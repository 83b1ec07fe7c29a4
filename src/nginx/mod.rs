//! Nginx master processes: strict pidfile reading, verification through `/proc`, signalling
//! through a pidfd, and confirmation that the signal did what it was sent for.
//!
//! The classic script ran `kill -USR1 'cat nginx.pid'`: quotes instead of `$(...)`, and USR1
//! reopens logs rather than reloading. Its safe replacement must never signal a process that is
//! not the nginx master, whatever the pidfile holds (`1`, `-1`, `0`, garbage, a stale PID now
//! owned by another program), so every step here refuses rather than guesses:
//!
//! 1. [`read_pidfile`]: one positive decimal, an optional trailing newline, at most
//!    [`PIDFILE_MAX`] bytes, a regular file and not a symbolic link, `1 < pid < pid_max`.
//! 2. [`Master::verify`]: a pidfd is opened on the PID *first*, then `/proc/PID` must show a
//!    process (not a thread, not a zombie) titled `nginx: master process` that executes an
//!    nginx binary ([`Program`]): a title is only argv[0], which any program can set
//!    (`exec -a "nginx: master process" sleep 30`).
//! 3. [`Master::signal`] sends through that pidfd (`pidfd_send_signal`). A pidfd names one
//!    process, not a number: if the master died and its PID was reused after the check, the
//!    signal fails with ESRCH instead of hitting the newcomer. Kernels without pidfds (< 5.3)
//!    fall back to `kill()` after re-checking the process start time, a window of microseconds.
//! 4. [`Master::deliver`] confirms: after HUP, new workers replace the old ones (or nginx's own
//!    `[emerg]` line appears in its error log: the new configuration was refused); after USR1,
//!    the master and its workers hold freshly opened log files; after QUIT/TERM, the master is
//!    gone.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Where nginx's pidfile usually lives, in the order searched when `-p` is not given.
pub const DEFAULT_PIDFILES: [&str; 4] = [
    "/run/nginx.pid",
    "/var/run/nginx.pid",
    "/usr/local/nginx/logs/nginx.pid",
    "/usr/local/webserver/nginx/nginx.pid",
];

/// A pidfile longer than this is not an nginx pidfile (nginx writes `PID\n`).
pub const PIDFILE_MAX: usize = 64;

/// The largest `pid_max` a 64-bit kernel allows (`PID_MAX_LIMIT`), used when
/// `/proc/sys/kernel/pid_max` cannot be read.
pub const PID_MAX_LIMIT: u64 = 4_194_304;

/// How long `nginx -t` may run (it resolves upstream host names, which can hang on DNS).
pub const CONFIG_TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the confirmation loop looks at the processes.
const POLL: Duration = Duration::from_millis(10);

/// The capability that allows signalling another user's process.
const CAP_KILL: &str = "CAP_KILL";

/// What a pidfile can hold that is not a usable process id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadPid {
    /// Nothing, or only a newline.
    Empty,
    /// More than [`PIDFILE_MAX`] bytes.
    TooLong,
    /// More than one line.
    Lines,
    /// A negative number: `kill -HUP -1` signals every process, `-N` a process group.
    Negative(String),
    /// Anything else that is not one plain positive decimal (shown escaped).
    NotNumber(String),
    /// 0 (the caller's process group) or 1 (init).
    Reserved(u64),
    /// At or beyond the kernel's `pid_max`: no process can have it.
    TooLarge(String, u64),
}

impl fmt::Display for BadPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadPid::Empty => write!(f, "is empty"),
            BadPid::TooLong => write!(f, "is longer than {PIDFILE_MAX} bytes"),
            BadPid::Lines => write!(f, "holds more than one line"),
            BadPid::Negative(s) => write!(
                f,
                "holds \"{s}\": a negative pid names a process group (-1: every process)"
            ),
            BadPid::NotNumber(s) => write!(f, "holds \"{s}\", not a decimal process id"),
            BadPid::Reserved(0) => write!(f, "holds 0, which would signal our own process group"),
            BadPid::Reserved(p) => write!(f, "holds {p}: init is never signalled"),
            BadPid::TooLarge(s, max) => write!(f, "holds {s}, beyond pid_max {max}"),
        }
    }
}

/// Parse a pidfile's bytes: one positive decimal without sign, spaces or leading zeros, and at
/// most one trailing newline (what nginx writes). `pid_max` is the kernel's bound: PIDs are
/// below it. Pure; the reading is [`read_pidfile`].
pub fn parse_pidfile(bytes: &[u8], pid_max: u64) -> Result<i32, BadPid> {
    if bytes.len() > PIDFILE_MAX {
        return Err(BadPid::TooLong);
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Err(BadPid::Empty);
    }
    if body.contains(&b'\n') {
        return Err(BadPid::Lines);
    }
    let shown = escape(body, 24);
    if let Some(digits) = body.strip_prefix(b"-")
        && !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
    {
        return Err(BadPid::Negative(shown));
    }
    if !body.iter().all(u8::is_ascii_digit) || (body.len() > 1 && body[0] == b'0') {
        return Err(BadPid::NotNumber(shown));
    }
    // At most 20 digits fit in a u64; anything longer is beyond pid_max anyway.
    let value = if body.len() > 19 {
        u64::MAX
    } else {
        body.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
    };
    if value <= 1 {
        return Err(BadPid::Reserved(value));
    }
    if value >= pid_max || value > i32::MAX as u64 {
        return Err(BadPid::TooLarge(shown, pid_max));
    }
    Ok(value as i32)
}

/// The kernel's PID bound, from `/proc/sys/kernel/pid_max` (like `sysctl kernel.pid_max`).
pub fn pid_max() -> u64 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 1 && n <= PID_MAX_LIMIT)
        .unwrap_or(PID_MAX_LIMIT)
}

/// The first of `candidates` that exists (a dangling or any other symbolic link counts, so that
/// it is refused by [`read_pidfile`] rather than silently skipped), like the classic
/// `for f in ...; do [ -e "$f" ] && break; done`.
pub fn find_pidfile<P: AsRef<Path>>(candidates: &[P]) -> Result<PathBuf> {
    for c in candidates {
        if std::fs::symlink_metadata(c.as_ref()).is_ok() {
            return Ok(c.as_ref().to_path_buf());
        }
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| c.as_ref().display().to_string())
        .collect();
    Err(Error::failed(format!(
        "no nginx pidfile found (tried {}); is nginx running? give one with -p",
        tried.join(", ")
    )))
}

/// Read and check a pidfile: the safe `$(cat nginx.pid)`. The file must be a regular file and
/// not a symbolic link (a link can point at another nginx's pidfile, or anywhere); directories
/// above it may be links (`/var/run` is one on most systems).
pub fn read_pidfile(path: &Path) -> Result<i32> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) && is_symlink(path) => {
            return Err(Error::failed(format!(
                "pidfile {shown} is a symbolic link; refused (a pidfile must be a regular file); \
                 nothing signalled"
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::failed(format!(
                "pidfile {shown}: no such file; is nginx running?"
            )));
        }
        Err(e) => {
            return Err(Error::os(
                format!("open pidfile {shown}"),
                e,
                "CAP_DAC_READ_SEARCH",
            ));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::sys(format!("stat pidfile {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::failed(format!(
            "pidfile {shown} is not a regular file; nothing signalled"
        )));
    }
    let mut bytes = Vec::with_capacity(PIDFILE_MAX + 1);
    file.take(PIDFILE_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::os(format!("read pidfile {shown}"), e, "CAP_DAC_READ_SEARCH"))?;
    parse_pidfile(&bytes, pid_max())
        .map_err(|bad| Error::failed(format!("pidfile {shown} {bad}; nothing signalled")))
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// What a process's title (`/proc/PID/cmdline`) says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Title {
    /// `nginx: master process ...`
    Master,
    /// `nginx: worker process`
    Worker,
    /// `nginx: worker process is shutting down` (an old worker after a reload)
    WorkerExiting,
    /// Another nginx helper: `nginx: cache manager process`, `nginx: cache loader process`.
    OtherNginx,
    /// Anything else, including an empty command line (a kernel thread).
    NotNginx,
}

const MASTER_TITLE: &str = "nginx: master process";
const WORKER_TITLE: &str = "nginx: worker process";
const WORKER_EXITING_TITLE: &str = "nginx: worker process is shutting down";

/// Classify a raw `/proc/PID/cmdline`. nginx overwrites its argv with one NUL-terminated title
/// (`ngx_setproctitle`), padded with NULs; only the text before the first NUL counts.
pub fn classify_cmdline(cmdline: &[u8]) -> Title {
    let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let Ok(title) = std::str::from_utf8(first) else {
        return Title::NotNginx;
    };
    if let Some(rest) = title.strip_prefix(MASTER_TITLE)
        && (rest.is_empty() || rest.starts_with(' '))
    {
        return Title::Master;
    }
    match title {
        WORKER_TITLE => Title::Worker,
        WORKER_EXITING_TITLE => Title::WorkerExiting,
        t if t.starts_with("nginx: ") && t.ends_with(" process") => Title::OtherNginx,
        _ => Title::NotNginx,
    }
}

/// A command line for messages: arguments joined by spaces, escaped, at most 60 characters.
pub fn show_cmdline(cmdline: &[u8]) -> String {
    let joined: Vec<u8> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(&b' ');
    escape(&joined, 60)
}

/// What program a process executes, as far as we may look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// The target of `/proc/PID/exe`, with `deleted` when the kernel marks it
    /// `PATH (deleted)`: the file was removed or replaced since (a package upgrade), and the
    /// process still runs the old one.
    Exe { path: PathBuf, deleted: bool },
    /// `/proc/PID/exe` may not be read (another user's process, without CAP_SYS_PTRACE): the
    /// kernel's command name instead (`comm`, the second field of `/proc/PID/stat`, which anyone
    /// may read). exec sets it from the executable's file name, cut to 15 bytes; `exec -a` does
    /// not change it, and nginx's own title does not either.
    Comm(String),
}

/// The longest command name the kernel keeps (`TASK_COMM_LEN` - 1).
const COMM_MAX: usize = 15;

impl Program {
    /// The `/proc/PID/exe` link's target, `(deleted)` mark taken off.
    pub fn from_exe_link(target: &Path) -> Program {
        let text = target.as_os_str().as_encoded_bytes();
        match text.strip_suffix(b" (deleted)") {
            Some(path) => Program::Exe {
                path: PathBuf::from(OsString::from_vec(path.to_vec())),
                deleted: true,
            },
            None => Program::Exe {
                path: target.to_path_buf(),
                deleted: false,
            },
        }
    }

    /// The file name the program was executed from (cut to 15 bytes for [`Program::Comm`]).
    pub fn name(&self) -> String {
        match self {
            Program::Exe { path, .. } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Program::Comm(c) => c.clone(),
        }
    }

    /// Is this an nginx binary: one named `nginx` or `nginx-*` (`nginx-debug`, and the like),
    /// or the binary `expected` (`--nginx BIN`, under any name)?
    pub fn is_nginx(&self, expected: Option<&Expected>) -> bool {
        if is_nginx_name(&self.name()) {
            return true;
        }
        let Some(e) = expected else {
            return false;
        };
        match self {
            Program::Exe { path, .. } => e.paths.iter().any(|p| p == path) || e.same_file,
            Program::Comm(c) => e.names.iter().any(|n| n == c),
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Program::Exe {
                path,
                deleted: false,
            } => write!(f, "{}", path.display()),
            Program::Exe {
                path,
                deleted: true,
            } => write!(f, "{} (deleted)", path.display()),
            Program::Comm(c) => write!(
                f,
                "a program named \"{}\"",
                escape(c.as_bytes(), COMM_MAX * 4)
            ),
        }
    }
}

/// `nginx`, or `nginx-` and more: the names nginx binaries are installed under
/// (`/usr/sbin/nginx` from every Debian flavour, `nginx-debug` from nginx.org's packages).
pub fn is_nginx_name(name: &str) -> bool {
    name == "nginx"
        || name
            .strip_prefix("nginx-")
            .is_some_and(|rest| !rest.is_empty())
}

/// The `--nginx BIN` a master must execute, as a process's [`Program`] can show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// BIN as given and with its links resolved (`/proc/PID/exe` shows the resolved path).
    pub paths: Vec<PathBuf>,
    /// Their file names cut as the kernel cuts command names.
    pub names: Vec<String>,
    /// `/proc/PID/exe` is the very file BIN names (same device and inode), whatever the paths
    /// look like from here (nginx in another mount namespace).
    pub same_file: bool,
}

impl Expected {
    /// What `bin` would look like in `/proc/PID` of a process that executes it.
    pub fn of(bin: &Path, pid: i32) -> Expected {
        let mut paths = vec![std::path::absolute(bin).unwrap_or_else(|_| bin.to_path_buf())];
        if let Ok(real) = std::fs::canonicalize(bin)
            && !paths.contains(&real)
        {
            paths.push(real);
        }
        let mut names: Vec<String> = paths
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| comm_of(&n.to_string_lossy()))
            .collect();
        names.dedup();
        let same_file = match (
            std::fs::metadata(bin),
            std::fs::metadata(format!("/proc/{pid}/exe")),
        ) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        Expected {
            paths,
            names,
            same_file,
        }
    }
}

/// A file name as the kernel keeps it for a command name: its first 15 bytes.
fn comm_of(name: &str) -> String {
    let mut end = name.len().min(COMM_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// The command name in `/proc/PID/stat`: between the first `(` and the last `)`.
pub fn parse_comm(stat: &str) -> Option<&str> {
    let start = stat.find('(')? + 1;
    let end = stat.rfind(')')?;
    stat.get(start..end)
}

/// The `-p PREFIX` and `-c CONF` a master was started with, read back from its title
/// (`nginx: master process /usr/sbin/nginx -p /srv -c conf/nginx.conf`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MasterArgs {
    pub prefix: Option<String>,
    pub conf: Option<String>,
}

/// Parse a master's title the way nginx parses its own options: flags may be grouped (`-tq`),
/// and `-c`, `-p`, `-g`, `-s`, `-e` take the rest of the word or the next word. The title joins
/// arguments with spaces, so a path containing a space cannot be recovered (give `-c` then).
pub fn master_args(title: &str) -> MasterArgs {
    let mut args = MasterArgs::default();
    let Some(rest) = title.strip_prefix(MASTER_TITLE) else {
        return args;
    };
    // The first word is the program as it was invoked.
    let mut words = rest.split_whitespace().skip(1);
    while let Some(word) = words.next() {
        let Some(flags) = word.strip_prefix('-') else {
            continue; // a word of a -g value ("daemon on; master_process on;")
        };
        for (i, c) in flags.char_indices() {
            if matches!(c, 'c' | 'p' | 'g' | 's' | 'e') {
                let inline = &flags[i + c.len_utf8()..];
                let value = if inline.is_empty() {
                    words.next().map(str::to_string)
                } else {
                    Some(inline.to_string())
                };
                match c {
                    'c' => args.conf = value,
                    'p' => args.prefix = value,
                    _ => {}
                }
                break;
            }
        }
    }
    args
}

/// The fields of `/proc/PID/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// R, S, D, Z (zombie), T, X (dead), ...
    pub state: char,
    pub ppid: i32,
    /// Clock ticks after boot when the process started: with the PID, it names one process.
    pub starttime: u64,
}

/// Parse `/proc/PID/stat`. The command name in parentheses may itself hold spaces and `)`, so
/// the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let (_, after) = text.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ')' come field 3 (state), 4 (ppid), ... 22 (starttime).
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        starttime: fields.get(19)?.parse().ok()?,
    })
}

/// Split an nginx error-log line, `2024/05/01 12:00:00 [emerg] 8341#8341: message`, into its
/// level (`emerg`), the writer's PID and the message. An access-log line never has this shape:
/// it starts with the client address.
pub fn parse_log_line(line: &str) -> Option<(&str, i32, &str)> {
    let b = line.as_bytes();
    let shape = b"dddd/dd/dd dd:dd:dd [";
    if b.len() < shape.len() {
        return None;
    }
    for (c, s) in b.iter().zip(shape) {
        let ok = if *s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        };
        if !ok {
            return None;
        }
    }
    let (level, rest) = line[shape.len()..].split_once("] ")?;
    let (pid, rest) = rest.split_once('#')?;
    let (tid, message) = rest.split_once(": ")?;
    if !tid.bytes().all(|c| c.is_ascii_digit()) || level.contains(' ') {
        return None;
    }
    Some((level, pid.parse().ok()?, message))
}

/// If `line` is an nginx error-log line at level `[emerg]` written by one of `pids`, the part
/// from the level on (`[emerg] unknown directive "x" in /etc/nginx/nginx.conf:5`).
pub fn emerg_line(line: &str, pids: &[i32]) -> Option<String> {
    match parse_log_line(line)? {
        ("emerg", pid, message) if pids.contains(&pid) => Some(format!("[emerg] {message}")),
        _ => None,
    }
}

/// The line of `nginx -t` output worth showing: the first `[emerg]`, `[alert]` or `[crit]`
/// (as `nginx: [emerg] message`, whether nginx printed it in its stderr or its log format),
/// else the first line that is not nginx's closing "test failed".
pub fn config_test_error(output: &str) -> String {
    let lines = || output.lines().map(str::trim).filter(|l| !l.is_empty());
    let serious = ["[emerg]", "[alert]", "[crit]"];
    if let Some(line) = lines().find(|l| serious.iter().any(|lv| l.contains(lv))) {
        return match parse_log_line(line) {
            Some((level, _, message)) => format!("nginx: [{level}] {message}"),
            None => line.to_string(),
        };
    }
    lines()
        .find(|l| !l.ends_with("test failed"))
        .map(str::to_string)
        .unwrap_or_else(|| "no output".to_string())
}

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

/// What [`Master::deliver`] saw, for the `-v` line.
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

/// Minimal wrappers around the pidfd system calls (`nix` has none).
mod pidfd {
    use super::*;

    /// `pidfd_open(pid, 0)`: a descriptor naming this one process, whatever its PID becomes.
    pub fn open(pid: i32) -> io::Result<OwnedFd> {
        // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1; no memory is
        // shared with the kernel.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_pidfd_open,
                libc::c_long::from(pid),
                0 as libc::c_long,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
    }

    /// `pidfd_send_signal(fd, sig, NULL, 0)`: like kill(), but to the process the fd names.
    pub fn send_signal(fd: BorrowedFd<'_>, sig: Signal) -> io::Result<()> {
        // SAFETY: a live descriptor, a valid signal number, a null siginfo (the kernel fills it
        // in as kill() would) and no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                libc::c_long::from(fd.as_raw_fd()),
                libc::c_long::from(sig as libc::c_int),
                std::ptr::null::<libc::siginfo_t>(),
                0 as libc::c_long,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait up to `timeout` for the process to exit; true once it has (the fd turns readable).
    pub fn exited(fd: BorrowedFd<'_>, timeout: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid, initialised pollfd and a count of 1.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        r > 0 && p.revents & libc::POLLIN != 0
    }
}

/// How a verified process is held so that a reused PID can never be signalled.
#[derive(Debug)]
enum Pin {
    /// A pidfd (Linux >= 5.3): exact.
    Fd(OwnedFd),
    /// The start time seen during verification, re-checked right before `kill()`.
    Start(u64),
}

/// A verified nginx master process.
#[derive(Debug)]
pub struct Master {
    /// Its PID.
    pub pid: i32,
    /// Its title, as `/proc/PID/cmdline` showed it.
    pub title: String,
    pin: Pin,
}

impl Master {
    /// Check that `pid` (read from `pidfile`, named in messages) is a live nginx master: a
    /// process, not a thread, not a zombie, titled `nginx: master process`, executing an nginx
    /// binary (one named `nginx` or `nginx-*`, or the `--nginx BIN` given as `nginx`). Like
    /// `ps -o stat=,args= -p PID` and `ls -l /proc/PID/exe`, but pinned: the pidfd is opened
    /// before the checks.
    pub fn verify(pid: i32, pidfile: &Path, nginx: Option<&Path>) -> Result<Master> {
        let from = format!("pid {pid} from {}", pidfile.display());
        let gone = || {
            Error::failed(format!(
                "{from}: no such process (stale pidfile?); nothing signalled"
            ))
        };
        let pin = match pidfd::open(pid) {
            Ok(fd) => Some(fd),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(gone()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(Error::failed(format!(
                    "{from} is not a process (a thread id?); nothing signalled"
                )));
            }
            // ENOSYS (old kernel) or a seccomp filter: fall back to the start-time check.
            Err(_) => None,
        };
        let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(text) => parse_stat(&text)
                .ok_or_else(|| Error::failed(format!("{from}: cannot parse /proc/{pid}/stat")))?,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => {
                return Err(gone());
            }
            Err(e) => return Err(Error::sys(format!("{from}: read /proc/{pid}/stat"), e)),
        };
        if matches!(stat.state, 'Z' | 'X') {
            return Err(Error::failed(format!(
                "{from} is a zombie (its program exited); nothing signalled"
            )));
        }
        if let Some(tgid) = tgid(pid)
            && tgid != pid
        {
            return Err(Error::failed(format!(
                "{from} is a thread of process {tgid}, not a process; nothing signalled"
            )));
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|e| {
            if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) {
                gone()
            } else {
                Error::sys(format!("{from}: read /proc/{pid}/cmdline"), e)
            }
        })?;
        let shown = show_cmdline(&cmdline);
        match classify_cmdline(&cmdline) {
            Title::Master => {}
            Title::Worker | Title::WorkerExiting => {
                return Err(Error::failed(format!(
                    "{from} is an nginx worker, not the master; nothing signalled"
                )));
            }
            Title::OtherNginx | Title::NotNginx => {
                let what = if shown.is_empty() {
                    "a kernel thread, or a program starting up".to_string()
                } else {
                    format!("\"{shown}\"")
                };
                return Err(Error::failed(format!(
                    "{from} is not an nginx master process (it is {what}); nothing signalled"
                )));
            }
        }
        let title = cmdline.split(|&b| b == 0).next().unwrap_or_default();
        let program = program_of(pid, &from, &gone)?;
        let expected = nginx.map(|bin| Expected::of(bin, pid));
        if !program.is_nginx(expected.as_ref()) {
            let hint = match nginx {
                Some(bin) => format!("nor {}", bin.display()),
                None => "give --nginx BIN if that is nginx under another name".to_string(),
            };
            return Err(Error::failed(format!(
                "{from} is titled \"{}\" but runs {program}, not nginx ({hint}); nothing \
                 signalled",
                escape(title, 60)
            )));
        }
        let pin = match pin {
            Some(fd) => Pin::Fd(fd),
            None => Pin::Start(stat.starttime),
        };
        Ok(Master {
            pid,
            title: String::from_utf8_lossy(title).into_owned(),
            pin,
        })
    }

    /// Send `sig`, like `kill -SIG PID` but only to the verified process. EPERM is exit 3
    /// (needs CAP_KILL); a master that died since [`Master::verify`] is an error, and nothing
    /// else is signalled.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        let what = format!("send {} to nginx master {}", sig.as_str(), self.pid);
        let gone = || {
            Error::failed(format!(
                "{what}: it exited after it was verified; nothing signalled"
            ))
        };
        match &self.pin {
            Pin::Fd(fd) => match pidfd::send_signal(fd.as_fd(), sig) {
                Ok(()) => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(gone()),
                Err(e) => Err(Error::os(what, e, CAP_KILL)),
            },
            Pin::Start(start) => {
                // The window between this check and kill() is what pidfds close.
                let same = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                    .ok()
                    .and_then(|t| parse_stat(&t))
                    .is_some_and(|s| s.starttime == *start && !matches!(s.state, 'Z' | 'X'));
                if !same {
                    return Err(gone());
                }
                nix::sys::signal::kill(Pid::from_raw(self.pid), sig)
                    .map_err(|e| Error::os(what, io::Error::from(e), CAP_KILL))
            }
        }
    }

    /// True while the master has not exited.
    pub fn alive(&self) -> bool {
        match &self.pin {
            Pin::Fd(fd) => !pidfd::exited(fd.as_fd(), Duration::ZERO),
            Pin::Start(start) => std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .ok()
                .and_then(|t| parse_stat(&t))
                .is_some_and(|s| s.starttime == *start && !matches!(s.state, 'Z' | 'X')),
        }
    }

    /// Sleep up to `d`, waking early if the master exits.
    fn nap(&self, d: Duration) {
        match &self.pin {
            Pin::Fd(fd) => {
                pidfd::exited(fd.as_fd(), d);
            }
            Pin::Start(_) => std::thread::sleep(d),
        }
    }

    /// The master's children and their titles (from a scan of `/proc`, like `ps --ppid PID`).
    pub fn children(&self) -> Vec<(i32, Title)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut kids: Vec<(i32, Title)> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|t| parse_stat(&t))
                    .is_some_and(|s| s.ppid == self.pid && !matches!(s.state, 'Z' | 'X'))
            })
            .filter_map(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                Some((pid, classify_cmdline(&cmdline)))
            })
            .collect();
        kids.sort_by_key(|(p, _)| *p);
        kids
    }

    /// The PIDs of the workers serving requests (not those shutting down after a reload).
    pub fn workers(&self) -> Vec<i32> {
        self.children()
            .into_iter()
            .filter(|(_, t)| *t == Title::Worker)
            .map(|(p, _)| p)
            .collect()
    }

    /// The `-p` and `-c` the master was started with.
    pub fn args(&self) -> MasterArgs {
        master_args(&self.title)
    }

    /// The binary the master runs (`/proc/PID/exe`): its path, or the `/proc` link itself when
    /// the file was replaced on disk (a package upgrade), which still executes the old binary.
    pub fn exe(&self) -> Option<PathBuf> {
        let link = PathBuf::from(format!("/proc/{}/exe", self.pid));
        let target = std::fs::read_link(&link).ok()?;
        if target.to_string_lossy().ends_with(" (deleted)") {
            Some(link)
        } else {
            Some(target)
        }
    }

    /// The master's working directory, against which its relative `-p`/`-c` were resolved.
    pub fn cwd(&self) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{}/cwd", self.pid))
            .ok()
            .filter(|p| p.is_dir())
    }

    /// Whether the master runs in our network namespace (`nginx -t` binds its listen addresses,
    /// so it must run where nginx does). None when it cannot be told.
    pub fn same_netns(&self) -> Option<bool> {
        let ours = std::fs::metadata("/proc/self/ns/net").ok()?;
        let theirs = std::fs::metadata(format!("/proc/{}/ns/net", self.pid)).ok()?;
        Some(ours.ino() == theirs.ino() && ours.dev() == theirs.dev())
    }

    /// Send `action`'s signal and, unless `wait` is zero, confirm within `wait` that nginx did
    /// what it was asked. This is `kill -HUP $(cat nginx.pid)` followed by what an operator
    /// checks by hand: `ps --ppid`, `ls -l /proc/PID/fd`, `tail error.log`.
    pub fn deliver(&self, action: Action, wait: Duration) -> Result<Outcome> {
        if wait.is_zero() {
            self.signal(action.signal())?;
            return Ok(Outcome::Sent);
        }
        match action {
            Action::Reload => self.reload(wait),
            Action::Reopen => self.reopen(wait),
            Action::Quit | Action::Stop => self.stop(action.signal(), wait),
        }
    }

    /// HUP, then wait until new workers serve and no old one does; fail at once when nginx
    /// logs an `[emerg]` (it refused the new configuration and keeps the old workers), or when
    /// `wait` passes with the old workers still serving.
    fn reload(&self, wait: Duration) -> Result<Outcome> {
        let old = self.workers();
        let mut log = ErrorLog::of_master(self.pid);
        self.signal(Signal::SIGHUP)?;
        let deadline = Instant::now() + wait;
        loop {
            let late = Instant::now() >= deadline;
            self.still_alive(Signal::SIGHUP, &log)?;
            let kids = self.children();
            let new: Vec<i32> = kids
                .iter()
                .filter(|(p, t)| *t == Title::Worker && !old.contains(p))
                .map(|(p, _)| *p)
                .collect();
            let old_serving = kids
                .iter()
                .any(|(p, t)| *t == Title::Worker && old.contains(p));
            if !new.is_empty() && !old_serving {
                return Ok(Outcome::Reloaded { old, new });
            }
            if let Some(line) = log.as_mut().and_then(|l| l.emerg(&[self.pid])) {
                return Err(Error::failed(format!(
                    "nginx master {} refused the new configuration and keeps the old one: {line}",
                    self.pid
                )));
            }
            if late {
                return Err(Error::failed(format!(
                    "nginx master {} kept its old workers ({}) for {} after SIGHUP: not reloaded \
                     (new configuration refused?){}",
                    self.pid,
                    join_pids(&old),
                    show_secs(wait),
                    log_hint(&log)
                )));
            }
            self.nap(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// USR1, then wait until the master and each worker hold none of the log descriptors they
    /// held before (nginx opens the new file, then closes the old one); fail at once on an
    /// `[emerg]` from any of them (a file it could not open), or when `wait` passes.
    fn reopen(&self, wait: Duration) -> Result<Outcome> {
        let workers = self.workers();
        let mut log = ErrorLog::of_master(self.pid);
        let pids: Vec<i32> = std::iter::once(self.pid)
            .chain(workers.iter().copied())
            .collect();
        let before: Option<Vec<BTreeSet<FileId>>> = pids.iter().map(|&p| append_files(p)).collect();
        self.signal(Signal::SIGUSR1)?;
        let Some(before) = before else {
            // Reading another user's /proc/PID/fd takes CAP_SYS_PTRACE; CAP_KILL alone signals.
            return Ok(Outcome::Unconfirmed(format!(
                "cannot read the open files of nginx (/proc/{}/fd; needs CAP_SYS_PTRACE): \
                 SIGUSR1 sent, log reopening not confirmed",
                self.pid
            )));
        };
        let deadline = Instant::now() + wait;
        loop {
            let late = Instant::now() >= deadline;
            self.still_alive(Signal::SIGUSR1, &log)?;
            if let Some(line) = log.as_mut().and_then(|l| l.emerg(&pids)) {
                return Err(Error::failed(format!(
                    "nginx could not reopen its logs: {line}"
                )));
            }
            let pending: Vec<i32> = pids
                .iter()
                .zip(&before)
                .filter(|(p, files)| !reopened(**p, files))
                .map(|(p, _)| *p)
                .collect();
            if pending.is_empty() {
                return Ok(Outcome::Reopened { workers });
            }
            if late {
                return Err(Error::failed(format!(
                    "nginx did not reopen its log files within {} (process {} still holds the \
                     old ones){}",
                    show_secs(wait),
                    join_pids(&pending),
                    log_hint(&log)
                )));
            }
            self.nap(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// QUIT or TERM, then wait for the master to exit.
    fn stop(&self, sig: Signal, wait: Duration) -> Result<Outcome> {
        self.signal(sig)?;
        let deadline = Instant::now() + wait;
        loop {
            if !self.alive() {
                return Ok(Outcome::Exited);
            }
            if Instant::now() >= deadline {
                return Err(Error::failed(format!(
                    "nginx master {} still running {} after {}",
                    self.pid,
                    show_secs(wait),
                    sig.as_str()
                )));
            }
            self.nap(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// An error if the master died after `sig` (it should not, for HUP and USR1).
    fn still_alive(&self, sig: Signal, log: &Option<ErrorLog>) -> Result<()> {
        if self.alive() {
            return Ok(());
        }
        Err(Error::failed(format!(
            "nginx master {} exited after {}{}",
            self.pid,
            sig.as_str(),
            log_hint(log)
        )))
    }
}

/// What `pid` executes: `/proc/PID/exe`, or its command name when that link may not be read.
fn program_of(pid: i32, from: &str, gone: &dyn Fn() -> Error) -> Result<Program> {
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(target) => Ok(Program::from_exe_link(&target)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|_| gone())?;
            let comm = parse_comm(&stat)
                .ok_or_else(|| Error::failed(format!("{from}: cannot parse /proc/{pid}/stat")))?;
            Ok(Program::Comm(comm.to_string()))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => Err(gone()),
        Err(e) => Err(Error::sys(format!("{from}: read /proc/{pid}/exe"), e)),
    }
}

/// `; see /var/log/nginx/error.log` when the error log is known.
fn log_hint(log: &Option<ErrorLog>) -> String {
    log.as_ref()
        .map(|l| format!("; see {}", l.path.display()))
        .unwrap_or_default()
}

/// The thread-group id from `/proc/PID/status`: equal to PID for a process, not for a thread.
fn tgid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One open log file of a process: descriptor number, device and inode.
type FileId = (i32, u64, u64);

/// A process's regular files opened for appending: its log files (`ls -l /proc/PID/fd`).
/// Reopening gives each a new descriptor before the old one is closed, so after a reopen none
/// of these triples survives. None when the process's descriptors cannot be read (another
/// user's process without CAP_SYS_PTRACE); empty when it has exited.
fn append_files(pid: i32) -> Option<BTreeSet<FileId>> {
    let dir = match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return None,
        Err(_) => return Some(BTreeSet::new()),
    };
    let files = dir
        .flatten()
        .filter_map(|e| {
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())?;
            if flags & libc::O_APPEND as u32 == 0 {
                return None;
            }
            let meta = std::fs::metadata(e.path()).ok()?;
            meta.is_file().then(|| (fd, meta.dev(), meta.ino()))
        })
        .collect();
    Some(files)
}

/// Has `pid` reopened the files it held (`before`)? A process that exited needs nothing more.
fn reopened(pid: i32, before: &BTreeSet<FileId>) -> bool {
    if before.is_empty() || !Path::new(&format!("/proc/{pid}")).exists() {
        return true;
    }
    let now = append_files(pid).unwrap_or_default();
    !before.iter().all(|f| now.contains(f))
}

/// The end of nginx's main error log, read through the master's stderr: nginx points its
/// stderr at that log (`ngx_log_redirect_stderr`), and errors found while rereading the
/// configuration go there. Opening `/proc/PID/fd/2` finds the file even after a rename.
struct ErrorLog {
    file: File,
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl ErrorLog {
    /// Most bytes read per look, so a busy log cannot stall the confirmation loop.
    const CHUNK: u64 = 1 << 20;

    fn of_master(pid: i32) -> Option<ErrorLog> {
        let link = format!("/proc/{pid}/fd/2");
        let path = std::fs::read_link(&link).ok()?;
        let file = File::open(&link).ok()?;
        let meta = file.metadata().ok()?;
        meta.is_file().then(|| ErrorLog {
            file,
            path,
            offset: meta.len(),
            partial: Vec::new(),
        })
    }

    /// The first new `[emerg]` line written by one of `pids`, if any.
    fn emerg(&mut self, pids: &[i32]) -> Option<String> {
        let len = self.file.metadata().ok()?.len();
        if len < self.offset {
            // Truncated (copytruncate): start again from its new end.
            self.offset = len;
            self.partial.clear();
            return None;
        }
        if len == self.offset {
            return None;
        }
        self.file.seek(SeekFrom::Start(self.offset)).ok()?;
        let mut buf = Vec::new();
        (&self.file)
            .take((len - self.offset).min(Self::CHUNK))
            .read_to_end(&mut buf)
            .ok()?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let complete = self.partial.iter().rposition(|&b| b == b'\n')? + 1;
        let lines: Vec<u8> = self.partial.drain(..complete).collect();
        String::from_utf8_lossy(&lines)
            .lines()
            .find_map(|l| emerg_line(l, pids))
    }
}

/// An `nginx -t` run that tests what the running master would load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigTest {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Run there, so relative `-p`/`-c` resolve as they did for the master.
    pub cwd: Option<PathBuf>,
    /// False when the master runs in another network namespace (a hint for failures).
    pub same_netns: bool,
}

impl ConfigTest {
    /// `nginx -t [-p PREFIX] [-c CONF]` for `master`: the binary is `nginx` if given, else the
    /// one the master runs, else `nginx` from PATH; `conf` if given, else the master's `-c`;
    /// the prefix is the master's `-p`. Without a `-c` or `-p`, nginx uses its built-in paths,
    /// as the master did.
    ///
    /// The title is all that is left of the master's arguments, and nginx cuts it to the space
    /// its original arguments and environment took; an absolute `-c` that does not exist is
    /// taken for a cut one and refused (give `-c`).
    pub fn for_master(
        master: &Master,
        nginx: Option<&Path>,
        conf: Option<&Path>,
    ) -> Result<ConfigTest> {
        let started = master.args();
        let program = nginx
            .map(Path::to_path_buf)
            .or_else(|| master.exe())
            .unwrap_or_else(|| PathBuf::from("nginx"));
        let mut args: Vec<OsString> = vec!["-t".into()];
        if let Some(p) = started.prefix {
            args.push("-p".into());
            args.push(p.into());
        }
        let conf: Option<OsString> = match conf {
            // Ours is relative to our directory, not the master's.
            Some(c) => Some(
                std::path::absolute(c)
                    .unwrap_or_else(|_| c.to_path_buf())
                    .into(),
            ),
            None => match started.conf {
                Some(c) if c.starts_with('/') && !Path::new(&c).exists() => {
                    return Err(Error::failed(format!(
                        "cannot find the configuration nginx master {} runs (its title says \
                         -c {c}, which may be cut short); give it with -c; nothing signalled",
                        master.pid
                    )));
                }
                c => c.map(OsString::from),
            },
        };
        if let Some(c) = conf {
            args.push("-c".into());
            args.push(c);
        }
        Ok(ConfigTest {
            program,
            args,
            cwd: master.cwd(),
            same_netns: master.same_netns().unwrap_or(true),
        })
    }

    /// The command as a shell would show it.
    pub fn shown(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(|a| a.as_os_str()))
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run it with a deadline of `timeout`; Ok when nginx says the configuration is fine, else
    /// a failure carrying nginx's own `[emerg]` line.
    pub fn run(&self, timeout: Duration) -> Result<()> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::os(
                format!("run {} (give --nginx)", self.program.display()),
                e,
                "",
            )
        })?;
        let readers = [
            child.stdout.take().map(drain),
            child.stderr.take().map(drain),
        ];
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::failed(format!(
                        "`{}` did not finish within {}; nothing signalled",
                        self.shown(),
                        show_secs(timeout)
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(Error::sys(format!("wait for {}", self.shown()), e)),
            }
        };
        let output: String = readers
            .into_iter()
            .flatten()
            .map(|r| r.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        if status.success() {
            return Ok(());
        }
        let hint = if self.same_netns {
            ""
        } else {
            " (nginx runs in another network namespace: run nginx-reload there)"
        };
        Err(Error::failed(format!(
            "configuration test failed, nothing signalled: {}{hint}",
            config_test_error(&output)
        )))
    }
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Bytes for a message: printable ASCII as is, the rest escaped, cut at `max` characters.
fn escape(bytes: &[u8], max: usize) -> String {
    let s: String = bytes.escape_ascii().to_string();
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// `5s`, `0.5s`.
pub fn show_secs(d: Duration) -> String {
    format!("{}s", crate::secs::show(d))
}

/// `8342 8343`, or `none`.
pub fn join_pids(pids: &[i32]) -> String {
    if pids.is_empty() {
        return "none".to_string();
    }
    pids.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 32768;

    #[test]
    fn pidfile_accepts_one_plain_decimal() {
        assert_eq!(parse_pidfile(b"1234\n", MAX), Ok(1234));
        assert_eq!(parse_pidfile(b"1234", MAX), Ok(1234));
        assert_eq!(parse_pidfile(b"2", MAX), Ok(2));
        assert_eq!(parse_pidfile(b"32767\n", MAX), Ok(32767));
    }

    #[test]
    fn pidfile_refuses_init_zero_and_negatives() {
        assert_eq!(parse_pidfile(b"1\n", MAX), Err(BadPid::Reserved(1)));
        assert_eq!(parse_pidfile(b"0\n", MAX), Err(BadPid::Reserved(0)));
        assert_eq!(
            parse_pidfile(b"-1\n", MAX),
            Err(BadPid::Negative("-1".into()))
        );
        assert_eq!(
            parse_pidfile(b"-1234", MAX),
            Err(BadPid::Negative("-1234".into()))
        );
    }

    #[test]
    fn pidfile_refuses_garbage_and_decoration() {
        assert_eq!(parse_pidfile(b"", MAX), Err(BadPid::Empty));
        assert_eq!(parse_pidfile(b"\n", MAX), Err(BadPid::Empty));
        for bad in [
            &b"abc"[..],
            b" 1234",
            b"1234 ",
            b"+1234",
            b"0123",
            b"00001",
            b"12a4",
            b"1234\r\n",
            b"1234\n\n",
            b"0x10",
            b"1e3",
            b"\xff\xfe",
            b"-",
        ] {
            assert!(
                matches!(
                    parse_pidfile(bad, MAX),
                    Err(BadPid::NotNumber(_) | BadPid::Lines)
                ),
                "{:?} accepted or misclassified: {:?}",
                bad.escape_ascii().to_string(),
                parse_pidfile(bad, MAX)
            );
        }
        assert_eq!(parse_pidfile(b"12\n34\n", MAX), Err(BadPid::Lines));
        assert_eq!(
            parse_pidfile(b"\xff1", MAX),
            Err(BadPid::NotNumber("\\xff1".into()))
        );
    }

    #[test]
    fn pidfile_refuses_numbers_beyond_pid_max() {
        assert_eq!(
            parse_pidfile(b"32768\n", MAX),
            Err(BadPid::TooLarge("32768".into(), MAX))
        );
        assert!(matches!(
            parse_pidfile(b"99999999999999999999999999\n", MAX),
            Err(BadPid::TooLarge(..))
        ));
        // Beyond i32 even when pid_max claims more.
        assert!(matches!(
            parse_pidfile(b"4294967297", u64::MAX),
            Err(BadPid::TooLarge(..))
        ));
    }

    #[test]
    fn pidfile_refuses_long_files_before_looking_inside() {
        let long = vec![b'1'; PIDFILE_MAX + 1];
        assert_eq!(parse_pidfile(&long, MAX), Err(BadPid::TooLong));
    }

    #[test]
    fn bad_pid_messages_name_the_value() {
        assert_eq!(
            BadPid::NotNumber("abc".into()).to_string(),
            "holds \"abc\", not a decimal process id"
        );
        assert!(
            BadPid::Negative("-1".into())
                .to_string()
                .contains("every process")
        );
        assert!(BadPid::Reserved(1).to_string().contains("init"));
        assert!(
            BadPid::TooLarge("99999".into(), MAX)
                .to_string()
                .contains("pid_max 32768")
        );
    }

    #[test]
    fn cmdline_matcher_knows_masters_and_workers() {
        assert_eq!(
            classify_cmdline(b"nginx: master process /usr/sbin/nginx -g daemon on;\0"),
            Title::Master
        );
        assert_eq!(
            classify_cmdline(b"nginx: master process\0\0\0"),
            Title::Master
        );
        assert_eq!(
            classify_cmdline(b"nginx: worker process\0\0\0\0\0\0"),
            Title::Worker
        );
        assert_eq!(
            classify_cmdline(b"nginx: worker process is shutting down\0"),
            Title::WorkerExiting
        );
        assert_eq!(
            classify_cmdline(b"nginx: cache manager process\0"),
            Title::OtherNginx
        );
    }

    #[test]
    fn cmdline_matcher_refuses_everything_else() {
        for other in [
            &b"sleep\x00100\x00"[..],
            b"",
            b"\0",
            b"nginx\0-s\0reload\0",
            b"/usr/sbin/nginx\0-g\0daemon off;\0",
            b"nginx: master processes\0",
            b"xnginx: master process\0",
            b"vim\0nginx: master process\0",
            b"nginx:\0master\0process\0",
        ] {
            assert_eq!(
                classify_cmdline(other),
                Title::NotNginx,
                "{}",
                other.escape_ascii()
            );
        }
    }

    #[test]
    fn cmdlines_are_shown_joined_and_escaped() {
        assert_eq!(show_cmdline(b"sleep\x00100\x00"), "sleep 100");
        assert_eq!(show_cmdline(b""), "");
        assert_eq!(show_cmdline(b"a\nb\0"), "a\\nb");
        assert!(show_cmdline(&[b'x'; 200]).ends_with("..."));
    }

    #[test]
    fn master_title_gives_prefix_and_conf() {
        let t = "nginx: master process nginx -p /tmp/x -c /tmp/x/nginx.conf";
        assert_eq!(
            master_args(t),
            MasterArgs {
                prefix: Some("/tmp/x".into()),
                conf: Some("/tmp/x/nginx.conf".into()),
            }
        );
        // Joined values, grouped flags, -g values skipped.
        let t = "nginx: master process /usr/sbin/nginx -g daemon on; master_process on; -cconf/a.conf -qp /srv";
        assert_eq!(
            master_args(t),
            MasterArgs {
                prefix: Some("/srv".into()),
                conf: Some("conf/a.conf".into()),
            }
        );
        assert_eq!(
            master_args("nginx: master process /usr/sbin/nginx"),
            MasterArgs::default()
        );
        assert_eq!(master_args("sleep 1 -c x"), MasterArgs::default());
        // -e takes a value which must not be read as flags.
        assert_eq!(
            master_args("nginx: master process nginx -e -c -c /a"),
            MasterArgs {
                prefix: None,
                conf: Some("/a".into()),
            }
        );
    }

    #[test]
    fn stat_is_parsed_from_the_last_parenthesis() {
        let line = "8341 (nginx) S 1 8341 8341 0 -1 4194624 61 0 0 0 0 0 0 0 20 0 1 0 \
                    123456 11223344 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                ppid: 1,
                starttime: 123456
            })
        );
        let odd = "77 (a) b (c) Z 5 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0";
        assert_eq!(
            parse_stat(odd).map(|s| (s.state, s.ppid, s.starttime)),
            Some(('Z', 5, 99))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn emerg_lines_are_recognised_by_shape_and_pid() {
        let line =
            "2024/05/01 12:00:00 [emerg] 8341#8341: unknown directive \"bogus\" in /x/nginx.conf:5";
        assert_eq!(
            emerg_line(line, &[8341]).as_deref(),
            Some("[emerg] unknown directive \"bogus\" in /x/nginx.conf:5")
        );
        assert_eq!(emerg_line(line, &[8342]), None);
        let worker = "2024/05/01 12:00:00 [emerg] 8343#0: open() \"/x/access.log\" failed (13: Permission denied)";
        assert!(emerg_line(worker, &[8341, 8343]).is_some());
        for other in [
            "2024/05/01 12:00:00 [alert] 8341#8341: something",
            "2024/05/01 12:00:00 [error] 8341#8341: something",
            "127.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /[emerg] 8341#8341: x HTTP/1.1\" 404",
            "[emerg] 8341#8341: x",
            "2024/05/01 12:00:00 [emerg] 8341#abc: x",
            "2024/05/01 12:00:00 [emerg] x#1: x",
            "",
        ] {
            assert_eq!(emerg_line(other, &[8341]), None, "{other}");
        }
    }

    #[test]
    fn config_test_output_shows_the_emerg_line() {
        let out = "nginx: [emerg] unknown directive \"bogus\" in /x/nginx.conf:5\n\
                   nginx: configuration file /x/nginx.conf test failed\n";
        assert_eq!(
            config_test_error(out),
            "nginx: [emerg] unknown directive \"bogus\" in /x/nginx.conf:5"
        );
        assert_eq!(
            config_test_error("\nsomething odd\nnginx: configuration file /x test failed\n"),
            "something odd"
        );
        assert_eq!(config_test_error(""), "no output");
        let logged = "2026/11/24 20:26:39 [emerg] 6868#6868: unknown directive \"bogus\" in /x:5\n";
        assert_eq!(
            config_test_error(logged),
            "nginx: [emerg] unknown directive \"bogus\" in /x:5"
        );
    }

    #[test]
    fn missing_pidfiles_list_the_paths_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.pid");
        let b = dir.path().join("b.pid");
        let e = find_pidfile(&[&a, &b]).expect_err("none exists");
        assert_eq!(e.exit_code(), 1);
        let msg = e.to_string();
        assert!(msg.contains(&a.display().to_string()) && msg.contains(&b.display().to_string()));
        std::fs::write(&b, "5\n").expect("write");
        assert_eq!(find_pidfile(&[&a, &b]).expect("found"), b);
    }

    #[test]
    fn pidfiles_must_be_regular_files_not_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.pid");
        std::fs::write(&real, format!("{}\n", std::process::id())).expect("write");
        assert_eq!(
            read_pidfile(&real).expect("read"),
            std::process::id() as i32
        );
        let link = dir.path().join("link.pid");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let e = read_pidfile(&link).expect_err("symlink");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = read_pidfile(dir.path()).expect_err("directory");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_pidfile(&dir.path().join("none.pid")).expect_err("missing");
        assert!(e.to_string().contains("no such file"), "{e}");
        std::fs::write(&real, vec![b'7'; 4096]).expect("write");
        let e = read_pidfile(&real).expect_err("long");
        assert!(e.to_string().contains("longer than 64 bytes"), "{e}");
    }

    #[test]
    fn a_process_that_is_not_nginx_is_refused_and_survives() {
        let mut child = started(Command::new("sleep").arg("30"));
        let pid = child.id() as i32;
        let e = Master::verify(pid, Path::new("/test.pid"), None).expect_err("sleep is not nginx");
        let msg = e.to_string();
        assert!(msg.contains("is not an nginx master process"), "{msg}");
        assert!(msg.contains("\"sleep 30\""), "{msg}");
        assert_eq!(child.try_wait().expect("try_wait"), None);
        let _ = child.kill();
        let _ = child.wait();
        let e = Master::verify(pid, Path::new("/test.pid"), None).expect_err("gone");
        assert!(e.to_string().contains("no such process"), "{e}");
    }

    /// Spawn and wait until the exec is complete (spawn returns while the new program's
    /// command line may still be empty). A program copied just now may be busy (ETXTBSY) while
    /// a fork of another test still holds the copy open: that is retried.
    fn started(cmd: &mut Command) -> std::process::Child {
        let mut tries = 0;
        let mut child = loop {
            match cmd.spawn() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                r => break r.expect("spawn"),
            }
        };
        let cmdline = format!("/proc/{}/cmdline", child.id());
        for _ in 0..500 {
            if std::fs::read(&cmdline).is_ok_and(|c| !c.is_empty()) {
                return child;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not start");
    }

    /// `sleep` copied to DIR/`name` (the copy lives as long as the returned directory).
    fn sleep_named(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let sleep = ["/usr/bin/sleep", "/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sleep");
        std::fs::copy(sleep, &path).expect("copy sleep");
        (dir, path)
    }

    /// `program` titled like an nginx master (argv[0] set), so no root or nginx is needed.
    fn titled_master(program: &Path) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        started(
            Command::new(program)
                .arg0("nginx: master process /usr/sbin/nginx")
                .arg("30"),
        )
    }

    /// A `sleep` installed as `nginx` and titled as a master: what verification accepts.
    struct FakeMaster {
        child: std::process::Child,
        _dir: tempfile::TempDir,
    }

    fn fake_master() -> FakeMaster {
        let (dir, nginx) = sleep_named("nginx");
        FakeMaster {
            child: titled_master(&nginx),
            _dir: dir,
        }
    }

    #[test]
    fn a_title_alone_does_not_make_a_master() {
        // `exec -a "nginx: master process /usr/sbin/nginx" sleep 30`
        let mut child = titled_master(Path::new("sleep"));
        let pid = child.id() as i32;
        let e = Master::verify(pid, Path::new("/run/nginx.pid"), None).expect_err("sleep");
        let msg = e.to_string();
        assert_eq!(e.exit_code(), 1);
        assert!(
            msg.starts_with(&format!(
                "pid {pid} from /run/nginx.pid is titled \"nginx: master process /usr/sbin/nginx\" \
                 but runs /"
            )),
            "{msg}"
        );
        assert!(msg.contains("/sleep, not nginx (give --nginx BIN"), "{msg}");
        assert!(msg.ends_with("; nothing signalled"), "{msg}");
        // --nginx naming another binary does not help.
        let e = Master::verify(pid, Path::new("/t.pid"), Some(Path::new("/usr/sbin/nginx")))
            .expect_err("sleep");
        assert!(e.to_string().contains("nor /usr/sbin/nginx"), "{e}");
        assert_eq!(child.try_wait().expect("try_wait"), None, "not signalled");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn binaries_named_nginx_or_given_with_nginx_are_accepted() {
        for name in ["nginx", "nginx-debug", "nginx-light"] {
            let (_dir, path) = sleep_named(name);
            let mut child = titled_master(&path);
            let master = Master::verify(child.id() as i32, Path::new("/t.pid"), None);
            assert!(master.is_ok(), "{name}: {master:?}");
            let _ = child.kill();
            let _ = child.wait();
        }
        // Another name: only with --nginx naming it (as given, or through a link).
        let (dir, path) = sleep_named("web-server");
        let mut child = titled_master(&path);
        let pid = child.id() as i32;
        let e = Master::verify(pid, Path::new("/t.pid"), None).expect_err("web-server");
        assert!(e.to_string().contains("web-server, not nginx"), "{e}");
        Master::verify(pid, Path::new("/t.pid"), Some(&path)).expect("--nginx BIN");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        Master::verify(pid, Path::new("/t.pid"), Some(&link)).expect("--nginx LINK");
        // Removed from disk (an upgrade replaced it): still the program it was.
        std::fs::remove_file(&path).expect("rm");
        Master::verify(pid, Path::new("/t.pid"), Some(&path)).expect("deleted BIN");
        let _ = child.kill();
        let _ = child.wait();
        let (_dir, nginx) = sleep_named("nginx");
        let mut child = titled_master(&nginx);
        std::fs::remove_file(&nginx).expect("rm");
        let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).expect("exe");
        assert!(exe.to_string_lossy().ends_with(" (deleted)"), "{exe:?}");
        Master::verify(child.id() as i32, Path::new("/t.pid"), None).expect("deleted nginx");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn programs_are_read_from_exe_links_and_command_names() {
        let p = Program::from_exe_link(Path::new("/usr/sbin/nginx (deleted)"));
        assert_eq!(
            p,
            Program::Exe {
                path: PathBuf::from("/usr/sbin/nginx"),
                deleted: true
            }
        );
        assert!(p.is_nginx(None));
        assert_eq!(p.to_string(), "/usr/sbin/nginx (deleted)");
        let p = Program::from_exe_link(Path::new("/usr/bin/sleep"));
        assert!(!p.is_nginx(None));
        assert_eq!(p.to_string(), "/usr/bin/sleep");
        for ok in ["nginx", "nginx-debug", "nginx-full"] {
            assert!(is_nginx_name(ok), "{ok}");
        }
        for bad in [
            "", "nginx-", "nginxx", "xnginx", "sleep", "nginx.sh", "Nginx",
        ] {
            assert!(!is_nginx_name(bad), "{bad}");
        }
        assert_eq!(parse_comm("42 (nginx) S 1 42"), Some("nginx"));
        assert_eq!(parse_comm("42 (a) b) (c) S 1"), Some("a) b) (c"));
        assert!(Program::Comm("nginx".into()).is_nginx(None));
        assert!(!Program::Comm("sleep".into()).is_nginx(None));
        assert_eq!(
            Program::Comm("sleep".into()).to_string(),
            "a program named \"sleep\""
        );
        // --nginx: the path as given or resolved; a command name cut to 15 bytes.
        let e = Expected {
            paths: vec![PathBuf::from("/opt/web/sbin/webserver-1.25.3")],
            names: vec![comm_of("webserver-1.25.3")],
            same_file: false,
        };
        assert_eq!(e.names, ["webserver-1.25."]);
        assert!(Program::Comm("webserver-1.25.".into()).is_nginx(Some(&e)));
        assert!(!Program::Comm("webserver".into()).is_nginx(Some(&e)));
        let exe = Program::from_exe_link(Path::new("/opt/web/sbin/webserver-1.25.3 (deleted)"));
        assert!(exe.is_nginx(Some(&e)));
        assert!(!Program::from_exe_link(Path::new("/opt/web/sbin/other")).is_nginx(Some(&e)));
        let same = Expected {
            same_file: true,
            ..Expected::default()
        };
        assert!(Program::from_exe_link(Path::new("/elsewhere/web")).is_nginx(Some(&same)));
    }

    #[test]
    fn a_master_that_died_after_verification_is_not_signalled() {
        let FakeMaster {
            mut child,
            _dir: _keep,
        } = fake_master();
        let pid = child.id() as i32;
        let master = Master::verify(pid, Path::new("/test.pid"), None).expect("titled as a master");
        assert!(matches!(master.pin, Pin::Fd(_)), "this kernel has pidfds");
        assert!(master.alive());
        let _ = child.kill();
        let _ = child.wait();
        // Whatever holds `pid` now, the pidfd names the dead process: ESRCH, nothing sent.
        let e = master.signal(Signal::SIGHUP).expect_err("gone");
        assert!(
            e.to_string().contains("exited after it was verified"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 1);
        assert!(!master.alive());
    }

    #[test]
    fn the_start_time_fallback_also_refuses_a_dead_master() {
        let FakeMaster {
            mut child,
            _dir: _keep,
        } = fake_master();
        let pid = child.id() as i32;
        let mut master =
            Master::verify(pid, Path::new("/test.pid"), None).expect("titled as a master");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        master.pin = Pin::Start(parse_stat(&stat).expect("parse").starttime);
        assert!(master.alive());
        // SIGCONT is harmless to a running sleep: the fallback does signal a live process.
        master.signal(Signal::SIGCONT).expect("live process");
        let _ = child.kill();
        let _ = child.wait();
        assert!(!master.alive());
        let e = master.signal(Signal::SIGHUP).expect_err("gone");
        assert!(
            e.to_string().contains("exited after it was verified"),
            "{e}"
        );
        // A different start time is a different process, even under the same PID.
        let FakeMaster {
            child: mut live,
            _dir: _keep_live,
        } = fake_master();
        let mut other =
            Master::verify(live.id() as i32, Path::new("/t.pid"), None).expect("master");
        other.pin = Pin::Start(1);
        assert!(!other.alive());
        assert!(other.signal(Signal::SIGHUP).is_err());
        assert_eq!(live.try_wait().expect("try_wait"), None, "not signalled");
        let _ = live.kill();
        let _ = live.wait();
    }

    #[test]
    fn shows() {
        assert_eq!(show_secs(Duration::from_secs(5)), "5s");
        assert_eq!(show_secs(Duration::from_millis(500)), "0.5s");
        assert_eq!(join_pids(&[1, 2]), "1 2");
        assert_eq!(join_pids(&[]), "none");
    }
}
