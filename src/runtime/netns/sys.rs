//! The raw OS calls of the netns runtime: capabilities, `unshare`, `mount`, `setns`, namespace
//! identities, the process table, and the fork of a pause process. Everything unsafe in the
//! runtime lives here.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The capabilities the netns runtime needs, by name, that the effective set lacks.
pub fn missing_capabilities() -> Vec<&'static str> {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    let eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    let mut missing = Vec::new();
    if eff & (1 << CAP_NET_ADMIN) == 0 {
        missing.push("CAP_NET_ADMIN");
    }
    if eff & (1 << CAP_SYS_ADMIN) == 0 {
        missing.push("CAP_SYS_ADMIN");
    }
    missing
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// `unshare(2)` for the calling thread (namespaces are per thread; threads spawned afterwards
/// and child processes inherit them).
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare only changes the calling thread's namespace membership.
    check(unsafe { libc::unshare(flags) })
}

/// `mount(2)`.
pub fn mount(
    source: &str,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = cstr(source)?;
    let target = cstr(&target.to_string_lossy())?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    // SAFETY: every pointer is a valid NUL-terminated string or null.
    check(unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr().cast::<libc::c_void>()),
        )
    })
}

/// `setns(2)` for the calling thread.
pub fn setns(fd: &OwnedFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is an open namespace descriptor.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) })
}

/// The identity (nsfs inode) of a namespace of a process: `kind` is `net` or `mnt`.
pub fn ns_inode(pid: u32, kind: &str) -> io::Result<u64> {
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))?.ino())
}

/// The identity of a namespace of the calling thread.
pub fn own_ns_inode(kind: &str) -> io::Result<u64> {
    Ok(std::fs::metadata(format!("/proc/thread-self/ns/{kind}"))?.ino())
}

/// Every process id in `/proc` but this process's.
pub fn all_pids() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|&p| p != me)
        .collect()
}

/// The processes (other than this one) whose namespace `kind` is `inode`.
pub fn pids_in_ns(kind: &str, inode: u64) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&p| ns_inode(p, kind).is_ok_and(|i| i == inode))
        .collect()
}

/// The start time of a process in clock ticks since boot (field 22 of `/proc/PID/stat`), which
/// with the pid identifies it across pid reuse.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Send `signal` to one process; a process already gone is not an error.
pub fn kill(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Reap a child of ours without blocking; true if it was reaped (or is not our child).
pub fn try_reap(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on a pid writes only `status`.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    rc != 0
}

/// Reap a child of ours, waiting for it.
pub fn reap(pid: u32) {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on a pid writes only `status`.
        let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if rc >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// A pipe with both ends close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Fork a pause process: a child of this process that enters a new network namespace, keeps
/// only the lifeline's read end (as its stdin), tells the parent it is ready, and then sleeps
/// until the lifeline reaches EOF (every copy of the write end closed: this process is gone), or
/// until it is killed. It runs no Rust code after the fork but raw system calls, so forking a
/// multi-threaded process is safe here; it never execs, so it must close every descriptor it
/// inherited (a pipe of a concurrent plugin call would otherwise never see EOF).
pub fn fork_pause(lifeline_read: &OwnedFd, new_netns: bool) -> io::Result<u32> {
    let (ready_r, ready_w) = pipe()?;
    let lifeline = lifeline_read.as_raw_fd();
    let ready = ready_w.as_raw_fd();
    let name = c"pause";
    let devnull = c"/dev/null";
    // SAFETY: after fork the child calls only async-signal-safe system calls and `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: the child: raw system calls only.
        unsafe {
            let empty: libc::sigset_t = std::mem::zeroed();
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &empty as *const libc::sigset_t,
                std::ptr::null_mut::<libc::sigset_t>(),
                8usize,
            );
            libc::setsid();
            libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0);
            if new_netns && libc::unshare(libc::CLONE_NEWNET) != 0 {
                libc::_exit(111);
            }
            if libc::dup2(lifeline, 0) < 0 || libc::dup2(ready, 1) < 0 {
                libc::_exit(112);
            }
            libc::syscall(libc::SYS_close_range, 2u32, u32::MAX, 0u32);
            let null = libc::open(devnull.as_ptr(), libc::O_RDWR);
            if null >= 0 && null != 2 {
                libc::dup2(null, 2);
                libc::close(null);
            }
            let byte = b'r';
            libc::write(1, (&byte as *const u8).cast(), 1);
            libc::dup2(2, 1);
            let mut buf = [0u8; 1];
            loop {
                let n = libc::read(0, buf.as_mut_ptr().cast(), 1);
                if n == 0 {
                    libc::_exit(0);
                }
                if n < 0 && *libc::__errno_location() != libc::EINTR {
                    libc::_exit(0);
                }
            }
        }
    }
    drop(ready_w);
    let mut byte = [0u8; 1];
    let mut file = std::fs::File::from(ready_r);
    let n = io::Read::read(&mut file, &mut byte)?;
    if n != 1 {
        reap(pid as u32);
        return Err(io::Error::other(
            "the pause process died before it was ready",
        ));
    }
    Ok(pid as u32)
}

/// Open a namespace of a process (`/proc/PID/ns/KIND`).
pub fn open_ns(pid: u32, kind: &str) -> io::Result<OwnedFd> {
    Ok(std::fs::File::open(format!("/proc/{pid}/ns/{kind}"))?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self_is_stable() {
        let me = std::process::id();
        let a = start_time(me).expect("own stat");
        assert_eq!(Some(a), start_time(me));
        assert!(start_time(u32::MAX).is_none());
    }
}
