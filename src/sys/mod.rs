//! Every `unsafe` of execnet: the raw OS calls `std` does not offer, each behind a small safe
//! function. The rest of the crate denies `unsafe_code`; here every unsafe block says why it is
//! sound (`// SAFETY:`).
//!
//! - [`spawn`]: starting a plugin with `posix_spawn` (the manager's path and the bench floor's),
//!   descriptors marked close-on-exec, a daemon tied to its starter.
//! - [`process`]: signalling and waiting (`kill`, `waitpid`, `pidfd_open`, `poll`).
//! - [`alarm`]: the per-thread alarm that bounds a call's blocking wait.
//! - [`proc`]: the `/proc` process table, the child-subreaper bit and the orphans it collects.
//! - [`limits`]: resource limits and usage.
//! - [`signal`]: the signal-handling thread's masks, `sigwait` and `_exit`.
//! - [`fs`]: `access(2)` and the identity of stdout.
//! - [`ns`], [`pause`]: the netns runtime's namespace and mount calls and its pause processes.
//! - [`perf`]: the bench's CPU clocks and instruction counter.
//! - [`pidns`]: the node sandbox's PID namespace and its init; [`marker`]: the mark every process
//!   of a run inherits, so that `gc` finds what a killed execnet left.
//!
//! Process-wide state lives here only where a signal handler, the signal thread or the kernel's
//! per-process facts require it, each static saying why: [`scope()`] (the process's children and
//! what the signal thread does), the alarm's watchdog and its handler's flag ([`alarm`]), the
//! subreaper bit and the kept `children` file ([`proc`]).

pub mod alarm;
pub mod fs;
pub mod limits;
pub mod marker;
pub mod ns;
pub mod pause;
pub mod perf;
pub mod pidns;
pub mod proc;
pub mod process;
pub mod scope;
pub mod signal;
pub mod spawn;

pub use alarm::Alarm;
pub use fs::{access, stdout_identity};
pub use limits::{peak_rss_kib, raise_nofile_limit, soft_limit};
pub use ns::{mount, setns, umount_detach, unlink_at, unshare};
pub use pause::fork_pause;
pub use proc::{
    ProcStat, childless_subreaper, cmdline, load_average, main_thread_children, process_table,
    processes_since, set_child_subreaper, tasks_of_user,
};
pub use process::{
    Ready, Waited, geteuid, getpid, group_exists, kill_group, kill_pid, pidfd_open, poll2,
    reap_nohang, wait_pid, wait_pid_interruptible, yield_now,
};
pub use scope::{ProcessScope, scope};
pub use signal::{block_signals, exit_now, wait_signal};
pub use spawn::{die_with_parent, mark_inherited_fds_cloexec, posix_spawn_floor, spawn_plugin};
