//! A verified nginx master process, held so that a reused PID can never be signalled.
//!
//! [`Master::verify`] opens a pidfd on the PID *first*, then `/proc/PID` must show a process
//! (not a thread, not a zombie) titled `nginx: master process` that executes an nginx binary
//! ([`Program`]): a title is only `argv[0]`, which any program can set (`exec -a "nginx: master
//! process" sleep 30`). [`Master::signal`] sends through that pidfd: if the master died and its
//! PID was reused after the check, the signal fails with ESRCH instead of hitting the newcomer.
//! Kernels without pidfds (< 5.3) fall back to `kill()` after re-checking the process start
//! time, a window of microseconds. [`Master::deliver`] signals and confirms ([`confirm`]).
//!
//! [`confirm`]: crate::nginx::confirm

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::nginx::confirm::{self, Action, Outcome, Watch};
use crate::nginx::pidfd;
use crate::nginx::procfs::{self, Expected, MasterArgs, Program, Title};
use crate::nginx::show::escape;

/// The capability that allows signalling another user's process.
const CAP_KILL: &str = "CAP_KILL";

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
        let stat = match procfs::read_stat(pid) {
            Ok(text) => procfs::parse_stat(&text)
                .ok_or_else(|| Error::failed(format!("{from}: cannot parse /proc/{pid}/stat")))?,
            Err(e) if procfs::is_gone(&e) => return Err(gone()),
            Err(e) => return Err(Error::sys(format!("{from}: read /proc/{pid}/stat"), e)),
        };
        if stat.exited() {
            return Err(Error::failed(format!(
                "{from} is a zombie (its program exited); nothing signalled"
            )));
        }
        if let Some(tgid) = procfs::tgid(pid)
            && tgid != pid
        {
            return Err(Error::failed(format!(
                "{from} is a thread of process {tgid}, not a process; nothing signalled"
            )));
        }
        let cmdline = procfs::cmdline(pid).map_err(|e| {
            if procfs::is_gone(&e) {
                gone()
            } else {
                Error::sys(format!("{from}: read /proc/{pid}/cmdline"), e)
            }
        })?;
        let shown = procfs::show_cmdline(&cmdline);
        match procfs::classify_cmdline(&cmdline) {
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
                if !procfs::same_process(self.pid, *start) {
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
            Pin::Start(start) => procfs::same_process(self.pid, *start),
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

    /// The master's children and their titles (like `ps --ppid PID`).
    pub fn children(&self) -> Vec<(i32, Title)> {
        procfs::children(self.pid)
    }

    /// The PIDs of the workers serving requests (not those shutting down after a reload).
    pub fn workers(&self) -> Vec<i32> {
        procfs::workers(self.pid)
    }

    /// The `-p` and `-c` the master was started with.
    pub fn args(&self) -> MasterArgs {
        procfs::master_args(&self.title)
    }

    /// The binary the master runs (`/proc/PID/exe`): its path, or the `/proc` link itself when
    /// the file was replaced on disk (a package upgrade), which still executes the old binary.
    pub fn exe(&self) -> Option<PathBuf> {
        procfs::runnable_exe(self.pid)
    }

    /// The master's working directory, against which its relative `-p`/`-c` were resolved.
    pub fn cwd(&self) -> Option<PathBuf> {
        procfs::cwd(self.pid)
    }

    /// Whether the master runs in our network namespace (`nginx -t` binds its listen addresses,
    /// so it must run where nginx does). None when it cannot be told.
    pub fn same_netns(&self) -> Option<bool> {
        procfs::same_netns(self.pid)
    }

    /// Send `action`'s signal and, unless `wait` is zero, confirm within `wait` that nginx did
    /// what it was asked. This is `kill -HUP $(cat nginx.pid)` followed by what an operator
    /// checks by hand: `ps --ppid`, `ls -l /proc/PID/fd`, `tail error.log`.
    pub fn deliver(&self, action: Action, wait: Duration) -> Result<Outcome> {
        if wait.is_zero() {
            self.signal(action.signal())?;
            return Ok(Outcome::Sent);
        }
        let mut watch = Watch::before(self.pid, action);
        self.signal(action.signal())?;
        let deadline = Instant::now() + wait;
        confirm::poll_until(
            deadline,
            confirm::POLL,
            |d| self.nap(d),
            || watch.look(self.alive()),
        )
        .unwrap_or_else(|| Err(watch.late(wait)))
    }
}

/// What `pid` executes: `/proc/PID/exe`, or its command name when that link may not be read.
fn program_of(pid: i32, from: &str, gone: &dyn Fn() -> Error) -> Result<Program> {
    match procfs::exe_link(pid) {
        Ok(target) => Ok(Program::from_exe_link(&target)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            let stat = procfs::read_stat(pid).map_err(|_| gone())?;
            let comm = procfs::parse_comm(&stat)
                .ok_or_else(|| Error::failed(format!("{from}: cannot parse /proc/{pid}/stat")))?;
            Ok(Program::Comm(comm.to_string()))
        }
        Err(e) if procfs::is_gone(&e) => Err(gone()),
        Err(e) => Err(Error::sys(format!("{from}: read /proc/{pid}/exe"), e)),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::nginx::procfs::parse_stat;

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
}
