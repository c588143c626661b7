//! `execnet bench`: manager vs bare posix_spawn, per SPEC section 5.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use execnet::plugin::{self, CallPolicy, NetworkPlugin};

use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_name = "DIR")]
    plugin_dir: PathBuf,
    #[arg(long, value_name = "NAME")]
    plugin: String,
    /// Status calls per side (manager and floor).
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Parallel workers.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args) -> Result<Verdict> {
    let probe = super::probe_readable(&args.plugin_dir)?;
    let selection = plugin::select(&probe.plugins, &args.plugin, CallPolicy::default(), true);
    let exec = match &selection.plugin {
        Some(NetworkPlugin::Exec(p)) => p,
        _ => bail!(
            "cannot bench {:?} in {}: {}",
            args.plugin,
            args.plugin_dir.display(),
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
    let report = execnet::bench::run(exec, args.calls, args.jobs)
        .with_context(|| format!("benchmarking {}", exec.executable.display()))?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            outln!(
                "{} status calls × {} job(s) of {}",
                report.calls,
                report.jobs,
                exec.executable.display()
            );
            outln!(
                "manager  {:>9.1} µs/call (median)",
                report.manager_us_per_call
            );
            outln!(
                "floor    {:>9.1} µs/call (median, bare posix_spawn)",
                report.floor_us_per_call
            );
            outln!("ratio    {:>9.3}", report.ratio);
            outln!("peak RSS {:>9} KiB", report.peak_rss_kib);
            if report.manager_failures > 0 {
                outln!(
                    "note: {} manager call(s) did not succeed",
                    report.manager_failures
                );
            }
        }
    }
    Ok(Verdict::Ok)
}
