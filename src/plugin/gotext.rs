//! Go's texts for signals and errnos (what the kubelet's `os/exec` errors said), and the
//! conventional signal names.

use std::io;

/// Go's description of a signal (`syscall.Signal.String()` on Linux), as in `signal: killed`.
pub fn go_signal_description(signal: i32) -> String {
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
pub fn signal_name(signal: i32) -> String {
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
pub fn go_errno_text(err: &io::Error) -> String {
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
