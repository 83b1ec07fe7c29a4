//! Integration tests for httpcheck: a real nginx in a namespace for the well-behaved cases,
//! tiny `TcpListener` servers (bound inside the namespace from a thread that joined it) for the
//! misbehaving ones, and the real curl for the compatibility form.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::netns::{self, LB1, LB1_6, Netns};
use crate::nginx::Nginx;
use crate::util::{Cmd, Output};

/// The loose bound the issue asks for: a check returns within its deadline plus this.
const SLACK: Duration = Duration::from_millis(300);

/// nginx on 198.51.100.4:80 with one path per status, and two name-based virtual hosts.
fn http_servers() -> String {
    format!(
        "default_type text/plain;\n\
         server {{ listen {LB1}:80 default_server; listen [{LB1_6}]:80 default_server;\n\
           location = /ok {{ return 200 \"ok\\n\"; }}\n\
           location = /nocontent {{ return 204; }}\n\
           location = /moved {{ return 301 http://{LB1}/ok; }}\n\
           location = /loop {{ return 302 http://{LB1}/loop; }}\n\
           location = /missing {{ return 404; }}\n\
           location = /broken {{ return 500; }}\n\
           location / {{ return 404 \"default\\n\"; }} }}\n\
         server {{ listen {LB1}:80; server_name a.test; location / {{ return 200 \"site-a\\n\"; }} }}\n\
         server {{ listen {LB1}:80; server_name b.test; location / {{ return 202 \"site-b\\n\"; }} }}\n"
    )
}

fn url(path: &str) -> String {
    format!("http://{LB1}{path}")
}

/// httpcheck inside `ns`.
fn hc(ns: &Netns, args: &[&str]) -> Output {
    ns.tool("httpcheck").args(args).run()
}

/// Expect exit `code`, stdout `printed`, and a run no longer than `deadline` + SLACK.
fn expect(out: Output, code: i32, printed: &str, deadline: Duration) -> Output {
    assert_eq!(out.stdout, printed, "wrong output\n{out}");
    assert!(
        out.elapsed <= deadline + SLACK,
        "took {:?}, deadline {deadline:?}\n{out}",
        out.elapsed
    );
    out.expect_code(code)
}

#[test]
fn status_codes_with_default_and_custom_expectations() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let _nginx = Nginx::start(Some(&ns), &http_servers());
    let t = Duration::from_secs(2);
    for (path, printed, default_exit) in [
        ("/ok", "200\n", 0),
        ("/nocontent", "204\n", 1),
        ("/moved", "301\n", 1),
        ("/missing", "404\n", 1),
        ("/broken", "500\n", 1),
    ] {
        expect(hc(&ns, &[&url(path)]), default_exit, printed, t);
    }
    // Custom sets: ranges, lists, mixed.
    expect(
        hc(&ns, &["-e", "200,204", &url("/nocontent")]),
        0,
        "204\n",
        t,
    );
    expect(hc(&ns, &["-e", "200-399", &url("/moved")]), 0, "301\n", t);
    expect(hc(&ns, &["-e", "200-399", &url("/missing")]), 1, "404\n", t);
    expect(
        hc(&ns, &["-e", "200-299,404", &url("/missing")]),
        0,
        "404\n",
        t,
    );
    expect(hc(&ns, &["--expect=500", &url("/broken")]), 0, "500\n", t);
    expect(
        hc(&ns, &["-e", "200-299,404", &url("/broken")]),
        1,
        "500\n",
        t,
    );
    // Redirects are an answer, unless -L follows them (and a loop ends as a 3xx, failing).
    expect(hc(&ns, &["-L", &url("/moved")]), 0, "200\n", t);
    expect(hc(&ns, &["-L", &url("/loop")]), 1, "302\n", t);
    // HEAD.
    expect(hc(&ns, &["-I", &url("/ok")]), 0, "200\n", t);
    // IPv6 literal.
    let v6 = format!("http://[{LB1_6}]:80/ok");
    let out = expect(hc(&ns, &["-v", &v6]), 0, "200\n", t);
    assert!(out.stderr.contains(&format!("addr=[{LB1_6}]:80")), "{out}");
    // The failure reason goes to stderr, one line, naming the URL; -s silences it, -S not.
    let out = expect(hc(&ns, &[&url("/broken")]), 1, "500\n", t);
    assert_eq!(
        out.stderr,
        format!("httpcheck: {}: status 500, expected 200\n", url("/broken"))
    );
    let out = expect(hc(&ns, &["-s", &url("/broken")]), 1, "500\n", t);
    assert_eq!(out.stderr, "");
    let out = expect(hc(&ns, &["-sS", &url("/broken")]), 1, "500\n", t);
    assert!(out.stderr.contains("status 500"), "{out}");
}

#[test]
fn quiet_verbose_and_body_match() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let _nginx = Nginx::start(Some(&ns), &http_servers());
    let t = Duration::from_secs(2);
    let out = expect(hc(&ns, &["-q", &url("/ok")]), 0, "", t);
    assert_eq!(out.stderr, "");
    let out = expect(hc(&ns, &["-q", &url("/broken")]), 1, "", t);
    assert_eq!(out.stderr, "");
    let out = expect(
        hc(&ns, &["-q", "-w", "%{http_code}", &url("/ok")]),
        0,
        "",
        t,
    );
    assert_eq!(out.stderr, "");

    let out = expect(hc(&ns, &["-v", &url("/ok")]), 0, "200\n", t);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    let line = out.stderr.trim_end();
    assert!(
        line.starts_with(&format!(
            "httpcheck: GET {} addr={LB1}:80 phase=done elapsed=",
            url("/ok")
        )),
        "{out}"
    );
    assert!(line.ends_with("s code=200 ok"), "{out}");

    expect(
        hc(&ns, &["--body-match", "^ok$", &url("/ok")]),
        0,
        "200\n",
        t,
    );
    let out = expect(
        hc(&ns, &["--body-match", "^fine", &url("/ok")]),
        1,
        "200\n",
        t,
    );
    assert!(out.stderr.contains("body does not match '^fine'"), "{out}");
    // A body over --max-filesize fails.
    let out = expect(
        hc(&ns, &["--max-filesize", "2", &url("/ok")]),
        1,
        "200\n",
        t,
    );
    assert!(out.stderr.contains("body larger than 2 bytes"), "{out}");
}

#[test]
fn host_header_reaches_the_right_server_block() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let _nginx = Nginx::start(Some(&ns), &http_servers());
    let t = Duration::from_secs(2);
    let u = url("/");
    expect(hc(&ns, &[&u]), 1, "404\n", t);
    expect(
        hc(
            &ns,
            &["-H", "Host: a.test", "--body-match", "^site-a\n$", &u],
        ),
        0,
        "200\n",
        t,
    );
    expect(
        hc(
            &ns,
            &[
                "-H",
                "Host: b.test",
                "-e",
                "202",
                "--body-match",
                "site-b",
                &u,
            ],
        ),
        0,
        "202\n",
        t,
    );
    // The other block's body does not match: the header really chose the block.
    expect(
        hc(&ns, &["-H", "Host: a.test", "--body-match", "site-b", &u]),
        1,
        "200\n",
        t,
    );
    expect(
        hc(&ns, &["--header=Host: b.test", "-H", "X-Extra: 1", &u]),
        1,
        "202\n",
        t,
    );
}

/// Run the same arguments through curl and httpcheck inside `ns`; return both outputs.
fn both(ns: &Netns, args: &[&str]) -> (Output, Output) {
    let curl = ns.cmd("/usr/bin/curl").args(args).run();
    let ours = hc(ns, args);
    (curl, ours)
}

#[test]
fn curl_form_prints_exactly_what_curl_prints() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let _nginx = Nginx::start(Some(&ns), &http_servers());
    let silent = serve(&ns, never_answer);
    let silent_url = format!("http://{silent}/");
    let refused_url = format!("http://{LB1}:81/");
    let formats = [
        "%{http_code}",
        "%{http_code}\\n",
        "code=%{response_code} ip=%{remote_ip} port=%{remote_port}\\n",
        "[%{HTTP_CODE}] 100%% \\t%{http_code\\r%z\\x\\\\n",
    ];
    let urls = [
        url("/ok"),
        url("/nocontent"),
        url("/moved"),
        url("/missing"),
        url("/broken"),
        refused_url.clone(),
        silent_url.clone(),
    ];
    for u in &urls {
        for f in formats {
            for extra in [&[][..], &["-L"], &["-I"]] {
                let mut args = vec!["-o", "/dev/null", "-s", "-m", "1", "-w", f];
                args.extend_from_slice(extra);
                args.push(u);
                if u == &silent_url && !extra.is_empty() {
                    continue; // one slow case per format is enough
                }
                let (curl, ours) = both(&ns, &args);
                assert_eq!(
                    ours.stdout, curl.stdout,
                    "differs from curl for {args:?}\n{curl}\n{ours}"
                );
                assert_eq!(
                    ours.code == Some(0),
                    u.ends_with("/ok") || (u.ends_with("/moved") && extra == ["-L"]),
                    "{ours}"
                );
            }
        }
    }
    // Times are printed the way curl prints them: seconds with six decimals.
    let re = regex::Regex::new(r"^\d+\.\d{6} \d+\.\d{6}$").unwrap();
    for u in [url("/ok"), refused_url] {
        let args = [
            "-o",
            "/dev/null",
            "-s",
            "-w",
            "%{time_connect} %{time_total}",
            u.as_str(),
        ];
        let (curl, ours) = both(&ns, &args);
        assert!(
            re.is_match(&curl.stdout) && re.is_match(&ours.stdout),
            "{curl}\n{ours}"
        );
        let zero = |o: &Output| o.stdout.starts_with("0.000000 ");
        assert_eq!(zero(&curl), zero(&ours), "{curl}\n{ours}");
    }
}

#[test]
fn refused_and_unreachable_fail_fast() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let t = Duration::from_secs(2);
    let out = expect(
        hc(&ns, &["-v", &format!("http://{LB1}:81/")]),
        1,
        "000\n",
        t,
    );
    assert!(
        out.stderr.contains("phase=connect") && out.stderr.contains("connection refused"),
        "{out}"
    );
    assert!(out.elapsed < Duration::from_secs(1), "{out}");

    // No route at all: fails at once.
    let bare = Netns::new("bare");
    let out = expect(hc(&bare, &["-v", "http://203.0.113.9/"]), 1, "000\n", t);
    assert!(out.stderr.contains("network is unreachable"), "{out}");
    assert!(out.elapsed < Duration::from_secs(1), "{out}");

    // On-link but nobody there: ARP never answers; the deadline ends it.
    let one = Duration::from_secs(1);
    let out = expect(
        hc(&ns, &["-v", "-t", "1", "http://198.51.100.9/"]),
        1,
        "000\n",
        one,
    );
    assert!(out.stderr.contains("phase=connect"), "{out}");
    // ... or the connect deadline, sooner.
    let out = hc(
        &ns,
        &[
            "-v",
            "-t",
            "3",
            "--connect-timeout",
            "0.3",
            "http://198.51.100.9/",
        ],
    );
    let out = expect(out, 1, "000\n", Duration::from_millis(300));
    assert!(
        out.stderr.contains("fail: connect: timed out after 0.3s"),
        "{out}"
    );
}

/// A misbehaving server: name, behaviour, what httpcheck prints, what its -v line says.
type Case = (&'static str, fn(TcpStream), &'static str, &'static str);

#[test]
fn misbehaving_servers_end_at_the_deadline() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    // The printed code is curl's: that of the status line, once a whole one arrived.
    let cases: [Case; 9] = [
        (
            "accepts, never answers",
            never_answer,
            "000\n",
            "phase=response",
        ),
        (
            "dribbles a byte a second",
            dribble,
            "000\n",
            "phase=response",
        ),
        (
            "never closes the body",
            endless_content_length,
            "200\n",
            "phase=body",
        ),
        (
            "never closes a close-delimited body",
            endless_close_delimited,
            "200\n",
            "phase=body",
        ),
        (
            "endless header",
            endless_header,
            "200\n",
            "fail: response header line longer than 100 KiB (102400 bytes)",
        ),
        (
            "endless headers",
            endless_headers,
            "200\n",
            "fail: response headers larger than 307200 bytes",
        ),
        (
            "slow endless header",
            slow_endless_header,
            "200\n",
            "phase=response",
        ),
        (
            "garbage instead of HTTP",
            garbage,
            "000\n",
            "phase=response",
        ),
        (
            "huge body",
            huge_body,
            "200\n",
            "body larger than 1048576 bytes",
        ),
    ];
    // Start every server first, then run the checks in parallel: each must end on its own.
    let runs: Vec<_> = cases
        .iter()
        .map(|(name, behave, printed, says)| {
            let addr = serve(&ns, *behave);
            let cmd =
                ns.tool("httpcheck")
                    .args(["-v", "-t", "1", &format!("http://{addr}/health")]);
            (*name, *printed, *says, thread::spawn(move || cmd.run()))
        })
        .collect();
    for (name, printed, says, run) in runs {
        let out = run.join().expect("run");
        assert!(out.stderr.contains(says), "{name}: no '{says}'\n{out}");
        expect(out, 1, printed, Duration::from_secs(1));
    }
    // The default deadline is 2 s.
    let addr = serve(&ns, never_answer);
    let out = hc(&ns, &[&format!("http://{addr}/")]);
    assert!(out.elapsed >= Duration::from_millis(1900), "{out}");
    let out = expect(out, 1, "000\n", Duration::from_secs(2));
    assert!(out.stderr.contains("response: timed out after 2s"), "{out}");
}

/// A server, extra flags, the deadline that passes, the code printed, the reason after the URL.
type TimeoutCase = (
    fn(TcpStream),
    &'static [&'static str],
    Duration,
    &'static str,
    &'static str,
);

#[test]
fn timeouts_say_which_phase_and_which_deadline() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let cases: [TimeoutCase; 4] = [
        (
            never_answer,
            &["-t", "0.5"],
            Duration::from_millis(500),
            "000\n",
            "response: timed out after 0.5s",
        ),
        (
            endless_content_length,
            &["-t", "0.5"],
            Duration::from_millis(500),
            "200\n",
            "body: timed out after 0.5s",
        ),
        (
            endless_close_delimited,
            &["--max-time", "0.75"],
            Duration::from_millis(750),
            "200\n",
            "body: timed out after 0.75s",
        ),
        (
            slow_endless_header,
            &["-m", "1"],
            Duration::from_secs(1),
            "200\n",
            "response: timed out after 1s",
        ),
    ];
    for (behave, flags, deadline, printed, says) in cases {
        let u = format!("http://{}/", serve(&ns, behave));
        let mut args = flags.to_vec();
        args.push(&u);
        let out = hc(&ns, &args);
        assert_eq!(out.stderr, format!("httpcheck: {u}: {says}\n"), "{out}");
        expect(out, 1, printed, deadline);
        // -v says the same at the end of its line.
        args.insert(0, "-v");
        let out = hc(&ns, &args);
        assert!(out.stderr.ends_with(&format!(" fail: {says}\n")), "{out}");
    }
    // Nobody at an on-link address: the connect deadline when given, else the total one.
    let silent = "http://198.51.100.9/";
    let out = hc(&ns, &["-t", "0.4", silent]);
    assert_eq!(
        out.stderr,
        format!("httpcheck: {silent}: connect: timed out after 0.4s\n"),
        "{out}"
    );
    let out = hc(&ns, &["-t", "2", "--connect-timeout", "0.25", silent]);
    assert_eq!(
        out.stderr,
        format!("httpcheck: {silent}: connect: timed out after 0.25s\n"),
        "{out}"
    );
    // A connect deadline longer than the total one: the total one passes first.
    let out = hc(&ns, &["-t", "0.3", "--connect-timeout", "5", silent]);
    assert_eq!(
        out.stderr,
        format!("httpcheck: {silent}: connect: timed out after 0.3s\n"),
        "{out}"
    );
}

/// How a tiny test server treats a connection.
type Behaviour = fn(TcpStream);

#[test]
fn large_response_heads_pass_within_curls_limits() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let t = Duration::from_secs(2);
    // (what, server, does curl take it too): curl counts the line end in its 100 KiB, so a
    // line of exactly 100 KiB is just beyond its limit and within ours.
    let passing: [(&str, Behaviour, bool); 5] = [
        ("200 headers", two_hundred_headers, true),
        ("5000 headers", five_thousand_headers, true),
        ("a 64 KiB header line", a_64k_header_line, true),
        ("a 100 KiB header line", a_100k_header_line, false),
        ("299 KiB of headers", a_299k_head, true),
    ];
    for (name, behave, curl_too) in passing {
        let addr = serve(&ns, behave);
        let ok = format!("http://{addr}/ok");
        // The body after the head is intact, chunked or not; a redirect's Location is kept.
        let out = expect(hc(&ns, &["--body-match", "^ok$", &ok]), 0, "200\n", t);
        assert_eq!(out.stderr, "", "{name}\n{out}");
        let chunked = format!("http://{addr}/chunked");
        expect(hc(&ns, &["--body-match", "^ok$", &chunked]), 0, "200\n", t);
        let redirect = format!("http://{addr}/redirect");
        expect(hc(&ns, &["-L", &redirect]), 0, "200\n", t);
        expect(hc(&ns, &[&redirect]), 1, "302\n", t);
        if !curl_too {
            continue;
        }
        let args = [
            "-o",
            "/dev/null",
            "-s",
            "-m",
            "2",
            "-w",
            "%{http_code}",
            &ok,
        ];
        let (curl, ours) = both(&ns, &args);
        assert_eq!(curl.stdout, "200", "{name}\n{curl}");
        assert_eq!(ours.stdout, curl.stdout, "{name}\n{curl}\n{ours}");
        assert_eq!(curl.code, Some(0), "{name}\n{curl}");
        assert_eq!(ours.code, curl.code, "{name}\n{curl}\n{ours}");
    }
    // Beyond them: a failure that names the limit, at once, as curl fails too.
    let failing: [(&str, Behaviour, &str); 2] = [
        (
            "a header line over 100 KiB",
            an_over_100k_header_line,
            "response header line longer than 100 KiB (102400 bytes)",
        ),
        (
            "over 300 KiB of headers",
            an_over_300k_head,
            "response headers larger than 307200 bytes",
        ),
    ];
    for (name, behave, says) in failing {
        let u = format!("http://{}/ok", serve(&ns, behave));
        let out = expect(hc(&ns, &[&u]), 1, "200\n", t);
        assert_eq!(
            out.stderr,
            format!("httpcheck: {u}: {says}\n"),
            "{name}\n{out}"
        );
        assert!(
            out.elapsed < Duration::from_secs(1),
            "{name}: not at once\n{out}"
        );
        let curl = ns
            .cmd("/usr/bin/curl")
            .args(["-o", "/dev/null", "-s", "-m", "2", &u])
            .run();
        assert_ne!(curl.code, Some(0), "{name}: curl took it\n{curl}");
    }
}

#[test]
fn curl_prints_the_same_for_misbehaving_servers() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let behaviours: [fn(TcpStream); 9] = [
        never_answer,
        dribble,
        endless_content_length,
        endless_close_delimited,
        endless_header,
        endless_headers,
        slow_endless_header,
        garbage,
        huge_body,
    ];
    let runs: Vec<_> = behaviours
        .iter()
        .map(|behave| {
            let u = format!("http://{}/", serve(&ns, *behave));
            let args = [
                "-o",
                "/dev/null",
                "-s",
                "-m",
                "1",
                "-w",
                "%{http_code} %{remote_ip}\\n",
                &u,
            ];
            let curl = ns.cmd("/usr/bin/curl").args(args);
            let ours = ns.tool("httpcheck").args(args);
            (
                thread::spawn(move || curl.run()),
                thread::spawn(move || ours.run()),
            )
        })
        .collect();
    for (curl, ours) in runs {
        let (curl, ours) = (curl.join().expect("curl"), ours.join().expect("ours"));
        assert_eq!(
            ours.stdout, curl.stdout,
            "differs from curl\n{curl}\n{ours}"
        );
        expect(ours, 1, &curl.stdout, Duration::from_secs(1));
    }
}

#[test]
fn a_stuck_name_lookup_is_cut_at_the_deadline() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    // `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf: point the
    // resolver at a UDP socket in the namespace that swallows every query.
    let dns = udp_black_hole(&ns, "198.51.100.1:53");
    let parent = Path::new("/etc/netns");
    let _cleanup_parent = (!parent.exists()).then(|| RemoveDir(parent.to_path_buf(), false));
    let dir = parent.join(&ns.name);
    let _cleanup = RemoveDir(dir.clone(), true);
    std::fs::create_dir_all(&dir).expect("mkdir /etc/netns/NS");
    std::fs::write(
        dir.join("resolv.conf"),
        "nameserver 198.51.100.1\noptions timeout:5 attempts:3\n",
    )
    .expect("write resolv.conf");
    let out = hc(&ns, &["-v", "-t", "0.5", "http://health.example.test/"]);
    assert!(out.stderr.contains("phase=resolve"), "{out}");
    assert!(
        out.stderr.contains("fail: resolve: timed out after 0.5s"),
        "{out}"
    );
    expect(out, 1, "000\n", Duration::from_millis(500));
    drop(dns);
}

#[test]
fn https_verifies_certificates() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let other = dir.path().join("other.pem");
    self_signed(&cert, &key, &format!("IP:{LB1},DNS:www.test"));
    self_signed(&other, &dir.path().join("other-key.pem"), "DNS:other.test");
    let servers = format!(
        "default_type text/plain;\n\
         server {{ listen 443 ssl; ssl_certificate {}; ssl_certificate_key {};\n\
           location / {{ return 200 \"secure\\n\"; }} }}\n",
        cert.display(),
        key.display()
    );
    let _nginx = Nginx::start(Some(&ns), &servers);
    let t = Duration::from_secs(2);
    let u = format!("https://{LB1}/");
    let cacert = cert.to_str().expect("utf-8 path");

    let out = expect(hc(&ns, &["-v", &u]), 1, "000\n", t);
    assert!(
        out.stderr.contains("phase=tls") && out.stderr.contains("certificate"),
        "{out}"
    );
    expect(hc(&ns, &["--insecure", &u]), 0, "200\n", t);
    expect(
        hc(&ns, &["-k", "--body-match", "^secure", &u]),
        0,
        "200\n",
        t,
    );
    expect(hc(&ns, &["--cacert", cacert, &u]), 0, "200\n", t);
    // Another certificate is no trust anchor for this one.
    let out = expect(
        hc(&ns, &["-v", "--cacert", other.to_str().unwrap(), &u]),
        1,
        "000\n",
        t,
    );
    assert!(out.stderr.contains("phase=tls"), "{out}");
    // The pinned certificate must still name the host: 198.51.100.1 (the same nginx, listening
    // on every address of the namespace) is not among its names.
    let wrong_name = "https://198.51.100.1/";
    let out = expect(
        hc(&ns, &["-v", "--cacert", cacert, wrong_name]),
        1,
        "000\n",
        t,
    );
    assert!(
        out.stderr.contains("phase=tls") && out.stderr.contains("not valid for name"),
        "{out}"
    );
    expect(hc(&ns, &["-k", wrong_name]), 0, "200\n", t);
    // curl agrees on all of these.
    for args in [
        vec![
            "-o",
            "/dev/null",
            "-s",
            "-m",
            "2",
            "-w",
            "%{http_code}",
            "--cacert",
            cacert,
            wrong_name,
        ],
        vec!["-o", "/dev/null", "-s", "-m", "2", "-w", "%{http_code}", &u],
        vec![
            "-o",
            "/dev/null",
            "-s",
            "-m",
            "2",
            "-w",
            "%{http_code}",
            "-k",
            &u,
        ],
        vec![
            "-o",
            "/dev/null",
            "-s",
            "-m",
            "2",
            "-w",
            "%{http_code}",
            "--cacert",
            cacert,
            &u,
        ],
    ] {
        let (curl, ours) = both(&ns, &args);
        assert_eq!(ours.stdout, curl.stdout, "{curl}\n{ours}");
    }
    // A bad --cacert file is a usage error.
    let out = hc(&ns, &["--cacert", key.to_str().unwrap(), &u]).expect_code(2);
    assert!(out.stderr.starts_with("httpcheck: --cacert: "), "{out}");
}

/// The request heads that a server on 198.51.100.4 in `ns` receives, in order; each is answered
/// `200 ok`.
fn recorder(ns: &Netns) -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    let path = format!("/run/netns/{}", ns.name);
    let (addr_tx, addr_rx) = mpsc::channel();
    let (head_tx, head_rx) = mpsc::channel();
    thread::spawn(move || {
        join_netns(&path);
        let listener = TcpListener::bind((LB1, 0)).expect("bind in namespace");
        addr_tx
            .send(listener.local_addr().expect("local addr"))
            .expect("send");
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { break };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
            if head_tx.send(head).is_err() {
                break;
            }
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("server started");
    (addr, head_rx)
}

/// The header lines of a request head as (lowercase name, value), sorted; the automatic
/// User-Agent's value (curl's or ours) reads `DEFAULT`.
fn header_lines(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<(String, String)> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim().to_string());
            let default = value.starts_with("curl/") || value.starts_with("httpcheck/");
            let value = if name == "user-agent" && default {
                "DEFAULT".to_string()
            } else {
                value
            };
            (name, value)
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn header_removal_and_empty_headers_follow_curl() {
    if !crate::util::need_root() {
        return;
    }
    let ns = netns::single();
    let (addr, heads) = recorder(&ns);
    let u = format!("http://{addr}/");
    let sent = |program: Cmd| {
        let out = program.arg(&u).run();
        let head = heads
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("no request arrived\n{out}"));
        (out, header_lines(&head))
    };
    let has = |lines: &[(String, String)], name: &str| lines.iter().any(|(n, _)| n == name);
    // Without -H: Host, our User-Agent and Accept, as curl sends them.
    let (out, ours) = sent(hc_cmd(&ns, &[]));
    out.expect_code(0);
    assert!(
        has(&ours, "host") && has(&ours, "user-agent") && has(&ours, "accept"),
        "{ours:?}"
    );
    for args in [
        &["-H", "User-Agent:"][..],
        &["-H", "Accept:"],
        &["-H", "User-Agent:", "-H", "Accept:"],
        &["-H", "User-Agent:   "],
        &["-H", "X-Empty;"],
        &["-H", "Accept;"],
        &["-H", "User-Agent;"],
        &["-H", "User-Agent: probe/1", "-H", "User-Agent:"],
        &["-H", "X-A: 1", "-H", "X-A:"],
        &["-H", "X-Gone:"],
        &["-H", "Host;"],
        &["-H", "Host: a.test", "-H", "User-Agent:", "-H", "X-B: 2"],
    ] {
        let (out, ours) = sent(hc_cmd(&ns, args));
        out.expect_code(0);
        let (curl_out, curl) = sent(
            ns.cmd("/usr/bin/curl")
                .args(["-s", "-o", "/dev/null"])
                .args(args),
        );
        curl_out.expect_code(0);
        assert_eq!(
            ours, curl,
            "{args:?}: httpcheck and curl sent different headers"
        );
    }
    // `Name:` sends no such line at all, `Name;` one with an empty value.
    let (_, ours) = sent(hc_cmd(&ns, &["-H", "User-Agent:", "-H", "Accept:"]));
    assert!(
        !has(&ours, "user-agent") && !has(&ours, "accept"),
        "{ours:?}"
    );
    let (_, ours) = sent(hc_cmd(&ns, &["-H", "X-Empty;"]));
    assert!(
        ours.contains(&("x-empty".to_string(), String::new())),
        "{ours:?}"
    );
    // Leaving out Host cannot be done (curl would, and get a 400): a usage error, nothing sent.
    let out = hc(&ns, &["-H", "Host:", &u]).expect_code(2);
    assert!(out.stderr.contains("'Host:'"), "{out}");
    assert!(heads.recv_timeout(Duration::from_millis(300)).is_err());
}

/// httpcheck inside `ns`, the URL still to be added.
fn hc_cmd(ns: &Netns, args: &[&str]) -> Cmd {
    ns.tool("httpcheck").args(args)
}

#[test]
fn bad_urls_and_flags_exit_2() {
    for args in [
        &["198.51.100.4/"][..],
        &["ftp://198.51.100.4/"],
        &["http://198.51.100.4:99999/"],
        &["http://198.51.100.4:0/"],
        &["http://:80/"],
        &["-t", "0", "http://198.51.100.4/"],
        &["-t", "soon", "http://198.51.100.4/"],
        &["-e", "2xx", "http://198.51.100.4/"],
        &["-e", "399-200", "http://198.51.100.4/"],
        &["--referer", "x", "http://198.51.100.4/"],
        &["-X", "POST", "http://198.51.100.4/"],
        &["--compressed", "http://198.51.100.4/"],
        &["-w", "%{size_download}", "http://198.51.100.4/"],
        &["-o", "/tmp/body", "http://198.51.100.4/"],
        &["-H", "no colon", "http://198.51.100.4/"],
        &["--body-match", "([", "http://198.51.100.4/"],
        &[],
    ] {
        let out = Cmd::tool("httpcheck").args(args).run().expect_code(2);
        assert!(out.stdout.is_empty(), "{out}");
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(out.stderr.starts_with("httpcheck: "), "{out}");
    }
    let out = Cmd::tool("httpcheck").arg("--help").ok();
    assert!(out.stdout.contains("Exit status:"), "{out}");
}

// ---- tiny servers -------------------------------------------------------------------------

/// Serve on 198.51.100.4 (an ephemeral port) inside `ns`: a thread joins the namespace, binds,
/// and hands each connection to `behave` on a thread of its own. Threads are left to end with
/// the test process; each behaviour gives up after at most 15 s.
fn serve(ns: &Netns, behave: fn(TcpStream)) -> SocketAddr {
    let path = format!("/run/netns/{}", ns.name);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        join_netns(&path);
        let listener = TcpListener::bind((LB1, 0)).expect("bind in namespace");
        tx.send(listener.local_addr().expect("local addr"))
            .expect("send");
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            thread::spawn(move || behave(conn));
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("server started")
}

/// Move the calling thread (only) into the namespace at `path`.
fn join_netns(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns(2) on a valid namespace fd; it changes only this thread's namespace.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

/// A UDP socket in `ns` at `addr` that reads queries and never answers.
fn udp_black_hole(ns: &Netns, addr: &'static str) -> mpsc::Sender<()> {
    let path = format!("/run/netns/{}", ns.name);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        join_netns(&path);
        let sock = std::net::UdpSocket::bind(addr).expect("bind udp");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        ready_tx.send(()).expect("send");
        let mut buf = [0u8; 1500];
        while matches!(stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            let _ = sock.recv(&mut buf);
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("udp ready");
    stop_tx
}

/// Removes a directory we created, on drop: with its contents (`true`), or only if nothing else
/// is left in it (`false`, for a parent other tests may share).
struct RemoveDir(std::path::PathBuf, bool);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = if self.1 {
            std::fs::remove_dir_all(&self.0)
        } else {
            std::fs::remove_dir(&self.0)
        };
    }
}

/// Read the request head (up to the blank line), giving up after a second.
fn read_request(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Keep the connection open, silent, for 15 s.
fn hold(s: TcpStream) {
    thread::sleep(Duration::from_secs(15));
    drop(s);
}

fn never_answer(mut s: TcpStream) {
    read_request(&mut s);
    hold(s);
}

fn dribble(mut s: TcpStream) {
    read_request(&mut s);
    for b in b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n" {
        if s.write_all(&[*b]).is_err() {
            return;
        }
        thread::sleep(Duration::from_secs(1));
    }
}

fn endless_content_length(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf a bo");
    hold(s);
}

fn endless_close_delimited(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstill going ");
    for _ in 0..15 {
        thread::sleep(Duration::from_millis(200));
        if s.write_all(b".").is_err() {
            return;
        }
    }
}

fn endless_header(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Junk: ");
    let junk = [b'a'; 4096];
    for _ in 0..10_000 {
        if s.write_all(&junk).is_err() {
            return;
        }
    }
}

/// Short header lines, as fast as they go, without end.
fn endless_headers(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
    let lines: Vec<u8> = (0..1000)
        .flat_map(|i| format!("X-Many-{i}: yes\r\n").into_bytes())
        .collect();
    for _ in 0..10_000 {
        if s.write_all(&lines).is_err() {
            return;
        }
    }
}

/// `200 ok` after `count` extra header lines of `len` bytes each; `/redirect` answers `302` to
/// `/ok` with the same head, `/chunked` sends the body chunked.
fn big_head(mut s: TcpStream, count: usize, len: usize) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let path = String::from_utf8_lossy(&got)
        .split(' ')
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut head = Vec::new();
    head.extend_from_slice(match path.as_str() {
        "/redirect" => b"HTTP/1.1 302 Found\r\n".as_slice(),
        _ => b"HTTP/1.1 200 OK\r\n",
    });
    for i in 0..count {
        let name = format!("X-Header-{i}: ");
        let value = "v".repeat(len.saturating_sub(name.len()).max(1));
        head.extend_from_slice(format!("{name}{value}\r\n").as_bytes());
    }
    let body: &[u8] = match path.as_str() {
        "/redirect" => b"Location: /ok\r\nContent-Length: 0\r\n\r\n",
        "/chunked" => b"Transfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n",
        _ => b"Content-Length: 3\r\n\r\nok\n",
    };
    head.extend_from_slice(body);
    let _ = s.write_all(&head);
    hold(s);
}

fn two_hundred_headers(s: TcpStream) {
    big_head(s, 200, 40);
}

fn five_thousand_headers(s: TcpStream) {
    big_head(s, 5000, 50);
}

fn a_64k_header_line(s: TcpStream) {
    big_head(s, 1, 64 * 1024);
}

fn a_100k_header_line(s: TcpStream) {
    big_head(s, 1, 100 * 1024);
}

fn an_over_100k_header_line(s: TcpStream) {
    big_head(s, 1, 100 * 1024 + 1);
}

fn a_299k_head(s: TcpStream) {
    big_head(s, 3, 99 * 1024);
}

fn an_over_300k_head(s: TcpStream) {
    big_head(s, 4, 80 * 1024);
}

fn slow_endless_header(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
    for i in 0..150 {
        if s.write_all(format!("X-Slow-{i}: yes\r\n").as_bytes())
            .is_err()
        {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn garbage(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n\x00\x01\x02\xff\r\n\r\n");
    hold(s);
}

fn huge_body(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
    let chunk = [b'x'; 64 * 1024];
    for _ in 0..16_384 {
        if s.write_all(&chunk).is_err() {
            return;
        }
    }
}

/// A self-signed certificate as people make them with the openssl CLI (CA:TRUE by default).
fn self_signed(cert: &Path, key: &Path, san: &str) {
    Cmd::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=vipkit test"])
        .arg("-addext")
        .arg(format!("subjectAltName={san}"))
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .ok();
}
