//! Supervision: what execnet adds around the reference manager, which itself calls plugins
//! exactly as the kubelet did. A [`Supervisor`] is the manager's [`Runner`] during `certify`,
//! `replay` and `call`; it owns the certification policy that is no kubelet behaviour:
//!
//! - **timeout memory**: once an action has timed out, its later calls (also `init` at later
//!   kubelet starts, also in later scenarios) get a short leash ([`Supervisor::leash`]: eight
//!   times the slowest call of that action that ended on its own, at least [`LEASH_FLOOR`], at
//!   most `after_timeout`), and its calls in flight are cut at that leash too, so that a hung
//!   plugin costs about one full timeout per action, not one per call;
//! - **containment**: execnet is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so every
//!   descendant of a call, also one that called `setsid` or `setpgid`, stays in execnet's
//!   process tree. After each call the supervisor walks the process table (`/proc`) for what the
//!   call left: its process group, execnet's orphaned children (re-parented to it) and all their
//!   descendants. It reports them with their command lines and, under certification, kills
//!   them; under replay they are reported and left running (as on a node) until the run ends;
//! - **execnet's own failures** (no descriptor, no process, no thread left) are recorded as the
//!   run's error, never as the plugin's failure;
//! - **signals** ([`signals`]): SIGINT, SIGTERM and SIGHUP kill every call in flight and
//!   everything it left, remove execnet's temp files and exit 128 + the signal.
//!
//! Attribution of an orphan that left its process group is by mark: every call runs with
//! `EXECNET_CALL=ID` in its environment ([`sys::marker::CALL_VAR`]), which whatever it starts
//! inherits, so an orphan found after a call ends is that call's only when it carries no other
//! call's mark that is still in flight (that call's own scan, run when it ends, finds it). With
//! parallel pods or scenarios side by side under `certify`, a daemon that one call's `setup`
//! started is never charged to another scenario's `status`. An orphan without a mark (it
//! cleared its environment, `env -i`) is attributed by time: a leftover of the first call to
//! end after it was orphaned.
//! cgroup v2 (`cgroup.kill`) is not used: it needs a writable cgroup v2 hierarchy and a spawn
//! into the cgroup (`clone3`), which `posix_spawn` cannot do.

pub mod lock;
pub mod signals;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::plugin::invoke::{self, Action, Leftover, Outcome, RawCall, Runner};
use crate::plugin::policy::CallPolicy;
use crate::sys::{self, ProcStat};

/// What happens to what a call leaves running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftovers {
    /// Certification: SIGKILL them as soon as the call ends.
    Kill,
    /// Replay and single calls: report them and leave them running, as on a node, until the
    /// run ends ([`Supervisor::finish`]).
    Report,
}

/// How the supervisor keeps a call's processes in view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    /// execnet is a child subreaper: the process tree holds every descendant.
    Subreaper,
    /// `prctl` refused: only the call's process group and direct orphans are seen.
    ProcessGroup,
}

impl Containment {
    pub fn describe(self) -> &'static str {
        match self {
            Containment::Subreaper => {
                "containment: child subreaper + process tree (no cgroup v2 used)"
            }
            Containment::ProcessGroup => {
                "containment: process group only (PR_SET_CHILD_SUBREAPER refused)"
            }
        }
    }
}

/// The runner certification, replay and `execnet call` use. Shared by every plugin handle of
/// one run (`Arc`), so its memory spans kubelet restarts and scenarios.
#[derive(Debug)]
pub struct Supervisor {
    leftovers: Leftovers,
    after_timeout: Option<Duration>,
    containment: Containment,
    /// Timeout memory, per action (see [`Supervisor::leash`]).
    actions: Mutex<BTreeMap<Action, ActionMemory>>,
    host_error: Mutex<Option<String>>,
    /// Leftovers already reported under [`Leftovers::Report`], by (pid, start time).
    known: Mutex<BTreeSet<(i32, u64)>>,
    killed: AtomicUsize,
    /// The whole run's deadline (`certify --deadline`): calls are cut off at it, and none starts
    /// after it.
    deadline: Option<Instant>,
    deadline_hit: AtomicBool,
    /// `init` runs alone: no other call runs while it does, and it waits for those running. The kubelet
    /// ran init before any pod worker started and never again while one ran (v1.5.0
    /// `pkg/kubelet/kubelet.go` `NewMainKubelet` calls `network.InitNetworkPlugin` before
    /// `Run` starts the pod workers; a restarted kubelet is a new process with no call in
    /// flight). Certify runs scenarios side by side, so without this one scenario's init could
    /// overlap another's setup, which no kubelet did. One exception: init does not wait for a
    /// call that has hung for [`STALLED`] (see [`InitGate`]).
    init_gate: InitGate,
    /// The last call mark handed out (see [`sys::marker::CALL_VAR`]).
    calls: AtomicU64,
    /// The marks of calls started whose leftovers are not yet dealt with, each with the calls
    /// in flight when it started (its [`RawCall::crowd`]).
    marks_in_flight: Mutex<BTreeMap<String, usize>>,
}

/// A call running this long is hung as far as `init` is concerned ([`InitGate`]), and as far as
/// certify's default bound on scenarios at once is (a hung plugin uses no CPU).
pub const STALLED: Duration = Duration::from_secs(2);

/// `init` runs alone: it waits until no other call runs and no other call starts while it runs.
/// It does not wait for a call that has been running for [`STALLED`]: a kubelet restarted while a
/// plugin call hung did not wait for its predecessor's call either (the old kubelet's child
/// kept running; v1.5.0 `pkg/kubelet/network/exec/exec.go` runs the plugin with
/// `exec.Command(...).CombinedOutput()`, which nothing kills when the kubelet dies). Without
/// this one hung call would hold every later kubelet start for its whole timeout.
#[derive(Debug, Default)]
struct InitGate {
    state: Mutex<GateState>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    init_running: bool,
    /// Each call now running (other than init): its ticket and when it started. A vector: a
    /// handful of entries, and no allocation per call once grown.
    calls: Vec<(u64, Instant)>,
    next_ticket: u64,
    /// Threads waiting in `enter` (only then does leaving wake anyone: a wake is a syscall).
    waiting: usize,
}

/// A call's pass through the [`InitGate`], given back when dropped.
struct GatePass<'g> {
    gate: &'g InitGate,
    /// `None` for init.
    ticket: Option<u64>,
}

impl InitGate {
    /// How long the oldest call now running (other than init) has been running.
    fn oldest_call(&self) -> Option<Duration> {
        lock(&self.state)
            .calls
            .iter()
            .map(|&(_, started)| started)
            .min()
            .map(|started| started.elapsed())
    }

    fn enter(&self, init: bool) -> GatePass<'_> {
        let mut st = lock(&self.state);
        if init {
            loop {
                let busy = st.init_running
                    || st
                        .calls
                        .iter()
                        .any(|&(_, started)| started.elapsed() < STALLED);
                if !busy {
                    break;
                }
                // Woken when a call ends; look again in a while for calls becoming stalled.
                st.waiting += 1;
                st = self
                    .changed
                    .wait_timeout(st, Duration::from_millis(100))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
                st.waiting -= 1;
            }
            st.init_running = true;
            GatePass {
                gate: self,
                ticket: None,
            }
        } else {
            while st.init_running {
                st.waiting += 1;
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                st.waiting -= 1;
            }
            let ticket = st.next_ticket;
            st.next_ticket += 1;
            st.calls.push((ticket, Instant::now()));
            GatePass {
                gate: self,
                ticket: Some(ticket),
            }
        }
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.gate.state);
        match self.ticket {
            Some(t) => st.calls.retain(|&(ticket, _)| ticket != t),
            None => st.init_running = false,
        }
        let wake = st.waiting > 0;
        drop(st);
        if wake {
            self.gate.changed.notify_all();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the supervisor remembers of an action's calls.
#[derive(Debug, Clone, Copy, Default)]
struct ActionMemory {
    /// A call of it timed out.
    timed_out: bool,
    /// The longest call of it that ended on its own (exited or died, not timed out).
    slowest_ended: Duration,
}

/// The shortest leash a timed-out action gets ([`Supervisor::leash`]).
pub const LEASH_FLOOR: Duration = Duration::from_millis(100);
/// A timed-out action's leash, in multiples of its slowest call that ended on its own.
pub const LEASH_FACTOR: u32 = 8;

/// Kill rounds before giving up on a process that will not die (e.g. in uninterruptible sleep).
const KILL_ROUNDS: u32 = 60;

/// execnet's own long-lived processes (the netns runtime's pause processes, Open vSwitch
/// daemons, what the node setup left): never a call's leftovers, never killed as one.
/// Process-wide (`sys::scope`): they are children of the process, whatever supervises calls.
fn own_set() -> MutexGuard<'static, BTreeSet<i32>> {
    lock(&sys::scope().own)
}

fn own() -> BTreeSet<i32> {
    own_set().clone()
}

/// Hold this while execnet's own runtime starts or ends processes (an infra container's pause
/// process and its `ip` helpers): the leftover scan after a call waits for it, so it never sees
/// them half-made or unregistered. Never hold it across a plugin call.
pub fn own_processes() -> std::sync::RwLockReadGuard<'static, ()> {
    invoke::gate_shared()
}

/// `pid` is execnet's own (see [`own_processes`]).
pub fn register_own(pid: u32) {
    own_set().insert(pid as i32);
}

fn reapers() -> BTreeSet<i32> {
    lock(&sys::scope().reapers).clone()
}

/// `pid` is the init of a PID namespace of execnet's (see `sys::ProcessScope::reapers`):
/// execnet's own, and an adopter of orphans.
pub fn register_reaper(pid: u32) {
    own_set().insert(pid as i32);
    lock(&sys::scope().reapers).insert(pid as i32);
}

/// The init `pid` is gone.
pub fn forget_reaper(pid: u32) {
    lock(&sys::scope().reapers).remove(&(pid as i32));
    own_set().remove(&(pid as i32));
}

/// `pid` was reaped: its number may be reused by anyone.
pub fn forget_own(pid: u32) {
    own_set().remove(&(pid as i32));
}

/// Every descendant execnet has now is its own (call before any plugin runs: after the node
/// sandbox, its daemons and the node setup started).
pub fn adopt_descendants() -> std::io::Result<()> {
    let me = sys::getpid();
    let table = sys::process_table()?;
    let mut children: BTreeMap<i32, Vec<&ProcStat>> = BTreeMap::new();
    for p in &table {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut stack: Vec<&ProcStat> = children.get(&me).cloned().unwrap_or_default();
    let reapers = reapers();
    let mut own = own_set();
    while let Some(p) = stack.pop() {
        if !p.is_zombie() && (own.insert(p.pid) || reapers.contains(&p.pid)) {
            stack.extend(children.get(&p.pid).into_iter().flatten());
        }
    }
    Ok(())
}

impl Supervisor {
    /// A supervisor with `leftovers` policy and (when `Some`) timeout memory. Makes execnet a
    /// child subreaper (process-wide, idempotent).
    pub fn new(leftovers: Leftovers, after_timeout: Option<Duration>) -> Arc<Self> {
        Self::with_deadline(leftovers, after_timeout, None)
    }

    /// [`Supervisor::new`] with a deadline for the whole run.
    pub fn with_deadline(
        leftovers: Leftovers,
        after_timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Arc<Self> {
        let containment = match sys::set_child_subreaper() {
            Ok(()) => Containment::Subreaper,
            Err(_) => Containment::ProcessGroup,
        };
        Arc::new(Supervisor {
            leftovers,
            after_timeout,
            containment,
            actions: Mutex::new(BTreeMap::new()),
            host_error: Mutex::new(None),
            known: Mutex::new(BTreeSet::new()),
            killed: AtomicUsize::new(0),
            deadline,
            deadline_hit: AtomicBool::new(false),
            init_gate: InitGate::default(),
            calls: AtomicU64::new(0),
            marks_in_flight: Mutex::new(BTreeMap::new()),
        })
    }

    /// Certification: leftovers killed, timed-out actions shortened to `after_timeout`.
    pub fn certify(after_timeout: Duration) -> Arc<Self> {
        Self::new(Leftovers::Kill, Some(after_timeout))
    }

    /// Replay and single calls: leftovers reported, every call gets the full timeout.
    pub fn replay() -> Arc<Self> {
        Self::new(Leftovers::Report, None)
    }

    /// Whether the deadline cut a call off or stopped one from starting.
    pub fn deadline_hit(&self) -> bool {
        self.deadline_hit.load(Ordering::Relaxed)
    }

    pub fn containment(&self) -> Containment {
        self.containment
    }

    /// execnet's own first failure during the run, if any (the run's results are then void).
    pub fn host_error(&self) -> Option<String> {
        lock(&self.host_error).clone()
    }

    /// How long the oldest call of this run now in flight (other than init) has been running
    /// (`None`: none is).
    pub fn oldest_call(&self) -> Option<Duration> {
        self.init_gate.oldest_call()
    }

    /// Processes killed so far as leftovers.
    pub fn killed(&self) -> usize {
        self.killed.load(Ordering::Relaxed)
    }

    /// Whether `action` has timed out before (under timeout memory).
    pub fn has_timed_out(&self, action: Action) -> bool {
        lock(&self.actions)
            .get(&action)
            .is_some_and(|m| m.timed_out)
    }

    fn record_host_error(&self, message: &str) {
        lock(&self.host_error).get_or_insert_with(|| message.to_string());
    }

    /// How long a call of `action` may run now that the action has timed out (`None`: it has
    /// not, or there is no timeout memory): [`LEASH_FACTOR`] times the slowest call of the
    /// action that ended on its own, at least [`LEASH_FLOOR`], at most `after_timeout`. A
    /// plugin whose teardown has never returned gets the floor; one whose teardowns took 40 ms
    /// before one hung gets 320 ms, so that a slow but working call is not cut for the hung
    /// one's sake.
    pub fn leash(&self, action: Action) -> Option<Duration> {
        let cap = self.after_timeout?;
        let memory = lock(&self.actions).get(&action).copied()?;
        memory.timed_out.then(|| {
            memory
                .slowest_ended
                .saturating_mul(LEASH_FACTOR)
                .clamp(LEASH_FLOOR.min(cap), cap)
        })
    }

    /// The policy for the next call of `action`: shortened once that action has timed out.
    fn policy_for(&self, action: Action, base: &CallPolicy) -> CallPolicy {
        match self.leash(action) {
            // The grace is paid once: a later call of an action that has timed out is SIGKILLed
            // at its leash (a plugin that ignores SIGTERM or stops itself would otherwise cost
            // the leash plus the whole grace on every call).
            Some(short) => CallPolicy {
                timeout: Some(base.timeout.map_or(short, |t| t.min(short))),
                grace: Duration::ZERO,
                ..base.clone()
            },
            None => base.clone(),
        }
    }

    /// Whether the ended call can have left anything running, decided without reading the
    /// process table. As a child subreaper execnet inherits every orphan: once the call's
    /// leader is reaped, each live descendant is either in its process group (`kill(-pgid, 0)`
    /// found it: `group_survived`) or has a topmost live ancestor below the dead leader, which
    /// the kernel re-parented to execnet's main thread. So when the group is empty, the pipe
    /// was not leaked and every child of the main thread is a call in flight, the call left
    /// nothing and the table walk (which also reaps orphans that exited) is skipped. When
    /// execnet had no child at all as the call ended (`no_orphans`), the children file need not
    /// be read. Any doubt (no subreaper, the children file unreadable) walks.
    fn may_have_left(&self, raw: &RawCall) -> bool {
        if raw.group_survived || raw.leaked || self.containment != Containment::Subreaper {
            return true;
        }
        // Orphans in the sandbox's PID namespace go to its init, not to execnet.
        if !lock(&sys::scope().reapers).is_empty() {
            return true;
        }
        if raw.no_orphans {
            return false;
        }
        let mut children = Vec::new();
        match sys::main_thread_children(&mut children) {
            // execnet's own processes (the netns runtime's) are no call's.
            Some(()) => {
                let own = own_set();
                children
                    .iter()
                    .any(|&pid| !invoke::is_leader(pid) && !own.contains(&pid))
            }
            None => true,
        }
    }

    /// Find (and under [`Leftovers::Kill`], kill) what the call led by `pgid` left running.
    /// `killed_group`: the call timed out and its process group was SIGKILLed (what execnet
    /// adds); its members are dying by execnet's hand, not left by the plugin, and a scan can
    /// catch one between the signal and its exit (its command line already gone). They are no
    /// leftovers; what escaped the group (`setsid`, `setpgid`) still is.
    /// `mark`: the call's own mark; an orphan carrying the mark of another call still in
    /// flight is that call's.
    fn contain(&self, pgid: i32, mark: &str, killed_group: bool) -> std::io::Result<Vec<Leftover>> {
        let me = sys::getpid();
        let mut reported: Option<Vec<Leftover>> = None;
        for round in 0..KILL_ROUNDS {
            let alive = {
                let _gate = invoke::gate_exclusive();
                let leaders = invoke::leaders();
                // Everything the call started was created after its leader.
                let table = sys::processes_since(pgid)?;
                reap_orphans(&table, me, &leaders);
                let mut known = lock(&self.known);
                let in_flight = lock(&self.marks_in_flight);
                // An orphan whose mark cannot be read (its environment is not readable for a
                // moment, e.g. while it execs) is left to a later scan while another call is in
                // flight: it may be that call's. Only when this call is alone is an unmarked
                // orphan charged to it (a plugin that cleared its environment loses its mark).
                let anothers = |pid: i32| match sys::marker::call_of(pid) {
                    Some(m) => m != mark && in_flight.contains_key(&m),
                    None => in_flight.len() > 1,
                };
                let mine: Vec<ProcStat> = attribute(&table, me, pgid, &leaders, &known, &anothers)
                    .into_iter()
                    .filter(|p| {
                        let killed_by_timeout = killed_group && p.pgid == pgid;
                        !p.is_zombie() && !killed_by_timeout
                    })
                    .collect();
                if reported.is_none() {
                    reported = Some(
                        mine.iter()
                            .map(|p| Leftover {
                                pid: p.pid,
                                cmdline: sys::cmdline(p.pid),
                            })
                            .collect(),
                    );
                }
                if self.leftovers == Leftovers::Report {
                    known.extend(mine.iter().map(|p| (p.pid, p.start)));
                    break;
                }
                for p in &mine {
                    if sys::kill_pid(p.pid, libc::SIGKILL) && round == 0 {
                        self.killed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                mine.len()
            };
            if alive == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis((1u64 << round.min(5)).min(20)));
        }
        Ok(reported.unwrap_or_default())
    }

    /// End of a run: kill everything execnet's calls left that is still running (under
    /// [`Leftovers::Report`] that is every reported leftover) and reap it. Returns what was
    /// killed.
    pub fn finish(&self) -> std::io::Result<Vec<Leftover>> {
        let killed = kill_descendants(false)?;
        self.killed.fetch_add(killed.len(), Ordering::Relaxed);
        Ok(killed)
    }
}

/// Free processes (or descriptors) below which a run could not tell a plugin's failure from
/// the environment's: the plugin shares execnet's user and its limits.
pub const MIN_FREE_PROCESSES: u64 = 32;
pub const MIN_DESCRIPTORS: u64 = 64;

/// Before a run: refuse limits so small that a plugin would fail for the environment's sake
/// (`RLIMIT_NPROC` counts every process and thread of the user; root is exempt from it).
pub fn preflight() -> Result<(), String> {
    if let Some(nofile) = sys::soft_limit(libc::RLIMIT_NOFILE)
        && nofile < MIN_DESCRIPTORS
    {
        return Err(format!(
            "RLIMIT_NOFILE is {nofile} (hard limit too): execnet needs at least {MIN_DESCRIPTORS} descriptors to run plugins; raise `ulimit -Hn`"
        ));
    }
    let uid = sys::geteuid();
    if uid == 0 {
        return Ok(());
    }
    if let Some(nproc) = sys::soft_limit(libc::RLIMIT_NPROC) {
        let used = sys::tasks_of_user(uid);
        if nproc < used + MIN_FREE_PROCESSES {
            return Err(format!(
                "RLIMIT_NPROC is {nproc} with {used} processes/threads of this user running: a plugin could fail for lack of processes, which says nothing about it; execnet needs {MIN_FREE_PROCESSES} free (raise `ulimit -u`)"
            ));
        }
    }
    Ok(())
}

impl Runner for Supervisor {
    fn run(
        &self,
        action: Action,
        executable: &Path,
        args: &[&str],
        policy: &CallPolicy,
    ) -> RawCall {
        // Held until the call and its leftovers are dealt with (see `init_gate`).
        let _pass = self.init_gate.enter(action == Action::Init);
        let mut policy = self.policy_for(action, policy);
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.deadline_hit.store(true, Ordering::Relaxed);
                return not_run(executable, args);
            }
            policy.timeout = Some(policy.timeout.map_or(left, |t| t.min(left)));
        }
        let mark = format!(
            "{}-{}",
            sys::getpid(),
            self.calls.fetch_add(1, Ordering::Relaxed) + 1
        );
        policy.env = policy.env.with_var(sys::marker::CALL_VAR, &mark);
        {
            let mut in_flight = lock(&self.marks_in_flight);
            let crowd = in_flight.len() + 1;
            in_flight.insert(mark.clone(), crowd);
        }
        let mut raw = self.run_marked(action, executable, args, &policy, &mark);
        raw.crowd = lock(&self.marks_in_flight).remove(&mark).unwrap_or(0);
        raw
    }
}

impl Supervisor {
    /// [`Runner::run`] once the call has its mark (`policy.env` holds it).
    fn run_marked(
        &self,
        action: Action,
        executable: &Path,
        args: &[&str],
        policy: &CallPolicy,
        mark: &str,
    ) -> RawCall {
        // A call in flight when its action times out elsewhere is held to the leash too: it has
        // hung as long as the one that timed out, or is about to be judged by the same rule.
        let watch = || self.leash(action);
        let mut raw = invoke::run_watched(
            executable,
            args,
            policy,
            self.after_timeout
                .is_some()
                .then_some(&watch as invoke::Watch<'_>),
        );
        if self.deadline.is_some_and(|d| Instant::now() >= d)
            && matches!(raw.outcome, Outcome::TimedOut { .. })
        {
            self.deadline_hit.store(true, Ordering::Relaxed);
        }
        if self.after_timeout.is_some() && !matches!(raw.outcome, Outcome::SpawnFailed { .. }) {
            let mut actions = lock(&self.actions);
            let memory = actions.entry(action).or_default();
            match raw.outcome {
                Outcome::TimedOut { .. } => memory.timed_out = true,
                _ => memory.slowest_ended = memory.slowest_ended.max(raw.duration),
            }
        }
        if let Some(pid) = raw.pid
            && self.may_have_left(&raw)
        {
            let killed_group = matches!(raw.outcome, Outcome::TimedOut { .. });
            match self.contain(pid as i32, mark, killed_group) {
                Ok(left) => raw.leftovers = left.into_boxed_slice(),
                Err(e) => {
                    raw.host_error = Some(
                        format!(
                        "execnet cannot read the process table (/proc) to find what the call left: {e}{}",
                        if e.raw_os_error() == Some(libc::EMFILE) {
                            " (RLIMIT_NOFILE)"
                        } else {
                            ""
                        }
                    )
                        .into(),
                    )
                }
            }
        }
        if let Some(e) = &raw.host_error {
            self.record_host_error(e);
        }
        raw
    }
}

/// The record of a call the deadline did not let start.
fn not_run(executable: &Path, args: &[&str]) -> RawCall {
    let mut argv = vec![executable.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    RawCall {
        argv,
        outcome: Outcome::SpawnFailed {
            message: "not run: the run's deadline passed".into(),
        },
        output: Vec::new(),
        output_bytes: 0,
        truncated: false,
        leaked: false,
        group_survived: false,
        duration: Duration::ZERO,
        pid: None,
        leftovers: Box::default(),
        host_error: None,
        no_orphans: false,
        crowd: 0,
    }
}

/// Reap the zombies among execnet's children that no call is waiting for (orphans that exited
/// on their own or were killed). Call with the spawn gate held exclusively.
fn reap_orphans(table: &[ProcStat], me: i32, leaders: &BTreeSet<i32>) {
    for p in table {
        if p.ppid == me && p.is_zombie() && !leaders.contains(&p.pid) {
            sys::reap_nohang(p.pid);
        }
    }
}

/// The processes of the table that the call led by `pgid` left: its process group, execnet's
/// orphaned children that belong to no call in flight (by process group, or by the mark
/// `anothers` finds: another call's in flight), and all their descendants. Leaders in flight,
/// their trees and already known leftovers are excluded.
fn attribute(
    table: &[ProcStat],
    me: i32,
    pgid: i32,
    leaders: &BTreeSet<i32>,
    known: &BTreeSet<(i32, u64)>,
    anothers: &dyn Fn(i32) -> bool,
) -> Vec<ProcStat> {
    let mut children: BTreeMap<i32, Vec<&ProcStat>> = BTreeMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p);
    }
    let own = own();
    let reapers = reapers();
    let excluded = |p: &ProcStat| {
        p.pid == me
            || leaders.contains(&p.pid)
            || known.contains(&(p.pid, p.start))
            || own.contains(&p.pid)
    };
    let mut stack: Vec<&ProcStat> = table
        .iter()
        .filter(|p| !excluded(p))
        .filter(|p| {
            p.pgid == pgid
                || ((p.ppid == me || reapers.contains(&p.ppid))
                    && !leaders.contains(&p.pgid)
                    && !anothers(p.pid))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(p) = stack.pop() {
        if !seen.insert(p.pid) {
            continue;
        }
        out.push(*p);
        if let Some(kids) = children.get(&p.pid) {
            stack.extend(kids.iter().filter(|k| !excluded(k)));
        }
    }
    out.sort_by_key(|p| p.pid);
    out
}

/// Kill every descendant of execnet (with `leaders_too`, also the calls in flight) and reap
/// what is execnet's to reap, in rounds until none is left. Returns what was found alive first.
/// With `held`, the spawn gate is already held by the caller for the whole time (the signal
/// path: no call may start in between rounds).
/// Kill everything execnet started that is still running but its own runtime's processes
/// (after a bench, whose floor calls have no per-call containment). Returns what was found.
pub fn kill_left_behind() -> std::io::Result<Vec<Leftover>> {
    kill_descendants(false)
}

pub(crate) fn kill_descendants(leaders_too: bool) -> std::io::Result<Vec<Leftover>> {
    kill_descendants_gated(leaders_too, false)
}

pub(crate) fn kill_descendants_gated(
    leaders_too: bool,
    held: bool,
) -> std::io::Result<Vec<Leftover>> {
    let me = sys::getpid();
    let mut first: Option<Vec<Leftover>> = None;
    for round in 0..KILL_ROUNDS {
        let alive = {
            let _gate = (!held).then(invoke::gate_exclusive);
            let leaders = invoke::leaders();
            // execnet's own processes end with their runtime, except on the signal path
            // (`leaders_too`), where everything goes.
            let own = if leaders_too { BTreeSet::new() } else { own() };
            let reapers = reapers();
            let table = sys::process_table()?;
            reap_orphans(&table, me, &leaders);
            let mut children: BTreeMap<i32, Vec<&ProcStat>> = BTreeMap::new();
            for p in &table {
                children.entry(p.ppid).or_default().push(p);
            }
            let mut stack: Vec<&ProcStat> = children.get(&me).cloned().unwrap_or_default();
            let mut found = Vec::new();
            let mut seen = BTreeSet::new();
            while let Some(p) = stack.pop() {
                if !seen.insert(p.pid) || (!leaders_too && leaders.contains(&p.pid)) {
                    continue;
                }
                if own.contains(&p.pid) {
                    // A PID namespace's init is kept; what was re-parented to it is searched.
                    if reapers.contains(&p.pid) {
                        stack.extend(children.get(&p.pid).into_iter().flatten());
                    }
                    continue;
                }
                if !p.is_zombie() {
                    found.push(*p);
                }
                if let Some(kids) = children.get(&p.pid) {
                    stack.extend(kids.iter());
                }
            }
            found.sort_by_key(|p| p.pid);
            if first.is_none() {
                first = Some(
                    found
                        .iter()
                        .map(|p| Leftover {
                            pid: p.pid,
                            cmdline: sys::cmdline(p.pid),
                        })
                        .collect(),
                );
            }
            for p in &found {
                sys::kill_pid(p.pid, libc::SIGKILL);
            }
            found.len()
        };
        if alive == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis((1u64 << round.min(5)).min(20)));
    }
    Ok(first.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, pgid: i32) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgid,
            state: b'S',
            start: pid as u64,
        }
    }

    #[test]
    fn attribution_follows_the_tree_not_the_group() {
        let me = 100;
        let table = [
            p(100, 1, 100),   // execnet
            p(200, 100, 200), // another call in flight
            p(201, 200, 200), // its child
            p(300, 100, 300), // escaped (setsid) orphan of the ended call 250
            p(301, 300, 300), // its child
            p(260, 1, 250),   // still in the ended call's group, parent elsewhere
            p(400, 100, 200), // orphan still in the in-flight call's group: not ours
            p(500, 7, 500),   // unrelated
        ];
        let leaders = BTreeSet::from([200]);
        let got: Vec<i32> = attribute(&table, me, 250, &leaders, &BTreeSet::new(), &|_| false)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(got, vec![260, 300, 301]);
        let known = BTreeSet::from([(300, 300)]);
        let got: Vec<i32> = attribute(&table, me, 250, &leaders, &known, &|_| false)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(
            got,
            vec![260],
            "known leftovers and their trees are not reported again"
        );
        // 300 carries the mark of another call still in flight (an escaped orphan of call 200,
        // its group tells nothing): that call's, with its tree.
        let got: Vec<i32> = attribute(&table, me, 250, &leaders, &BTreeSet::new(), &|pid| {
            pid == 300
        })
        .iter()
        .map(|p| p.pid)
        .collect();
        assert_eq!(got, vec![260]);
    }

    /// Each call records the calls in flight at its start, and runs with its own mark: a call
    /// started while another waits sees two, the first and the waiting one see one.
    #[test]
    fn a_call_records_its_crowd_and_carries_its_mark() {
        let sup = Supervisor::replay();
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path().display();
        let plugin = dir.path().join("p");
        std::fs::write(
            &plugin,
            format!(
                "#!/bin/sh\necho \"$EXECNET_CALL\"\ncase \"$1\" in\n  setup) : > {d}/started; while [ ! -e {d}/go ]; do sleep 0.01; done;;\n  status) : > {d}/go;;\nesac\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let policy = CallPolicy::default();
        let alone = sup.run(Action::Init, &plugin, &["init"], &policy);
        assert_eq!(alone.crowd, 1);
        let (waiter, other) = std::thread::scope(|s| {
            let waiter = s.spawn(|| sup.run(Action::Setup, &plugin, &["setup"], &policy));
            while !dir.path().join("started").exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
            let other = sup.run(Action::Status, &plugin, &["status"], &policy);
            (waiter.join().unwrap(), other)
        });
        assert_eq!((waiter.crowd, other.crowd), (1, 2));
        let marks: BTreeSet<String> = [&alone, &waiter, &other]
            .iter()
            .map(|r| String::from_utf8_lossy(&r.output).trim().to_string())
            .collect();
        assert_eq!(marks.len(), 3, "one mark per call: {marks:?}");
        assert!(marks.iter().all(|m| !m.is_empty()), "{marks:?}");
        assert!(lock(&sup.marks_in_flight).is_empty());
    }

    #[test]
    fn the_grace_is_paid_once_per_action() {
        let sup = Supervisor::certify(Duration::from_millis(500));
        let base = CallPolicy::default();
        assert!(!base.grace.is_zero());
        assert_eq!(sup.policy_for(Action::Setup, &base).grace, base.grace);
        lock(&sup.actions)
            .entry(Action::Setup)
            .or_default()
            .timed_out = true;
        let later = sup.policy_for(Action::Setup, &base);
        assert_eq!(later.grace, Duration::ZERO, "SIGKILL at the leash");
        assert!(
            later
                .timeout
                .is_some_and(|t| t <= Duration::from_millis(500))
        );
        assert_eq!(sup.policy_for(Action::Teardown, &base).grace, base.grace);
    }
}
