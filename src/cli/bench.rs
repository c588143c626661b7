//! `execnet bench`: manager vs bare posix_spawn, per docs/cli.md §5, plus the parent's CPU time
//! and instructions per call and `--jobs` scaling.

use anyhow::{Context, Result, bail};
use execnet::bench::{BenchOptions, BenchReport, Side};
use execnet::plugin::{self, CallPolicy, NetworkPlugin};

use super::opts::{FormatArg, PluginTarget, parse_jobs};
use super::{Format, Verdict, print_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SideArg {
    /// Manager and floor, interleaved in rounds (the comparison).
    Both,
    /// Only manager calls.
    Manager,
    /// Only floor calls.
    Floor,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: PluginTarget,
    /// Status calls per side: N through the manager and N through the bare posix_spawn floor,
    /// interleaved in rounds of 10 that alternate which side goes first.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = parse_calls)]
    calls: usize,
    /// Parallel workers, each making its share of the calls on both sides. Above 1 the bench
    /// also measures throughput scaling: rounds alternating 1 and J workers, for the manager
    /// and for the floor.
    #[arg(long, value_name = "J", default_value_t = 1, value_parser = parse_jobs)]
    jobs: usize,
    /// Run one side only, to profile the parent under strace, callgrind or perf (the ratios
    /// are then null).
    #[arg(long, value_enum, default_value_t = SideArg::Both)]
    side: SideArg,
    #[command(flatten)]
    format: FormatArg,
}

/// The most `--calls`: the samples of both sides are kept (16 bytes a call each).
const MAX_CALLS: usize = 10_000_000;

fn parse_calls(text: &str) -> Result<usize, String> {
    match text.parse::<u128>() {
        Ok(n) if n <= MAX_CALLS as u128 => Ok(n as usize),
        Ok(_) => Err(format!("at most {MAX_CALLS} calls per side")),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

pub fn run(args: Args) -> Result<Verdict> {
    let PluginTarget { plugin_dir, plugin } = &args.target;
    let probe = super::probe_readable(plugin_dir)?;
    let selection = plugin::select(
        &probe.plugins,
        plugin,
        CallPolicy::default(),
        true,
        plugin::SelectionTexts::default(),
    );
    let exec = match &selection.plugin {
        Some(NetworkPlugin::Exec(p)) => p,
        _ => bail!(
            "cannot bench {:?} in {}: {}",
            plugin,
            plugin_dir.display(),
            selection.error_text().unwrap_or_default()
        ),
    };
    if let Some(init) = &selection.init
        && !init.succeeded()
    {
        bail!(
            "{}",
            selection
                .error_text()
                .unwrap_or_else(|| "init failed".into())
        );
    }
    let opts = BenchOptions {
        calls: args.calls,
        jobs: args.jobs,
        side: match args.side {
            SideArg::Both => Side::Both,
            SideArg::Manager => Side::Manager,
            SideArg::Floor => Side::Floor,
        },
    };
    let report = execnet::bench::run(exec, opts);
    // The floor's calls have no per-call containment: whatever the plugin left (execnet is a
    // child subreaper, so its orphans are execnet's) goes now, said.
    match execnet::supervise::kill_left_behind() {
        Ok(left) if !left.is_empty() => errln!(
            "execnet: the plugin's calls left {} process(es) running; killed: {}",
            left.len(),
            left.iter()
                .take(5)
                .map(|l| format!("{} ({})", l.pid, l.cmdline))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ok(_) => {}
        Err(e) => errln!("execnet: cannot look for processes the calls left: {e}"),
    }
    let report = report.with_context(|| format!("benchmarking {}", exec.executable.display()))?;
    match args.format.format {
        Format::Json => print_json(&report)?,
        Format::Text => print_text(&report, &exec.executable.display().to_string()),
    }
    Ok(Verdict::Ok)
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

fn print_text(r: &BenchReport, executable: &str) {
    outln!(
        "{} status calls × {} job(s) of {executable}",
        r.calls,
        r.jobs
    );
    outln!(
        "{:<9}{:>12}{:>14}{:>12}{:>12}{:>16}",
        "",
        "wall µs",
        "parent CPU µs",
        "user µs",
        "sys µs",
        "instructions"
    );
    let row = |name: &str, wall, cpu, user, sys, ins| {
        outln!(
            "{name:<9}{:>12}{:>14}{:>12}{:>12}{:>16}",
            num(wall, 1),
            num(cpu, 1),
            num(user, 1),
            num(sys, 1),
            num(ins, 0)
        );
    };
    row(
        "manager",
        r.manager_us_per_call,
        r.manager_cpu_us_per_call,
        r.manager_user_us_per_call,
        r.manager_sys_us_per_call,
        r.manager_instructions_per_call,
    );
    row(
        "floor",
        r.floor_us_per_call,
        r.floor_cpu_us_per_call,
        r.floor_user_us_per_call,
        r.floor_sys_us_per_call,
        r.floor_instructions_per_call,
    );
    outln!(
        "ratio    {:>12}{:>14}   (wall: medians; CPU: means, {} clock)",
        num(r.ratio, 3),
        num(r.cpu_ratio, 3),
        r.cpu_clock
    );
    if r.manager_instructions_per_call.is_none() && r.floor_instructions_per_call.is_none() {
        outln!("instructions: no hardware counter available");
    }
    if r.manager_jobs_scaling.is_some() || r.floor_jobs_scaling.is_some() {
        outln!(
            "scaling  {} jobs / 1 job: manager {} ({} → {} calls/s), floor {}",
            r.jobs,
            num(r.manager_jobs_scaling, 2),
            num(r.manager_calls_per_s_1_job, 0),
            num(r.manager_calls_per_s_jobs, 0),
            num(r.floor_jobs_scaling, 2)
        );
    }
    outln!("peak RSS {:>12} KiB", r.peak_rss_kib);
    if r.manager_failures > 0 {
        outln!(
            "note: {} manager call(s) did not succeed",
            r.manager_failures
        );
    }
}
