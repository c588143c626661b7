//! `execnet certify`: run the conformance suite against a plugin and judge it (SPEC 5).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use execnet::certify::{self, CATALOGUE, CertifyOptions, Verdict};
use execnet::report;

use super::Verdict as CliVerdict;
use super::opts::{KubeletArgs, MaybePluginTarget};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Junit,
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
    /// The container runtime: sim (no privileges) or netns (real namespaces, as root; adds the
    /// network/* checks).
    #[arg(long, value_enum, default_value_t = super::netns::RuntimeKind::Sim)]
    runtime: super::netns::RuntimeKind,
    #[command(flatten)]
    netns: super::netns::NetnsArgs,
    /// List the checks catalogue and exit.
    #[arg(long)]
    list: bool,
}

fn list() {
    for c in CATALOGUE {
        println!("{:<32} {:<6} {}", c.id, c.level.as_str(), c.title);
        println!("{:<39} why: {}", "", c.rationale);
        println!("{:<39} judges: {}", "", c.scenarios().join(", "));
    }
    for (id, level, title) in execnet::certify::network::checks() {
        println!("{:<32} {:<6} {}", id, level.as_str(), title);
        println!(
            "{:<39} judges: the netns runtime's network lifecycle (--runtime netns only)",
            ""
        );
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
    let opts = CertifyOptions {
        profile: args.kubelet.kubelet,
        timeout: args.kubelet.timeout(),
        jobs: args.kubelet.jobs,
        seed: args.kubelet.seed,
        focus: args.focus.clone(),
        skip: args.skip.clone(),
        netns: match args.runtime {
            super::netns::RuntimeKind::Sim => None,
            super::netns::RuntimeKind::Netns => Some(std::sync::Arc::new(args.netns.start()?)),
        },
    };
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
        Verdict::Fail => CliVerdict::Failed,
    })
}
