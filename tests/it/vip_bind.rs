//! vip-bind / vip-unbind against the real kernel, observed with `ip -j addr` and `ip route`.

use crate::netns::{Netns, single};
use crate::util::{Cmd, need_root};

const VIP: &str = "198.51.100.2";

fn bind(ns: &Netns) -> Cmd {
    ns.tool("vip-bind")
}

fn unbind(ns: &Netns) -> Cmd {
    ns.tool("vip-unbind")
}

fn has_route(ns: &Netns, addr: &str) -> bool {
    let v = ns.ip_json(&["route", "show", "table", "main"]);
    v.as_array()
        .into_iter()
        .flatten()
        .any(|r| r["dst"] == addr && r["dev"] == "eth0")
}

#[test]
fn legacy_form_sets_label_broadcast_and_netmask() {
    if !need_root() {
        return;
    }
    let ns = single();
    bind(&ns)
        .args([
            "eth0:ha1",
            VIP,
            "broadcast",
            "198.51.100.255",
            "netmask",
            "255.255.255.0",
            "up",
        ])
        .ok();
    let a = ns.addr("eth0", VIP).expect("VIP bound");
    assert_eq!(a["prefixlen"], 24);
    assert_eq!(a["label"], "eth0:ha1");
    assert_eq!(a["broadcast"], "198.51.100.255");
    // The legacy unbind form, with its trailing `down`.
    unbind(&ns).args(["eth0:ha1", VIP, "down"]).ok();
    assert!(ns.addr("eth0", VIP).is_none());
}

#[test]
fn modern_form_defaults_prefix_from_covering_address() {
    if !need_root() {
        return;
    }
    let ns = single();
    let out = bind(&ns).args(["-v", "--broadcast", "+", "eth0", VIP]).ok();
    assert_eq!(out.stdout, format!("added {VIP}/24 dev eth0\n"));
    let a = ns.addr("eth0", VIP).expect("VIP bound");
    assert_eq!(a["prefixlen"], 24, "prefix of the covering 198.51.100.4/24");
    assert_eq!(a["broadcast"], "198.51.100.255");
    // Outside every interface subnet: a host address.
    bind(&ns)
        .args(["--label", "ext", "eth0", "203.0.113.7"])
        .ok();
    let a = ns.addr("eth0", "203.0.113.7").expect("bound");
    assert_eq!(a["prefixlen"], 32);
    assert_eq!(a["label"], "eth0:ext");
}

#[test]
fn binding_and_unbinding_twice_is_a_quiet_no_op() {
    if !need_root() {
        return;
    }
    let ns = single();
    let first = bind(&ns).args(["eth0:1", &format!("{VIP}/24")]).ok();
    assert_eq!(first.stdout, "", "quiet without -v");
    assert_eq!(first.stderr, "");
    let before = ns.addrs("eth0");
    let again = bind(&ns).args(["-v", "eth0:1", &format!("{VIP}/24")]).ok();
    assert_eq!(
        again.stdout,
        format!("present {VIP}/24 dev eth0 label eth0:1\n")
    );
    assert_eq!(ns.addrs("eth0"), before, "second bind changed nothing");
    unbind(&ns).args(["eth0:1", VIP]).ok();
    let absent = unbind(&ns).args(["-v", "eth0:1", VIP]).ok();
    assert_eq!(absent.stdout, format!("absent {VIP} dev eth0\n"));
    assert!(ns.addr("eth0", VIP).is_none());
    assert!(
        ns.addr("eth0", "198.51.100.4").is_some(),
        "primary untouched"
    );
}

#[test]
fn check_reports_both_ways_and_changes_nothing() {
    if !need_root() {
        return;
    }
    let ns = single();
    let vip24 = format!("{VIP}/24");
    let out = bind(&ns).args(["--check", "-v", "eth0", &vip24]).expect(1);
    assert!(out.stdout.starts_with("not bound"), "{out}");
    assert!(ns.addr("eth0", VIP).is_none(), "--check must not bind");
    bind(&ns).args(["eth0:ha1", &vip24]).ok();
    bind(&ns).args(["--check", "eth0", &vip24]).ok();
    bind(&ns).args(["--check", "eth0:ha1", &vip24]).ok();
    // Described differently: another label, another prefix, a host route that is missing.
    bind(&ns).args(["--check", "eth0:other", &vip24]).expect(1);
    bind(&ns)
        .args(["--check", "eth0", &format!("{VIP}/32")])
        .expect(1);
    bind(&ns)
        .args(["--check", "--host-route", "eth0", &vip24])
        .expect(1);
    // --check needs no privilege.
    Cmd::tool_unprivileged(&ns.name, "vip-bind")
        .args(["--check", "eth0", &vip24])
        .ok();
}

#[test]
fn host_route_is_added_and_removed() {
    if !need_root() {
        return;
    }
    let ns = single();
    bind(&ns).args(["--host-route", "eth0:1", VIP]).ok();
    assert!(has_route(&ns, VIP), "route add -host equivalent");
    bind(&ns)
        .args(["--check", "--host-route", "eth0:1", VIP])
        .ok();
    // Idempotent with the route present too.
    bind(&ns).args(["--host-route", "eth0:1", VIP]).ok();
    unbind(&ns).args(["eth0:1", VIP]).ok();
    assert!(!has_route(&ns, VIP), "host route removed with the VIP");
    assert!(ns.addr("eth0", VIP).is_none());
    // A route left behind alone is cleaned up by unbind too.
    ns.ip(&["route", "add", &format!("{VIP}/32"), "dev", "eth0"]);
    unbind(&ns).args(["eth0", VIP]).ok();
    assert!(!has_route(&ns, VIP));
}

#[test]
fn ipv6_vip_is_added_without_dad() {
    if !need_root() {
        return;
    }
    let ns = single();
    bind(&ns).args(["eth0", "2001:db8::2"]).ok();
    let a = ns.addr("eth0", "2001:db8::2").expect("bound");
    assert_eq!(a["prefixlen"], 64, "covering 2001:db8::4/64");
    assert_eq!(a["nodad"], true);
    assert!(a.get("tentative").is_none(), "usable at once: {a}");
    bind(&ns).args(["eth0", "2001:db8::2/64"]).ok();
    bind(&ns).args(["--check", "eth0", "2001:db8::2/64"]).ok();
    bind(&ns).args(["eth0:x", "2001:db8::3"]).expect(2);
    unbind(&ns).args(["eth0", "2001:db8::2"]).ok();
    assert!(ns.addr("eth0", "2001:db8::2").is_none());
}

#[test]
fn conflicts_exit_4_unless_forced() {
    if !need_root() {
        return;
    }
    let ns = single();
    ns.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "peer1",
    ]);
    ns.ip(&["link", "set", "eth1", "up"]);
    let vip24 = format!("{VIP}/24");
    bind(&ns).args(["eth0:a", &vip24]).ok();
    // Another prefix, another label: conflict, state unchanged.
    let e = bind(&ns).args(["eth0", &format!("{VIP}/32")]).expect(4);
    assert!(
        e.stderr.starts_with("vip-bind: ") && e.stderr.contains("--force"),
        "{e}"
    );
    bind(&ns).args(["eth0:b", &vip24]).expect(4);
    assert_eq!(ns.addr("eth0", VIP).unwrap()["label"], "eth0:a");
    // Held on another interface.
    let e = bind(&ns).args(["eth1", &vip24]).expect(4);
    assert!(e.stderr.contains("eth0"), "{e}");
    // Unbind with another label or prefix than bound: conflict too.
    unbind(&ns).args(["eth0:b", VIP]).expect(4);
    unbind(&ns).args(["eth0", &format!("{VIP}/32")]).expect(4);
    // --force replaces in place, and moves across interfaces.
    bind(&ns).args(["--force", "eth0:b", &vip24]).ok();
    assert_eq!(ns.addr("eth0", VIP).unwrap()["label"], "eth0:b");
    bind(&ns).args(["--force", "eth1", &vip24]).ok();
    assert!(ns.addr("eth0", VIP).is_none());
    assert!(ns.addr("eth1", VIP).is_some());
}

#[test]
fn primary_address_is_refused_without_force() {
    if !need_root() {
        return;
    }
    let ns = single();
    // The kernel's behaviour this refusal guards against (not the distribution's default).
    set_promote(&ns, &["eth0"], false);
    bind(&ns).args(["eth0:1", VIP]).ok();
    let e = unbind(&ns).args(["eth0", "198.51.100.4"]).expect(4);
    assert!(e.stderr.contains("primary"), "{e}");
    assert!(
        e.stderr.contains(VIP),
        "names the secondaries that would go: {e}"
    );
    assert!(ns.addr("eth0", "198.51.100.4").is_some());
    assert!(ns.addr("eth0", VIP).is_some());
    unbind(&ns).args(["--force", "eth0", "198.51.100.4"]).ok();
    assert!(ns.addr("eth0", "198.51.100.4").is_none());
}

#[test]
fn dry_run_prints_ip_commands_and_changes_nothing() {
    if !need_root() {
        return;
    }
    let ns = single();
    let before = ns.addrs("eth0");
    let out = bind(&ns)
        .args([
            "-n",
            "--host-route",
            "--broadcast",
            "+",
            "eth0:ha1",
            &format!("{VIP}/24"),
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "ip addr add 198.51.100.2/24 brd 198.51.100.255 dev eth0 label eth0:ha1\n\
         ip route add 198.51.100.2/32 dev eth0\n"
    );
    assert_eq!(ns.addrs("eth0"), before);
    assert!(!has_route(&ns, VIP));
    bind(&ns).args(["eth0:ha1", &format!("{VIP}/24")]).ok();
    let out = unbind(&ns).args(["-n", "eth0:ha1", VIP]).ok();
    assert_eq!(out.stdout, "ip addr del 198.51.100.2/24 dev eth0\n");
    assert!(ns.addr("eth0", VIP).is_some());
}

#[test]
fn bad_input_gets_usage_errors_naming_the_value() {
    if !need_root() {
        return;
    }
    let ns = single();
    let before = ns.addrs("eth0");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["eth0:1", VIP, "netamsk", "255.255.255.0"], 2, "netamsk"),
        (&["eth0:1", VIP, "netmask", "255.0.255.0"], 2, "255.0.255.0"),
        (&["eth0:1", "198.51.100.256"], 2, "198.51.100.256"),
        (
            &[
                "eth0:1",
                VIP,
                "broadcast",
                "198.51.101.255",
                "netmask",
                "255.255.255.0",
            ],
            2,
            "198.51.101.255",
        ),
        (&["eth0:1", "198.51.100.2/33"], 2, "198.51.100.2/33"),
        (&["--label", "eth1:1", "eth0", VIP], 2, "eth1:1"),
        (&["eth0:averyverylonglabel", VIP], 2, "averyverylonglabel"),
        (&["eth0:", VIP], 2, "eth0:"),
        (&["eth0", "224.0.0.1"], 2, "224.0.0.1"),
        (&["eth0", "198.51.100.255/24"], 2, "198.51.100.255"),
        (&["eth0", VIP, "netmask"], 2, "netmask"),
        (&["--bogus", "eth0", VIP], 2, "--bogus"),
        (&["--broadcast", "x", "eth0", VIP], 2, "\"x\""),
        (&["--dad-timeout", "soon", "eth0", VIP], 2, "soon"),
        (&["eth0"], 2, "ADDR"),
        (&["etho", VIP], 1, "etho"),
        (&["eth9:1", VIP], 1, "eth9"),
    ];
    for (args, code, needle) in cases {
        let out = bind(&ns).args(*args).expect(*code);
        let line = out.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {out}");
        assert!(line.starts_with("vip-bind: "), "{out}");
        assert!(line.contains(needle), "should name {needle}: {out}");
    }
    assert_eq!(ns.addrs("eth0"), before, "nothing applied");
    unbind(&ns).args(["eth0:1", VIP, "netamsk", "x"]).expect(2);
    unbind(&ns).args(["eth0:1", VIP, "up"]).expect(2);
    unbind(&ns).args(["eth9", VIP]).expect(1);
}

#[test]
fn without_cap_net_admin_exit_3_names_the_capability() {
    if !need_root() {
        return;
    }
    let ns = single();
    for (tool, args) in [
        ("vip-bind", ["eth0:1", VIP]),
        ("vip-unbind", ["eth0", "198.51.100.4"]),
    ] {
        let out = Cmd::tool_unprivileged(&ns.name, tool)
            .args(["--force"])
            .args(args)
            .expect(3);
        assert!(out.stderr.contains("CAP_NET_ADMIN"), "{out}");
        assert!(out.stderr.contains("operation not permitted"), "{out}");
    }
    assert!(ns.addr("eth0", VIP).is_none());
    assert!(ns.addr("eth0", "198.51.100.4").is_some());
    // A request that changes nothing succeeds without privilege.
    Cmd::tool_unprivileged(&ns.name, "vip-unbind")
        .args(["eth0", VIP])
        .ok();
}

#[test]
fn help_lists_every_exit_code() {
    for tool in ["vip-bind", "vip-unbind"] {
        let out = Cmd::tool(tool).arg("--help").ok();
        for code in ["0 ", "1 ", "2 ", "3 ", "4 "] {
            assert!(
                out.stdout.contains(&format!("  {code} ")),
                "{tool} --help lacks {code}"
            );
        }
    }
}

#[test]
fn dad_refuses_an_address_another_host_answers_for() {
    if !need_root() {
        return;
    }
    let t = crate::netns::Topo::new();
    let lb2_mac = t.lb2.mac("eth0");
    t.lb2
        .ip(&["addr", "add", &format!("{VIP}/24"), "dev", "eth0"]);
    let out = bind(&t.lb1)
        .args(["--dad", "--dad-timeout", "0.5", "eth0:ha1", VIP])
        .expect(4);
    assert!(
        out.stderr.contains(&lb2_mac),
        "names the MAC that answered: {out}"
    );
    assert!(t.lb1.addr("eth0", VIP).is_none(), "nothing bound");
    t.lb2
        .ip(&["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
    let out = bind(&t.lb1)
        .args(["-v", "--dad", "--dad-timeout", "0.2", "eth0:ha1", VIP])
        .ok();
    assert!(
        out.elapsed.as_secs_f64() >= 0.2,
        "waited for answers: {out}"
    );
    assert!(t.lb1.addr("eth0", VIP).is_some());
    // Already bound here: no probe, no wait.
    bind(&t.lb1)
        .args(["--dad", "--dad-timeout", "5", "eth0:ha1", VIP])
        .timeout(std::time::Duration::from_secs(2))
        .ok();
}

/// A second interface `v1` (a veth pair inside the namespace, up, no address), for the cases
/// where a VIP is the interface's first address. `promote` sets promote_secondaries on it (and
/// on `all`, since the kernel ORs them), so the tests do not depend on the distribution's
/// default (systemd sets it to 1).
fn with_v1(ns: &Netns, promote: bool) {
    ns.ip(&["link", "add", "v1", "type", "veth", "peer", "name", "pv1"]);
    ns.ip(&["link", "set", "v1", "up"]);
    ns.ip(&["link", "set", "pv1", "up"]);
    set_promote(ns, &["v1", "eth0"], promote);
}

/// net.ipv4.conf.{all,DEV...}.promote_secondaries inside the namespace.
fn set_promote(ns: &Netns, devs: &[&str], promote: bool) {
    let v = if promote { "1" } else { "0" };
    for dev in std::iter::once(&"all").chain(devs) {
        ns.cmd("sysctl")
            .args([
                "-qw",
                &format!("net.ipv4.conf.{dev}.promote_secondaries={v}"),
            ])
            .ok();
    }
}

#[test]
fn a_vip_that_is_its_interfaces_first_address_can_be_released() {
    if !need_root() {
        return;
    }
    let ns = single();
    with_v1(&ns, false);
    bind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    let a = ns.addr("v1", "203.0.113.50").expect("bound");
    assert!(
        a.get("secondary").is_none(),
        "the primary of its subnet: {a}"
    );
    let out = unbind(&ns).args(["-v", "v1", "203.0.113.50/24"]).ok();
    assert_eq!(out.stdout, "removed 203.0.113.50/24 dev v1\n");
    assert!(ns.addr("v1", "203.0.113.50").is_none());
    unbind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    // The same holds for the legacy form and for an interface's only address.
    bind(&ns)
        .args(["v1:ha1", "203.0.113.50", "netmask", "255.255.255.0", "up"])
        .ok();
    unbind(&ns).args(["v1:ha1", "203.0.113.50", "down"]).ok();
    assert!(ns.addrs("v1").iter().all(|a| a["family"] != "inet"));
}

#[test]
fn releasing_a_primary_is_refused_only_when_its_secondaries_would_go() {
    if !need_root() {
        return;
    }
    let ns = single();
    with_v1(&ns, false);
    bind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    bind(&ns)
        .args(["--broadcast", "+", "v1:b", "203.0.113.70/24"])
        .ok();
    let e = unbind(&ns).args(["v1", "203.0.113.50/24"]).expect(4);
    assert!(
        e.stderr.contains("203.0.113.70"),
        "names the secondary: {e}"
    );
    assert!(e.stderr.contains("--force"), "{e}");
    assert_eq!(e.stderr.lines().count(), 1, "{e}");
    assert!(ns.addr("v1", "203.0.113.50").is_some());
    assert!(ns.addr("v1", "203.0.113.70").is_some());
    // --force removes it alone: what the kernel flushes with it is put back as it was.
    let before = ns.addr("v1", "203.0.113.70").unwrap();
    let dry = unbind(&ns)
        .args(["-n", "--force", "v1", "203.0.113.50/24"])
        .ok();
    assert_eq!(
        dry.stdout,
        "ip addr del 203.0.113.50/24 dev v1\n\
         ip addr add 203.0.113.70/24 brd 203.0.113.255 dev v1 label v1:b\n"
    );
    assert!(
        ns.addr("v1", "203.0.113.50").is_some(),
        "-n changes nothing"
    );
    unbind(&ns).args(["--force", "v1", "203.0.113.50/24"]).ok();
    assert!(ns.addr("v1", "203.0.113.50").is_none());
    let after = ns.addr("v1", "203.0.113.70").expect("secondary kept");
    for key in ["prefixlen", "label", "broadcast"] {
        assert_eq!(after[key], before[key], "{key}: {after}");
    }
    // Now the primary itself, alone: released without --force.
    unbind(&ns).args(["v1:b", "203.0.113.70/24"]).ok();
    assert!(ns.addr("v1", "203.0.113.70").is_none());

    // With promote_secondaries on, the kernel promotes instead of flushing: nothing to refuse.
    set_promote(&ns, &["v1", "eth0"], true);
    bind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    bind(&ns).args(["v1", "203.0.113.70/24"]).ok();
    unbind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    assert!(ns.addr("v1", "203.0.113.50").is_none());
    let promoted = ns.addr("v1", "203.0.113.70").expect("promoted");
    assert!(promoted.get("secondary").is_none(), "{promoted}");
}

#[test]
fn force_replacing_or_moving_a_primary_keeps_its_secondaries() {
    if !need_root() {
        return;
    }
    let ns = single();
    with_v1(&ns, false);
    bind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    bind(&ns)
        .args(["--broadcast", "+", "v1:x", "203.0.113.70/24"])
        .ok();
    let before = ns.addrs("v1");
    // Without --force: the usual conflict, nothing changed.
    bind(&ns).args(["v1", "203.0.113.50/32"]).expect(4);
    let dry = bind(&ns)
        .args(["-n", "--force", "v1", "203.0.113.50/32"])
        .ok();
    assert_eq!(
        dry.stdout,
        "ip addr del 203.0.113.50/24 dev v1\n\
         ip addr add 203.0.113.50/32 dev v1\n\
         ip addr add 203.0.113.70/24 brd 203.0.113.255 dev v1 label v1:x\n"
    );
    assert_eq!(ns.addrs("v1"), before, "-n changes nothing");
    bind(&ns).args(["--force", "v1", "203.0.113.50/32"]).ok();
    assert_eq!(ns.addr("v1", "203.0.113.50").unwrap()["prefixlen"], 32);
    let kept = ns
        .addr("v1", "203.0.113.70")
        .expect("the secondary survives");
    assert_eq!(kept["prefixlen"], 24);
    assert_eq!(kept["label"], "v1:x");
    assert_eq!(kept["broadcast"], "203.0.113.255");

    // Moving a primary to another interface keeps the secondaries where they were.
    unbind(&ns).args(["v1", "203.0.113.50"]).ok();
    unbind(&ns).args(["v1:x", "203.0.113.70"]).ok();
    bind(&ns).args(["v1", "203.0.113.50/24"]).ok();
    bind(&ns).args(["v1", "203.0.113.70/24"]).ok();
    assert!(
        ns.addr("v1", "203.0.113.70")
            .unwrap()
            .get("secondary")
            .is_some()
    );
    bind(&ns).args(["--force", "eth0", "203.0.113.50/24"]).ok();
    assert!(ns.addr("eth0", "203.0.113.50").is_some());
    assert!(ns.addr("v1", "203.0.113.50").is_none());
    assert!(ns.addr("v1", "203.0.113.70").is_some(), "left on v1");
}

#[test]
fn an_equal_host_route_on_another_device_is_a_conflict() {
    if !need_root() {
        return;
    }
    let ns = single();
    ns.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "peer1",
    ]);
    ns.ip(&["link", "set", "eth1", "up"]);
    let host = format!("{VIP}/32");
    ns.ip(&["route", "add", &host, "dev", "eth1"]);
    let e = bind(&ns)
        .args(["-v", "--host-route", "eth0:ha1", VIP])
        .expect(4);
    assert!(
        e.stderr.contains("eth1") && e.stderr.contains("--force"),
        "{e}"
    );
    assert_eq!(e.stdout, "", "claims nothing: {e}");
    assert!(ns.addr("eth0", VIP).is_none(), "nothing half-applied");
    bind(&ns).args(["eth0:ha1", VIP]).ok();
    let c = bind(&ns)
        .args(["--check", "-v", "--host-route", "eth0:ha1", VIP])
        .expect(1);
    assert!(c.stdout.contains("eth1"), "{c}");
    // --force replaces it.
    let dry = bind(&ns)
        .args(["-n", "--force", "--host-route", "eth0:ha1", VIP])
        .ok();
    assert_eq!(
        dry.stdout,
        format!("ip route del {host} dev eth1\nip route add {host} dev eth0\n")
    );
    let out = bind(&ns)
        .args(["-v", "--force", "--host-route", "eth0:ha1", VIP])
        .ok();
    assert!(out.stdout.contains("host route added"), "{out}");
    assert!(out.stdout.contains("eth1"), "says what it replaced: {out}");
    assert!(has_route(&ns, VIP));
    let routes = ns.ip_json(&["route", "show", "table", "main", &host]);
    assert_eq!(routes.as_array().map(Vec::len), Some(1), "{routes}");
    bind(&ns)
        .args(["--check", "--host-route", "eth0:ha1", VIP])
        .ok();
    let again = bind(&ns).args(["-v", "--host-route", "eth0:ha1", VIP]).ok();
    assert_eq!(
        again.stdout,
        format!("present {VIP}/24 dev eth0 label eth0:ha1\n")
    );
    unbind(&ns).args(["eth0:ha1", VIP]).ok();

    // A route of another metric does not stand in the way: ours is added and preferred.
    ns.ip(&["route", "add", &host, "dev", "eth1", "metric", "100"]);
    let out = bind(&ns).args(["-v", "--host-route", "eth0:ha1", VIP]).ok();
    assert!(out.stdout.ends_with("(host route added)\n"), "{out}");
    bind(&ns)
        .args(["--check", "--host-route", "eth0:ha1", VIP])
        .ok();
}

#[test]
fn address_nits_are_usage_errors_that_say_what_is_wrong() {
    if !need_root() {
        return;
    }
    let ns = single();
    let before = ns.addrs("eth0");
    let cases: &[(&[&str], &str)] = &[
        (&["eth0:1", VIP, "up", "up"], "up given twice"),
        (
            &[
                "eth0:1",
                VIP,
                "netmask",
                "255.255.255.0",
                "netmask",
                "255.255.255.0",
            ],
            "netmask given twice",
        ),
        (
            &["--broadcast", VIP, "eth0", "198.51.100.2/24"],
            "equals the address",
        ),
        (&["eth0:1", VIP, "broadcast", VIP], "equals the address"),
        (&["eth0", "198.51.100.2/024"], "198.51.100.2/024"),
        (&["eth0", "198.51.100.2/+24"], "198.51.100.2/+24"),
        (&["eth0", "2001:db8::/64"], "2001:db8::/64"),
        (&["eth0", "2001:db8::"], "2001:db8::/64"),
        (&["eth0", "::ffff:198.51.100.9"], "::ffff:198.51.100.9"),
    ];
    for (args, needle) in cases {
        let out = bind(&ns).args(*args).expect(2);
        let line = out.stderr.trim_end();
        assert!(
            !line.contains('\n') && line.starts_with("vip-bind: "),
            "{out}"
        );
        assert!(line.contains(needle), "should say {needle:?}: {out}");
        assert!(
            !line.contains("outside") && !line.contains("contradicts"),
            "{out}"
        );
    }
    assert_eq!(ns.addrs("eth0"), before, "nothing applied");
    let out = unbind(&ns).args(["eth0:1", VIP, "down", "down"]).expect(2);
    assert!(out.stderr.contains("down given twice"), "{out}");
    // Still fine: an IPv6 host address, a /127 pair, a prefix that agrees with the netmask.
    bind(&ns).args(["eth0", "2001:db8::/127"]).ok();
    bind(&ns)
        .args([
            "eth0:1",
            "198.51.100.2/24",
            "netmask",
            "255.255.255.0",
            "up",
        ])
        .ok();
}

#[test]
fn without_a_prefix_the_bound_prefix_matches() {
    if !need_root() {
        return;
    }
    let ns = single();
    bind(&ns).args(["eth0", "198.51.100.30/32"]).ok();
    let before = ns.addrs("eth0");
    let out = bind(&ns)
        .args(["--check", "-v", "eth0", "198.51.100.30"])
        .ok();
    assert_eq!(out.stdout, "bound 198.51.100.30/32 dev eth0\n");
    let out = bind(&ns).args(["-v", "eth0", "198.51.100.30"]).ok();
    assert_eq!(out.stdout, "present 198.51.100.30/32 dev eth0\n");
    assert_eq!(ns.addrs("eth0"), before);
    // A prefix given must still match.
    bind(&ns)
        .args(["--check", "eth0", "198.51.100.30/24"])
        .expect(1);
    bind(&ns).args(["eth0", "198.51.100.30/24"]).expect(4);
}
