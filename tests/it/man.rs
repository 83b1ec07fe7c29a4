//! The man pages' OPTIONS and EXIT STATUS sections are generated from what they describe: the
//! tools' clap definitions (their doc comments are the help text) and the exit-code table with
//! each tool's notes (`vipkit::exit::TABLE`, `cli::<tool>::EXIT_NOTES`). The prose around them is
//! written by hand. This test regenerates both sections of every page and fails on any
//! difference, so a flag, default or range cannot drift from the code.
//!
//! `scripts/gen-man` (this test with `VIPKIT_REGENERATE_MAN=1`) rewrites the sections in place.

use vipkit::cli;

use crate::util::root;

/// First line of a generated section; everything up to [`END`] is replaced on regeneration.
const BEGIN: &str = r#".\" BEGIN GENERATED"#;
/// Last line of a generated section.
const END: &str = r#".\" END GENERATED"#;

/// Each tool: its name, its clap definition and what its exit codes mean.
type Tool = (
    &'static str,
    fn() -> clap::Command,
    &'static [(u8, &'static str)],
);

const TOOLS: &[Tool] = &[
    (
        "vip-bind",
        cli::vip_bind::command,
        cli::vip_bind::EXIT_NOTES,
    ),
    (
        "vip-unbind",
        cli::vip_unbind::command,
        cli::vip_unbind::EXIT_NOTES,
    ),
    ("garp", cli::garp::command, cli::garp::EXIT_NOTES),
    (
        "httpcheck",
        cli::httpcheck::command,
        cli::httpcheck::EXIT_NOTES,
    ),
    (
        "nginx-reload",
        cli::nginx_reload::command,
        cli::nginx_reload::EXIT_NOTES,
    ),
    (
        "vip-watch",
        cli::vip_watch::command,
        cli::vip_watch::EXIT_NOTES,
    ),
];

/// Escape plain text for roff: backslashes, hyphens (so they are not hyphenation points and copy
/// as ASCII), and a leading dot or quote that would start a request.
fn roff_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let escaped = line.replace('\\', r"\e").replace('-', r"\-");
            if escaped.starts_with('.') || escaped.starts_with('\'') {
                format!(r"\&{escaped}")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The OPTIONS section as clap_mangen renders it from the clap definition.
fn options(cmd: clap::Command) -> String {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render_options_section(&mut out)
        .expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("clap_mangen writes UTF-8")
}

/// The EXIT STATUS section: every code of the shared table, with the tool's own note; a note
/// of [`cli::NOT_USED`] says the tool never exits with that code.
fn exit_status(notes: &[(u8, &str)]) -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for code in vipkit::exit::TABLE {
        let mut name = code.name.to_string();
        name[..1].make_ascii_uppercase();
        let note = notes.iter().find(|(c, _)| *c == code.code).map(|(_, n)| *n);
        let text = match note {
            Some(cli::NOT_USED) => format!("{name}: not used by this tool."),
            Some(note) => format!("{name}: {} {note}", code.meaning),
            None => format!("{name}: {}", code.meaning),
        };
        s.push_str(&format!(".TP\n.B {}\n{}\n", code.code, roff_text(&text)));
    }
    s
}

/// Replace the generated section that starts with `BEGIN name` in `page` by `body`.
fn splice(page: &str, name: &str, body: &str) -> Result<String, String> {
    let begin = format!("{BEGIN} {name}");
    let start = page
        .find(&format!("{begin}\n"))
        .ok_or_else(|| format!("no line {begin:?}"))?;
    let after = start + begin.len() + 1;
    let end = page[after..]
        .find(&format!("{END} {name}\n"))
        .ok_or_else(|| format!("{begin:?} is never closed by \"{END} {name}\""))?
        + after;
    Ok(format!("{}{begin}\n{body}{}", &page[..start], &page[end..]))
}

/// The page as it should be: the committed prose with freshly generated sections.
fn regenerate(page: &str, cmd: clap::Command, notes: &[(u8, &str)]) -> Result<String, String> {
    let page = splice(page, "OPTIONS", &options(cmd))?;
    splice(&page, "EXIT STATUS", &exit_status(notes))
}

#[test]
fn man_pages_match_the_code() {
    let rewrite = std::env::var_os("VIPKIT_REGENERATE_MAN").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (tool, command, notes) in TOOLS {
        let path = root().join("man").join(format!("{tool}.8"));
        let page = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let want = match regenerate(&page, command(), notes) {
            Ok(want) => want,
            Err(why) => {
                stale.push(format!("man/{tool}.8: {why}"));
                continue;
            }
        };
        if want == page {
            continue;
        }
        if rewrite {
            std::fs::write(&path, &want)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        } else {
            let line = page
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .map_or(page.lines().count().min(want.lines().count()), |n| n)
                + 1;
            stale.push(format!("man/{tool}.8 (first difference at line {line})"));
        }
    }
    assert!(
        stale.is_empty(),
        "generated man sections are out of date: {}; run scripts/gen-man and commit the pages",
        stale.join(", ")
    );
}

#[test]
fn a_changed_help_text_is_caught() {
    let (tool, command, notes) = TOOLS[4];
    let path = root().join("man").join(format!("{tool}.8"));
    let page = std::fs::read_to_string(path).expect("the tool's page");
    let changed = command().mut_arg("verbose", |a| a.help("a help text nobody committed"));
    assert_ne!(regenerate(&page, changed, notes), Ok(page));
}

#[test]
fn every_tool_has_at_most_one_note_per_code() {
    for (tool, _, notes) in TOOLS {
        for code in vipkit::exit::TABLE {
            let n = notes.iter().filter(|(c, _)| *c == code.code).count();
            assert!(n <= 1, "{tool}: {n} EXIT_NOTES for code {}", code.code);
        }
    }
}

#[test]
fn roff_escapes_what_would_be_requests() {
    assert_eq!(roff_text(".x -y \\z"), r"\&.x \-y \ez");
    assert_eq!(roff_text("a\n'b"), "a\n\\&'b");
}
