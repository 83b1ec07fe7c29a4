//! A real nginx for tests: its own prefix in a temporary directory, its own pidfile and logs,
//! optionally inside a network namespace. Stopped on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::netns::Netns;
use crate::util::{Cmd, wait_until};

/// A running nginx master (daemonised, as in production) and its files.
pub struct Nginx {
    pub dir: tempfile::TempDir,
    pub ns: Option<String>,
    /// The binary started: `nginx` from PATH unless [`Nginx::start_program`] said otherwise.
    pub program: PathBuf,
}

impl Nginx {
    /// Start nginx with `servers` (the `server { ... }` blocks) inside `http {}`.
    /// `ns`: the namespace to run in, or None for the current one.
    pub fn start(ns: Option<&Netns>, servers: &str) -> Nginx {
        Nginx::start_program(ns, servers, Path::new("nginx"))
    }

    /// [`Nginx::start`] with another nginx binary (a copy under another name, say).
    pub fn start_program(ns: Option<&Netns>, servers: &str, program: &Path) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("vipkit-nginx")
            .tempdir()
            .expect("tempdir");
        let nginx = Nginx {
            dir,
            ns: ns.map(|n| n.name.clone()),
            program: program.to_path_buf(),
        };
        nginx.write_conf(servers);
        nginx.cmd().ok();
        let pidfile = nginx.pidfile();
        assert!(
            wait_until(Duration::from_secs(5), || nginx.master_pid().is_some()),
            "nginx did not write {}",
            pidfile.display()
        );
        // The pidfile is written before the workers are forked: wait for both workers.
        assert!(
            wait_until(Duration::from_secs(5), || nginx.workers().len() == 2),
            "nginx did not start its 2 workers"
        );
        nginx
    }

    /// A server block answering `200 ok\n` on `listen` (e.g. `198.51.100.4:80`) for any path.
    pub fn ok_server(listen: &str) -> String {
        format!(
            "server {{ listen {listen}; location / {{ default_type text/plain; return 200 \"ok\\n\"; }} }}\n"
        )
    }

    /// Rewrite nginx.conf with other server blocks (for reload tests).
    pub fn write_conf(&self, servers: &str) {
        let d = self.dir.path().display();
        let conf = format!(
            "daemon on;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log {d}/access.log;\n client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n{servers}}}\n"
        );
        std::fs::write(self.conf(), conf).expect("write nginx.conf");
    }

    /// The `nginx -p DIR -c DIR/nginx.conf` command, in the namespace when there is one.
    pub fn cmd(&self) -> Cmd {
        let c = match &self.ns {
            Some(ns) => Cmd::in_ns(ns, &self.program),
            None => Cmd::new(&self.program),
        };
        c.args(["-p"])
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.conf())
            .timeout(Duration::from_secs(10))
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    pub fn pidfile(&self) -> PathBuf {
        self.dir.path().join("nginx.pid")
    }

    /// The master's PID from the pidfile, if nginx wrote one and the process lives.
    pub fn master_pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).ok()?;
        Some(pid)
    }

    /// PIDs of the master's worker processes (children of the master), sorted.
    pub fn workers(&self) -> Vec<i32> {
        let Some(master) = self.master_pid() else {
            return Vec::new();
        };
        let mut pids: Vec<i32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // Field 4 (after the parenthesised comm) is the parent PID.
                let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
                let cmdline =
                    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                after.split(' ').nth(1) == Some(&master.to_string())
                    && cmdline.starts_with("nginx: worker process")
            })
            .collect();
        pids.sort();
        pids
    }

    /// Stop now (SIGKILL to the master and its workers).
    pub fn kill(&self) {
        let workers = self.workers();
        if let Some(pid) = self.master_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for w in workers {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(w),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A copy of the nginx binary at `dir`/`name`, ready to run: it is started once with `-v`,
/// retried while a fork of another test still holds the fresh copy open for writing
/// (ETXTBSY), so that the fixture's start cannot meet that.
pub fn nginx_copy(dir: &Path, name: &str) -> PathBuf {
    let from = ["/usr/sbin/nginx", "/usr/local/nginx/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("an nginx binary");
    let to = dir.join(name);
    std::fs::copy(from, &to).expect("copy nginx");
    let ready = wait_until(Duration::from_secs(5), || {
        std::process::Command::new(&to)
            .arg("-v")
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    });
    assert!(ready, "{} stayed busy", to.display());
    to
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn nginx_fixture_serves_and_stops() {
    if !crate::util::need_root() {
        return;
    }
    let ns = crate::netns::single();
    let n = Nginx::start(Some(&ns), &Nginx::ok_server("198.51.100.4:80"));
    assert_eq!(n.workers().len(), 2);
    let out = ns
        .cmd("curl")
        .args(["-s", "-m", "2", "http://198.51.100.4/"])
        .ok();
    assert_eq!(out.stdout, "ok\n");
    let master = n.master_pid().expect("master");
    drop(n);
    assert!(wait_until(Duration::from_secs(2), || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(master), None).is_err()
    }));
}
