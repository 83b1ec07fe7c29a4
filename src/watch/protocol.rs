//! Pure: the watcher's protocol with the shell (docs/vip-watch.md): the [`Line`]s it writes on
//! stdout and the [`Command`]s it reads on stdin, one per line.
//!
//! Every line is `KIND key=value ...`, fields in a fixed order, each always present (`-` when
//! it has no value), values without blanks, so that POSIX sh splits them with `set -- $line`
//! and picks them with `case` and `${f#key=}`. The one free-text field, `detail="..."`, is
//! always last and never contains `"` or a control character, so the shell cuts it off with
//! `${line#*' detail="'}` before splitting the rest.

use std::fmt;
use std::net::IpAddr;

use crate::arp::{Mac, mac_to_string};

/// The protocol version `hello` announces; raised when a line or field changes meaning.
pub const PROTO: u32 = 1;

/// Which health URL a check was of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `SELF_URL`.
    Own,
    /// `PEER_URL`.
    Peer,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Own => "self",
            Target::Peer => "peer",
        })
    }
}

/// One round's result for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub passed: bool,
    /// The status code; None: no response (`000`).
    pub code: Option<u16>,
}

impl Check {
    fn word(c: &Option<Check>) -> &'static str {
        match c {
            None => "-",
            Some(c) if c.passed => "ok",
            Some(_) => "fail",
        }
    }

    fn code(c: &Option<Check>) -> String {
        match c {
            None => "-".to_string(),
            Some(c) => format!("{:03}", c.code.unwrap_or(0)),
        }
    }
}

/// How an announcement was asked for (or, `Refresh`, made by the watcher itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `GARP_COUNT` packets `GARP_INTERVAL` apart.
    Burst,
    /// One packet.
    Single,
    /// One packet of `GARP_REFRESH` (after `refresh VIP on`).
    Refresh,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Burst => "burst",
            Mode::Single => "single",
            Mode::Refresh => "refresh",
        })
    }
}

/// One line of the watcher's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Once, first: `hello proto=1 pid=PID iface=IFACE mac=MAC vips=LIST`.
    Hello {
        pid: u32,
        iface: String,
        mac: Mac,
        vips: Vec<IpAddr>,
    },
    /// Once per round, when both checks are in or `TIMEOUT` passed:
    /// `round n=N self=ok|fail|- self_code=CODE|- peer=... peer_code=... link=up|down held=LIST`.
    Round {
        n: u64,
        own: Option<Check>,
        peer: Option<Check>,
        link_up: bool,
        held: Vec<IpAddr>,
    },
    /// Before a round line whose check of `target` differs from the previous one (result,
    /// code or reason): `check n=N target=self|peer result=ok|fail code=CODE detail="..."`.
    Check {
        n: u64,
        target: Target,
        check: Check,
        detail: String,
    },
    /// At once when the kernel changes whether a VIP is bound as configured:
    /// `vip vip=ADDR held=yes|no`.
    Vip { vip: IpAddr, held: bool },
    /// At once when IFACE's link changes: `link link=up|down operstate=WORD carrier=0|1`.
    Link {
        up: bool,
        operstate: String,
        carrier: bool,
    },
    /// Another MAC claimed a VIP (ARP or NA): `duplicate vip=ADDR mac=MAC held=yes|no`.
    Duplicate { vip: IpAddr, mac: Mac, held: bool },
    /// Another MAC probed for a VIP (ARP from 0.0.0.0, NS from ::): `query vip=ADDR mac=MAC`.
    Query { vip: IpAddr, mac: Mac },
    /// The answer to `probe VIP`: `probe vip=ADDR result=free|taken mac=MAC|-`.
    Probe { vip: IpAddr, taken: Option<Mac> },
    /// An announcement started (its first packet sent):
    /// `announce vip=ADDR mode=burst|single|refresh count=N to=GATEWAY|unsolicited`.
    Announce {
        vip: IpAddr,
        mode: Mode,
        count: u32,
        to: Option<IpAddr>,
    },
    /// Something failed: `error what=WORD vip=ADDR|- detail="..."`.
    Error {
        what: &'static str,
        vip: Option<IpAddr>,
        detail: String,
    },
}

/// A list of addresses: comma-separated, `-` when empty.
fn list(addrs: &[IpAddr]) -> String {
    if addrs.is_empty() {
        return "-".to_string();
    }
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Free text made safe for `detail="..."`: `"` becomes `'`, control characters a space.
pub fn quote(text: &str) -> String {
    let inner: String = text
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("\"{inner}\"")
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Hello {
                pid,
                iface,
                mac,
                vips,
            } => write!(
                f,
                "hello proto={PROTO} pid={pid} iface={iface} mac={} vips={}",
                mac_to_string(mac),
                list(vips)
            ),
            Line::Round {
                n,
                own,
                peer,
                link_up,
                held,
            } => write!(
                f,
                "round n={n} self={} self_code={} peer={} peer_code={} link={} held={}",
                Check::word(own),
                Check::code(own),
                Check::word(peer),
                Check::code(peer),
                if *link_up { "up" } else { "down" },
                list(held)
            ),
            Line::Check {
                n,
                target,
                check,
                detail,
            } => {
                let c = Some(check.clone());
                write!(
                    f,
                    "check n={n} target={target} result={} code={} detail={}",
                    Check::word(&c),
                    Check::code(&c),
                    quote(detail)
                )
            }
            Line::Vip { vip, held } => write!(f, "vip vip={vip} held={}", yes(*held)),
            Line::Link {
                up,
                operstate,
                carrier,
            } => write!(
                f,
                "link link={} operstate={operstate} carrier={}",
                if *up { "up" } else { "down" },
                u8::from(*carrier)
            ),
            Line::Duplicate { vip, mac, held } => write!(
                f,
                "duplicate vip={vip} mac={} held={}",
                mac_to_string(mac),
                yes(*held)
            ),
            Line::Query { vip, mac } => write!(f, "query vip={vip} mac={}", mac_to_string(mac)),
            Line::Probe { vip, taken } => match taken {
                None => write!(f, "probe vip={vip} result=free mac=-"),
                Some(mac) => write!(f, "probe vip={vip} result=taken mac={}", mac_to_string(mac)),
            },
            Line::Announce {
                vip,
                mode,
                count,
                to,
            } => {
                write!(f, "announce vip={vip} mode={mode} count={count} to=")?;
                match to {
                    Some(gw) => write!(f, "{gw}"),
                    None => f.write_str("unsolicited"),
                }
            }
            Line::Error { what, vip, detail } => {
                write!(f, "error what={what} vip=")?;
                match vip {
                    Some(v) => write!(f, "{v}")?,
                    None => f.write_str("-")?,
                }
                write!(f, " detail={}", quote(detail))
            }
        }
    }
}

/// One command of the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `announce VIP burst|single`.
    Announce { vip: IpAddr, burst: bool },
    /// `probe VIP`: an active duplicate-address probe.
    Probe { vip: IpAddr },
    /// `refresh VIP on|off`: re-announce it every `GARP_REFRESH` while bound.
    Refresh { vip: IpAddr, on: bool },
    /// `rounds every|changes`: a round line every round, or only when it says something new.
    Rounds { every: bool },
    /// `quit` (or the end of the input).
    Quit,
}

/// The commands, for messages.
const COMMANDS: &str =
    "announce VIP burst|single, probe VIP, refresh VIP on|off, rounds every|changes, quit";

/// Parse one input line: None for a blank one, else the command or why it is not one.
pub fn parse_command(line: &str) -> Result<Option<Command>, String> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Ok(None);
    };
    let vip = |w: &str| -> Result<IpAddr, String> {
        w.parse()
            .map_err(|_| format!("{verb}: {w:?} is not an address"))
    };
    let cmd = match (verb, args) {
        ("announce", [v, "burst"]) => Command::Announce {
            vip: vip(v)?,
            burst: true,
        },
        ("announce", [v, "single"]) => Command::Announce {
            vip: vip(v)?,
            burst: false,
        },
        ("probe", [v]) => Command::Probe { vip: vip(v)? },
        ("refresh", [v, "on"]) => Command::Refresh {
            vip: vip(v)?,
            on: true,
        },
        ("refresh", [v, "off"]) => Command::Refresh {
            vip: vip(v)?,
            on: false,
        },
        ("rounds", ["every"]) => Command::Rounds { every: true },
        ("rounds", ["changes"]) => Command::Rounds { every: false },
        ("quit", []) => Command::Quit,
        ("announce" | "probe" | "refresh" | "rounds" | "quit", _) => {
            return Err(format!("bad arguments in {:?} ({COMMANDS})", line.trim()));
        }
        _ => return Err(format!("unknown command {:?} ({COMMANDS})", line.trim())),
    };
    Ok(Some(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x02, 0, 0x5e, 0x10, 0, 5];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_line_reads_as_documented() {
        let v1 = ip("198.51.100.2");
        let v2 = ip("198.51.100.3");
        let cases = [
            (
                Line::Hello {
                    pid: 42,
                    iface: "eth0".into(),
                    mac: MAC,
                    vips: vec![v1, ip("2001:db8::2")],
                },
                "hello proto=1 pid=42 iface=eth0 mac=02:00:5e:10:00:05 vips=198.51.100.2,2001:db8::2",
            ),
            (
                Line::Round {
                    n: 7,
                    own: Some(Check {
                        passed: true,
                        code: Some(200),
                    }),
                    peer: Some(Check {
                        passed: false,
                        code: None,
                    }),
                    link_up: true,
                    held: vec![v1, v2],
                },
                "round n=7 self=ok self_code=200 peer=fail peer_code=000 link=up \
                 held=198.51.100.2,198.51.100.3",
            ),
            (
                Line::Round {
                    n: 1,
                    own: None,
                    peer: Some(Check {
                        passed: false,
                        code: Some(503),
                    }),
                    link_up: false,
                    held: vec![],
                },
                "round n=1 self=- self_code=- peer=fail peer_code=503 link=down held=-",
            ),
            (
                Line::Check {
                    n: 3,
                    target: Target::Peer,
                    check: Check {
                        passed: false,
                        code: None,
                    },
                    detail: "connect: connection refused".into(),
                },
                "check n=3 target=peer result=fail code=000 detail=\"connect: connection refused\"",
            ),
            (
                Line::Vip {
                    vip: v1,
                    held: false,
                },
                "vip vip=198.51.100.2 held=no",
            ),
            (
                Line::Link {
                    up: false,
                    operstate: "lowerlayerdown".into(),
                    carrier: false,
                },
                "link link=down operstate=lowerlayerdown carrier=0",
            ),
            (
                Line::Duplicate {
                    vip: v2,
                    mac: MAC,
                    held: true,
                },
                "duplicate vip=198.51.100.3 mac=02:00:5e:10:00:05 held=yes",
            ),
            (
                Line::Query {
                    vip: ip("2001:db8::2"),
                    mac: MAC,
                },
                "query vip=2001:db8::2 mac=02:00:5e:10:00:05",
            ),
            (
                Line::Probe {
                    vip: v2,
                    taken: None,
                },
                "probe vip=198.51.100.3 result=free mac=-",
            ),
            (
                Line::Probe {
                    vip: v2,
                    taken: Some(MAC),
                },
                "probe vip=198.51.100.3 result=taken mac=02:00:5e:10:00:05",
            ),
            (
                Line::Announce {
                    vip: v1,
                    mode: Mode::Burst,
                    count: 3,
                    to: Some(ip("198.51.100.1")),
                },
                "announce vip=198.51.100.2 mode=burst count=3 to=198.51.100.1",
            ),
            (
                Line::Announce {
                    vip: ip("2001:db8::2"),
                    mode: Mode::Refresh,
                    count: 1,
                    to: None,
                },
                "announce vip=2001:db8::2 mode=refresh count=1 to=unsolicited",
            ),
            (
                Line::Error {
                    what: "command",
                    vip: None,
                    detail: "say \"hi\"\n".into(),
                },
                "error what=command vip=- detail=\"say 'hi' \"",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(line.to_string(), want);
        }
    }

    #[test]
    fn fields_other_than_detail_have_no_blanks_and_detail_is_last() {
        let line = Line::Error {
            what: "probe",
            vip: Some(ip("198.51.100.2")),
            detail: "a \"b\"\tc".into(),
        }
        .to_string();
        let (head, detail) = line.split_once(" detail=\"").unwrap();
        assert!(head.split(' ').all(|w| !w.is_empty()));
        assert_eq!(detail, "a 'b' c\"");
        assert_eq!(detail.matches('"').count(), 1);
    }

    #[test]
    fn commands_parse() {
        let v = ip("198.51.100.2");
        assert_eq!(
            parse_command("announce 198.51.100.2 burst"),
            Ok(Some(Command::Announce {
                vip: v,
                burst: true
            }))
        );
        assert_eq!(
            parse_command("  announce 198.51.100.2   single \r"),
            Ok(Some(Command::Announce {
                vip: v,
                burst: false
            }))
        );
        assert_eq!(
            parse_command("probe 2001:DB8::2"),
            Ok(Some(Command::Probe {
                vip: ip("2001:db8::2")
            }))
        );
        assert_eq!(
            parse_command("refresh 198.51.100.2 on"),
            Ok(Some(Command::Refresh { vip: v, on: true }))
        );
        assert_eq!(
            parse_command("refresh 198.51.100.2 off"),
            Ok(Some(Command::Refresh { vip: v, on: false }))
        );
        assert_eq!(
            parse_command("rounds changes"),
            Ok(Some(Command::Rounds { every: false }))
        );
        assert_eq!(
            parse_command("rounds every"),
            Ok(Some(Command::Rounds { every: true }))
        );
        assert!(parse_command("rounds sometimes").is_err());
        assert_eq!(parse_command("quit"), Ok(Some(Command::Quit)));
        assert_eq!(parse_command(""), Ok(None));
        assert_eq!(parse_command("  \t"), Ok(None));
    }

    #[test]
    fn bad_commands_say_why() {
        for (line, why) in [
            ("reboot", "unknown command \"reboot\""),
            ("announce 198.51.100.2", "bad arguments"),
            ("announce 198.51.100.2 loud", "bad arguments"),
            (
                "announce 198.51.100.2/24 burst",
                "\"198.51.100.2/24\" is not an address",
            ),
            ("probe", "bad arguments"),
            ("probe x y", "bad arguments"),
            ("refresh 198.51.100.2", "bad arguments"),
            ("quit now", "bad arguments"),
        ] {
            let e = parse_command(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
