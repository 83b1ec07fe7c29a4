//! Network namespaces for tests: uniquely named, removed on drop (even when the test panics),
//! with every process left inside them killed first.
//!
//! Only documentation addresses are used, and veth pairs are created inside the namespaces, so
//! nothing ever appears in the machine's own namespace.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::util::{Cmd, Output};

/// The DESIGN.md test network: the classic article's layout in 198.51.100.0/24.
pub const GW: &str = "198.51.100.1";
pub const VIP1: &str = "198.51.100.2";
pub const VIP2: &str = "198.51.100.3";
pub const LB1: &str = "198.51.100.4";
pub const LB2: &str = "198.51.100.5";
pub const GW6: &str = "2001:db8::1";
pub const LB1_6: &str = "2001:db8::4";
pub const LB2_6: &str = "2001:db8::5";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Create `vk<pid>x<n><tag>`, with loopback up.
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("vk{}x{}{}", std::process::id(), n, tag);
        Cmd::new("ip").args(["netns", "add", &name]).ok();
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS...`, expected to succeed.
    pub fn ip(&self, args: &[&str]) -> Output {
        Cmd::new("ip").args(["-n", &self.name]).args(args).ok()
    }

    /// Any program inside this namespace.
    pub fn cmd(&self, program: &str) -> Cmd {
        Cmd::in_ns(&self.name, program)
    }

    /// One of the crate's binaries inside this namespace.
    pub fn tool(&self, name: &str) -> Cmd {
        Cmd::tool_in(&self.name, name)
    }

    /// `ip -j ARGS` parsed as JSON.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let out = Cmd::new("ip")
            .args(["-j", "-n", &self.name])
            .args(args)
            .ok();
        if out.stdout.trim().is_empty() {
            return serde_json::Value::Array(Vec::new());
        }
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{out}"))
    }

    /// The addresses on `dev` as `(local, prefixlen, label)` as `ip -j addr` reports them.
    pub fn addrs(&self, dev: &str) -> Vec<serde_json::Value> {
        let v = self.ip_json(&["addr", "show", "dev", dev]);
        v.get(0)
            .and_then(|l| l.get("addr_info"))
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default()
    }

    /// The `addr_info` entry for `addr` on `dev`, if present.
    pub fn addr(&self, dev: &str, addr: &str) -> Option<serde_json::Value> {
        self.addrs(dev)
            .into_iter()
            .find(|a| a.get("local").and_then(|l| l.as_str()) == Some(addr))
    }

    /// The MAC address of `dev`.
    pub fn mac(&self, dev: &str) -> String {
        let v = self.ip_json(&["link", "show", "dev", dev]);
        v[0]["address"].as_str().expect("address").to_string()
    }

    /// The MAC the neighbour table maps `ip` to, if any (`ip -j neigh`).
    pub fn neigh(&self, ip: &str) -> Option<String> {
        let v = self.ip_json(&["neigh", "show", "to", ip]);
        v.as_array()?
            .iter()
            .find(|n| n.get("dst").and_then(|d| d.as_str()) == Some(ip))
            .and_then(|n| n.get("lladdr"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    }

    /// PIDs of every process in this namespace.
    pub fn pids(&self) -> Vec<i32> {
        Cmd::new("ip")
            .args(["netns", "pids", &self.name])
            .run()
            .stdout
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = Cmd::new("ip")
            .args(["netns", "del", &self.name])
            .timeout(Duration::from_secs(10))
            .run();
    }
}

/// Move the calling thread (only it) into network namespace `name`: for a test server or
/// client that runs on a thread of the test.
pub fn enter(name: &str) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(format!("/run/netns/{name}")).expect("open /run/netns entry");
    // SAFETY: setns(2) on a valid namespace fd switches only this thread's network namespace;
    // no memory is shared with the kernel beyond the fd, which outlives the call.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {name}: {}", std::io::Error::last_os_error());
}

/// The DESIGN.md topology: `gw` (bridge `br0`, .1), `lb1` (`eth0`, .4), `lb2` (`eth0`, .5).
/// In `gw`, the bridge ports are `p-lb1` and `p-lb2`; taking one down is a host crash.
/// IPv6 addresses 2001:db8::1/4/5 (/64, nodad) are added too.
pub struct Topo {
    pub gw: Netns,
    pub lb1: Netns,
    pub lb2: Netns,
}

impl Topo {
    pub fn new() -> Topo {
        let gw = Netns::new("gw");
        let lb1 = Netns::new("lb1");
        let lb2 = Netns::new("lb2");
        gw.ip(&["link", "add", "br0", "type", "bridge"]);
        gw.ip(&["link", "set", "br0", "up"]);
        gw.ip(&["addr", "add", &format!("{GW}/24"), "dev", "br0"]);
        gw.ip(&["addr", "add", &format!("{GW6}/64"), "dev", "br0", "nodad"]);
        for (lb, port, v4, v6) in [(&lb1, "p-lb1", LB1, LB1_6), (&lb2, "p-lb2", LB2, LB2_6)] {
            gw.ip(&[
                "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", &lb.name,
            ]);
            gw.ip(&["link", "set", port, "master", "br0", "up"]);
            lb.ip(&["link", "set", "eth0", "up"]);
            lb.ip(&["addr", "add", &format!("{v4}/24"), "dev", "eth0"]);
            lb.ip(&["addr", "add", &format!("{v6}/64"), "dev", "eth0", "nodad"]);
            lb.ip(&["route", "add", "default", "via", GW]);
        }
        Topo { gw, lb1, lb2 }
    }

    /// The balancer namespace by number (1 or 2).
    pub fn lb(&self, n: u8) -> &Netns {
        match n {
            1 => &self.lb1,
            2 => &self.lb2,
            _ => panic!("no lb{n}"),
        }
    }

    /// Host crash: take lb`n`'s bridge port down.
    pub fn crash(&self, n: u8) {
        self.gw.ip(&["link", "set", &format!("p-lb{n}"), "down"]);
    }

    /// Host back: bring lb`n`'s bridge port up again.
    pub fn restore(&self, n: u8) {
        self.gw.ip(&["link", "set", &format!("p-lb{n}"), "up"]);
    }
}

/// A single namespace with a dummy-free veth pair inside it: `eth0` (198.51.100.4/24,
/// 2001:db8::4/64) and its peer `peer0` (198.51.100.1/24), both up. Enough for address tests.
pub fn single() -> Netns {
    let ns = Netns::new("one");
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "peer0", "up"]);
    ns.ip(&["addr", "add", &format!("{LB1}/24"), "dev", "eth0"]);
    ns.ip(&[
        "addr",
        "add",
        &format!("{LB1_6}/64"),
        "dev",
        "eth0",
        "nodad",
    ]);
    ns.ip(&["addr", "add", &format!("{GW}/24"), "dev", "peer0"]);
    ns
}

#[test]
fn topology_builds_and_gateway_reaches_both_balancers() {
    if !crate::util::need_root() {
        return;
    }
    let t = Topo::new();
    for ip in [LB1, LB2] {
        t.gw.cmd("ping")
            .args(["-c", "1", "-W", "2", ip])
            .timeout(Duration::from_secs(5))
            .ok();
    }
    let name = t.gw.name.clone();
    drop(t);
    let list = Cmd::new("ip").args(["netns", "list"]).ok();
    assert!(!list.stdout.contains(&name), "namespace {name} left behind");
}
