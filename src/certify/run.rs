//! The certification run: pick the checks (`--focus`/`--skip` globs), replay the scenarios they
//! need against the plugin under one kubelet profile, judge, and build the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::catalogue::{ALL_SCENARIOS, CATALOGUE, CheckDef, Ctx, Judgement};
use super::embedded;
use super::{CheckResult, Level, Outcome, Report, Verdict};
use crate::kubelet::profile::Profile;
use crate::kubelet::{CallPurpose, Event, ReplayOptions, Scenario, Transcript, replay_observed};
use crate::plugin;

/// Once an action has timed out in a scenario, its later calls there get at most this long, so a
/// hung plugin still lets the run finish in bounded time.
pub const AFTER_TIMEOUT: Duration = Duration::from_millis(500);

/// New infra containers per pod after which certification stops simulating the v1.4+
/// status-error churn (see [`ReplayOptions::churn_limit`]).
pub const CHURN_LIMIT: u32 = 12;

#[derive(Debug, Clone)]
pub struct CertifyOptions {
    pub profile: &'static Profile,
    /// Per-call timeout (default 30 s).
    pub timeout: Option<Duration>,
    /// Pod workers; `None`: each scenario's own default.
    pub jobs: Option<usize>,
    pub seed: u64,
    /// Only checks matching one of these globs (all when empty).
    pub focus: Vec<String>,
    /// Never checks matching one of these globs.
    pub skip: Vec<String>,
    /// `--runtime netns`: the node sandbox the run is in (the `network/*` checks are judged on
    /// it); `None`: the simulated runtime, no network checks.
    pub netns: Option<std::sync::Arc<crate::runtime::netns::NetnsRuntime>>,
}

impl Default for CertifyOptions {
    fn default() -> Self {
        CertifyOptions {
            profile: Profile::default_profile(),
            timeout: Some(plugin::CallPolicy::DEFAULT_TIMEOUT),
            jobs: None,
            seed: 0,
            focus: Vec::new(),
            skip: Vec::new(),
            netns: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error("cannot read plugin directory {0}")]
    PluginDir(String),
    #[error("network plugin {plugin:?} not found in {dir} (plugins there: {found})")]
    NotFound {
        plugin: String,
        dir: PathBuf,
        found: String,
    },
    #[error("no check matches --focus {0:?}")]
    NothingSelected(Vec<String>),
    #[error("bundled scenario {name}: {message}")]
    Suite { name: String, message: String },
    #[error("cannot install the bundled reference plugin: {0}")]
    Bundled(#[source] std::io::Error),
}

/// What the runner tells an observer, as it happens (the way nextest's runner and reporters
/// meet only through events): live progress is drawn from these by `report::progress`; nothing
/// in `certify` prints.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    ScenarioStarted {
        name: &'a str,
        index: usize,
        total: usize,
    },
    /// A plugin call of the running scenario ended (told at the end of its phase).
    CallFinished {
        scenario: &'a str,
        purpose: CallPurpose,
        call: &'a plugin::CallRecord,
    },
    ScenarioFinished {
        name: &'a str,
        elapsed: Duration,
    },
}

/// `*` matches any run of characters (including `/`); everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn selected(def: &CheckDef, opts: &CertifyOptions) -> bool {
    (opts.focus.is_empty() || opts.focus.iter().any(|g| glob_match(g, def.id)))
        && !opts.skip.iter().any(|g| glob_match(g, def.id))
}

fn load_suite(names: &[&str]) -> Result<Vec<Scenario>, CertifyError> {
    names
        .iter()
        .map(|name| {
            let text = embedded::SCENARIOS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| *t)
                .ok_or_else(|| CertifyError::Suite {
                    name: name.to_string(),
                    message: "not bundled".into(),
                })?;
            Scenario::parse(
                text,
                Path::new(&format!("conformance/scenarios/{name}.json")),
            )
            .map_err(|e| CertifyError::Suite {
                name: name.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Certify `plugin` of `plugin_dir`, or the bundled reference plugin when both are `None`.
pub fn certify(
    target: Option<(&Path, &str)>,
    opts: &CertifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, CertifyError> {
    let start = Instant::now();
    let bundled;
    let (dir, name): (PathBuf, String) = match target {
        Some((dir, name)) => (dir.to_path_buf(), name.to_string()),
        None => {
            bundled = tempfile_dir().map_err(CertifyError::Bundled)?;
            embedded::install_reference(bundled.path()).map_err(CertifyError::Bundled)?;
            (
                bundled.path().to_path_buf(),
                embedded::REFERENCE_NAME.to_string(),
            )
        }
    };
    let probe = plugin::probe(&dir);
    if let Some(why) = probe.unreadable {
        return Err(CertifyError::PluginDir(why));
    }
    if !probe.has(&name) {
        return Err(CertifyError::NotFound {
            found: probe.names(),
            plugin: name,
            dir,
        });
    }
    let chosen: Vec<&CheckDef> = CATALOGUE.iter().filter(|d| selected(d, opts)).collect();
    let network_selected = opts.netns.is_some()
        && super::network::check_ids().iter().any(|id| {
            (opts.focus.is_empty() || opts.focus.iter().any(|g| glob_match(g, id)))
                && !opts.skip.iter().any(|g| glob_match(g, id))
        });
    if chosen.is_empty() && !network_selected {
        return Err(CertifyError::NothingSelected(opts.focus.clone()));
    }
    let needed: Vec<&str> = ALL_SCENARIOS
        .iter()
        .copied()
        .filter(|s| chosen.iter().any(|d| d.scenarios().contains(s)))
        .collect();
    let suite = load_suite(&needed)?;
    let replay_opts = ReplayOptions {
        profile: opts.profile,
        seed: opts.seed,
        jobs: opts.jobs,
        timeout: opts.timeout,
        kill_leftovers: true,
        after_timeout: Some(AFTER_TIMEOUT),
        timeouts: Some(plugin::select::TimeoutMemory::default()),
        // Enough churn to judge it (a dozen cycles), bounded for a plugin whose status always
        // fails in every scenario.
        churn_limit: CHURN_LIMIT,
        runtime: opts
            .netns
            .clone()
            .map(|rt| rt as std::sync::Arc<dyn crate::runtime::ContainerRuntime>),
    };
    let mut transcripts: BTreeMap<String, Transcript> = BTreeMap::new();
    for (i, scenario) in suite.iter().enumerate() {
        progress(Progress::ScenarioStarted {
            name: &scenario.name,
            index: i,
            total: suite.len(),
        });
        let t0 = Instant::now();
        let t = replay_observed(&dir, &name, scenario, &replay_opts, &mut |entry| {
            if let Event::Call { purpose, call, .. } = &entry.event {
                progress(Progress::CallFinished {
                    scenario: &scenario.name,
                    purpose: *purpose,
                    call,
                });
            }
        });
        progress(Progress::ScenarioFinished {
            name: &scenario.name,
            elapsed: t0.elapsed(),
        });
        transcripts.insert(scenario.name.clone(), t);
    }
    let ctx = Ctx {
        transcripts: &transcripts,
        profile: opts.profile,
        timeout: opts.timeout,
    };
    let checks: Vec<CheckResult> = CATALOGUE
        .iter()
        .map(|def| {
            let (outcome, evidence) = if !selected(def, opts) {
                (Outcome::Skip, "not selected (--focus/--skip)".to_string())
            } else {
                match (def.judge)(&ctx) {
                    Judgement::Pass(e) => (Outcome::Pass, e),
                    Judgement::Skip(e) => (Outcome::Skip, e),
                    Judgement::Warn(e) => (Outcome::Warn, e),
                    Judgement::Fail(e) => match def.level {
                        Level::Must => (Outcome::Fail, e),
                        Level::Should => (Outcome::Warn, e),
                    },
                }
            };
            CheckResult {
                id: def.id,
                level: def.level,
                outcome,
                evidence,
                title: def.title,
            }
        })
        .collect();
    let mut checks = checks;
    if let Some(rt) = &opts.netns {
        checks.extend(network_checks(&dir, &name, opts, rt));
    }
    let verdict = if checks
        .iter()
        .any(|c| c.level == Level::Must && c.outcome == Outcome::Fail)
    {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    let mut notes = Vec::new();
    if target.is_none() {
        notes.push("certified the bundled reference plugin".to_string());
    }
    let timed_out = transcripts
        .values()
        .flat_map(|t| t.calls())
        .any(|(.., c)| matches!(c.outcome(), plugin::Outcome::TimedOut { .. }));
    if timed_out {
        notes.push(format!(
            "a call timed out: later calls of the same action were given at most {} so that the run finishes",
            plugin::invoke::format_duration(AFTER_TIMEOUT)
        ));
    }
    Ok(Report {
        plugin: name,
        kubelet: opts.profile.name.to_string(),
        verdict,
        checks,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        notes,
    })
}

/// A private temp directory for the bundled plugin, removed on drop.
fn tempfile_dir() -> std::io::Result<TempDir> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let path = base.join(format!("execnet-certify-{}-{attempt}", std::process::id()));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(TempDir(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temp directory name"))
}

/// A directory removed when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `network/*` checks: the plugin selected and initialised afresh (a kubelet restart), then
/// driven through the network lifecycle on the run's node sandbox.
fn network_checks(
    dir: &Path,
    name: &str,
    opts: &CertifyOptions,
    rt: &crate::runtime::netns::NetnsRuntime,
) -> Vec<CheckResult> {
    let probe = plugin::probe(dir);
    let policy = plugin::CallPolicy {
        kill_leftovers: true,
        ..plugin::CallPolicy::default()
    }
    .with_timeout(opts.timeout);
    let selection = plugin::select::select(
        &probe.plugins,
        name,
        policy,
        true,
        plugin::select::SelectionTexts::for_profile(opts.profile.name),
    );
    let evidence = match selection.exec_plugin() {
        Some(p) if selection.error_text().is_none() => {
            super::network::observe_network(p, rt, opts.profile)
        }
        _ => super::network::NetworkEvidence {
            pods: Vec::new(),
            teardown_leftovers: Vec::new(),
            crash_leftovers: Vec::new(),
            error: Some(format!(
                "the kubelet did not start with the plugin: {}",
                selection
                    .error_text()
                    .unwrap_or_else(|| "no exec plugin".into())
            )),
        },
    };
    let is_selected = |id: &str| {
        (opts.focus.is_empty() || opts.focus.iter().any(|g| glob_match(g, id)))
            && !opts.skip.iter().any(|g| glob_match(g, id))
    };
    super::network::judge(&evidence, opts.profile, &is_selected)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("leak/*", "leak/output-pipe"));
        assert!(glob_match("*", "init/selection"));
        assert!(glob_match("*ip*", "status-json/ip-valid"));
        assert!(glob_match("init/selection", "init/selection"));
        assert!(!glob_match("init/*", "timeout/p99"));
        assert!(!glob_match("leak", "leak/output-pipe"));
    }
}
