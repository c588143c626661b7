//! SIGINT, SIGTERM and SIGHUP during a netns run: the run's sandbox is removed (every process in
//! it SIGKILLed, the run record deleted) and execnet exits with 128+N (SPEC 5). The signals are
//! handled by `crate::supervise::signals` (one thread, started in `main` before any other and
//! so in the machine's namespaces); [`install`] adds the sandbox's removal to what it does.

use std::sync::Mutex;
use std::time::Duration;

use super::sandbox::{RUNS_DIR, RunRecord};
use super::sys;

/// The sandbox of this process, while it exists.
static ACTIVE: Mutex<Option<RunRecord>> = Mutex::new(None);

pub(crate) fn set_active(record: Option<RunRecord>) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = record;
}

/// Have execnet's signal handling (`crate::supervise::signals`, one thread for the whole
/// process) remove this process's sandbox before it kills the rest and exits 128+N. Call it
/// before starting any other thread.
pub fn install() -> std::io::Result<()> {
    crate::supervise::signals::install()?;
    crate::supervise::signals::on_signal(remove_active);
    Ok(())
}

fn remove_active() {
    let record = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(r) = record {
        remove_run(&r);
    }
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
