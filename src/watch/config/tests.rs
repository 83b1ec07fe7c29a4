//! The validator as a whole: the supervisor's problems, in its words, and the tools' stricter
//! parsers on top.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;

/// A valid active-active configuration for lb1 (the integration tests' `VALID`).
const VALID: &[&str] = &[
    "IFACE=eth0",
    "GATEWAY=198.51.100.1",
    "OWN_VIPS=198.51.100.2/24",
    "PEER_VIPS=198.51.100.3/24",
    "SELF_URL=http://198.51.100.4/",
    "PEER_URL=http://198.51.100.5/",
    "STATE_FILE=/run/vipkit-test.state",
];

/// `VALID` without the keys in `drop`, with `add` appended.
fn variant(drop: &[&str], add: &[&str]) -> String {
    let mut lines: Vec<&str> = VALID
        .iter()
        .filter(|l| !drop.iter().any(|k| l.starts_with(&format!("{k}="))))
        .copied()
        .collect();
    lines.extend(add);
    lines.join("\n") + "\n"
}

/// The problems of `text`, as printed for file `f`.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| p.show("f")).collect(),
    }
}

/// The one problem of `text`.
fn problem(text: &str) -> String {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{text}: {p:?}");
    p[0].clone()
}

#[test]
fn the_valid_configuration_and_its_defaults() {
    let cfg = parse(&variant(&[], &[])).unwrap();
    assert_eq!(cfg.iface, "eth0");
    assert_eq!(cfg.iface_line, 1);
    assert_eq!(cfg.gateway, Some("198.51.100.1".parse().unwrap()));
    assert_eq!(cfg.own_vips.len(), 1);
    assert_eq!(cfg.own_vips[0].prefix, Some(24));
    assert_eq!(cfg.own_vips[0].line, 3);
    assert_eq!(cfg.peer_vips[0].to_string(), "198.51.100.3/24");
    assert_eq!(cfg.self_url.unwrap().as_str(), "http://198.51.100.4/");
    assert_eq!(cfg.interval, Duration::from_secs(1));
    assert_eq!(cfg.timeout, Duration::from_secs(1));
    assert_eq!((cfg.rise, cfg.fall), (2, 2));
    assert_eq!(cfg.min_hold, Duration::ZERO);
    assert_eq!(cfg.garp_count, 3);
    assert_eq!(cfg.garp_interval, Duration::from_millis(200));
    assert_eq!(cfg.garp_refresh, Duration::from_secs(10));
    assert!(cfg.failback && cfg.dad && cfg.release_on_exit && cfg.syslog);
    assert!(!cfg.nginx_reload && cfg.nginx_pidfile.is_none());
    assert_eq!(cfg.dad_timeout, Duration::from_millis(50));
    assert_eq!(cfg.dad_grace, 2);
    assert_eq!(cfg.state_file, PathBuf::from("/run/vipkit-test.state"));
}

#[test]
fn print_lists_every_key_normalized_for_the_shell() {
    let text = "IFACE=eth0\nOWN_VIPS=198.51.100.2/24@ha1  198.51.100.6@eth0:ha6\n\
                PEER_VIPS=2001:DB8::3/64\nSELF_URL=http://198.51.100.4/\n\
                PEER_URL=http://198.51.100.5/\nINTERVAL=0.250\nGARP_INTERVAL=0\n\
                NGINX_RELOAD=yes\nNGINX_PIDFILE=/run/nginx.pid\nDAD=no\n";
    let lines = parse(text).unwrap().print();
    assert_eq!(
        lines,
        [
            "IFACE=eth0",
            "GATEWAY=",
            "OWN_VIPS=198.51.100.2/24@eth0:ha1 198.51.100.6@eth0:ha6",
            "PEER_VIPS=2001:db8::3/64",
            "SELF_URL=http://198.51.100.4/",
            "PEER_URL=http://198.51.100.5/",
            "INTERVAL=0.25",
            "TIMEOUT=1",
            "RISE=2",
            "FALL=2",
            "MIN_HOLD=0",
            "GARP_COUNT=3",
            "GARP_INTERVAL=0",
            "GARP_REFRESH=10",
            "FAILBACK=yes",
            "DAD=no",
            "DAD_TIMEOUT=0.05",
            "DAD_GRACE=2",
            "NGINX_RELOAD=yes",
            "NGINX_PIDFILE=/run/nginx.pid",
            "RELEASE_ON_EXIT=yes",
            "STATE_FILE=/run/vip-supervisor.state",
            "SYSLOG=yes",
            "IFACE_LINE=1",
        ]
    );
    // Every key once, in the documented order.
    let keys: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    let want: Vec<&str> = KEYS.iter().map(|(k, _)| *k).chain(["IFACE_LINE"]).collect();
    assert_eq!(keys, want);
}

/// Each case of the supervisor's `check_config_rejects_invalid_configs_naming_key_and_value`,
/// here without a shell: (keys dropped, lines added, what the one problem must contain).
#[test]
fn one_problem_each_in_the_supervisors_words() {
    let cases: &[(&[&str], &[&str], &str)] = &[
        (&[], &["FOO=bar"], "f:8: FOO=bar: unknown key"),
        (&["IFACE"], &[], "f: IFACE=: required: the interface"),
        (
            &["IFACE"],
            &["IFACE=eth0:1"],
            "f:7: IFACE=eth0:1: an alias label",
        ),
        (
            &["IFACE"],
            &["IFACE=$(reboot)"],
            "IFACE=$(reboot): not an interface name",
        ),
        (
            &["IFACE"],
            &["IFACE=averyveryverylong0"],
            "interface names have at most 15 characters",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.300/24"],
            "OWN_VIPS=198.51.100.300/24: '198.51.100.300' is not an IPv4",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/33"],
            "OWN_VIPS=198.51.100.2/33: '198.51.100.2/33': the prefix must be 1 to 32",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.255/24"],
            "is the broadcast address of its /24",
        ),
        (
            &["PEER_VIPS"],
            &["PEER_VIPS=198.51.100.2/24"],
            "PEER_VIPS=198.51.100.2/24: '198.51.100.2' is listed twice",
        ),
        (
            &["SELF_URL"],
            &[],
            "f: SELF_URL=: required when OWN_VIPS is set",
        ),
        (
            &["PEER_URL"],
            &["PEER_URL=ftp://198.51.100.5/"],
            "PEER_URL=ftp://198.51.100.5/: not an http:// or https:// URL",
        ),
        (
            &["PEER_URL"],
            &["PEER_URL=http://198.51.100.5/`reboot`"],
            "PEER_URL=http://198.51.100.5/`reboot`: contains a blank, a quote or one of \
             $`\\<>{}|^ (encode it as %XX)",
        ),
        (
            &[],
            &["INTERVAL=1s"],
            "f:8: INTERVAL=1s: not a number of seconds",
        ),
        (
            &[],
            &["INTERVAL=0"],
            "INTERVAL=0: must be between 0.01 and 3600 seconds",
        ),
        (
            &[],
            &["TIMEOUT=fast"],
            "TIMEOUT=fast: not a number of seconds",
        ),
        (
            &[],
            &["TIMEOUT=61"],
            "TIMEOUT=61: must be between 0.01 and 60 seconds",
        ),
        (
            &[],
            &["RISE=0"],
            "RISE=0: must be a whole number from 1 to 1000",
        ),
        (&[], &["FALL=-1"], "FALL=-1: must be a whole number"),
        (
            &[],
            &["GARP_COUNT=1000"],
            "GARP_COUNT=1000: must be a whole number from 1 to 100",
        ),
        (
            &[],
            &["FAILBACK=maybe"],
            "FAILBACK=maybe: must be yes or no",
        ),
        (
            &[],
            &["FAILBACK=no", "DAD=no"],
            "f:8: FAILBACK=no: FAILBACK=no needs DAD=yes",
        ),
        (
            &[],
            &["IFACE=eth1"],
            "f:8: IFACE=eth1: set twice (first on line 1)",
        ),
        (
            &[],
            &["ifconfig eth0:1 up"],
            "f:8: 'ifconfig eth0:1 up': not a KEY=VALUE line",
        ),
        (
            &[],
            &["INTERVAL=1 # seconds"],
            "INTERVAL=1 # seconds: comments go on their own line",
        ),
        (&[], &["export RISE=3"], "'export RISE' is not a KEY"),
        (
            &["GATEWAY"],
            &["GATEWAY=gw.example"],
            "GATEWAY=gw.example: not an IPv4 or IPv6 address",
        ),
        (
            &["GATEWAY"],
            &["GATEWAY=198.51.100.2"],
            "GATEWAY=198.51.100.2: the gateway cannot be a VIP",
        ),
        (
            &["STATE_FILE"],
            &["STATE_FILE=state"],
            "STATE_FILE=state: must be an absolute file path",
        ),
        (
            &["STATE_FILE"],
            &["STATE_FILE=/run/"],
            "STATE_FILE=/run/: must be an absolute file path",
        ),
        (
            &["STATE_FILE"],
            &["STATE_FILE=/run/a b"],
            "STATE_FILE=/run/a b: only letters, digits and ._/+@=,- are allowed",
        ),
        (
            &[],
            &["NGINX_PIDFILE=/run/nginx.pid"],
            "NGINX_PIDFILE=/run/nginx.pid: set but NGINX_RELOAD=no",
        ),
        (
            &["OWN_VIPS", "PEER_VIPS", "PEER_URL"],
            &[],
            "f: OWN_VIPS=: OWN_VIPS and PEER_VIPS are both empty",
        ),
        (
            &["PEER_VIPS"],
            &[],
            "PEER_URL=http://198.51.100.5/: set but PEER_VIPS is empty",
        ),
        (
            &["PEER_URL"],
            &["PEER_URL=http://198.51.100.4/"],
            "PEER_URL=http://198.51.100.4/: the same as SELF_URL",
        ),
        (
            &["PEER_URL"],
            &[],
            "f: PEER_URL=: required when PEER_VIPS is set",
        ),
        (
            &[],
            &["DAD_TIMEOUT=0.0001"],
            "DAD_TIMEOUT=0.0001: not a number of seconds",
        ),
        (
            &[],
            &["MIN_HOLD=10s"],
            "MIN_HOLD=10s: not a number of seconds",
        ),
        (
            &[],
            &["GARP_REFRESH=0.05"],
            "GARP_REFRESH=0.05: must be 0 (off) or at least 0.1 seconds",
        ),
        (
            &[],
            &["INTERVAL=.5"],
            "INTERVAL=.5: not a number of seconds",
        ),
        (&[], &["RISE=02"], "RISE=02: must be a whole number"),
        // What only the tools' own parsers refuse, with their reason.
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/24@waytoolonglabel"],
            "'198.51.100.2/24@waytoolonglabel': vip-bind: invalid label \
             \"eth0:waytoolonglabel\": longer than 15 characters",
        ),
        (
            &["PEER_VIPS"],
            &["PEER_VIPS=2001:db8::3/64@ha2"],
            "'2001:db8::3/64@ha2': vip-bind: IPv6 addresses have no labels",
        ),
        (
            &["PEER_VIPS"],
            &["PEER_VIPS=2001:db8::/64"],
            "'2001:db8::/64': vip-bind: 2001:db8:: is the subnet-router anycast",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/"],
            "'198.51.100.2/': vip-bind: invalid prefix length",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/24@eth1:ha1"],
            "the label must start with the interface, eth0:",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/24@"],
            "'198.51.100.2/24@': a label is @NAME or @eth0:NAME",
        ),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/24@h$a"],
            "'198.51.100.2/24@h$a': a label is @NAME or @eth0:NAME",
        ),
        (
            &["GATEWAY"],
            &["GATEWAY=224.0.0.1"],
            "GATEWAY=224.0.0.1: garp: not a unicast address: 224.0.0.1",
        ),
    ];
    for (drop, add, want) in cases {
        let got = problem(&variant(drop, add));
        assert!(got.contains(want), "{add:?}: {got:?} lacks {want:?}");
    }
}

/// The cases (and issue 10's): what passed the supervisor's old checks and the tools
/// then refused every round.
#[test]
fn what_the_tools_refuse_the_validator_refuses() {
    for (key, value, want) in [
        (
            "SELF_URL",
            "http://user@198.51.100.4/",
            "f:7: SELF_URL=http://user@198.51.100.4/: httpcheck: bad URL \
             'http://user@198.51.100.4/': credentials in URLs are not supported",
        ),
        (
            "OWN_VIPS",
            "127.0.0.2/8",
            "f:7: OWN_VIPS=127.0.0.2/8: '127.0.0.2/8': vip-bind: not a usable VIP address: \
             127.0.0.2",
        ),
        (
            "OWN_VIPS",
            "224.0.0.5/24",
            "f:7: OWN_VIPS=224.0.0.5/24: '224.0.0.5/24': vip-bind: not a usable VIP address",
        ),
        (
            "SELF_URL",
            "http://[::1/",
            "f:7: SELF_URL=http://[::1/: httpcheck: bad URL 'http://[::1/': unclosed '['",
        ),
        (
            "SELF_URL",
            "http://[198.51.100.4]/",
            "f:7: SELF_URL=http://[198.51.100.4]/: httpcheck: bad URL",
        ),
        (
            "SELF_URL",
            "http://198.51.100.4%20/",
            "f:7: SELF_URL=http://198.51.100.4%20/: httpcheck: bad URL",
        ),
    ] {
        let got = problem(&variant(&[key], &[&format!("{key}={value}")]));
        assert!(got.starts_with(want), "{got:?} is not {want:?}...");
    }
}

#[test]
fn every_problem_is_listed_and_nothing_is_run() {
    let text = "IFACE=$(touch /tmp/x)\nGATEWAY=`touch /tmp/x`\nOWN_VIPS=\"198.51.100.2/24\"\n\
                SELF_URL=http://198.51.100.4/$(touch%20/tmp/x)\nINTERVAL=$(touch /tmp/x)\n\
                RISE=;touch /tmp/x\n";
    let p = problems(text);
    assert_eq!(p.len(), 5, "{p:?}");
    for (got, key) in p
        .iter()
        .zip(["IFACE=", "GATEWAY=", "SELF_URL=", "INTERVAL=", "RISE="])
    {
        assert!(got.contains(&format!(": {key}")), "{got}");
    }
    // A word's problems do not hide the next word's.
    let p = problems(&variant(
        &["OWN_VIPS"],
        &["OWN_VIPS=198.51.100.0/24 127.0.0.2/8 198.51.100.6/24"],
    ));
    assert_eq!(p.len(), 2, "{p:?}");
}

#[test]
fn quoting_crlf_and_ipv6_are_accepted() {
    let text = "# lb2, standby\r\n\r\n  IFACE = eth0\r\nPEER_VIPS='198.51.100.2/24 2001:db8::2/64'\r\n\
                PEER_URL=\"http://[2001:db8::4]:8080/health?x=1\"\r\nINTERVAL=0.25\r\n\
                STATE_FILE=/run/vipkit-lb2.state";
    let cfg = parse(text).unwrap();
    assert_eq!(cfg.peer_vips.len(), 2);
    assert_eq!(cfg.interval, Duration::from_millis(250));
    assert!(cfg.self_url.is_none() && cfg.own_vips.is_empty());
}

#[test]
fn the_examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for ex in [
        "active-standby/lb1.conf",
        "active-standby/lb2.conf",
        "active-active/lb1.conf",
        "active-active/lb2.conf",
    ] {
        let text = std::fs::read_to_string(root.join("examples").join(ex)).unwrap();
        if let Err(p) = parse(&text) {
            panic!("{ex}: {p:?}");
        }
    }
}

#[test]
fn labels_are_full_and_bound_with_them() {
    let cfg = parse(&variant(
        &["OWN_VIPS"],
        &["OWN_VIPS=198.51.100.2/24@ha1 198.51.100.6/24@eth0:ha6 198.51.100.7/24"],
    ))
    .unwrap();
    let targets: Vec<&str> = cfg.own_vips.iter().map(|v| v.target("eth0")).collect();
    assert_eq!(targets, ["eth0:ha1", "eth0:ha6", "eth0"]);
    let roles: Vec<Role> = cfg.vips().map(|(r, _)| r).collect();
    assert_eq!(roles, [Role::Own, Role::Own, Role::Own, Role::Peer]);
}

#[test]
fn a_vip_without_prefix_is_checked_with_the_one_vip_bind_would_use() {
    let text = variant(&["OWN_VIPS"], &["OWN_VIPS=198.51.100.0"]);
    // Without a kernel: /32, a host address.
    let cfg = parse(&text).unwrap();
    assert_eq!(cfg.own_vips[0].prefix, None);
    assert_eq!(cfg.print()[2], "OWN_VIPS=198.51.100.0");
    // On an interface holding 198.51.100.4/24, vip-bind would bind it as the network address.
    let asked = std::cell::Cell::new(0);
    let on_eth0 = |dev: &str, _: IpAddr| {
        asked.set(asked.get() + 1);
        (dev == "eth0").then_some(24)
    };
    let p = parse_with(&text, &on_eth0).unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].show("f").contains(
            "f:7: OWN_VIPS=198.51.100.0: '198.51.100.0': vip-bind: 198.51.100.0 is the network \
             address of 198.51.100.0/24"
        ),
        "{p:?}"
    );
    // Only VIPs written without a prefix are looked up.
    assert_eq!(asked.get(), 1);
}
