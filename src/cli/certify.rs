//! `execnet certify`: run the conformance suite against a plugin and judge it (docs/cli.md §5).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use execnet::certify::evidence::Target;
use execnet::certify::{self, CATALOGUE, CertifyOptions, Verdict};
use execnet::report;

use super::Verdict as CliVerdict;
use super::opts::MaybePluginTarget;
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
    /// One JSON document (docs/cli.md §5), findings as data.
    Json,
    /// JUnit XML for CI systems: a test case per check.
    Junit,
    /// One self-contained HTML file: verdict, causes, checks, a timeline per scenario.
    Html,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 on a failing verdict (as without --fail-on).
    Verdict,
    /// Exit 1 only on a regression since --baseline (a new must failure or a new flake).
    New,
}

/// One `--output`: FORMAT=PATH, or a plain path in `--format`.
#[derive(Debug, Clone)]
pub enum OutputArg {
    Plain(PathBuf),
    Format(ReportFormat, PathBuf),
}

/// The value parser of `--output`: `FORMAT=PATH` when the part before `=` names a format.
pub fn parse_output(text: &str) -> Result<OutputArg, String> {
    use clap::ValueEnum as _;
    if let Some((f, path)) = text.split_once('=')
        && let Ok(format) = ReportFormat::from_str(f, true)
    {
        if path.is_empty() {
            return Err(format!("'{text}': no path after {f}="));
        }
        return Ok(OutputArg::Format(format, PathBuf::from(path)));
    }
    if text.is_empty() {
        return Err("empty path".into());
    }
    Ok(OutputArg::Plain(PathBuf::from(text)))
}

/// The value parser of `--partition K/N`: 1 ≤ K ≤ N.
fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("'{text}': expected K/N with 1 ≤ K ≤ N (e.g. 2/3)");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// `--kubelet` of certify: one release, a list, or all.
#[derive(Debug, Clone, clap::Args)]
pub struct CertifyKubeletArgs {
    /// Kubelet release(s): 1.1, 1.2, 1.3, 1.4, 1.5 or documented; a list (1.1,1.4); or all
    /// (1.1–1.5: the suite per release, and a matrix of the outcomes).
    #[arg(
        long,
        value_name = "PROFILE",
        default_value = execnet::kubelet::profile::DEFAULT_PROFILE,
        value_parser = certify::matrix::parse_releases
    )]
    pub kubelet: Releases,
    #[command(flatten)]
    pub timeout: super::opts::TimeoutArg,
    /// Seed for container IDs and runtime IPs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Pod workers (default: each scenario's own `jobs`, else 1).
    #[arg(long, value_name = "J", value_parser = super::opts::parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub pass_env: super::opts::PassEnvArg,
}

/// The releases of `--kubelet`.
pub type Releases = Vec<&'static execnet::kubelet::Profile>;

impl CertifyKubeletArgs {
    fn timeout(&self) -> Option<Duration> {
        self.timeout.timeout.0
    }
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
    kubelet: CertifyKubeletArgs,
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
    /// The report on standard output (and of a plain `--output FILE`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Write a report to a file, checked before the run: FORMAT=PATH (text, json, junit or
    /// html; repeatable, every format from the one run), or a plain FILE in --format (then the
    /// text report still goes to stdout). A regular file is replaced atomically (temp file +
    /// rename, mode kept); a device, FIFO or symlink is written in place. Never inside the
    /// plugin directory. (A file whose name starts with FORMAT=: write ./json=x.)
    #[arg(long, value_name = "[FORMAT=]PATH", value_parser = parse_output)]
    output: Vec<OutputArg>,
    /// Write every format into DIR (created if missing): report.txt, report.json,
    /// report.junit.xml, report.html.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// An earlier JSON report of this plugin: mark each check new-fail, fixed, still-failing or
    /// flaky-since (per release).
    #[arg(long, value_name = "REPORT.json")]
    baseline: Option<PathBuf>,
    /// With --baseline: `new` exits 1 only when a must check fails (or is flaky) that did not
    /// in the baseline; `verdict` (the default) exits 1 on any failing verdict.
    #[arg(long, value_name = "WHEN", value_enum, requires = "baseline")]
    fail_on: Option<FailOn>,
    /// Run the K-th of N shares of the run (for CI machines; `execnet report merge` joins
    /// their JSON reports): of the releases when there are several, else of the checks (each
    /// shard replays the scenarios its checks judge, so every check is judged whole).
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// Run only the checks that failed (fail, flaky or warn) in an earlier JSON report.
    #[arg(long, value_name = "REPORT.json")]
    rerun_failed: Option<PathBuf>,
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
            skip: opts.skip.clone(),
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

/// Read a JSON report given to `--baseline` or `--rerun-failed`.
fn read_report(option: &str, path: &std::path::Path) -> Result<certify::baseline::Baseline> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{option} {}: {e}", path.display()))?;
    certify::baseline::Baseline::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{option} {}: {e}", path.display()))
}

/// The files a run writes, each with its format, checked before the run.
fn outputs(
    args: &Args,
    plugin_dir: Option<&std::path::Path>,
) -> Result<Vec<(ReportFormat, output::ReportTarget)>> {
    let mut wanted: Vec<(ReportFormat, PathBuf)> = Vec::new();
    let mut plain = 0;
    for o in &args.output {
        match o {
            OutputArg::Plain(p) => {
                plain += 1;
                wanted.push((args.format, p.clone()));
            }
            OutputArg::Format(f, p) => wanted.push((*f, p.clone())),
        }
    }
    if plain > 1 {
        bail!(
            "--output: more than one FILE without a format; name each file's format (--output json=FILE --output html=FILE)"
        );
    }
    if let Some(dir) = &args.report_dir {
        if let Some(pd) = plugin_dir {
            output::inside_plugin_dir(dir, pd)?;
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--report-dir {}: {e}", dir.display()))?;
        for (f, name) in [
            (ReportFormat::Text, "report.txt"),
            (ReportFormat::Json, "report.json"),
            (ReportFormat::Junit, "report.junit.xml"),
            (ReportFormat::Html, "report.html"),
        ] {
            wanted.push((f, dir.join(name)));
        }
    }
    let mut out: Vec<(ReportFormat, output::ReportTarget)> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (f, p) in wanted {
        let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.contains(&key) {
            bail!("--output {}: named twice", p.display());
        }
        seen.push(key);
        out.push((f, output::check(&p, plugin_dir)?));
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<CliVerdict> {
    let mut releases: Releases = args.kubelet.kubelet.clone();
    let mut focus = args.focus.clone();
    let mut partition_note = None;
    if let Some(path) = &args.rerun_failed {
        let failed = read_report("--rerun-failed", path)?.failed();
        if failed.is_empty() {
            outln!("nothing failed in {}: no check to rerun", path.display());
            return Ok(CliVerdict::Ok);
        }
        focus = if args.focus.is_empty() {
            failed
        } else {
            failed
                .into_iter()
                .filter(|id| args.focus.iter().any(|g| certify::run::glob_match(g, id)))
                .collect()
        };
        if focus.is_empty() {
            bail!("--rerun-failed: no check that failed there matches --focus");
        }
    }
    let baseline = args
        .baseline
        .as_deref()
        .map(|p| read_report("--baseline", p))
        .transpose()?;
    let opts = CertifyOptions {
        deadline: args.deadline,
        profile: releases[0],
        timeout: args.kubelet.timeout(),
        jobs: args.kubelet.jobs,
        lanes: None,
        seed: args.kubelet.seed,
        repeat: args.repeat,
        focus,
        skip: args.skip.clone(),
        netns: None,
        pool: args.pool,
        env: args.kubelet.pass_env.env()?,
        vendor_scenarios: vendor_scenarios(&args)?,
        reuse: None,
    };
    if args.list {
        list(&args, &opts)?;
        return Ok(CliVerdict::Ok);
    }
    let mut opts = opts;
    if let Some((k, n)) = args.partition {
        if releases.len() > 1 {
            let all: Vec<&str> = releases.iter().map(|p| p.name).collect();
            // Releases that may share a run (equal model inputs) go to the same shard, so the
            // shards replay what the unsharded run replays; unless that leaves a shard empty.
            let mut groups: Vec<Vec<&'static execnet::kubelet::profile::Profile>> = Vec::new();
            for p in &releases {
                match groups
                    .iter_mut()
                    .find(|g| g[0].same_model(p) != execnet::kubelet::profile::SameModel::No)
                {
                    Some(g) => g.push(p),
                    None => groups.push(vec![p]),
                }
            }
            if groups.len() < n {
                groups = releases.iter().map(|p| vec![*p]).collect();
            }
            releases = groups
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .flat_map(|(_, g)| g)
                .collect();
            if releases.is_empty() {
                bail!(
                    "--partition {k}/{n}: no release falls in this shard ({} releases for {n} shards)",
                    all.len()
                );
            }
            partition_note = Some(format!(
                "{}{k}/{n} of the releases {}: this shard runs {}",
                execnet::report::merge::PARTITION_NOTE,
                all.join(", "),
                releases
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            // The selected checks in catalogue order, every N-th from the K-th.
            let mut ids: Vec<&str> = CATALOGUE
                .iter()
                .filter(|c| certify::run::selected(c, &opts))
                .map(|c| c.id)
                .collect();
            if args.runtime == super::netns::RuntimeKind::Netns {
                ids.extend(
                    certify::network::check_ids()
                        .into_iter()
                        .filter(|id| certify::run::selected_id(id, &opts)),
                );
            }
            let mine: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, id)| id.to_string())
                .collect();
            if mine.is_empty() {
                bail!(
                    "--partition {k}/{n}: no check falls in this shard ({} checks selected for {n} shards)",
                    ids.len()
                );
            }
            partition_note = Some(format!(
                "{}{k}/{n} of the checks: this shard judges {} of {}",
                execnet::report::merge::PARTITION_NOTE,
                mine.len(),
                ids.len()
            ));
            opts.focus = mine;
            opts.skip = Vec::new();
        }
    }
    if args.kubelet.timeout().is_none() {
        bail!(
            "--timeout: certify needs a per-call timeout (0, off and none would let a hung plugin hang the run forever); `execnet replay --no-timeout` reproduces the kubelet's"
        );
    }
    // Before any plugin runs: where the reports go, and that they can go there.
    let targets = outputs(&args, args.target.get().map(|(d, _)| d))?;
    let opts = CertifyOptions {
        netns: match args.runtime {
            super::netns::RuntimeKind::Sim => None,
            super::netns::RuntimeKind::Netns => {
                let mut netns = args.netns.clone();
                // The node setup is part of the run: --deadline bounds it too.
                if let Some(d) = args.deadline {
                    netns.node_setup_timeout = netns.node_setup_timeout.min(d);
                }
                Some(std::sync::Arc::new(netns.start()?))
            }
        },
        ..opts
    };
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
    if let Some(exe) = args
        .target
        .get()
        .and_then(|(dir, name)| lock::executable_outside(dir, name))
    {
        errln!(
            "execnet: note: the plugin's executable is {}, outside the plugin directory; the \
             directory is locked, the executable is not: another run on a directory linking to it \
             shares its state",
            exe.display()
        );
    }
    let target = args.target.get();
    let mut reports = Vec::with_capacity(releases.len());
    for profile in &releases {
        // An earlier release of this run with the same model inputs (simulated runtime only;
        // not one the deadline cut short): its transcripts are judged under this one.
        let reuse = if opts.netns.is_none() {
            reports.iter().find_map(|r: &certify::Report| {
                let done = !r.notes.iter().any(|n| n.starts_with("deadline:"));
                let release = releases.iter().find(|p| p.name == r.kubelet)?;
                done.then(|| certify::run::Reuse::offer(release, &r.transcripts, profile))
                    .flatten()
            })
        } else {
            None
        };
        let opts = CertifyOptions {
            profile,
            reuse,
            ..opts.clone()
        };
        if releases.len() > 1 && args.progress.style().is_some() {
            errln!("execnet: kubelet {}", profile.name);
        }
        let reporter = args.progress.style().map(|style| {
            report::progress::ProgressReporter::new(style, Box::new(anstream::stderr()))
        });
        let report = certify::certify(target, &opts, &mut |event| {
            if let Some(r) = &reporter {
                r.event(event)
            }
        });
        if let Some(r) = reporter {
            r.finish();
        }
        let mut report = report?;
        if let Some(note) = &partition_note {
            report.notes.push(note.clone());
        }
        if let Some(b) = &baseline {
            report.baseline = Some(b.marks(&report));
        }
        reports.push(report);
    }
    let run = Run {
        matrix: certify::matrix::Matrix { reports },
        plugin: target.map(|(d, n)| {
            (
                std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()),
                n.to_string(),
            )
        }),
        opts: &opts,
    };
    let color = report::text::color_for_stdout();
    let plain_file = args.output.iter().any(|o| matches!(o, OutputArg::Plain(_)));
    let _output = signals::output_lock();
    let mut on_stdout = false;
    for (format, file) in &targets {
        // Every file from the one result: no check's outcome can differ between them.
        let rendered = run.render(*format, false);
        if matches!(file, output::ReportTarget::Stdout) {
            on_stdout = true;
        }
        output::write(file, &rendered)?;
    }
    if !on_stdout {
        if plain_file {
            out!("{}", run.render(ReportFormat::Text, color));
        } else {
            out!("{}", run.render(args.format, color));
            if args.format == ReportFormat::Json {
                outln!();
            }
        }
    }
    let failed = match (args.fail_on, &baseline) {
        (Some(FailOn::New), Some(_)) => run.matrix.reports.iter().any(|r| {
            r.checks.iter().any(|c| {
                c.fails_verdict()
                    && r.baseline
                        .as_ref()
                        .and_then(|b| b.get(c.id))
                        .is_some_and(|m| m.is_new())
            })
        }),
        _ => run.matrix.verdict() != Verdict::Pass,
    };
    Ok(if failed {
        CliVerdict::Failed
    } else {
        CliVerdict::Ok
    })
}

/// A finished run, one report per release, rendered in any format.
struct Run<'a> {
    matrix: certify::matrix::Matrix,
    /// The plugin directory (absolute) and name; `None` for the bundled plugin.
    plugin: Option<(PathBuf, String)>,
    opts: &'a CertifyOptions,
}

impl Run<'_> {
    fn render(&self, format: ReportFormat, color: bool) -> String {
        let reports = &self.matrix.reports;
        let single = reports.len() == 1;
        match format {
            ReportFormat::Text if single => report::text::render(&reports[0], color),
            ReportFormat::Text => report::text::render_matrix(&self.matrix, color),
            ReportFormat::Json if single => report::json(&reports[0]),
            ReportFormat::Json => report::json::render_matrix(&self.matrix),
            ReportFormat::Junit => report::junit::render_many(reports),
            ReportFormat::Html => {
                // The detailed page: the first release that fails, else the first.
                let detail = reports
                    .iter()
                    .position(|r| r.verdict != Verdict::Pass)
                    .unwrap_or(0);
                let runtime = certify::run::runtime_args(self.opts);
                // The reproduce lines name the plugin directory as given, made absolute; for
                // the bundled plugin they leave it out (`call` and `replay` install a fresh
                // copy).
                let target = Target {
                    plugin: self.plugin.as_ref().map(|(d, n)| (d.as_path(), n.as_str())),
                    profile: &reports[detail].kubelet,
                    timeout: self.opts.timeout,
                    jobs: self.opts.jobs,
                    runtime: &runtime,
                    pool: self.opts.pool.map(|p| p.to_string()),
                };
                if single {
                    report::html::render(&reports[0], &target)
                } else {
                    report::html::render_matrix(&self.matrix, detail, &target)
                }
            }
        }
    }
}
