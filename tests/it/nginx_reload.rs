//! Integration tests for nginx-reload, against a real nginx in a temporary prefix inside a test
//! namespace (it listens on 198.51.100.4:80 there, never in the machine's own namespace).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::netns::{LB1, Netns, single};
use crate::nginx::{Nginx, nginx_copy};
use crate::util::{Cmd, Output, bin, wait_until};

/// A server answering `body` on LB1:80.
fn server(body: &str) -> String {
    format!(
        "server {{ listen {LB1}:80; location / {{ default_type text/plain; return 200 \"{body}\\n\"; }} }}\n"
    )
}

/// `curl` inside the namespace: (status code, body).
fn get(ns: &Netns, path: &str) -> (String, String) {
    let out = ns
        .cmd("curl")
        .args(["-s", "-m", "2", "-w", "\n%{http_code}"])
        .arg(format!("http://{LB1}{path}"))
        .run();
    let (body, code) = out.stdout.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_string(), body.trim_end().to_string())
}

/// nginx-reload inside the namespace (so `-t` binds where nginx does).
fn reload(ns: &Netns) -> Cmd {
    ns.tool("nginx-reload").timeout(Duration::from_secs(20))
}

/// The workers that are serving (not those shutting down after a reload).
fn serving(n: &Nginx) -> Vec<i32> {
    n.workers()
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| c.split(|&b| b == 0).next() == Some(b"nginx: worker process"))
                .unwrap_or(false)
        })
        .collect()
}

/// Is `pid` a running process? A zombie is not: it has exited, and here its parent (PID 1)
/// may take a while to reap it.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with(['Z', 'X'])))
        == Some(false)
}

/// Start nginx in `ns` and wait for its two workers (the pidfile is written before them).
fn start(ns: &Netns, servers: &str) -> Nginx {
    let n = Nginx::start(Some(ns), servers);
    assert!(
        wait_until(Duration::from_secs(5), || serving(&n).len() == 2),
        "nginx did not start its workers"
    );
    n
}

/// A config that nginx refuses: an unknown directive inside a server block.
const BROKEN: &str = "server { listen 198.51.100.4:80; bogus_directive on; }\n";

#[test]
fn reload_replaces_the_workers_and_keeps_the_master() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let master = n.master_pid().expect("master");
    let old = serving(&n);
    assert_eq!(old.len(), 2);
    assert_eq!(get(&ns, "/"), ("200".into(), "one".into()));

    n.write_conf(&server("two"));
    let out = reload(&ns).arg("-p").arg(n.pidfile()).arg("-v").ok();
    let new = serving(&n);
    assert_eq!(new.len(), 2, "{out}");
    assert!(
        new.iter().all(|p| !old.contains(p)),
        "old {old:?} new {new:?}\n{out}"
    );
    assert_eq!(n.master_pid(), Some(master), "the master stays");
    // -v: one line naming the master, the old and the new workers.
    let line = out.stdout.trim();
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(line.contains(&master.to_string()), "{out}");
    for p in old.iter().chain(&new) {
        assert!(line.contains(&p.to_string()), "{p} missing\n{out}");
    }
    assert!(out.stderr.is_empty(), "{out}");
    assert_eq!(get(&ns, "/"), ("200".into(), "two".into()));
    // The old workers were idle: they leave.
    assert!(wait_until(Duration::from_secs(5), || old
        .iter()
        .all(|&p| !alive(p))));
}

#[test]
fn quiet_on_success_and_test_passes_a_good_config() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let old = serving(&n);
    n.write_conf(&server("two"));
    let out = reload(&ns).arg("-t").arg("-p").arg(n.pidfile()).ok();
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out}");
    assert!(serving(&n).iter().all(|p| !old.contains(p)));
    assert_eq!(get(&ns, "/").1, "two");
    // An explicit -c and --nginx are used as given.
    let old = serving(&n);
    let out = reload(&ns)
        .args(["-t", "--nginx", "/usr/sbin/nginx", "-c"])
        .arg(n.conf())
        .arg("-p")
        .arg(n.pidfile())
        .ok();
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
}

#[test]
fn test_refuses_a_broken_config_and_nginx_keeps_serving() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let old = serving(&n);
    n.write_conf(BROKEN);
    // No -c: nginx-reload finds the master's own -c in its title (the default
    // /etc/nginx/nginx.conf would pass).
    let out = reload(&ns).arg("-t").arg("-p").arg(n.pidfile()).expect(1);
    assert!(out.stderr.contains("[emerg]"), "{out}");
    assert!(out.stderr.contains("bogus_directive"), "{out}");
    assert!(out.stderr.contains("nothing signalled"), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(serving(&n), old);
    assert_eq!(get(&ns, "/"), ("200".into(), "one".into()));
    // Nothing reached the master: its error log has no complaint about the directive.
    let log = std::fs::read_to_string(n.dir.path().join("error.log")).unwrap_or_default();
    assert!(!log.contains("bogus_directive"), "{log}");
    // -q silences warnings, not errors: scripts log what went wrong.
    let out = reload(&ns)
        .args(["-t", "-q", "-p"])
        .arg(n.pidfile())
        .expect(1);
    assert!(out.stderr.contains("[emerg]"), "{out}");
}

#[test]
fn test_from_another_network_namespace_says_so() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let old = serving(&n);
    // nginx -t binds 198.51.100.4:80, which exists only in nginx's namespace.
    let elsewhere = Netns::new("other");
    let out = elsewhere
        .tool("nginx-reload")
        .arg("-t")
        .arg("-p")
        .arg(n.pidfile())
        .expect(1);
    assert!(out.stderr.contains("bind()"), "{out}");
    assert!(out.stderr.contains("another network namespace"), "{out}");
    assert_eq!(serving(&n), old);
}

#[test]
fn without_test_a_refused_config_fails_the_wait_quickly() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let master = n.master_pid().expect("master");
    let old = serving(&n);
    n.write_conf(BROKEN);
    let out = reload(&ns)
        .args(["--wait", "5", "-p"])
        .arg(n.pidfile())
        .expect(1);
    assert!(
        out.stderr.contains("refused the new configuration"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("[emerg] unknown directive \"bogus_directive\""),
        "{out}"
    );
    // nginx's [emerg] line ends the wait: no need to sit out the 5 s (loose bound).
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
    assert_eq!(serving(&n), old);
    assert_eq!(n.master_pid(), Some(master));
    assert_eq!(get(&ns, "/"), ("200".into(), "one".into()));
}

#[test]
fn a_master_that_does_not_reload_fails_at_the_deadline() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let master = n.master_pid().expect("master");
    let old = serving(&n);
    // A stopped master cannot act on SIGHUP: no new workers and no [emerg] line.
    let pid = nix::unistd::Pid::from_raw(master);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let out = reload(&ns)
        .args(["--wait", "0.5", "-p"])
        .arg(n.pidfile())
        .run();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    let out = out.expect_code(1);
    assert!(out.stderr.contains("kept its old workers"), "{out}");
    assert!(out.elapsed >= Duration::from_millis(500), "{out}");
    // Continued, the master handles the pending SIGHUP after all.
    assert!(wait_until(Duration::from_secs(5), || {
        let now = serving(&n);
        now.len() == 2 && now.iter().all(|p| !old.contains(p))
    }));
}

#[test]
fn wait_zero_sends_without_confirming() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let old = serving(&n);
    let out = reload(&ns)
        .args(["--wait", "0", "-v", "-p"])
        .arg(n.pidfile())
        .ok();
    assert!(out.stdout.contains("not confirmed"), "{out}");
    assert!(wait_until(Duration::from_secs(5), || {
        let now = serving(&n);
        now.len() == 2 && now.iter().all(|p| !old.contains(p))
    }));
}

#[test]
fn reopen_makes_nginx_write_to_a_new_log_after_a_rename() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    // Workers run as nobody and reopen the log themselves: they must reach the directory.
    std::fs::set_permissions(n.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let old = serving(&n);
    let log = n.dir.path().join("access.log");
    let rotated = n.dir.path().join("access.log.1");
    assert_eq!(get(&ns, "/before").0, "200");
    std::fs::rename(&log, &rotated).expect("rename access.log");
    let out = reload(&ns)
        .args(["-s", "reopen", "-v", "-p"])
        .arg(n.pidfile())
        .ok();
    assert!(out.stdout.contains("reopened"), "{out}");
    assert_eq!(serving(&n), old, "reopen keeps the workers");
    assert_eq!(get(&ns, "/after-reopen").0, "200");
    assert!(
        wait_until(Duration::from_secs(2), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("GET /after-reopen"))
        }),
        "the new access.log lacks the request"
    );
    let rotated = std::fs::read_to_string(&rotated).expect("access.log.1");
    assert!(rotated.contains("GET /before") && !rotated.contains("/after-reopen"));
}

#[test]
fn reopen_fails_when_the_workers_cannot_open_their_logs() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    // The prefix stays 0700: the master (root) reopens, the workers (nobody) cannot.
    std::fs::set_permissions(n.dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::rename(
        n.dir.path().join("access.log"),
        n.dir.path().join("access.log.1"),
    )
    .expect("rename");
    let out = reload(&ns)
        .args(["-s", "reopen", "-p"])
        .arg(n.pidfile())
        .expect(1);
    assert!(out.stderr.contains("could not reopen its logs"), "{out}");
    assert!(out.stderr.contains("Permission denied"), "{out}");
}

#[test]
fn quit_and_stop_confirm_that_the_master_exited() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    for word in ["quit", "stop"] {
        let n = start(&ns, &server("one"));
        let master = n.master_pid().expect("master");
        let out = reload(&ns)
            .args(["-s", word, "-v", "-p"])
            .arg(n.pidfile())
            .ok();
        assert!(out.stdout.contains("exited"), "{out}");
        assert!(!alive(master), "{word}: master {master} still there\n{out}");
    }
}

/// Run nginx-reload on a pidfile holding `content`; it must refuse (exit 1, "nothing
/// signalled"), and the nginx must keep its master and workers.
fn refused(ns: &Netns, n: &Nginx, dir: &Path, content: &str, why: &str) -> Output {
    let pidfile = dir.join("bad.pid");
    let _ = std::fs::remove_file(&pidfile);
    std::fs::write(&pidfile, content).expect("write pidfile");
    let master = n.master_pid();
    let workers = serving(n);
    let out = reload(ns).arg("-v").arg("-p").arg(&pidfile).run();
    let shown = format!("pidfile {content:?}\n{out}");
    assert_eq!(out.code, Some(1), "{shown}");
    assert!(out.stderr.contains("nothing signalled"), "{shown}");
    assert!(out.stderr.contains(why), "expected {why:?}: {shown}");
    assert!(out.stdout.is_empty(), "{shown}");
    assert_eq!(out.stderr.lines().count(), 1, "{shown}");
    assert_eq!(n.master_pid(), master, "{shown}");
    assert_eq!(serving(n), workers, "{shown}");
    out
}

#[test]
fn bad_pidfiles_are_refused_and_nothing_is_signalled() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let master = n.master_pid().expect("master");
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").expect("pid_max");
    let pid_max = pid_max.trim();
    let two_lines = format!("{master}\n{master}\n");
    let with_space = format!("{master} \n");
    for (content, why) in [
        ("1\n", "init is never signalled"),
        ("1", "init is never signalled"),
        ("0\n", "own process group"),
        ("-1\n", "every process"),
        ("abc\n", "\"abc\", not a decimal process id"),
        ("", "is empty"),
        ("\n", "is empty"),
        ("99999999999999999999999\n", "beyond pid_max"),
        (pid_max, "beyond pid_max"),
        (&two_lines, "more than one line"),
        (&with_space, "not a decimal process id"),
    ] {
        refused(&ns, &n, dir.path(), content, why);
    }
    let huge = "7".repeat(100_000);
    refused(&ns, &n, dir.path(), &huge, "longer than 64 bytes");
    // A worker's PID: a real nginx process, but not the one to signal.
    let worker = serving(&n)[0];
    refused(
        &ns,
        &n,
        dir.path(),
        &format!("{worker}\n"),
        "is an nginx worker, not the master",
    );
}

#[test]
fn a_symlink_to_another_nginx_pidfile_is_refused() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let other = start(&ns, "server { listen 198.51.100.4:8080; return 204; }\n");
    let other_workers = serving(&other);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("nginx.pid");
    std::os::unix::fs::symlink(other.pidfile(), &link).expect("symlink");
    let out = reload(&ns).arg("-p").arg(&link).expect(1);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    assert!(out.stderr.contains("nothing signalled"), "{out}");
    assert_eq!(serving(&other), other_workers);
}

#[test]
fn a_running_process_that_is_not_nginx_survives() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let mut sleep = Cmd::new("sleep").arg("60").spawn();
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("nginx.pid");
    std::fs::write(&pidfile, format!("{}\n", sleep.pid())).expect("write");
    for signal in ["reload", "reopen", "quit", "stop"] {
        let out = reload(&ns)
            .args(["-s", signal, "-p"])
            .arg(&pidfile)
            .expect(1);
        assert!(out.stderr.contains("not an nginx master process"), "{out}");
        assert!(out.stderr.contains("nothing signalled"), "{out}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(sleep.running(), "sleep was signalled");
    // Once it is gone, its PID is stale.
    let pid = sleep.pid();
    drop(sleep);
    let out = reload(&ns).arg("-p").arg(&pidfile).expect(1);
    assert!(out.stderr.contains(&format!("pid {pid}")), "{out}");
    assert!(out.stderr.contains("no such process"), "{out}");
}

/// nginx-reload inside `ns` as `nobody` with CAP_KILL only (it cannot read /proc/PID/exe of
/// a root process then).
fn reload_with_cap_kill_only(ns: &Netns) -> Cmd {
    ns.cmd("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["--inh-caps=-all,+kill", "--ambient-caps=+kill"])
        .arg(bin("nginx-reload"))
        .timeout(Duration::from_secs(20))
}

/// A pidfile that `nobody` can read, holding `pid`.
fn readable_pidfile(dir: &Path, pid: u32) -> std::path::PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pidfile = dir.join("nginx.pid");
    std::fs::write(&pidfile, format!("{pid}\n")).expect("write");
    std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    pidfile
}

#[test]
fn a_process_titled_as_a_master_is_refused_unless_it_runs_nginx() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let mut fake = ns
        .cmd("bash")
        .args([
            "-c",
            "exec -a 'nginx: master process /usr/sbin/nginx' sleep 30",
        ])
        .spawn();
    let pid = fake.pid();
    let titled = wait_until(Duration::from_secs(5), || {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.starts_with(b"nginx: master process /usr/sbin/nginx\0"))
    });
    assert!(titled, "the fake master did not start");
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = readable_pidfile(dir.path(), pid);
    for args in [
        &["-s", "reload"][..],
        &["-s", "reopen"],
        &["-s", "quit"],
        &["-s", "stop"],
        &["-t"],
        &["--wait", "0"],
        &["--nginx", "/usr/sbin/nginx"],
    ] {
        let out = reload(&ns).args(args).arg("-p").arg(&pidfile).expect(1);
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(
            out.stderr.starts_with(&format!(
                "nginx-reload: pid {pid} from {} is titled \"nginx: master process /usr/sbin/nginx\" \
                 but runs /",
                pidfile.display()
            )),
            "{out}"
        );
        assert!(out.stderr.contains("/sleep, not nginx"), "{out}");
        assert!(out.stderr.ends_with("nothing signalled\n"), "{out}");
    }
    // Without CAP_SYS_PTRACE /proc/PID/exe is out of sight: the kernel's command name is
    // checked instead, which `exec -a` does not change.
    let out = reload_with_cap_kill_only(&ns)
        .arg("-p")
        .arg(&pidfile)
        .expect(1);
    assert!(
        out.stderr
            .contains("but runs a program named \"sleep\", not nginx"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(fake.running(), "the fake master was signalled");
    assert!(alive(pid as i32));
}

#[test]
fn an_nginx_binary_replaced_on_disk_is_still_nginx() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    let nginx = nginx_copy(bin_dir.path(), "nginx");
    let n = Nginx::start_program(Some(&ns), &server("one"), &nginx);
    assert!(
        wait_until(Duration::from_secs(5), || serving(&n).len() == 2),
        "nginx did not start its workers"
    );
    let master = n.master_pid().expect("master");
    // A package upgrade unlinks the old binary: /proc/PID/exe reads "PATH (deleted)".
    std::fs::remove_file(&nginx).expect("rm");
    let exe = std::fs::read_link(format!("/proc/{master}/exe")).expect("exe");
    assert!(exe.to_string_lossy().ends_with(" (deleted)"), "{exe:?}");
    let old = serving(&n);
    let out = reload(&ns).args(["-v", "-p"]).arg(n.pidfile()).ok();
    assert!(out.stdout.contains("reloaded"), "{out}");
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
    // -t runs the binary the master runs, deleted or not.
    n.write_conf(&server("two"));
    reload(&ns).args(["-t", "-p"]).arg(n.pidfile()).ok();
    assert_eq!(get(&ns, "/"), ("200".into(), "two".into()));
}

#[test]
fn nginx_under_another_name_needs_nginx_bin() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let web = nginx_copy(bin_dir.path(), "web-server");
    let n = Nginx::start_program(Some(&ns), &server("one"), &web);
    assert!(
        wait_until(Duration::from_secs(5), || serving(&n).len() == 2),
        "nginx did not start its workers"
    );
    let master = n.master_pid().expect("master");
    let old = serving(&n);
    let out = reload(&ns).arg("-p").arg(n.pidfile()).expect(1);
    assert!(
        out.stderr.contains(&format!(
            "pid {master} from {} is titled",
            n.pidfile().display()
        )),
        "{out}"
    );
    assert!(
        out.stderr.contains(&format!(
            "but runs {}, not nginx (give --nginx BIN",
            web.display()
        )),
        "{out}"
    );
    assert_eq!(serving(&n), old, "signalled anyway");
    // Named with --nginx (no -t needed), it is nginx.
    let out = reload(&ns)
        .args(["-v", "--nginx"])
        .arg(&web)
        .arg("-p")
        .arg(n.pidfile())
        .ok();
    assert!(out.stdout.contains("reloaded"), "{out}");
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
    // With CAP_KILL only, by its command name.
    let pidfile = readable_pidfile(n.dir.path(), master as u32);
    let out = reload_with_cap_kill_only(&ns)
        .arg("-p")
        .arg(&pidfile)
        .expect(1);
    assert!(
        out.stderr
            .contains("but runs a program named \"web-server\", not nginx"),
        "{out}"
    );
    let old = serving(&n);
    let out = reload_with_cap_kill_only(&ns)
        .args(["-v", "--nginx"])
        .arg(&web)
        .arg("-p")
        .arg(&pidfile)
        .ok();
    assert!(out.stdout.contains("reloaded"), "{out}");
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
}

#[test]
fn a_missing_pidfile_is_exit_1() {
    if !crate::util::need_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nginx.pid");
    let out = Cmd::tool("nginx-reload").arg("-p").arg(&missing).expect(1);
    assert!(out.stderr.contains(&missing.display().to_string()), "{out}");
    assert!(out.stderr.contains("no such file"), "{out}");
}

/// `sh -c SCRIPT nginx-reload ARGS...` in a private mount namespace where /run (and
/// /usr/local) are empty tmpfs: the default pidfile search sees none of the machine's files.
fn in_private_run(script: &str, args: &[&str]) -> Cmd {
    let mut setup = String::from("mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /usr/local");
    if !Path::new("/var/run").is_symlink() {
        setup.push_str(" && mount -t tmpfs tmpfs /var/run");
    }
    Cmd::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!("{setup} && {script}"))
        .arg(bin("nginx-reload"))
        .args(args)
}

#[test]
fn without_p_the_default_pidfiles_are_searched() {
    if !crate::util::need_root() {
        return;
    }
    let out = in_private_run("exec \"$0\" \"$@\"", &[]).expect(1);
    for p in [
        "/run/nginx.pid",
        "/var/run/nginx.pid",
        "/usr/local/nginx/logs/nginx.pid",
        "/usr/local/webserver/nginx/nginx.pid",
    ] {
        assert!(out.stderr.contains(p), "{p} not listed\n{out}");
    }
    // With nginx's pidfile at /usr/local/nginx/logs/nginx.pid, that one is used.
    let ns = single();
    let n = start(&ns, &server("one"));
    let old = serving(&n);
    let master = n.master_pid().expect("master");
    let out = in_private_run(
        &format!(
            "mkdir -p /usr/local/nginx/logs && echo {master} > /usr/local/nginx/logs/nginx.pid \
             && exec \"$0\" \"$@\""
        ),
        &["-v"],
    )
    .ok();
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
}

#[test]
fn without_cap_kill_it_is_exit_3() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let workers = serving(&n);
    // A pidfile nobody can read, in a directory nobody can enter.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pidfile = dir.path().join("nginx.pid");
    std::fs::write(&pidfile, format!("{}\n", n.master_pid().expect("master"))).expect("write");
    std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = Cmd::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(bin("nginx-reload"))
        .arg("-p")
        .arg(&pidfile)
        .expect(3);
    assert!(
        out.stderr
            .contains("operation not permitted (needs CAP_KILL)"),
        "{out}"
    );
    assert_eq!(serving(&n), workers);
}

#[test]
fn cap_kill_alone_is_enough_to_reload_and_reopen() {
    if !crate::util::need_root() {
        return;
    }
    let ns = single();
    let n = start(&ns, &server("one"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pidfile = dir.path().join("nginx.pid");
    std::fs::write(&pidfile, format!("{}\n", n.master_pid().expect("master"))).expect("write");
    std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // Not root, only CAP_KILL: the workers are seen through /proc/PID/stat, which anyone reads.
    let as_nobody = |args: &[&str]| {
        Cmd::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["--inh-caps=-all,+kill", "--ambient-caps=+kill"])
            .arg(bin("nginx-reload"))
            .args(args)
            .arg("-p")
            .arg(&pidfile)
    };
    let old = serving(&n);
    let out = as_nobody(&["-v"]).ok();
    assert!(out.stdout.contains("reloaded"), "{out}");
    assert!(serving(&n).iter().all(|p| !old.contains(p)), "{out}");
    // nginx's open files are out of sight without CAP_SYS_PTRACE: a reopen is sent, with a
    // warning that it is not confirmed; -q drops the warning.
    let out = as_nobody(&["-s", "reopen"]).ok();
    assert!(
        out.stderr.contains("warning: cannot read the open files"),
        "{out}"
    );
    assert!(out.stderr.contains("CAP_SYS_PTRACE"), "{out}");
    let out = as_nobody(&["-s", "reopen", "-q"]).ok();
    assert!(out.stderr.is_empty(), "{out}");
}

#[test]
fn usage_errors_are_exit_2() {
    for args in [
        &["-s", "hup"][..],
        &["--wait", "-1"],
        &["--wait", "soon"],
        &["-c", "/etc/nginx/nginx.conf"],
        &["--bogus"],
        &["extra"],
    ] {
        let out = Cmd::tool("nginx-reload").args(args).expect(2);
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(out.stderr.starts_with("nginx-reload: "), "{out}");
    }
    let help = Cmd::tool("nginx-reload").arg("--help").ok();
    assert!(help.stdout.contains("Exit status:"), "{help}");
}
