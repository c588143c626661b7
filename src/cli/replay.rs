//! `execnet replay`: run one scenario through the simulated kubelet and print its transcript.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use execnet::certify::embedded;
use execnet::kubelet::{self, ReplayOptions, Scenario};
use execnet::supervise::Supervisor;

use super::opts::{FormatArg, KubeletArgs, MaybePluginTarget};
use super::{Format, Verdict};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: MaybePluginTarget,
    /// A scenario file, or the name of a bundled scenario (`execnet scenarios` lists them).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    #[command(flatten)]
    kubelet: KubeletArgs,
    /// No per-call timeout, as the kubelet had (the same as `--timeout 0`): a hung plugin
    /// hangs the replay, as it hung the kubelet.
    #[arg(long, conflicts_with = "timeout")]
    no_timeout: bool,
    #[command(flatten)]
    format: FormatArg,
    /// The container runtime: sim (no privileges) or netns (real namespaces, as root).
    #[arg(long, value_enum, default_value_t = super::netns::RuntimeKind::Sim)]
    runtime: super::netns::RuntimeKind,
    #[command(flatten)]
    netns: super::netns::NetnsArgs,
    /// Also write the transcript to FILE as JSON lines, as it happens: a header line
    /// (`scenario`, `plugin`, `profile`, `seed`), then one line per entry (the objects of the
    /// JSON transcript's `entries`).
    #[arg(long, value_name = "FILE.jsonl")]
    transcript: Option<PathBuf>,
    /// Stop simulating a status-error churn (kubelet 1.4/1.5) after N new infra containers per
    /// pod, as `certify` does to bound its cost (its reproduce lines say which N). Default: the
    /// scenario's `churn_limit`, else no bound, as the real kubelet.
    #[arg(long, value_name = "N")]
    churn_limit: Option<u32>,
}

pub fn run(args: Args) -> Result<Verdict> {
    let scenario = load(&args.scenario)?;
    // Without --plugin-dir/--plugin: a fresh copy of the bundled reference plugin, as certify.
    let bundled;
    let (plugin_dir, plugin) = match args.target.get() {
        Some(t) => t,
        None => {
            bundled = embedded::BundledReference::install()
                .context("cannot install the bundled reference plugin")?;
            (bundled.path(), embedded::REFERENCE_NAME)
        }
    };
    if !plugin.is_empty() {
        let probe = super::probe_readable(plugin_dir)?;
        if !probe.has(plugin) {
            return Err(super::not_found(plugin, plugin_dir, &probe));
        }
    }
    execnet::supervise::preflight().map_err(anyhow::Error::msg)?;
    let supervisor = Supervisor::replay();
    let options = ReplayOptions {
        profile: args.kubelet.kubelet,
        seed: args.kubelet.seed,
        jobs: args.kubelet.jobs,
        timeout: if args.no_timeout {
            None
        } else {
            args.kubelet.timeout()
        },
        runner: Some(supervisor.clone()),
        runtime: match args.runtime {
            super::netns::RuntimeKind::Sim => None,
            super::netns::RuntimeKind::Netns => Some(std::sync::Arc::new(args.netns.start()?)),
        },
        env: args.kubelet.pass_env.env()?,
        churn_limit: args.churn_limit,
    };
    // The transcript is streamed, never held whole: the entries go to a temporary file in the
    // requested format (and to --transcript), which is copied to standard output at the end,
    // so memory does not grow with the scenario and a run that fails prints nothing.
    let mut body = Body::new(args.format.format)?;
    let mut lines = match &args.transcript {
        Some(path) => Some(JsonLines::create(path, &scenario, plugin, &options)?),
        None => None,
    };
    let mut judge = kubelet::replay::Succeeded::default();
    let mut failure: Option<std::io::Error> = None;
    // Kept for the checks (up to a bound: a scale scenario's transcript is streamed only).
    let mut kept: Option<Vec<kubelet::Entry>> = Some(Vec::new());
    let header = kubelet::replay_streamed(plugin_dir, plugin, &scenario, &options, &mut |e| {
        judge.observe(e);
        if let Some(k) = &mut kept {
            if k.len() < JUDGED_ENTRIES {
                k.push(e.clone());
            } else {
                kept = None;
            }
        }
        if failure.is_none() {
            let written = body.entry(e).and_then(|()| match &mut lines {
                Some(l) => l.entry(e),
                None => Ok(()),
            });
            failure = written.err();
        }
    });
    // Leftovers were reported call by call and left running, as on a node; the run is over.
    let killed = supervisor.finish();
    if let Some(e) = supervisor.host_error() {
        bail!("{e}; the transcript is void (this is execnet's failure, not the plugin's)");
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
    if let Some(e) = failure {
        bail!("cannot write the transcript: {e}");
    }
    if let Some(l) = lines {
        l.finish()?;
    }
    body.finish(&header)?;
    // What the transcript shows, judged by the checks certify would judge it with.
    let mut checks_ok = true;
    match kept {
        Some(entries) => {
            let t = kubelet::Transcript { entries, ..header };
            for c in execnet::certify::verdict::failed_checks(
                &t,
                &scenario,
                options.profile,
                options.timeout,
            ) {
                checks_ok = false;
                let first = c
                    .findings
                    .first()
                    .map(|f| format!(": {}", f.problem))
                    .unwrap_or_default();
                errln!("execnet: this transcript fails {} (must){first}", c.id);
            }
        }
        None => errln!(
            "execnet: the transcript has over {JUDGED_ENTRIES} entries: not judged by the checks (certify judges the bundled scenarios)"
        ),
    }
    Ok(if judge.ok() && checks_ok {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// Entries of a transcript `replay` keeps to judge it.
const JUDGED_ENTRIES: usize = 200_000;

/// The transcript as printed (`--format text|json`), built in an unlinked temporary file one
/// entry at a time. The JSON is byte for byte what `serde_json::to_string_pretty` makes of the
/// whole transcript: the header fields come before `entries`, so only the header is held back
/// and written first at the end.
struct Body {
    format: Format,
    out: std::io::BufWriter<std::fs::File>,
    entries: usize,
}

impl Body {
    fn new(format: Format) -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| {
            anyhow::anyhow!("cannot create a temporary file for the transcript: {e}")
        })?;
        Ok(Body {
            format,
            out: std::io::BufWriter::new(file),
            entries: 0,
        })
    }

    fn entry(&mut self, entry: &kubelet::Entry) -> std::io::Result<()> {
        use std::io::Write as _;
        match self.format {
            Format::Text => self
                .out
                .write_all(kubelet::render::entry_line(entry).as_bytes()),
            Format::Json => {
                // An element of the top-level object's `entries` array: two levels in.
                let text = serde_json::to_string_pretty(entry).map_err(std::io::Error::other)?;
                let sep = if self.entries == 0 { "\n" } else { ",\n" };
                self.out.write_all(sep.as_bytes())?;
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        self.out.write_all(b"\n")?;
                    }
                    self.out.write_all(b"    ")?;
                    self.out.write_all(line.as_bytes())?;
                }
                self.entries += 1;
                Ok(())
            }
        }
    }

    /// Hand the transcript to standard output: the header, the entries, the end.
    fn finish(self, header: &kubelet::Transcript) -> Result<()> {
        use std::io::Write as _;
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write the transcript: {}", e.error()))?;
        match self.format {
            Format::Text => out!("{}", kubelet::render::header_line(header)),
            Format::Json => {
                // `to_string_pretty` of the header with no entries ends `"entries": []\n}`.
                let empty = serde_json::to_string_pretty(header)?;
                let Some(open) = empty.strip_suffix("[]\n}") else {
                    bail!("unexpected JSON header: {empty}");
                };
                out!("{open}[");
                let end = if self.entries == 0 {
                    "]\n}\n"
                } else {
                    "\n  ]\n}\n"
                };
                file.write_all(end.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write the transcript: {e}"))?;
            }
        }
        super::stdout_file(file);
        Ok(())
    }
}

/// `--transcript FILE.jsonl`: the header line, then an entry per line as they come.
struct JsonLines {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl JsonLines {
    fn create(
        path: &Path,
        scenario: &Scenario,
        plugin: &str,
        options: &ReplayOptions,
    ) -> Result<Self> {
        use std::io::Write as _;
        let err = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", path.display());
        let file = std::fs::File::create(path).map_err(err)?;
        let mut out = std::io::BufWriter::new(file);
        // The transcript's own header fields (kubelet::Transcript), as the replay sets them.
        let head = serde_json::json!({
            "scenario": scenario.name,
            "plugin": if plugin.is_empty() { execnet::plugin::NOOP_NAME } else { plugin },
            "profile": options.profile.name,
            "seed": options.seed,
        });
        serde_json::to_writer(&mut out, &head)
            .map_err(std::io::Error::other)
            .map_err(err)?;
        out.write_all(b"\n").map_err(err)?;
        Ok(JsonLines {
            path: path.to_path_buf(),
            out,
        })
    }

    fn entry(&mut self, entry: &kubelet::Entry) -> std::io::Result<()> {
        use std::io::Write as _;
        serde_json::to_writer(&mut self.out, entry).map_err(std::io::Error::other)?;
        self.out.write_all(b"\n")
    }

    fn finish(self) -> Result<()> {
        use std::io::Write as _;
        let path = self.path.display().to_string();
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write {path}: {}", e.error()))?;
        file.flush()
            .map_err(|e| anyhow::anyhow!("cannot write {path}: {e}"))?;
        Ok(())
    }
}

/// A scenario file when `arg` names one, else the bundled scenario of that name; neither is a
/// usage error that says both what was looked for and what is bundled.
fn load(arg: &Path) -> Result<Scenario> {
    if arg.exists() {
        return Ok(Scenario::load(arg)?);
    }
    if let Some(name) = arg.to_str()
        && let Some(scenario) = embedded::scenario(name)
    {
        return Ok(scenario?);
    }
    bail!(
        "cannot read scenario {}: no such file, and no bundled scenario of that name (bundled: {})",
        arg.display(),
        embedded::scenario_names().join(", ")
    )
}
