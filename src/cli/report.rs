//! `execnet report merge A.json B.json …`: the shards of one run (`certify --partition K/N`)
//! joined into the report, verdict and exit code of the whole (`execnet::report::merge`).

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::Verdict as CliVerdict;
use super::certify::{OutputArg, ReportFormat};
use super::output;
use execnet::supervise::signals;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Join the JSON reports of a partitioned run (`certify --partition K/N`, one per shard)
    /// into the JSON report of the whole run; prints the verdict (exit 0 pass, 1 otherwise).
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' JSON reports (`certify … --output json=FILE`).
    #[arg(value_name = "REPORT.json", required = true)]
    reports: Vec<PathBuf>,
    /// Write the merged report: json=PATH (or PATH) and junit=PATH, repeatable (checked before
    /// anything is read). JUnit needs shards of `certify --partition`, which carry its data.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = super::certify::parse_output)]
    output: Vec<OutputArg>,
    /// Print the merged JSON on stdout instead of the verdict line.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<CliVerdict> {
    let Command::Merge(args) = args.command;
    let mut targets = Vec::new();
    for o in &args.output {
        let (format, path) = match o {
            OutputArg::Plain(p) => (ReportFormat::Json, p),
            OutputArg::Format(f @ (ReportFormat::Json | ReportFormat::Junit), p) => (*f, p),
            OutputArg::Format(f, _) => bail!(
                "--output: report merge writes json and junit (got {f:?}); the text and HTML reports show findings and transcripts the shards' JSON does not keep: render them from a certify run"
            ),
        };
        targets.push((format, output::check(path, None)?));
    }
    let mut docs = Vec::new();
    for p in &args.reports {
        let text =
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a JSON report: {e}", p.display()))?;
        docs.push(v);
    }
    let mut merged = execnet::report::merge::merge(&docs).map_err(|e| anyhow::anyhow!("{e}"))?;
    let junit = if targets.iter().any(|(f, _)| *f == ReportFormat::Junit) {
        Some(execnet::report::merge::junit(&merged).map_err(|e| anyhow::anyhow!("{e}"))?)
    } else {
        None
    };
    execnet::report::merge::strip_shard_data(&mut merged);
    let text = serde_json::to_string_pretty(&merged)?;
    let _lock = signals::output_lock();
    for (format, t) in &targets {
        match format {
            ReportFormat::Junit => output::write(t, junit.as_deref().unwrap_or_default())?,
            _ => output::write(t, &text)?,
        }
    }
    if args.json {
        outln!("{text}");
    } else {
        let verdict = merged["verdict"].as_str().unwrap_or("?").to_uppercase();
        match merged["matrix"]["summary"].as_str() {
            Some(summary) => outln!("verdict: {verdict} — {summary}"),
            None => {
                let count = |o: &str| {
                    merged["checks"]
                        .as_array()
                        .map_or(0, |cs| cs.iter().filter(|c| c["outcome"] == o).count())
                };
                outln!(
                    "verdict: {verdict} — {} passed, {} failed, {} warnings, {} skipped ({} reports merged)",
                    count("pass"),
                    count("fail"),
                    count("warn"),
                    count("skip"),
                    docs.len()
                );
            }
        }
    }
    Ok(if merged["verdict"] == "pass" {
        CliVerdict::Ok
    } else {
        CliVerdict::Failed
    })
}
