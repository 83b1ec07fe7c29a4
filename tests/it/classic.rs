//! The classic failover flow and README's "Use" section, command by command as an operator
//! types them, in the DESIGN.md test network. Each step's effect is checked where the kernel
//! shows it: the address and its label (`ip -j addr`), the host route (`ip -j route`), the exit
//! code and what was printed, and in the end the gateway's neighbour entry for the VIP, which
//! must move from the old holder's MAC to the new one's once its ARP locktime has passed. Every
//! step is run twice: the second run must succeed and change nothing.
//!
//! The classic script's lines and their vipkit forms:
//!
//! | classic | modern | legacy |
//! |---|---|---|
//! | `ifconfig eth0:1 VIP broadcast B netmask M up` | `vip-bind --broadcast B eth0:1 VIP/24` | `vip-bind eth0:1 VIP broadcast B netmask M up` |
//! | `route add -host VIP dev eth0:1` | `vip-bind --host-route eth0:1 VIP/24` | `vip-bind --host-route eth0:1 VIP` |
//! | `arping -I eth0 -c 3 -s VIP GW` | `garp -I eth0 -c 3 -s VIP GW` | the same |

use std::time::{Duration, Instant};

use crate::netns::{GW, Netns, Topo, VIP1};
use crate::util::{Cmd, need_root, wait_until};

const VIP24: &str = "198.51.100.2/24";
const BRD: &str = "198.51.100.255";
/// The gateway's `net.ipv4.neigh.br0.locktime` (the kernel's default, left as it is).
const LOCKTIME: Duration = Duration::from_secs(1);

/// The stage every flow starts from: lb2 held the VIP (labelled, as the classic script left
/// it), the gateway talked to it and so maps the VIP to lb2's MAC, lb2 released it, and the
/// gateway's entry is older than its locktime, so that an announcement may replace it.
struct Stage {
    t: Topo,
    mac1: String,
    mac2: String,
}

fn stage() -> Stage {
    let t = Topo::new();
    let (mac1, mac2) = (t.lb1.mac("eth0"), t.lb2.mac("eth0"));
    t.lb2.tool("vip-bind").args(["eth0:ha1", VIP24]).ok();
    t.gw.cmd("ping")
        .args(["-c", "1", "-W", "2", VIP1])
        .timeout(Duration::from_secs(5))
        .ok();
    let learnt = Instant::now();
    assert_eq!(
        t.gw.neigh(VIP1).as_deref(),
        Some(mac2.as_str()),
        "gw learnt lb2"
    );
    t.lb2
        .tool("vip-unbind")
        .args(["eth0:ha1", VIP1, "down"])
        .ok();
    assert!(t.lb2.addr("eth0", VIP1).is_none());
    std::thread::sleep(
        (learnt + LOCKTIME + Duration::from_millis(200)).saturating_duration_since(Instant::now()),
    );
    Stage { t, mac1, mac2 }
}

/// What a step may change: lb1's IPv4 addresses and main routing table.
fn state(ns: &Netns) -> (Vec<serde_json::Value>, serde_json::Value) {
    let v4 = ns
        .addrs("eth0")
        .into_iter()
        .filter(|a| a["family"] == "inet")
        .collect();
    (v4, ns.ip_json(&["route", "show", "table", "main"]))
}

/// Run `tool args` in `ns` as typed: exit `code`, nothing printed (every tool is quiet on
/// success, and a failed check prints nothing without -v). Then again: the same exit code,
/// silence, and no change to the addresses and routes.
fn step(ns: &Netns, tool: &str, args: &[&str], code: i32) {
    let first = ns.tool(tool).args(args).expect(code);
    assert_eq!(
        (first.stdout.as_str(), first.stderr.as_str()),
        ("", ""),
        "{first}"
    );
    let before = state(ns);
    let again = ns.tool(tool).args(args).expect(code);
    assert_eq!(
        (again.stdout.as_str(), again.stderr.as_str()),
        ("", ""),
        "{again}"
    );
    assert_eq!(
        state(ns),
        before,
        "re-running `{tool} {}` changed state",
        args.join(" ")
    );
}

/// The VIP's address entry on lb1's eth0: prefix length, label, broadcast (None if absent).
fn bound(ns: &Netns) -> Option<(u64, String, Option<String>)> {
    let a = ns.addr("eth0", VIP1)?;
    Some((
        a["prefixlen"].as_u64().unwrap_or(0),
        a["label"].as_str().unwrap_or("").to_string(),
        a["broadcast"].as_str().map(str::to_string),
    ))
}

/// The devices of main-table routes to exactly VIP/32.
fn host_route_devs(ns: &Netns) -> Vec<String> {
    let v = ns.ip_json(&["route", "show", "table", "main", &format!("{VIP1}/32")]);
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["dst"] == VIP1)
        .map(|r| r["dev"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Bound, but not yet announced: the gateway still sends the VIP's traffic to lb2.
fn gateway_not_told_yet(s: &Stage) {
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(s.t.gw.neigh(VIP1).as_deref(), Some(s.mac2.as_str()));
}

/// `garp -I eth0 -c 3 -s VIP GW` (= `arping -I eth0 -c 3 -s VIP GW`): afterwards the gateway's
/// entry for the VIP is lb1's MAC.
fn announce(s: &Stage, iface: &str) {
    announce_with(s, &["-I", iface, "-c", "3", "-s", VIP1, GW]);
}

fn announce_with(s: &Stage, args: &[&str]) {
    let lb1 = &s.t.lb1;
    step(lb1, "garp", args, 0);
    let moved = wait_until(Duration::from_secs(2), || {
        s.t.gw.neigh(VIP1).as_deref() == Some(s.mac1.as_str())
    });
    assert!(
        moved,
        "gateway maps {VIP1} to {:?}, not lb1's {}",
        s.t.gw.neigh(VIP1),
        s.mac1
    );
}

/// `vip-bind --check eth0 VIP/24`, then `vip-unbind LABEL VIP down`, after which neither the
/// address nor its host route is left and the check fails.
fn check_and_release(lb1: &Netns, label: &str) {
    step(lb1, "vip-bind", &["--check", "eth0", VIP24], 0);
    release(lb1, &[label, VIP1, "down"]);
}

fn release(lb1: &Netns, args: &[&str]) {
    step(lb1, "vip-unbind", args, 0);
    assert_eq!(bound(lb1), None, "address gone");
    assert_eq!(
        host_route_devs(lb1),
        Vec::<String>::new(),
        "host route gone"
    );
    step(lb1, "vip-bind", &["--check", "eth0", VIP24], 1);
}

/// The address and ARP lines of README's "Use" section, in its order (checked against the
/// README below, so the two cannot drift apart).
const README_USE: [&str; 5] = [
    "vip-bind --host-route --broadcast + eth0:ha1 198.51.100.2/24",
    "vip-bind eth0:ha1 198.51.100.2 broadcast 198.51.100.255 netmask 255.255.255.0 up",
    "garp -I eth0 -c 3 -s 198.51.100.2 198.51.100.1",
    "vip-bind --check eth0 198.51.100.2/24",
    "vip-unbind eth0:ha1 198.51.100.2 down",
];

fn words(line: &str) -> (&str, Vec<&str>) {
    let mut w = line.split_whitespace();
    let tool = w.next().unwrap_or_default();
    (tool, w.collect())
}

#[test]
fn readme_use_section_is_what_is_tested() {
    let readme = std::fs::read_to_string(crate::util::root().join("README.md")).expect("README");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Use\n"))
        .expect("a Use section");
    let lines: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| {
            ["vip-bind ", "vip-unbind ", "garp "]
                .iter()
                .any(|t| l.starts_with(t))
        })
        .collect();
    assert_eq!(lines, README_USE);
}

/// README "Use", in order, as written there: the modern bind, the classic-form bind of the
/// same VIP (a no-op), garp, the check, the release.
#[test]
fn readme_use_section_in_order() {
    if !need_root() {
        return;
    }
    let s = stage();
    let lb1 = &s.t.lb1;
    let [modern, classic, garp, check, unbind] = README_USE.map(words);
    step(lb1, modern.0, &modern.1, 0);
    let want = Some((24, "eth0:ha1".to_string(), Some(BRD.to_string())));
    assert_eq!(bound(lb1), want);
    assert_eq!(host_route_devs(lb1), ["eth0"]);
    step(lb1, classic.0, &classic.1, 0);
    assert_eq!(
        bound(lb1),
        want,
        "the classic form describes the same address"
    );
    gateway_not_told_yet(&s);
    assert_eq!(garp.0, "garp");
    announce_with(&s, &garp.1);
    step(lb1, check.0, &check.1, 0);
    assert_eq!(unbind.0, "vip-unbind");
    release(lb1, &unbind.1);
}

/// The classic script's three lines in vipkit's modern form.
#[test]
fn classic_flow_modern_form() {
    if !need_root() {
        return;
    }
    let s = stage();
    let lb1 = &s.t.lb1;
    step(lb1, "vip-bind", &["--broadcast", BRD, "eth0:1", VIP24], 0);
    assert_eq!(bound(lb1), Some((24, "eth0:1".into(), Some(BRD.into()))));
    assert!(host_route_devs(lb1).is_empty(), "no route asked for yet");
    step(lb1, "vip-bind", &["--host-route", "eth0:1", VIP24], 0);
    assert_eq!(host_route_devs(lb1), ["eth0"]);
    assert_eq!(bound(lb1), Some((24, "eth0:1".into(), Some(BRD.into()))));
    gateway_not_told_yet(&s);
    announce(&s, "eth0");
    check_and_release(lb1, "eth0:1");
}

/// The classic script's three lines in the legacy form: the ifconfig words unchanged, the
/// route line as `vip-bind --host-route` without prefix (it matches what is bound), and
/// arping's flags unchanged.
#[test]
fn classic_flow_legacy_form() {
    if !need_root() {
        return;
    }
    let s = stage();
    let lb1 = &s.t.lb1;
    step(
        lb1,
        "vip-bind",
        &[
            "eth0:1",
            VIP1,
            "broadcast",
            BRD,
            "netmask",
            "255.255.255.0",
            "up",
        ],
        0,
    );
    assert_eq!(bound(lb1), Some((24, "eth0:1".into(), Some(BRD.into()))));
    step(lb1, "vip-bind", &["--host-route", "eth0:1", VIP1], 0);
    assert_eq!(host_route_devs(lb1), ["eth0"]);
    gateway_not_told_yet(&s);
    // The classic script named the alias on arping too, now and then: the same interface.
    announce(&s, "eth0:1");
    check_and_release(lb1, "eth0:1");
}

/// A VIP put there by someone else with a label (`ip addr add ... label eth0:ha1`, as
/// keepalived does) is announced, checked and released the same way.
#[test]
fn address_added_by_ip_with_a_label_then_garp() {
    if !need_root() {
        return;
    }
    let s = stage();
    let lb1 = &s.t.lb1;
    lb1.ip(&["addr", "add", VIP24, "dev", "eth0", "label", "eth0:ha1"]);
    lb1.ip(&["route", "add", &format!("{VIP1}/32"), "dev", "eth0"]);
    assert_eq!(bound(lb1), Some((24, "eth0:ha1".into(), None)));
    step(
        lb1,
        "vip-bind",
        &["--check", "--host-route", "eth0:ha1", VIP1],
        0,
    );
    gateway_not_told_yet(&s);
    announce(&s, "eth0");
    check_and_release(lb1, "eth0:ha1");
    // Nothing else was touched.
    let out = Cmd::new("ip")
        .args(["-n", &lb1.name, "-4", "-o", "addr", "show", "dev", "eth0"])
        .ok();
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "only lb1's own address left: {out}"
    );
}
