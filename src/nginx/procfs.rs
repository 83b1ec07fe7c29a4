//! What `/proc/PID` says about a process: its state and parent (`stat`), its title
//! (`cmdline`), the program it executes (`exe`, or the command name in `stat`), its open log
//! files (`fd`, `fdinfo`), its working directory and network namespace. Parsers are pure and
//! unit-tested; the readers next to them are the only places this folder opens `/proc/PID`.
//! `/proc/PID/stat` in particular is read by [`read_stat`] alone.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::nginx::show::escape;

/// `/proc/PID/NAME`.
pub fn path(pid: i32, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{name}"))
}

/// Does `/proc/PID` exist (a process or a zombie holds the PID)?
pub fn exists(pid: i32) -> bool {
    path(pid, "").exists()
}

/// Is `e` how `/proc` says the process is gone (ENOENT, ESRCH)?
pub fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH))
}

/// The fields of `/proc/PID/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// R, S, D, Z (zombie), T, X (dead), ...
    pub state: char,
    pub ppid: i32,
    /// Clock ticks after boot when the process started: with the PID, it names one process.
    pub starttime: u64,
}

/// Parse `/proc/PID/stat`. The command name in parentheses may itself hold spaces and `)`, so
/// the fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let (_, after) = text.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ')' come field 3 (state), 4 (ppid), ... 22 (starttime).
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        starttime: fields.get(19)?.parse().ok()?,
    })
}

impl ProcStat {
    /// A zombie (its program exited, its parent has not reaped it yet) or dead.
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// `/proc/PID/stat` as text (like `cat /proc/PID/stat`): the one reader of that file.
pub fn read_stat(pid: i32) -> io::Result<String> {
    std::fs::read_to_string(path(pid, "stat"))
}

/// `/proc/PID/stat` parsed; None when the process is gone or the file cannot be read.
pub fn stat(pid: i32) -> Option<ProcStat> {
    read_stat(pid).ok().and_then(|t| parse_stat(&t))
}

/// Does the process that started at `starttime` still run under `pid`? With its PID, a
/// process's start time names it: a PID reused since belongs to a process started later.
pub fn same_process(pid: i32, starttime: u64) -> bool {
    stat(pid).is_some_and(|s| s.starttime == starttime && !s.exited())
}

/// The thread-group id from `/proc/PID/status`: equal to PID for a process, not for a thread.
pub fn tgid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(path(pid, "status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The raw `/proc/PID/cmdline` (like `ps -o args= -p PID`).
pub fn cmdline(pid: i32) -> io::Result<Vec<u8>> {
    std::fs::read(path(pid, "cmdline"))
}

/// What a process's title (`/proc/PID/cmdline`) says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Title {
    /// `nginx: master process ...`
    Master,
    /// `nginx: worker process`
    Worker,
    /// `nginx: worker process is shutting down` (an old worker after a reload)
    WorkerExiting,
    /// Another nginx helper: `nginx: cache manager process`, `nginx: cache loader process`.
    OtherNginx,
    /// Anything else, including an empty command line (a kernel thread).
    NotNginx,
}

const MASTER_TITLE: &str = "nginx: master process";
const WORKER_TITLE: &str = "nginx: worker process";
const WORKER_EXITING_TITLE: &str = "nginx: worker process is shutting down";

/// Classify a raw `/proc/PID/cmdline`. nginx overwrites its argv with one NUL-terminated title
/// (`ngx_setproctitle`), padded with NULs; only the text before the first NUL counts.
pub fn classify_cmdline(cmdline: &[u8]) -> Title {
    let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let Ok(title) = std::str::from_utf8(first) else {
        return Title::NotNginx;
    };
    if let Some(rest) = title.strip_prefix(MASTER_TITLE)
        && (rest.is_empty() || rest.starts_with(' '))
    {
        return Title::Master;
    }
    match title {
        WORKER_TITLE => Title::Worker,
        WORKER_EXITING_TITLE => Title::WorkerExiting,
        t if t.starts_with("nginx: ") && t.ends_with(" process") => Title::OtherNginx,
        _ => Title::NotNginx,
    }
}

/// A command line for messages: arguments joined by spaces, escaped, at most 60 characters.
pub fn show_cmdline(cmdline: &[u8]) -> String {
    let joined: Vec<u8> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(&b' ');
    escape(&joined, 60)
}

/// (`nginx: master process /usr/sbin/nginx -p /srv -c conf/nginx.conf`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MasterArgs {
    pub prefix: Option<String>,
    pub conf: Option<String>,
}

/// Parse a master's title the way nginx parses its own options: flags may be grouped (`-tq`),
/// and `-c`, `-p`, `-g`, `-s`, `-e` take the rest of the word or the next word. The title joins
/// arguments with spaces, so a path containing a space cannot be recovered (give `-c` then).
pub fn master_args(title: &str) -> MasterArgs {
    let mut args = MasterArgs::default();
    let Some(rest) = title.strip_prefix(MASTER_TITLE) else {
        return args;
    };
    // The first word is the program as it was invoked.
    let mut words = rest.split_whitespace().skip(1);
    while let Some(word) = words.next() {
        let Some(flags) = word.strip_prefix('-') else {
            continue; // a word of a -g value ("daemon on; master_process on;")
        };
        for (i, c) in flags.char_indices() {
            if matches!(c, 'c' | 'p' | 'g' | 's' | 'e') {
                let inline = &flags[i + c.len_utf8()..];
                let value = if inline.is_empty() {
                    words.next().map(str::to_string)
                } else {
                    Some(inline.to_string())
                };
                match c {
                    'c' => args.conf = value,
                    'p' => args.prefix = value,
                    _ => {}
                }
                break;
            }
        }
    }
    args
}

/// The live children of `ppid` and their titles, by PID (a scan of `/proc`, like
/// `ps --ppid PPID`).
pub fn children(ppid: i32) -> Vec<(i32, Title)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut kids: Vec<(i32, Title)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|s| s.ppid == ppid && !s.exited()))
        .filter_map(|pid| Some((pid, classify_cmdline(&cmdline(pid).ok()?))))
        .collect();
    kids.sort_by_key(|(p, _)| *p);
    kids
}

/// The PIDs of `ppid`'s workers serving requests (not those shutting down after a reload).
pub fn workers(ppid: i32) -> Vec<i32> {
    children(ppid)
        .into_iter()
        .filter(|(_, t)| *t == Title::Worker)
        .map(|(p, _)| p)
        .collect()
}

/// What program a process executes, as far as we may look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// The target of `/proc/PID/exe`, with `deleted` when the kernel marks it
    /// `PATH (deleted)`: the file was removed or replaced since (a package upgrade), and the
    /// process still runs the old one.
    Exe { path: PathBuf, deleted: bool },
    /// `/proc/PID/exe` may not be read (another user's process, without CAP_SYS_PTRACE): the
    /// kernel's command name instead (`comm`, the second field of `/proc/PID/stat`, which anyone
    /// may read). exec sets it from the executable's file name, cut to 15 bytes; `exec -a` does
    /// not change it, and nginx's own title does not either.
    Comm(String),
}

/// The longest command name the kernel keeps (`TASK_COMM_LEN` - 1).
const COMM_MAX: usize = 15;

impl Program {
    /// The `/proc/PID/exe` link's target, `(deleted)` mark taken off.
    pub fn from_exe_link(target: &Path) -> Program {
        let text = target.as_os_str().as_encoded_bytes();
        match text.strip_suffix(b" (deleted)") {
            Some(path) => Program::Exe {
                path: PathBuf::from(OsString::from_vec(path.to_vec())),
                deleted: true,
            },
            None => Program::Exe {
                path: target.to_path_buf(),
                deleted: false,
            },
        }
    }

    /// The file name the program was executed from (cut to 15 bytes for [`Program::Comm`]).
    pub fn name(&self) -> String {
        match self {
            Program::Exe { path, .. } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Program::Comm(c) => c.clone(),
        }
    }

    /// Is this an nginx binary: one named `nginx` or `nginx-*` (`nginx-debug`, and the like),
    /// or the binary `expected` (`--nginx BIN`, under any name)?
    pub fn is_nginx(&self, expected: Option<&Expected>) -> bool {
        if is_nginx_name(&self.name()) {
            return true;
        }
        let Some(e) = expected else {
            return false;
        };
        match self {
            Program::Exe { path, .. } => e.paths.iter().any(|p| p == path) || e.same_file,
            Program::Comm(c) => e.names.iter().any(|n| n == c),
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Program::Exe {
                path,
                deleted: false,
            } => write!(f, "{}", path.display()),
            Program::Exe {
                path,
                deleted: true,
            } => write!(f, "{} (deleted)", path.display()),
            Program::Comm(c) => write!(
                f,
                "a program named \"{}\"",
                escape(c.as_bytes(), COMM_MAX * 4)
            ),
        }
    }
}

/// `nginx`, or `nginx-` and more: the names nginx binaries are installed under
/// (`/usr/sbin/nginx` from every Debian flavour, `nginx-debug` from nginx.org's packages).
pub fn is_nginx_name(name: &str) -> bool {
    name == "nginx"
        || name
            .strip_prefix("nginx-")
            .is_some_and(|rest| !rest.is_empty())
}

/// The `--nginx BIN` a master must execute, as a process's [`Program`] can show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// BIN as given and with its links resolved (`/proc/PID/exe` shows the resolved path).
    pub paths: Vec<PathBuf>,
    /// Their file names cut as the kernel cuts command names.
    pub names: Vec<String>,
    /// `/proc/PID/exe` is the very file BIN names (same device and inode), whatever the paths
    /// look like from here (nginx in another mount namespace).
    pub same_file: bool,
}

impl Expected {
    /// What `bin` would look like in `/proc/PID` of a process that executes it.
    pub fn of(bin: &Path, pid: i32) -> Expected {
        let mut paths = vec![std::path::absolute(bin).unwrap_or_else(|_| bin.to_path_buf())];
        if let Ok(real) = std::fs::canonicalize(bin)
            && !paths.contains(&real)
        {
            paths.push(real);
        }
        let mut names: Vec<String> = paths
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| comm_of(&n.to_string_lossy()))
            .collect();
        names.dedup();
        let same_file = match (std::fs::metadata(bin), std::fs::metadata(path(pid, "exe"))) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        Expected {
            paths,
            names,
            same_file,
        }
    }
}

/// A file name as the kernel keeps it for a command name: its first 15 bytes.
fn comm_of(name: &str) -> String {
    let mut end = name.len().min(COMM_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// The command name in `/proc/PID/stat`: between the first `(` and the last `)`.
pub fn parse_comm(stat: &str) -> Option<&str> {
    let start = stat.find('(')? + 1;
    let end = stat.rfind(')')?;
    stat.get(start..end)
}

/// The target of `/proc/PID/exe` (like `readlink /proc/PID/exe`); reading another user's
/// takes CAP_SYS_PTRACE.
pub fn exe_link(pid: i32) -> io::Result<PathBuf> {
    std::fs::read_link(path(pid, "exe"))
}

/// A path that executes what `pid` runs: the binary's path, or the `/proc/PID/exe` link
/// itself when the file was replaced on disk (a package upgrade), which still executes the
/// old binary.
pub fn runnable_exe(pid: i32) -> Option<PathBuf> {
    let link = path(pid, "exe");
    let target = std::fs::read_link(&link).ok()?;
    if target.to_string_lossy().ends_with(" (deleted)") {
        Some(link)
    } else {
        Some(target)
    }
}

/// The working directory of `pid` (`/proc/PID/cwd`), if it is one.
pub fn cwd(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(path(pid, "cwd"))
        .ok()
        .filter(|p| p.is_dir())
}

/// Whether `pid` runs in our network namespace; None when it cannot be told.
pub fn same_netns(pid: i32) -> Option<bool> {
    let ours = std::fs::metadata("/proc/self/ns/net").ok()?;
    let theirs = std::fs::metadata(path(pid, "ns/net")).ok()?;
    Some(ours.ino() == theirs.ino() && ours.dev() == theirs.dev())
}

/// One open log file of a process: descriptor number, device and inode.
pub type FileId = (i32, u64, u64);

/// A process's regular files opened for appending: its log files (`ls -l /proc/PID/fd`).
/// Reopening gives each a new descriptor before the old one is closed, so after a reopen none
/// of these triples survives. None when the process's descriptors cannot be read (another
/// user's process without CAP_SYS_PTRACE); empty when it has exited.
pub fn append_files(pid: i32) -> Option<BTreeSet<FileId>> {
    let dir = match std::fs::read_dir(path(pid, "fd")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return None,
        Err(_) => return Some(BTreeSet::new()),
    };
    let files = dir
        .flatten()
        .filter_map(|e| {
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            let info = std::fs::read_to_string(path(pid, &format!("fdinfo/{fd}"))).ok()?;
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())?;
            if flags & libc::O_APPEND as u32 == 0 {
                return None;
            }
            let meta = std::fs::metadata(e.path()).ok()?;
            meta.is_file().then(|| (fd, meta.dev(), meta.ino()))
        })
        .collect();
    Some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_matcher_knows_masters_and_workers() {
        assert_eq!(
            classify_cmdline(b"nginx: master process /usr/sbin/nginx -g daemon on;\0"),
            Title::Master
        );
        assert_eq!(
            classify_cmdline(b"nginx: master process\0\0\0"),
            Title::Master
        );
        assert_eq!(
            classify_cmdline(b"nginx: worker process\0\0\0\0\0\0"),
            Title::Worker
        );
        assert_eq!(
            classify_cmdline(b"nginx: worker process is shutting down\0"),
            Title::WorkerExiting
        );
        assert_eq!(
            classify_cmdline(b"nginx: cache manager process\0"),
            Title::OtherNginx
        );
    }

    #[test]
    fn cmdline_matcher_refuses_everything_else() {
        for other in [
            &b"sleep\x00100\x00"[..],
            b"",
            b"\0",
            b"nginx\0-s\0reload\0",
            b"/usr/sbin/nginx\0-g\0daemon off;\0",
            b"nginx: master processes\0",
            b"xnginx: master process\0",
            b"vim\0nginx: master process\0",
            b"nginx:\0master\0process\0",
        ] {
            assert_eq!(
                classify_cmdline(other),
                Title::NotNginx,
                "{}",
                other.escape_ascii()
            );
        }
    }

    #[test]
    fn cmdlines_are_shown_joined_and_escaped() {
        assert_eq!(show_cmdline(b"sleep\x00100\x00"), "sleep 100");
        assert_eq!(show_cmdline(b""), "");
        assert_eq!(show_cmdline(b"a\nb\0"), "a\\nb");
        assert!(show_cmdline(&[b'x'; 200]).ends_with("..."));
    }

    #[test]
    fn master_title_gives_prefix_and_conf() {
        let t = "nginx: master process nginx -p /tmp/x -c /tmp/x/nginx.conf";
        assert_eq!(
            master_args(t),
            MasterArgs {
                prefix: Some("/tmp/x".into()),
                conf: Some("/tmp/x/nginx.conf".into()),
            }
        );
        // Joined values, grouped flags, -g values skipped.
        let t = "nginx: master process /usr/sbin/nginx -g daemon on; master_process on; -cconf/a.conf -qp /srv";
        assert_eq!(
            master_args(t),
            MasterArgs {
                prefix: Some("/srv".into()),
                conf: Some("conf/a.conf".into()),
            }
        );
        assert_eq!(
            master_args("nginx: master process /usr/sbin/nginx"),
            MasterArgs::default()
        );
        assert_eq!(master_args("sleep 1 -c x"), MasterArgs::default());
        // -e takes a value which must not be read as flags.
        assert_eq!(
            master_args("nginx: master process nginx -e -c -c /a"),
            MasterArgs {
                prefix: None,
                conf: Some("/a".into()),
            }
        );
    }

    #[test]
    fn stat_is_parsed_from_the_last_parenthesis() {
        let line = "8341 (nginx) S 1 8341 8341 0 -1 4194624 61 0 0 0 0 0 0 0 20 0 1 0 \
                    123456 11223344 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                ppid: 1,
                starttime: 123456
            })
        );
        let odd = "77 (a) b (c) Z 5 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0";
        assert_eq!(
            parse_stat(odd).map(|s| (s.state, s.ppid, s.starttime)),
            Some(('Z', 5, 99))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn programs_are_read_from_exe_links_and_command_names() {
        let p = Program::from_exe_link(Path::new("/usr/sbin/nginx (deleted)"));
        assert_eq!(
            p,
            Program::Exe {
                path: PathBuf::from("/usr/sbin/nginx"),
                deleted: true
            }
        );
        assert!(p.is_nginx(None));
        assert_eq!(p.to_string(), "/usr/sbin/nginx (deleted)");
        let p = Program::from_exe_link(Path::new("/usr/bin/sleep"));
        assert!(!p.is_nginx(None));
        assert_eq!(p.to_string(), "/usr/bin/sleep");
        for ok in ["nginx", "nginx-debug", "nginx-full"] {
            assert!(is_nginx_name(ok), "{ok}");
        }
        for bad in [
            "", "nginx-", "nginxx", "xnginx", "sleep", "nginx.sh", "Nginx",
        ] {
            assert!(!is_nginx_name(bad), "{bad}");
        }
        assert_eq!(parse_comm("42 (nginx) S 1 42"), Some("nginx"));
        assert_eq!(parse_comm("42 (a) b) (c) S 1"), Some("a) b) (c"));
        assert!(Program::Comm("nginx".into()).is_nginx(None));
        assert!(!Program::Comm("sleep".into()).is_nginx(None));
        assert_eq!(
            Program::Comm("sleep".into()).to_string(),
            "a program named \"sleep\""
        );
        // --nginx: the path as given or resolved; a command name cut to 15 bytes.
        let e = Expected {
            paths: vec![PathBuf::from("/opt/web/sbin/webserver-1.25.3")],
            names: vec![comm_of("webserver-1.25.3")],
            same_file: false,
        };
        assert_eq!(e.names, ["webserver-1.25."]);
        assert!(Program::Comm("webserver-1.25.".into()).is_nginx(Some(&e)));
        assert!(!Program::Comm("webserver".into()).is_nginx(Some(&e)));
        let exe = Program::from_exe_link(Path::new("/opt/web/sbin/webserver-1.25.3 (deleted)"));
        assert!(exe.is_nginx(Some(&e)));
        assert!(!Program::from_exe_link(Path::new("/opt/web/sbin/other")).is_nginx(Some(&e)));
        let same = Expected {
            same_file: true,
            ..Expected::default()
        };
        assert!(Program::from_exe_link(Path::new("/elsewhere/web")).is_nginx(Some(&same)));
    }
}
