//! Running commands in tests: every command has a timeout, and a failed expectation prints the
//! command line, its exit status, stdout and stderr.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The default limit for one command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Path of one of the crate's binaries (`vip-bind`, `garp`, ...).
pub fn bin(name: &str) -> PathBuf {
    let path = match name {
        "vip-bind" => env!("CARGO_BIN_EXE_vip-bind"),
        "vip-unbind" => env!("CARGO_BIN_EXE_vip-unbind"),
        "garp" => env!("CARGO_BIN_EXE_garp"),
        "httpcheck" => env!("CARGO_BIN_EXE_httpcheck"),
        "nginx-reload" => env!("CARGO_BIN_EXE_nginx-reload"),
        "vip-watch" => env!("CARGO_BIN_EXE_vip-watch"),
        other => panic!("unknown binary {other}"),
    };
    PathBuf::from(path)
}

/// The project root (for scripts/ and examples/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when running as root. Network tests need it.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gate for tests that need root: true to run, false to skip (only when the user opted out with
/// `VIPKIT_SKIP_NETNS=1`); otherwise the test fails with a message saying why.
pub fn need_root() -> bool {
    if is_root() {
        return true;
    }
    if std::env::var("VIPKIT_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("skipped: needs root (VIPKIT_SKIP_NETNS=1)");
        return false;
    }
    panic!(
        "this test needs root: it builds network namespaces. Run `sudo scripts/test`, \
         or set VIPKIT_SKIP_NETNS=1 to skip the network tests explicitly"
    );
}

/// `setpriv` arguments that run the rest of a command as `nobody` with no capabilities.
pub const AS_NOBODY: [&str; 5] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

/// A command to run with a timeout.
pub struct Cmd {
    cmd: Command,
    shown: String,
    timeout: Duration,
}

/// What a finished command left behind.
pub struct Output {
    /// Exit code, or None when killed by a signal or the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
    pub shown: String,
}

impl Cmd {
    /// A command by program name or path.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        Cmd {
            cmd: Command::new(program),
            shown: program.to_string_lossy().into_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// One of the crate's binaries.
    pub fn tool(name: &str) -> Self {
        let mut c = Cmd::new(bin(name));
        c.shown = name.to_string();
        c
    }

    /// A command run inside network namespace `ns` (`ip netns exec NS ...`).
    pub fn in_ns(ns: &str, program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        let mut c = Cmd::new("ip");
        c.cmd.args(["netns", "exec", ns]).arg(program);
        c.shown = format!("[{ns}] {}", program.to_string_lossy());
        c
    }

    /// One of the crate's binaries inside network namespace `ns`.
    pub fn tool_in(ns: &str, name: &str) -> Self {
        let mut c = Cmd::in_ns(ns, bin(name));
        c.shown = format!("[{ns}] {name}");
        c
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.shown.push(' ');
        self.shown.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// One of the crate's binaries inside namespace `ns`, run as `nobody` without capabilities.
    pub fn tool_unprivileged(ns: &str, name: &str) -> Self {
        let mut c = Cmd::in_ns(ns, AS_NOBODY[0])
            .args(&AS_NOBODY[1..])
            .arg(bin(name));
        c.shown = format!("[{ns}] (nobody) {name}");
        c
    }

    /// Start the command in its own process group, stdin closed, stdout and stderr piped.
    fn start(&mut self) -> Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.shown))
    }

    /// Run to completion (or the timeout, which kills the whole process group).
    pub fn run(mut self) -> Output {
        let start = Instant::now();
        let child = self.start();
        collect(child, self.timeout, start, self.shown)
    }

    /// Start in the background; the returned guard kills the process group on drop.
    pub fn spawn(mut self) -> Bg {
        let child = self.start();
        Bg {
            child: Some(child),
            shown: self.shown,
        }
    }

    /// Run and expect exit code `code`; panics with everything the command printed otherwise.
    pub fn expect(self, code: i32) -> Output {
        self.run().expect_code(code)
    }

    /// Run and expect success.
    pub fn ok(self) -> Output {
        self.expect(0)
    }
}

/// Wait for `child` (killing it at `timeout`) and gather what it printed.
fn collect(mut child: Child, timeout: Duration, start: Instant, shown: String) -> Output {
    let out_reader = reader(child.stdout.take());
    let err_reader = reader(child.stderr.take());
    let (status, timed_out) = wait_deadline(&mut child, timeout);
    Output {
        code: status.and_then(|s| s.code()),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: start.elapsed(),
        timed_out,
        shown,
    }
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

fn wait_deadline(child: &mut Child, timeout: Duration) -> (Option<std::process::ExitStatus>, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), false),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child.id());
                let _ = child.wait();
                return (None, true);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return (None, false),
        }
    }
}

fn kill_group(pid: u32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

impl Output {
    /// Panic, showing everything, unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Output {
        if self.code != Some(code) || self.timed_out {
            panic!("expected exit {code}\n{self}");
        }
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.shown)?;
        writeln!(
            f,
            "exit: {:?}{} after {:?}",
            self.code,
            if self.timed_out { " (timed out)" } else { "" },
            self.elapsed
        )?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

/// A background process; killed (with its process group) on drop.
pub struct Bg {
    child: Option<Child>,
    pub shown: String,
}

impl Bg {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Send a signal to the process itself (not the group).
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig);
    }

    /// Wait for exit up to `timeout`, killing it afterwards; returns what it printed.
    pub fn finish(mut self, timeout: Duration) -> Output {
        let child = self.child.take().expect("child");
        collect(child, timeout, Instant::now(), self.shown.clone())
    }

    /// Kill now and return what it printed.
    pub fn kill(self) -> Output {
        kill_group(self.pid());
        self.finish(Duration::from_secs(5))
    }

    /// Is it still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(child.id());
            let _ = child.wait();
        }
    }
}

/// Poll `f` every 10 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The processes in the PID namespace of `pid`, other than `pid` itself: (pid, state).
pub fn others_in_pid_ns(pid: i32) -> Vec<(i32, String)> {
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("pid namespace");
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if p == pid
            || std::fs::read_link(format!("/proc/{p}/ns/pid"))
                .ok()
                .as_ref()
                != Some(&ns)
        {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?")
            .to_string();
        out.push((p, state));
    }
    out
}

/// A new PID namespace inside network namespace `ns` whose init is `sleep SECS`, which reaps
/// nothing (many containers' PID 1): what a tool leaves behind there stays, as a zombie. The
/// `unshare` process (dropped: killed) and the namespace's init, for `nsenter -t INIT -p`.
pub fn non_reaping_init(ns: &crate::netns::Netns, secs: u64) -> (Bg, i32) {
    let unshare = ns
        .cmd("unshare")
        .args(["--pid", "--fork", "sleep", &secs.to_string()])
        .timeout(Duration::from_secs(secs + 10))
        .spawn();
    let parent = unshare.pid() as i32;
    let mut init = 0;
    assert!(
        wait_until(Duration::from_secs(5), || {
            init = child_of(parent).unwrap_or(0);
            init != 0
        }),
        "the namespace's init did not start"
    );
    (unshare, init)
}

/// The first child of `pid` found in /proc, if any.
pub fn child_of(pid: i32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let p: i32 = e.file_name().to_str()?.parse().ok()?;
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
        let ppid: i32 = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))?
            .trim()
            .parse()
            .ok()?;
        (ppid == pid).then_some(p)
    })
}
