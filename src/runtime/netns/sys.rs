//! The OS as the netns runtime sees it: capabilities, namespace identities and members, the
//! process table, pause processes. The system calls themselves are in `crate::sys` (`ns`,
//! `pause`, `process`); this module names them for the runtime.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

use crate::sys::Waited;

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

pub use crate::sys::{mount, setns, unshare};

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
    if let Ok(pid) = i32::try_from(pid) {
        crate::sys::kill_pid(pid, signal);
    }
}

/// Reap a child of ours without blocking; true if it was reaped (or is not our child).
pub fn try_reap(pid: u32) -> bool {
    crate::sys::wait_pid(pid, false) != Waited::Running
}

/// Reap a child of ours, waiting for it.
pub fn reap(pid: u32) {
    crate::sys::wait_pid(pid, true);
}

/// A pipe with both ends close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = io::pipe()?;
    Ok((r.into(), w.into()))
}

pub use crate::sys::fork_pause;

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
