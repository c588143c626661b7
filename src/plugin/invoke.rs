//! Invocation: one plugin call, exactly as the kubelet made it (argv `<action> <ns> <name>
//! <id>`, no shell, stdin `/dev/null`, stdout and stderr on **one pipe**, only fds 0–2, the
//! environment and working directory inherited) plus what execnet adds: its own process group,
//! a timeout that kills the whole group (SIGTERM, grace, SIGKILL), a leak window after exit,
//! and an output cap.
//!
//! Every process spawned here is registered as a *leader* from spawn until it is reaped, under
//! a gate that the supervision layer (`crate::supervise`) takes exclusively when it reaps
//! orphans or kills everything on a signal: a reaper never steals a leader's exit status, and a
//! signal never misses a leader spawned a moment before. How a call is run (plain, or through a
//! supervisor that adds certification policy) is a [`Runner`].
//!
//! The spawn path is `posix_spawn` (`CLONE_VFORK`, no `fork`, as `std::process::Command`
//! would do it, minus what `std` adds per spawn: a `/dev/null` opened in the parent, a second
//! write end) with one pipe. Output and exit are awaited on the calling thread alone (no
//! thread per call): a blocking `read` to EOF and a blocking `waitpid`, as a bare spawn does,
//! bounded by the thread's alarm; a call that outlives [`PIPE_ONLY`] goes on with `poll` on the
//! pipe and a pidfd. Measured against a bare `posix_spawn` in `benches/README.md`.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::gotext;
use super::policy::CallPolicy;
use crate::sys;

/// The four actions of the exec plugin convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Init,
    Setup,
    Teardown,
    Status,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Init,
        Action::Setup,
        Action::Teardown,
        Action::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Init => "init",
            Action::Setup => "setup",
            Action::Teardown => "teardown",
            Action::Status => "status",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a call ended: exactly one of these. `leaked` and `truncated` are flags on the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Success,
    /// A non-zero exit status.
    Exited { code: i32 },
    /// Killed by a signal the manager did not send.
    Signaled { signal: i32, core_dumped: bool },
    /// The timeout expired; the process group was sent SIGTERM, then SIGKILL after the grace.
    TimedOut { after: Duration },
    /// The executable could not be started; Go's message, naming the path.
    SpawnFailed { message: String },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// The error as the kubelet (Go's `exec.Cmd`) would have printed it; `None` on success.
    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Success => None,
            Outcome::Exited { code } => Some(format!("exit status {code}")),
            Outcome::Signaled {
                signal,
                core_dumped,
            } => Some(format!(
                "signal: {}{}",
                gotext::go_signal_description(*signal),
                if *core_dumped { " (core dumped)" } else { "" }
            )),
            Outcome::TimedOut { after } => Some(format!(
                "timed out after {} (process group killed)",
                format_duration(*after)
            )),
            Outcome::SpawnFailed { message } => Some(message.clone()),
        }
    }

    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Outcome::Success => Some(0),
            Outcome::Exited { code } => Some(*code),
            _ => None,
        }
    }

    pub fn signal(&self) -> Option<i32> {
        match self {
            Outcome::Signaled { signal, .. } => Some(*signal),
            _ => None,
        }
    }
}

/// `30s`, `1.5s`, `250ms`: how durations are written in messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        // Whole milliseconds, trailing zeros dropped: 2.97s, never 2.9699999999999998s.
        let frac = format!("{:03}", ms % 1000);
        format!("{}.{}s", ms / 1000, frac.trim_end_matches('0'))
    } else {
        format!("{ms}ms")
    }
}

/// A process a call left running after it ended (found by the supervision layer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    pub pid: i32,
    /// Its command line, arguments joined by spaces (`[name]` when it has none).
    pub cmdline: String,
}

/// Everything observed about one process run.
#[derive(Debug, Clone)]
pub struct RawCall {
    /// argv as the plugin saw it, argv[0] being the executable path.
    pub argv: Vec<String>,
    pub outcome: Outcome,
    /// Combined stdout+stderr, in write order, up to the policy's cap.
    pub output: Vec<u8>,
    /// Total bytes the plugin wrote (kept or drained).
    pub output_bytes: u64,
    pub truncated: bool,
    /// A descendant still held the output pipe when the leak window closed.
    pub leaked: bool,
    /// Processes of the call's group were still alive after the plugin exited.
    pub group_survived: bool,
    pub duration: Duration,
    /// The plugin's process id (also its process group id); `None` when it never started.
    pub pid: Option<u32>,
    /// Processes the call left running, found by process tree (also those that left its
    /// process group or session). Filled by a supervisor; the plain manager leaves it empty.
    pub leftovers: Box<[Leftover]>,
    /// execnet's own failure (no descriptor, process or thread left): the call says nothing
    /// about the plugin. The message names the limit that was hit.
    pub host_error: Option<Box<str>>,
    /// Proven when the call ended: no orphan of it was re-parented to execnet (a child
    /// subreaper with no child at all; see [`sys::childless_subreaper`]), so there is no need
    /// to read the main thread's children. `false` proves nothing.
    pub(crate) no_orphans: bool,
    /// The plugin calls in flight under the same supervisor when this one started (this one
    /// included); 0: not supervised, unknown. Latency is judged on calls that started with no
    /// more calls in flight than CPUs (a call's chance to be judged does not depend on how long
    /// it takes, so a slow tail is not hidden).
    pub crowd: usize,
}

/// How the manager's calls are run: plainly ([`Direct`]) or through a supervisor that adds
/// certification policy (timeout memory, containment) around the same invocation.
pub trait Runner: Send + Sync + std::fmt::Debug {
    fn run(&self, action: Action, executable: &Path, args: &[&str], policy: &CallPolicy)
    -> RawCall;
}

/// The plain manager: one [`run`] per call, nothing remembered, nothing killed afterwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Direct;

impl Runner for Direct {
    fn run(
        &self,
        _action: Action,
        executable: &Path,
        args: &[&str],
        policy: &CallPolicy,
    ) -> RawCall {
        run(executable, args, policy)
    }
}

/// The leaders in flight, process-wide (`sys::scope`: every supervisor's and every plain
/// manager's, as the kernel re-parents every orphan to the process).
fn leaders_lock() -> MutexGuard<'static, Vec<i32>> {
    sys::scope()
        .leaders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Hold the gate exclusively: no leader is being spawned or is unregistered meanwhile.
pub(crate) fn gate_exclusive() -> RwLockWriteGuard<'static, ()> {
    sys::scope().gate.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn gate_shared() -> RwLockReadGuard<'static, ()> {
    sys::scope().gate.read().unwrap_or_else(|e| e.into_inner())
}

/// The leaders now in flight (spawned, not yet reaped).
pub(crate) fn leaders() -> BTreeSet<i32> {
    leaders_lock().iter().copied().collect()
}

/// Whether `pid` is a leader now in flight.
pub(crate) fn is_leader(pid: i32) -> bool {
    leaders_lock().contains(&pid)
}

/// Is this spawn error execnet's own (a limit of this process or of the system) rather than
/// the plugin's? The message names the limit.
fn host_error_text(err: &std::io::Error) -> Option<String> {
    let limit = |r| sys::soft_limit(r).map_or_else(|| "unlimited".to_string(), |n| n.to_string());
    match err.raw_os_error()? {
        libc::EMFILE => Some(format!(
            "execnet ran out of file descriptors (RLIMIT_NOFILE, soft limit {}): raise `ulimit -n`",
            limit(libc::RLIMIT_NOFILE)
        )),
        libc::ENFILE => Some(
            "the system's file table is full (ENFILE, sysctl fs.file-max): execnet cannot open a pipe"
                .to_string(),
        ),
        libc::EAGAIN => Some(format!(
            "execnet cannot create a process (EAGAIN: RLIMIT_NPROC soft limit {}, or the pids/threads limit of the system or cgroup): raise `ulimit -u`",
            limit(libc::RLIMIT_NPROC)
        )),
        libc::ENOMEM => Some("execnet is out of memory (ENOMEM) and cannot create a process".into()),
        _ => None,
    }
}

/// Processes the plugin's calls hold at a spawn that failed with `EAGAIN` from which on the
/// plugin is taken to hold the process limit: half the headroom execnet asks for before a run
/// (`supervise::MIN_FREE_PROCESSES`).
const PLUGIN_HOLDS_THE_LIMIT: usize = 16;

/// How many processes the plugin's calls hold now: execnet's descendants but its own (the
/// runtime's processes, a PID namespace's init), zombies included (they count against
/// `RLIMIT_NPROC` until reaped).
fn plugin_processes() -> usize {
    let Ok(table) = sys::process_table() else {
        return 0;
    };
    let me = sys::getpid();
    let own = sys::scope()
        .own
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut children: std::collections::BTreeMap<i32, Vec<i32>> = Default::default();
    for p in &table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut stack = vec![me];
    let mut seen = BTreeSet::new();
    let mut n = 0;
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        if pid != me && !own.contains(&pid) {
            n += 1;
        }
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    n
}

/// Spawn `executable args…` under `policy` and supervise it to the end.
pub fn run(executable: &Path, args: &[&str], policy: &CallPolicy) -> RawCall {
    run_watched(executable, args, policy, None)
}

/// A shorter limit a call may learn of while it runs (measured from its start), e.g. because
/// another call of the same action has just timed out. Asked at most every [`WATCH_EVERY`],
/// and only once a call has run past [`PIPE_ONLY`].
pub type Watch<'a> = &'a (dyn Fn() -> Option<Duration> + Sync);

/// How often a long call asks its [`Watch`] for a shorter limit.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);

/// [`run`], with `watch` able to shorten the call's timeout while it runs. A call cut that way
/// is [`Outcome::TimedOut`] after the time it actually ran.
pub fn run_watched(
    executable: &Path,
    args: &[&str],
    policy: &CallPolicy,
    watch: Option<Watch<'_>>,
) -> RawCall {
    let start = Instant::now();
    let spawned = {
        let _gate = gate_shared();
        spawn(executable, args, policy.env.vars()).inspect(|(pid, _)| {
            leaders_lock().push(*pid as i32);
        })
    };
    // Built after the spawn: this runs while the plugin starts, not before it.
    let argv = call_argv(executable, args);
    let (pid, reader) = match spawned {
        Ok(pair) => pair,
        Err((err, ours)) => {
            let host_error = if ours {
                Some(
                    host_error_text(&err)
                        .unwrap_or_else(|| format!("execnet could not prepare the call: {err}")),
                )
            } else if err.raw_os_error() == Some(libc::EAGAIN)
                && plugin_processes() >= PLUGIN_HOLDS_THE_LIMIT
            {
                // The plugin's own processes (this call's predecessors' children, or another
                // call's still running) hold the process limit: the kubelet's fork/exec failed
                // alike on a node whose plugin did that. The plugin's failure, not execnet's.
                None
            } else {
                host_error_text(&err)
            };
            return RawCall {
                argv,
                outcome: Outcome::SpawnFailed {
                    message: format!(
                        "fork/exec {}: {}",
                        executable.display(),
                        gotext::go_errno_text(&err)
                    ),
                },
                output: Vec::new(),
                output_bytes: 0,
                truncated: false,
                leaked: false,
                group_survived: false,
                duration: start.elapsed(),
                pid: None,
                leftovers: Box::default(),
                host_error: host_error.map(String::into_boxed_str),
                no_orphans: false,
                crowd: 0,
            };
        }
    };
    let mut sup = supervise(pid, reader, policy, start, watch);
    leaders_lock().retain(|&p| p != pid as i32);
    sup.argv = argv;
    sup
}

/// argv as the plugin sees it, for the call's record.
fn call_argv(executable: &Path, args: &[&str]) -> Vec<String> {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(executable.to_string_lossy().into_owned());
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// Spawn the plugin. An error is paired with whether it happened in execnet's own preparation
/// (descriptors, pipe) rather than in starting the executable.
fn spawn(
    executable: &Path,
    args: &[&str],
    env: &[std::ffi::CString],
) -> Result<(u32, std::io::PipeReader), (std::io::Error, bool)> {
    let ours = |e| (e, true);
    sys::mark_inherited_fds_cloexec().map_err(ours)?;
    let (reader, writer) = std::io::pipe().map_err(ours)?;
    // In the node sandbox's PID namespace when there is one (`crate::sys::pidns`).
    let pid = crate::sys::pidns::spawn_inside(|| {
        sys::spawn_plugin(executable.as_os_str().as_bytes(), args, env, writer.as_fd())
    })
    .map_err(|e| (e, false))?;
    // The parent keeps no write end: EOF arrives when the plugin (and its heirs) close theirs.
    drop(writer);
    Ok((pid, reader))
}

thread_local! {
    /// One read buffer per thread, zeroed once: a fresh 64 KiB stack buffer per read costs a
    /// measurable share of a ~400 µs call.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// Where the supervised call is.
struct Supervisor<'a> {
    policy: &'a CallPolicy,
    start: Instant,
    output: Vec<u8>,
    output_bytes: u64,
    eof: bool,
}

impl Supervisor<'_> {
    /// Read what is available; keep up to the cap, drain and count the rest.
    fn read_some(&mut self, reader: &mut std::io::PipeReader) {
        SCRATCH.with_borrow_mut(|chunk| self.read_into(reader, chunk));
    }

    fn read_into(&mut self, reader: &mut std::io::PipeReader, chunk: &mut [u8]) {
        match reader.read(chunk) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                self.output_bytes += n as u64;
                let room = self.policy.output_cap.saturating_sub(self.output.len());
                let kept = &chunk[..n.min(room)];
                if self.output.is_empty() {
                    // Most output arrives in one read: one exact allocation.
                    self.output = kept.to_vec();
                } else {
                    self.output.extend_from_slice(kept);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.eof = true,
        }
    }
}

/// How long a call is awaited on its output pipe alone before execnet also watches its exit
/// through a pidfd. Most calls end within it, and their pipe's EOF comes with their exit, so they
/// never pay for a pidfd (`pidfd_open` + `close` cost as much as the rest of the supervision
/// together). A plugin that exits while a descendant keeps the pipe open is seen to have exited
/// at most this late; its leak window starts then.
pub const PIPE_ONLY: Duration = Duration::from_millis(10);

/// How long a timed-out call's group, killed with SIGKILL, may take to die before a member still
/// holding the output pipe counts as a leak: long enough for a loaded machine to schedule the
/// dying processes, short against the per-call timeout that preceded it.
const KILLED_GROUP_DYING: Duration = Duration::from_secs(5);

/// After EOF the plugin is normally in `exit(2)`, between closing its files and becoming a
/// zombie (a few microseconds): give it the CPU this many times before watching it through a
/// pidfd instead (a plugin that closed its output and runs on).
const EXIT_YIELDS: u32 = 32;

/// Reap `pid` if it has exited, yielding the CPU a few times first when it is probably exiting.
fn reap_soon(pid: u32, exiting: bool) -> sys::Waited {
    let mut waited = sys::wait_pid(pid, false);
    let mut yields = 0;
    while exiting && waited == sys::Waited::Running && yields < EXIT_YIELDS {
        sys::yield_now();
        yields += 1;
        waited = sys::wait_pid(pid, false);
    }
    waited
}

fn supervise(
    pgid: u32,
    mut reader: std::io::PipeReader,
    policy: &CallPolicy,
    start: Instant,
    watch: Option<Watch<'_>>,
) -> RawCall {
    // Opened lazily (see PIPE_ONLY); `Some(Err)` when it could not be opened (kernels before
    // 5.3): the child is then looked at every few milliseconds.
    let mut pidfd: Option<std::io::Result<OwnedFd>> = None;
    let mut sup = Supervisor {
        policy,
        start,
        output: Vec::new(),
        output_bytes: 0,
        eof: false,
    };
    let mut deadline = policy.timeout.map(|t| start + t);
    // The limit the call was timed out under: the policy's, or a shorter one learnt from
    // `watch` (then the time the call had run when it was cut).
    let mut timed_out_after = policy.timeout.unwrap_or_default();
    let mut watched_at = start;
    let pipe_only_until = start + PIPE_ONLY;
    let mut status: Option<ExitStatus> = None;
    let mut exited_at: Option<Instant> = None;
    let mut term_sent_at: Option<Instant> = None;
    let mut kill_sent = false;
    let mut leaked = false;
    // The leak window's second look was taken (see the leak check below).
    let mut rechecked = false;
    // A timed-out call's killed group is still dying, holding the pipe.
    let mut dying = false;

    // Most calls end well within PIPE_ONLY: await them as a bare spawn is awaited, with a
    // blocking `read` to EOF and then a blocking `waitpid`, the thread's alarm bounding both.
    // Arming and disarming the alarm are atomic stores (its watchdog thread signals a call that
    // outlasts it), so this costs no system call beyond the floor's, and leaves no exit to
    // catch by yielding. Anything that outlasts the alarm continues in the loop below, which
    // starts from where this left off.
    let fast = sys::Alarm::with(|alarm| {
        let alarm = alarm?;
        let period = policy.timeout.map_or(PIPE_ONLY, |t| t.min(PIPE_ONLY));
        alarm.arm(period.max(Duration::from_micros(100)));
        while !sup.eof && !alarm.fired() {
            sup.read_some(&mut reader);
        }
        let mut waited = None;
        while sup.eof && waited.is_none() && !alarm.fired() {
            waited = sys::wait_pid_interruptible(pgid);
        }
        alarm.disarm();
        waited
    });
    match fast {
        Some(sys::Waited::Exited(st)) => {
            status = Some(st);
            exited_at = Some(Instant::now());
        }
        // The status is gone (reaped elsewhere): the loop below would only find that again.
        Some(sys::Waited::Gone) => sup.eof = true,
        Some(sys::Waited::Running) | None => {}
    }
    let gone = matches!(fast, Some(sys::Waited::Gone));

    loop {
        if gone || (sup.eof && status.is_some()) {
            break;
        }
        let now = Instant::now();
        if let Some(watch) = watch
            && status.is_none()
            && term_sent_at.is_none()
            && now >= pipe_only_until
            && now >= watched_at + WATCH_EVERY
        {
            watched_at = now;
            if let Some(limit) = watch() {
                let cut = start + limit;
                if deadline.is_none_or(|d| cut < d) {
                    deadline = Some(cut);
                    let ran = now.saturating_duration_since(start);
                    timed_out_after = limit.max(Duration::from_millis(ran.as_millis() as u64));
                }
            }
        }
        // Escalate a timeout: SIGTERM to the group, SIGKILL after the grace.
        if status.is_none() {
            if term_sent_at.is_none() && deadline.is_some_and(|d| now >= d) {
                sys::kill_group(pgid, libc::SIGTERM);
                // A stopped group (`kill -STOP $$`) gets to handle it.
                sys::kill_group(pgid, libc::SIGCONT);
                term_sent_at = Some(now);
            }
            if let Some(t) = term_sent_at
                && !kill_sent
                && now >= t + policy.grace
            {
                sys::kill_group(pgid, libc::SIGKILL);
                kill_sent = true;
            }
        }
        if let Some(at) = exited_at
            && !sup.eof
            && now >= at + policy.leak_window
        {
            // Two holders of the pipe that are not the plugin's leak, looked at once the window
            // has passed. (1) Another call's spawn between its clone and its exec holds every
            // descriptor of execnet's (close-on-exec acts only at exec; under load that can
            // outlast the window): wait for the spawns in flight (they hold the gate) and read
            // what the pipe says now. (2) After a timeout, the group execnet killed may still be
            // dying: its members' ends close as they die, so the window counts from the group's
            // end (bounded: a member that never dies is a leftover the supervisor reports).
            if !rechecked {
                rechecked = true;
                drop(gate_exclusive());
                for _ in 0..16 {
                    match sys::poll2(Some(reader.as_fd()), None, Some(Duration::ZERO)) {
                        Ok(r) if r.first => sup.read_some(&mut reader),
                        _ => break,
                    }
                    if sup.eof {
                        break;
                    }
                }
                if sup.eof {
                    continue;
                }
            }
            if term_sent_at.is_some()
                && now < at + policy.leak_window + KILLED_GROUP_DYING
                && sys::group_exists(pgid)
            {
                if !kill_sent {
                    sys::kill_group(pgid, libc::SIGKILL);
                    kill_sent = true;
                }
                dying = true;
            } else {
                leaked = true;
                break;
            }
        }
        if status.is_none() && pidfd.is_none() && (sup.eof || now >= pipe_only_until) {
            // The pipe closed (the usual sign of an exit) or the call is not a quick one. A
            // timed-out leader is left unreaped until its group is killed (below).
            if term_sent_at.is_none() {
                match reap_soon(pgid, sup.eof) {
                    sys::Waited::Exited(st) => {
                        status = Some(st);
                        exited_at = Some(Instant::now());
                        continue;
                    }
                    // The status is gone (reaped elsewhere): never spin on it.
                    sys::Waited::Gone => break,
                    sys::Waited::Running => {}
                }
            }
            pidfd = Some(sys::pidfd_open(pgid));
        }
        let watching = matches!(pidfd, Some(Ok(_)));
        let blind = matches!(pidfd, Some(Err(_)));
        // The next moment something must happen without any fd becoming ready.
        let mut wake = match (status.is_some(), term_sent_at) {
            // Waiting for a killed group to die: look again shortly.
            (true, _) if dying => Some(now + Duration::from_millis(5)),
            (true, _) => exited_at.map(|at| at + policy.leak_window),
            (false, None) => deadline,
            (false, Some(t)) if !kill_sent => Some(t + policy.grace),
            // SIGKILL sent: the exit is imminent; poll the pidfd (or spin gently without one).
            (false, Some(_)) => None,
        };
        if status.is_none() && pidfd.is_none() {
            wake = Some(wake.map_or(pipe_only_until, |w| w.min(pipe_only_until)));
        }
        if watch.is_some() && status.is_none() && term_sent_at.is_none() {
            let next = watched_at.max(pipe_only_until) + WATCH_EVERY;
            wake = Some(wake.map_or(next, |w| w.min(next)));
        }
        let mut wait = wake.map(|w| w.saturating_duration_since(now));
        if blind && status.is_none() {
            // No pidfd (old kernel): look at the child every few milliseconds.
            wait = Some(wait.map_or(Duration::from_millis(5), |w| {
                w.min(Duration::from_millis(5))
            }));
        }
        let pipe_fd = (!sup.eof).then(|| reader.as_fd());
        let exit_fd = match (&pidfd, status) {
            (Some(Ok(fd)), None) => Some(fd.as_fd()),
            _ => None,
        };
        let ready = match sys::poll2(pipe_fd, exit_fd, wait) {
            Ok(r) => r,
            Err(_) => sys::Ready {
                first: pipe_fd.is_some(),
                second: exit_fd.is_some(),
            },
        };
        if ready.first {
            sup.read_some(&mut reader);
        }
        if status.is_none() && ((watching && ready.second) || blind) {
            // Timed out: the leader is a zombie (pidfd readable) and still reserves the group
            // id, so finish the group off before reaping it.
            if term_sent_at.is_some() && ready.second {
                sys::kill_group(pgid, libc::SIGKILL);
            }
            match sys::wait_pid(pgid, ready.second) {
                sys::Waited::Exited(st) => {
                    status = Some(st);
                    exited_at = Some(Instant::now());
                }
                sys::Waited::Running => {}
                // The status is gone (reaped elsewhere): never spin on it.
                sys::Waited::Gone => break,
            }
        }
    }

    // The group is asked directly: a member in another PID namespace is re-parented there,
    // never to execnet. As a child subreaper with no child at all, no orphan of the call came
    // here: one `waitid` instead of the supervisor's read of the children file.
    let group_survived = sys::group_exists(pgid);
    let no_orphans = sys::childless_subreaper();
    if group_survived && term_sent_at.is_some() {
        // A timeout kills the whole group (what execnet adds); anything else the call left is
        // the supervisor's to judge.
        sys::kill_group(pgid, libc::SIGKILL);
    }
    let outcome = match (term_sent_at, status) {
        (Some(_), _) => Outcome::TimedOut {
            after: timed_out_after,
        },
        (None, Some(st)) => classify(st),
        (None, None) => unreachable_exit(),
    };
    let host_error = matches!((term_sent_at, status), (None, None))
        .then(|| "internal error: the plugin's exit status was lost".into());
    let truncated = sup.output_bytes > sup.output.len() as u64;
    RawCall {
        argv: Vec::new(),
        outcome,
        output: sup.output,
        output_bytes: sup.output_bytes,
        truncated,
        leaked,
        group_survived,
        duration: sup.start.elapsed(),
        pid: Some(pgid),
        leftovers: Box::default(),
        host_error,
        no_orphans,
        crowd: 0,
    }
}

/// The loop only ends with a status; this keeps the types honest without a panic.
fn unreachable_exit() -> Outcome {
    Outcome::SpawnFailed {
        message: "internal error: plugin exit status lost".to_string(),
    }
}

fn classify(status: ExitStatus) -> Outcome {
    if let Some(code) = status.code() {
        if code == 0 {
            Outcome::Success
        } else {
            Outcome::Exited { code }
        }
    } else if let Some(signal) = status.signal() {
        Outcome::Signaled {
            signal,
            core_dumped: status.core_dumped(),
        }
    } else {
        Outcome::SpawnFailed {
            message: format!("unexpected wait status {status:?}"),
        }
    }
}
