//! Signalling and waiting for processes: `kill` of a process or a group, `waitpid`, `pidfd_open`,
//! `poll`, `sched_yield`, and this process's identities.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// `pidfd_open(pid, 0)`: a descriptor that becomes readable when the process exits.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success the kernel hands us a new descriptor we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Readiness of the descriptors passed to [`poll2`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Ready {
    pub first: bool,
    pub second: bool,
}

/// poll(2) on up to two descriptors for input (or hang-up), with an optional timeout.
pub fn poll2(
    first: Option<BorrowedFd<'_>>,
    second: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Ready> {
    let mk = |fd: Option<BorrowedFd<'_>>| libc::pollfd {
        fd: fd.map(|f| f.as_raw_fd()).unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = [mk(first), mk(second)];
    let ms: libc::c_int = match timeout {
        None => -1,
        // Round up so that we never spin on a sub-millisecond remainder.
        Some(d) => d.as_micros().div_ceil(1000).min(libc::c_int::MAX as u128) as libc::c_int,
    };
    loop {
        // SAFETY: fds is a valid array of 2 pollfd; negative fds are ignored by poll.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if rc >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let hit = |p: &libc::pollfd| p.fd >= 0 && p.revents != 0;
    Ok(Ready {
        first: hit(&fds[0]),
        second: hit(&fds[1]),
    })
}

/// Send `signal` to every process of group `pgid`. Returns false when the group is gone.
pub fn kill_group(pgid: u32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) == 0 }
}

/// Whether any process of group `pgid` still exists.
pub fn group_exists(pgid: u32) -> bool {
    kill_group(pgid, 0)
}

/// Send `signal` to process `pid`. Returns false when it is gone.
pub fn kill_pid(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) on one pid; no memory is involved.
    pid > 0 && unsafe { libc::kill(pid, signal) == 0 }
}

/// `waitpid(pid, WNOHANG)`: reap `pid` if it is a zombie child of this process. True when reaped.
pub fn reap_nohang(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on one specific pid with a valid status pointer.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == pid }
}

/// This process's effective user id.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// This process's id.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// How [`wait_pid`] found the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Reaped, with its wait status.
    Exited(std::process::ExitStatus),
    /// Still running (only with `block = false`).
    Running,
    /// Not (or no longer) a child of this process: its status went elsewhere.
    Gone,
}

/// `waitpid(pid)`, blocking or not, retrying on EINTR.
pub fn wait_pid(pid: u32, block: bool) -> Waited {
    use std::os::unix::process::ExitStatusExt;
    let mut status: libc::c_int = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: waitpid on one specific pid with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, flags) };
        if rc == pid as libc::pid_t {
            return Waited::Exited(std::process::ExitStatus::from_raw(status));
        }
        if rc == 0 {
            return Waited::Running;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Waited::Gone;
        }
    }
}

/// Give the CPU to another runnable task (`sched_yield`).
pub fn yield_now() {
    // SAFETY: sched_yield takes no arguments and cannot fail on Linux.
    unsafe {
        libc::sched_yield();
    }
}

/// `waitpid(pid)` that blocks until the child exits or a signal interrupts it (`None`; no
/// retry, so an [`Alarm`](super::Alarm) can end the wait).
pub fn wait_pid_interruptible(pid: u32) -> Option<Waited> {
    use std::os::unix::process::ExitStatusExt;
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on one specific pid with a valid status pointer.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    if rc == pid as libc::pid_t {
        return Some(Waited::Exited(std::process::ExitStatus::from_raw(status)));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EINTR) => None,
        _ => Some(Waited::Gone),
    }
}
