//! What `httpcheck` prints about a check: the `-w` format, parsed and printed as curl does,
//! and the `-v` diagnostic line.

use std::time::Duration;

use crate::http::{Method, Outcome, Target};

/// One piece of a `-w` format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// The `curl -w` variables httpcheck knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    HttpCode,
    TimeTotal,
    TimeConnect,
    TimeNamelookup,
    RemoteIp,
    RemotePort,
}

/// A parsed `-w` format: literal text, `%{variable}`, `%%`, and `\n` `\r` `\t` as curl reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct WriteOut(Vec<Piece>);

pub(super) fn parse_write_out(s: &str) -> std::result::Result<WriteOut, String> {
    WriteOut::parse(s)
}

impl WriteOut {
    /// curl 7.88's rules: `%{name}` is a variable (case-insensitive), the name running to the
    /// next `}`; `%%` is `%`; a `%` not followed by `{`, or a `%{` with no `}` after it, is
    /// literal; `\n` `\r` `\t` are control characters and
    /// a backslash before anything else is printed with that character. Unlike curl, a variable
    /// httpcheck does not know is an error, not silently empty; `@FILE` is not read.
    fn parse(s: &str) -> std::result::Result<WriteOut, String> {
        if s.starts_with('@') {
            return Err(format!(
                "'{s}': reading the format from a file is not supported"
            ));
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            match c {
                '%' if rest.starts_with("%%") => {
                    text.push('%');
                    rest = &rest[2..];
                }
                '%' if rest.starts_with("%{") => match rest[2..].find('}') {
                    Some(end) => {
                        let name = &rest[2..2 + end];
                        let var = Var::from_name(name).ok_or_else(|| {
                            format!("unknown --write-out variable '{name}' in '{s}'")
                        })?;
                        if !text.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(Piece::Var(var));
                        rest = &rest[2 + end + 1..];
                    }
                    None => {
                        // curl prints the `%{` and goes on reading what follows.
                        text.push_str("%{");
                        rest = &rest[2..];
                    }
                },
                '%' if rest[1..].starts_with(|c: char| c.is_ascii_alphabetic())
                    && rest[1..].contains('{') =>
                {
                    // curl's %header{NAME} and friends: not supported, say so.
                    let word: String = rest[1..].chars().take_while(|c| *c != '{').collect();
                    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(format!("'%{word}{{...}}' in '{s}' is not supported"));
                    }
                    text.push('%');
                    rest = &rest[1..];
                }
                '\\' if rest.len() > 1 => {
                    let next = rest[1..].chars().next().unwrap_or('\\');
                    match next {
                        'n' => text.push('\n'),
                        'r' => text.push('\r'),
                        't' => text.push('\t'),
                        other => {
                            text.push('\\');
                            text.push(other);
                        }
                    }
                    rest = &rest[1 + next.len_utf8()..];
                }
                c => {
                    text.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(WriteOut(pieces))
    }

    /// The text curl would print for this outcome.
    pub(super) fn render(&self, o: &Outcome) -> String {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Var(Var::HttpCode) => s.push_str(&o.code_text()),
                Piece::Var(Var::TimeTotal) => s.push_str(&curl_secs(Some(o.time_total))),
                Piece::Var(Var::TimeConnect) => s.push_str(&curl_secs(o.time_connect)),
                Piece::Var(Var::TimeNamelookup) => s.push_str(&curl_secs(o.time_namelookup)),
                Piece::Var(Var::RemoteIp) => {
                    if let Some(a) = o.remote {
                        s.push_str(&a.ip().to_string());
                    }
                }
                Piece::Var(Var::RemotePort) => {
                    s.push_str(&o.remote.map(|a| a.port()).unwrap_or(0).to_string())
                }
            }
        }
        s
    }
}

impl Var {
    fn from_name(name: &str) -> Option<Var> {
        Some(match name.to_ascii_lowercase().as_str() {
            "http_code" | "response_code" => Var::HttpCode,
            "time_total" => Var::TimeTotal,
            "time_connect" => Var::TimeConnect,
            "time_namelookup" => Var::TimeNamelookup,
            "remote_ip" => Var::RemoteIp,
            "remote_port" => Var::RemotePort,
            _ => return None,
        })
    }
}

/// Seconds with six decimals, as curl prints times (`0.000000` for never).
fn curl_secs(d: Option<Duration>) -> String {
    format!("{:.6}", d.map(|d| d.as_secs_f64()).unwrap_or(0.0))
}

/// The `-v` line: `METHOD URL addr=A phase=P elapsed=S code=C ok|fail: why`.
pub(super) fn diagnostic(method: Method, url: &Target, o: &Outcome) -> String {
    let addr = o
        .tried
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".to_string());
    let verdict = match &o.failure {
        None => "ok".to_string(),
        Some(why) => format!("fail: {why}"),
    };
    format!(
        "{method} {url} addr={addr} phase={} elapsed={:.6}s code={} {verdict}",
        o.phase,
        o.time_total.as_secs_f64(),
        o.code_text()
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::http::Phase;
    use std::net::SocketAddr;

    /// A check that passed, with every field set.
    pub(crate) fn outcome() -> Outcome {
        Outcome {
            code: Some(200),
            phase: Phase::Done,
            tried: Some("198.51.100.4:80".parse::<SocketAddr>().unwrap()),
            remote: Some("198.51.100.4:80".parse::<SocketAddr>().unwrap()),
            time_namelookup: Some(Duration::from_micros(12)),
            time_connect: Some(Duration::from_micros(345)),
            time_total: Duration::from_micros(1_234_567),
            failure: None,
        }
    }

    #[test]
    fn write_out_follows_curl() {
        let o = outcome();
        let r = |f: &str| WriteOut::parse(f).unwrap().render(&o);
        assert_eq!(r("%{http_code}"), "200");
        assert_eq!(r("%{HTTP_CODE}|%{response_code}"), "200|200");
        assert_eq!(r("a\\nb%{http_code}"), "a\nb200");
        assert_eq!(r("\\x\\\\%%|%z|%{http_code"), "\\x\\\\%|%z|%{http_code");
        assert_eq!(r("\\\\n|"), "\\\\n|");
        assert_eq!(r("a\\"), "a\\");
        assert_eq!(r("%"), "%");
        assert_eq!(r("%{"), "%{");
        assert_eq!(r("%{http_code\\r%%|\\n"), "%{http_code\r%|\n");
        assert_eq!(r("%{http_code}%{"), "200%{");
        assert_eq!(r("\\t\\r%"), "\t\r%");
        assert_eq!(r("%{http_code}%{http_code}"), "200200");
        assert_eq!(
            r("%{time_total} %{time_connect} %{time_namelookup}"),
            "1.234567 0.000345 0.000012"
        );
        assert_eq!(r("%{remote_ip}:%{remote_port}"), "198.51.100.4:80");
        assert_eq!(r("é%{http_code}ü"), "é200ü");
        let none = Outcome {
            code: None,
            remote: None,
            time_connect: None,
            ..outcome()
        };
        let w =
            WriteOut::parse("%{http_code}|%{remote_ip}|%{remote_port}|%{time_connect}").unwrap();
        assert_eq!(w.render(&none), "000||0|0.000000");
    }

    #[test]
    fn write_out_rejects_what_it_cannot_print() {
        for bad in ["%{}", "%{foo}", "%{ http_code}", "%header{server}", "@file"] {
            assert!(WriteOut::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diagnostic_line() {
        let url = Target::parse("http://198.51.100.4/").unwrap();
        let line = diagnostic(Method::Get, &url, &outcome());
        assert_eq!(
            line,
            "GET http://198.51.100.4/ addr=198.51.100.4:80 phase=done elapsed=1.234567s code=200 ok"
        );
        let failed = Outcome {
            code: None,
            phase: Phase::Connect,
            failure: Some("connection refused".into()),
            ..outcome()
        };
        let line = diagnostic(Method::Head, &url, &failed);
        assert!(
            line.ends_with("phase=connect elapsed=1.234567s code=000 fail: connection refused"),
            "{line}"
        );
    }
}
