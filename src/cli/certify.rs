//! `execnet certify`: run the conformance suite against a plugin and judge it (SPEC 5).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use execnet::certify::{self, CATALOGUE, CertifyOptions, Progress, Verdict};
use execnet::kubelet::Profile;
use execnet::plugin::policy::parse_duration;
use execnet::report;

use super::Verdict as CliVerdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin directory (default: the bundled reference plugin).
    #[arg(long, value_name = "DIR", requires = "plugin")]
    plugin_dir: Option<PathBuf>,
    /// The plugin name (`NAME` or `VENDOR/NAME`).
    #[arg(long, value_name = "NAME", requires = "plugin_dir")]
    plugin: Option<String>,
    /// Kubelet profile: 1.1, 1.2, 1.3, 1.4, 1.5 or documented.
    #[arg(long, value_name = "PROFILE", default_value = "1.5")]
    kubelet: String,
    /// Per-call timeout (e.g. 30s, 500ms).
    #[arg(long, value_name = "DUR", default_value = "30s")]
    timeout: String,
    /// Pod workers for the simulated kubelet (default: each scenario's own).
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Seed for container ids and runtime IPs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Only run checks whose id matches one of these globs (e.g. 'leak/*').
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    focus: Vec<String>,
    /// Skip checks whose id matches one of these globs.
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    skip: Vec<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Write the report (in --format) to FILE atomically; the text report still goes to stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// List the checks catalogue and exit.
    #[arg(long)]
    list: bool,
}

fn list() {
    for c in CATALOGUE {
        outln!("{:<32} {:<6} {}", c.id, c.level.as_str(), c.title);
        outln!("{:<39} why: {}", "", c.rationale);
        outln!("{:<39} judges: {}", "", c.scenarios().join(", "));
    }
}

/// Write `contents` to `path` via a temp file in the same directory and a rename, so that a
/// killed run never leaves a half-written report.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("--output {} names no file", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing report {}", path.display()));
    }
    Ok(())
}

pub fn run(args: Args) -> Result<CliVerdict> {
    if args.list {
        list();
        return Ok(CliVerdict::Ok);
    }
    let profile = Profile::by_name(&args.kubelet).map_err(anyhow::Error::msg)?;
    let timeout = parse_duration(&args.timeout).map_err(anyhow::Error::msg)?;
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let opts = CertifyOptions {
        profile,
        timeout,
        jobs: args.jobs,
        seed: args.seed,
        focus: args.focus.clone(),
        skip: args.skip.clone(),
    };
    let target = match (&args.plugin_dir, &args.plugin) {
        (Some(d), Some(p)) => Some((d.as_path(), p.as_str())),
        _ => None,
    };
    let tty = std::io::stderr().is_terminal();
    let mut progress = |p: Progress| {
        if !tty {
            return;
        }
        match p {
            Progress::ScenarioStarted { name, index, total } => {
                err!("\r\x1b[2K[{}/{total}] replaying {name}…", index + 1)
            }
            Progress::ScenarioFinished { .. } => {}
        }
    };
    let report = certify::certify(target, &opts, &mut progress)?;
    if tty {
        err!("\r\x1b[2K");
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let rendered = match args.format {
        ReportFormat::Text => report::text::render(&report, color && args.output.is_none()),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Junit => report::junit::render(&report),
    };
    match &args.output {
        Some(path) => {
            write_atomically(path, &rendered)?;
            out!("{}", report::text::render(&report, color));
        }
        None => {
            out!("{rendered}");
            if args.format == ReportFormat::Json {
                outln!();
            }
        }
    }
    Ok(match report.verdict {
        Verdict::Pass => CliVerdict::Ok,
        Verdict::Fail => CliVerdict::Failed,
    })
}
