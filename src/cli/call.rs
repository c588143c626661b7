//! `execnet call`: one call through the reference manager, with selection and `init` first as
//! the kubelet did at start-up (unless `--no-init`).

use anyhow::{Result, bail};
use execnet::plugin::{self, Action, CallPolicy, CallRecord, NetworkPlugin, StatusResult};

use execnet::supervise::Supervisor;

use super::opts::{FormatArg, PluginTarget, TimeoutArg};
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: PluginTarget,
    /// init, setup, teardown or status.
    #[arg(value_name = "ACTION")]
    action: String,
    /// NAMESPACE NAME ID (required for setup, teardown and status).
    #[arg(value_name = "NAMESPACE NAME ID", num_args = 0..=3)]
    pod: Vec<String>,
    #[command(flatten)]
    timeout: TimeoutArg,
    /// Skip selection's init call (the kubelet always made it).
    #[arg(long)]
    no_init: bool,
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
    let PluginTarget { plugin_dir, plugin } = &args.target;
    let policy = CallPolicy::default().with_timeout(args.timeout.timeout.0);
    let probe = super::probe_readable(plugin_dir)?;
    let run_init = !args.no_init || action == Action::Init;
    let supervisor = Supervisor::replay();
    let selection =
        plugin::select::select_with(&probe.plugins, plugin, policy, run_init, supervisor.clone());
    for err in &selection.errors {
        errln!("execnet: kubelet start-up error: {err}");
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
    if !plugin::select::is_executable(&exec.executable) {
        // Selection failed before any process ran: report it as the init step that failed.
        errln!(
            "execnet: {} is not executable (access X_OK failed)",
            exec.executable.display()
        );
        return Ok(Verdict::Failed);
    }
    let record = if let Some(init) = selection.init.clone() {
        if action == Action::Init || !init.succeeded() {
            init
        } else {
            exec.call(action, &args.pod[0], &args.pod[1], &args.pod[2])
        }
    } else {
        exec.call(action, &args.pod[0], &args.pod[1], &args.pod[2])
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
    let status_failed = matches!(record.status, Some(StatusResult::Error { .. }));
    Ok(if record.succeeded() && !status_failed {
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
        Some(StatusResult::Status { ip: Some(ip) }) => outln!("status: ip {ip}"),
        Some(StatusResult::Status { ip: None }) => {
            outln!("status: no ip (the real kubelet reported the pod IP as <nil>)")
        }
        Some(StatusResult::Error { message }) => outln!("status: error: {message}"),
    }
}
