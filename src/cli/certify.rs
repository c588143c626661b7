//! `execnet certify`: run the conformance suite against a plugin and judge it (SPEC 5).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use execnet::certify::evidence::Target;
use execnet::certify::{self, CATALOGUE, CertifyOptions, Verdict};
use execnet::report;

use super::Verdict as CliVerdict;
use super::opts::{KubeletArgs, MaybePluginTarget};
use super::output;
use execnet::plugin::policy::parse_duration;
use execnet::supervise::{lock, signals};

/// `--deadline DUR`: a positive duration.
fn parse_deadline(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Some(d) => Ok(d),
        None => Err("must be a positive duration (e.g. 10m); leave it out for no deadline".into()),
    }
}

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
    /// Write the report (in --format) to FILE: a regular file atomically (temp file + rename,
    /// mode kept), a device, FIFO or symlink in place; checked before the run. The text report
    /// still goes to stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Progress on stderr: auto (a live line per scenario on a terminal, nothing otherwise),
    /// always (live lines even when not a terminal), lines (plain lines, for logs), never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ProgressWhen::Auto)]
    progress: ProgressWhen,
    /// Stop the whole run after DUR (e.g. 10m): calls in flight are cut off, unfinished
    /// scenarios are not judged (their checks have no evidence), a note says so, and the
    /// verdict is never PASS (INCONCLUSIVE, or FAIL if a judged check failed).
    #[arg(long, value_name = "DUR", value_parser = parse_deadline)]
    deadline: Option<Duration>,
    /// Fail at once (exit 2) when another run is certifying the same plugin directory, instead
    /// of waiting for it.
    #[arg(long)]
    no_wait: bool,
    /// The container runtime: sim (no privileges) or netns (real namespaces, as root; adds the
    /// network/* checks).
    #[arg(long, value_enum, default_value_t = super::netns::RuntimeKind::Sim)]
    runtime: super::netns::RuntimeKind,
    #[command(flatten)]
    netns: super::netns::NetnsArgs,
    /// List the checks catalogue (those --focus/--skip select) and exit; --format json for
    /// JSON.
    #[arg(long)]
    list: bool,
    /// The plugin's IPv4 address pool (e.g. 10.244.0.0/28, at most a /22): crash-restart/reclaim
    /// then crashes one pod more times than the pool holds addresses, which tells round robin
    /// (the pool wraps) from a leak (it runs out). Without it a fresh address per crash is a
    /// warning, never a failure.
    #[arg(long, value_name = "CIDR", value_parser = certify::pool::Pool::parse)]
    pool: Option<certify::pool::Pool>,
    /// A scenario file of your own (repeatable; format in conformance/README.md): replayed with
    /// the suite and judged by the checks that judge any pod lifecycle (`certify --list` says
    /// which: their `judges` line ends in "and your scenarios").
    #[arg(long = "scenario", value_name = "FILE")]
    scenario_files: Vec<PathBuf>,
    /// Every `*.json` scenario file in DIR, as with --scenario.
    #[arg(long = "scenarios", value_name = "DIR")]
    scenario_dir: Option<PathBuf>,
}

/// The vendor's scenarios of `--scenario` and `--scenarios`, in order (a directory's sorted by
/// file name); any error names the file (exit 2).
fn vendor_scenarios(args: &Args) -> Result<Vec<execnet::kubelet::Scenario>> {
    let mut files = args.scenario_files.clone();
    if let Some(dir) = &args.scenario_dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("--scenarios {}: {e}", dir.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        found.sort();
        if found.is_empty() {
            bail!(
                "--scenarios {}: no *.json scenario files there",
                dir.display()
            );
        }
        files.extend(found);
    }
    files
        .iter()
        .map(|f| execnet::kubelet::Scenario::load(f).map_err(|e| anyhow::anyhow!("{e}")))
        .collect()
}

#[derive(serde::Serialize)]
struct ListedCheck {
    id: &'static str,
    level: &'static str,
    title: &'static str,
    rationale: &'static str,
    scenarios: &'static [&'static str],
    /// The runtimes the check is judged under: `["sim", "netns"]`, or `["netns"]` for the
    /// `network/*` checks (judged on the network lifecycle, not on scenarios).
    runtimes: &'static [&'static str],
}

/// What a `network/*` check judges, in the text listing.
const NETWORK_JUDGES: &str =
    "the network lifecycle on real infra containers (--runtime netns only)";

fn list(args: &Args, opts: &CertifyOptions) -> Result<()> {
    let listed: Vec<ListedCheck> = CATALOGUE
        .iter()
        .filter(|c| certify::run::selected(c, opts))
        .map(|c| ListedCheck {
            id: c.id,
            level: c.level.as_str(),
            title: c.title,
            rationale: c.rationale,
            scenarios: c.scenarios(),
            runtimes: c.runtimes(),
        })
        .collect();
    if listed.is_empty() {
        return Err(certify::CertifyError::NothingSelected {
            focus: opts.focus.clone(),
        }
        .into());
    }
    if args.format == ReportFormat::Json {
        return super::print_json(&listed);
    }
    for c in listed {
        outln!("{:<32} {:<6} {}", c.id, c.level, c.title);
        outln!("{:<39} why: {}", "", c.rationale);
        if c.runtimes == ["netns"] {
            outln!("{:<39} judges: {NETWORK_JUDGES}", "");
        } else {
            let yours = if certify::catalogue::VENDOR_JUDGES.contains(&c.id) {
                ", and your scenarios (--scenario)"
            } else {
                ""
            };
            outln!("{:<39} judges: {}{yours}", "", c.scenarios.join(", "));
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<CliVerdict> {
    let opts = CertifyOptions {
        deadline: args.deadline,
        profile: args.kubelet.kubelet,
        timeout: args.kubelet.timeout(),
        jobs: args.kubelet.jobs,
        lanes: None,
        seed: args.kubelet.seed,
        repeat: args.repeat,
        focus: args.focus.clone(),
        skip: args.skip.clone(),
        netns: None,
        pool: args.pool,
        env: args.kubelet.pass_env.env()?,
        vendor_scenarios: vendor_scenarios(&args)?,
    };
    if args.list {
        list(&args, &opts)?;
        return Ok(CliVerdict::Ok);
    }
    if args.kubelet.timeout().is_none() {
        bail!(
            "--timeout: certify needs a per-call timeout (0, off and none would let a hung plugin hang the run forever); `execnet replay --no-timeout` reproduces the kubelet's"
        );
    }
    let opts = CertifyOptions {
        netns: match args.runtime {
            super::netns::RuntimeKind::Sim => None,
            super::netns::RuntimeKind::Netns => Some(std::sync::Arc::new(args.netns.start()?)),
        },
        ..opts
    };
    // Before any plugin runs: where the report goes, and that it can go there.
    let target_file = args.output.as_deref().map(output::check).transpose()?;
    let _lock = match args.target.get() {
        // A directory that is not there is reported by the run itself, as before.
        Some((dir, _)) if dir.is_dir() => Some(lock::acquire(dir, !args.no_wait, &mut |holder| {
            errln!(
                "execnet: waiting for another run certifying {} ({holder}) to finish…",
                dir.display()
            )
        })?),
        _ => None,
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
    let color = report::text::color_for_stdout();
    let rendered = match args.format {
        ReportFormat::Text => report::text::render(&report, color && args.output.is_none()),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Junit => report::junit::render(&report),
        ReportFormat::Html => {
            // The reproduce lines name the plugin directory as given, made absolute; for the
            // bundled plugin they leave it out (`call` and `replay` install a fresh copy).
            let dir = args.target.get().map(|(d, n)| {
                (
                    std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()),
                    n,
                )
            });
            report::html::render(
                &report,
                &Target {
                    plugin: dir.as_ref().map(|(d, n)| (d.as_path(), *n)),
                    profile: &report.kubelet,
                    timeout: opts.timeout,
                    jobs: opts.jobs,
                    runtime: &certify::run::runtime_args(&opts),
                    pool: opts.pool.map(|p| p.to_string()),
                },
            )
        }
    };
    let _output = signals::output_lock();
    match &target_file {
        Some(output::ReportTarget::Stdout) => {
            output::write(&output::ReportTarget::Stdout, &rendered)?;
        }
        Some(file) => {
            output::write(file, &rendered)?;
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
        Verdict::Fail | Verdict::Inconclusive => CliVerdict::Failed,
    })
}
