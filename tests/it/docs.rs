//! Documentation checks: every flag that `--help` shows is in the tool's man page, and every
//! man page and `--help` lists the whole exit-status table.

use crate::util::{Cmd, root};

/// The tools whose docs are checked; the supervisor is checked through its script.
const TOOLS: &[&str] = &[
    "vip-bind",
    "vip-unbind",
    "httpcheck",
    "nginx-reload",
    "garp",
    "vip-watch",
];

/// Long flags (`--name`) mentioned in a text.
pub fn long_flags(text: &str) -> Vec<String> {
    let mut flags: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2 && w.as_bytes()[2].is_ascii_alphabetic())
        .map(str::to_string)
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

/// A man page's text with roff escapes for hyphens removed.
fn man_text(tool: &str) -> String {
    let path = root().join("man").join(format!("{tool}.8"));
    let raw = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    raw.replace("\\-", "-").replace("\\(hy", "-")
}

#[test]
fn every_help_flag_is_in_the_man_page() {
    for tool in TOOLS {
        let help = Cmd::tool(tool).arg("--help").ok().stdout;
        let man = man_text(tool);
        for flag in long_flags(&help) {
            assert!(man.contains(&flag), "man/{tool}.8 does not document {flag}");
        }
    }
}

#[test]
fn every_man_page_has_the_exit_table() {
    for tool in TOOLS {
        let man = man_text(tool);
        let section = man
            .split(".SH")
            .find(|s| {
                s.trim_start().starts_with("EXIT STATUS")
                    || s.trim_start().starts_with("\"EXIT STATUS\"")
            })
            .unwrap_or_else(|| panic!("man/{tool}.8 has no EXIT STATUS section"));
        for code in ["0", "1", "2", "3", "4"] {
            assert!(
                section.lines().any(|l| l.trim() == format!(".B {code}")
                    || l.trim() == code
                    || l.trim().starts_with(&format!("{code} "))),
                "man/{tool}.8 EXIT STATUS lacks {code}:\n{section}"
            );
        }
    }
}
