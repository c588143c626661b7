//! The node sandbox's PID namespace. Plugins run in it, so a PID they name (`ip link set X netns
//! 1`, `kill 1`) is one of the sandbox's: its PID 1 is execnet's init, in the sandbox's network
//! and mount namespaces, never the machine's init.
//!
//! A thread whose children go to another PID namespace may not start threads (the kernel's
//! `copy_process` refuses `CLONE_THREAD` then), so execnet's threads stay in the machine's PID
//! namespace for children and switch to the sandbox's only around a plugin's spawn
//! ([`spawn_inside`]; `setns` on a PID namespace changes only where the calling thread's next
//! children go).
//!
//! The init reaps whatever is re-parented to it and exits when its lifeline (a pipe whose write
//! end only execnet holds) reaches EOF: execnet is gone, however it ended. The kernel then kills
//! every process left in the namespace, so nothing a plugin started there outlives execnet.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The sandbox's PID namespace and the machine's, while a sandbox exists.
struct Namespaces {
    sandbox: OwnedFd,
    host: OwnedFd,
}

static CURRENT: Mutex<Option<Namespaces>> = Mutex::new(None);

fn lock() -> std::sync::MutexGuard<'static, Option<Namespaces>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner())
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setns(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fd is an open PID namespace descriptor; setns changes only where this thread's
    // next children go.
    check(unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWPID) })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The sandbox's init: its pid (as the machine sees it) and the write end of its lifeline.
#[derive(Debug)]
pub struct Init {
    pub pid: u32,
    _lifeline: OwnedFd,
}

/// Make a new PID namespace whose init is a child of this process, in the calling thread's
/// network and mount namespaces; plugins spawned through [`spawn_inside`] go there afterwards.
/// The calling thread's own children go where they went before.
pub fn start() -> io::Result<Init> {
    let host: OwnedFd = std::fs::File::open("/proc/thread-self/ns/pid_for_children")?.into();
    let (life_r, life_w) = pipe()?;
    // SAFETY: unshare only changes where this thread's next children go.
    check(unsafe { libc::unshare(libc::CLONE_NEWPID) })?;
    let pid = fork_init(&life_r);
    // Whatever happened, this thread's children go back to the machine's namespace.
    let back = setns(&host);
    let pid = pid?;
    back?;
    drop(life_r);
    let sandbox: OwnedFd = std::fs::File::open(format!("/proc/{pid}/ns/pid"))?.into();
    *lock() = Some(Namespaces { sandbox, host });
    Ok(Init {
        pid,
        _lifeline: life_w,
    })
}

/// The sandbox is gone: plugins spawn in the machine's namespace again.
pub fn stop() {
    *lock() = None;
}

/// Whether plugins spawn in a sandbox's PID namespace.
pub fn active() -> bool {
    lock().is_some()
}

/// Run `spawn` with this thread's children going to the sandbox's PID namespace (when there is
/// one), then back.
pub fn spawn_inside<T>(spawn: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let guard = lock();
    let Some(ns) = guard.as_ref() else {
        drop(guard);
        return spawn();
    };
    setns(&ns.sandbox)?;
    let result = spawn();
    let back = setns(&ns.host);
    drop(guard);
    back?;
    result
}

/// Fork the init. The child runs raw system calls only (the parent may have threads).
fn fork_init(lifeline: &OwnedFd) -> io::Result<u32> {
    let lifeline = lifeline.as_raw_fd();
    let name = c"execnet-init";
    // SAFETY: after fork the child calls only async-signal-safe system calls and `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(pid as u32);
    }
    // SAFETY: the child: raw system calls only, no allocation, no locks.
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
        if libc::dup2(lifeline, 0) < 0 {
            libc::_exit(112);
        }
        libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32);
        let mut buf = [0u8; 1];
        loop {
            // Reap every orphan that has ended.
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
            let mut pfd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            if libc::poll(&mut pfd, 1, 100) > 0 {
                let n = libc::read(0, buf.as_mut_ptr().cast(), 1);
                if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                    libc::_exit(0);
                }
            }
        }
    }
}
