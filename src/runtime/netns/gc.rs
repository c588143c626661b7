//! `execnet gc`: remove what a dead execnet left. Every run leaves a record on the machine
//! (`/run/execnet/runs/RUN_ID.json`: owner pid and start time, the sandbox's namespaces); a run
//! whose owner is gone is collected: every process still in its sandbox (its mount or network
//! namespace, confirmed by the run id in `/run/execnet/run-id` seen through `/proc/PID/root`, so a
//! reused namespace number never hits a stranger) is SIGKILLed, and the record is removed. With
//! the last process the namespaces, their links and mounts go too.

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
    let Ok(dir) = std::fs::read_dir(RUNS_DIR) else {
        return report;
    };
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
        report.killed.extend(kill_run(&record));
        let _ = std::fs::remove_file(&path);
        report.collected.push(record.run_id);
    }
    report
}

fn kill_run(r: &RunRecord) -> Vec<u32> {
    let mut killed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = sys::all_pids()
            .into_iter()
            .filter(|&p| in_run(p, r))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return killed;
        }
        for p in left {
            sys::kill(p, libc::SIGKILL);
            if !killed.contains(&p) {
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
