//! `execnet replay`: run one scenario through the simulated kubelet and print its transcript.

use std::path::PathBuf;

use anyhow::Result;
use execnet::kubelet::{self, ReplayOptions, Scenario};

use super::opts::{FormatArg, KubeletArgs, PluginTarget};
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: PluginTarget,
    /// The scenario: a file (`conformance/scenarios/*.json`), or the name of a scenario bundled
    /// with execnet (`basic-lifecycle`, `parallel-pods`, …).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    #[command(flatten)]
    kubelet: KubeletArgs,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: Args) -> Result<Verdict> {
    let scenario = load_scenario(&args.scenario)?;
    let PluginTarget { plugin_dir, plugin } = &args.target;
    if !plugin.is_empty() {
        let probe = super::probe_readable(plugin_dir)?;
        if !probe.has(plugin) {
            return Err(super::not_found(plugin, plugin_dir, &probe));
        }
    }
    let options = ReplayOptions {
        profile: args.kubelet.kubelet,
        seed: args.kubelet.seed,
        jobs: args.kubelet.jobs,
        timeout: args.kubelet.timeout(),
        kill_leftovers: false,
        after_timeout: None,
        timeouts: None,
    };
    let transcript = kubelet::replay(plugin_dir, plugin, &scenario, &options);
    match args.format.format {
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
