//! Starting a plugin: `posix_spawn` with exactly what a call needs (the manager's path), the
//! benchmark floor's bare `posix_spawn`, and the close-on-exec sweep that runs before a spawn.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// Mark every descriptor ≥ 3 close-on-exec, so a plugin sees only 0, 1 and 2 even when this
/// process inherited other descriptors from its parent. `std` opens everything with
/// `O_CLOEXEC`; this catches what was inherited or opened by foreign code. It costs one
/// syscall, which is why it runs before every spawn instead of a `pre_exec` hook (a hook
/// forces fork instead of the vfork-based `posix_spawn`).
pub fn mark_inherited_fds_cloexec() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.11: walk /proc/self/fd.
    let dir = std::fs::read_dir("/proc/self/fd")?;
    for entry in dir.flatten() {
        if let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
            && fd >= 3
        {
            // SAFETY: F_GETFD/F_SETFD on a number that may or may not be open is harmless.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
                }
            }
        }
    }
    Ok(())
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

/// The benchmark floor: a bare `posix_spawn` of `argv` with stdin `/dev/null` and stdout and
/// stderr on one pipe, read to EOF, then `waitpid`. No process group, no pidfd, no timeout.
/// Returns the wait status and the number of output bytes.
pub fn posix_spawn_floor(argv: &[std::ffi::CString]) -> io::Result<(i32, usize)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: every pointer handed to libc below points at live, correctly typed memory; the
    // file actions are initialised before use and destroyed after; argv is NUL-terminated.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        let (r, w) = (fds[0], fds[1]);
        let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut fa);
        libc::posix_spawn_file_actions_addopen(
            &mut fa,
            0,
            c"/dev/null".as_ptr(),
            libc::O_RDONLY,
            0,
        );
        libc::posix_spawn_file_actions_adddup2(&mut fa, w, 1);
        libc::posix_spawn_file_actions_adddup2(&mut fa, w, 2);
        let mut ptrs: Vec<*mut libc::c_char> = argv
            .iter()
            .map(|a| a.as_ptr() as *mut libc::c_char)
            .collect();
        ptrs.push(std::ptr::null_mut());
        let mut pid: libc::pid_t = 0;
        let rc = libc::posix_spawn(
            &mut pid,
            argv[0].as_ptr(),
            &fa,
            std::ptr::null(),
            ptrs.as_ptr(),
            environ as *const *mut libc::c_char,
        );
        libc::posix_spawn_file_actions_destroy(&mut fa);
        libc::close(w);
        if rc != 0 {
            libc::close(r);
            return Err(io::Error::from_raw_os_error(rc));
        }
        // Not zeroed: the floor pays for nothing the kernel does not do.
        let mut buf = std::mem::MaybeUninit::<[u8; 64 * 1024]>::uninit();
        let mut total = 0usize;
        loop {
            let n = libc::read(r, buf.as_mut_ptr().cast(), 64 * 1024);
            if n > 0 {
                total += n as usize;
            } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        libc::close(r);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 {
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        Ok((status, total))
    }
}

/// Start a plugin the way `std::process::Command` would (posix_spawn: `CLONE_VFORK`, no
/// `fork`), with exactly what the call needs and nothing `std` adds per spawn: `argv[0]` is the
/// executable path, stdin is `/dev/null` (opened in the child, as the floor does), stdout and
/// stderr are both `out` (one pipe), the child leads a new session (so a new process group too,
/// and no controlling terminal: the kubelet was a daemon, a plugin that opens `/dev/tty` fails
/// the same on a terminal and off one), its signal mask is empty and SIGPIPE is back to the
/// default (`std` ignores SIGPIPE in this process; an ignored signal would survive `exec`).
/// Every other descriptor is close-on-exec (see [`mark_inherited_fds_cloexec`]). The
/// environment is exactly `env` (`NAME=value` strings: the call policy's, never this
/// process's). Returns the child's pid; an error is the errno of the
/// spawn or of the `exec` (`ENOENT`, `EACCES`, `ENOEXEC`…); `EINVAL` for a path or an
/// argument with a NUL byte, which cannot reach `exec` (Go's `os/exec` refused it so too).
///
/// The NUL-terminated strings are packed into one buffer kept per thread and the pointer array
/// is on the stack: a call allocates nothing here.
pub fn spawn_plugin(
    program: &[u8],
    args: &[&str],
    env: &[std::ffi::CString],
    out: BorrowedFd<'_>,
) -> io::Result<u32> {
    // argv: the program path, then the arguments.
    let argv = || std::iter::once(program).chain(args.iter().map(|a| a.as_bytes()));
    if argv().any(|a| a.contains(&0)) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let n = args.len() + 1;
    ARGV_BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        for a in argv() {
            bytes.extend_from_slice(a);
            bytes.push(0);
        }
        // Pointers into `bytes`, taken after it stopped growing.
        const ON_STACK: usize = 16;
        let mut stack = [std::ptr::null_mut::<libc::c_char>(); ON_STACK];
        let mut heap = Vec::new();
        let ptrs: &mut [*mut libc::c_char] = if n < ON_STACK {
            &mut stack[..=n]
        } else {
            heap.resize(n + 1, std::ptr::null_mut());
            &mut heap
        };
        let base = bytes.as_mut_ptr();
        let mut at = 0;
        for (p, a) in ptrs.iter_mut().zip(argv()) {
            // SAFETY: `at` is the start of argument `a` in `bytes` (each is followed by its NUL).
            *p = unsafe { base.add(at) }.cast();
            at += a.len() + 1;
        }
        const ENV_ON_STACK: usize = 32;
        let mut env_stack = [std::ptr::null_mut::<libc::c_char>(); ENV_ON_STACK];
        let mut env_heap = Vec::new();
        let envp: &mut [*mut libc::c_char] = if env.len() < ENV_ON_STACK {
            &mut env_stack[..=env.len()]
        } else {
            env_heap.resize(env.len() + 1, std::ptr::null_mut());
            &mut env_heap
        };
        for (p, v) in envp.iter_mut().zip(env) {
            *p = v.as_ptr().cast_mut();
        }
        spawn_packed(ptrs, envp, out.as_raw_fd())
    })
}

thread_local! {
    /// [`spawn_plugin`]'s argv strings, reused from call to call.
    static ARGV_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `posix_spawn` of the NULL-terminated `ptrs` (argv; `ptrs[0]` is also the path) with the
/// NULL-terminated environment `envp`, in a new session.
fn spawn_packed(
    ptrs: &[*mut libc::c_char],
    envp: &[*mut libc::c_char],
    out: RawFd,
) -> io::Result<u32> {
    let program = ptrs[0];
    // SAFETY: the file actions and attributes are initialised before use and destroyed on every
    // path; every pointer handed to libc points at live memory of the right type; argv and the
    // environment are NUL-terminated arrays of NUL-terminated strings.
    unsafe {
        let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let rc = libc::posix_spawn_file_actions_init(&mut fa);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let rc = libc::posix_spawnattr_init(&mut attr);
        if rc != 0 {
            libc::posix_spawn_file_actions_destroy(&mut fa);
            return Err(io::Error::from_raw_os_error(rc));
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut default: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut default);
        libc::sigaddset(&mut default, libc::SIGPIPE);
        // SETSID (glibc 2.26+): `setsid()` in the child, which also makes it the leader of a
        // new process group (SETPGROUP with it would fail: a session leader cannot setpgid).
        let flags = i32::from(libc::POSIX_SPAWN_SETSID)
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        let mut rc = 0;
        for step in [
            libc::posix_spawn_file_actions_addopen(
                &mut fa,
                0,
                c"/dev/null".as_ptr(),
                libc::O_RDONLY,
                0,
            ),
            libc::posix_spawn_file_actions_adddup2(&mut fa, out, 1),
            libc::posix_spawn_file_actions_adddup2(&mut fa, out, 2),
            libc::posix_spawnattr_setsigmask(&mut attr, &empty),
            libc::posix_spawnattr_setsigdefault(&mut attr, &default),
            libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short),
        ] {
            if rc == 0 {
                rc = step;
            }
        }
        let mut pid: libc::pid_t = 0;
        if rc == 0 {
            rc = libc::posix_spawn(&mut pid, program, &fa, &attr, ptrs.as_ptr(), envp.as_ptr());
        }
        libc::posix_spawnattr_destroy(&mut attr);
        libc::posix_spawn_file_actions_destroy(&mut fa);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(pid as u32)
    }
}

/// Have the process `cmd` starts be SIGKILLed when the thread that started it ends
/// (`PR_SET_PDEATHSIG`), so a daemon execnet starts never outlives it. This adds a `pre_exec`
/// hook, so `std` forks instead of using `posix_spawn`: only for daemons, never for plugin calls.
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the hook runs in the child between fork and exec and calls only prctl, which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
}
