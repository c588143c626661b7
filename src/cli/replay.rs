//! `execnet replay`: run one scenario through the simulated kubelet and print its transcript.

use std::path::PathBuf;

use anyhow::{Result, bail};
use execnet::kubelet::{self, Profile, ReplayOptions, Scenario};
use execnet::plugin;
use execnet::supervise::Supervisor;

use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin directory.
    #[arg(long, value_name = "DIR")]
    plugin_dir: PathBuf,
    /// The plugin name (`NAME`, or `VENDOR/NAME`; empty: the built-in no-op plugin).
    #[arg(long, value_name = "NAME")]
    plugin: String,
    /// The scenario file (`conformance/scenarios/*.json`).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Kubelet profile: 1.1, 1.2, 1.3, 1.4, 1.5 or documented.
    #[arg(long, value_name = "PROFILE", default_value = kubelet::profile::DEFAULT_PROFILE)]
    kubelet: String,
    /// Seed for container IDs and runtime IPs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Pod workers (default: the scenario's `jobs`, else 1).
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Per-call timeout (e.g. 30s, 500ms; 0 or off: none, as the kubelet).
    #[arg(long, value_name = "DUR", default_value = "30s")]
    timeout: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args) -> Result<Verdict> {
    let profile = Profile::by_name(&args.kubelet)?;
    let timeout = plugin::policy::parse_duration(&args.timeout).map_err(anyhow::Error::msg)?;
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let scenario = Scenario::load(&args.scenario)?;
    if !args.plugin.is_empty() {
        let probe = super::probe_readable(&args.plugin_dir)?;
        if !probe.has(&args.plugin) {
            return Err(super::not_found(&args.plugin, &args.plugin_dir, &probe));
        }
    }
    execnet::supervise::preflight().map_err(anyhow::Error::msg)?;
    let supervisor = Supervisor::replay();
    let options = ReplayOptions {
        profile,
        seed: args.seed,
        jobs: args.jobs,
        timeout,
        runner: Some(supervisor.clone()),
    };
    let transcript = kubelet::replay(&args.plugin_dir, &args.plugin, &scenario, &options);
    // Leftovers were reported call by call and left running, as on a node; the run is over.
    let killed = supervisor.finish();
    if let Some(e) = supervisor.host_error() {
        bail!("{e}; the transcript is void (this is execnet's failure, not the plugin's)");
    }
    match killed {
        Ok(k) if !k.is_empty() => errln!(
            "execnet: killed {} process(es) the plugin left running: {}",
            k.len(),
            super::cmdlines(&k)
        ),
        Ok(_) => {}
        Err(e) => bail!("cannot read the process table to end what the plugin left: {e}"),
    }
    match args.format {
        Format::Json => print_json(&transcript)?,
        Format::Text => out!("{}", kubelet::render::render_text(&transcript)),
    }
    Ok(if kubelet::replay::succeeded(&transcript) {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}
