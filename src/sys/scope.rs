//! What the whole process shares, in one place: its children (plugin calls in flight, execnet's
//! own processes) and what the signal thread does when a signal ends the run.
//!
//! Why a `static` and not a value the supervisor owns and passes down: both halves are the
//! process's by nature, not a run's or a supervisor's. The kernel re-parents every orphan to the
//! process (a child subreaper), so telling a call's leftover from a call still in flight or from
//! the runtime's pause process needs every supervisor's and every plain manager's leaders at
//! once; and the signal thread (`crate::supervise::signals`), started in `main` before anything
//! else exists, must reach all of it from wherever the run is when the signal comes. Run state
//! (timeouts learnt, leftovers seen, the sandbox's record) stays in the values that own it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock, RwLock};

/// A hook run by the signal thread before it kills the process tree.
pub type SignalHook = Box<dyn Fn() + Send>;

/// The process's shared state (see the module's documentation); [`scope`] returns it.
#[derive(Debug)]
pub struct ProcessScope {
    /// Spawning and registering a leader happen under a shared hold of this gate; reaping
    /// orphans and killing everything take it exclusively.
    pub gate: RwLock<()>,
    /// Spawned and not yet reaped plugin processes (each is its own process group). A vector: a
    /// handful of entries, and no allocation per call once it has grown.
    pub leaders: Mutex<Vec<i32>>,
    /// execnet's own long-lived processes (the netns runtime's pause processes, Open vSwitch
    /// daemons, what the node setup left): never a call's leftovers.
    pub own: Mutex<BTreeSet<i32>>,
    /// Inits of PID namespaces execnet made (the node sandbox's): a plugin's orphans there are
    /// re-parented to the init, never to execnet (the kernel looks for a subreaper only inside
    /// the namespace), so the leftover scan searches the init's children like execnet's own.
    pub reapers: Mutex<BTreeSet<i32>>,
    /// Temp files and directories to remove when a signal ends the run.
    pub cleanup: Mutex<Vec<PathBuf>>,
    /// Held while a report is written: a signal waits for the write to finish.
    pub output: Mutex<()>,
    /// Hooks the signal thread runs first, by registration number.
    pub hooks: Mutex<Vec<(u64, HookEntry)>>,
    /// The next hook registration number.
    pub next_hook: AtomicU64,
    /// The outcome of installing the signal thread (errno on failure): once per process.
    pub signals_installed: OnceLock<Result<(), i32>>,
}

/// A registered [`SignalHook`] (a newtype so that [`ProcessScope`] can be `Debug`).
pub struct HookEntry(pub SignalHook);

impl std::fmt::Debug for HookEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookEntry")
    }
}

static SCOPE: ProcessScope = ProcessScope {
    gate: RwLock::new(()),
    leaders: Mutex::new(Vec::new()),
    own: Mutex::new(BTreeSet::new()),
    reapers: Mutex::new(BTreeSet::new()),
    cleanup: Mutex::new(Vec::new()),
    output: Mutex::new(()),
    hooks: Mutex::new(Vec::new()),
    next_hook: AtomicU64::new(0),
    signals_installed: OnceLock::new(),
};

/// The process's shared state.
pub fn scope() -> &'static ProcessScope {
    &SCOPE
}
