//! The grammar of each kind of value (seconds, counts, yes/no, paths, the interface, the
//! gateway, URLs), checked first by the rules the supervisor has always applied and then by
//! the parser of the tool that will be handed the value, whose verdict is final. Each problem
//! names the key, its value and the line that set it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::file::Raw;
use super::types::Problem;
use crate::http::Target;
use crate::iface;

/// Characters no URL may contain (they must be %-encoded): quotes and what a shell or a log
/// reader would take for syntax.
const URL_BAD_CHARS: &str = "\"'`$\\<>{}|^";

/// Checks values of one file, collecting every problem.
pub struct Check<'a> {
    pub raw: &'a Raw,
    pub problems: Vec<Problem>,
}

/// A whole number of at most 6 digits without a sign or leading zeros, as the supervisor
/// has always read counts.
fn uint(s: &str) -> Option<u64> {
    let plain = !s.is_empty()
        && s.len() <= 6
        && s.bytes().all(|b| b.is_ascii_digit())
        && !(s.len() > 1 && s.starts_with('0'));
    plain.then(|| s.parse().ok()).flatten()
}

/// Seconds as the supervisor takes them, in milliseconds: digits with at most 3 decimals, no
/// leading zeros, no lone `.` at either end (`1`, `0.5`, `0.05`). Stricter than
/// [`crate::secs::parse`], which must accept it too: that is how the tools read the values
/// they are handed (`httpcheck -t`, `garp -w`, `garp -i`).
fn millis(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if s.ends_with('.') || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms = uint(int)? * 1000 + format!("{frac:0<3}").parse::<u64>().ok()?;
    // Any number of 6 digits: the range is checked by the caller, with its own message.
    crate::secs::parse(s, 1_000_000).ok()?;
    Some(ms)
}

/// Milliseconds as the supervisor writes them: `1.25`, `0.05`, `3`.
pub fn show_ms(ms: u64) -> String {
    crate::secs::show(Duration::from_millis(ms))
}

/// Is `a` an address the IPv4 dotted-quad or IPv6 colon-hex grammar of the supervisor takes?
/// The library's parser, without IPv6's embedded dotted quads (`::ffff:192.0.2.1`), which the
/// supervisor never accepted.
pub fn ip(a: &str) -> Option<IpAddr> {
    let ip: IpAddr = a.parse().ok()?;
    (ip.is_ipv4() || !a.contains('.')).then_some(ip)
}

impl<'a> Check<'a> {
    pub fn new(raw: &'a Raw) -> Self {
        Check {
            raw,
            problems: Vec::new(),
        }
    }

    /// The value of `key` (as set, or its default).
    pub fn value(&self, key: &str) -> &'a str {
        self.raw.value(key)
    }

    /// Record a problem of `key` (with its current value and line).
    pub fn bad(&mut self, key: &str, why: impl Into<String>) {
        self.problems.push(Problem {
            line: self.raw.line(key),
            key: key.to_string(),
            value: self.value(key).to_string(),
            why: why.into(),
        });
    }

    /// Seconds from `lo` to `hi` milliseconds.
    pub fn secs(&mut self, key: &str, lo: u64, hi: u64) -> Option<Duration> {
        let v = self.value(key);
        let Some(ms) = millis(v) else {
            self.bad(
                key,
                "not a number of seconds (like 1, 0.5 or 0.05; at most 3 decimals)",
            );
            return None;
        };
        if ms < lo || ms > hi {
            self.bad(
                key,
                format!(
                    "must be between {} and {} seconds",
                    show_ms(lo),
                    show_ms(hi)
                ),
            );
            return None;
        }
        Some(Duration::from_millis(ms))
    }

    /// A whole number from `lo` to `hi`.
    pub fn int(&mut self, key: &str, lo: u32, hi: u32) -> Option<u32> {
        match uint(self.value(key)).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.bad(key, format!("must be a whole number from {lo} to {hi}"));
                None
            }
        }
    }

    /// `yes` or `no`.
    pub fn yes_no(&mut self, key: &str) -> Option<bool> {
        match self.value(key) {
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                self.bad(key, "must be yes or no");
                None
            }
        }
    }

    /// An absolute file path of plain characters (it is put in messages and file names).
    pub fn path(&mut self, key: &str) -> Option<PathBuf> {
        let v = self.value(key);
        if !(v.len() >= 2 && v.starts_with('/') && !v.ends_with('/')) {
            self.bad(key, "must be an absolute file path");
            return None;
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/+@=,-".contains(&b))
        {
            self.bad(key, "only letters, digits and ._/+@=,- are allowed");
            return None;
        }
        Some(PathBuf::from(v))
    }

    /// `IFACE`: required, an interface name, not an alias label.
    pub fn iface(&mut self) -> Option<String> {
        let v = self.value("IFACE");
        let why = if v.is_empty() {
            "required: the interface that carries the VIPs (like eth0)".to_string()
        } else if v.contains(':') {
            "an alias label is not an interface: give the interface (like eth0) and the label \
             in the VIP lists (198.51.100.2/24@ha1)"
                .to_string()
        } else if v == "."
            || v == ".."
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            "not an interface name (letters, digits, . _ -)".to_string()
        } else if v.len() > 15 {
            "interface names have at most 15 characters".to_string()
        } else {
            match iface::check_name(v) {
                Ok(()) => return Some(v.to_string()),
                Err(e) => e.to_string(),
            }
        };
        self.bad("IFACE", why);
        None
    }

    /// `GATEWAY`: empty, or an address garp takes as the target of a gateway-aimed request.
    /// `Some(None)` when empty; None after a problem.
    pub fn gateway(&mut self) -> Option<Option<IpAddr>> {
        let v = self.value("GATEWAY");
        if v.is_empty() {
            return Some(None);
        }
        let Some(gw) = ip(v) else {
            self.bad("GATEWAY", "not an IPv4 or IPv6 address");
            return None;
        };
        // garp's rule for every address it is given: unicast.
        let unicast = match gw {
            IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
            IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
        };
        if !unicast {
            self.bad("GATEWAY", format!("garp: not a unicast address: {gw}"));
            return None;
        }
        Some(Some(gw))
    }

    /// A health URL (non-empty): http:// or https://, nothing a shell or log would misread,
    /// a host and a good port; then httpcheck's own parser.
    pub fn url(&mut self, key: &str) -> Option<Target> {
        let v = self.value(key);
        if let Err(why) = url_shape(v) {
            self.bad(key, why);
            return None;
        }
        match Target::parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.bad(key, format!("httpcheck: {e}"));
                None
            }
        }
    }
}

/// The supervisor's own URL rules (kept as they were: the messages are the ones operators
/// know); `Target::parse` checks the rest.
fn url_shape(v: &str) -> std::result::Result<(), String> {
    let Some(rest) = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
    else {
        return Err("not an http:// or https:// URL".into());
    };
    if v.chars()
        .any(|c| c.is_ascii_whitespace() || c.is_control() || URL_BAD_CHARS.contains(c))
    {
        return Err("contains a blank, a quote or one of $`\\<>{}|^ (encode it as %XX)".into());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') || host.starts_with("[]") {
        return Err("has no host".into());
    }
    let port = if host.starts_with('[') {
        host.rsplit_once("]:").map(|(_, p)| p)
    } else {
        host.rsplit_once(':').map(|(_, p)| p)
    };
    match port {
        Some(p) if !uint(p).is_some_and(|n| (1..=65535).contains(&n)) => Err(format!(
            "bad port '{}'",
            if p.is_empty() { "bad" } else { p }
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_the_supervisors_and_the_tools() {
        assert_eq!(millis("1"), Some(1000));
        assert_eq!(millis("0.05"), Some(50));
        assert_eq!(millis("0.2"), Some(200));
        assert_eq!(millis("1.250"), Some(1250));
        assert_eq!(millis("0"), Some(0));
        for bad in [
            "", ".5", "2.", "01", "1.2.3", "1s", "-1", "+1", "0.0001", "1e3", "inf", " 1",
            "1234567", "0x10",
        ] {
            assert_eq!(millis(bad), None, "{bad:?}");
        }
        assert_eq!(show_ms(1250), "1.25");
        assert_eq!(show_ms(50), "0.05");
        assert_eq!(show_ms(3_600_000), "3600");
    }

    #[test]
    fn counts_have_no_sign_or_leading_zero() {
        assert_eq!(uint("0"), Some(0));
        assert_eq!(uint("999999"), Some(999_999));
        for bad in ["", "-1", "+1", "01", "1000000", "1.0", "2 "] {
            assert_eq!(uint(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn addresses_keep_the_supervisors_grammar() {
        assert!(ip("198.51.100.1").is_some());
        assert!(ip("2001:db8::1").is_some());
        assert!(ip("::").is_some());
        for bad in [
            "198.51.100.01",
            "198.51.100",
            "::ffff:198.51.100.1",
            "fe80::1%eth0",
            "gw.example",
            "1::2::3",
        ] {
            assert_eq!(ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn url_shapes() {
        for ok in [
            "http://198.51.100.4/",
            "https://lb1.example.test:8443/health?x=1",
            "http://[2001:db8::4]:8080/",
            "http://[2001:db8::4/",
        ] {
            assert_eq!(url_shape(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("ftp://198.51.100.5/", "not an http"),
            ("HTTP://198.51.100.5/", "not an http"),
            ("http://198.51.100.5/`reboot`", "contains"),
            ("http://198.51.100.5/ x", "contains"),
            ("http://198.51.100.5/\u{7}", "contains"),
            ("http:///x", "has no host"),
            ("http://:80/", "has no host"),
            ("http://[]/", "has no host"),
            ("http://198.51.100.5:0/", "bad port '0'"),
            ("http://198.51.100.5:65536/", "bad port '65536'"),
            ("http://198.51.100.5:/", "bad port 'bad'"),
            ("http://[2001:db8::4]:x/", "bad port 'x'"),
        ] {
            let e = url_shape(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
