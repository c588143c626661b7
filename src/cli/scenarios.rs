//! `execnet scenarios`: the conformance scenarios bundled in the binary — list them, or write
//! them out as files to start a vendor's own (`execnet replay` takes a file or a bundled name).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use execnet::certify::embedded;
use serde::Serialize;

use super::opts::FormatArg;
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Write bundled scenarios as DIR/NAME.json (all of them, or the NAMEs given), to edit and
    /// replay with `execnet replay … DIR/NAME.json`.
    Write {
        /// The directory to write into (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Only these scenarios (default: all).
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Print a generated scale scenario on stdout: N pods in namespace `scale` run through in
    /// waves of at most W: each wave is created in one phase, synced, and deleted in one
    /// phase, so at most W pods live at once. For `execnet replay` at scale (e.g. 100,000 pods
    /// against the static C plugin of `benches/plugin/static_status.c`, `--jobs 2`); the file
    /// is a few lines whatever N (a pod template and a `repeat` step).
    Generate {
        /// Number of pods run through in all (at least 1).
        #[arg(long, value_name = "N", value_parser = parse_pods)]
        pods: usize,
        /// Pods alive at once: the size of a wave (at least 1; the last wave takes the rest).
        #[arg(long, value_name = "W", default_value_t = 100, value_parser = parse_pods)]
        live: usize,
        /// Syncs between creating and deleting the pods (each makes one status call per pod).
        #[arg(long, value_name = "S", default_value_t = 1)]
        syncs: u32,
        /// Pod workers written into the scenario (`replay --jobs` overrides it).
        #[arg(long, value_name = "J", default_value_t = 2, value_parser = super::opts::parse_jobs)]
        jobs: usize,
    },
}

/// The value parser of `--pods`: a whole number, at least 1.
fn parse_pods(text: &str) -> Result<usize, String> {
    super::opts::parse_jobs(text)
}

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    description: String,
    pods: usize,
    steps: usize,
}

pub fn run(args: Args) -> Result<Verdict> {
    match args.action {
        None => list(args.format.format),
        Some(Action::Write { dir, names, force }) => write(&dir, &names, force),
        Some(Action::Generate {
            pods,
            live,
            syncs,
            jobs,
        }) => generate(pods, live, syncs, jobs),
    }
}

fn list(format: Format) -> Result<Verdict> {
    let mut entries = Vec::new();
    for name in embedded::scenario_names() {
        let scenario = embedded::scenario(name)
            .expect("a listed name is bundled")
            .with_context(|| format!("bundled scenario {name}"))?;
        entries.push(Entry {
            name,
            pods: scenario.pod_count(),
            description: scenario.description,
            steps: scenario.steps.len(),
        });
    }
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Doc {
                scenarios: Vec<Entry>,
            }
            print_json(&Doc { scenarios: entries })?;
        }
        Format::Text => {
            let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
            for e in &entries {
                outln!("{:<width$}  {}", e.name, e.description);
            }
        }
    }
    Ok(Verdict::Ok)
}

/// The bundled names asked for, each checked: an unknown one is a usage error naming it.
fn chosen(names: &[String]) -> Result<Vec<&'static str>> {
    let all = embedded::scenario_names();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| match all.iter().find(|a| **a == n.as_str()) {
            Some(a) => Ok(*a),
            None => bail!(
                "no bundled scenario named {n:?} (bundled: {})",
                all.join(", ")
            ),
        })
        .collect()
}

fn write(dir: &Path, names: &[String], force: bool) -> Result<Verdict> {
    let names = chosen(names)?;
    if dir.exists() && !dir.is_dir() {
        bail!(
            "cannot write scenarios into {}: not a directory",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let targets: Vec<(&str, PathBuf)> = names
        .iter()
        .map(|n| (*n, dir.join(format!("{n}.json"))))
        .collect();
    if !force {
        let existing: Vec<String> = targets
            .iter()
            .filter(|(_, p)| p.exists())
            .map(|(_, p)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "refusing to overwrite {} (use --force)",
                existing.join(", ")
            );
        }
    }
    for (name, path) in &targets {
        let text = embedded::scenario_text(name).expect("a chosen name is bundled");
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for (_, path) in &targets {
        outln!("wrote {}", path.display());
    }
    Ok(Verdict::Ok)
}

/// Write the scale scenario to stdout. A closed stdout (`| head`) ends quietly.
fn generate(pods: usize, live: usize, syncs: u32, jobs: usize) -> Result<Verdict> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(&generated(pods, live, syncs, jobs))?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Verdict::Ok),
        other => other
            .map(|()| Verdict::Ok)
            .context("cannot write the scenario"),
    }
}

/// The scale scenario: a template of `pods` pods, and waves of `live` (a `repeat` of the full
/// waves, and one more for the rest), each created, synced `syncs` times and deleted.
fn generated(pods: usize, live: usize, syncs: u32, jobs: usize) -> serde_json::Value {
    use serde_json::json;
    let live = live.min(pods);
    let wave = |times: usize, batch: usize, start: usize| {
        let mut steps = vec![json!({"create": ["scale/pod-{n}"]})];
        if syncs > 0 {
            steps.push(json!({"sync": {"count": syncs}}));
        }
        steps.push(json!({"delete": ["scale/pod-{n}"]}));
        json!({"repeat": {"times": times, "batch": batch, "start": start, "steps": steps}})
    };
    let (full, rest) = (pods / live, pods % live);
    let mut steps = vec![json!({"start_kubelet": {}}), wave(full, live, 0)];
    if rest > 0 {
        steps.push(wave(1, rest, full * live));
    }
    json!({
        "name": format!("scale-{pods}"),
        "description": format!(
            "Generated by execnet scenarios generate: {pods} pods in waves of at most {live} (each created in one phase, {syncs} sync(s), deleted in one phase)."
        ),
        "jobs": jobs,
        "pods": [{"namespace": "scale", "name": "pod-{n}", "count": pods}],
        "steps": steps,
    })
}
