//! The target both `vip-bind` and `vip-unbind` take: `IFACE[:LABEL] ADDR[/PREFIX]`, the
//! `--label` / `--broadcast` flags, and the legacy ifconfig words after it (`broadcast B`,
//! `netmask M`, and `up` or `down`), turned into one [`Target`]. Grammar only: the machine is
//! not asked (a missing prefix is resolved later, from the interface's addresses).

use std::net::{IpAddr, Ipv4Addr};

use crate::addr::{self, Broadcast};
use crate::error::{Error, Result};
use crate::iface;

/// What the command line asked for, before looking at the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub iface: String,
    pub label: Option<String>,
    pub addr: IpAddr,
    pub prefix: Option<u8>,
    pub broadcast: Broadcast,
}

/// Parse `IFACE[:LABEL] ADDR[/PREFIX]`, the `--label`/`--broadcast` flags and the legacy words.
/// `extra` lists the words this tool accepts besides `broadcast` and `netmask` (`up`, `down`).
pub fn parse(
    target: &str,
    addr_text: &str,
    label_flag: Option<&str>,
    broadcast_flag: Option<&str>,
    words: &[String],
    extra: &[&str],
) -> Result<Target> {
    let (iface, mut label) = match target.split_once(':') {
        Some((i, _)) => (i.to_string(), Some(target.to_string())),
        None => (target.to_string(), None),
    };
    iface::check_name(&iface)?;
    if let Some(l) = label_flag {
        let full = if l.contains(':') {
            l.to_string()
        } else {
            format!("{iface}:{l}")
        };
        if label.as_ref().is_some_and(|x| *x != full) {
            return Err(Error::usage(format!(
                "label {full:?} contradicts {target:?}"
            )));
        }
        label = Some(full);
    }
    if let Some(l) = &label {
        addr::check_label(&iface, l)?;
    }
    let (addr, mut prefix) = addr::parse_addr(addr_text)?;
    if let (Some(l), true) = (&label, addr.is_ipv6()) {
        return Err(Error::usage(format!(
            "IPv6 addresses have no labels: {l} {addr}"
        )));
    }
    let mut broadcast = match broadcast_flag {
        None => Broadcast::None,
        Some(b) => parse_broadcast(b)?,
    };
    let mut it = words.iter();
    let mut seen_mask = false;
    let mut seen_brd = false;
    let mut seen_extra: Vec<&str> = Vec::new();
    while let Some(word) = it.next() {
        match word.as_str() {
            "broadcast" => {
                let v = value(&mut it, "broadcast")?;
                let b = parse_broadcast(v)?;
                if seen_brd || (broadcast_flag.is_some() && broadcast != b) {
                    return Err(Error::usage(format!("broadcast given twice: {v}")));
                }
                seen_brd = true;
                broadcast = b;
            }
            "netmask" => {
                let v = value(&mut it, "netmask")?;
                if addr.is_ipv6() {
                    return Err(Error::usage(format!(
                        "netmask {v} given for IPv6 address {addr}: use ADDR/PREFIX"
                    )));
                }
                let p = addr::netmask_prefix(v)?;
                if seen_mask {
                    return Err(Error::usage(format!("netmask given twice: {v}")));
                }
                if prefix.is_some_and(|x| x != p) {
                    return Err(Error::usage(format!(
                        "netmask {v} contradicts the prefix of {addr_text}"
                    )));
                }
                seen_mask = true;
                prefix = Some(p);
            }
            w if extra.contains(&w) => {
                if seen_extra.contains(&w) {
                    return Err(Error::usage(format!("{w} given twice")));
                }
                seen_extra.push(w);
            }
            w => {
                let mut expected = vec!["broadcast B", "netmask M"];
                expected.extend_from_slice(extra);
                return Err(Error::usage(format!(
                    "unknown word {w:?} (expected {})",
                    expected.join(", ")
                )));
            }
        }
    }
    Ok(Target {
        iface,
        label,
        addr,
        prefix,
        broadcast,
    })
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, word: &str) -> Result<&'a str> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| Error::usage(format!("{word} needs a value")))
}

fn parse_broadcast(text: &str) -> Result<Broadcast> {
    if text == "+" {
        return Ok(Broadcast::Computed);
    }
    text.parse::<Ipv4Addr>()
        .map(Broadcast::Explicit)
        .map_err(|_| Error::usage(format!("invalid broadcast address: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::parse as parse_target;
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn target(t: &str, a: &str, w: &[&str]) -> Result<Target> {
        parse_target(t, a, None, None, &words(w), &["up"])
    }

    #[test]
    fn legacy_ifconfig_form() {
        let t = target(
            "eth0:ha1",
            "198.51.100.2",
            &[
                "broadcast",
                "198.51.100.255",
                "netmask",
                "255.255.255.0",
                "up",
            ],
        )
        .unwrap();
        assert_eq!(t.iface, "eth0");
        assert_eq!(t.label.as_deref(), Some("eth0:ha1"));
        assert_eq!(t.prefix, Some(24));
        assert_eq!(
            t.broadcast,
            Broadcast::Explicit("198.51.100.255".parse().unwrap())
        );
    }

    #[test]
    fn modern_form_and_label_flag() {
        let t = parse_target(
            "eth0",
            "198.51.100.2/24",
            Some("ha1"),
            Some("+"),
            &[],
            &["up"],
        )
        .unwrap();
        assert_eq!(t.label.as_deref(), Some("eth0:ha1"));
        assert_eq!(t.broadcast, Broadcast::Computed);
        assert_eq!(t.prefix, Some(24));
        let t = target("eth0", "2001:db8::2", &[]).unwrap();
        assert_eq!(t.prefix, None);
    }

    #[test]
    fn classic_typos_are_usage_errors_naming_the_word() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            (
                "eth0:1",
                "198.51.100.2",
                &["netamsk", "255.255.255.0"],
                "netamsk",
            ),
            (
                "eth0:1",
                "198.51.100.2",
                &["netmask", "255.0.255.0"],
                "255.0.255.0",
            ),
            ("eth0:1", "198.51.100.256", &[], "198.51.100.256"),
            ("eth0:1", "198.51.100.2", &["netmask"], "netmask"),
            (
                "eth0:1",
                "198.51.100.2",
                &["broadcast", "198.51.101.255x"],
                "198.51.101.255x",
            ),
            (
                "eth0:1",
                "198.51.100.2/24",
                &["netmask", "255.255.0.0"],
                "255.255.0.0",
            ),
            ("eth0:1", "198.51.100.2", &["down"], "down"),
            ("eth0:", "198.51.100.2", &[], "eth0:"),
            ("eth1:x", "2001:db8::2", &[], "eth1:x"),
            (
                "eth0:waytoolonglabel",
                "198.51.100.2",
                &[],
                "waytoolonglabel",
            ),
            ("etho/1", "198.51.100.2", &[], "etho/1"),
        ];
        for (t, a, w, needle) in cases {
            let e = target(t, a, w).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{t} {a} {w:?}: {e}");
            assert!(e.to_string().contains(needle), "{e} should name {needle}");
        }
    }

    #[test]
    fn a_word_given_twice_says_so() {
        let cases: &[(&[&str], &str)] = &[
            (&["up", "up"], "up given twice"),
            (
                &["netmask", "255.255.255.0", "netmask", "255.255.255.0"],
                "netmask given twice",
            ),
            (
                &["broadcast", "198.51.100.255", "broadcast", "198.51.100.255"],
                "broadcast given twice",
            ),
        ];
        for (w, needle) in cases {
            let e = target("eth0:1", "198.51.100.2", w).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e}");
        }
        let e = parse_target(
            "eth0",
            "198.51.100.2",
            None,
            None,
            &words(&["down", "down"]),
            &["down"],
        )
        .unwrap_err();
        assert!(e.to_string().contains("down given twice"), "{e}");
        // A netmask that agrees with the prefix is not a repetition.
        assert!(target("eth0", "198.51.100.2/24", &["netmask", "255.255.255.0"]).is_ok());
    }

    #[test]
    fn contradicting_label_flag_is_refused() {
        let e = parse_target("eth0:a", "198.51.100.2", Some("b"), None, &[], &["up"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
