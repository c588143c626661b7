//! `execnet replay`: run one scenario through the simulated kubelet and print its transcript.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use execnet::certify::embedded;
use execnet::kubelet::{self, ReplayOptions, Scenario};
use execnet::supervise::Supervisor;

use super::opts::{FormatArg, KubeletArgs, MaybePluginTarget};
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: MaybePluginTarget,
    /// A scenario file, or the name of a bundled scenario (`execnet scenarios` lists them).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    #[command(flatten)]
    kubelet: KubeletArgs,
    /// No per-call timeout, as the kubelet had (the same as `--timeout 0`): a hung plugin
    /// hangs the replay, as it hung the kubelet.
    #[arg(long, conflicts_with = "timeout")]
    no_timeout: bool,
    #[command(flatten)]
    format: FormatArg,
    /// The container runtime: sim (no privileges) or netns (real namespaces, as root).
    #[arg(long, value_enum, default_value_t = super::netns::RuntimeKind::Sim)]
    runtime: super::netns::RuntimeKind,
    #[command(flatten)]
    netns: super::netns::NetnsArgs,
}

pub fn run(args: Args) -> Result<Verdict> {
    let scenario = load(&args.scenario)?;
    // Without --plugin-dir/--plugin: a fresh copy of the bundled reference plugin, as certify.
    let bundled;
    let (plugin_dir, plugin) = match args.target.get() {
        Some(t) => t,
        None => {
            bundled = embedded::BundledReference::install()
                .context("cannot install the bundled reference plugin")?;
            (bundled.path(), embedded::REFERENCE_NAME)
        }
    };
    if !plugin.is_empty() {
        let probe = super::probe_readable(plugin_dir)?;
        if !probe.has(plugin) {
            return Err(super::not_found(plugin, plugin_dir, &probe));
        }
    }
    execnet::supervise::preflight().map_err(anyhow::Error::msg)?;
    let supervisor = Supervisor::replay();
    let options = ReplayOptions {
        profile: args.kubelet.kubelet,
        seed: args.kubelet.seed,
        jobs: args.kubelet.jobs,
        timeout: if args.no_timeout {
            None
        } else {
            args.kubelet.timeout()
        },
        runner: Some(supervisor.clone()),
        runtime: match args.runtime {
            super::netns::RuntimeKind::Sim => None,
            super::netns::RuntimeKind::Netns => Some(std::sync::Arc::new(args.netns.start()?)),
        },
    };
    let transcript = kubelet::replay(plugin_dir, plugin, &scenario, &options);
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
    match args.format.format {
        Format::Json => print_json(&transcript)?,
        Format::Text => out!("{}", kubelet::render::render_text(&transcript)),
    }
    Ok(if kubelet::replay::succeeded(&transcript) {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// A scenario file when `arg` names one, else the bundled scenario of that name; neither is a
/// usage error that says both what was looked for and what is bundled.
fn load(arg: &Path) -> Result<Scenario> {
    if arg.exists() {
        return Ok(Scenario::load(arg)?);
    }
    if let Some(name) = arg.to_str()
        && let Some(scenario) = embedded::scenario(name)
    {
        return Ok(scenario?);
    }
    bail!(
        "cannot read scenario {}: no such file, and no bundled scenario of that name (bundled: {})",
        arg.display(),
        embedded::scenario_names().join(", ")
    )
}
