//! SIGINT, SIGTERM and SIGHUP: the run is abandoned cleanly. The signals are blocked in every
//! thread and received by one dedicated thread (`sigwait`), which
//!
//! 1. takes the output lock, so that a report is written whole or not at all, and runs the
//!    hooks other parts registered ([`on_signal`]; the netns runtime removes its sandbox);
//! 2. holds the spawn gate (no new call starts), kills every call in flight (its process group
//!    and leader) and then every descendant of execnet, in rounds, reaping what is its own;
//! 3. removes execnet's temp files and directories (registered with [`remove_on_signal`]);
//! 4. exits 128 + the signal (130, 143, 129), running nothing else.
//!
//! Plugins do not inherit the blocked mask: `std` resets it in every spawned child.

use std::path::{Path, PathBuf};
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::plugin::invoke;
use crate::sys;
use crate::sys::scope::HookEntry;

/// The signals that end a run.
pub const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A registration made by [`on_signal`]; dropping it unregisters the hook.
#[derive(Debug)]
#[must_use = "dropping the registration unregisters the hook"]
pub struct OnSignal(u64);

impl Drop for OnSignal {
    fn drop(&mut self) {
        hooks().retain(|(id, _)| *id != self.0);
    }
}

// What this module shares with the signal thread is the process's (`sys::scope` says why).
fn hooks() -> MutexGuard<'static, Vec<(u64, HookEntry)>> {
    sys::scope().hooks.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `hook` first when a signal ends the run (before the process tree is killed), until the
/// returned registration is dropped.
pub fn on_signal(hook: impl Fn() + Send + 'static) -> OnSignal {
    let id = sys::scope().next_hook.fetch_add(1, Ordering::Relaxed);
    hooks().push((id, HookEntry(Box::new(hook))));
    OnSignal(id)
}

fn cleanup_list() -> MutexGuard<'static, Vec<PathBuf>> {
    sys::scope()
        .cleanup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Remove `path` (a file or a directory tree) if the run is ended by a signal.
pub fn remove_on_signal(path: &Path) {
    cleanup_list().push(path.to_path_buf());
}

/// `path` is gone or kept on purpose: no longer remove it on a signal.
pub fn forget(path: &Path) {
    cleanup_list().retain(|p| p != path);
}

/// Hold this while writing a report: a signal waits for the write to finish (up to a bound),
/// and after a signal no write starts.
pub fn output_lock() -> MutexGuard<'static, ()> {
    sys::scope()
        .output
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Block the signals in this thread (call it first in `main`, before any other thread
/// exists, so that every thread inherits the mask) and start the thread that handles them.
/// Only the first call does anything; later ones return its outcome.
pub fn install() -> std::io::Result<()> {
    let outcome = sys::scope().signals_installed.get_or_init(|| {
        sys::block_signals(&SIGNALS).map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))?;
        std::thread::Builder::new()
            .name("execnet-signals".into())
            .stack_size(64 * 1024)
            .spawn(|| {
                let sig = sys::wait_signal(&SIGNALS);
                terminate(sig)
            })
            .map(drop)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))
    });
    outcome.map_err(std::io::Error::from_raw_os_error)
}

/// What the signal thread does; never returns.
fn terminate(sig: libc::c_int) -> ! {
    // 1. No report starts after this; one being written gets 2 s to finish.
    let started = Instant::now();
    let _output = loop {
        match sys::scope().output.try_lock() {
            Ok(g) => break Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => break Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock)
                if started.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(std::sync::TryLockError::WouldBlock) => break None,
        }
    };
    // Held until the exit: a registration dropped meanwhile waits, its hook having run.
    let hooks = hooks();
    for (_, HookEntry(hook)) in hooks.iter() {
        hook();
    }
    // 2. Calls in flight first (their groups), then the whole tree. The gate stays held until
    //    the exit, so no call starts any more.
    let _gate = invoke::gate_exclusive();
    for leader in invoke::leaders() {
        sys::kill_group(leader as u32, libc::SIGKILL);
        sys::kill_pid(leader, libc::SIGKILL);
    }
    let _ = super::kill_descendants_gated(true, true);
    // 3. Temp files and directories.
    for path in cleanup_list().iter() {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(path);
            }
            Err(_) => {}
        }
    }
    sys::exit_now(128 + sig)
}
