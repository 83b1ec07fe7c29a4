//! vip-watch's runtime (`vip-watch -c FILE`, the supervisor's senses) end to end, in the
//! DESIGN.md test network: round lines follow the health URLs, kernel changes are reported
//! between rounds, other hosts' claims and probes are seen passively, `announce` moves the
//! gateway's neighbour entry, `probe` answers free or taken, nothing is left behind where init
//! does not reap, nothing is sent in steady state, and a loop that stalls is ended. The watcher is driven as the shell will drive it:
//! commands on its stdin, its stdout read line by line (each line timestamped on arrival).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::Capture;
use crate::netns::{GW, LB1, LB2, Netns, Topo, VIP1, VIP2};
use crate::nginx::Nginx;
use crate::util::{Cmd, bin, child_of, need_root, others_in_pid_ns, wait_until};

/// A configuration for lb1's watcher: `extra` lines, then for the keys they leave out VIP1 as
/// its own VIP, VIP2 as the peer's, both URLs on port 80 (a key given twice is refused).
fn conf(extra: &[&str]) -> String {
    let mut lines = vec![
        "IFACE=eth0".to_string(),
        format!("GATEWAY={GW}"),
        "STATE_FILE=/run/vipkit-watch-test.state".to_string(),
    ];
    for l in extra {
        lines.push(l.to_string());
    }
    let has = |k: &str| extra.iter().any(|l| l.starts_with(&format!("{k}=")));
    for (key, value) in [
        ("OWN_VIPS", format!("{VIP1}/24")),
        ("PEER_VIPS", format!("{VIP2}/24")),
        ("SELF_URL", format!("http://{LB1}/")),
        ("PEER_URL", format!("http://{LB2}/")),
    ] {
        if !has(key) {
            lines.push(format!("{key}={value}"));
        }
    }
    lines.join("\n") + "\n"
}

/// The value of field `key` in a protocol line (the fields before `detail`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let head = line.split(" detail=\"").next()?;
    head.split(' ')
        .skip(1)
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The kind of a protocol line (its first word).
fn kind(line: &str) -> &str {
    line.split(' ').next().unwrap_or("")
}

/// The `detail="..."` text of a line.
fn detail(line: &str) -> Option<&str> {
    line.split_once(" detail=\"")?.1.strip_suffix('"')
}

/// A running watcher: commands go to its stdin, its lines are collected as they come.
struct Watch {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    /// While set, the reader thread stops reading (the watcher's writes then block).
    paused: Arc<AtomicBool>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Watch {
    /// Write `text` as the configuration and start the watcher in `ns`; wait for `hello`.
    fn start(ns: &Netns, text: &str) -> Watch {
        Watch::start_program(ns, text, &bin("vip-watch"))
    }

    /// [`Watch::start`] with another build of vip-watch.
    fn start_program(ns: &Netns, text: &str, program: &std::path::Path) -> Watch {
        Watch::start_with(text, |path| {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name])
                .arg(program)
                .arg("-c")
                .arg(path);
            c
        })
    }

    /// Start `command(config path)` as the watcher, with its stdout read by a thread.
    fn start_with(text: &str, command: impl FnOnce(&std::path::Path) -> Command) -> Watch {
        let (mut w, stdout) = Watch::spawn(text, command);
        let lines = w.lines.clone();
        let paused = w.paused.clone();
        w.readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                while paused.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let line = line.trim_end_matches('\n').to_string();
                lines.lock().expect("lines").push((Instant::now(), line));
            }
        }));
        w.wait_for(0, Duration::from_secs(5), |l| kind(l) == "hello");
        w
    }

    /// Start the watcher; its stdout is the caller's to read (or to close).
    fn spawn(
        text: &str,
        command: impl FnOnce(&std::path::Path) -> Command,
    ) -> (Watch, ChildStdout) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("watch.conf");
        std::fs::write(&path, text).expect("write configuration");
        let mut child = command(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start vip-watch");
        let stdout = child.stdout.take().expect("stdout");
        let mut err_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = stderr.clone();
        let readers = vec![std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err_pipe.read_to_string(&mut s);
            err.lock().expect("stderr").push_str(&s);
        })];
        let w = Watch {
            stdin: child.stdin.take(),
            child: Some(child),
            lines: Arc::new(Mutex::new(Vec::new())),
            paused: Arc::new(AtomicBool::new(false)),
            stderr,
            readers,
            _dir: dir,
        };
        (w, stdout)
    }

    /// The PID of the process started (the watcher itself under `ip netns exec`).
    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Send one command line.
    fn send(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{cmd}").expect("write a command");
        stdin.flush().expect("flush a command");
    }

    /// Every line so far, with its arrival time.
    fn lines(&self) -> Vec<(Instant, String)> {
        self.lines.lock().expect("lines").clone()
    }

    fn len(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    /// Everything the watcher wrote, for failure messages.
    fn transcript(&self) -> String {
        let lines = self.lines();
        let t0 = lines.first().map(|(t, _)| *t);
        let mut s = String::new();
        for (t, l) in &lines {
            let at = t0.map_or(0.0, |t0| t.duration_since(t0).as_secs_f64());
            s.push_str(&format!("{at:8.3} {l}\n"));
        }
        s.push_str("--- stderr\n");
        s.push_str(&self.stderr.lock().expect("stderr"));
        s
    }

    /// The first line at index `from` or later that `pred` accepts, waiting up to `timeout`.
    fn try_wait_for(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(usize, Instant, String)> {
        let mut found = None;
        wait_until(timeout, || {
            let lines = self.lines.lock().expect("lines");
            found = lines
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, (_, l))| pred(l))
                .map(|(i, (t, l))| (i, *t, l.clone()));
            found.is_some()
        });
        found
    }

    /// [`Watch::try_wait_for`], failing the test with the transcript when nothing comes.
    fn wait_for(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> (usize, Instant, String) {
        self.try_wait_for(from, timeout, pred)
            .unwrap_or_else(|| panic!("no such line within {timeout:?}\n{}", self.transcript()))
    }

    /// Close stdin (or leave it, `close` false) and wait up to `timeout` for the exit code.
    fn finish(&mut self, close: bool, timeout: Duration) -> Option<i32> {
        if close {
            self.stdin = None;
        }
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return status.code();
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => return None,
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

/// The number of threads of process `pid`.
fn threads(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// utime + stime of `pid`, in clock ticks (/proc/PID/stat fields 14 and 15).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split(' ').collect();
    // After the comm: field 3 is f[0], so utime (14) is f[11] and stime (15) f[12].
    f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
}

/// The epoch time now, on tcpdump's clock.
fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// The 42-byte Ethernet frame "who-has TARGET tell SENDER" from `mac`, broadcast (RFC 826).
fn who_has(mac: &str, target: &str, sender: &str) -> Vec<u8> {
    let mac: Vec<u8> = mac
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("MAC"))
        .collect();
    let ip = |s: &str| s.parse::<std::net::Ipv4Addr>().expect("IPv4").octets();
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip(sender));
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&ip(target));
    f
}

/// A server on `addr:port` in `ns` that accepts connections and never answers.
struct Hang {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hang {
    fn start(ns: &Netns, addr: &str, port: u16) -> Hang {
        let stop = Arc::new(AtomicBool::new(false));
        let (st, name, addr) = (stop.clone(), ns.name.clone(), addr.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            crate::netns::enter(&name);
            let l = TcpListener::bind((addr.as_str(), port)).expect("bind the hanging server");
            l.set_nonblocking(true).expect("nonblocking");
            let _ = ready_tx.send(());
            let mut held = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("hanging server ready");
        Hang {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Hang {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// nginx answering 200 on `ip`:80 in `ns`.
fn web(ns: &Netns, ip: &str) -> Nginx {
    Nginx::start(Some(ns), &Nginx::ok_server(&format!("{ip}:80")))
}

fn is_round(l: &str) -> bool {
    kind(l) == "round"
}

// ---------------------------------------------------------------------------------------------
// Rounds.

/// Each round checks SELF_URL and PEER_URL at once, within TIMEOUT: a peer whose nginx dies is
/// `peer=fail` from the next round on, one that comes back `peer=ok`; the reason is in a
/// `check` line written only when it changes. A peer that accepts and never answers costs
/// each round TIMEOUT, not more, and no thread is started for any round.
#[test]
fn round_lines_follow_the_health_urls_within_timeout() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web(&t.lb1, LB1);
    let web2 = web(&t.lb2, LB2);
    let interval = 0.1;
    let timeout = 0.2;
    let w = Watch::start(
        &t.lb1,
        &conf(&[
            &format!("INTERVAL={interval}"),
            &format!("TIMEOUT={timeout}"),
        ]),
    );
    let (i, _, first) = w.wait_for(0, Duration::from_secs(5), |l| {
        is_round(l) && field(l, "peer") == Some("ok")
    });
    assert_eq!(field(&first, "self"), Some("ok"), "{}", w.transcript());
    assert_eq!(field(&first, "self_code"), Some("200"));
    assert_eq!(field(&first, "peer_code"), Some("200"));
    assert_eq!(field(&first, "link"), Some("up"));
    assert_eq!(field(&first, "held"), Some("-"));
    let pid = w.pid();
    let threads_before = threads(pid);

    let killed = Instant::now();
    drop(web2);
    let (j, at, _) = w.wait_for(i, Duration::from_secs(5), |l| {
        is_round(l) && field(l, "peer") == Some("fail")
    });
    let seen = at.duration_since(killed).as_secs_f64();
    assert!(
        seen <= interval + timeout + 0.5,
        "nginx killed, peer=fail only after {seen:.3}s\n{}",
        w.transcript()
    );
    let lines = w.lines();
    let (_, check) = lines[i..j]
        .iter()
        .rev()
        .find(|(_, l)| kind(l) == "check" && field(l, "target") == Some("peer"))
        .unwrap_or_else(|| panic!("no check line before the failed round\n{}", w.transcript()));
    assert_eq!(field(check, "result"), Some("fail"), "{check}");
    assert_eq!(field(check, "code"), Some("000"), "{check}");
    assert_eq!(detail(check), Some("connection refused"), "{check}");

    // Five more failed rounds: one check line for the peer, not one per round.
    let (k, _, _) = w.wait_for(j + 1, Duration::from_secs(5), |l| {
        is_round(l)
            && field(l, "n")
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
                >= 5
    });
    let (m, _, _) = w.wait_for(k, Duration::from_secs(5), |_| true);
    let later = w.lines();
    let later = &later[j + 1..m];
    assert!(
        later.iter().all(|(_, l)| kind(l) != "check"),
        "a check line for an unchanged result\n{}",
        w.transcript()
    );

    let _web2 = web(&t.lb2, LB2);
    let back = w.len();
    let (_, _, ok) = w.wait_for(back, Duration::from_secs(5), |l| {
        is_round(l) && field(l, "peer") == Some("ok")
    });
    assert_eq!(field(&ok, "self"), Some("ok"), "{}", w.transcript());
    for (_, l) in w.lines().iter().filter(|(_, l)| is_round(l)) {
        assert_eq!(field(l, "self"), Some("ok"), "{l}\n{}", w.transcript());
    }
    assert_eq!(
        threads(pid),
        threads_before,
        "threads changed over the rounds\n{}",
        w.transcript()
    );
    assert_eq!(
        threads_before, 4,
        "the main thread, the watchdog and one per URL"
    );
}

/// Rounds start every INTERVAL on their schedule: over 2 s at INTERVAL=0.01, with checks
/// that fail at once, about 200 rounds, not the ~6 % fewer that waking a little late each
/// round (poll counts in milliseconds) would cost if each round were timed from its start.
#[test]
fn rounds_keep_their_schedule() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    let w = Watch::start(
        &ns,
        &conf(&[
            "INTERVAL=0.01",
            "TIMEOUT=0.01",
            &format!("SELF_URL=http://{LB1}:81/"),
            &format!("PEER_URL=http://{GW}:81/"),
        ]),
    );
    let (first, t1, _) = w.wait_for(0, Duration::from_secs(5), is_round);
    std::thread::sleep(Duration::from_millis(2100));
    let rounds = w.lines()[first..]
        .iter()
        .filter(|(t, l)| is_round(l) && t.duration_since(t1) < Duration::from_secs(2))
        .count();
    assert!(
        (195..=201).contains(&rounds),
        "{rounds} rounds in 2 s at INTERVAL=0.01\n{}",
        w.transcript()
    );
}

/// A peer that accepts connections and never answers: every round is written TIMEOUT after it
/// started (not later: the watcher stops waiting), with `peer=fail peer_code=000`, and its
/// check line says it timed out.
#[test]
fn a_hung_peer_costs_each_round_timeout_and_no_more() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web(&t.lb1, LB1);
    let _hang = Hang::start(&t.lb2, LB2, 8081);
    let timeout = 0.2;
    let w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=0.1",
            &format!("TIMEOUT={timeout}"),
            &format!("PEER_URL=http://{LB2}:8081/"),
        ]),
    );
    let pid = w.pid();
    let (first, _, _) = w.wait_for(0, Duration::from_secs(5), is_round);
    std::thread::sleep(Duration::from_secs(2));
    let lines = w.lines();
    let rounds: Vec<&(Instant, String)> =
        lines[first..].iter().filter(|(_, l)| is_round(l)).collect();
    assert!(rounds.len() >= 8, "{}", w.transcript());
    for (_, l) in &rounds {
        assert_eq!(field(l, "peer"), Some("fail"), "{l}");
        assert_eq!(field(l, "peer_code"), Some("000"), "{l}");
        assert_eq!(field(l, "self"), Some("ok"), "{l}");
    }
    let worst = rounds
        .windows(2)
        .map(|p| p[1].0.duration_since(p[0].0).as_secs_f64())
        .fold(0.0, f64::max);
    assert!(
        worst <= timeout + 0.3,
        "{worst:.3}s between two rounds with TIMEOUT={timeout}\n{}",
        w.transcript()
    );
    let checks: Vec<&String> = lines
        .iter()
        .map(|(_, l)| l)
        .filter(|l| kind(l) == "check" && field(l, "target") == Some("peer"))
        .collect();
    assert_eq!(checks.len(), 1, "one reason, one line\n{}", w.transcript());
    assert!(
        detail(checks[0]).is_some_and(|d| d.ends_with(&format!("timed out after {timeout}s"))),
        "{}",
        checks[0]
    );
    assert_eq!(threads(pid), 4, "no thread per round while checks time out");
}

// ---------------------------------------------------------------------------------------------
// The kernel.

/// Address and link changes are written when the kernel makes them, between rounds (rounds
/// here are 2 s apart): a VIP removed by hand, one bound with another label or prefix (not held
/// as configured), bound as configured again; the link going down and up.
#[test]
fn kernel_changes_are_reported_between_rounds() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    ns.ip(&[
        "addr",
        "add",
        &format!("{VIP1}/24"),
        "dev",
        "eth0",
        "label",
        "eth0:ha1",
    ]);
    let mut w = Watch::start(
        &ns,
        &conf(&[
            "INTERVAL=2",
            "TIMEOUT=0.2",
            &format!("OWN_VIPS={VIP1}/24@ha1"),
            &format!("SELF_URL=http://{LB1}:81/"),
        ]),
    );
    let (r1, _, round1) = w.wait_for(0, Duration::from_secs(5), is_round);
    assert_eq!(field(&round1, "held"), Some(VIP1), "{}", w.transcript());
    assert_eq!(field(&round1, "self"), Some("fail"));

    // Each change, then the line it must produce before the next round.
    let vip_line = |vip: &str, held: &str| format!("vip vip={vip} held={held}");
    let steps: Vec<(Vec<&str>, Option<String>)> = vec![
        (
            vec!["addr", "del", "198.51.100.2/24", "dev", "eth0"],
            Some(vip_line(VIP1, "no")),
        ),
        // Bound again, but without its label: not held as configured; nothing to say.
        (vec!["addr", "add", "198.51.100.2/24", "dev", "eth0"], None),
        // The peer's VIP with another prefix: not as configured either.
        (vec!["addr", "add", "198.51.100.3/32", "dev", "eth0"], None),
        (vec!["addr", "del", "198.51.100.2/24", "dev", "eth0"], None),
        (
            vec![
                "addr",
                "add",
                "198.51.100.2/24",
                "dev",
                "eth0",
                "label",
                "eth0:ha1",
            ],
            Some(vip_line(VIP1, "yes")),
        ),
        (vec!["addr", "del", "198.51.100.3/32", "dev", "eth0"], None),
        (
            vec!["addr", "add", "198.51.100.3/24", "dev", "eth0"],
            Some(vip_line(VIP2, "yes")),
        ),
    ];
    let mut from = r1 + 1;
    let mut pending: Vec<String> = Vec::new();
    for (args, want) in steps {
        // Start right after a round line, so that the next round is ~2 s away.
        if want.is_some() {
            let (i, _, _) = w.wait_for(from, Duration::from_secs(5), is_round);
            from = i + 1;
        }
        ns.ip(&args);
        if let Some(want) = want {
            let (i, _, _) = w.wait_for(from, Duration::from_secs(1), |l| l == want);
            let lines = w.lines();
            assert!(
                !lines[from..i].iter().any(|(_, l)| is_round(l)),
                "{want:?} came after the next round\n{}",
                w.transcript()
            );
            pending.push(want);
            from = i + 1;
        }
    }
    let vips: Vec<String> = w
        .lines()
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| kind(l) == "vip")
        .collect();
    assert_eq!(
        vips,
        pending,
        "only changes of held-as-configured\n{}",
        w.transcript()
    );
    let (i, _, held) = w.wait_for(from, Duration::from_secs(5), is_round);
    assert_eq!(
        field(&held, "held"),
        Some(format!("{VIP1},{VIP2}").as_str())
    );
    from = i + 1;

    ns.ip(&["link", "set", "eth0", "down"]);
    let (i, _, down) = w.wait_for(from, Duration::from_secs(1), |l| kind(l) == "link");
    assert_eq!(
        down,
        "link link=down operstate=down carrier=0",
        "{}",
        w.transcript()
    );
    assert!(!w.lines()[from..i].iter().any(|(_, l)| is_round(l)));
    let (j, _, round) = w.wait_for(i, Duration::from_secs(5), is_round);
    assert_eq!(field(&round, "link"), Some("down"), "{}", w.transcript());
    ns.ip(&["link", "set", "eth0", "up"]);
    let (k, _, up) = w.wait_for(j, Duration::from_secs(2), |l| kind(l) == "link");
    assert_eq!(
        up,
        "link link=up operstate=up carrier=1",
        "{}",
        w.transcript()
    );
    let (_, _, round) = w.wait_for(k, Duration::from_secs(5), is_round);
    assert_eq!(field(&round, "link"), Some("up"));
    assert!(
        w.lines().iter().all(|(_, l)| kind(l) != "error"),
        "a link going down is not an error\n{}",
        w.transcript()
    );
    w.send("quit");
    assert_eq!(
        w.finish(false, Duration::from_secs(2)),
        Some(0),
        "{}",
        w.transcript()
    );
}

// ---------------------------------------------------------------------------------------------
// The passive duplicate watch.

/// Another host announcing a VIP (ARP for IPv4, a neighbour advertisement for IPv6) is reported
/// with its MAC, whether this host holds the VIP or not, once a second at most for the same
/// claim; this host's own announcements and other hosts' ARP for other addresses are not.
#[test]
fn another_hosts_claim_of_a_vip_is_reported_as_a_duplicate() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let vip6 = "2001:db8::2";
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    t.lb1
        .ip(&["addr", "add", &format!("{vip6}/64"), "dev", "eth0", "nodad"]);
    let mut w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=0.5",
            "TIMEOUT=0.2",
            &format!("OWN_VIPS={VIP1}/24 {vip6}/64"),
        ]),
    );
    let mac2 = t.lb2.mac("eth0");
    let garp = |args: &[&str]| {
        t.lb2
            .tool("garp")
            .args(["--force", "-q", "-I", "eth0"])
            .args(args)
            .ok();
    };
    let dup = |l: &str| kind(l) == "duplicate";

    // Three gratuitous requests 0.1 s apart: one line.
    let from = w.len();
    garp(&["-U", "-c", "3", "-i", "0.1", "-s", VIP1]);
    let (i, _, line) = w.wait_for(from, Duration::from_secs(2), dup);
    assert_eq!(line, format!("duplicate vip={VIP1} mac={mac2} held=yes"));
    std::thread::sleep(Duration::from_millis(300));
    let n = w.lines()[from..].iter().filter(|(_, l)| dup(l)).count();
    assert_eq!(
        n,
        1,
        "the same claim twice within a second\n{}",
        w.transcript()
    );

    // A gateway-aimed request for VIP1 (who-has GW tell VIP1), a second later: reported again.
    std::thread::sleep(Duration::from_millis(800));
    garp(&["-s", VIP1, GW]);
    let (i, _, line) = w.wait_for(i + 1, Duration::from_secs(2), dup);
    assert_eq!(line, format!("duplicate vip={VIP1} mac={mac2} held=yes"));

    // IPv6: an unsolicited neighbour advertisement.
    garp(&["-s", vip6]);
    let (i, _, line) = w.wait_for(i + 1, Duration::from_secs(2), dup);
    assert_eq!(line, format!("duplicate vip={vip6} mac={mac2} held=yes"));

    // The peer's VIP, not held here: reported too, held=no.
    garp(&["-U", "-s", VIP2]);
    let (i, _, line) = w.wait_for(i + 1, Duration::from_secs(2), dup);
    assert_eq!(line, format!("duplicate vip={VIP2} mac={mac2} held=no"));

    // Not claims: lb2 announcing its own address, ARP traffic of the gateway, and our own
    // burst (its frames come from our MAC).
    garp(&["-U", "-s", LB2]);
    t.gw.cmd("ping")
        .args(["-c", "1", "-W", "1", VIP1])
        .timeout(Duration::from_secs(5))
        .run();
    w.send(&format!("announce {VIP1} burst"));
    w.wait_for(i + 1, Duration::from_secs(2), |l| kind(l) == "announce");
    std::thread::sleep(Duration::from_millis(800));
    let extra: Vec<String> = w.lines()[i + 1..]
        .iter()
        .map(|(_, l)| l.clone())
        .filter(|l| dup(l))
        .collect();
    assert!(extra.is_empty(), "{extra:?}\n{}", w.transcript());
}

/// Another host probing for a VIP (the releasing supervisor's `probe`, `garp -D`, the kernel's
/// DAD when the peer binds an IPv6 VIP) is a `query` line with its MAC, at once and at most
/// once a second for the same VIP and MAC; IPv6 probes arrive because the watcher joins each
/// IPv6 VIP's solicited-node group (for as long as it runs). Not queries: this watcher's own
/// probes, and a client resolving the VIP (ARP or NS from a real address).
#[test]
fn another_hosts_probe_for_a_vip_is_reported_as_a_query() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    // Its solicited-node group, ff02::1:ff03:7, is none of lb1's own addresses'.
    let vip6 = "2001:db8::3:7";
    let group = "ff02::1:ff03:7";
    let mac2 = t.lb2.mac("eth0");
    let groups = |ns: &Netns| ns.ip(&["maddr", "show", "dev", "eth0"]).stdout;
    assert!(!groups(&t.lb1).contains(group), "{}", groups(&t.lb1));
    let mut w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=0.5",
            "TIMEOUT=0.2",
            "DAD_TIMEOUT=0.2",
            &format!("PEER_VIPS={VIP2}/24 {vip6}/64"),
        ]),
    );
    assert!(
        groups(&t.lb1).contains(group),
        "the group is joined\n{}",
        groups(&t.lb1)
    );
    let query = |l: &str| kind(l) == "query";
    let dad = |args: &[&str]| {
        t.lb2
            .tool("garp")
            .args(["-q", "-D", "-I", "eth0"])
            .args(args)
            .run();
    };

    // Three probes 0.02 s apart (`garp -D -c 3`): one line, with lb2's MAC, as the same
    // probe is reported at most once in 0.1 s.
    let from = w.len();
    dad(&["-c", "3", "-i", "0.02", "-w", "0.3", VIP2]);
    let (_, _, line) = w.wait_for(from, Duration::from_secs(2), query);
    assert_eq!(line, format!("query vip={VIP2} mac={mac2}"));
    std::thread::sleep(Duration::from_millis(200));
    let n = w.lines()[from..].iter().filter(|(_, l)| query(l)).count();
    assert_eq!(n, 1, "three probes within 0.1 s\n{}", w.transcript());
    // A probe 0.2 s after: reported (a release's probe may follow the host's last one soon).
    let from = w.len();
    dad(&["-w", "0.1", VIP2]);
    let (i, _, _) = w.wait_for(from, Duration::from_secs(2), query);

    // IPv6: an NS from :: for the VIP, to its solicited-node group.
    dad(&["-w", "0.2", vip6]);
    let (i, _, line) = w.wait_for(i + 1, Duration::from_secs(2), query);
    assert_eq!(line, format!("query vip={vip6} mac={mac2}"));

    // Not queries: our own probes (free: nobody holds them), a client resolving VIP2 and vip6
    // (the gateway's "who-has VIP2 tell GW", an NS from GW6), nor probes for other addresses.
    std::thread::sleep(Duration::from_millis(1100));
    let from = i + 1;
    for vip in [VIP2, vip6] {
        let at = w.len();
        w.send(&format!("probe {vip}"));
        let (_, _, line) = w.wait_for(at, Duration::from_secs(2), |l| kind(l) == "probe");
        assert_eq!(line, format!("probe vip={vip} result=free mac=-"));
    }
    for (flag, vip) in [("-4", VIP2), ("-6", vip6)] {
        let out =
            t.gw.cmd("ping")
                .args([flag, "-c", "1", "-W", "1", vip])
                .timeout(Duration::from_secs(5))
                .run();
        assert_ne!(out.code, Some(0), "nobody holds {vip}: {out}");
    }
    dad(&["-w", "0.2", "198.51.100.9"]);
    dad(&["-w", "0.2", "2001:db8::9"]);
    std::thread::sleep(Duration::from_millis(300));
    let extra: Vec<String> = w.lines()[from..]
        .iter()
        .map(|(_, l)| l.clone())
        .filter(|l| query(l) || kind(l) == "duplicate")
        .collect();
    assert!(extra.is_empty(), "{extra:?}\n{}", w.transcript());

    // The peer binding vip6 the ordinary way: the kernel's DAD probe is a query too.
    let from = w.len();
    t.lb2
        .ip(&["addr", "add", &format!("{vip6}/64"), "dev", "eth0"]);
    let (_, _, line) = w.wait_for(from, Duration::from_secs(4), query);
    assert_eq!(line, format!("query vip={vip6} mac={mac2}"));

    w.send("quit");
    assert_eq!(w.finish(false, Duration::from_secs(3)), Some(0));
    assert!(
        !groups(&t.lb1).contains(group),
        "the group is left with the watcher\n{}",
        groups(&t.lb1)
    );
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// `announce VIP burst` sends GARP_COUNT gateway-aimed requests GARP_INTERVAL apart, the first
/// at once, from the one open socket, and the gateway's entry for the VIP moves to this host
/// (its ARP locktime, 1 s, past). A VIP that is not bound here is not announced; a VIP released
/// during its burst gets no more of it.
#[test]
fn announce_points_the_gateway_here_and_stops_with_the_vip() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let mac1 = t.lb1.mac("eth0");
    let mac2 = t.lb2.mac("eth0");
    // The gateway's entry for VIP1 points at lb2, as after a stray announcement.
    let pointed = wait_until(Duration::from_secs(6), || {
        t.lb2
            .tool("garp")
            .args(["--force", "-q", "-I", "eth0", "-s", VIP1, GW])
            .ok();
        std::thread::sleep(Duration::from_millis(100));
        if t.gw.neigh(VIP1).as_deref() == Some(mac2.as_str()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1000));
        false
    });
    assert!(pointed, "gateway entry for {VIP1}: {:?}", t.gw.neigh(VIP1));
    let pointed_at = Instant::now();
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let mut w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=0.5",
            "TIMEOUT=0.2",
            "GARP_COUNT=3",
            "GARP_INTERVAL=0.2",
        ]),
    );
    // lb1's ARP whose sender is a VIP (the kernel's own ARP has LB1 as sender).
    let cap = Capture::start(
        &t.gw,
        "p-lb1",
        &format!("arp and ether src {mac1} and (arp[14:4] = 0xc6336402 or arp[14:4] = 0xc6336403)"),
    );
    // Past the gateway's locktime since lb2's announcement.
    std::thread::sleep(Duration::from_millis(1100).saturating_sub(pointed_at.elapsed()));

    let sent = epoch();
    let from = w.len();
    w.send(&format!("announce {VIP1} burst"));
    let (i, _, line) = w.wait_for(from, Duration::from_secs(2), |l| kind(l) == "announce");
    assert_eq!(
        line,
        format!("announce vip={VIP1} mode=burst count=3 to={GW}"),
        "{}",
        w.transcript()
    );
    let moved = wait_until(Duration::from_secs(3), || {
        t.gw.neigh(VIP1).as_deref() == Some(mac1.as_str())
    });
    assert!(
        moved,
        "gateway entry for {VIP1} still {:?}\n{}",
        t.gw.neigh(VIP1),
        w.transcript()
    );
    std::thread::sleep(Duration::from_millis(600));

    // VIP2 is not bound here: refused, nothing sent.
    w.send(&format!("announce {VIP2} single"));
    let (i, _, line) = w.wait_for(i + 1, Duration::from_secs(2), |l| kind(l) == "error");
    assert_eq!(
        line,
        format!(
            "error what=announce vip={VIP2} detail=\"{VIP2} is not bound on eth0: not announced\""
        )
    );

    // Released right after its burst started: the rest of the burst is not sent.
    let second = epoch();
    w.send(&format!("announce {VIP1} burst"));
    w.wait_for(i + 1, Duration::from_secs(2), |l| kind(l) == "announce");
    t.lb1
        .ip(&["addr", "del", &format!("{VIP1}/24"), "dev", "eth0"]);
    w.wait_for(i + 1, Duration::from_secs(2), |l| {
        l == format!("vip vip={VIP1} held=no")
    });
    std::thread::sleep(Duration::from_millis(700));
    let frames = cap.frames();

    let want = who_has(&mac1, GW, VIP1);
    let first: Vec<&(f64, Vec<u8>)> = frames
        .iter()
        .filter(|(ts, _)| *ts >= sent - 0.05 && *ts < second - 0.05)
        .collect();
    assert_eq!(
        first.len(),
        3,
        "first burst: {frames:?}\n{}",
        w.transcript()
    );
    for (_, f) in &first {
        assert_eq!(
            &f[..42],
            want.as_slice(),
            "who-has {GW} tell {VIP1} from lb1"
        );
    }
    assert!(first[0].0 - sent < 0.15, "the first packet at once");
    for p in first.windows(2) {
        let gap = p[1].0 - p[0].0;
        assert!(
            (0.15..0.4).contains(&gap),
            "GARP_INTERVAL 0.2, gap {gap:.3}"
        );
    }
    let rest = frames.iter().filter(|(ts, _)| *ts >= second - 0.05).count();
    assert_eq!(
        rest, 1,
        "after the release, no more of the burst: {frames:?}"
    );
    assert!(
        frames.iter().all(|(_, f)| f[..42] == want[..]),
        "nothing for {VIP2}: {frames:?}"
    );
}

/// A VIP released while the watcher is busy (here: blocked on a shell that stopped reading)
/// gets no more of its burst when the next packet falls due: the watcher reads the kernel's
/// news before it sends, not only before it runs a command.
#[test]
fn a_vip_released_while_the_watcher_is_busy_gets_no_more_of_its_burst() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let mac1 = t.lb1.mac("eth0");
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let mut w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=1",
            "TIMEOUT=0.1",
            "GARP_COUNT=3",
            "GARP_INTERVAL=0.5",
        ]),
    );
    let cap = Capture::start(
        &t.gw,
        "p-lb1",
        &format!("arp and ether src {mac1} and arp[14:4] = 0xc6336402"),
    );
    let from = w.len();
    w.send(&format!("announce {VIP1} burst"));
    w.wait_for(from, Duration::from_secs(2), |l| kind(l) == "announce");
    // Stop reading and make the watcher write more than a pipe holds: it blocks on stdout
    // with most of the commands still to answer.
    w.paused.store(true, Ordering::Relaxed);
    for _ in 0..3000 {
        w.send("bogus");
    }
    std::thread::sleep(Duration::from_millis(200));
    t.lb1
        .ip(&["addr", "del", &format!("{VIP1}/24"), "dev", "eth0"]);
    // Past the burst's second packet (due 0.5 s after the first) and its third.
    std::thread::sleep(Duration::from_millis(1200));
    w.paused.store(false, Ordering::Relaxed);
    w.wait_for(from, Duration::from_secs(5), |l| {
        l == format!("vip vip={VIP1} held=no")
    });
    std::thread::sleep(Duration::from_millis(500));
    let frames = cap.frames();
    assert_eq!(
        frames.len(),
        1,
        "only the burst's first packet, before the release: {frames:?}"
    );
}

/// `probe VIP` sends one duplicate-address probe and answers `free` when nobody answers within
/// DAD_TIMEOUT, `taken` with the MAC of the host that does (IPv4 and IPv6). An answer to a
/// probe is the probe's result, not also a `duplicate` line.
#[test]
fn probe_answers_free_or_taken() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let vip6 = "2001:db8::3";
    let mac2 = t.lb2.mac("eth0");
    let wait = 0.2;
    let mut w = Watch::start(
        &t.lb1,
        &conf(&[
            "INTERVAL=0.5",
            "TIMEOUT=0.2",
            &format!("DAD_TIMEOUT={wait}"),
            &format!("PEER_VIPS={VIP2}/24 {vip6}/64"),
        ]),
    );
    let probe = |w: &mut Watch, vip: &str| -> (String, f64) {
        let from = w.len();
        let asked = Instant::now();
        w.send(&format!("probe {vip}"));
        let (_, at, line) = w.wait_for(from, Duration::from_secs(3), |l| kind(l) == "probe");
        assert_eq!(field(&line, "vip"), Some(vip), "{}", w.transcript());
        (line, at.duration_since(asked).as_secs_f64())
    };
    for vip in [VIP2, vip6] {
        let (line, took) = probe(&mut w, vip);
        assert_eq!(line, format!("probe vip={vip} result=free mac=-"));
        assert!(
            took >= wait - 0.01,
            "free after {took:.3}s, before DAD_TIMEOUT"
        );
    }
    t.lb2
        .ip(&["addr", "add", &format!("{VIP2}/24"), "dev", "eth0"]);
    t.lb2
        .ip(&["addr", "add", &format!("{vip6}/64"), "dev", "eth0", "nodad"]);
    let from = w.len();
    for vip in [VIP2, vip6] {
        let (line, _) = probe(&mut w, vip);
        assert_eq!(line, format!("probe vip={vip} result=taken mac={mac2}"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let dups: Vec<String> = w.lines()[from..]
        .iter()
        .map(|(_, l)| l.clone())
        .filter(|l| kind(l) == "duplicate")
        .collect();
    assert!(dups.is_empty(), "{dups:?}");

    // Only configured VIPs, and only the documented commands.
    let from = w.len();
    w.send("probe 198.51.100.9");
    w.send("announce 198.51.100.2 now");
    let (i, _, line) = w.wait_for(from, Duration::from_secs(2), |l| kind(l) == "error");
    assert_eq!(
        line,
        "error what=command vip=198.51.100.9 detail=\"198.51.100.9 is not in OWN_VIPS or PEER_VIPS\""
    );
    let (_, _, line) = w.wait_for(i + 1, Duration::from_secs(2), |l| kind(l) == "error");
    assert!(
        line.starts_with("error what=command vip=- detail=\"bad arguments"),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------------
// Quiet and safe.

/// Under a PID 1 that never reaps (a container's), 60 s of rounds (INTERVAL=0.05, both URLs
/// healthy), a GARP burst, a probe and refreshes every half second leave nothing behind: the
/// watcher starts no process, and its threads stay the main one, the watchdog and one per URL.
#[test]
fn sixty_seconds_of_rounds_and_announcements_leave_no_zombie() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web(&t.lb1, LB1);
    let _web2 = web(&t.lb2, LB2);
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    // `sleep` as PID 1 of a new PID namespace (inside lb1's network namespace) reaps nothing.
    let (unshare, init) = crate::util::non_reaping_init(&t.lb1, 120);
    let text = conf(&[
        "INTERVAL=0.05",
        "TIMEOUT=0.05",
        "GARP_COUNT=3",
        "GARP_INTERVAL=0.05",
        "GARP_REFRESH=1",
        "DAD_TIMEOUT=0.05",
    ]);
    let mut w = Watch::start_with(&text, |path| {
        let mut c = Command::new("nsenter");
        c.args(["-t", &init.to_string(), "-p", "-n", "--"])
            .arg(bin("vip-watch"))
            .arg("-c")
            .arg(path);
        c
    });
    // nsenter forks into the PID namespace: the watcher is its child.
    let watcher = child_of(w.pid()).expect("the watcher under nsenter");
    w.send(&format!("refresh {VIP1} on"));
    let threads_at_start = threads(watcher);
    assert_eq!(threads_at_start, 4, "main, the watchdog and one per URL");
    let start = Instant::now();
    let mut checks = 0;
    while start.elapsed() < Duration::from_secs(60) {
        w.send(&format!("announce {VIP1} burst"));
        w.send(&format!("probe {VIP2}"));
        std::thread::sleep(Duration::from_millis(500));
        checks += 1;
        if checks % 10 == 0 {
            let left = others_in_pid_ns(init);
            assert_eq!(
                left.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
                vec![watcher],
                "processes in the PID namespace: {left:?}"
            );
            assert!(left.iter().all(|(_, s)| s != "Z"), "a zombie: {left:?}");
            assert_eq!(
                threads(watcher),
                threads_at_start,
                "threads after {checks} turns"
            );
        }
    }
    let lines = w.lines();
    let count = |k: &str| lines.iter().filter(|(_, l)| kind(l) == k).count();
    assert!(count("round") >= 600, "{} rounds", count("round"));
    assert!(
        count("announce") >= 100,
        "{} announcements",
        count("announce")
    );
    assert!(count("probe") >= 100, "{} probes", count("probe"));
    assert!(
        lines.iter().all(|(_, l)| kind(l) != "error"),
        "{}",
        w.transcript()
    );
    w.send("quit");
    assert_eq!(
        w.finish(false, Duration::from_secs(2)),
        Some(0),
        "{}",
        w.transcript()
    );
    std::thread::sleep(Duration::from_millis(200));
    let left = others_in_pid_ns(init);
    assert!(
        left.is_empty(),
        "left behind in the PID namespace: {left:?}"
    );
    drop(unshare);
}

/// In steady state (rounds only, no commands) the watcher sends no ARP: not one frame from this
/// host claiming or probing a VIP reaches the gateway in 3 s of rounds at INTERVAL=0.05 with
/// DAD=yes and a VIP held. The capture does see a probe as soon as one is asked for.
#[test]
fn steady_state_sends_no_arp() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web(&t.lb1, LB1);
    let _web2 = web(&t.lb2, LB2);
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let mac1 = t.lb1.mac("eth0");
    // ARP requests from lb1 whose sender is a VIP or 0.0.0.0 (a probe): what the watcher
    // sends. The kernel's own ARP (for LB2, the gateway) has LB1 as sender.
    let cap = Capture::start(
        &t.gw,
        "p-lb1",
        &format!(
            "arp and ether src {mac1} and arp[6:2] = 1 and \
             (arp[14:4] = 0xc6336402 or arp[14:4] = 0xc6336403 or arp[14:4] = 0)"
        ),
    );
    let mut w = Watch::start(&t.lb1, &conf(&["INTERVAL=0.05", "TIMEOUT=0.05", "DAD=yes"]));
    let (first, _, _) = w.wait_for(0, Duration::from_secs(5), is_round);
    std::thread::sleep(Duration::from_secs(3));
    let rounds = w.lines()[first..]
        .iter()
        .filter(|(_, l)| is_round(l))
        .count();
    assert!(rounds >= 30, "{rounds} rounds\n{}", w.transcript());
    let asked = epoch();
    let from = w.len();
    w.send(&format!("probe {VIP2}"));
    w.wait_for(from, Duration::from_secs(2), |l| kind(l) == "probe");
    let frames = cap.frames();
    let before: Vec<&(f64, Vec<u8>)> = frames.iter().filter(|(ts, _)| *ts < asked).collect();
    assert!(before.is_empty(), "sent in steady state: {before:?}");
    assert_eq!(frames.len(), 1, "the probe asked for: {frames:?}");
}

/// The watcher ends with 0 at the end of its input or `quit`, with 1 when its stdout is closed
/// (the shell died) at the next line it writes; it needs CAP_NET_RAW (exit 3) and IFACE
/// (exit 1), each said in one stderr line.
#[test]
fn exit_on_quit_eof_a_closed_stdout_and_errors() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    let text = conf(&["INTERVAL=0.2", "TIMEOUT=0.1"]);

    let mut w = Watch::start(&ns, &text);
    w.wait_for(0, Duration::from_secs(5), is_round);
    assert_eq!(
        w.finish(true, Duration::from_secs(2)),
        Some(0),
        "{}",
        w.transcript()
    );

    let mut w = Watch::start(&ns, &text);
    w.send("quit");
    assert_eq!(
        w.finish(false, Duration::from_secs(2)),
        Some(0),
        "{}",
        w.transcript()
    );

    let (mut w, stdout) = Watch::spawn(&text, |path| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name])
            .arg(bin("vip-watch"))
            .arg("-c")
            .arg(path);
        c
    });
    let mut hello = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut hello).expect("hello");
    assert!(hello.starts_with("hello proto=1 "), "{hello}");
    drop(reader);
    assert_eq!(
        w.finish(false, Duration::from_secs(3)),
        Some(1),
        "{}",
        w.transcript()
    );
    // The stderr reader finishes with the process.
    wait_until(Duration::from_secs(2), || {
        !w.stderr.lock().expect("stderr").is_empty()
    });
    let err = w.stderr.lock().expect("stderr").clone();
    assert_eq!(err, "vip-watch: write to stdout: broken pipe\n");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("watch.conf");
    std::fs::write(&path, &text).expect("write");
    let out = Cmd::tool_unprivileged(&ns.name, "vip-watch")
        .arg("-c")
        .arg(&path)
        .expect(3);
    assert_eq!(
        out.stderr,
        "vip-watch: open a packet socket on eth0: operation not permitted (needs CAP_NET_RAW)\n",
        "{out}"
    );
    let other = Netns::new("noeth");
    let out = other.tool("vip-watch").arg("-c").arg(&path).expect(1);
    assert_eq!(out.stderr, "vip-watch: no such interface: eth0\n", "{out}");
}

/// A shell that stops reading (stuck, not dead) does not hang the watcher forever: once its
/// output has not been read for 10 s, it ends with exit 1, saying why.
#[test]
fn a_reader_that_stops_reading_ends_the_watcher_after_10s() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    let text = conf(&["INTERVAL=0.5", "TIMEOUT=0.1"]);
    let (mut w, stdout) = Watch::spawn(&text, |path| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name])
            .arg(bin("vip-watch"))
            .arg("-c")
            .arg(path);
        c
    });
    // More error lines than a pipe holds, and nobody reads them.
    let started = Instant::now();
    for _ in 0..2000 {
        w.send("bogus");
    }
    assert_eq!(
        w.finish(false, Duration::from_secs(20)),
        Some(1),
        "{}",
        w.transcript()
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(9), "gave up after {took:?}");
    wait_until(Duration::from_secs(2), || {
        !w.stderr.lock().expect("stderr").is_empty()
    });
    assert_eq!(
        *w.stderr.lock().expect("stderr"),
        "vip-watch: write to stdout: not read for 10s (is the supervisor stuck?)\n"
    );
    drop(stdout);
}

/// A watcher whose main loop stops writing rounds (here made to sleep for ever after round 3
/// by a test-only variable) is ended by its watchdog: exit 1 with one stderr line, once no
/// round came for max(5 s, 4 × max(INTERVAL, TIMEOUT)), 5 s here; the shell sees the end of
/// its input instead of waiting for ever.
#[test]
fn a_watcher_whose_loop_stalls_ends_after_no_round_for_5s() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    let text = conf(&["INTERVAL=0.1", "TIMEOUT=0.1"]);
    let mut w = Watch::start_with(&text, |path| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name])
            .arg(bin("vip-watch"))
            .arg("-c")
            .arg(path)
            .env("VIPKIT_WATCH_TEST_STALL", "1");
        c
    });
    let (_, third, _) = w.wait_for(0, Duration::from_secs(5), |l| {
        is_round(l) && field(l, "n") == Some("3")
    });
    assert_eq!(
        w.finish(false, Duration::from_secs(15)),
        Some(1),
        "{}",
        w.transcript()
    );
    let took = third.elapsed();
    assert!(
        took >= Duration::from_millis(4900),
        "ended {took:?} after round 3"
    );
    wait_until(Duration::from_secs(2), || {
        !w.stderr.lock().expect("stderr").is_empty()
    });
    assert_eq!(
        *w.stderr.lock().expect("stderr"),
        "vip-watch: stalled: no round for 5s\n"
    );
    let rounds = w.lines().iter().filter(|(_, l)| is_round(l)).count();
    assert_eq!(rounds, 3, "{}", w.transcript());
}

/// IFACE deleted: `link=down` and its VIPs not held, and no error; created again (a new index,
/// a new MAC): `link=up`, and the watcher sends and receives on the new interface (a probe is
/// answered by the new peer).
#[test]
fn an_iface_deleted_and_created_again_is_followed() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    ns.ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    ns.ip(&["addr", "add", &format!("{VIP2}/24"), "dev", "peer0"]);
    let mut w = Watch::start(
        &ns,
        &conf(&["INTERVAL=0.3", "TIMEOUT=0.1", "DAD_TIMEOUT=0.3"]),
    );
    let probe = |w: &mut Watch| -> String {
        let from = w.len();
        w.send(&format!("probe {VIP2}"));
        w.wait_for(from, Duration::from_secs(3), |l| kind(l) == "probe")
            .2
    };
    let old = ns.mac("peer0");
    assert_eq!(
        probe(&mut w),
        format!("probe vip={VIP2} result=taken mac={old}")
    );

    let from = w.len();
    ns.ip(&["link", "del", "eth0"]);
    let (i, _, down) = w.wait_for(from, Duration::from_secs(2), |l| kind(l) == "link");
    assert_eq!(field(&down, "link"), Some("down"), "{}", w.transcript());
    let (_, _, round) = w.wait_for(i, Duration::from_secs(2), is_round);
    assert_eq!(field(&round, "held"), Some("-"), "{}", w.transcript());
    assert!(
        w.lines()[from..]
            .iter()
            .any(|(_, l)| *l == format!("vip vip={VIP1} held=no")),
        "{}",
        w.transcript()
    );

    let from = w.len();
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.ip(&["addr", "add", &format!("{LB1}/24"), "dev", "eth0"]);
    ns.ip(&["addr", "add", &format!("{GW}/24"), "dev", "peer0"]);
    ns.ip(&["addr", "add", &format!("{VIP2}/24"), "dev", "peer0"]);
    ns.ip(&["link", "set", "peer0", "up"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    let (_, _, up) = w.wait_for(from, Duration::from_secs(3), |l| kind(l) == "link");
    assert_eq!(
        up,
        "link link=up operstate=up carrier=1",
        "{}",
        w.transcript()
    );
    let new = ns.mac("peer0");
    assert_ne!(new, old);
    assert_eq!(
        probe(&mut w),
        format!("probe vip={VIP2} result=taken mac={new}"),
        "{}",
        w.transcript()
    );
    assert!(
        w.lines().iter().all(|(_, l)| kind(l) != "error"),
        "{}",
        w.transcript()
    );
}

/// Not a check: the watcher's CPU (utime + stime from /proc/PID/stat) over 10 s of rounds at
/// INTERVAL=0.1 and 0.02, both URLs healthy nginx. Run with
/// `cargo test --test it vip_watch_runtime::cpu -- --ignored --nocapture`; the test's own
/// build is a debug one: `VIPKIT_WATCH_BIN=target/release/vip-watch` measures another.
#[test]
#[ignore = "a measurement, not a check: run it explicitly"]
fn cpu_in_steady_state() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web(&t.lb1, LB1);
    let _web2 = web(&t.lb2, LB2);
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let program = std::env::var_os("VIPKIT_WATCH_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| bin("vip-watch"));
    println!("{}", program.display());
    for interval in ["0.1", "0.02"] {
        let text = conf(&[
            &format!("INTERVAL={interval}"),
            &format!("TIMEOUT={interval}"),
        ]);
        let w = Watch::start_program(&t.lb1, &text, &program);
        w.wait_for(0, Duration::from_secs(5), is_round);
        std::thread::sleep(Duration::from_secs(1));
        let (t0, c0, n0) = (Instant::now(), cpu_ticks(w.pid()), w.len());
        std::thread::sleep(Duration::from_secs(10));
        let (t1, c1, n1) = (Instant::now(), cpu_ticks(w.pid()), w.len());
        let secs = t1.duration_since(t0).as_secs_f64();
        let cpu = (c1 - c0) as f64 / hz;
        let lines = w.lines();
        let ok = lines[n0..n1]
            .iter()
            .filter(|(_, l)| is_round(l))
            .filter(|(_, l)| field(l, "self") == Some("ok") && field(l, "peer") == Some("ok"))
            .count();
        println!(
            "vip-watch INTERVAL={interval}: {:.2}% of a core ({cpu:.2}s CPU in {secs:.1}s), \
             {} lines, {ok} healthy rounds",
            100.0 * cpu / secs,
            n1 - n0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Keep-alive: each URL's checks reuse one connection.

/// nginx answering 200 on `ip`:80 in `ns`, logging each request's connection number (nginx's
/// `$connection`) to `conn.log` in its directory; `extra`: more directives for the server.
fn web_logged(ns: &Netns, ip: &str, extra: &str) -> Nginx {
    Nginx::start(
        Some(ns),
        &format!(
            "log_format conn '$connection';\n\
             server {{ listen {ip}:80; access_log conn.log conn; {extra}\n\
             location / {{ default_type text/plain; return 200 \"ok\\n\"; }} }}\n"
        ),
    )
}

/// (requests, distinct connections) in a [`web_logged`] nginx's log.
fn requests_and_connections(n: &Nginx) -> (usize, usize) {
    let log = std::fs::read_to_string(n.dir.path().join("conn.log")).unwrap_or_default();
    let mut conns: Vec<&str> = log.lines().collect();
    let requests = conns.len();
    conns.sort_unstable();
    conns.dedup();
    (requests, conns.len())
}

/// Wait for round `n` or a later one; its index in the transcript.
fn round_at_least(w: &Watch, from: usize, n: u64) -> usize {
    w.wait_for(from, Duration::from_secs(10), |l| {
        is_round(l)
            && field(l, "n")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|m| m >= n)
    })
    .0
}

/// Over 60 rounds at INTERVAL=0.05 each URL's nginx accepts a few connections, not one per
/// round: the checks go out on the connection kept from the round before (a new one each
/// `KEEP_FOR`, 1 s). Every round passes.
#[test]
fn checks_reuse_one_connection_per_url() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let web1 = web_logged(&t.lb1, LB1, "");
    let web2 = web_logged(&t.lb2, LB2, "");
    let w = Watch::start(&t.lb1, &conf(&["INTERVAL=0.05", "TIMEOUT=0.5"]));
    round_at_least(&w, 0, 60);
    drop(w);
    for web in [&web1, &web2] {
        let (requests, connections) = requests_and_connections(web);
        assert!(requests >= 60, "{requests} requests in 60 rounds");
        assert!(
            connections <= 5,
            "{connections} connections for {requests} requests: not kept"
        );
    }
}

/// A server that closes idle connections fails no round. Rounds 50 ms apart, 100 of them, all
/// passing, against nginx that sends `Connection: close` with every answer (self), and nginx
/// that closes a kept connection 30 ms after its last request (peer: the next check sees the
/// close and makes a new connection), then 50 ms after (the close and the next request race:
/// a request sent on a connection being closed is made again on a new one).
#[test]
fn a_server_closing_idle_connections_fails_no_round() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    for idle in ["30ms", "50ms"] {
        let web1 = web_logged(&t.lb1, LB1, "keepalive_timeout 0;");
        let web2 = web_logged(&t.lb2, LB2, &format!("keepalive_timeout {idle};"));
        let w = Watch::start(&t.lb1, &conf(&["INTERVAL=0.05", "TIMEOUT=0.5"]));
        let first = round_at_least(&w, 0, 1);
        let last = round_at_least(&w, first, 100);
        let lines = w.lines();
        let failed: Vec<&String> = lines[first..=last]
            .iter()
            .map(|(_, l)| l)
            .filter(|l| {
                is_round(l) && (field(l, "self") != Some("ok") || field(l, "peer") != Some("ok"))
            })
            .collect();
        assert!(
            failed.is_empty(),
            "keepalive_timeout {idle}: failed rounds: {failed:?}\n{}",
            w.transcript()
        );
        drop(w);
        let (requests, connections) = requests_and_connections(&web1);
        assert_eq!(
            requests, connections,
            "Connection: close, yet a connection was reused"
        );
        let (requests, connections) = requests_and_connections(&web2);
        println!("keepalive_timeout {idle}: {connections} connections for {requests} requests");
        assert!(
            connections > 1 && connections <= requests,
            "keepalive_timeout {idle}: {connections} connections for {requests} requests"
        );
        if idle == "30ms" {
            assert!(
                2 * connections >= requests,
                "keepalive_timeout 30ms, rounds 50 ms apart: {connections} connections for \
                 {requests} requests"
            );
        }
    }
}

/// A host crash with a kept connection still fails at TIMEOUT: the kept connection to a host
/// that is gone gets no answer (its bridge port down; then, back, its address removed), the
/// check fails at the round's TIMEOUT with a timeout as its reason, as a new connection's
/// would, and the peer is `ok` again on a new connection once it is back.
#[test]
fn a_host_crash_with_a_kept_connection_fails_at_timeout() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let _web1 = web_logged(&t.lb1, LB1, "");
    let web2 = web_logged(&t.lb2, LB2, "");
    let (interval, timeout) = (0.2, 0.15);
    let w = Watch::start(
        &t.lb1,
        &conf(&[
            &format!("INTERVAL={interval}"),
            &format!("TIMEOUT={timeout}"),
        ]),
    );
    let mut from = round_at_least(&w, 0, 4);
    let (requests, connections) = requests_and_connections(&web2);
    assert!(connections < requests, "the connection is kept");
    for (what, crash, restore) in [
        (
            "bridge port down",
            Box::new(|| t.crash(2)) as Box<dyn Fn()>,
            Box::new(|| t.restore(2)) as Box<dyn Fn()>,
        ),
        (
            "address removed",
            Box::new(|| {
                t.lb2
                    .ip(&["addr", "del", &format!("{LB2}/24"), "dev", "eth0"]);
            }),
            Box::new(|| {
                t.lb2
                    .ip(&["addr", "add", &format!("{LB2}/24"), "dev", "eth0"]);
                t.lb2.ip(&["route", "replace", "default", "via", GW]);
            }),
        ),
    ] {
        // The peer answered on its kept connection just now.
        let (i, _, _) = w.wait_for(from, Duration::from_secs(5), |l| {
            is_round(l) && field(l, "peer") == Some("ok")
        });
        let crashed = Instant::now();
        crash();
        let (j, at, failed) = w.wait_for(i + 1, Duration::from_secs(5), |l| {
            is_round(l) && field(l, "peer") == Some("fail")
        });
        let seen = at.duration_since(crashed).as_secs_f64();
        assert!(
            seen <= interval + timeout + 0.3,
            "{what}: peer=fail only after {seen:.3}s\n{}",
            w.transcript()
        );
        assert_eq!(field(&failed, "peer_code"), Some("000"), "{failed}");
        let lines = w.lines();
        let (_, check) = lines[i..j]
            .iter()
            .rev()
            .find(|(_, l)| kind(l) == "check" && field(l, "target") == Some("peer"))
            .unwrap_or_else(|| panic!("{what}: no check line\n{}", w.transcript()));
        assert!(
            detail(check).is_some_and(|d| d.ends_with(&format!("timed out after {timeout}s"))),
            "{what}: {check}"
        );
        // The round that failed took its TIMEOUT: its line came TIMEOUT after it started,
        // not at once (a refused or reset connection would).
        let before = lines[..j]
            .iter()
            .rev()
            .find(|(_, l)| is_round(l))
            .map(|(t, _)| *t)
            .expect("a round before");
        let took = at.duration_since(before).as_secs_f64();
        assert!(
            took >= interval - 0.02,
            "{what}: the failed round came {took:.3}s after the one before\n{}",
            w.transcript()
        );
        restore();
        let (k, _, _) = w.wait_for(j, Duration::from_secs(10), |l| {
            is_round(l) && field(l, "peer") == Some("ok")
        });
        from = k;
    }
    assert!(
        requests_and_connections(&web2).1 >= 2,
        "a new connection after the timeouts"
    );
}
