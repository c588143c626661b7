//! SIGINT, SIGTERM and SIGHUP during a netns run: the run's sandbox is removed (every process in
//! it SIGKILLed, the run record deleted) and execnet exits with 128+N (SPEC 5). The signals are
//! handled by `crate::supervise::signals` (one thread, started in `main` before any other and
//! so in the machine's namespaces); [`install`] adds the sandbox's removal to what it does.

use std::sync::Mutex;

use super::record::{RunRecord, remove_run};

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
