//! `execnet bench`: manager vs bare posix_spawn, per SPEC section 5.

use anyhow::{Context, Result, bail};
use execnet::plugin::{self, CallPolicy, NetworkPlugin};

use super::opts::{FormatArg, PluginTarget};
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: PluginTarget,
    /// Status calls per side: N through the manager and N through the bare posix_spawn floor,
    /// interleaved in rounds.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    calls: usize,
    /// Parallel workers, each making its share of the calls on both sides.
    #[arg(long, value_name = "J", default_value_t = 1)]
    jobs: usize,
    #[command(flatten)]
    format: FormatArg,
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
    let report = execnet::bench::run(exec, args.calls, args.jobs)
        .with_context(|| format!("benchmarking {}", exec.executable.display()))?;
    match args.format.format {
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
