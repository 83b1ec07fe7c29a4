//! `vip-watch` as the supervisor's one validator: `--check-config`, `--print-config` and
//! `--explain` on configuration files, and the supervisor printing exactly what it says. (The
//! watcher's runtime is tested with the supervisor's scenarios.)

use std::path::{Path, PathBuf};

use crate::netns::Netns;
use crate::supervisor::{conf_ns, variant};
use crate::util::{Cmd, Output, root};

/// `text` written as `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// `vip-watch MODE -c PATH`, in `ns` or here.
fn watch(ns: Option<&Netns>, mode: &str, path: &Path) -> Output {
    match ns {
        Some(ns) => ns.tool("vip-watch"),
        None => Cmd::tool("vip-watch"),
    }
    .arg(mode)
    .arg("-c")
    .arg(path)
    .run()
}

/// `vip-supervisor MODE -c PATH` (sh, the freshly built tools), in `ns` or here.
fn supervisor(ns: Option<&Netns>, mode: &str, path: &Path) -> Output {
    let bin = crate::util::bin("vip-watch");
    match ns {
        Some(ns) => ns.cmd("sh"),
        None => Cmd::new("sh"),
    }
    .arg(root().join("scripts/vip-supervisor"))
    .arg("-c")
    .arg(path)
    .arg(mode)
    .env("VIPKIT_BIN", bin.parent().expect("binary directory"))
    .run()
}

#[test]
fn check_config_says_ok_or_lists_every_problem_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = write(dir.path(), "ok.conf", &variant(&[], &[]));
    let out = watch(None, "--check-config", &ok);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, format!("{}: ok\n", ok.display()), "{out}");
    assert!(out.stderr.is_empty(), "{out}");

    let bad = write(
        dir.path(),
        "bad.conf",
        &variant(
            &["GATEWAY"],
            &["INTERVAL=1s", "RISE=0", "GATEWAY=gw", "FOO=1"],
        ),
    );
    let out = watch(None, "--check-config", &bad);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    let b = bad.display();
    let want = [
        format!("vip-watch: {b}:10: FOO=1: unknown key"),
        format!("vip-watch: {b}:9: GATEWAY=gw: not an IPv4 or IPv6 address"),
        format!(
            "vip-watch: {b}:7: INTERVAL=1s: not a number of seconds (like 1, 0.5 or 0.05; at \
             most 3 decimals)"
        ),
        format!("vip-watch: {b}:8: RISE=0: must be a whole number from 1 to 1000"),
    ];
    assert_eq!(out.stderr.lines().collect::<Vec<_>>(), want, "{out}");
}

/// The four cases and issue 10's two: accepted by the supervisor's own checks once,
/// then refused by httpcheck or vip-bind every round. Refused now, naming the value.
#[test]
fn what_the_tools_refuse_is_refused_naming_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (key, value, why)) in [
        (
            "SELF_URL",
            "http://user@198.51.100.4/",
            "httpcheck: bad URL 'http://user@198.51.100.4/': credentials in URLs are not supported",
        ),
        (
            "OWN_VIPS",
            "127.0.0.2/8",
            "'127.0.0.2/8': vip-bind: not a usable VIP address: 127.0.0.2",
        ),
        (
            "OWN_VIPS",
            "224.0.0.5/24",
            "'224.0.0.5/24': vip-bind: not a usable VIP address: 224.0.0.5",
        ),
        (
            "SELF_URL",
            "http://[::1/",
            "httpcheck: bad URL 'http://[::1/': unclosed '[' in host",
        ),
        (
            "SELF_URL",
            "http://[198.51.100.4]/",
            "httpcheck: bad URL 'http://[198.51.100.4]/'",
        ),
        (
            "SELF_URL",
            "http://198.51.100.4%20/",
            "httpcheck: bad URL 'http://198.51.100.4%20/'",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = write(
            dir.path(),
            &format!("c{i}.conf"),
            &variant(&[key], &[&format!("{key}={value}")]),
        );
        for mode in ["--check-config", "--print-config", "--explain"] {
            let out = watch(None, mode, &path);
            assert_eq!(out.code, Some(2), "{mode}\n{out}");
            assert!(out.stdout.is_empty(), "{mode}\n{out}");
            let want = format!("vip-watch: {}:7: {key}={value}: {why}", path.display());
            assert!(
                out.stderr.lines().count() == 1 && out.stderr.starts_with(&want),
                "{mode}: want {want:?}\n{out}"
            );
        }
    }
}

#[test]
fn print_config_is_every_key_for_the_shell_to_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "lb1.conf",
        &variant(
            &["OWN_VIPS"],
            &[
                "OWN_VIPS='198.51.100.2/24@ha1 198.51.100.6/24'",
                "GARP_INTERVAL=0.250",
            ],
        ),
    );
    let out = watch(None, "--print-config", &path);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let keys: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|kv| kv.0)
        .collect();
    let want: Vec<&str> = vipkit::watch::config::KEYS
        .iter()
        .map(|(k, _)| *k)
        .chain(["IFACE_LINE"])
        .collect();
    assert_eq!(keys, want, "{out}");
    for line in [
        "OWN_VIPS=198.51.100.2/24@eth0:ha1 198.51.100.6/24",
        "GARP_INTERVAL=0.25",
        "GATEWAY=198.51.100.1",
        "INTERVAL=1",
        "DAD_TIMEOUT=0.05",
        "NGINX_PIDFILE=",
        "STATE_FILE=/run/vipkit-test.state",
        "IFACE_LINE=1",
    ] {
        assert!(lines.contains(&line), "no {line:?}\n{out}");
    }
    // Nothing a shell would expand or split on.
    assert!(
        !out.stdout.contains(['"', '\'', '$', '`', '\\', '\r']),
        "{out}"
    );
}

/// The supervisor's `--check-config` and `--explain` are vip-watch's: the same problems, the
/// same explanation, only the program name differs.
#[test]
fn the_supervisor_says_what_vip_watch_says() {
    let ns = conf_ns();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["FOO=bar", "INTERVAL=0", "FAILBACK=no", "DAD=no"]),
        (&["PEER_URL"], &["PEER_URL=http://[198.51.100.5]/"]),
        (
            &["OWN_VIPS"],
            &["OWN_VIPS=198.51.100.2/24@waytoolonglabel 127.0.0.2/8"],
        ),
        (&["IFACE"], &["IFACE=$(reboot)", "GATEWAY=0.0.0.0"]),
        (&["GATEWAY"], &["GATEWAY=ff02::1"]),
    ];
    for (i, (drop, add)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("p{i}.conf"), &variant(drop, add));
        let w = watch(ns.as_ref(), "--check-config", &path);
        let s = supervisor(ns.as_ref(), "--check-config", &path);
        assert_eq!(w.code, Some(2), "{w}");
        assert_eq!((s.code, s.stdout.as_str()), (Some(2), ""), "{s}");
        assert_eq!(
            s.stderr,
            w.stderr.replace("vip-watch: ", "vip-supervisor: "),
            "{s}\n{w}"
        );
    }
    let path = write(
        dir.path(),
        "fast.conf",
        &variant(
            &["OWN_VIPS"],
            &[
                "OWN_VIPS=198.51.100.2/24@ha1",
                "INTERVAL=0.1",
                "MIN_HOLD=2.5",
            ],
        ),
    );
    let w = watch(ns.as_ref(), "--explain", &path);
    let s = supervisor(ns.as_ref(), "--explain", &path);
    assert_eq!(w.code, Some(0), "{w}");
    assert!(
        w.stdout
            .starts_with(&format!("{}\n  role:", path.display())),
        "{w}"
    );
    assert_eq!(
        s.stdout,
        format!("vip-supervisor: {}", w.stdout),
        "{s}\n{w}"
    );
    let s = supervisor(ns.as_ref(), "--check-config", &path);
    assert_eq!(
        s.stdout,
        format!("vip-supervisor: {}: ok\n", path.display()),
        "{s}"
    );
}

/// A VIP written without a prefix is bound with the prefix of the interface address covering
/// it (vip-bind's rule): the validator checks it with that prefix, as vip-bind will.
#[test]
fn a_vip_without_prefix_is_checked_with_the_prefix_vip_bind_gives_it() {
    if !crate::util::need_root() {
        return;
    }
    let ns = crate::netns::single();
    let dir = tempfile::tempdir().expect("tempdir");
    // eth0 holds 198.51.100.4/24: 198.51.100.0 would be bound as its network address.
    let path = write(
        dir.path(),
        "net.conf",
        &variant(&["OWN_VIPS"], &["OWN_VIPS=198.51.100.0"]),
    );
    let out = watch(Some(&ns), "--check-config", &path);
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(
        out.stderr.trim(),
        format!(
            "vip-watch: {}:7: OWN_VIPS=198.51.100.0: '198.51.100.0': vip-bind: 198.51.100.0 is \
             the network address of 198.51.100.0/24, not a host address",
            path.display()
        ),
        "{out}"
    );
    // vip-bind agrees.
    let bind = ns
        .tool("vip-bind")
        .args(["-n", "eth0", "198.51.100.0"])
        .run();
    assert_eq!(bind.code, Some(2), "{bind}");
    // Where no address covers it, it is a /32: fine, and printed as written.
    let path = write(
        dir.path(),
        "host.conf",
        &variant(&["OWN_VIPS"], &["OWN_VIPS=203.0.113.0"]),
    );
    let out = watch(Some(&ns), "--print-config", &path);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("\nOWN_VIPS=203.0.113.0\n"), "{out}");
}

#[test]
fn bad_command_lines_and_unreadable_files_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = write(dir.path(), "ok.conf", &variant(&[], &[]));
    let missing = dir.path().join("missing.conf");
    let runs: [Vec<&std::ffi::OsStr>; 4] = [
        vec!["--check-config".as_ref()],
        vec!["--check-config".as_ref(), "-c".as_ref(), missing.as_ref()],
        vec![
            "--check-config".as_ref(),
            "--print-config".as_ref(),
            "-c".as_ref(),
            ok.as_ref(),
        ],
        vec!["--bogus".as_ref(), "-c".as_ref(), ok.as_ref()],
    ];
    for args in runs {
        let out = Cmd::tool("vip-watch").args(&args).run();
        assert_eq!(out.code, Some(2), "{out}");
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(out.stderr.starts_with("vip-watch: "), "{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }
    let out = Cmd::tool("vip-watch")
        .args(["--check-config", "-c"])
        .arg(&missing)
        .run();
    assert!(
        out.stderr.contains(&format!(
            "cannot read configuration '{}'",
            missing.display()
        )),
        "{out}"
    );
    let help = Cmd::tool("vip-watch").arg("--help").ok();
    for flag in ["--config", "--check-config", "--print-config", "--explain"] {
        assert!(help.stdout.contains(flag), "--help lacks {flag}\n{help}");
    }
}
