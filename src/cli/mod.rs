//! Command-line parsing and exit codes (SPEC section 5): 0 success/pass, 1 a plugin or a check
//! failed, 2 usage or setup error with the message on stderr. `anyhow` lives here only.

mod bench;
mod call;
mod certify;
mod netns;
mod opts;
mod probe;
mod replay;
mod scenarios;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// What a subcommand concluded.
pub enum Verdict {
    Ok,
    Failed,
}

#[derive(Debug, Parser)]
#[command(
    name = "execnet",
    version,
    about = "Certify kubelet exec network plugins, with the reference plugin manager and a simulated kubelet",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the plugins the kubelet would see in a plugin directory, with their problems.
    Probe(probe::Args),
    /// Make one call through the reference manager (selection and init first, as the kubelet).
    Call(call::Args),
    /// Run the conformance suite against a plugin (default: the bundled reference plugin) and
    /// judge it, check by check.
    Certify(certify::Args),
    /// Time status calls through the manager against a bare posix_spawn floor.
    Bench(bench::Args),
    /// Replay one scenario (a file, or a bundled scenario's name) through the simulated kubelet
    /// and print its transcript.
    Replay(replay::Args),
    /// Run a command inside a netns node sandbox (as root), with N infra containers.
    Sandbox(netns::SandboxArgs),
    /// Remove what dead execnet runs left (netns sandboxes and their processes).
    Gc(netns::GcArgs),
    /// List the bundled conformance scenarios, or write them out to start your own.
    Scenarios(scenarios::Args),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Probe(args) => probe::run(args),
        Command::Call(args) => call::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Certify(args) => certify::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Sandbox(args) => netns::sandbox(args),
        Command::Gc(args) => netns::gc(args),
        Command::Scenarios(args) => scenarios::run(args),
    };
    match result {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Failed) => ExitCode::from(1),
        Err(err) => {
            eprintln!("execnet: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Print a JSON document on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

/// Probe `dir` for a command that needs it: an unreadable directory is a setup error (exit 2).
pub fn probe_readable(dir: &std::path::Path) -> anyhow::Result<execnet::plugin::Probe> {
    let probe = execnet::plugin::probe(dir);
    if let Some(why) = &probe.unreadable {
        anyhow::bail!("cannot read plugin directory {why}");
    }
    Ok(probe)
}

/// The setup error for a plugin name that is not in the directory: the kubelet's own text
/// (`Network plugin "N" not found.`), then execnet's hint about the directory.
pub fn not_found(
    name: &str,
    dir: &std::path::Path,
    probe: &execnet::plugin::Probe,
) -> anyhow::Error {
    let kubelet = execnet::plugin::SelectionError::NotFound {
        name: name.to_string(),
    };
    not_found_with(&kubelet.to_string(), dir, probe)
}

/// [`not_found`] with the kubelet's whole start-up error (`kubelet_text`, one line) first.
pub fn not_found_with(
    kubelet_text: &str,
    dir: &std::path::Path,
    probe: &execnet::plugin::Probe,
) -> anyhow::Error {
    let hint = match &probe.unreadable {
        // v1.1.1–v1.5.0 exec.go ProbeNetworkPlugins: `files, _ := ioutil.ReadDir(pluginDir)`.
        Some(why) => format!(
            "execnet: cannot read plugin directory {why} (the kubelet ignores that and sees no plugins)"
        ),
        None => format!(
            "execnet: no plugin directory for it in {} (plugins there: {}); NAME/NAME or VENDOR~NAME/NAME is expected",
            dir.display(),
            probe.names()
        ),
    };
    anyhow::anyhow!("{kubelet_text}\n{hint}")
}
