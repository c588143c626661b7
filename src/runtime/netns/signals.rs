//! SIGINT, SIGTERM and SIGHUP during a netns run: the run's sandbox is removed (every process in
//! it SIGKILLed, the run record deleted) and execnet exits with 128+N (SPEC 5). [`install`]
//! blocks the signals in the calling thread, which every thread started afterwards inherits
//! (child processes get a clean mask from `std::process::Command`), and waits for them on a
//! thread of its own, which stays in the machine's namespaces.

use std::sync::Mutex;
use std::time::Duration;

use super::sandbox::{RUNS_DIR, RunRecord};
use super::sys;

/// The sandbox of this process, while it exists.
static ACTIVE: Mutex<Option<RunRecord>> = Mutex::new(None);

pub(crate) fn set_active(record: Option<RunRecord>) {
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = record;
}

/// Block SIGINT, SIGTERM and SIGHUP here and handle them on a dedicated thread. Call it before
/// starting any other thread.
pub fn install() -> std::io::Result<()> {
    // SAFETY: plain signal-set manipulation on a local set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        set
    };
    std::thread::Builder::new()
        .name("execnet-signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait on a set of signals blocked in every thread.
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc != 0 {
                return;
            }
            let record = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(r) = record {
                remove_run(&r);
            }
            std::process::exit(128 + sig);
        })?;
    Ok(())
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
