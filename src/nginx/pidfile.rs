//! The nginx pidfile, read strictly: the safe `$(cat nginx.pid)`. A pidfile is only a number
//! in a file, and `0`, `-1`, `1` or garbage in it would make `kill` hit our own process group,
//! every process, or init; so anything but one plain PID in a regular file is refused here,
//! before any process is looked at.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::nginx::show::escape;

/// Where nginx's pidfile usually lives, in the order searched when `-p` is not given.
pub const DEFAULT_PIDFILES: [&str; 4] = [
    "/run/nginx.pid",
    "/var/run/nginx.pid",
    "/usr/local/nginx/logs/nginx.pid",
    "/usr/local/webserver/nginx/nginx.pid",
];

/// A pidfile longer than this is not an nginx pidfile (nginx writes `PID\n`).
pub const PIDFILE_MAX: usize = 64;

/// The largest `pid_max` a 64-bit kernel allows (`PID_MAX_LIMIT`), used when
/// `/proc/sys/kernel/pid_max` cannot be read.
pub const PID_MAX_LIMIT: u64 = 4_194_304;

/// What a pidfile can hold that is not a usable process id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadPid {
    /// Nothing, or only a newline.
    Empty,
    /// More than [`PIDFILE_MAX`] bytes.
    TooLong,
    /// More than one line.
    Lines,
    /// A negative number: `kill -HUP -1` signals every process, `-N` a process group.
    Negative(String),
    /// Anything else that is not one plain positive decimal (shown escaped).
    NotNumber(String),
    /// 0 (the caller's process group) or 1 (init).
    Reserved(u64),
    /// At or beyond the kernel's `pid_max`: no process can have it.
    TooLarge(String, u64),
}

impl fmt::Display for BadPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadPid::Empty => write!(f, "is empty"),
            BadPid::TooLong => write!(f, "is longer than {PIDFILE_MAX} bytes"),
            BadPid::Lines => write!(f, "holds more than one line"),
            BadPid::Negative(s) => write!(
                f,
                "holds \"{s}\": a negative pid names a process group (-1: every process)"
            ),
            BadPid::NotNumber(s) => write!(f, "holds \"{s}\", not a decimal process id"),
            BadPid::Reserved(0) => write!(f, "holds 0, which would signal our own process group"),
            BadPid::Reserved(p) => write!(f, "holds {p}: init is never signalled"),
            BadPid::TooLarge(s, max) => write!(f, "holds {s}, beyond pid_max {max}"),
        }
    }
}

/// Parse a pidfile's bytes: one positive decimal without sign, spaces or leading zeros, and at
/// most one trailing newline (what nginx writes). `pid_max` is the kernel's bound: PIDs are
/// below it. Pure; the reading is [`read_pidfile`].
pub fn parse_pidfile(bytes: &[u8], pid_max: u64) -> Result<i32, BadPid> {
    if bytes.len() > PIDFILE_MAX {
        return Err(BadPid::TooLong);
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Err(BadPid::Empty);
    }
    if body.contains(&b'\n') {
        return Err(BadPid::Lines);
    }
    let shown = escape(body, 24);
    if let Some(digits) = body.strip_prefix(b"-")
        && !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
    {
        return Err(BadPid::Negative(shown));
    }
    if !body.iter().all(u8::is_ascii_digit) || (body.len() > 1 && body[0] == b'0') {
        return Err(BadPid::NotNumber(shown));
    }
    // At most 20 digits fit in a u64; anything longer is beyond pid_max anyway.
    let value = if body.len() > 19 {
        u64::MAX
    } else {
        body.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
    };
    if value <= 1 {
        return Err(BadPid::Reserved(value));
    }
    if value >= pid_max || value > i32::MAX as u64 {
        return Err(BadPid::TooLarge(shown, pid_max));
    }
    Ok(value as i32)
}

/// The kernel's PID bound, from `/proc/sys/kernel/pid_max` (like `sysctl kernel.pid_max`).
pub fn pid_max() -> u64 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 1 && n <= PID_MAX_LIMIT)
        .unwrap_or(PID_MAX_LIMIT)
}

/// The first of `candidates` that exists (a dangling or any other symbolic link counts, so that
/// it is refused by [`read_pidfile`] rather than silently skipped), like the classic
/// `for f in ...; do [ -e "$f" ] && break; done`.
pub fn find_pidfile<P: AsRef<Path>>(candidates: &[P]) -> Result<PathBuf> {
    for c in candidates {
        if std::fs::symlink_metadata(c.as_ref()).is_ok() {
            return Ok(c.as_ref().to_path_buf());
        }
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| c.as_ref().display().to_string())
        .collect();
    Err(Error::failed(format!(
        "no nginx pidfile found (tried {}); is nginx running? give one with -p",
        tried.join(", ")
    )))
}

/// Read and check a pidfile: the safe `$(cat nginx.pid)`. The file must be a regular file and
/// not a symbolic link (a link can point at another nginx's pidfile, or anywhere); directories
/// above it may be links (`/var/run` is one on most systems).
pub fn read_pidfile(path: &Path) -> Result<i32> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) && is_symlink(path) => {
            return Err(Error::failed(format!(
                "pidfile {shown} is a symbolic link; refused (a pidfile must be a regular file); \
                 nothing signalled"
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::failed(format!(
                "pidfile {shown}: no such file; is nginx running?"
            )));
        }
        Err(e) => {
            return Err(Error::os(
                format!("open pidfile {shown}"),
                e,
                "CAP_DAC_READ_SEARCH",
            ));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::sys(format!("stat pidfile {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::failed(format!(
            "pidfile {shown} is not a regular file; nothing signalled"
        )));
    }
    let mut bytes = Vec::with_capacity(PIDFILE_MAX + 1);
    file.take(PIDFILE_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::os(format!("read pidfile {shown}"), e, "CAP_DAC_READ_SEARCH"))?;
    parse_pidfile(&bytes, pid_max())
        .map_err(|bad| Error::failed(format!("pidfile {shown} {bad}; nothing signalled")))
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 32768;

    #[test]
    fn pidfile_accepts_one_plain_decimal() {
        assert_eq!(parse_pidfile(b"1234\n", MAX), Ok(1234));
        assert_eq!(parse_pidfile(b"1234", MAX), Ok(1234));
        assert_eq!(parse_pidfile(b"2", MAX), Ok(2));
        assert_eq!(parse_pidfile(b"32767\n", MAX), Ok(32767));
    }

    #[test]
    fn pidfile_refuses_init_zero_and_negatives() {
        assert_eq!(parse_pidfile(b"1\n", MAX), Err(BadPid::Reserved(1)));
        assert_eq!(parse_pidfile(b"0\n", MAX), Err(BadPid::Reserved(0)));
        assert_eq!(
            parse_pidfile(b"-1\n", MAX),
            Err(BadPid::Negative("-1".into()))
        );
        assert_eq!(
            parse_pidfile(b"-1234", MAX),
            Err(BadPid::Negative("-1234".into()))
        );
    }

    #[test]
    fn pidfile_refuses_garbage_and_decoration() {
        assert_eq!(parse_pidfile(b"", MAX), Err(BadPid::Empty));
        assert_eq!(parse_pidfile(b"\n", MAX), Err(BadPid::Empty));
        for bad in [
            &b"abc"[..],
            b" 1234",
            b"1234 ",
            b"+1234",
            b"0123",
            b"00001",
            b"12a4",
            b"1234\r\n",
            b"1234\n\n",
            b"0x10",
            b"1e3",
            b"\xff\xfe",
            b"-",
        ] {
            assert!(
                matches!(
                    parse_pidfile(bad, MAX),
                    Err(BadPid::NotNumber(_) | BadPid::Lines)
                ),
                "{:?} accepted or misclassified: {:?}",
                bad.escape_ascii().to_string(),
                parse_pidfile(bad, MAX)
            );
        }
        assert_eq!(parse_pidfile(b"12\n34\n", MAX), Err(BadPid::Lines));
        assert_eq!(
            parse_pidfile(b"\xff1", MAX),
            Err(BadPid::NotNumber("\\xff1".into()))
        );
    }

    #[test]
    fn pidfile_refuses_numbers_beyond_pid_max() {
        assert_eq!(
            parse_pidfile(b"32768\n", MAX),
            Err(BadPid::TooLarge("32768".into(), MAX))
        );
        assert!(matches!(
            parse_pidfile(b"99999999999999999999999999\n", MAX),
            Err(BadPid::TooLarge(..))
        ));
        // Beyond i32 even when pid_max claims more.
        assert!(matches!(
            parse_pidfile(b"4294967297", u64::MAX),
            Err(BadPid::TooLarge(..))
        ));
    }

    #[test]
    fn pidfile_refuses_long_files_before_looking_inside() {
        let long = vec![b'1'; PIDFILE_MAX + 1];
        assert_eq!(parse_pidfile(&long, MAX), Err(BadPid::TooLong));
    }

    #[test]
    fn bad_pid_messages_name_the_value() {
        assert_eq!(
            BadPid::NotNumber("abc".into()).to_string(),
            "holds \"abc\", not a decimal process id"
        );
        assert!(
            BadPid::Negative("-1".into())
                .to_string()
                .contains("every process")
        );
        assert!(BadPid::Reserved(1).to_string().contains("init"));
        assert!(
            BadPid::TooLarge("99999".into(), MAX)
                .to_string()
                .contains("pid_max 32768")
        );
    }

    #[test]
    fn missing_pidfiles_list_the_paths_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.pid");
        let b = dir.path().join("b.pid");
        let e = find_pidfile(&[&a, &b]).expect_err("none exists");
        assert_eq!(e.exit_code(), 1);
        let msg = e.to_string();
        assert!(msg.contains(&a.display().to_string()) && msg.contains(&b.display().to_string()));
        std::fs::write(&b, "5\n").expect("write");
        assert_eq!(find_pidfile(&[&a, &b]).expect("found"), b);
    }

    #[test]
    fn pidfiles_must_be_regular_files_not_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.pid");
        std::fs::write(&real, format!("{}\n", std::process::id())).expect("write");
        assert_eq!(
            read_pidfile(&real).expect("read"),
            std::process::id() as i32
        );
        let link = dir.path().join("link.pid");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let e = read_pidfile(&link).expect_err("symlink");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = read_pidfile(dir.path()).expect_err("directory");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_pidfile(&dir.path().join("none.pid")).expect_err("missing");
        assert!(e.to_string().contains("no such file"), "{e}");
        std::fs::write(&real, vec![b'7'; 4096]).expect("write");
        let e = read_pidfile(&real).expect_err("long");
        assert!(e.to_string().contains("longer than 64 bytes"), "{e}");
    }
}
