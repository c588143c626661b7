//! The process table read from `/proc`, the child-subreaper bit, the main thread's `children`
//! file, and whether this process has any child left (`waitid`).

use std::io;

/// Set once this process is a child subreaper (execnet never unsets it): a mirror of the
/// kernel's per-process bit, so a static like the bit itself.
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
pub struct ProcStat {
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
pub fn parse_stat(text: &str) -> Option<ProcStat> {
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
pub fn process_table() -> io::Result<Vec<ProcStat>> {
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

/// The kernel's `pid_max`, read once (a fact of the machine).
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
pub fn processes_since(first: i32) -> io::Result<Vec<ProcStat>> {
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
pub fn tasks_of_user(uid: u32) -> u64 {
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
pub fn cmdline(pid: i32) -> String {
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

/// The machine's 1-minute load average (`/proc/loadavg`), if readable.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The main thread's `children` file, opened once (when this process becomes a child
/// subreaper, or at first use) and kept for the life of the process: it names the process's
/// main thread, so one per process.
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
pub fn main_thread_children(out: &mut Vec<i32>) -> Option<()> {
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
