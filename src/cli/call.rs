//! `execnet call`: one call through the reference manager, with selection and `init` first as
//! the kubelet did at start-up (unless `--no-init`). Any selection error stops here, as it
//! stopped the kubelet: the aggregate on stderr exactly as Go formatted it, exit 1, and neither
//! init nor the action runs.

use anyhow::{Context, Result, bail};
use execnet::plugin::{
    self, Action, CallPolicy, CallRecord, NetworkPlugin, SelectionError, SelectionTexts,
    StatusResult,
};

use execnet::supervise::Supervisor;

use super::opts::{FormatArg, MaybePluginTarget, TimeoutArg};
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: MaybePluginTarget,
    /// init, setup, teardown or status.
    #[arg(value_name = "ACTION")]
    action: String,
    /// NAMESPACE NAME ID (required for setup, teardown and status).
    #[arg(value_name = "NAMESPACE NAME ID", num_args = 0..=3)]
    pod: Vec<String>,
    #[command(flatten)]
    timeout: TimeoutArg,
    #[command(flatten)]
    pass_env: super::opts::PassEnvArg,
    /// Skip selection's init call (the kubelet always made it).
    #[arg(long)]
    no_init: bool,
    #[command(flatten)]
    kubelet: super::opts::SelectionTextsArg,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: Args) -> Result<Verdict> {
    let Some(action) = Action::parse(&args.action) else {
        bail!(
            "unknown action '{}': expected init, setup, teardown or status",
            args.action
        );
    };
    match (action, args.pod.len()) {
        (Action::Init, 0) => {}
        (Action::Init, _) => bail!("init takes no NAMESPACE NAME ID (the kubelet passed none)"),
        (_, 3) => {}
        (_, n) => bail!("{action} needs NAMESPACE NAME ID, got {n} argument(s)"),
    }
    // Without --plugin-dir/--plugin: a fresh copy of the bundled reference plugin, as certify.
    let bundled;
    let (plugin_dir, plugin) = match args.target.get() {
        Some(t) => t,
        None => {
            bundled = execnet::certify::embedded::BundledReference::install()
                .context("cannot install the bundled reference plugin")?;
            (bundled.path(), execnet::certify::embedded::REFERENCE_NAME)
        }
    };
    let profile = args.kubelet.kubelet;
    let texts = SelectionTexts::for_profile(profile.name);
    let policy = CallPolicy::default()
        .with_timeout(args.timeout.timeout.0)
        .with_env(args.pass_env.env()?);
    // A missing or unreadable directory is no error for the kubelet: it sees no plugins, and
    // selection says the plugin was not found (execnet adds why, see `not_found_with`).
    let probe = plugin::probe(plugin_dir);
    // Selection first without init: InitNetworkPlugin validated every probed name before it
    // called Init, and the kubelet refused to start on any error, so `call` stops here too.
    let selection = plugin::select(&probe.plugins, plugin, policy, false, texts);
    if let Some(aggregate) = selection.error_text() {
        let not_found = selection
            .errors
            .iter()
            .any(|e| matches!(e, SelectionError::NotFound { .. }));
        if not_found {
            // Nothing to call: a setup error (exit 2), the kubelet's text first.
            return Err(super::not_found_with(&aggregate, plugin_dir, &probe));
        }
        errln!("{aggregate}");
        // A missing executable: say what the kubelet expected and what is there, rather than
        // leave only its words about permissions of a file that does not exist.
        if let Some(what) = selection.exec_plugin().and_then(|chosen| {
            probe
                .plugins
                .iter()
                .find(|p| p.executable == chosen.executable)
                .and_then(|p| p.missing_executable())
        }) {
            errln!("execnet: {what}");
        }
        errln!(
            "execnet: kubelet {} would not start with this plugin directory (error above, as the kubelet printed it); no init and no {action} were run",
            profile.name
        );
        return Ok(Verdict::Failed);
    }
    let exec = match &selection.plugin {
        None => return Err(super::not_found(plugin, plugin_dir, &probe)),
        Some(NetworkPlugin::NoOp) => {
            bail!(
                "the no-op plugin ({}) runs no executable",
                plugin::NOOP_NAME
            )
        }
        Some(NetworkPlugin::Exec(p)) => p,
    };
    // Supervised as a replay is: leftovers reported, then ended with the run.
    let supervisor = Supervisor::replay();
    let exec = &exec.clone().with_runner(supervisor.clone());
    let run_init = !args.no_init || action == Action::Init;
    let mut record = None;
    if run_init {
        let init = exec.init();
        if let Some(error) = init.outcome().error() {
            errln!(
                "{}",
                SelectionError::InitFailed {
                    name: exec.name.clone(),
                    error,
                }
            );
            record = Some(init);
        } else if action == Action::Init {
            record = Some(init);
        }
    }
    let record = match record {
        Some(init) => init,
        None => exec.call(action, &args.pod[0], &args.pod[1], &args.pod[2]),
    };
    let killed = supervisor.finish();
    if let Some(e) = supervisor.host_error() {
        bail!("{e}; the call says nothing about the plugin (this is execnet's failure)");
    }
    match args.format.format {
        Format::Json => print_json(&record)?,
        Format::Text => print_text(&record),
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
    if record.raw.leaked {
        errln!(
            "execnet: warning: a descendant of the plugin still held its output pipe after it exited (leaked)"
        );
    }
    // What the call showed, judged as the checks judge it: a status the kubelet could not use
    // (status-json/ip-present, ip-valid), a pipe or process left behind (leak/*).
    let status_ok = match &record.status {
        None | Some(StatusResult::None) => true,
        Some(StatusResult::Status { ip: Some(ip), .. }) => {
            let usable = !ip.is_loopback() && !ip.is_unspecified();
            if !usable {
                errln!(
                    "execnet: status gave {ip}: no address other pods can reach (status-json/ip-valid)"
                );
            }
            usable
        }
        Some(StatusResult::Status { ip: None, .. }) => {
            let fallback = profile.empty_ip == execnet::kubelet::profile::EmptyIpPolicy::Fallback;
            if !fallback {
                errln!(
                    "execnet: the document has no ip: kubelet {} reports the pod IP as <nil> (status-json/ip-present)",
                    profile.name
                );
            }
            fallback
        }
        Some(_) => false,
    };
    let left = record.raw.leaked || record.raw.group_survived || !record.raw.leftovers.is_empty();
    if left && !record.raw.leaked {
        errln!("execnet: processes of the call outlived it (leak/process-group)");
    }
    Ok(if record.succeeded() && status_ok && !left {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

fn print_text(record: &CallRecord) {
    let raw = &record.raw;
    outln!("$ {}", raw.argv.join(" "));
    let ms = raw.duration.as_secs_f64() * 1000.0;
    match raw.outcome.error() {
        None => outln!("result: success ({ms:.1} ms)"),
        Some(e) => outln!("result: {e} ({ms:.1} ms)"),
    }
    let mut flags = Vec::new();
    if raw.truncated {
        flags.push(format!(
            "truncated: kept {} of {} bytes",
            raw.output.len(),
            raw.output_bytes
        ));
    }
    if raw.leaked {
        flags.push("leaked: output pipe still held after exit".to_string());
    }
    if raw.group_survived {
        flags.push("processes of the call's group outlived it".to_string());
    }
    if !raw.leftovers.is_empty() {
        flags.push(format!("left running: {}", super::cmdlines(&raw.leftovers)));
    }
    for f in flags {
        outln!("flag: {f}");
    }
    if raw.output.is_empty() {
        outln!("output: (none)");
    } else {
        outln!("output ({} bytes):", raw.output_bytes);
        for line in record.output_text().lines() {
            outln!("  | {line}");
        }
    }
    match &record.status {
        None => {}
        Some(StatusResult::None) => {
            outln!("status: none (the kubelet falls back to the runtime's IP)")
        }
        Some(StatusResult::Status { ip: Some(ip), .. }) => outln!("status: ip {ip}"),
        Some(StatusResult::Status { ip: None, .. }) => {
            outln!("status: no ip (the real kubelet reported the pod IP as <nil>)")
        }
        Some(StatusResult::Error { message }) => outln!("status: error: {message}"),
        Some(not_judged @ StatusResult::NotJudged { .. }) => {
            outln!("status: {}", not_judged.message().unwrap_or_default())
        }
    }
}
