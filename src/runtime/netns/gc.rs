//! `execnet gc`: remove what a dead execnet left. Every run leaves a record on the machine
//! (`/run/execnet/runs/RUN_ID.json`: owner pid and start time, the sandbox's namespaces); a run
//! whose owner is gone is collected: every process still in its sandbox (its mount or network
//! namespace, confirmed by the run id in `/run/execnet/run-id` seen through `/proc/PID/root`, so a
//! reused namespace number never hits a stranger) is SIGKILLed, and the record is removed. With
//! the last process the namespaces, their links and mounts go too.
//!
//! Then every process on the machine carrying the mark of a dead execnet
//! (`crate::sys::marker`: `EXECNET_OWNER` in `/proc/PID/environ`) is SIGKILLed: what a plugin
//! started and left when execnet was killed before it could clean up, with or without a
//! sandbox. What gc could not do (a record it may not remove, a process it may not inspect or
//! kill, e.g. run as an ordinary user) is reported, never claimed as done.

use std::path::Path;
use std::time::{Duration, Instant};

use super::record::{RUNS_DIR, RunRecord};
use super::sandbox::RUN_ID_FILE;
use super::sys;

/// What one collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Runs whose owner was dead, collected.
    pub collected: Vec<String>,
    /// Runs still owned by a live execnet, left alone.
    pub live: Vec<String>,
    /// Processes killed.
    pub killed: Vec<u32>,
    /// Temp directories of dead runs removed (the bundled reference plugin's).
    pub removed: Vec<String>,
    /// What could not be done, one sentence each.
    pub not_done: Vec<String>,
}

fn owner_alive(r: &RunRecord) -> bool {
    sys::start_time(r.owner_pid).is_some_and(|t| t == r.owner_start)
}

/// Whether `pid` is in the sandbox of `r`.
fn in_run(pid: u32, r: &RunRecord) -> bool {
    let ns_match = sys::ns_inode(pid, "mnt").is_ok_and(|i| i == r.mntns)
        || sys::ns_inode(pid, "net").is_ok_and(|i| i == r.netns);
    ns_match
        && std::fs::read_to_string(format!("/proc/{pid}/root{RUN_ID_FILE}"))
            .is_ok_and(|id| id.trim() == r.run_id)
}

/// Collect every dead run.
pub fn collect() -> GcReport {
    let mut report = GcReport::default();
    if let Ok(dir) = std::fs::read_dir(RUNS_DIR) {
        for entry in dir.flatten() {
            let path = entry.path();
            let Some(record) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<RunRecord>(&t).ok())
            else {
                continue;
            };
            if owner_alive(&record) {
                report.live.push(record.run_id);
                continue;
            }
            let (killed, left) = kill_run(&record);
            report.killed.extend(killed);
            if !left.is_empty() {
                report.not_done.push(format!(
                    "run {}: {} process(es) could not be killed: {left:?}",
                    record.run_id,
                    left.len()
                ));
            }
            match std::fs::remove_file(&path) {
                Ok(()) if left.is_empty() => report.collected.push(record.run_id),
                Ok(()) => {}
                Err(e) => report.not_done.push(format!(
                    "run {}: cannot remove its record {}: {e}",
                    record.run_id,
                    path.display()
                )),
            }
        }
    }
    collect_marked(&mut report);
    report.removed = crate::certify::embedded::sweep_stale_references(&std::env::temp_dir())
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    report
}

/// Kill every process whose mark names a dead execnet.
fn collect_marked(report: &mut GcReport) {
    let mut uninspected = 0usize;
    let mut unkillable = Vec::new();
    // PID 1 is the machine's init: never a run's.
    for pid in sys::all_pids().into_iter().filter(|&p| p != 1) {
        let environ = match std::fs::read(format!("/proc/{pid}/environ")) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                uninspected += 1;
                continue;
            }
            // Gone meanwhile, or a kernel thread.
            Err(_) => continue,
        };
        let Some((owner, start)) = crate::sys::marker::owner_in(&environ) else {
            continue;
        };
        if sys::start_time(owner).is_some_and(|t| t == start) {
            continue;
        }
        match kill_checked(pid) {
            Ok(()) => report.killed.push(pid),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => unkillable.push(format!("{pid} ({e})")),
        }
    }
    if uninspected > 0 {
        report.not_done.push(format!(
            "{uninspected} process(es) could not be inspected (permission denied): run gc as root \
             to find every process a dead run left"
        ));
    }
    if !unkillable.is_empty() {
        report.not_done.push(format!(
            "{} process(es) left by a dead run could not be killed: {}",
            unkillable.len(),
            unkillable.join(", ")
        ));
    }
}

fn kill_checked(pid: u32) -> std::io::Result<()> {
    crate::sys::marker::kill(pid, libc::SIGKILL)
}

/// Kill every process of the run; returns those killed and those still there at the end.
fn kill_run(r: &RunRecord) -> (Vec<u32>, Vec<u32>) {
    let mut killed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = sys::all_pids()
            .into_iter()
            .filter(|&p| in_run(p, r))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return (killed, left);
        }
        for p in left {
            if kill_checked(p).is_ok() && !killed.contains(&p) {
                killed.push(p);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a run record exists (for tests and `gc --list`).
pub fn record_exists(run_id: &str) -> bool {
    Path::new(RUNS_DIR).join(format!("{run_id}.json")).exists()
}
