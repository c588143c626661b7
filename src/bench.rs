//! `execnet bench`: the cost of a `status` call through the reference manager with every
//! safety feature on (timeout, leak window, output cap, fd hygiene, process group), against the
//! floor — the same calls of the same executable through a bare `posix_spawn` with one pipe —
//! interleaved in rounds so that machine noise hits both alike. Medians are reported.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::plugin::{Action, ExecPlugin, sys};

/// The pod the benchmark asks about.
pub const BENCH_NAMESPACE: &str = "bench";
pub const BENCH_POD: &str = "bench-pod";
pub const BENCH_ID: &str = "b3c1a0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8";

/// Calls per side in one round; sides alternate which goes first.
const ROUND: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub calls: usize,
    pub jobs: usize,
    pub manager_us_per_call: f64,
    pub floor_us_per_call: f64,
    pub ratio: f64,
    pub peak_rss_kib: u64,
    /// Manager calls that did not succeed (a bench of a failing plugin measures failures).
    pub manager_failures: usize,
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
}

fn median(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    if v.len() % 2 == 1 {
        us(v[mid])
    } else {
        (us(v[mid - 1]) + us(v[mid])) / 2.0
    }
}

struct Samples {
    manager: Vec<Duration>,
    floor: Vec<Duration>,
    failures: usize,
}

fn worker(plugin: &ExecPlugin, argv: &[CString], calls: usize) -> Result<Samples, BenchError> {
    let mut s = Samples {
        manager: Vec::with_capacity(calls),
        floor: Vec::with_capacity(calls),
        failures: 0,
    };
    let mut round = 0usize;
    while s.manager.len() < calls {
        let n = ROUND.min(calls - s.manager.len());
        let manager_first = round.is_multiple_of(2);
        for side in 0..2 {
            if (side == 0) == manager_first {
                for _ in 0..n {
                    let t = Instant::now();
                    let rec = plugin.call(Action::Status, BENCH_NAMESPACE, BENCH_POD, BENCH_ID);
                    s.manager.push(t.elapsed());
                    if !rec.succeeded() {
                        s.failures += 1;
                    }
                }
            } else {
                for _ in 0..n {
                    let t = Instant::now();
                    sys::posix_spawn_floor(argv).map_err(|source| BenchError::Floor {
                        path: plugin.executable.display().to_string(),
                        source,
                    })?;
                    s.floor.push(t.elapsed());
                }
            }
        }
        round += 1;
    }
    Ok(s)
}

/// Run `calls` manager calls and `calls` floor calls on `jobs` threads.
pub fn run(plugin: &ExecPlugin, calls: usize, jobs: usize) -> Result<BenchReport, BenchError> {
    if calls == 0 {
        return Err(BenchError::NoCalls);
    }
    let jobs = jobs.clamp(1, calls);
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
    // Warm-up: page cache, dynamic loader, first-touch allocations.
    for _ in 0..3.min(calls) {
        plugin.call(Action::Status, BENCH_NAMESPACE, BENCH_POD, BENCH_ID);
        let _ = sys::posix_spawn_floor(&argv);
    }
    let per_job: Vec<usize> = (0..jobs)
        .map(|j| calls / jobs + usize::from(j < calls % jobs))
        .collect();
    let results: Vec<Result<Samples, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = per_job
            .iter()
            .map(|&n| {
                let argv = &argv;
                scope.spawn(move || worker(plugin, argv, n))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BenchError::Floor {
                        path: plugin.executable.display().to_string(),
                        source: std::io::Error::other("bench worker panicked"),
                    })
                })
            })
            .collect()
    });
    let mut manager = Vec::with_capacity(calls);
    let mut floor = Vec::with_capacity(calls);
    let mut failures = 0;
    for r in results {
        let s = r?;
        manager.extend(s.manager);
        floor.extend(s.floor);
        failures += s.failures;
    }
    let m = median(manager);
    let f = median(floor);
    Ok(BenchReport {
        calls,
        jobs,
        manager_us_per_call: m,
        floor_us_per_call: f,
        ratio: if f > 0.0 { m / f } else { 0.0 },
        peak_rss_kib: sys::peak_rss_kib(),
        manager_failures: failures,
    })
}
