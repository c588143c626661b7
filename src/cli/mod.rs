//! Command-line parsing and exit codes (docs/cli.md §5): 0 success/pass, 1 a plugin or a check
//! failed, 2 usage or setup error with the message on stderr; 128 + N when signal N (SIGINT,
//! SIGTERM, SIGHUP) ended the run (`execnet::supervise::signals`). `anyhow` lives here only.
//!
//! Standard output is collected while a command runs and written once at the end ([`out!`],
//! [`outln!`]), so that the exit code is known before the first byte goes out: a closed stdout
//! (EPIPE, `execnet … | head -1`) ends the run quietly with that exit code, never a panic.
//! Messages to stderr ([`errln!`]) never panic either.

/// Append to the standard output of this run (written at the end by `main`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout_buffer(|b| {
            use std::fmt::Write as _;
            let _ = write!(b, $($arg)*);
        })
    };
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout_buffer(|b| {
            use std::fmt::Write as _;
            let _ = writeln!(b, $($arg)*);
        })
    };
}

/// A line on standard error, written at once; a failing stderr is ignored, never a panic.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod bench;
mod call;
mod certify;
mod netns;
mod opts;
mod output;
mod probe;
mod replay;
mod report;
mod scenarios;

use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use execnet::supervise::signals;

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
    Certify(Box<certify::Args>),
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
    /// Work with JSON reports: `report merge` joins the shards of a partitioned run.
    Report(report::Args),
}

thread_local! {
    static STDOUT: RefCell<String> = const { RefCell::new(String::new()) };
    /// Output too large to hold in memory (a streamed transcript), written after the buffer.
    static STDOUT_FILE: RefCell<Option<std::fs::File>> = const { RefCell::new(None) };
}

/// Append the whole of `file` (from its start) to this run's standard output, after what the
/// buffer holds, when the run ends.
pub fn stdout_file(file: std::fs::File) {
    STDOUT_FILE.with_borrow_mut(|f| *f = Some(file));
}

/// Run `f` on this run's standard output buffer.
pub fn stdout_buffer(f: impl FnOnce(&mut String)) {
    STDOUT.with_borrow_mut(f)
}

/// Write the collected standard output. A reader that went away (EPIPE) is not an error: the
/// output was simply not wanted. Any other failure (e.g. a full disk) is reported.
fn flush_stdout() -> std::io::Result<()> {
    use std::io::Seek as _;
    let text = STDOUT.with_borrow_mut(std::mem::take);
    let file = STDOUT_FILE.with_borrow_mut(Option::take);
    let _guard = signals::output_lock();
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| match file {
            Some(mut f) => f
                .rewind()
                .and_then(|()| std::io::copy(&mut f, &mut stdout))
                .map(drop),
            None => Ok(()),
        })
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

pub fn main() -> ExitCode {
    // Signals first: the mask is inherited by every thread created afterwards.
    if let Err(e) = signals::install() {
        errln!(
            "execnet: error: cannot start the signal-handling thread: {e}{}",
            limit_hint(&e)
        );
        return ExitCode::from(2);
    }
    // As Go's runtime and nextest do: execnet's own descriptors must not run out first.
    let _ = execnet::sys::raise_nofile_limit();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Probe(args) => probe::run(args),
        Command::Call(args) => call::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Certify(args) => certify::run(*args),
        Command::Replay(args) => replay::run(args),
        Command::Sandbox(args) => netns::sandbox(args),
        Command::Gc(args) => netns::gc(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Report(args) => report::run(args),
    });
    let code = match result {
        Ok(Ok(Verdict::Ok)) => 0,
        Ok(Ok(Verdict::Failed)) => 1,
        Ok(Err(err)) => {
            errln!("execnet: error: {}", error_text(&err));
            2
        }
        Err(_) => {
            errln!("execnet: error: internal error (a bug in execnet; the message is above)");
            2
        }
    };
    if let Err(e) = flush_stdout() {
        errln!("execnet: error: writing standard output: {e}");
        return ExitCode::from(2);
    }
    ExitCode::from(code)
}

/// An error and its causes, `outer: inner`, each said once: a cause whose text its parent
/// already holds (an error that prints its own source) is not repeated.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// `pid cmdline; pid cmdline` for messages.
pub fn cmdlines(left: &[execnet::plugin::Leftover]) -> String {
    left.iter()
        .map(|l| format!("{} `{}`", l.pid, l.cmdline))
        .collect::<Vec<_>>()
        .join("; ")
}

/// For an error from creating a thread or process: which limit was probably hit.
pub fn limit_hint(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EAGAIN) => " (process/thread limit: RLIMIT_NPROC, see `ulimit -u`)",
        Some(libc::EMFILE) => " (descriptor limit: RLIMIT_NOFILE, see `ulimit -n`)",
        Some(libc::ENOMEM) => " (out of memory)",
        _ => "",
    }
}

/// Print a JSON document on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    outln!("{text}");
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
