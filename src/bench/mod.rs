//! `execnet bench`: the cost of a `status` call through the reference manager with every
//! safety feature on (timeout, leak window, output cap, fd hygiene, process group, and the
//! supervision certification adds: child subreaper, leftovers found and killed), against the
//! floor — the same calls of the same executable through a bare `posix_spawn` with one pipe —
//! interleaved in rounds so that machine noise hits both alike. Wall times are medians.
//!
//! Beside wall time it reports what does not depend on how busy the machine is: the parent's
//! CPU time per call (means; the children's time is never included) and, where the machine has
//! hardware counters, the parent's retired instructions per call. With `--jobs J > 1` it also
//! measures throughput scaling: rounds alternating one worker and J workers doing the same
//! number of calls each, for the manager and for the floor.

pub use crate::sys::perf as os;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::plugin::{Action, ExecPlugin};
use crate::supervise::Supervisor;
use crate::sys;

use os::{Clock, CounterScope, InstructionCounter};

/// The pod the benchmark asks about.
pub const BENCH_NAMESPACE: &str = "bench";
pub const BENCH_POD: &str = "bench-pod";
pub const BENCH_ID: &str = "b3c1a0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8";

/// Calls per side in one round; sides alternate which goes first.
const ROUND: usize = 10;

/// Rounds of the `--jobs` scaling measurement.
const SCALING_ROUNDS: usize = 5;

/// Which side(s) to run. One side alone is for profiling the parent with strace, callgrind or
/// perf; the ratio then has nothing to compare and is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    #[default]
    Both,
    Manager,
    Floor,
}

impl Side {
    fn manager(self) -> bool {
        self != Side::Floor
    }
    fn floor(self) -> bool {
        self != Side::Manager
    }
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Calls per side.
    pub calls: usize,
    /// Parallel workers.
    pub jobs: usize,
    pub side: Side,
}

/// docs/cli.md §5's keys first (`calls` … `peak_rss_kib`), then the extensions.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub calls: usize,
    pub jobs: usize,
    /// Median wall time of one manager call.
    pub manager_us_per_call: Option<f64>,
    /// Median wall time of one floor call.
    pub floor_us_per_call: Option<f64>,
    /// manager / floor, wall medians.
    pub ratio: Option<f64>,
    pub peak_rss_kib: u64,
    /// Manager calls that did not succeed (a bench of a failing plugin measures failures).
    pub manager_failures: usize,
    /// Mean CPU time (user + system) the parent spent per manager call.
    pub manager_cpu_us_per_call: Option<f64>,
    /// Mean CPU time the parent spent per floor call.
    pub floor_cpu_us_per_call: Option<f64>,
    /// manager / floor, parent CPU.
    pub cpu_ratio: Option<f64>,
    /// `process` (one job: every thread of execnet) or `thread` (several jobs: each worker's own
    /// clock, summed).
    pub cpu_clock: &'static str,
    /// The user / system split of the CPU time (`getrusage(RUSAGE_THREAD)`, tick-apportioned).
    pub manager_user_us_per_call: Option<f64>,
    pub manager_sys_us_per_call: Option<f64>,
    pub floor_user_us_per_call: Option<f64>,
    pub floor_sys_us_per_call: Option<f64>,
    /// Mean instructions the parent retired per call (the worker thread only); null without
    /// hardware counters.
    pub manager_instructions_per_call: Option<f64>,
    pub floor_instructions_per_call: Option<f64>,
    /// What the instruction counts include: `user_kernel` or `user`; null without counters.
    pub instructions_scope: Option<CounterScope>,
    /// `--jobs J > 1`: throughput of J workers / throughput of one worker (medians of rounds).
    pub manager_jobs_scaling: Option<f64>,
    pub floor_jobs_scaling: Option<f64>,
    /// Manager calls per second with one worker and with J workers (medians of rounds).
    pub manager_calls_per_s_1_job: Option<f64>,
    pub manager_calls_per_s_jobs: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("bench needs at least one call")]
    NoCalls,
    #[error("floor posix_spawn of {path} failed: {source}")]
    Floor {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("executable path {0} contains a NUL byte")]
    BadPath(String),
    #[error("a bench worker panicked")]
    Panicked,
}

fn median_f64(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn median_us(v: Vec<Duration>) -> Option<f64> {
    median_f64(v.into_iter().map(|d| d.as_secs_f64() * 1e6).collect())
}

/// The parent's cost of a number of calls of one side.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    calls: usize,
    cpu: Duration,
    user: Duration,
    sys: Duration,
    instructions: Option<u64>,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        if other.calls == 0 {
            return;
        }
        self.instructions = match (self.instructions, other.instructions) {
            (Some(a), Some(b)) => Some(a + b),
            (None, b) if self.calls == 0 => b,
            _ => None,
        };
        self.calls += other.calls;
        self.cpu += other.cpu;
        self.user += other.user;
        self.sys += other.sys;
    }

    fn per_call_us(&self, d: Duration) -> Option<f64> {
        (self.calls > 0).then(|| d.as_secs_f64() * 1e6 / self.calls as f64)
    }

    fn instructions_per_call(&self) -> Option<f64> {
        self.instructions
            .filter(|_| self.calls > 0)
            .map(|n| n as f64 / self.calls as f64)
    }
}

/// Reads the parent's clocks around a block of calls.
struct Meter<'a> {
    clock: Clock,
    counter: Option<&'a InstructionCounter>,
}

struct Mark {
    cpu: Duration,
    user: Duration,
    sys: Duration,
    instructions: Option<u64>,
}

impl Meter<'_> {
    fn mark(&self) -> Mark {
        let (user, sys) = os::thread_user_sys();
        Mark {
            cpu: os::cpu_time(self.clock),
            user,
            sys,
            instructions: self.counter.and_then(|c| c.read()),
        }
    }

    fn since(&self, start: Mark, calls: usize) -> Cost {
        let end = self.mark();
        Cost {
            calls,
            cpu: end.cpu.saturating_sub(start.cpu),
            user: end.user.saturating_sub(start.user),
            sys: end.sys.saturating_sub(start.sys),
            instructions: match (start.instructions, end.instructions) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            },
        }
    }
}

#[derive(Default)]
struct Samples {
    manager: Vec<Duration>,
    floor: Vec<Duration>,
    manager_cost: Cost,
    floor_cost: Cost,
    failures: usize,
    scope: Option<CounterScope>,
}

/// One manager call and one floor call, with what the bench needs from each.
struct Target<'a> {
    plugin: &'a ExecPlugin,
    argv: &'a [CString],
}

impl Target<'_> {
    fn manager_call(&self) -> bool {
        self.plugin
            .call(Action::Status, BENCH_NAMESPACE, BENCH_POD, BENCH_ID)
            .succeeded()
    }

    fn floor_call(&self) -> Result<(), BenchError> {
        sys::posix_spawn_floor(self.argv)
            .map(|_| ())
            .map_err(|source| BenchError::Floor {
                path: self.plugin.executable.display().to_string(),
                source,
            })
    }
}

fn worker(
    target: &Target<'_>,
    calls: usize,
    side: Side,
    clock: Clock,
) -> Result<Samples, BenchError> {
    let counter = InstructionCounter::open();
    let meter = Meter {
        clock,
        counter: counter.as_ref(),
    };
    let mut s = Samples {
        manager: Vec::with_capacity(calls),
        floor: Vec::with_capacity(calls),
        scope: counter.as_ref().map(|c| c.scope),
        ..Samples::default()
    };
    let mut done = 0;
    let mut round = 0usize;
    while done < calls {
        let n = ROUND.min(calls - done);
        let manager_first = round.is_multiple_of(2);
        for manager_turn in [manager_first, !manager_first] {
            if manager_turn && side.manager() {
                let start = meter.mark();
                for _ in 0..n {
                    let t = Instant::now();
                    let ok = target.manager_call();
                    s.manager.push(t.elapsed());
                    if !ok {
                        s.failures += 1;
                    }
                }
                s.manager_cost.add(meter.since(start, n));
            } else if !manager_turn && side.floor() {
                let start = meter.mark();
                for _ in 0..n {
                    let t = Instant::now();
                    target.floor_call()?;
                    s.floor.push(t.elapsed());
                }
                s.floor_cost.add(meter.since(start, n));
            }
        }
        done += n;
        round += 1;
    }
    Ok(s)
}

/// Calls per second of `workers` threads each making `per_worker` calls of one side.
fn throughput(
    target: &Target<'_>,
    manager: bool,
    workers: usize,
    per_worker: usize,
) -> Result<f64, BenchError> {
    let start = Instant::now();
    let results: Vec<Result<(), BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    for _ in 0..per_worker {
                        if manager {
                            target.manager_call();
                        } else {
                            target.floor_call()?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(BenchError::Panicked)))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok((workers * per_worker) as f64 / elapsed.max(1e-9))
}

/// Scaling of one side: (J-worker throughput, 1-worker throughput) medians over rounds.
struct Scaling {
    manager: Option<(f64, f64)>,
    floor: Option<(f64, f64)>,
}

fn scaling(target: &Target<'_>, opts: &BenchOptions) -> Result<Scaling, BenchError> {
    let per_worker = opts.calls.div_ceil((opts.jobs + 1) * SCALING_ROUNDS).max(1);
    let mut out = Scaling {
        manager: None,
        floor: None,
    };
    for (manager, wanted) in [(true, opts.side.manager()), (false, opts.side.floor())] {
        if !wanted {
            continue;
        }
        let (mut one, mut many) = (Vec::new(), Vec::new());
        for round in 0..SCALING_ROUNDS {
            // Alternate which configuration goes first, as the latency rounds do.
            if round % 2 == 0 {
                one.push(throughput(target, manager, 1, per_worker)?);
                many.push(throughput(target, manager, opts.jobs, per_worker)?);
            } else {
                many.push(throughput(target, manager, opts.jobs, per_worker)?);
                one.push(throughput(target, manager, 1, per_worker)?);
            }
        }
        let pair = median_f64(many).zip(median_f64(one));
        if manager {
            out.manager = pair;
        } else {
            out.floor = pair;
        }
    }
    Ok(out)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Run `calls` manager calls and `calls` floor calls on `jobs` threads.
pub fn run(plugin: &ExecPlugin, opts: BenchOptions) -> Result<BenchReport, BenchError> {
    if opts.calls == 0 {
        return Err(BenchError::NoCalls);
    }
    let jobs = opts.jobs.clamp(1, opts.calls);
    let opts = BenchOptions { jobs, ..opts };
    let exe = CString::new(plugin.executable.as_os_str().as_bytes())
        .map_err(|_| BenchError::BadPath(plugin.executable.display().to_string()))?;
    let argv: Vec<CString> = [
        exe,
        CString::from(c"status"),
        CString::new(BENCH_NAMESPACE).unwrap_or_default(),
        CString::new(BENCH_POD).unwrap_or_default(),
        CString::new(BENCH_ID).unwrap_or_default(),
    ]
    .into();
    // Every safety feature on: the manager's own (timeout, leak window, output cap, fd
    // hygiene, process group) and certification's supervision around it (child subreaper,
    // leftovers found and killed after each call, timeout memory).
    let supervised = plugin
        .clone()
        .with_runner(Supervisor::certify(crate::certify::run::AFTER_TIMEOUT));
    let target = Target {
        plugin: &supervised,
        argv: &argv,
    };
    // Warm-up: page cache, dynamic loader, first-touch allocations.
    for _ in 0..3.min(opts.calls) {
        if opts.side.manager() {
            target.manager_call();
        }
        if opts.side.floor() {
            let _ = target.floor_call();
        }
    }
    // One job: the process clock sees every thread execnet runs on the call's behalf. Several:
    // the process clock would mix the workers, so each reads its own thread's clock.
    let clock = if jobs == 1 {
        Clock::Process
    } else {
        Clock::Thread
    };
    let per_job: Vec<usize> = (0..jobs)
        .map(|j| opts.calls / jobs + usize::from(j < opts.calls % jobs))
        .collect();
    // One job runs on the calling thread, so that a profiler of the main thread sees it all.
    let results: Vec<Result<Samples, BenchError>> = if jobs == 1 {
        vec![worker(&target, opts.calls, opts.side, clock)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = per_job
                .iter()
                .map(|&n| {
                    let target = &target;
                    scope.spawn(move || worker(target, n, opts.side, clock))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(BenchError::Panicked)))
                .collect()
        })
    };
    let mut manager = Vec::with_capacity(opts.calls);
    let mut floor = Vec::with_capacity(opts.calls);
    let mut failures = 0;
    let (mut mc, mut fc) = (Cost::default(), Cost::default());
    let mut scope = None;
    for r in results {
        let s = r?;
        manager.extend(s.manager);
        floor.extend(s.floor);
        failures += s.failures;
        mc.add(s.manager_cost);
        fc.add(s.floor_cost);
        scope = scope.or(s.scope);
    }
    let scale = if jobs > 1 {
        Some(scaling(&target, &opts)?)
    } else {
        None
    };
    let m = median_us(manager);
    let f = median_us(floor);
    let mcpu = mc.per_call_us(mc.cpu);
    let fcpu = fc.per_call_us(fc.cpu);
    let minstr = mc.instructions_per_call();
    let finstr = fc.instructions_per_call();
    let manager_scale = scale.as_ref().and_then(|s| s.manager);
    Ok(BenchReport {
        calls: opts.calls,
        jobs,
        manager_us_per_call: m,
        floor_us_per_call: f,
        ratio: ratio(m, f),
        peak_rss_kib: sys::peak_rss_kib(),
        manager_failures: failures,
        manager_cpu_us_per_call: mcpu,
        floor_cpu_us_per_call: fcpu,
        cpu_ratio: ratio(mcpu, fcpu),
        cpu_clock: match clock {
            Clock::Process => "process",
            Clock::Thread => "thread",
        },
        manager_user_us_per_call: mc.per_call_us(mc.user),
        manager_sys_us_per_call: mc.per_call_us(mc.sys),
        floor_user_us_per_call: fc.per_call_us(fc.user),
        floor_sys_us_per_call: fc.per_call_us(fc.sys),
        manager_instructions_per_call: minstr,
        floor_instructions_per_call: finstr,
        instructions_scope: scope.filter(|_| minstr.is_some() || finstr.is_some()),
        manager_jobs_scaling: manager_scale.map(|(many, one)| many / one),
        floor_jobs_scaling: scale
            .as_ref()
            .and_then(|s| s.floor)
            .map(|(many, one)| many / one),
        manager_calls_per_s_1_job: manager_scale.map(|(_, one)| one),
        manager_calls_per_s_jobs: manager_scale.map(|(many, _)| many),
    })
}
