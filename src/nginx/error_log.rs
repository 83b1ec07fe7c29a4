//! nginx's error log: the shape of its lines (`2024/05/01 12:00:00 [emerg] 8341#8341: ...`),
//! and the tail of the running master's main log, where nginx reports a configuration it
//! refused on reload or a log file it could not reopen.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::nginx::procfs;

/// Split an nginx error-log line, `2024/05/01 12:00:00 [emerg] 8341#8341: message`, into its
/// level (`emerg`), the writer's PID and the message. An access-log line never has this shape:
/// it starts with the client address.
pub fn parse_log_line(line: &str) -> Option<(&str, i32, &str)> {
    let b = line.as_bytes();
    let shape = b"dddd/dd/dd dd:dd:dd [";
    if b.len() < shape.len() {
        return None;
    }
    for (c, s) in b.iter().zip(shape) {
        let ok = if *s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        };
        if !ok {
            return None;
        }
    }
    let (level, rest) = line[shape.len()..].split_once("] ")?;
    let (pid, rest) = rest.split_once('#')?;
    let (tid, message) = rest.split_once(": ")?;
    if !tid.bytes().all(|c| c.is_ascii_digit()) || level.contains(' ') {
        return None;
    }
    Some((level, pid.parse().ok()?, message))
}

/// If `line` is an nginx error-log line at level `[emerg]` written by one of `pids`, the part
/// from the level on (`[emerg] unknown directive "x" in /etc/nginx/nginx.conf:5`).
pub fn emerg_line(line: &str, pids: &[i32]) -> Option<String> {
    match parse_log_line(line)? {
        ("emerg", pid, message) if pids.contains(&pid) => Some(format!("[emerg] {message}")),
        _ => None,
    }
}

/// The end of nginx's main error log, read through the master's stderr: nginx points its
/// stderr at that log (`ngx_log_redirect_stderr`), and errors found while rereading the
/// configuration go there. Opening `/proc/PID/fd/2` finds the file even after a rename.
pub struct ErrorLog {
    file: File,
    /// Where the log is (as `/proc/PID/fd/2` shows it), for messages.
    pub path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl ErrorLog {
    /// Most bytes read per look, so a busy log cannot stall the confirmation loop.
    const CHUNK: u64 = 1 << 20;

    /// The log `pid` writes its standard error to, from its current end; None when that is not
    /// a regular file or cannot be opened (another user's process without CAP_SYS_PTRACE).
    pub fn of_master(pid: i32) -> Option<ErrorLog> {
        let link = procfs::path(pid, "fd/2");
        let path = std::fs::read_link(&link).ok()?;
        let file = File::open(&link).ok()?;
        let meta = file.metadata().ok()?;
        meta.is_file().then(|| ErrorLog {
            file,
            path,
            offset: meta.len(),
            partial: Vec::new(),
        })
    }

    /// The first new `[emerg]` line written by one of `pids`, if any.
    pub fn emerg(&mut self, pids: &[i32]) -> Option<String> {
        let len = self.file.metadata().ok()?.len();
        if len < self.offset {
            // Truncated (copytruncate): start again from its new end.
            self.offset = len;
            self.partial.clear();
            return None;
        }
        if len == self.offset {
            return None;
        }
        self.file.seek(SeekFrom::Start(self.offset)).ok()?;
        let mut buf = Vec::new();
        (&self.file)
            .take((len - self.offset).min(Self::CHUNK))
            .read_to_end(&mut buf)
            .ok()?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let complete = self.partial.iter().rposition(|&b| b == b'\n')? + 1;
        let lines: Vec<u8> = self.partial.drain(..complete).collect();
        String::from_utf8_lossy(&lines)
            .lines()
            .find_map(|l| emerg_line(l, pids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emerg_lines_are_recognised_by_shape_and_pid() {
        let line =
            "2024/05/01 12:00:00 [emerg] 8341#8341: unknown directive \"bogus\" in /x/nginx.conf:5";
        assert_eq!(
            emerg_line(line, &[8341]).as_deref(),
            Some("[emerg] unknown directive \"bogus\" in /x/nginx.conf:5")
        );
        assert_eq!(emerg_line(line, &[8342]), None);
        let worker = "2024/05/01 12:00:00 [emerg] 8343#0: open() \"/x/access.log\" failed (13: Permission denied)";
        assert!(emerg_line(worker, &[8341, 8343]).is_some());
        for other in [
            "2024/05/01 12:00:00 [alert] 8341#8341: something",
            "2024/05/01 12:00:00 [error] 8341#8341: something",
            "127.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /[emerg] 8341#8341: x HTTP/1.1\" 404",
            "[emerg] 8341#8341: x",
            "2024/05/01 12:00:00 [emerg] 8341#abc: x",
            "2024/05/01 12:00:00 [emerg] x#1: x",
            "",
        ] {
            assert_eq!(emerg_line(other, &[8341]), None, "{other}");
        }
    }
}
