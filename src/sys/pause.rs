//! The pause process of a pod: forked (not exec'd) by the netns runtime, it holds a network
//! namespace open until its lifeline closes.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::process::{Waited, wait_pid};

/// Fork a pause process: a child of this process that enters a new network namespace, keeps
/// only the lifeline's read end (as its stdin), tells the parent it is ready, and then sleeps
/// until the lifeline reaches EOF (every copy of the write end closed: this process is gone), or
/// until it is killed. It runs no Rust code after the fork but raw system calls, so forking a
/// multi-threaded process is safe here; it never execs, so it must close every descriptor it
/// inherited (a pipe of a concurrent plugin call would otherwise never see EOF).
pub fn fork_pause(lifeline_read: &OwnedFd, new_netns: bool) -> io::Result<u32> {
    let (ready_r, ready_w) = io::pipe()?;
    let (ready_r, ready_w): (OwnedFd, OwnedFd) = (ready_r.into(), ready_w.into());
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
        let _: Waited = wait_pid(pid as u32, true);
        return Err(io::Error::other(
            "the pause process died before it was ready",
        ));
    }
    Ok(pid as u32)
}
