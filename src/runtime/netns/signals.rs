//! SIGINT, SIGTERM and SIGHUP during a netns run: the run's sandbox is removed (every process in
//! it SIGKILLed, the run record deleted) and execnet exits with 128+N (docs/cli.md §5). The signals are
//! handled by `crate::supervise::signals` (one thread, started in `main` before any other and
//! so in the machine's namespaces); the sandbox adds its removal to what that thread does
//! ([`remove_on_signal`]) for as long as it exists.

use super::record::{RunRecord, remove_run};
use crate::supervise::signals::OnSignal;

/// Start execnet's signal handling (`crate::supervise::signals`, one thread for the whole
/// process). Call it before starting any other thread.
pub fn install() -> std::io::Result<()> {
    crate::supervise::signals::install()
}

/// Have a signal remove the run of `record` before the rest is killed and execnet exits 128+N,
/// until the returned registration is dropped.
pub(crate) fn remove_on_signal(record: RunRecord) -> OnSignal {
    crate::supervise::signals::on_signal(move || {
        remove_run(&record);
    })
}
