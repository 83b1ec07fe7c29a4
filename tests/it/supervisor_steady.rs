//! `scripts/vip-supervisor` in steady state, measured from outside: what it puts on the wire
//! (tcpdump on the gateway's bridge, every ARP frame classified by sender MAC and by what it
//! is), and what it leaves in a PID namespace whose init never reaps (zombies).
//!
//! As in the other supervisor scenarios, lb1 runs the script under dash and lb2 under
//! `busybox sh`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;

use crate::netns::{GW, LB1, LB2, Netns, Topo, VIP1, VIP2};
use crate::nginx::Nginx;
use crate::supervisor::{Behaviour, TestServer, bin_dir, page, script};
use crate::util::{Bg, Cmd, child_of, need_root, non_reaping_init, wait_until};

/// The shell lb`n` runs the script with.
fn shell(n: u8) -> &'static str {
    if n == 1 { "dash" } else { "busybox sh" }
}

/// lb`n`'s own address.
fn lb_ip(n: u8) -> &'static str {
    if n == 1 { LB1 } else { LB2 }
}

/// lb`n`'s own VIP (active-active: lb1 owns VIP1, lb2 owns VIP2).
fn own_vip(n: u8) -> &'static str {
    if n == 1 { VIP1 } else { VIP2 }
}

/// Write `kv` as a configuration file at `path`.
fn write_conf(path: &Path, kv: &[(&str, String)]) {
    let text: String = kv.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(path, text).expect("write config");
}

/// The `sh -c` line that runs the supervisor under `shell` with config `conf`, its stdout and
/// stderr appended to `log`.
fn sup_line(shell: &str, conf: &Path, log: &Path) -> String {
    format!(
        "exec {shell} {} -c {} >>{} 2>&1",
        script().display(),
        conf.display(),
        log.display()
    )
}

/// Seconds since the epoch, as tcpdump's `-tt` prints them.
fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// ARP on the wire.

/// One ARP frame as captured: when, the Ethernet source, and the ARP fields.
#[derive(Clone, Debug)]
struct Arp {
    at: f64,
    eth_src: String,
    op: u16,
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
}

fn mac_str(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The ARP frame in `bytes` (Ethernet II, no VLAN tag), if it is one.
fn parse_arp(at: f64, bytes: &[u8]) -> Option<Arp> {
    if bytes.len() < 42 || bytes[12..14] != [0x08, 0x06] {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
    Some(Arp {
        at,
        eth_src: mac_str(&bytes[6..12]),
        op: u16::from_be_bytes([bytes[20], bytes[21]]),
        spa: ip(28),
        tpa: ip(38),
    })
}

/// Capture every ARP frame on `dev` in `ns` for `window` from the moment tcpdump is ready:
/// (the window's start in epoch seconds, the frames inside the window, tcpdump's `-e` lines
/// of the whole capture for the record). tcpdump runs under `timeout` in case the test dies.
fn capture_arp(ns: &Netns, dev: &str, window: Duration) -> (f64, Vec<Arp>, String) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().to_string_lossy().into_owned();
    let limit = (window.as_secs() + 30).to_string();
    let bg = ns
        .cmd("timeout")
        .args(["-s", "TERM", &limit, "tcpdump", "-i", dev, "-n", "-e"])
        .args(["--immediate-mode", "-U", "-w", &path, "arp"])
        .spawn();
    let ready = wait_until(Duration::from_secs(5), || {
        std::fs::metadata(file.path()).is_ok_and(|m| m.len() >= 24)
    });
    assert!(ready, "tcpdump did not start: {}", bg.kill());
    let start = epoch();
    std::thread::sleep(window + Duration::from_millis(300));
    // SIGTERM (timeout passes it on): tcpdump then writes what its ring still holds.
    bg.signal(Signal::SIGTERM);
    let dump = bg.finish(Duration::from_secs(5));
    assert!(!dump.timed_out, "tcpdump did not stop\n{dump}");
    let out = ns
        .cmd("tcpdump")
        .args(["-r", &path, "-n", "-e", "-tt", "-xx"])
        .ok();
    let end = start + window.as_secs_f64();
    let frames = crate::capture::parse_xx(&out.stdout)
        .into_iter()
        .filter(|(t, _)| *t >= start && *t < end)
        .filter_map(|(t, b)| parse_arp(t, &b))
        .collect();
    let text: String = out
        .stdout
        .lines()
        .filter(|l| !l.trim_start().starts_with("0x"))
        .map(|l| format!("{l}\n"))
        .collect();
    (start, frames, text)
}

/// What an ARP frame from a balancer is, from its fields and what that balancer holds.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// A GARP refresh of a VIP held by the sender: gateway-aimed ("who-has GW tell VIP") or
    /// unsolicited ("who-has VIP tell VIP").
    Refresh(Ipv4Addr),
    /// A duplicate-address probe ("who-has VIP tell 0.0.0.0").
    Probe(Ipv4Addr),
    /// The kernel answering another host's probe of a VIP the sender holds.
    ProbeAnswer(Ipv4Addr),
    /// The kernel's own neighbour resolution between host addresses (the health checks).
    Neighbour,
    /// Anything else: not explained by the supervisor's steady state.
    Unexplained,
}

fn classify(a: &Arp, self_ip: Ipv4Addr, held: &[Ipv4Addr], vips: &[Ipv4Addr]) -> Kind {
    let gw: Ipv4Addr = GW.parse().expect("GW");
    let zero = Ipv4Addr::UNSPECIFIED;
    let hosts: [Ipv4Addr; 3] = [gw, LB1.parse().expect("LB1"), LB2.parse().expect("LB2")];
    match a.op {
        1 if a.spa == zero && vips.contains(&a.tpa) => Kind::Probe(a.tpa),
        1 if held.contains(&a.spa) && (a.tpa == gw || a.tpa == a.spa) => Kind::Refresh(a.spa),
        2 if held.contains(&a.spa) && a.tpa == zero => Kind::ProbeAnswer(a.spa),
        1 | 2 if a.spa == self_ip && hosts.contains(&a.tpa) && a.tpa != self_ip => Kind::Neighbour,
        _ => Kind::Unexplained,
    }
}

/// The gaps in seconds between consecutive times in `t`.
fn spacings(t: &[f64]) -> Vec<f64> {
    t.windows(2).map(|w| w[1] - w[0]).collect()
}

fn fmt_secs(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Active-active, two supervisors with real nginx, INTERVAL=0.1 and GARP_REFRESH=2, once each
/// holds its own VIP: for 10 s, everything either balancer sends is ARP the issue allows. Per
/// host, GARP refreshes of the VIP it holds (one per GARP_REFRESH, ± 1 in the window), at most
/// one duplicate-address probe per configured VIP per GARP_REFRESH period (consecutive probes
/// of a VIP at least GARP_REFRESH apart), the kernel's answers to the other host's probes, and
/// the kernel's neighbour resolution between host addresses (the health checks); nothing else.
#[test]
fn a_steady_supervisor_sends_only_refreshes_and_a_probe_per_vip_per_refresh() {
    if !need_root() {
        return;
    }
    const REFRESH: f64 = 2.0;
    const WINDOW: Duration = Duration::from_secs(10);
    let t = Topo::new();
    let _web = [
        Nginx::start(Some(&t.lb1), &page(1)),
        Nginx::start(Some(&t.lb2), &page(2)),
    ];
    let dir = tempfile::Builder::new()
        .prefix("vipkit-steady")
        .tempdir()
        .expect("tempdir");
    let path = |n: u8, ext: &str| dir.path().join(format!("lb{n}.{ext}"));
    let mut sups: Vec<Bg> = Vec::new();
    for n in [1u8, 2] {
        let other = 3 - n;
        write_conf(
            &path(n, "conf"),
            &[
                ("IFACE", "eth0".into()),
                ("GATEWAY", GW.into()),
                ("OWN_VIPS", format!("{}/24", own_vip(n))),
                ("PEER_VIPS", format!("{}/24", own_vip(other))),
                ("SELF_URL", format!("http://{}/", lb_ip(n))),
                ("PEER_URL", format!("http://{}/", lb_ip(other))),
                ("INTERVAL", "0.1".into()),
                ("TIMEOUT", "0.1".into()),
                ("RISE", "2".into()),
                ("FALL", "2".into()),
                ("GARP_REFRESH", format!("{REFRESH}")),
                ("SYSLOG", "no".into()),
                ("STATE_FILE", path(n, "state").display().to_string()),
            ],
        );
        sups.push(
            t.lb(n)
                .cmd("sh")
                .args(["-c", &sup_line(shell(n), &path(n, "conf"), &path(n, "log"))])
                .env("VIPKIT_BIN", bin_dir())
                .spawn(),
        );
    }
    let log = |n: u8| std::fs::read_to_string(path(n, "log")).unwrap_or_default();
    let report = || {
        let mut s = String::new();
        for n in [1u8, 2] {
            s += &format!("--- lb{n} log ({})\n{}", shell(n), log(n));
        }
        s
    };
    let holders = |vip: &str| -> Vec<u8> {
        [1u8, 2]
            .into_iter()
            .filter(|&n| t.lb(n).addr("eth0", vip).is_some())
            .collect()
    };
    let steady = || holders(VIP1) == [1] && holders(VIP2) == [2];
    assert!(
        wait_until(Duration::from_secs(15), steady),
        "not steady: VIP1 on {:?}, VIP2 on {:?}\n{}",
        holders(VIP1),
        holders(VIP2),
        report()
    );
    // Past the takeover bursts and the first probes of each VIP.
    std::thread::sleep(Duration::from_secs(4));
    assert!(steady(), "the VIPs moved after settling\n{}", report());
    let skip: Vec<usize> = [1u8, 2].iter().map(|&n| log(n).lines().count()).collect();

    let (start, frames, text) = capture_arp(&t.gw, "br0", WINDOW);

    assert!(steady(), "the VIPs moved during the capture\n{}", report());
    for n in [1u8, 2] {
        let during: Vec<String> = log(n)
            .lines()
            .skip(skip[n as usize - 1])
            .filter(|l| l.contains("event="))
            .map(str::to_string)
            .collect();
        assert!(
            during.is_empty(),
            "lb{n} logged events in steady state:\n{}\n{}",
            during.join("\n"),
            report()
        );
    }
    let vips: Vec<Ipv4Addr> = [VIP1, VIP2]
        .iter()
        .map(|v| v.parse().expect("VIP"))
        .collect();
    let window = WINDOW.as_secs_f64();
    let periods = (window / REFRESH).ceil() as usize;
    let mut probes_by: Vec<Vec<(Ipv4Addr, f64)>> = Vec::new();
    let mut answers_by: Vec<Vec<Ipv4Addr>> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let macs: Vec<String> = [1u8, 2].iter().map(|&n| t.lb(n).mac("eth0")).collect();
    let gw_mac = t.gw.mac("br0");
    for n in [1u8, 2] {
        let mac = &macs[n as usize - 1];
        let self_ip: Ipv4Addr = lb_ip(n).parse().expect("LB");
        let held = [own_vip(n).parse::<Ipv4Addr>().expect("VIP")];
        let mine: Vec<(&Arp, Kind)> = frames
            .iter()
            .filter(|a| &a.eth_src == mac)
            .map(|a| (a, classify(a, self_ip, &held, &vips)))
            .collect();
        let count = |k: &Kind| mine.iter().filter(|(_, x)| x == k).count();
        let refresh_t: Vec<f64> = mine
            .iter()
            .filter(|(_, k)| *k == Kind::Refresh(held[0]))
            .map(|(a, _)| a.at)
            .collect();
        let neighbour = count(&Kind::Neighbour);
        let unexplained: Vec<&Arp> = mine
            .iter()
            .filter(|(_, k)| *k == Kind::Unexplained)
            .map(|(a, _)| *a)
            .collect();
        eprintln!(
            "lb{n} ({}, {mac}) in {window} s: {} ARP frames; refreshes of {} {} at {}; \
             kernel neighbour resolution {neighbour}; unexplained {}",
            shell(n),
            mine.len(),
            held[0],
            refresh_t.len(),
            fmt_secs(&refresh_t.iter().map(|x| x - start).collect::<Vec<_>>()),
            unexplained.len()
        );
        let mut probes = Vec::new();
        for v in &vips {
            let pt: Vec<f64> = mine
                .iter()
                .filter(|(_, k)| *k == Kind::Probe(*v))
                .map(|(a, _)| a.at)
                .collect();
            let gaps = spacings(&pt);
            eprintln!(
                "lb{n}: probes of {v}: {} (at most {periods}), at {}, {} apart",
                pt.len(),
                fmt_secs(&pt.iter().map(|x| x - start).collect::<Vec<_>>()),
                fmt_secs(&gaps)
            );
            if pt.len() > periods {
                problems.push(format!(
                    "lb{n} probed {v} {} times in {window} s, more than one per GARP_REFRESH \
                     ({REFRESH} s)",
                    pt.len()
                ));
            }
            if let Some(g) = gaps.iter().find(|g| **g < REFRESH) {
                problems.push(format!(
                    "lb{n} probed {v} twice within {g:.3} s, less than GARP_REFRESH ({REFRESH} s)"
                ));
            }
            probes.extend(pt.into_iter().map(|x| (*v, x)));
        }
        let answers = count(&Kind::ProbeAnswer(held[0]));
        eprintln!(
            "lb{n}: the kernel's answers to probes of {}: {answers}",
            held[0]
        );
        // One refresh per GARP_REFRESH: window / GARP_REFRESH of them, ± 1.
        let expect = window / REFRESH;
        if (refresh_t.len() as f64 - expect).abs() > 1.0 {
            problems.push(format!(
                "lb{n} sent {} refreshes of {} in {window} s, expected {expect} ± 1",
                refresh_t.len(),
                held[0]
            ));
        }
        for a in &unexplained {
            problems.push(format!(
                "lb{n} sent ARP not explained by the steady state: {a:?}"
            ));
        }
        probes_by.push(probes);
        answers_by.push(vec![held[0]; answers]);
    }
    // Each answer is the kernel's to one probe by the other host.
    for n in [1usize, 2] {
        let other = 2 - n;
        let asked = probes_by[other]
            .iter()
            .filter(|(v, _)| answers_by[n - 1].first() == Some(v))
            .count();
        if answers_by[n - 1].len() > asked {
            problems.push(format!(
                "lb{n} answered {} probes, the other host sent {asked}",
                answers_by[n - 1].len()
            ));
        }
    }
    let from_gw = frames.iter().filter(|a| a.eth_src == gw_mac).count();
    let others = frames
        .iter()
        .filter(|a| a.eth_src != gw_mac && !macs.contains(&a.eth_src))
        .count();
    eprintln!("gateway's own ARP (its replies to the refreshes): {from_gw}; other MACs: {others}");
    assert!(
        problems.is_empty(),
        "{}\n--- capture (-e)\n{text}{}",
        problems.join("\n"),
        report()
    );
    drop(sups);
}

// ---------------------------------------------------------------------------------------------
// A PID namespace whose init never reaps.

/// A process in a PID namespace, as the root namespace's /proc shows it.
#[derive(Debug)]
struct Proc {
    pid: i32,
    ppid: i32,
    state: String,
    comm: String,
    cmdline: String,
}

/// Every process in the PID namespace of `init` except `init` itself.
fn procs_in(init: i32) -> Vec<Proc> {
    let mut out: Vec<Proc> = crate::util::others_in_pid_ns(init)
        .into_iter()
        .map(|(pid, state)| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let comm = stat
                .split_once(" (")
                .and_then(|(_, r)| r.rsplit_once(") "))
                .map_or("?", |(c, _)| c)
                .to_string();
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ")
                .trim()
                .to_string();
            Proc {
                pid,
                ppid,
                state,
                comm,
                cmdline,
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

fn show_procs(ps: &[Proc]) -> String {
    ps.iter()
        .map(|p| {
            format!(
                "  pid {} ppid {} {} ({}) {}\n",
                p.pid, p.ppid, p.state, p.comm, p.cmdline
            )
        })
        .collect()
}

/// The zombies in `init`'s PID namespace that are still zombies 0.5 s later (a child that has
/// just exited is a zombie until its parent's `wait`, which a shell does at once for a command
/// it runs in the foreground), each described with its parent.
fn lasting_zombies(init: i32) -> Vec<String> {
    let first: Vec<i32> = procs_in(init)
        .iter()
        .filter(|p| p.state == "Z")
        .map(|p| p.pid)
        .collect();
    if first.is_empty() {
        return Vec::new();
    }
    std::thread::sleep(Duration::from_millis(500));
    let now = procs_in(init);
    now.iter()
        .filter(|p| p.state == "Z" && first.contains(&p.pid))
        .map(|p| {
            let parent = now.iter().find(|q| q.pid == p.ppid).map_or_else(
                || {
                    if p.ppid == init {
                        format!("the namespace's init (pid {init}), which never reaps")
                    } else {
                        format!("pid {}", p.ppid)
                    }
                },
                |q| format!("pid {} ({}) {}", q.pid, q.comm, q.cmdline),
            );
            format!("zombie pid {} ({}), child of {parent}", p.pid, p.comm)
        })
        .collect()
}

/// The last PID allocated in `init`'s PID namespace (its `ns_last_pid`, read by a process
/// started in it for that: which itself takes one PID).
fn ns_last_pid(init: i32) -> u64 {
    let out = Cmd::new("nsenter")
        .args(["-t", &init.to_string(), "-p", "--", "cat"])
        .arg("/proc/sys/kernel/ns_last_pid")
        .ok();
    out.stdout.trim().parse().expect("ns_last_pid")
}

/// A zombie seen by [`ZombieLog`]: what it was, whose child, and when it was seen.
struct Seen {
    comm: String,
    parent: String,
    first: Instant,
    last: Instant,
}

/// Every zombie in a PID namespace, sampled every 50 ms on a thread of its own, with how long
/// each stayed a zombie (a lower bound): for the record of which of the script's children
/// wait for their reaping, and how long.
struct ZombieLog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Seen>>>,
}

impl ZombieLog {
    fn start(init: i32) -> ZombieLog {
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen: std::collections::HashMap<i32, Seen> = Default::default();
            while !st.load(Ordering::Relaxed) {
                let ps = procs_in(init);
                let now = Instant::now();
                for p in ps.iter().filter(|p| p.state == "Z") {
                    let parent = ps.iter().find(|q| q.pid == p.ppid).map_or_else(
                        || format!("pid {}", p.ppid),
                        |q| format!("{} ({})", q.comm, q.cmdline),
                    );
                    seen.entry(p.pid)
                        .and_modify(|s| s.last = now)
                        .or_insert(Seen {
                            comm: p.comm.clone(),
                            parent,
                            first: now,
                            last: now,
                        });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut v: Vec<Seen> = seen.into_values().collect();
            v.sort_by_key(|s| s.first);
            v
        });
        ZombieLog {
            stop,
            thread: Some(thread),
        }
    }

    /// Stop sampling: one line per zombie seen, "COMM, child of PARENT: at least N ms".
    fn finish(mut self, t0: Instant) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        seen.iter()
            .map(|s| {
                format!(
                    "{}, child of {}: a zombie from {:.2} s for at least {} ms",
                    s.comm,
                    s.parent,
                    s.first.duration_since(t0).as_secs_f64(),
                    s.last.duration_since(s.first).as_millis()
                )
            })
            .collect()
    }
}

impl Drop for ZombieLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The zombie check itself: a child orphaned to an init that never reaps is found, and named
/// with its parent (so that the test below cannot pass by not seeing zombies).
#[test]
fn the_zombie_check_finds_a_child_left_to_an_init_that_never_reaps() {
    if !need_root() {
        return;
    }
    let ns = crate::netns::single();
    let (_unshare, init) = non_reaping_init(&ns, 30);
    assert!(lasting_zombies(init).is_empty());
    // sh exits at once: its background sleep goes to the namespace's init, and stays a zombie.
    Cmd::new("nsenter")
        .args([
            "-t",
            &init.to_string(),
            "-p",
            "--",
            "sh",
            "-c",
            "sleep 0.1 & exit 0",
        ])
        .ok();
    std::thread::sleep(Duration::from_millis(300));
    let z = lasting_zombies(init);
    assert_eq!(z.len(), 1, "{z:?}");
    assert!(
        z[0].starts_with("zombie pid ") && z[0].contains("(sleep), child of the namespace's init"),
        "{z:?}"
    );
}

/// One balancer whose supervisor, watcher, nginx and everything they start live in a PID
/// namespace of their own (inside the balancer's network namespace) whose PID 1 reaps nothing.
struct Jail {
    n: u8,
    /// The `unshare` holding the namespace's init; dropped (killed) last, which ends the
    /// namespace and everything in it.
    _unshare: Bg,
    init: i32,
    dir: tempfile::TempDir,
    health: TestServer,
    sup: Option<Bg>,
}

impl Jail {
    /// `sh -c LINE` in the PID namespace and the network namespace `ns`, with a /proc of the
    /// PID namespace (as a container has: the supervisor and nginx-reload read /proc/PID of
    /// their own processes) and the network namespace's /sys (`ip netns exec`), both mounted
    /// in the private mount namespace `ip netns exec` makes.
    fn cmd(&self, ns: &Netns, line: &str) -> Cmd {
        Cmd::new("nsenter")
            .args(["-t", &self.init.to_string(), "-p", "--"])
            .args(["ip", "netns", "exec", &ns.name, "sh", "-c"])
            .arg(format!("mount -t proc proc /proc && {line}"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Build lb`n`'s jail: the namespace, nginx started in it (daemonised: its master's parent
    /// is then the init that never reaps), a health endpoint for SELF_URL, the configuration.
    fn new(t: &Topo, n: u8) -> Jail {
        let ns = t.lb(n);
        let (unshare, init) = non_reaping_init(ns, 150);
        let dir = tempfile::Builder::new()
            .prefix("vipkit-jail")
            .tempdir()
            .expect("tempdir");
        let health = TestServer::start(ns, 8080);
        let jail = Jail {
            n,
            _unshare: unshare,
            init,
            dir,
            health,
            sup: None,
        };
        let d = jail.dir.path().display();
        let conf = format!(
            "daemon on;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log {d}/access.log;\n client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n{}}}\n",
            page(n)
        );
        std::fs::write(jail.path("nginx.conf"), conf).expect("write nginx.conf");
        jail.cmd(ns, &format!("exec nginx -p {d} -c {d}/nginx.conf"))
            .timeout(Duration::from_secs(10))
            .ok();
        assert!(
            wait_until(Duration::from_secs(5), || {
                procs_in(init)
                    .iter()
                    .filter(|p| p.cmdline.starts_with("nginx: worker"))
                    .count()
                    == 2
            }),
            "nginx did not start in lb{n}'s PID namespace:\n{}",
            show_procs(&procs_in(init))
        );
        write_conf(
            &jail.path("sup.conf"),
            &[
                ("IFACE", "eth0".into()),
                ("GATEWAY", GW.into()),
                ("OWN_VIPS", format!("{}/24", own_vip(n))),
                ("SELF_URL", format!("http://{}:8080/", lb_ip(n))),
                ("INTERVAL", "0.1".into()),
                ("TIMEOUT", "0.1".into()),
                ("RISE", "2".into()),
                ("FALL", "2".into()),
                ("GARP_REFRESH", "1".into()),
                ("NGINX_RELOAD", "yes".into()),
                ("NGINX_PIDFILE", format!("{d}/nginx.pid")),
                ("SYSLOG", "no".into()),
                ("STATE_FILE", format!("{d}/sup.state")),
            ],
        );
        jail
    }

    fn start(&mut self, ns: &Netns) {
        let line = sup_line(shell(self.n), &self.path("sup.conf"), &self.path("sup.log"));
        self.sup = Some(
            self.cmd(ns, &line)
                .env("VIPKIT_BIN", bin_dir())
                .timeout(Duration::from_secs(120))
                .spawn(),
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("sup.log")).unwrap_or_default()
    }

    fn events(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "lb{} ({}): {msg}\n--- processes\n{}--- log\n{}",
            self.n,
            shell(self.n),
            show_procs(&procs_in(self.init)),
            self.log()
        );
    }

    /// Wait until the log has `count` lines with `needle`.
    fn wait_events(&self, needle: &str, count: usize, timeout: Duration) {
        if !wait_until(timeout, || self.events(needle) >= count) {
            self.fail(&format!(
                "no {count} lines with {needle} within {timeout:?}"
            ));
        }
    }

    /// Fail on a zombie that lasts; the processes in the namespace otherwise.
    fn no_zombies(&self, when: &str) -> Vec<Proc> {
        let z = lasting_zombies(self.init);
        if !z.is_empty() {
            self.fail(&format!("{when}: {}", z.join("; ")));
        }
        procs_in(self.init)
    }
}

/// Two supervisors (lb1 dash, lb2 busybox sh), each in a PID namespace whose init never reaps,
/// with its watcher, a healthy nginx it reloads and everything the script forks: for 60 s,
/// after two release/takeover cycles early on (its SELF_URL failing, then healthy again: the
/// vip-bind, vip-unbind, nginx-reload and `date` forks all happen), no zombie is left in
/// either namespace, whenever looked at and at the end; after a SIGTERM stop only nginx is left.
#[test]
fn a_supervisor_whose_init_never_reaps_runs_60s_without_zombies() {
    if !need_root() {
        return;
    }
    let t = Topo::new();
    let mut jails: Vec<Jail> = [1u8, 2].iter().map(|&n| Jail::new(&t, n)).collect();
    let t0 = Instant::now();
    let zlogs: Vec<ZombieLog> = jails.iter().map(|j| ZombieLog::start(j.init)).collect();
    for j in jails.iter_mut() {
        let ns = t.lb(j.n);
        j.start(ns);
    }
    let vip_held = |j: &Jail| t.lb(j.n).addr("eth0", own_vip(j.n)).is_some();
    for j in &jails {
        if !wait_until(Duration::from_secs(10), || vip_held(j)) {
            j.fail("the own VIP was not taken");
        }
        j.wait_events("result=ok", 1, Duration::from_secs(10));
        j.no_zombies("after the first takeover");
    }
    for cycle in 1..=2 {
        for j in &jails {
            j.health.set(Behaviour::Fail);
        }
        for j in &jails {
            if !wait_until(Duration::from_secs(5), || !vip_held(j)) {
                j.fail(&format!("cycle {cycle}: not released"));
            }
        }
        for j in &jails {
            j.wait_events("event=nginx-reload", 2 * cycle, Duration::from_secs(10));
            j.no_zombies(&format!("cycle {cycle}, after the release"));
            j.health.set(Behaviour::Healthy);
        }
        for j in &jails {
            if !wait_until(Duration::from_secs(5), || vip_held(j)) {
                j.fail(&format!("cycle {cycle}: not taken again"));
            }
        }
        for j in &jails {
            j.wait_events("event=nginx-reload", 2 * cycle + 1, Duration::from_secs(10));
            j.no_zombies(&format!("cycle {cycle}, after the takeover"));
        }
    }
    let mut looks = 0;
    // The PIDs the steady state takes (forks), each measurement taking one itself.
    let steady_from = Instant::now();
    let pids_from: Vec<u64> = jails.iter().map(|j| ns_last_pid(j.init)).collect();
    while t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(5));
        for j in &jails {
            j.no_zombies(&format!("{} s in", t0.elapsed().as_secs()));
        }
        looks += 1;
    }
    let steady_secs = steady_from.elapsed().as_secs_f64();
    for (j, from) in jails.iter().zip(&pids_from) {
        let forks = ns_last_pid(j.init) - from - 1;
        eprintln!(
            "lb{} ({}): {forks} processes started in its PID namespace in {steady_secs:.1} s of \
             steady state ({:.0} rounds), {} log lines in all",
            j.n,
            shell(j.n),
            steady_secs / 0.1,
            j.log().lines().filter(|l| l.contains("event=")).count()
        );
        // Zero forks per round: refreshes and probes are the watcher's, the state file is
        // rewritten only when what it says changes.
        assert_eq!(forks, 0, "lb{}: the steady state forked", j.n);
    }
    for j in jails.iter_mut() {
        let ps = j.no_zombies("at 60 s");
        let names: Vec<&str> = ps.iter().map(|p| p.comm.as_str()).collect();
        eprintln!(
            "lb{} ({}) after {} s, {looks} looks: {} processes in its PID namespace besides init: \
             {names:?}; {} takeovers, {} releases, {} nginx reloads ok, {} log lines",
            j.n,
            shell(j.n),
            t0.elapsed().as_secs(),
            ps.len(),
            j.events("event=takeover"),
            j.events("event=release"),
            j.events("event=nginx-reload vip=- reason=vips-changed result=ok"),
            j.log().lines().count()
        );
        if j.events("event=error") > 0 {
            j.fail("an error was logged");
        }
        if j.events("event=nginx-reload vip=- reason=vips-changed result=ok") < 5 {
            j.fail("not every move reloaded nginx");
        }
        // The supervisor, its watcher, nginx's master and 2 workers.
        let sup = ps
            .iter()
            .filter(|p| p.cmdline.contains("vip-supervisor"))
            .count();
        let watch = ps.iter().filter(|p| p.comm == "vip-watch").count();
        if sup != 1 || watch != 1 || ps.len() != 5 {
            j.fail(&format!(
                "expected the supervisor, its watcher and nginx (3) only, found {} processes",
                ps.len()
            ));
        }
        // Stop it as systemd does: it releases the VIP, stops its watcher and exits 0.
        let bg = j.sup.take().expect("supervisor");
        let Some(pid) = child_of(bg.pid() as i32) else {
            j.fail("the supervisor is not nsenter's child");
        };
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
        let out = bg.finish(Duration::from_secs(10));
        if out.code != Some(0) {
            j.fail(&format!("the supervisor's stop\n{out}"));
        }
        if vip_held(j) {
            j.fail("the VIP was not released on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(500));
        let left = j.no_zombies("after the stop");
        if left.len() != 3 || !left.iter().all(|p| p.comm == "nginx") {
            j.fail("something other than nginx is left after the stop");
        }
    }
    for (j, z) in jails.iter().zip(zlogs) {
        let seen = z.finish(t0);
        eprintln!(
            "lb{} ({}): {} zombies seen (sampled every 50 ms){}",
            j.n,
            shell(j.n),
            seen.len(),
            seen.iter().map(|l| format!("\n  {l}")).collect::<String>()
        );
    }
}
