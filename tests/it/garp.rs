//! Integration tests for garp, in the DESIGN.md test network: a VIP moves from lb1 to lb2 and
//! the gateway's neighbour table (`ip -j neigh`, the observer) must follow only when garp
//! announces it. `tcpdump -xx` in the gateway namespace checks the bytes on the wire.
//!
//! The gateway keeps Linux's default sysctls (arp_accept 0, locktime 1 s) unless a test says
//! otherwise: with them, every announcement form updates an existing entry.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::Capture;
use crate::netns::{GW, LB1_6, Topo, VIP1, VIP2};
use crate::util::{Cmd, Output, need_root, others_in_pid_ns, wait_until};

/// Fixed MACs, so that expected frames can be written out byte by byte.
const MAC1: &str = "02:00:5e:10:00:04";
const MAC2: &str = "02:00:5e:10:00:05";
const VIP6: &str = "2001:db8::2";

/// The topology with fixed MACs on lb1 and lb2.
fn topo() -> Topo {
    let t = Topo::new();
    t.lb1.ip(&["link", "set", "eth0", "address", MAC1]);
    t.lb2.ip(&["link", "set", "eth0", "address", MAC2]);
    t
}

/// lb1 held `vip` (`prefix`) and the gateway talked to it, so the gateway's entry points at
/// lb1; then the VIP moved to lb2 with plain `ip addr` (no announcement).
fn moved(vip: &str, prefix: &str) -> Topo {
    let t = topo();
    let cidr = format!("{vip}/{prefix}");
    let mut add = vec!["addr", "add", cidr.as_str(), "dev", "eth0"];
    if vip.contains(':') {
        add.push("nodad");
    }
    t.lb1.ip(&add);
    t.gw.cmd("ping")
        .args(["-c", "1", "-W", "2", vip])
        .timeout(Duration::from_secs(5))
        .ok();
    assert_eq!(t.gw.neigh(vip).as_deref(), Some(MAC1), "gateway learnt lb1");
    t.lb1.ip(&["addr", "del", &cidr, "dev", "eth0"]);
    t.lb2.ip(&add);
    t
}

/// Run garp in lb2 with `args`, expecting success and silence.
fn garp_ok(t: &Topo, args: &[&str]) -> Output {
    let out = t.lb2.tool("garp").args(args).ok();
    assert_eq!(out.stdout, "", "quiet on success\n{out}");
    assert_eq!(out.stderr, "", "quiet on success\n{out}");
    out
}

/// Wait (briefly: the frame is in flight when garp returns) for the gateway's entry for `ip`.
fn gateway_maps(t: &Topo, ip: &str, mac: &str) -> bool {
    wait_until(Duration::from_secs(2), || {
        t.gw.neigh(ip).as_deref() == Some(mac)
    })
}

fn announcement_moves_the_gateway_entry(args: &[&str]) {
    if !need_root() {
        return;
    }
    let t = moved(VIP1, "24");
    garp_ok(&t, args);
    assert!(
        gateway_maps(&t, VIP1, MAC2),
        "garp {args:?}: gateway still maps {VIP1} to {:?}",
        t.gw.neigh(VIP1)
    );
}

#[test]
fn without_garp_the_gateway_keeps_the_old_mac() {
    if !need_root() {
        return;
    }
    let t = moved(VIP1, "24");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.gw.neigh(VIP1).as_deref(), Some(MAC1));
}

#[test]
fn gateway_aimed_request_moves_the_gateway_entry() {
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-c", "1", "-s", VIP1, GW]);
}

#[test]
fn unsolicited_request_moves_the_gateway_entry() {
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-c", "1", "-U", "-s", VIP1]);
}

#[test]
fn reply_moves_the_gateway_entry() {
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-c", "1", "-A", "-s", VIP1]);
}

#[test]
fn both_moves_the_gateway_entry() {
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-c", "1", "--both", "-s", VIP1, GW]);
}

#[test]
fn arping_address_defaults_announce_the_vip() {
    // No TARGET: unsolicited for SOURCE. -U with only TARGET: the target is the source.
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-s", VIP1]);
    announcement_moves_the_gateway_entry(&["-I", "eth0", "-U", VIP1]);
    announcement_moves_the_gateway_entry(&["-I", "eth0:ha1", "-A", VIP1]);
}

/// What the man page says about locktime: a reply aimed at the gateway is not gratuitous and
/// is ignored within locktime of the last update; the gateway-aimed request is not.
#[test]
fn locktime_ignores_only_the_non_gratuitous_reply() {
    if !need_root() {
        return;
    }
    let t = moved(VIP1, "24");
    // net.ipv4.neigh.br0.locktime, set with ip (milliseconds) rather than sysctl(8).
    let locktime = |ms: &str| {
        t.gw.ip(&[
            "ntable",
            "change",
            "name",
            "arp_cache",
            "dev",
            "br0",
            "locktime",
            ms,
        ]);
    };
    locktime("60000"); // one minute: certainly within it
    garp_ok(&t, &["-I", "eth0", "-A", "-s", VIP1, GW]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        t.gw.neigh(VIP1).as_deref(),
        Some(MAC1),
        "ignored within locktime"
    );
    locktime("0");
    garp_ok(&t, &["-I", "eth0", "-A", "-s", VIP1, GW]);
    assert!(gateway_maps(&t, VIP1, MAC2), "accepted with locktime 0");

    // Back to lb1's MAC through a gratuitous frame from lb1 (with --force: lb1 no longer
    // holds it), then the gateway-aimed request must win within a long locktime.
    t.lb1
        .tool("garp")
        .args(["-I", "eth0", "--force", "-U", "-s", VIP1])
        .ok();
    assert!(gateway_maps(&t, VIP1, MAC1));
    locktime("60000");
    garp_ok(&t, &["-I", "eth0", "-s", VIP1, GW]);
    assert!(
        gateway_maps(&t, VIP1, MAC2),
        "gateway-aimed request ignores locktime"
    );
}

#[test]
fn ipv6_unsolicited_na_moves_the_gateway_entry() {
    if !need_root() {
        return;
    }
    let t = moved(VIP6, "64");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        t.gw.neigh(VIP6).as_deref(),
        Some(MAC1),
        "no change without garp"
    );
    garp_ok(&t, &["-I", "eth0", "-s", VIP6]);
    assert!(
        gateway_maps(&t, VIP6, MAC2),
        "gateway still maps {VIP6} to {:?}",
        t.gw.neigh(VIP6)
    );
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// Expected frames, written out field by field (RFC 826 ARP over Ethernet; RFC 4861 NA/NS over
// IPv6, checksums computed by hand). lb2's MAC is 02:00:5e:10:00:05, VIP 198.51.100.2
// (c6 33 64 02), GW 198.51.100.1, VIP2 198.51.100.3.
const WHO_HAS_GW_TELL_VIP: &str = "ffffffffffff 02005e100005 0806 \
    0001 0800 06 04 0001 02005e100005 c6336402 000000000000 c6336401";
const WHO_HAS_VIP_TELL_VIP: &str = "ffffffffffff 02005e100005 0806 \
    0001 0800 06 04 0001 02005e100005 c6336402 000000000000 c6336402";
const VIP_IS_AT_MAC2: &str = "ffffffffffff 02005e100005 0806 \
    0001 0800 06 04 0002 02005e100005 c6336402 02005e100005 c6336402";
const VIP_IS_AT_MAC2_TO_GW: &str = "ffffffffffff 02005e100005 0806 \
    0001 0800 06 04 0002 02005e100005 c6336402 02005e100005 c6336401";
const PROBE_VIP2: &str = "ffffffffffff 02005e100005 0806 \
    0001 0800 06 04 0001 02005e100005 00000000 000000000000 c6336403";
const NA_VIP6: &str = "333300000001 02005e100005 86dd \
    60000000 0020 3a ff \
    20010db8000000000000000000000002 ff020000000000000000000000000001 \
    88 00 9b14 20000000 20010db8000000000000000000000002 \
    02 01 02005e100005";
const NS_PROBE_VIP6: &str = "3333ff000002 02005e100005 86dd \
    60000000 0018 3a ff \
    00000000000000000000000000000000 ff0200000000000000000001ff000002 \
    87 00 4ceb 00000000 20010db8000000000000000000000002";

#[test]
fn tcpdump_shows_each_arp_frame_type_with_the_expected_bytes() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let cap = Capture::start(&t.gw, "p-lb2", &format!("arp and ether src {MAC2}"));
    garp_ok(&t, &["-I", "eth0", "-s", VIP1, GW]);
    garp_ok(&t, &["-I", "eth0", "-U", "-s", VIP1]);
    garp_ok(&t, &["-I", "eth0", "-A", "-s", VIP1]);
    garp_ok(&t, &["-I", "eth0", "--both", "-s", VIP1, GW]);
    t.lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "0.1", VIP2])
        .ok();
    let got: Vec<String> = cap.frames().iter().map(|(_, f)| hex_of(f)).collect();
    let want: Vec<String> = [
        WHO_HAS_GW_TELL_VIP,
        WHO_HAS_VIP_TELL_VIP,
        VIP_IS_AT_MAC2,
        WHO_HAS_GW_TELL_VIP,
        VIP_IS_AT_MAC2_TO_GW,
        PROBE_VIP2,
    ]
    .iter()
    .map(|h| hex_of(&hex(h)))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn tcpdump_shows_the_ipv6_na_and_ns_with_the_expected_bytes() {
    if !need_root() {
        return;
    }
    let t = topo();
    // ICMPv6 NS/NA only; the kernel's own (link-local DAD, MLD) are told apart by target below.
    let cap = Capture::start(
        &t.gw,
        "p-lb2",
        &format!("ether src {MAC2} and icmp6 and (ip6[40] == 135 or ip6[40] == 136)"),
    );
    t.lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "0.1", VIP6])
        .ok();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP6}/64"), "dev", "eth0", "nodad"]);
    garp_ok(&t, &["-I", "eth0", "-s", VIP6]);
    let vip6: std::net::Ipv6Addr = VIP6.parse().unwrap();
    let ours: Vec<String> = cap
        .frames()
        .iter()
        .filter(|(_, f)| f.len() >= 78 && f[62..78] == vip6.octets())
        .map(|(_, f)| hex_of(f))
        .collect();
    assert_eq!(
        ours,
        vec![hex_of(&hex(NS_PROBE_VIP6)), hex_of(&hex(NA_VIP6))]
    );
}

#[test]
fn count_and_interval_send_exactly_that_many_on_schedule() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let cap = Capture::start(&t.gw, "p-lb2", &format!("arp and ether src {MAC2}"));
    let out = garp_ok(&t, &["-I", "eth0", "-c", "3", "-i", "0.2", "-s", VIP1, GW]);
    let returned = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let frames = cap.frames();
    let ts: Vec<f64> = frames.iter().map(|(t, _)| *t).collect();
    assert_eq!(ts.len(), 3, "exactly 3 frames: {ts:?}");
    for gap in ts.windows(2).map(|w| w[1] - w[0]) {
        assert!((0.15..0.35).contains(&gap), "about 0.2 s apart: {ts:?}");
    }
    // Returns right after the third: no sleep after the last packet. `elapsed` includes the
    // `ip netns exec` start; the bounds are loose on purpose.
    assert!(
        out.elapsed >= Duration::from_millis(380) && out.elapsed < Duration::from_millis(900),
        "{out}"
    );
    let after_last = returned - ts[2];
    assert!(
        (-0.05..0.2).contains(&after_last),
        "returned {after_last:.3}s after the last frame"
    );
}

#[test]
fn duplicate_probe_reports_a_taken_address_with_its_mac() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb1
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let out = t
        .lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "1", VIP1])
        .expect(4);
    assert!(out.stderr.contains(MAC1), "names the answering MAC\n{out}");
    assert!(out.stderr.starts_with("garp: ") && out.stderr.lines().count() == 1);
    assert!(out.elapsed < Duration::from_secs(1), "within -w\n{out}");

    let quiet = t
        .lb2
        .tool("garp")
        .args(["-q", "-I", "eth0", "-D", VIP1])
        .expect(4);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));

    let verbose = t
        .lb2
        .tool("garp")
        .args(["-v", "-I", "eth0", "-D", VIP1])
        .expect(4);
    assert!(verbose.stdout.contains("tell 0.0.0.0"), "{verbose}");
    assert!(
        verbose.stdout.contains(&format!("answered from {MAC1}")),
        "{verbose}"
    );
}

#[test]
fn duplicate_probe_passes_for_a_free_address_after_the_deadline() {
    if !need_root() {
        return;
    }
    let t = topo();
    let start = Instant::now();
    let out = t
        .lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "0.3", VIP2])
        .ok();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "waits -w, then stops\n{out}"
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

#[test]
fn ipv6_duplicate_probe_uses_ns_and_reports_the_owner() {
    if !need_root() {
        return;
    }
    let t = topo();
    let out = t
        .lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "1", LB1_6])
        .expect(4);
    assert!(out.stderr.contains(MAC1), "{out}");
    assert!(out.elapsed < Duration::from_secs(1), "{out}");
    t.lb2
        .tool("garp")
        .args(["-I", "eth0", "-D", "-w", "0.2", "2001:db8::99"])
        .ok();
}

#[test]
fn verbose_says_what_was_sent() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let out = t
        .lb2
        .tool("garp")
        .args(["-v", "-I", "eth0", "--both", "-s", VIP1, GW])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("sent ARP request who-has 198.51.100.1 tell 198.51.100.2"),
        "{out}"
    );
    assert!(
        lines[1].contains("sent ARP reply 198.51.100.2 is-at 02:00:5e:10:00:05"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_its_documented_exit_code() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    // d0 (a veth pair inside lb2) stays down.
    t.lb2
        .ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    t.lb2.ip(&["addr", "add", "192.0.2.7/24", "dev", "d0"]);
    let cases: &[(&[&str], i32, &str)] = &[
        (&["-I", "eth0", "-i", "abc", "-s", VIP1], 2, "--interval"),
        (&["-I", "eth0", "-i", "-1", "-s", VIP1], 2, "--interval"),
        (&["-I", "eth0", "-w", "0", "-D", VIP2], 2, "--deadline"),
        (&["-I", "eth0", "-c", "0", "-s", VIP1], 2, "--count"),
        (&["-I", "eth0", "-s", "198.51.100", GW], 2, "198.51.100"),
        (&["-I", "eth0", "-s", VIP1, "2001:db8::1"], 2, "families"),
        (&["-I", "eth0", "-s", VIP6, GW], 2, "families"),
        (&["-I", "eth0", "-s", "255.255.255.255"], 2, "unicast"),
        (&["-I", "eth0", "-D"], 2, "TARGET"),
        (&["-I", "eth0"], 2, "nothing to announce"),
        (&["-I", "eth0", "-U", "-A", "-s", VIP1], 2, "cannot be used"),
        (&["-I", "eth0/x", "-s", VIP1], 2, "interface name"),
        (
            &["-I", "eth0", "-s", "198.51.100.9", GW],
            1,
            "not an address of eth0",
        ),
        (
            &["-I", "eth0", "-U", "198.51.100.9"],
            1,
            "not an address of eth0",
        ),
        (&["-I", "nope0", "-s", VIP1], 1, "no such interface: nope0"),
        (
            &["-I", "lo", "-s", "127.0.0.1"],
            1,
            "lo has no Ethernet address",
        ),
        (&["-I", "d0", "-s", "192.0.2.7"], 1, "d0 is down"),
    ];
    for (args, code, needle) in cases {
        let out = t.lb2.tool("garp").args(*args).expect(*code);
        assert!(
            out.stderr.starts_with("garp: ") && out.stderr.lines().count() == 1,
            "one line `garp: ...`\n{out}"
        );
        assert!(out.stderr.contains(needle), "mentions {needle:?}\n{out}");
        assert_eq!(out.stdout, "", "{out}");
    }
    // --force sends for an address IFACE does not hold.
    garp_ok(&t, &["-I", "eth0", "--force", "-s", "198.51.100.9", GW]);
}

#[test]
fn without_cap_net_raw_exits_3_naming_it() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    let out = t
        .lb2
        .cmd("setpriv")
        .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"])
        .arg(crate::util::bin("garp"))
        .args(["-I", "eth0", "-s", VIP1, GW])
        .expect(3);
    assert!(out.stderr.contains("CAP_NET_RAW"), "{out}");
}

/// The README's flow: a VIP bound with a label (`eth0:ha1`) is an address of eth0 for garp,
/// whether vip-bind or `ip addr add ... label` put it there, and `-I eth0:ha1` means eth0.
#[test]
fn labelled_vips_are_addresses_of_their_interface() {
    if !need_root() {
        return;
    }
    let t = moved(VIP1, "24");
    t.lb2
        .ip(&["addr", "del", &format!("{VIP1}/24"), "dev", "eth0"]);
    t.lb2
        .tool("vip-bind")
        .args(["--host-route", "eth0:ha1", &format!("{VIP1}/24")])
        .ok();
    garp_ok(&t, &["-I", "eth0", "-c", "1", "-s", VIP1, GW]);
    assert!(
        gateway_maps(&t, VIP1, MAC2),
        "gateway still maps {VIP1} to {:?}",
        t.gw.neigh(VIP1)
    );
    t.lb2.ip(&[
        "addr",
        "add",
        &format!("{VIP2}/24"),
        "dev",
        "eth0",
        "label",
        "eth0:ha2",
    ]);
    garp_ok(&t, &["-I", "eth0", "-U", "-s", VIP2]);
    garp_ok(&t, &["-I", "eth0:ha2", "-U", "-s", VIP2]);
    garp_ok(&t, &["-I", "eth0:ha1", "-s", VIP2, GW]);
    // Still refused for an address eth0 does not hold, under any label.
    let out = t
        .lb2
        .tool("garp")
        .args(["-I", "eth0:ha1", "-s", "198.51.100.9", GW])
        .expect(1);
    assert!(out.stderr.contains("not an address of eth0"), "{out}");
    // A malformed alias is a usage error naming it.
    let out = t
        .lb2
        .tool("garp")
        .args(["-I", "eth0:", "-s", VIP1])
        .expect(2);
    assert!(out.stderr.contains("eth0:"), "{out}");
}

/// A tool leaves no process behind: under an init that never reaps (a container whose PID 1 is
/// not a reaper), every garp call would otherwise leave a zombie.
#[test]
fn garp_leaves_no_process_behind_where_init_does_not_reap() {
    if !need_root() {
        return;
    }
    let t = topo();
    t.lb2
        .ip(&["addr", "add", &format!("{VIP1}/24"), "dev", "eth0"]);
    // `sleep` as PID 1 of a new PID namespace (inside lb2's network namespace) reaps nothing.
    let (unshare, init) = crate::util::non_reaping_init(&t.lb2, 60);
    let garp = crate::util::bin("garp");
    for args in [
        &["-I", "eth0", "-c", "2", "-i", "0", "-s", VIP1, GW][..],
        &["-I", "eth0", "-U", "-s", VIP1],
        &["-I", "eth0", "-D", "-w", "0.05", VIP2],
    ] {
        Cmd::new("nsenter")
            .args(["-t", &init.to_string(), "-p", "-n", "--"])
            .arg(&garp)
            .args(args)
            .ok();
    }
    // Anything garp left would exit (and stay a zombie) within milliseconds.
    std::thread::sleep(Duration::from_millis(300));
    let left = others_in_pid_ns(init);
    assert!(
        left.is_empty(),
        "left behind in the PID namespace: {left:?}"
    );
    drop(unshare);
}
