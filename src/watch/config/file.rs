//! The file grammar of the supervisor's configuration: `KEY=VALUE` lines, read and never
//! sourced, as `scripts/vip-supervisor` has always read them. Blank lines and `#` lines are
//! skipped; blanks around the key and the value are removed; one pair of surrounding quotes
//! is removed and nothing inside is expanded; lines may end in CRLF; a UTF-8 byte order mark
//! before the first key is ignored. Unknown keys, keys set twice, comments after a value and
//! lines that are not `KEY=VALUE` are problems, each naming its line.

use super::types::{KEYS, Problem};

/// What a file set: for each of [`KEYS`], its value and line, if the file set it.
#[derive(Debug, Default)]
pub struct Raw {
    set: Vec<Option<(String, usize)>>,
}

impl Raw {
    fn slot(key: &str) -> Option<usize> {
        KEYS.iter().position(|(k, _)| *k == key)
    }

    /// The value of `key`: as the file set it, or its default.
    pub fn value(&self, key: &str) -> &str {
        let Some(i) = Self::slot(key) else {
            return "";
        };
        match self.set.get(i) {
            Some(Some((v, _))) => v,
            _ => KEYS[i].1,
        }
    }

    /// The line that set `key`, if the file set it.
    pub fn line(&self, key: &str) -> Option<usize> {
        let i = Self::slot(key)?;
        self.set.get(i)?.as_ref().map(|(_, n)| *n)
    }
}

/// The blanks the shell's `[[:space:]]` matches (ASCII: sh reads bytes).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn trim(s: &str) -> &str {
    s.trim_matches(is_blank)
}

/// A key is upper-case letters, digits and `_`, not starting with a digit.
fn is_key(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// One pair of surrounding double or single quotes removed; nothing inside is expanded.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2
            && let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q))
        {
            return inner;
        }
    }
    v
}

/// Read every line of `text`; the problems of the file grammar go to `problems`.
pub fn read(text: &str, problems: &mut Vec<Problem>) -> Raw {
    let mut raw = Raw {
        set: vec![None; KEYS.len()],
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = trim(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |key: &str, value: &str, why: String| Problem {
            line: Some(n),
            key: key.to_string(),
            value: value.to_string(),
            why,
        };
        let Some((k, v)) = line.split_once('=') else {
            problems.push(at("", line, "not a KEY=VALUE line".into()));
            continue;
        };
        let (key, value) = (trim(k), trim(v));
        if !is_key(key) {
            problems.push(at("", line, format!("'{key}' is not a KEY (A-Z, 0-9, _)")));
            continue;
        }
        if value
            .char_indices()
            .any(|(j, c)| is_blank(c) && value[j + c.len_utf8()..].starts_with('#'))
        {
            problems.push(at(
                key,
                value,
                "comments go on their own line, not after a value".into(),
            ));
            continue;
        }
        let value = unquote(value);
        let Some(slot) = Raw::slot(key) else {
            problems.push(at(key, value, "unknown key".into()));
            continue;
        };
        if let Some((_, first)) = &raw.set[slot] {
            problems.push(at(key, value, format!("set twice (first on line {first})")));
            continue;
        }
        raw.set[slot] = Some((value.to_string(), n));
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> (Raw, Vec<String>) {
        let mut problems = Vec::new();
        let raw = read(text, &mut problems);
        (raw, problems.iter().map(|p| p.show("f")).collect())
    }

    #[test]
    fn blanks_comments_quotes_crlf_and_a_bom_are_the_shells_rules() {
        let (raw, problems) = read_all(
            "\u{feff}# lb2\r\n\r\n  IFACE = eth0\r\nPEER_VIPS='198.51.100.2/24 2001:db8::2/64'\r\n\
             PEER_URL=\"http://[2001:db8::4]:8080/h?x=1\"\r\n\tINTERVAL=0.25\nGATEWAY=\"\nRISE=3",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(raw.value("IFACE"), "eth0");
        assert_eq!(raw.line("IFACE"), Some(3));
        assert_eq!(raw.value("PEER_VIPS"), "198.51.100.2/24 2001:db8::2/64");
        assert_eq!(raw.value("PEER_URL"), "http://[2001:db8::4]:8080/h?x=1");
        assert_eq!(raw.value("INTERVAL"), "0.25");
        // A lone quote is not a pair: it stays (and fails validation later).
        assert_eq!(raw.value("GATEWAY"), "\"");
        // The last line needs no newline.
        assert_eq!((raw.value("RISE"), raw.line("RISE")), ("3", Some(8)));
        // Defaults for what the file does not set.
        assert_eq!((raw.value("FALL"), raw.line("FALL")), ("2", None));
        assert_eq!(raw.value("STATE_FILE"), "/run/vip-supervisor.state");
    }

    #[test]
    fn grammar_problems_name_the_line() {
        let (_, problems) = read_all(
            "IFACE=eth0\nIFACE=eth1\nFOO=bar\nifconfig eth0:1 up\nexport RISE=3\n\
             INTERVAL=1 # seconds\n\u{feff}RISE=3\n9X=1\nFOO=again\nFALL= 'x' \n",
        );
        assert_eq!(
            problems,
            [
                "f:2: IFACE=eth1: set twice (first on line 1)",
                "f:3: FOO=bar: unknown key",
                "f:4: 'ifconfig eth0:1 up': not a KEY=VALUE line",
                "f:5: 'export RISE=3': 'export RISE' is not a KEY (A-Z, 0-9, _)",
                "f:6: INTERVAL=1 # seconds: comments go on their own line, not after a value",
                "f:7: '\u{feff}RISE=3': '\u{feff}RISE' is not a KEY (A-Z, 0-9, _)",
                "f:8: '9X=1': '9X' is not a KEY (A-Z, 0-9, _)",
                "f:9: FOO=again: unknown key",
            ]
        );
    }

    #[test]
    fn a_hash_inside_a_value_is_not_a_comment() {
        let (raw, problems) = read_all("SELF_URL=http://198.51.100.4/#top\nGATEWAY=\t#x\n");
        assert_eq!(raw.value("SELF_URL"), "http://198.51.100.4/#top");
        // The blank before '#' is trimmed away with the value's start: '#x' is the value.
        assert_eq!(raw.value("GATEWAY"), "#x");
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_repeated_key_keeps_the_first_value() {
        let (raw, _) = read_all("RISE=3\nRISE=4\n");
        assert_eq!((raw.value("RISE"), raw.line("RISE")), ("3", Some(1)));
    }
}
