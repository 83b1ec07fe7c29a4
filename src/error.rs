//! The one error type of vipkit: a plain enum whose variants carry the offending value. Every
//! variant knows its exit code (the table in `exit.rs`), and its `Display` is the one-line message
//! a tool prints after `PROG: `. Printing and exiting are the CLI layer's (`cli/mod.rs`).

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
        capability: Option<&'static str>,
    },
    /// The address answers from another host, or the request collides with existing state (exit 4).
    #[error("{0}")]
    Conflict(String),
}

impl Error {
    /// Wrap an OS error with what we were doing and the capability that would allow it.
    pub fn os(context: impl Into<String>, source: io::Error, capability: &'static str) -> Self {
        Error::Os {
            context: context.into(),
            source,
            capability: Some(capability),
        }
    }

    /// Wrap an OS error with what we were doing, where no capability would help (reading a
    /// file, listing addresses).
    pub fn sys(context: impl Into<String>, source: io::Error) -> Self {
        Error::Os {
            context: context.into(),
            source,
            capability: None,
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
            Error::Failed(_) => exit::FAILURE,
            Error::Os { source, .. } if is_permission(source) => exit::NOPERM,
            Error::Os { .. } => exit::FAILURE,
            Error::Conflict(_) => exit::CONFLICT,
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

/// strerror text in lowercase, without Rust's " (os error N)" suffix; the message of an error
/// that carries no errno.
pub(crate) fn os_reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => lowercase_first(nix::errno::Errno::from_raw(code).desc()),
        None => lowercase_first(&e.to_string()),
    }
}

fn cap_hint(e: &io::Error, capability: &Option<&'static str>) -> String {
    match capability {
        Some(cap) if is_permission(e) => format!(" (needs {cap})"),
        _ => String::new(),
    }
}

/// `s` with its first character in lowercase: messages are chained as `what: why`.
pub(crate) fn lowercase_first(s: &str) -> String {
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
        assert_eq!(
            Error::sys("x", io::Error::from_raw_os_error(libc::EPERM)).to_string(),
            "x: operation not permitted"
        );
    }
}
