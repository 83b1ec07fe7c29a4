//! The pidfd system calls (Linux >= 5.3), which `nix` does not wrap: every `unsafe` of the
//! nginx module is here, behind these safe functions. A pidfd names one process, not a
//! number: once the process has exited, signals through it fail with ESRCH, whoever holds
//! the PID by then.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::signal::Signal;

/// `pidfd_open(pid, 0)`: a descriptor naming this one process, whatever its PID becomes.
pub fn open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1; no memory is
    // shared with the kernel.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_pidfd_open,
            libc::c_long::from(pid),
            0 as libc::c_long,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`: like kill(), but to the process the fd names.
pub fn send_signal(fd: BorrowedFd<'_>, sig: Signal) -> io::Result<()> {
    // SAFETY: a live descriptor, a valid signal number, a null siginfo (the kernel fills it
    // in as kill() would) and no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            libc::c_long::from(fd.as_raw_fd()),
            libc::c_long::from(sig as libc::c_int),
            std::ptr::null::<libc::siginfo_t>(),
            0 as libc::c_long,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Wait up to `timeout` for the process to exit; true once it has (the fd turns readable).
pub fn exited(fd: BorrowedFd<'_>, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid, initialised pollfd and a count of 1.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    r > 0 && p.revents & libc::POLLIN != 0
}
