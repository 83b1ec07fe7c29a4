//! The one error type of vipkit. Every variant knows its exit code (see `exit.rs`), and its
//! `Display` is the one-line message printed after `PROG: `.

use std::io;

use crate::exit;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, grouped by the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command as written can never succeed: bad flag, address, number (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Argument parsing failed, or help/version was asked for (exit 2, or 0 for help).
    #[error("{}", clap_line(.0))]
    Clap(#[from] clap::Error),
    /// Could not be done now, or a check failed (exit 1).
    #[error("{0}")]
    Failed(String),
    /// A system call failed; `context` says what we were doing (exit 1, 3 for EPERM/EACCES).
    #[error("{context}: {}{}", os_reason(.source), cap_hint(.source, .capability))]
    Os {
        context: String,
        #[source]
        source: io::Error,
        /// The capability that would have allowed it, named in EPERM/EACCES messages.
        capability: &'static str,
    },
    /// The address answers from another host, or the request collides with existing state (exit 4).
    #[error("{0}")]
    Conflict(String),
    /// Exit with `code` and print nothing: the tool already said what it had to (a failed check).
    #[error("")]
    Quiet(u8),
}

impl Error {
    /// Wrap an OS error with what we were doing and the capability that would allow it.
    pub fn os(context: impl Into<String>, source: io::Error, capability: &'static str) -> Self {
        Error::Os {
            context: context.into(),
            source,
            capability,
        }
    }

    /// Shorthand for a usage error (exit 2).
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// Shorthand for a failure (exit 1).
    pub fn failed(msg: impl Into<String>) -> Self {
        Error::Failed(msg.into())
    }

    /// Shorthand for a conflict (exit 4).
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }

    /// The exit status this error maps to (the table in DESIGN.md / `exit.rs`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Clap(e) if !e.use_stderr() => exit::SUCCESS,
            Error::Clap(_) => exit::USAGE,
            Error::Failed(_) => exit::FAILURE,
            Error::Os { source, .. } if is_permission(source) => exit::NOPERM,
            Error::Os { .. } => exit::FAILURE,
            Error::Conflict(_) => exit::CONFLICT,
            Error::Quiet(code) => *code,
        }
    }

    /// The raw errno behind an OS error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

fn is_permission(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

/// strerror text in lowercase, without Rust's " (os error N)" suffix.
fn os_reason(e: &io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    };
    lowercase_first(&text)
}

fn cap_hint(e: &io::Error, capability: &str) -> String {
    if is_permission(e) && !capability.is_empty() {
        format!(" (needs {capability})")
    } else {
        String::new()
    }
}

/// A clap error as one line: its first paragraph joined, without the `error: ` prefix, and a
/// pointer to `--help`.
fn clap_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let para: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = para.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    if e.use_stderr() {
        format!("{text} (see --help)")
    } else {
        text.to_string()
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_capability_and_exit_3() {
        let e = Error::os(
            "add 198.51.100.2/24 to eth0",
            io::Error::from_raw_os_error(libc::EPERM),
            "CAP_NET_ADMIN",
        );
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.to_string(),
            "add 198.51.100.2/24 to eth0: operation not permitted (needs CAP_NET_ADMIN)"
        );
    }

    #[test]
    fn other_os_errors_exit_1_without_hint() {
        let e = Error::os(
            "open /run/nginx.pid",
            io::Error::from_raw_os_error(libc::ENOENT),
            "CAP_KILL",
        );
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "open /run/nginx.pid: no such file or directory"
        );
    }

    #[test]
    fn codes_follow_the_table() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::failed("x").exit_code(), 1);
        assert_eq!(Error::conflict("x").exit_code(), 4);
        assert_eq!(Error::Quiet(1).exit_code(), 1);
    }
}
