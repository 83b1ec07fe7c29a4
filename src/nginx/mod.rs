//! Nginx master processes: strict pidfile reading, verification through `/proc`, signalling
//! through a pidfd, and confirmation that the signal did what it was sent for.
//!
//! The classic script ran `kill -USR1 'cat nginx.pid'`: quotes instead of `$(...)`, and USR1
//! reopens logs rather than reloading. Its safe replacement must never signal a process that is
//! not the nginx master, whatever the pidfile holds (`1`, `-1`, `0`, garbage, a stale PID now
//! owned by another program), so every step here refuses rather than guesses:
//!
//! 1. [`read_pidfile`] ([`pidfile`]): one positive decimal, an optional trailing newline, at
//!    most [`PIDFILE_MAX`] bytes, a regular file and not a symbolic link, `1 < pid < pid_max`.
//! 2. [`Master::verify`] ([`master`]): a pidfd is opened on the PID *first*, then `/proc/PID`
//!    ([`procfs`]) must show a process (not a thread, not a zombie) titled
//!    `nginx: master process` that executes an nginx binary ([`Program`]): a title is only
//!    `argv[0]`, which any program can set (`exec -a "nginx: master process" sleep 30`).
//! 3. [`Master::signal`] sends through that pidfd (`pidfd_send_signal`, the folder's only
//!    `unsafe` code, in `pidfd.rs`). A pidfd names one process, not a number: if the master
//!    died and its PID was reused after the check, the signal fails with ESRCH instead of
//!    hitting the newcomer. Kernels without pidfds (< 5.3) fall back to `kill()` after
//!    re-checking the process start time, a window of microseconds.
//! 4. [`Master::deliver`] confirms ([`confirm`]): after HUP, new workers replace the old ones
//!    (or nginx's own `[emerg]` line appears in its error log ([`error_log`]): the new
//!    configuration was refused); after USR1, the master and its workers hold freshly opened
//!    log files; after QUIT/TERM, the master is gone.
//!
//! [`ConfigTest`] ([`config_test`]) runs `nginx -t` as the master would load, before any of it.
//!
//! Layers, each file importing only those below it: `show`, `pidfd` (no imports here);
//! `pidfile`, `procfs`; `error_log`; `confirm`; `master`; `config_test`.

pub mod config_test;
pub mod confirm;
pub mod error_log;
pub mod master;
mod pidfd;
pub mod pidfile;
pub mod procfs;
mod show;

pub use config_test::{CONFIG_TEST_TIMEOUT, ConfigTest, config_test_error};
pub use confirm::{Action, Outcome};
pub use error_log::{emerg_line, parse_log_line};
pub use master::Master;
pub use pidfile::{
    BadPid, DEFAULT_PIDFILES, PID_MAX_LIMIT, PIDFILE_MAX, find_pidfile, parse_pidfile, pid_max,
    read_pidfile,
};
pub use procfs::{
    Expected, MasterArgs, ProcStat, Program, Title, classify_cmdline, is_nginx_name, master_args,
    parse_comm, parse_stat, show_cmdline,
};
pub use show::{join_pids, show_secs};
