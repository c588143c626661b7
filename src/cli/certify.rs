//! `execnet certify`: run the conformance suite against a plugin and judge it (SPEC 5).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use execnet::certify::evidence::Target;
use execnet::certify::{self, CATALOGUE, CertifyOptions, Verdict};
use execnet::report;

use super::Verdict as CliVerdict;
use super::opts::{KubeletArgs, MaybePluginTarget};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people: the root causes, then a line per check.
    Text,
    /// One JSON document (SPEC 5), findings as data.
    Json,
    /// JUnit XML for CI systems: a test case per check.
    Junit,
    /// One self-contained HTML file: verdict, causes, checks, a timeline per scenario.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressWhen {
    Auto,
    Always,
    Lines,
    Never,
}

impl ProgressWhen {
    fn style(self) -> Option<report::progress::Style> {
        use report::progress::Style;
        match self {
            ProgressWhen::Auto => std::io::stderr().is_terminal().then_some(Style::Live),
            ProgressWhen::Always => Some(Style::Live),
            ProgressWhen::Lines => Some(Style::Lines),
            ProgressWhen::Never => None,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(override_usage = "execnet certify [--plugin-dir <DIR> --plugin <NAME>] [OPTIONS]")]
pub struct Args {
    #[command(flatten)]
    target: MaybePluginTarget,
    #[command(flatten)]
    kubelet: KubeletArgs,
    /// Replay each scenario N times with seeds SEED, SEED+1, …; a check that passes in one and
    /// fails in another is `flaky` (a failure for a must check).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = super::opts::parse_jobs)]
    repeat: usize,
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
    /// Progress on stderr: auto (a live line per scenario on a terminal, nothing otherwise),
    /// always (live lines even when not a terminal), lines (plain lines, for logs), never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ProgressWhen::Auto)]
    progress: ProgressWhen,
    /// List the checks catalogue (those --focus/--skip select) and exit; --format json for
    /// JSON.
    #[arg(long)]
    list: bool,
}

#[derive(serde::Serialize)]
struct ListedCheck {
    id: &'static str,
    level: &'static str,
    title: &'static str,
    rationale: &'static str,
    scenarios: &'static [&'static str],
}

fn list(args: &Args, opts: &CertifyOptions) -> Result<()> {
    let chosen: Vec<_> = CATALOGUE
        .iter()
        .filter(|c| certify::run::selected(c, opts))
        .collect();
    if chosen.is_empty() {
        return Err(certify::CertifyError::NothingSelected {
            focus: opts.focus.clone(),
        }
        .into());
    }
    if args.format == ReportFormat::Json {
        let listed: Vec<ListedCheck> = chosen
            .iter()
            .map(|c| ListedCheck {
                id: c.id,
                level: c.level.as_str(),
                title: c.title,
                rationale: c.rationale,
                scenarios: c.scenarios(),
            })
            .collect();
        return super::print_json(&listed);
    }
    for c in chosen {
        println!("{:<32} {:<6} {}", c.id, c.level.as_str(), c.title);
        println!("{:<39} why: {}", "", c.rationale);
        println!("{:<39} judges: {}", "", c.scenarios().join(", "));
    }
    Ok(())
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
    let opts = CertifyOptions {
        profile: args.kubelet.kubelet,
        timeout: args.kubelet.timeout(),
        jobs: args.kubelet.jobs,
        seed: args.kubelet.seed,
        repeat: args.repeat,
        focus: args.focus.clone(),
        skip: args.skip.clone(),
    };
    if args.list {
        list(&args, &opts)?;
        return Ok(CliVerdict::Ok);
    }
    let target = args.target.get();
    let reporter = args
        .progress
        .style()
        .map(|style| report::progress::ProgressReporter::new(style, Box::new(anstream::stderr())));
    let report = certify::certify(target, &opts, &mut |event| {
        if let Some(r) = &reporter {
            r.event(event)
        }
    });
    if let Some(r) = reporter {
        r.finish();
    }
    let report = report?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let rendered = match args.format {
        ReportFormat::Text => report::text::render(&report, color && args.output.is_none()),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Junit => report::junit::render(&report),
        ReportFormat::Html => {
            // The reproduce lines name the plugin directory as given, made absolute; the
            // bundled plugin's temporary copy is gone by now, and `sample-plugins/` of an
            // execnet checkout holds the same plugin.
            let dir = match &args.target.plugin_dir {
                Some(d) => std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()),
                None => PathBuf::from("sample-plugins"),
            };
            report::html::render(
                &report,
                &Target {
                    plugin_dir: &dir,
                    plugin: &report.plugin,
                    profile: &report.kubelet,
                    timeout: opts.timeout,
                    jobs: opts.jobs,
                },
            )
        }
    };
    match &args.output {
        Some(path) => {
            write_atomically(path, &rendered)?;
            print!("{}", report::text::render(&report, color));
        }
        None => {
            print!("{rendered}");
            if args.format == ReportFormat::Json {
                println!();
            }
        }
    }
    Ok(match report.verdict {
        Verdict::Pass => CliVerdict::Ok,
        Verdict::Fail | Verdict::Inconclusive => CliVerdict::Failed,
    })
}
