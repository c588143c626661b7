//! The record of a run on the machine (`/run/execnet/runs/RUN_ID.json`, outside every sandbox):
//! what the sandbox's namespaces and owner are, so that the run can be removed when a signal ends
//! it (`netns::signals`) or, when execnet itself died, by `execnet gc`. The sandbox writes it.

use std::time::Duration;

use super::sys;

/// Where run records live on the machine (outside every sandbox).
pub const RUNS_DIR: &str = "/run/execnet/runs";

/// The record of a run kept on the machine for `execnet gc`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// The process that owns the sandbox, and its start time (pid reuse).
    pub owner_pid: u32,
    pub owner_start: u64,
    pub netns: u64,
    pub mntns: u64,
}

/// SIGKILL every other process of a run's sandbox and delete its record.
pub(crate) fn remove_run(r: &RunRecord) -> Vec<u32> {
    let mut killed = Vec::new();
    let guard_mnt = sys::ns_inode(1, "mnt").ok();
    let guard_net = sys::ns_inode(1, "net").ok();
    if guard_mnt != Some(r.mntns) && guard_net != Some(r.netns) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<u32> = sys::all_pids()
                .into_iter()
                .filter(|&p| {
                    sys::ns_inode(p, "mnt").is_ok_and(|i| i == r.mntns)
                        || sys::ns_inode(p, "net").is_ok_and(|i| i == r.netns)
                })
                .collect();
            if left.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            for p in left {
                sys::kill(p, libc::SIGKILL);
                sys::try_reap(p);
                if !killed.contains(&p) {
                    killed.push(p);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = std::fs::remove_file(std::path::Path::new(RUNS_DIR).join(format!("{}.json", r.run_id)));
    killed
}
