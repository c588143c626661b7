//! The few raw OS calls the spawn path and the supervision layer need and `std` does not offer:
//! marking inherited descriptors close-on-exec (`close_range`), `pidfd_open`, `poll`,
//! signalling a process group, the child-subreaper bit, the process table read from `/proc`,
//! resource limits, signal masks, and Go's names for signals and errnos. Everything unsafe in
//! the crate lives here.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Mark every descriptor ≥ 3 close-on-exec, so a plugin sees only 0, 1 and 2 even when this
/// process inherited other descriptors from its parent. `std` opens everything with
/// `O_CLOEXEC`; this catches what was inherited or opened by foreign code. It costs one
/// syscall, which is why it runs before every spawn instead of a `pre_exec` hook (a hook
/// forces fork instead of the vfork-based `posix_spawn`).
pub(crate) fn mark_inherited_fds_cloexec() -> io::Result<()> {
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

/// `pidfd_open(pid, 0)`: a descriptor that becomes readable when the process exits.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
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
pub(crate) struct Ready {
    pub first: bool,
    pub second: bool,
}

/// poll(2) on up to two descriptors for input (or hang-up), with an optional timeout.
pub(crate) fn poll2(
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
pub(crate) fn kill_group(pgid: u32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) == 0 }
}

/// Whether any process of group `pgid` still exists.
pub(crate) fn group_exists(pgid: u32) -> bool {
    kill_group(pgid, 0)
}

/// Send `signal` to process `pid`. Returns false when it is gone.
pub(crate) fn kill_pid(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) on one pid; no memory is involved.
    pid > 0 && unsafe { libc::kill(pid, signal) == 0 }
}

/// `waitpid(pid, WNOHANG)`: reap `pid` if it is a zombie child of this process. True when reaped.
pub(crate) fn reap_nohang(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on one specific pid with a valid status pointer.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == pid }
}

/// This process's id.
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// Set once this process is a child subreaper (execnet never unsets it).
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process has no child at all, of any thread, live or zombie: `waitid(P_ALL,
/// WNOHANG | WNOWAIT)` fails with `ECHILD` (nothing is reaped). As a child subreaper that is
/// proof that no orphan of a finished call was re-parented to this process, which is what the
/// main thread's children file would be read for. It proves nothing about the call's process
/// group: a member in another PID namespace is re-parented to that namespace's init, never
/// here (`kill(-pgid, 0)` still sees it). `false` when this process is not a subreaper.
pub fn childless_subreaper() -> bool {
    if !SUBREAPER.load(std::sync::atomic::Ordering::SeqCst) {
        return false;
    }
    // SAFETY: waitid with a valid siginfo buffer; WNOWAIT leaves any status in place.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        ) != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
    }
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants (also those that called `setsid`
/// or `setpgid`) are re-parented to this process instead of init, so they stay in its tree.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if rc == 0 {
        SUBREAPER.store(true, std::sync::atomic::Ordering::SeqCst);
        // Where the orphans will be looked for: opened now, so that the descriptor execnet
        // keeps is there from the start rather than from whichever call first needs it.
        let _ = children_file();
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One row of the process table (`/proc/PID/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// `R`, `S`, `D`, `Z`, `T`…
    pub state: u8,
    /// Start time in clock ticks since boot: with `pid`, a process's identity.
    pub start: u64,
}

impl ProcStat {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// Parse the text of `/proc/PID/stat`. The command name is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let pid = text.split(' ').next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) … starttime(22).
    Some(ProcStat {
        pid,
        state: *f.first()?.as_bytes().first()?,
        ppid: f.get(1)?.parse().ok()?,
        pgid: f.get(2)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// Read `/proc/PID/stat` into `buf` and parse it; `Ok(None)` when the process is gone.
fn read_stat(pid: &str, buf: &mut Vec<u8>) -> io::Result<Option<ProcStat>> {
    use std::io::Read;
    buf.clear();
    let path = format!("/proc/{pid}/stat");
    let read = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(buf));
    match read {
        Ok(_) => Ok(std::str::from_utf8(buf).ok().and_then(parse_stat)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
            ) =>
        {
            Err(e)
        }
        Err(_) => Ok(None), // exited meanwhile, or never existed
    }
}

/// Every process visible in `/proc`. Processes that vanish while being read are skipped; an
/// error means the table itself could not be read (e.g. no descriptor left).
pub(crate) fn process_table() -> io::Result<Vec<ProcStat>> {
    let mut out = Vec::with_capacity(256);
    let mut buf = Vec::with_capacity(512);
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        out.extend(read_stat(pid, &mut buf)?);
    }
    Ok(out)
}

/// The last process id the kernel handed out in this pid namespace.
fn last_pid() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn pid_max() -> i32 {
    static MAX: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(4 * 1024 * 1024)
    })
}

/// Above this many candidate ids, reading the whole table is cheaper.
const RANGE_LIMIT: i32 = 2048;

/// The processes created at or after process `first` was (every descendant of `first` is one):
/// pids are handed out in increasing order, wrapping at `pid_max`, so this reads only the ids
/// from `first` to the last one handed out, which after a short call are a handful. Falls back
/// to the whole table when the range is large or `ns_last_pid` is unreadable.
pub(crate) fn processes_since(first: i32) -> io::Result<Vec<ProcStat>> {
    let Some(last) = last_pid() else {
        return process_table();
    };
    let max = pid_max();
    let count = if last >= first {
        last - first + 1
    } else {
        max - first + last + 1
    };
    if !(0..=RANGE_LIMIT).contains(&count) || first <= 0 || first >= max {
        return process_table();
    }
    let ids: Box<dyn Iterator<Item = i32>> = if last >= first {
        Box::new(first..=last)
    } else {
        Box::new((first..max).chain(1..=last))
    };
    let mut out = Vec::new();
    let mut buf = Vec::with_capacity(512);
    for pid in ids {
        // `/proc/N` also answers for N a thread id (hidden from the listing): a thread of an
        // older process (a daemon's worker started during the call) is no process of its own,
        // and killing "it" would kill its whole process.
        if let Some(p) = read_stat(&pid.to_string(), &mut buf)?
            && is_thread_group_leader(pid)
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// Whether `pid` is a process (its thread group's leader), not another thread's id.
fn is_thread_group_leader(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Tgid:"))
            .and_then(|v| v.trim().parse::<i32>().ok())
            == Some(pid)
    })
}

/// Processes and threads owned by `uid` (what `RLIMIT_NPROC` counts), from `/proc`.
pub(crate) fn tasks_of_user(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        if entry.metadata().is_ok_and(|m| m.uid() == uid) {
            n += std::fs::read_dir(entry.path().join("task")).map_or(1, |t| t.count() as u64);
        }
    }
    n
}

/// A process's command line as one string (arguments joined by spaces), or `[name]` when it has
/// none (a zombie or kernel thread), or `?` when it is gone.
pub(crate) fn cmdline(pid: i32) -> String {
    if let Ok(bytes) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        let args: Vec<String> = bytes
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.is_empty() {
            return args.join(" ");
        }
    }
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(name) => format!("[{}]", name.trim_end()),
        Err(_) => "?".to_string(),
    }
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (as Go's runtime and nextest do), so that
/// execnet's own descriptors never run out before the plugin's. Returns (soft, hard) after.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(io::Error::last_os_error());
            }
            lim = raised;
        }
        Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
    }
}

/// The soft limit of `resource` (`libc::RLIMIT_*`), for messages; `None` when unlimited.
pub(crate) fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    // SAFETY: getrlimit with a valid struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(resource, &mut lim) == 0 && lim.rlim_cur != libc::RLIM_INFINITY)
            .then_some(lim.rlim_cur as u64)
    }
}

/// A set of signals, for [`block_signals`] and [`wait_signal`].
fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block `signals` in the calling thread (and so in every thread it creates afterwards). `std`
/// resets the mask of spawned children, so plugins still receive them.
pub(crate) fn block_signals(signals: &[libc::c_int]) -> io::Result<()> {
    let set = sigset(signals);
    // SAFETY: a valid set; the old mask is not wanted.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Wait for one of `signals` (which must be blocked) and return it.
pub(crate) fn wait_signal(signals: &[libc::c_int]) -> libc::c_int {
    let set = sigset(signals);
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: a valid set and out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            return sig;
        }
    }
}

/// End the process now with `code`, running no destructors and flushing nothing.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Peak resident set size of this process, in KiB.
pub(crate) fn peak_rss_kib() -> u64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0 {
            usage.ru_maxrss.max(0) as u64
        } else {
            0
        }
    }
}

/// Go's description of a signal (`syscall.Signal.String()` on Linux), as in `signal: killed`.
pub(crate) fn go_signal_description(signal: i32) -> String {
    let text = match signal {
        1 => "hangup",
        2 => "interrupt",
        3 => "quit",
        4 => "illegal instruction",
        5 => "trace/breakpoint trap",
        6 => "aborted",
        7 => "bus error",
        8 => "floating point exception",
        9 => "killed",
        10 => "user defined signal 1",
        11 => "segmentation fault",
        12 => "user defined signal 2",
        13 => "broken pipe",
        14 => "alarm clock",
        15 => "terminated",
        16 => "stack fault",
        17 => "child exited",
        18 => "continued",
        19 => "stopped (signal)",
        20 => "stopped",
        21 => "stopped (tty input)",
        22 => "stopped (tty output)",
        23 => "urgent I/O condition",
        24 => "CPU time limit exceeded",
        25 => "file size limit exceeded",
        26 => "virtual timer expired",
        27 => "profiling timer expired",
        28 => "window changed",
        29 => "I/O possible",
        30 => "power failure",
        31 => "bad system call",
        n => return format!("signal {n}"),
    };
    text.to_string()
}

/// The conventional name of a signal, `SIGKILL`.
pub(crate) fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        23 => "SIGURG",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        28 => "SIGWINCH",
        29 => "SIGIO",
        30 => "SIGPWR",
        31 => "SIGSYS",
        n => return format!("SIG{n}"),
    };
    name.to_string()
}

/// Go's text for an errno (`syscall.Errno.Error()`), as in `fork/exec PATH: permission denied`.
pub(crate) fn go_errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::EACCES) => "permission denied".into(),
        Some(libc::ENOEXEC) => "exec format error".into(),
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::ENOTDIR) => "not a directory".into(),
        Some(libc::EISDIR) => "is a directory".into(),
        Some(libc::ELOOP) => "too many levels of symbolic links".into(),
        Some(libc::ENAMETOOLONG) => "file name too long".into(),
        Some(libc::ETXTBSY) => "text file busy".into(),
        Some(libc::E2BIG) => "argument list too long".into(),
        Some(libc::ENOMEM) => "cannot allocate memory".into(),
        Some(libc::EAGAIN) => "resource temporarily unavailable".into(),
        Some(libc::EMFILE) => "too many open files".into(),
        Some(libc::ENFILE) => "too many open files in system".into(),
        _ => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text.to_string(),
            }
        }
    }
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

/// The benchmark floor: a bare `posix_spawn` of `argv` with stdin `/dev/null` and stdout and
/// stderr on one pipe, read to EOF, then `waitpid`. No process group, no pidfd, no timeout.
/// Returns the wait status and the number of output bytes.
pub(crate) fn posix_spawn_floor(argv: &[std::ffi::CString]) -> io::Result<(i32, usize)> {
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

/// The main thread's `children` file, opened once (when this process becomes a child
/// subreaper, or at first use) and kept for the life of the process.
fn children_file() -> Option<&'static std::fs::File> {
    static FILE: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let pid = std::process::id();
        std::fs::File::open(format!("/proc/{pid}/task/{pid}/children")).ok()
    })
    .as_ref()
}

/// The children of this process's main thread (`/proc/self/task/<pid>/children`), where the
/// kernel re-parents the orphans of a child subreaper (`find_new_reaper` picks the first live
/// thread of the reaper's group). The file is opened once and re-read with `pread` (under a
/// microsecond). `None` when the kernel has no such file (`CONFIG_PROC_CHILDREN`) or it cannot
/// be read: callers must then assume anything.
pub(crate) fn main_thread_children(out: &mut Vec<i32>) -> Option<()> {
    use std::os::unix::fs::FileExt;
    let file = children_file()?;
    let mut buf = [0u8; 1024];
    let mut len = 0;
    loop {
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if len == buf.len() {
                    // Many children: not the quick case this is for.
                    return None;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    out.clear();
    for word in buf[..len].split(|b| b.is_ascii_whitespace()) {
        if word.is_empty() {
            continue;
        }
        out.push(std::str::from_utf8(word).ok()?.parse().ok()?);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blocking `read` on a pipe nobody writes to, bounded by this thread's alarm:
    /// `Err(EINTR)` when the alarm ended it.
    fn read_blocking(fd: libc::c_int) -> Result<usize, i32> {
        let mut buf = [0u8; 16];
        // SAFETY: read into a live buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            Ok(n as usize)
        } else {
            Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two new descriptors into `fds`, owned below.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are fresh descriptors nobody else owns.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    fn the_alarm_ends_a_blocking_read_and_repeats_until_disarmed() {
        let (r, _w) = pipe();
        Alarm::with(|alarm| {
            let alarm = alarm.expect("an alarm");
            let start = std::time::Instant::now();
            alarm.arm(Duration::from_millis(20));
            assert_eq!(read_blocking(r.as_raw_fd()), Err(libc::EINTR));
            assert!(alarm.fired());
            assert!(
                start.elapsed() >= Duration::from_millis(20),
                "{:?}",
                start.elapsed()
            );
            // Still armed: the next blocking read is ended too (the signal repeats).
            assert_eq!(read_blocking(r.as_raw_fd()), Err(libc::EINTR));
            alarm.disarm();
            assert!(alarm.fired());
            alarm.arm(Duration::from_secs(60));
            assert!(!alarm.fired(), "arming clears the flag");
            alarm.disarm();
        });
    }

    /// However a signal races the end of a wait, once `disarm` has returned nothing interrupts
    /// the thread: a blocking read then waits for its data. Four threads, each alarm firing
    /// around the moment it is disarmed.
    #[test]
    fn nothing_interrupts_a_thread_after_disarm() {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut interrupted = 0;
                    for i in 0..150u64 {
                        let (r, w) = pipe();
                        Alarm::with(|alarm| {
                            let alarm = alarm.expect("an alarm");
                            let period = Duration::from_micros(200 + (i * 37 + t * 101) % 900);
                            alarm.arm(period);
                            std::thread::sleep(period + Duration::from_micros((i * 13) % 300));
                            alarm.disarm();
                            interrupted += usize::from(alarm.fired());
                        });
                        let writer = std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(3));
                            // SAFETY: write one byte from a live buffer to our pipe.
                            unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
                        });
                        assert_eq!(read_blocking(r.as_raw_fd()), Ok(1), "thread {t} round {i}");
                        writer.join().unwrap();
                    }
                    interrupted
                })
            })
            .collect();
        let fired: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        // The alarms did fire around the disarm (the race was run), most of the time.
        assert!(fired > 100, "only {fired} of 600 alarms fired");
    }

    /// A thread started after a process was (here: a thread of this test process) is not a
    /// process created since it: the supervisor once took an OVS daemon's worker thread for a
    /// call's leftover and killed the daemon.
    #[test]
    fn processes_since_lists_processes_not_threads() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let first = child.id() as i32;
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
            tx.send(tid).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let since = processes_since(first).unwrap();
        stop_tx.send(()).unwrap();
        thread.join().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(tid > first, "the thread's id {tid} comes after {first}");
        assert!(since.iter().any(|p| p.pid == first), "{since:?}");
        assert!(!since.iter().any(|p| p.pid == tid), "thread {tid} listed");
    }
}

/// The signal of the [`Alarm`]s: `SIGURG`, which nothing in execnet otherwise sees (it comes
/// only from sockets given an owner with `F_SETOWN`, and its default action is to ignore it; Go's
/// runtime picked it for the same reason). Not a real-time signal: `tgkill` of one is refused
/// (`EAGAIN`) once the user's queued signals reach `RLIMIT_SIGPENDING`, which would leave a
/// blocked call with no timeout; a standard signal is always delivered.
fn alarm_signal() -> libc::c_int {
    libc::SIGURG
}

thread_local! {
    /// Set by the alarm's handler; cleared when the alarm is armed.
    static ALARM_FIRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This thread's alarm, made on first use (`None` if the system refused one).
    static ALARM: Option<Alarm> = Alarm::new();
}

extern "C" fn on_alarm(_: libc::c_int) {
    // Async-signal-safe: a store to a `const`-initialised thread-local cell.
    ALARM_FIRED.with(|f| f.set(true));
}

/// A thread's alarm word: [`IDLE`], [`SENDING`] (the watchdog is signalling the thread), a
/// deadline, or [`SIGNALED`] with the time of the last signal. Times are nanoseconds since
/// [`epoch`], plus [`FIRST_TIME`] so that they never collide with the two states.
const IDLE: u64 = 0;
const SENDING: u64 = 1;
const FIRST_TIME: u64 = 2;
const SIGNALED: u64 = 1 << 63;

fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

fn alarm_now() -> u64 {
    (epoch().elapsed().as_nanos() as u64).saturating_add(FIRST_TIME) & !SIGNALED
}

/// One thread's alarm as the watchdog sees it.
struct AlarmSlot {
    tid: libc::pid_t,
    word: std::sync::atomic::AtomicU64,
    /// Nanoseconds between signals while the alarm stays armed.
    period: std::sync::atomic::AtomicU64,
}

/// The thread that fires every thread's alarm: it sleeps until the earliest deadline, signals
/// the threads whose deadline passed (again every period until they disarm), and sleeps
/// without a timeout while no alarm is armed. Arming and disarming are atomic stores, no
/// system call: a call that ends before its deadline costs the watchdog nothing either.
struct Watchdog {
    slots: std::sync::Mutex<Vec<std::sync::Arc<AlarmSlot>>>,
    /// When the watchdog will look next (`u64::MAX`: not until woken).
    planned: std::sync::atomic::AtomicU64,
    /// Bumped (with a notify) to wake the watchdog early.
    wake: std::sync::Mutex<u64>,
    cv: std::sync::Condvar,
}

fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: std::sync::OnceLock<Option<&'static Watchdog>> = std::sync::OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        let sig = alarm_signal();
        // SAFETY: a zeroed sigaction with a valid handler and an empty mask; no SA_RESTART on
        // purpose (see `Alarm`).
        let installed = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut()) == 0
        };
        if !installed {
            return None;
        }
        let w: &'static Watchdog = Box::leak(Box::new(Watchdog {
            slots: std::sync::Mutex::new(Vec::new()),
            planned: std::sync::atomic::AtomicU64::new(u64::MAX),
            wake: std::sync::Mutex::new(0),
            cv: std::sync::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("execnet-alarm".into())
            .spawn(move || w.run())
            .ok()
            .map(|_| w)
    })
}

impl Watchdog {
    fn run(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        loop {
            let generation = *self.wake.lock().unwrap_or_else(|e| e.into_inner());
            let next = self.fire_due(pid);
            // Publish the plan, then look again: an alarm armed meanwhile either sees the plan
            // (and wakes us if it is due earlier) or is seen here (both sides are SeqCst).
            self.planned.store(next, SeqCst);
            if self.fire_due(pid) < next {
                continue;
            }
            let guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if *guard != generation {
                continue;
            }
            if next == u64::MAX {
                drop(self.cv.wait(guard));
            } else {
                let wait = std::time::Duration::from_nanos(next.saturating_sub(alarm_now()));
                drop(self.cv.wait_timeout(guard, wait));
            }
        }
    }

    /// Signal every thread whose alarm is due; the next moment one is (`u64::MAX`: none armed).
    fn fire_due(&self, pid: libc::pid_t) -> u64 {
        use std::sync::atomic::Ordering::SeqCst;
        let now = alarm_now();
        let mut next = u64::MAX;
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for slot in slots.iter() {
            let word = slot.word.load(SeqCst);
            if word == IDLE || word == SENDING {
                continue;
            }
            let period = slot.period.load(SeqCst);
            let due = if word & SIGNALED != 0 {
                (word & !SIGNALED).saturating_add(period)
            } else {
                word
            };
            if due > now {
                next = next.min(due);
                continue;
            }
            if slot
                .word
                .compare_exchange(word, SENDING, SeqCst, SeqCst)
                .is_ok()
            {
                // SAFETY: tgkill to a thread of this process that is registered (so alive: a
                // thread unregisters under this lock before it exits).
                let sent =
                    unsafe { libc::syscall(libc::SYS_tgkill, pid, slot.tid, alarm_signal()) } == 0;
                // Not sent (a standard signal is never refused for a full queue; be safe): the
                // deadline stays due and is tried again on the next pass.
                slot.word
                    .store(if sent { SIGNALED | now } else { word }, SeqCst);
                next = next.min(if sent {
                    now.saturating_add(period)
                } else {
                    now
                });
            }
        }
        next
    }

    fn wake(&self) {
        let mut generation = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *generation = generation.wrapping_add(1);
        self.cv.notify_one();
    }
}

/// A per-thread alarm that interrupts the thread's blocking `read`/`waitpid` (its handler is
/// installed without `SA_RESTART`, so they fail with `EINTR`). It lets a call be awaited with
/// the same blocking `read` and `waitpid` as a bare spawn, instead of `poll` with a timeout,
/// while still bounding the wait. One watchdog thread fires the alarms of all threads; arming
/// and disarming are atomic stores. The signal repeats every period while the alarm is armed,
/// so one that lands between checking [`Alarm::fired`] and blocking only delays the wake by a
/// period; and [`Alarm::disarm`] returns only once no signal can be on its way.
pub(crate) struct Alarm {
    watchdog: &'static Watchdog,
    slot: std::sync::Arc<AlarmSlot>,
}

impl Alarm {
    fn new() -> Option<Alarm> {
        let watchdog = watchdog()?;
        // SAFETY: the signal is unblocked in this thread only; gettid has no preconditions.
        let tid = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, alarm_signal());
            if libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) != 0 {
                return None;
            }
            libc::gettid()
        };
        let slot = std::sync::Arc::new(AlarmSlot {
            tid,
            word: std::sync::atomic::AtomicU64::new(IDLE),
            period: std::sync::atomic::AtomicU64::new(0),
        });
        watchdog
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        Some(Alarm { watchdog, slot })
    }

    /// Run `f` with this thread's alarm (`None` when it has none).
    pub(crate) fn with<R>(f: impl FnOnce(Option<&Alarm>) -> R) -> R {
        ALARM.with(|a| f(a.as_ref()))
    }

    /// Fire every `period` from now on; clears [`Alarm::fired`].
    pub(crate) fn arm(&self, period: std::time::Duration) {
        use std::sync::atomic::Ordering::SeqCst;
        ALARM_FIRED.with(|f| f.set(false));
        let period = (period.as_nanos() as u64).max(1);
        let deadline = alarm_now().saturating_add(period) & !SIGNALED;
        self.slot.period.store(period, SeqCst);
        self.slot.word.store(deadline, SeqCst);
        if deadline < self.watchdog.planned.load(SeqCst) {
            self.watchdog.wake();
        }
    }

    /// Stop firing. Waits out a signal being sent, and takes one already sent (a system call
    /// returns through the handler), so no later call on this thread is interrupted by it.
    pub(crate) fn disarm(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            let word = self.slot.word.load(SeqCst);
            if word == SENDING {
                std::thread::yield_now();
                continue;
            }
            if self
                .slot
                .word
                .compare_exchange(word, IDLE, SeqCst, SeqCst)
                .is_ok()
            {
                if word & SIGNALED != 0 {
                    // SAFETY: getppid has no preconditions; its return to user space runs the
                    // handler of a signal pending for this thread.
                    unsafe {
                        libc::getppid();
                    }
                }
                return;
            }
        }
    }

    /// Whether the alarm fired since it was armed.
    pub(crate) fn fired(&self) -> bool {
        ALARM_FIRED.with(|f| f.get())
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.disarm();
        self.watchdog
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| !std::sync::Arc::ptr_eq(s, &self.slot));
    }
}

/// `waitpid(pid)` that blocks until the child exits or a signal interrupts it (`None`; no
/// retry, so an [`Alarm`] can end the wait).
pub(crate) fn wait_pid_interruptible(pid: u32) -> Option<Waited> {
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
