//! What httpcheck reads and accepts, as pure functions: the status-code set of `-e`, the URL,
//! the `-H` header grammar, and the response head read within curl's limits (which headers ureq
//! is handed, when a head is too large). No I/O here: the transport feeds [`HeadReader`] the bytes
//! it receives.
//!
//! With its byte-level tests the file is a little over 600 lines; the head reader stays here, as
//! the pure layer is one place for everything httpcheck reads.

use std::fmt;
use std::io;
use std::ops::RangeInclusive;

use ureq::http::Uri;
use ureq::http::header::{self as http_header, HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// The longest response header line accepted: curl's `CURL_MAX_HTTP_HEADER`, 100 KiB.
pub const MAX_HEADER_LINE: usize = 100 * 1024;
/// The most bytes a response head may take (status line, header lines and the blank line):
/// curl's limit, 300 KiB. The number of header lines has no limit of its own.
pub const MAX_HEAD: usize = 300 * 1024;
/// The status codes `-e` may name: three digits, as HTTP/1.1 status lines carry them.
pub const STATUS_CODES: RangeInclusive<u16> = 100..=999;

/// A set of acceptable status codes: `200`, `200-399`, `200,204`, `200-299,301`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl StatusSet {
    /// Parse a comma-separated list of codes and inclusive `LOW-HIGH` ranges ([`STATUS_CODES`]).
    pub fn parse(s: &str) -> Result<StatusSet> {
        let bad = |why: &str| Error::usage(format!("bad status codes '{s}': {why}"));
        let mut ranges = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(bad("empty item"));
            }
            let (lo, hi) = match item.split_once('-') {
                Some((lo, hi)) => (status_code(lo.trim(), s)?, status_code(hi.trim(), s)?),
                None => {
                    let c = status_code(item, s)?;
                    (c, c)
                }
            };
            if lo > hi {
                return Err(bad(&format!("range {item} is reversed")));
            }
            ranges.push((lo, hi));
        }
        Ok(StatusSet {
            ranges,
            text: s.to_string(),
        })
    }

    /// Is `code` one of the accepted codes?
    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= code && code <= hi)
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet {
            ranges: vec![(200, 200)],
            text: "200".to_string(),
        }
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn status_code(s: &str, whole: &str) -> Result<u16> {
    let bad = || {
        Error::usage(format!(
            "bad status codes '{whole}': '{s}' is not a code {}-{}",
            STATUS_CODES.start(),
            STATUS_CODES.end()
        ))
    };
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match s.parse::<u16>() {
        Ok(c) if STATUS_CODES.contains(&c) => Ok(c),
        _ => Err(bad()),
    }
}

/// A validated `http://` or `https://` URL.
#[derive(Clone, Debug)]
pub struct Target {
    pub(super) uri: Uri,
    text: String,
    https: bool,
}

impl Target {
    /// Parse and check a URL: scheme `http` or `https`, a host, a port 1-65535, no credentials.
    pub fn parse(s: &str) -> Result<Target> {
        let bad = |why: &str| Error::usage(format!("bad URL '{s}': {why}"));
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("no scheme (write http://HOST/...)"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(bad(&format!(
                    "unsupported scheme '{other}' (http or https)"
                )));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad(
                "credentials in URLs are not supported (use -H 'Authorization: ...')",
            ));
        }
        let (host, port) = split_host_port(authority).map_err(|why| bad(&why))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if let Some(port) = port {
            match port.parse::<u32>() {
                Ok(p) if (1..=65535).contains(&p) && port.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => return Err(bad(&format!("bad port '{port}'"))),
            }
        }
        let uri: Uri = s.parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.host().is_none() {
            return Err(bad("no host"));
        }
        Ok(Target {
            uri,
            text: s.to_string(),
            https,
        })
    }

    /// Is this an `https` URL?
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Split `host[:port]` or `[v6][:port]`; the port is returned as written (it may be empty).
fn split_host_port(authority: &str) -> std::result::Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in host".to_string())?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("bad IPv6 address '{host}'"));
        }
        return match after {
            "" => Ok((host, None)),
            p => match p.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("junk after ']': '{p}'")),
            },
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// One request header given with `-H`.
#[derive(Clone, Debug)]
pub struct Header {
    pub(super) name: HeaderName,
    /// None: `Name:` with nothing after it, which (as in curl) means "do not send this header".
    pub(super) value: Option<HeaderValue>,
}

impl Header {
    /// Parse curl's `-H` forms: `Name: value`, `Name;` (send it empty), `Name:` (do not send
    /// our own: the automatic `User-Agent` or `Accept`). `Host:` is refused: curl would send no
    /// Host at all, which an HTTP/1.1 server must answer with 400, and ureq always sends one.
    pub fn parse(s: &str) -> Result<Header> {
        let bad = |why: &str| Error::usage(format!("bad header '{s}': {why}"));
        let (name, value) = match s.split_once(':') {
            Some((name, value)) => {
                let value = value.trim();
                (name, (!value.is_empty()).then_some(value))
            }
            None => match s.strip_suffix(';') {
                Some(name) => (name, Some("")),
                None => return Err(bad("expected 'Name: value'")),
            },
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(&format!("'{name}' is not a header name")))?;
        let value = match value {
            Some(v) => Some(HeaderValue::from_str(v).map_err(|_| bad("invalid characters"))?),
            None => None,
        };
        if value.is_none() && name == http_header::HOST {
            return Err(bad(
                "the Host header cannot be left out (HTTP/1.1 requires it; it comes from the \
                 URL unless -H 'Host: NAME' gives one)",
            ));
        }
        Ok(Header { name, value })
    }

    /// `Name:`: leave this header out.
    pub fn removes(&self) -> bool {
        self.value.is_none()
    }
}

/// The response headers ureq acts on: the framing of the body and redirects. The probe itself
/// reads no header, so ureq is handed only these, and the head's size is bounded by curl's
/// limits ([`MAX_HEADER_LINE`], [`MAX_HEAD`]) rather than by ureq's parser, which takes at most
/// 128 header lines (a response with 200 is common enough behind some frameworks).
const USED_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "location",
];

/// What the bytes of a response head received so far amount to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Head {
    /// Not complete yet: more bytes are needed.
    Partial,
    /// Complete: the status line, the [`USED_HEADERS`] lines and the blank line, bytes as
    /// received. What followed the head stays in the reader.
    Complete(Vec<u8>),
    /// Not a well-formed HTTP/1.x head: ureq gets the bytes as they are and says what is wrong
    /// with them, as it did before this reader existed.
    Raw,
}

/// A response head beyond curl's limits.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HeadTooLarge {
    /// One line longer than [`MAX_HEADER_LINE`].
    Line,
    /// The head longer than [`MAX_HEAD`].
    Total,
}

impl HeadTooLarge {
    pub(super) fn into_error(self) -> ureq::Error {
        match self {
            HeadTooLarge::Line => ureq::Error::Io(io::Error::other(format!(
                "response header line longer than {} KiB ({MAX_HEADER_LINE} bytes)",
                MAX_HEADER_LINE / 1024
            ))),
            HeadTooLarge::Total => ureq::Error::LargeResponseHeader(MAX_HEAD + 1, MAX_HEAD),
        }
    }
}

/// Reads a response head line by line as its bytes arrive (pure: the transport feeds it),
/// each line looked at once.
#[derive(Debug, Default)]
pub(super) struct HeadReader {
    /// Bytes received and not handed on (the transport appends what it reads).
    pub(super) buf: Vec<u8>,
    /// Where the first line not yet looked at starts in `buf`.
    pos: usize,
    /// How many bytes from `pos` on are known to hold no line end (a long line arriving in
    /// small pieces is searched once, not once per piece).
    searched: usize,
    /// The lines looked at that ureq gets.
    used: Vec<u8>,
}

impl HeadReader {
    /// Look at the lines completed since the last call.
    pub(super) fn scan(&mut self) -> std::result::Result<Head, HeadTooLarge> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(nl) = rest[self.searched..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + self.searched)
            else {
                self.searched = rest.len();
                let prefix = &rest[..rest.len().min(5)];
                if self.pos == 0 && !b"HTTP/".starts_with(prefix) {
                    return Ok(Head::Raw);
                }
                // (one byte more may be the CR of a line that is not too long)
                if rest.len() > MAX_HEADER_LINE + 1 {
                    return Err(HeadTooLarge::Line);
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(HeadTooLarge::Total);
                }
                return Ok(Head::Partial);
            };
            let end = self.pos + nl + 1;
            let raw = &rest[..=nl];
            let line = raw[..nl].strip_suffix(b"\r").unwrap_or(&raw[..nl]);
            if line.len() > MAX_HEADER_LINE {
                return Err(HeadTooLarge::Line);
            }
            if end > MAX_HEAD {
                return Err(HeadTooLarge::Total);
            }
            if self.pos == 0 {
                if !line.starts_with(b"HTTP/") {
                    return Ok(Head::Raw);
                }
                self.used.extend_from_slice(raw);
            } else if line.is_empty() {
                self.used.extend_from_slice(raw);
                self.buf.drain(..end);
                self.pos = 0;
                self.searched = 0;
                return Ok(Head::Complete(std::mem::take(&mut self.used)));
            } else {
                // `name: value`; anything else (obs-fold, no colon, a bad name) is ureq's to
                // refuse.
                let name = match line.iter().position(|&b| b == b':') {
                    Some(colon) if colon > 0 => &line[..colon],
                    _ => return Ok(Head::Raw),
                };
                if !name.iter().all(|&b| is_tchar(b)) {
                    return Ok(Head::Raw);
                }
                if USED_HEADERS
                    .iter()
                    .any(|u| name.eq_ignore_ascii_case(u.as_bytes()))
                {
                    self.used.extend_from_slice(raw);
                }
            }
            self.pos = end;
            self.searched = 0;
        }
    }

    /// Everything received and not handed on, as it arrived; the reader starts over.
    pub(super) fn take_all(&mut self) -> Vec<u8> {
        self.pos = 0;
        self.searched = 0;
        self.used.clear();
        std::mem::take(&mut self.buf)
    }
}

/// A character of an HTTP token (a header name), RFC 9110 section 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The code of a complete HTTP/1.x status line at the start of `buf`: `HTTP/1.1 200 OK\r\n`.
pub(super) fn status_line_code(buf: &[u8]) -> Option<u16> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))?;
    let (digits, after) = rest.split_at_checked(3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(after.is_empty() || after[0] == b' ') {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sets() {
        let s = StatusSet::parse("200").unwrap();
        assert!(s.contains(200) && !s.contains(204));
        let s = StatusSet::parse("200-399").unwrap();
        assert!(s.contains(200) && s.contains(301) && s.contains(399) && !s.contains(400));
        let s = StatusSet::parse("200,204").unwrap();
        assert!(s.contains(204) && !s.contains(201));
        let s = StatusSet::parse("200-299, 301,302").unwrap();
        assert!(s.contains(250) && s.contains(302) && !s.contains(303));
        assert_eq!(s.to_string(), "200-299, 301,302");
        assert!(StatusSet::default().contains(200));
    }

    #[test]
    fn bad_status_sets_are_usage_errors() {
        for bad in [
            "", "20", "2000", "abc", "200,", ",200", "399-200", "200-", "-200", "99", "0", "+200",
            "200-3x0", "1000",
        ] {
            let e = StatusSet::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn urls() {
        for ok in [
            "http://198.51.100.4/",
            "http://198.51.100.4",
            "HTTP://198.51.100.4:8080/health?x=1",
            "https://example.test/",
            "http://[2001:db8::4]:80/",
            "http://[2001:db8::4]/",
            "http://host.test:65535/",
        ] {
            Target::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(Target::parse("https://x.test/").unwrap().is_https());
        assert!(!Target::parse("http://x.test/").unwrap().is_https());
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for (bad, why) in [
            ("198.51.100.4/", "no scheme"),
            ("ftp://198.51.100.4/", "unsupported scheme 'ftp'"),
            ("http://198.51.100.4:0/", "bad port '0'"),
            ("http://198.51.100.4:65536/", "bad port '65536'"),
            ("http://198.51.100.4:80x/", "bad port '80x'"),
            ("http://198.51.100.4:/", "bad port ''"),
            ("http:///path", "no host"),
            ("http://", "no host"),
            ("http://[2001:db8::4/", "unclosed"),
            ("http://[nope]/", "bad IPv6"),
            ("http://u:p@198.51.100.4/", "credentials"),
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn headers() {
        let h = Header::parse("Host: www.test").unwrap();
        assert_eq!(h.name, "host");
        assert_eq!(h.value.unwrap(), "www.test");
        let h = Header::parse("X-Empty;").unwrap();
        assert_eq!(h.value.unwrap(), "");
        let h = Header::parse("User-Agent:").unwrap();
        assert!(h.value.is_none() && h.removes());
        let h = Header::parse("Accept:   ").unwrap();
        assert!(h.removes());
        assert!(!Header::parse("Accept;").unwrap().removes());
        // Host cannot be left out; it can be emptied or replaced.
        let e = Header::parse("Host:").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("'Host:'"), "{e}");
        assert!(Header::parse("host:").is_err());
        assert_eq!(Header::parse("Host;").unwrap().value.unwrap(), "");
        let h = Header::parse("X-A:b:c").unwrap();
        assert_eq!(h.value.unwrap(), "b:c");
        for bad in ["NoColon", "Bad Name: x", ": x", "X: a\nb"] {
            assert_eq!(Header::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line_code(b"HTTP/1.1 200 OK\r\nX: y"), Some(200));
        assert_eq!(status_line_code(b"HTTP/1.0 404\r\n"), Some(404));
        assert_eq!(status_line_code(b"HTTP/1.1 503 Busy\n"), Some(503));
        assert_eq!(status_line_code(b"HTTP/1.1 200 OK"), None); // line not complete
        assert_eq!(status_line_code(b"HTTP/1.1 20"), None);
        assert_eq!(status_line_code(b"HTTP/1.1 2000 OK\r\n"), None);
        assert_eq!(status_line_code(b"HTTP/1.1 2x0 OK\r\n"), None);
        assert_eq!(status_line_code(b"SSH-2.0-OpenSSH_9.2p1\r\n"), None);
        assert_eq!(status_line_code(b""), None);
    }

    fn reader(bytes: &[u8]) -> HeadReader {
        HeadReader {
            buf: bytes.to_vec(),
            ..HeadReader::default()
        }
    }

    #[test]
    fn heads_keep_only_the_headers_ureq_acts_on() {
        let mut r = reader(
            b"HTTP/1.1 302 Found\r\nServer: x\r\nLOCATION: /a\r\nContent-Length: 3\r\n\
              Set-Cookie: a=b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nok\n",
        );
        assert_eq!(
            r.scan(),
            Ok(Head::Complete(
                b"HTTP/1.1 302 Found\r\nLOCATION: /a\r\nContent-Length: 3\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    .to_vec()
            ))
        );
        // What followed the head stays, for the body.
        assert_eq!(r.take_all(), b"ok\n");
        // Bare LF line ends, as httparse accepts them.
        let mut r = reader(b"HTTP/1.0 200 OK\nX: y\ncontent-length: 0\n\n");
        assert_eq!(
            r.scan(),
            Ok(Head::Complete(
                b"HTTP/1.0 200 OK\ncontent-length: 0\n\n".to_vec()
            ))
        );
    }

    #[test]
    fn heads_arrive_in_pieces() {
        let whole = b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok";
        let mut r = HeadReader::default();
        let mut got = None;
        for (i, b) in whole.iter().enumerate() {
            r.buf.push(*b);
            match r.scan() {
                Ok(Head::Partial) => {}
                Ok(Head::Complete(h)) => {
                    got = Some((i, h));
                    break;
                }
                other => panic!("byte {i}: {other:?}"),
            }
        }
        let (i, head) = got.expect("complete");
        assert_eq!(i, whole.len() - 3);
        assert_eq!(head, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(r.take_all().is_empty());
    }

    #[test]
    fn many_headers_and_long_lines_within_curls_limits_pass() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..5000 {
            head.extend_from_slice(format!("X-Header-{i}: value\r\n").as_bytes());
        }
        head.extend_from_slice(
            format!("X-Long: {}\r\n", "a".repeat(MAX_HEADER_LINE - 8)).as_bytes(),
        );
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        assert!(head.len() < MAX_HEAD);
        assert_eq!(
            reader(&head).scan(),
            Ok(Head::Complete(
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()
            ))
        );
    }

    #[test]
    fn heads_beyond_curls_limits_fail_before_they_end() {
        // A line one byte too long, whether or not its end has arrived.
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEADER_LINE - 3));
        assert_eq!(reader(long.as_bytes()).scan(), Ok(Head::Partial));
        assert_eq!(
            reader(format!("{long}\r").as_bytes()).scan(),
            Ok(Head::Partial)
        );
        assert!(matches!(
            reader(format!("{long}\r\n\r\n").as_bytes()).scan(),
            Ok(Head::Complete(_))
        ));
        let longer = format!("{long}aa");
        assert_eq!(reader(longer.as_bytes()).scan(), Err(HeadTooLarge::Line));
        assert_eq!(
            reader(format!("{longer}\r\n").as_bytes()).scan(),
            Err(HeadTooLarge::Line)
        );
        // The same line arriving in pieces: each byte looked at once, the limit still holds.
        let mut r = reader(b"HTTP/1.1 200 OK\r\nX: ");
        let mut result = r.scan();
        while result == Ok(Head::Partial) {
            r.buf.extend_from_slice(&[b'a'; 1000]);
            result = r.scan();
        }
        assert_eq!(result, Err(HeadTooLarge::Line));
        assert!(r.buf.len() < MAX_HEADER_LINE + 2000);
        // Short lines without end: the whole head's limit.
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while head.len() <= MAX_HEAD {
            head.extend_from_slice(b"X-More: yes\r\n");
        }
        assert_eq!(reader(&head).scan(), Err(HeadTooLarge::Total));
        assert!(
            HeadTooLarge::Line
                .into_error()
                .to_string()
                .contains("longer than 100 KiB (102400 bytes)")
        );
    }

    #[test]
    fn what_is_not_a_well_formed_head_goes_to_ureq_as_it_is() {
        for raw in [
            &b"SSH-2.0-OpenSSH_9.2p1\r\n"[..],
            b"SSH",
            b"<html>",
            b"HTTP/1.1 200 OK\r\nNo colon here\r\n",
            b"HTTP/1.1 200 OK\r\n: no name\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n",
        ] {
            let mut r = reader(raw);
            assert_eq!(r.scan(), Ok(Head::Raw), "{}", String::from_utf8_lossy(raw));
            assert_eq!(r.take_all(), raw);
        }
        for partial in [&b""[..], b"H", b"HTTP", b"HTTP/1.1 200 OK\r\nX-A: 1"] {
            assert_eq!(reader(partial).scan(), Ok(Head::Partial));
        }
    }
}
