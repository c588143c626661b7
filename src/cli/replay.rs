//! `execnet replay`: run one scenario through the simulated kubelet and print its transcript.

use std::path::PathBuf;

use anyhow::{Result, bail};
use execnet::kubelet::{self, Profile, ReplayOptions, Scenario};
use execnet::plugin;

use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin directory.
    #[arg(long, value_name = "DIR")]
    plugin_dir: PathBuf,
    /// The plugin name (`NAME`, or `VENDOR/NAME`; empty: the built-in no-op plugin).
    #[arg(long, value_name = "NAME")]
    plugin: String,
    /// The scenario: a file (`conformance/scenarios/*.json`), or the name of a scenario bundled
    /// with execnet (`basic-lifecycle`, `parallel-pods`, …).
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
    let scenario = load_scenario(&args.scenario)?;
    if !args.plugin.is_empty() {
        let probe = super::probe_readable(&args.plugin_dir)?;
        if !probe.has(&args.plugin) {
            return Err(super::not_found(&args.plugin, &args.plugin_dir, &probe));
        }
    }
    let options = ReplayOptions {
        profile,
        seed: args.seed,
        jobs: args.jobs,
        timeout,
        kill_leftovers: false,
        after_timeout: None,
        timeouts: None,
    };
    let transcript = kubelet::replay(&args.plugin_dir, &args.plugin, &scenario, &options);
    match args.format {
        Format::Json => print_json(&transcript)?,
        Format::Text => print!("{}", kubelet::render::render_text(&transcript)),
    }
    Ok(if kubelet::replay::succeeded(&transcript) {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// A scenario file, or else a bundled scenario of that name (what certify's reproduce lines
/// name).
fn load_scenario(arg: &std::path::Path) -> Result<Scenario> {
    if !arg.exists()
        && let Some(name) = arg.to_str()
        && let Some((_, text)) = execnet::certify::embedded::SCENARIOS
            .iter()
            .find(|(n, _)| *n == name)
    {
        let path = PathBuf::from(format!("conformance/scenarios/{name}.json"));
        return Ok(Scenario::parse(text, &path)?);
    }
    Ok(Scenario::load(arg)?)
}
