//! The certification run: pick the checks (`--focus`/`--skip` globs), replay the scenarios they
//! need against the plugin under one kubelet profile, judge, and build the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::catalogue::{ALL_SCENARIOS, CATALOGUE, CheckDef};
use super::checks::Ctx;
use super::embedded;
use super::evidence::Target;
use super::{CheckResult, Report, Verdict, verdict};
use crate::kubelet::profile::Profile;
use crate::kubelet::{CallPurpose, Event, ReplayOptions, Scenario, Transcript, replay_observed};
use crate::plugin;
use crate::supervise::{Leftovers, Supervisor};

/// Once an action has timed out, its later calls (in every scenario) and its calls in flight get
/// at most this long (less when the action's calls that returned were quick: see
/// [`Supervisor::leash`]), so a hung plugin still lets the run finish in bounded time.
/// The note of a release whose transcripts were another release's ([`Reuse`]).
pub const SHARED_NOTE: &str = "shared run with kubelet ";

pub const AFTER_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct CertifyOptions {
    pub profile: &'static Profile,
    /// Per-call timeout (default 30 s).
    pub timeout: Option<Duration>,
    /// Pod workers; `None`: each scenario's own default.
    pub jobs: Option<usize>,
    /// Scenarios run at once; `None`: `jobs` when given, else [`default_lanes`]. With more
    /// than one, evidence that depends on what the plugin saw from other scenarios meanwhile
    /// (say, which address a shared pool handed out) can differ from run to run; `Some(1)`
    /// makes a run's report reproducible byte for byte.
    pub lanes: Option<usize>,
    pub seed: u64,
    /// Replay each scenario this many times, with seeds `seed`, `seed + 1`, … (at least 1).
    pub repeat: usize,
    /// Only checks matching one of these globs (all when empty).
    pub focus: Vec<String>,
    /// Never checks matching one of these globs.
    pub skip: Vec<String>,
    /// The whole run's deadline: calls in flight are cut off at it, scenarios not finished by it
    /// are not judged, and the verdict is FAIL with a note.
    pub deadline: Option<Duration>,
    /// `--runtime netns`: the node sandbox the run is in (the `network/*` checks are judged on
    /// it); `None`: the simulated runtime, no network checks.
    pub netns: Option<std::sync::Arc<crate::runtime::netns::NetnsRuntime>>,
    /// `--pool CIDR`: the plugin's address pool; `crash-restart/reclaim` then wraps it (the
    /// `pool-wrap` scenario) to tell round robin from a leak.
    pub pool: Option<super::pool::Pool>,
    /// The plugins' environment (`--pass-env` adds to the kubelet's).
    pub env: plugin::policy::PluginEnv,
    /// A vendor's own scenarios (`--scenario FILE`, `--scenarios DIR`), replayed with the suite
    /// and judged by the checks of `catalogue::VENDOR_JUDGES`.
    pub vendor_scenarios: Vec<Scenario>,
    /// Transcripts of an earlier release of the same run whose model inputs equal this one's
    /// ([`Profile::same_model`]): judged under this release instead of replaying again.
    pub reuse: Option<Reuse>,
}

/// An earlier release's transcripts offered to a release with the same model inputs.
#[derive(Debug, Clone)]
pub struct Reuse {
    /// The release that replayed them.
    pub release: &'static Profile,
    pub transcripts: std::sync::Arc<Vec<Transcript>>,
}

impl Reuse {
    /// `release`'s transcripts when the simulated kubelet provably replays them the same way
    /// under `profile` (the plugin's answers being the same): the model inputs compare equal,
    /// or equal but for the selection texts and no kubelet start of those transcripts met a
    /// selection error (the only place the texts are read).
    pub fn offer(
        release: &'static Profile,
        transcripts: &[Transcript],
        profile: &Profile,
    ) -> Option<Reuse> {
        use crate::kubelet::profile::SameModel;
        let equal = match release.same_model(profile) {
            SameModel::Always => true,
            SameModel::UnlessSelectionFails => transcripts.iter().all(|t| {
                t.entries
                    .iter()
                    .all(|e| !matches!(&e.event, Event::KubeletStart { error: Some(_), .. }))
            }),
            SameModel::No => false,
        };
        equal.then(|| Reuse {
            release,
            transcripts: std::sync::Arc::new(transcripts.to_vec()),
        })
    }

    /// The transcripts of `suite` replayed with `seed`, relabelled for `profile`; `None` unless
    /// every scenario has one.
    fn round(
        &self,
        suite: &[Scenario],
        seed: u64,
        profile: &Profile,
    ) -> Option<BTreeMap<String, Transcript>> {
        suite
            .iter()
            .map(|s| {
                let t = self
                    .transcripts
                    .iter()
                    .find(|t| t.scenario == s.name && t.seed == seed)?;
                let mut t = t.clone();
                t.profile = profile.name.to_string();
                Some((s.name.clone(), t))
            })
            .collect()
    }
}

impl Default for CertifyOptions {
    fn default() -> Self {
        CertifyOptions {
            profile: Profile::default_profile(),
            timeout: Some(plugin::CallPolicy::DEFAULT_TIMEOUT),
            jobs: None,
            lanes: None,
            seed: 0,
            repeat: 1,
            focus: Vec::new(),
            skip: Vec::new(),
            deadline: None,
            netns: None,
            pool: None,
            env: plugin::policy::PluginEnv::kubelet(),
            vendor_scenarios: Vec::new(),
            reuse: None,
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
    #[error("{}", nothing_selected(.focus, .skip))]
    NothingSelected {
        focus: Vec<String>,
        skip: Vec<String>,
    },
    #[error("bundled scenario {name}: {message}")]
    Suite { name: String, message: String },
    #[error("scenario {0}: the name is one of the bundled scenarios' (or given twice); rename it")]
    ScenarioName(String),
    #[error("cannot install the bundled reference plugin: {0}")]
    Bundled(#[source] std::io::Error),
    /// execnet's own failure (a limit of this process or the system): nothing was judged.
    #[error("{0}; no verdict (this is execnet's failure, not the plugin's)")]
    Host(String),
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

pub fn selected(def: &CheckDef, opts: &CertifyOptions) -> bool {
    selected_id(def.id, opts)
}

/// Whether `--focus`/`--skip` select the check `id` (of the catalogue or `network/*`).
pub fn selected_id(id: &str, opts: &CertifyOptions) -> bool {
    (opts.focus.is_empty() || opts.focus.iter().any(|g| glob_match(g, id)))
        && !opts.skip.iter().any(|g| glob_match(g, id))
}

/// New infra containers per pod after which certification stops simulating the status-error
/// churn, unless the scenario sets its own bound (the `status-failure*` scenarios, about the
/// churn, allow 20): each cycle adds a status call to every relist, and a plugin whose status
/// always fails would churn in every scenario. `execnet replay` has no bound, as the real
/// kubelet; the evidence gives the real rate.
pub const CERTIFY_CHURN_LIMIT: u32 = 4;

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
            .map(|mut s| {
                // Certification bounds the cost of the 1.4/1.5 status-error churn (each cycle
                // adds a status call to every relist); the evidence gives the real rate.
                s.churn_limit = Some(s.churn_limit.unwrap_or(CERTIFY_CHURN_LIMIT));
                s
            })
            .map_err(|e| CertifyError::Suite {
                name: name.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The note of a run that certified the bundled reference plugin.
pub const BUNDLED_NOTE: &str = "certified the bundled reference plugin";

/// Certify `plugin` of `plugin_dir`, or the bundled reference plugin when both are `None`.
pub fn certify(
    target: Option<(&Path, &str)>,
    opts: &CertifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, CertifyError> {
    let start = Instant::now();
    let load_at_start = crate::sys::load_average();
    crate::supervise::preflight().map_err(CertifyError::Host)?;
    let bundled;
    let (dir, name): (PathBuf, String) = match target {
        Some((dir, name)) => (dir.to_path_buf(), name.to_string()),
        None => {
            bundled = embedded::BundledReference::install().map_err(CertifyError::Bundled)?;
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
    let mut names: Vec<&str> = ALL_SCENARIOS.to_vec();
    names.push(super::pool::POOL_WRAP);
    for s in &opts.vendor_scenarios {
        if names.contains(&s.name.as_str()) {
            return Err(CertifyError::ScenarioName(s.name.clone()));
        }
        names.push(&s.name);
    }
    // The selected checks this runtime can judge: those of the network lifecycle apart (judged
    // once, after the scenarios).
    let runtime = if opts.netns.is_some() { "netns" } else { "sim" };
    let (network_defs, chosen): (Vec<&CheckDef>, Vec<&CheckDef>) = CATALOGUE
        .iter()
        .filter(|d| selected(d, opts) && d.runtimes().contains(&runtime))
        .partition(|d| d.runtimes() == ["netns"]);
    let network_selected = !network_defs.is_empty();
    if chosen.is_empty() && !network_selected {
        return Err(CertifyError::NothingSelected {
            focus: opts.focus.clone(),
            skip: opts.skip.clone(),
        });
    }
    let needed: Vec<&str> = ALL_SCENARIOS
        .iter()
        .copied()
        .filter(|s| chosen.iter().any(|d| d.scenarios().contains(s)))
        .collect();
    let mut suite = load_suite(&needed)?;
    let vendor_judged = chosen
        .iter()
        .any(|d| super::catalogue::VENDOR_JUDGES.contains(&d.id));
    let vendor: Vec<String> = if vendor_judged {
        suite.extend(opts.vendor_scenarios.iter().cloned());
        opts.vendor_scenarios
            .iter()
            .map(|s| s.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    // `--pool`: the pool-wrap scenario, replayed alone after the suite (other scenarios' live
    // pods would take addresses from the same pool meanwhile).
    let wrap: Vec<Scenario> = match opts.pool {
        Some(pool)
            if chosen
                .iter()
                .any(|d| d.id == super::checks::crash_restart::RECLAIM.id) =>
        {
            vec![pool.scenario()]
        }
        _ => Vec::new(),
    };
    let deadline_at = opts.deadline.map(|d| start + d);
    let supervisor = Supervisor::with_deadline(Leftovers::Kill, Some(AFTER_TIMEOUT), deadline_at);
    // One node runs one kubelet: on the real runtime the scenarios share the node sandbox (its
    // addresses, bridges, OVS), so they run one at a time; scenarios at once would hand a
    // crashed pod's address to another scenario's pod and blame the plugin for it.
    let lanes = if opts.netns.is_some() {
        Lanes::Fixed(1)
    } else {
        match opts.lanes.or(opts.jobs) {
            Some(n) => Lanes::Fixed(n.max(1)),
            None => Lanes::Default(default_lanes()),
        }
    };
    let mut unfinished: Vec<&str> = Vec::new();
    let replay_opts = ReplayOptions {
        profile: opts.profile,
        seed: opts.seed,
        jobs: opts.jobs,
        timeout: opts.timeout,
        runner: Some(supervisor.clone()),
        runtime: opts
            .netns
            .clone()
            .map(|rt| rt as std::sync::Arc<dyn crate::runtime::ContainerRuntime>),
        env: opts.env.clone(),
        // The suite's scenarios carry certify's bound (`load_suite`); a vendor's keep theirs.
        churn_limit: None,
    };
    let scenarios: BTreeMap<String, Scenario> = suite
        .iter()
        .chain(&wrap)
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let seeds: Vec<u64> = (0..opts.repeat.max(1) as u64)
        .map(|i| opts.seed.wrapping_add(i))
        .collect();
    let per_round = suite.len() + wrap.len();
    let total = per_round * seeds.len();
    // Per check: its result in each repetition.
    let mut per_check: Vec<Vec<(u64, CheckResult)>> = vec![Vec::new(); chosen.len()];
    let mut timed_out = false;
    let mut scenario_ms: BTreeMap<String, f64> = BTreeMap::new();
    // Each repetition's transcripts are judged, counted for the causes' rates and dropped: the
    // report keeps the first repetition's (the HTML timelines) and, of a later one, a scenario's
    // first transcript that a finding of that repetition names, so that what is held does not
    // grow with --repeat (at most two transcripts per scenario).
    let mut replayed: Vec<Transcript> = Vec::with_capacity(per_round);
    let mut kept_later: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut tally = super::evidence::CallTally::default();
    let mut shared_from: Option<&'static str> = None;
    for (r, &seed) in seeds.iter().enumerate() {
        let replay_opts = ReplayOptions {
            seed,
            ..replay_opts.clone()
        };
        if supervisor.deadline_hit() {
            break;
        }
        // A release with the same model inputs as one already replayed: its transcripts,
        // judged under this release (the whole round, wrap included, or nothing).
        let mut transcripts = if let Some(reuse) = &opts.reuse
            && let Some(mut transcripts) = reuse.round(&suite, seed, opts.profile)
            && let Some(wrapped) = reuse.round(&wrap, seed, opts.profile)
        {
            transcripts.extend(wrapped);
            shared_from = Some(reuse.release.name);
            for s in suite.iter().chain(&wrap) {
                scenario_ms.entry(s.name.clone()).or_insert(0.0);
            }
            transcripts
        } else {
            let round = run_round(
                Round {
                    dir: &dir,
                    plugin: &name,
                    suite: &suite,
                    opts: &replay_opts,
                    lanes,
                    supervisor: &supervisor,
                    deadline: deadline_at,
                    first_index: r * per_round,
                    total,
                },
                progress,
                &mut scenario_ms,
            );
            let mut transcripts = round.transcripts;
            unfinished.extend(round.unfinished.iter().map(|&i| suite[i].name.as_str()));
            if let Some(e) = round.host_error {
                let _ = supervisor.finish();
                return Err(CertifyError::Host(e));
            }
            if !wrap.is_empty() && !supervisor.deadline_hit() {
                let alone = run_round(
                    Round {
                        dir: &dir,
                        plugin: &name,
                        suite: &wrap,
                        opts: &replay_opts,
                        lanes: Lanes::Fixed(1),
                        supervisor: &supervisor,
                        deadline: deadline_at,
                        first_index: r * per_round + suite.len(),
                        total,
                    },
                    progress,
                    &mut scenario_ms,
                );
                if let Some(e) = alone.host_error {
                    let _ = supervisor.finish();
                    return Err(CertifyError::Host(e));
                }
                unfinished.extend(alone.unfinished.iter().map(|&i| wrap[i].name.as_str()));
                transcripts.extend(alone.transcripts);
            }
            transcripts
        };
        timed_out |= transcripts
            .values()
            .flat_map(|t| t.calls())
            .any(|(.., c)| matches!(c.outcome(), plugin::Outcome::TimedOut { .. }));
        let ctx = Ctx {
            transcripts: &transcripts,
            scenarios: &scenarios,
            profile: opts.profile,
            timeout: opts.timeout,
            pool: opts.pool,
            vendor: &vendor,
            network: None,
            load: load_at_start.zip(crate::sys::load_average()),
        };
        for (slot, def) in per_check.iter_mut().zip(&chosen) {
            slot.push((seed, verdict::judge(def, &ctx)));
        }
        keep_round(
            &mut transcripts,
            &suite,
            &wrap,
            &per_check,
            seed,
            r,
            &mut tally,
            &mut kept_later,
            &mut replayed,
        );
    }
    // The network lifecycle (netns only), through the same supervisor: its leftovers are
    // killed, the deadline cuts it off, and a cut-off lifecycle is not judged.
    let network = match &opts.netns {
        Some(rt) if network_selected && !supervisor.deadline_hit() => {
            progress(Progress::ScenarioStarted {
                name: super::network::LIFECYCLE,
                index: total,
                total: total + 1,
            });
            let t0 = Instant::now();
            let evidence = network_evidence(&dir, &name, opts, rt, supervisor.clone());
            let transcripts = BTreeMap::new();
            let ctx = Ctx {
                transcripts: &transcripts,
                scenarios: &scenarios,
                profile: opts.profile,
                timeout: opts.timeout,
                pool: opts.pool,
                vendor: &[],
                network: Some(&evidence),
                load: None,
            };
            let checks: Vec<CheckResult> = network_defs
                .iter()
                .map(|d| verdict::judge(d, &ctx))
                .collect();
            let elapsed = t0.elapsed();
            progress(Progress::ScenarioFinished {
                name: super::network::LIFECYCLE,
                elapsed,
            });
            scenario_ms.insert(
                super::network::LIFECYCLE.to_string(),
                elapsed.as_secs_f64() * 1000.0,
            );
            if supervisor.deadline_hit() {
                unfinished.push(super::network::LIFECYCLE);
                Vec::new()
            } else {
                checks
            }
        }
        Some(_) if network_selected => {
            unfinished.push(super::network::LIFECYCLE);
            Vec::new()
        }
        _ => Vec::new(),
    };
    // Leftovers were killed call by call; this catches what a call's leftovers started later.
    let late = supervisor
        .finish()
        .map_err(|e| CertifyError::Host(format!("cannot read the process table: {e}")))?;
    let mut checks: Vec<CheckResult> = per_check.into_iter().map(verdict::combine).collect();
    checks.extend(network);
    let abs_dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let runtime_args = runtime_args(opts);
    // The bundled plugin's reproduce lines leave out --plugin-dir/--plugin: `call` and `replay`
    // install their own fresh copy, as certify did (its temp dir is gone after the run).
    let repro = Target {
        plugin: target.map(|_| (abs_dir.as_path(), name.as_str())),
        profile: opts.profile.name,
        timeout: opts.timeout,
        jobs: opts.jobs,
        runtime: &runtime_args,
        pool: opts.pool.map(|p| p.to_string()),
    };
    let mut causes = verdict::causes(&mut checks, &repro);
    super::evidence::rates(&mut causes, &tally);
    let deadline_hit = supervisor.deadline_hit();
    let verdict = match verdict::verdict(&checks) {
        // Everything judged passed, but not everything was judged: an unfinished run is no pass.
        Verdict::Pass if deadline_hit => Verdict::Inconclusive,
        v => v,
    };
    let mut notes = Vec::new();
    if target.is_none() {
        notes.push(BUNDLED_NOTE.to_string());
    }
    notes.push(supervisor.containment().describe().to_string());
    if deadline_hit {
        notes.push(format!(
            "deadline: the run stopped at --deadline {} with {} of {} scenario run(s) finished; not judged: {}; an unfinished certification is no pass",
            plugin::invoke::format_duration(opts.deadline.unwrap_or_default()),
            total - unfinished.len(),
            total,
            unfinished.join(", ")
        ));
    }
    if supervisor.killed() > 0 {
        notes.push(format!(
            "{} process(es) the plugin left running were killed{}",
            supervisor.killed(),
            if late.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} only at the end of the run: {})",
                    late.len(),
                    late.iter()
                        .map(|l| l.cmdline.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        ));
    }
    if let Some(release) = shared_from {
        notes.push(format!(
            "{SHARED_NOTE}{release}: the plugin was not run again for kubelet {}; the transcripts kubelet {release} replayed in this run were judged under {} (the two releases are equal in every input the simulated kubelet reads on these paths, so the transcripts are the same function of the plugin's answers; the plugin's own nondeterminism was sampled once)",
            opts.profile.name, opts.profile.name
        ));
    }
    if timed_out {
        notes.push(format!(
            "a call timed out: later calls of the same action, and those then in flight, were given at most {} ({} × the slowest call of that action that returned, at least {}) so that the run finishes",
            plugin::invoke::format_duration(AFTER_TIMEOUT),
            crate::supervise::LEASH_FACTOR,
            plugin::invoke::format_duration(crate::supervise::LEASH_FLOOR)
        ));
    }
    Ok(Report {
        plugin: name,
        kubelet: opts.profile.name.to_string(),
        verdict,
        checks,
        causes,
        scenarios: suite.iter().chain(&wrap).map(|s| s.name.clone()).collect(),
        seeds,
        scenario_ms,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        notes,
        transcripts: replayed,
        baseline: None,
    })
}

/// Scenarios run at once when `--jobs` is not given: the machine's parallelism, at least
/// [`MIN_LANES`] (a plugin that hangs mostly waits, so lanes are cheap).
pub fn default_lanes() -> usize {
    std::thread::available_parallelism()
        .map_or(MIN_LANES, |n| n.get())
        .max(MIN_LANES)
}

/// The fewest scenarios run at once by default.
pub const MIN_LANES: usize = 4;

pub use crate::supervise::STALLED;

/// How many scenarios may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lanes {
    /// Asked for (`--jobs`, the library's `lanes`) or required (netns: one node): a hard bound.
    Fixed(usize),
    /// The default bound, which only keeps CPU-bound plugins from contending: while some call
    /// has run past [`STALLED`] (a hung plugin, which uses no CPU) every scenario that may
    /// start does, so that the scenarios' first timeouts run out together rather than one
    /// wave after another.
    Default(usize),
}

impl Lanes {
    /// Whether another scenario may start with `running` running.
    fn room(self, running: usize, supervisor: &Supervisor) -> bool {
        match self {
            Lanes::Fixed(n) => running < n,
            Lanes::Default(n) => {
                running < n || supervisor.oldest_call().is_some_and(|d| d >= STALLED)
            }
        }
    }
}

/// One repetition of the suite (one seed).
struct Round<'a> {
    dir: &'a Path,
    plugin: &'a str,
    suite: &'a [Scenario],
    opts: &'a ReplayOptions,
    /// How many scenarios at once.
    lanes: Lanes,
    supervisor: &'a Supervisor,
    deadline: Option<Instant>,
    /// The progress index of the round's first scenario, and of all rounds together.
    first_index: usize,
    total: usize,
}

#[derive(Debug, Default)]
struct RoundResult {
    /// Transcripts of the scenarios that finished before the deadline, by name.
    transcripts: BTreeMap<String, Transcript>,
    /// Suite indices of the scenarios the deadline cut off or kept from starting.
    unfinished: Vec<usize>,
    /// execnet's own failure: the round's results are void.
    host_error: Option<String>,
}

/// What a scenario's thread tells the runner.
enum Msg {
    Call {
        index: usize,
        purpose: CallPurpose,
        call: Box<plugin::CallRecord>,
    },
    Done {
        index: usize,
        transcript: Transcript,
        elapsed: Duration,
        ended: Instant,
    },
    /// The scenario's thread panicked (a bug in execnet): the run re-raises it.
    Panicked(Box<dyn std::any::Any + Send>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    NotRun,
}

/// Whether two scenarios may have a pod in common (the same namespace and name). A pod
/// template (`count`) is taken to share its namespace with every pod of the other scenario
/// there: cautious, and cheaper than expanding it.
fn share_a_pod(a: &Scenario, b: &Scenario) -> bool {
    a.pods.iter().any(|p| {
        b.pods.iter().any(|q| {
            p.namespace == q.namespace
                && (p.name == q.name || p.count.is_some() || q.count.is_some())
        })
    })
}

/// Replay the suite's scenarios, up to `lanes` at once, each on a thread of its own, and
/// collect their transcripts (the report is built from them in suite order, so it does not
/// depend on which finished first).
///
/// Scenarios are independent kubelet runs, but they share the plugin and whatever state it
/// keeps. The kubelet ran pods concurrently against one plugin (one pod worker per pod, workers
/// in parallel, no plugin lock before v1.6: v1.5.0 `pkg/kubelet/pod_workers.go` `UpdatePod`
/// starts a goroutine per pod UID; `pkg/kubelet/network/plugins.go` has no lock), so running
/// different pods of different scenarios at the same time asks nothing of a plugin that the
/// kubelet did not. It never ran two live pods of the same namespace and name on one node,
/// though, and plugins key state by them (the reference plugin reclaims a pod's old address by
/// name at setup). So a scenario starts only once every earlier scenario (suite order) that has
/// a pod of the same name has finished: each pod name sees the same sequence of scenarios as
/// in a sequential run. A `start_kubelet` (init) while other scenarios' pods run is what a
/// kubelet restart does (docs/kubelet.md §3.1: running pods keep running). Container IDs are drawn per
/// scenario (`kubelet::runtime`), so no two scenarios hand the plugin the same ID either.
fn run_round(
    round: Round<'_>,
    progress: &mut dyn FnMut(Progress),
    scenario_ms: &mut BTreeMap<String, f64>,
) -> RoundResult {
    let Round {
        dir,
        plugin,
        suite,
        opts,
        lanes,
        supervisor,
        deadline,
        first_index,
        total,
    } = round;
    let n = suite.len();
    let mut state = vec![State::Waiting; n];
    let mut result = RoundResult::default();
    let (tx, rx) = std::sync::mpsc::channel::<Msg>();
    let job = |index: usize| {
        let tx = tx.clone();
        let scenario = &suite[index];
        move || {
            let t0 = Instant::now();
            // Caught so that the runner, waiting for this scenario's message, is told.
            let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                replay_observed(dir, plugin, scenario, opts, &mut |entry| {
                    if let Event::Call { purpose, call, .. } = &entry.event {
                        let _ = tx.send(Msg::Call {
                            index,
                            purpose: *purpose,
                            call: Box::new(call.clone()),
                        });
                    }
                })
            }));
            let _ = tx.send(match replayed {
                Ok(transcript) => Msg::Done {
                    index,
                    transcript,
                    elapsed: t0.elapsed(),
                    ended: Instant::now(),
                },
                Err(payload) => Msg::Panicked(payload),
            });
        }
    };
    std::thread::scope(|s| {
        let mut running = 0usize;
        loop {
            let stop = supervisor.deadline_hit() || supervisor.host_error().is_some();
            for i in 0..n {
                if state[i] != State::Waiting {
                    continue;
                }
                if stop {
                    state[i] = State::NotRun;
                    result.unfinished.push(i);
                    continue;
                }
                if !lanes.room(running, supervisor) {
                    break;
                }
                let blocked = (0..i).any(|j| {
                    matches!(state[j], State::Waiting | State::Running)
                        && share_a_pod(&suite[i], &suite[j])
                });
                if blocked {
                    continue;
                }
                progress(Progress::ScenarioStarted {
                    name: &suite[i].name,
                    index: first_index + i,
                    total,
                });
                state[i] = State::Running;
                running += 1;
                // A thread the OS refuses is no reason to fail: run the scenario here.
                if std::thread::Builder::new()
                    .name(format!("scenario-{i}"))
                    .spawn_scoped(s, job(i))
                    .is_err()
                {
                    job(i)();
                }
            }
            if running == 0 {
                break;
            }
            let waiting = state.contains(&State::Waiting);
            let msg = match lanes {
                // Look again now and then: a stalled call makes room (see `Lanes::Default`).
                Lanes::Default(_) if waiting => match rx.recv_timeout(Duration::from_millis(250)) {
                    Ok(msg) => msg,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                },
                _ => match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
            };
            match msg {
                Msg::Call {
                    index,
                    purpose,
                    call,
                } => progress(Progress::CallFinished {
                    scenario: &suite[index].name,
                    purpose,
                    call: &call,
                }),
                Msg::Panicked(payload) => std::panic::resume_unwind(payload),
                Msg::Done {
                    index,
                    transcript,
                    elapsed,
                    ended,
                } => {
                    running -= 1;
                    state[index] = State::Done;
                    let name = &suite[index].name;
                    progress(Progress::ScenarioFinished { name, elapsed });
                    *scenario_ms.entry(name.clone()).or_default() += elapsed.as_secs_f64() * 1000.0;
                    let cut = supervisor.deadline_hit() && deadline.is_some_and(|d| ended >= d);
                    if cut {
                        // Cut off: its calls say nothing about the plugin; its checks have
                        // no evidence.
                        result.unfinished.push(index);
                    } else {
                        result.transcripts.insert(name.clone(), transcript);
                    }
                }
            }
        }
    });
    result.unfinished.sort_unstable();
    result.host_error = supervisor.host_error();
    result
}

/// `--focus` patterns that matched nothing, with the closest check id or category for each
/// (by edit distance), as `; did you mean …?`.
/// Which option left nothing to judge: --focus matching nothing, or --skip taking every check
/// --focus left (or every check, without --focus).
fn nothing_selected(focus: &[String], skip: &[String]) -> String {
    let focus_matches = focus.is_empty()
        || CATALOGUE
            .iter()
            .any(|d| focus.iter().any(|f| glob_match(f, d.id)));
    if focus_matches && !skip.is_empty() {
        let among = if focus.is_empty() {
            String::new()
        } else {
            format!(" of those --focus {} selects", focus.join(","))
        };
        format!(
            "--skip {} leaves no check to run: it skips every check{among}",
            skip.join(",")
        )
    } else {
        format!(
            "no check matches --focus {}{}",
            focus.join(","),
            suggestion(focus)
        )
    }
}

fn suggestion(focus: &[String]) -> String {
    let network_only = focus.iter().any(|g| {
        super::network::check_ids()
            .iter()
            .any(|id| glob_match(g, id))
    });
    if network_only {
        return " (the network/* checks run only with --runtime netns)".to_string();
    }
    let candidates: Vec<String> = CATALOGUE
        .iter()
        .map(|c| c.id.to_string())
        .chain(
            super::catalogue::CATEGORIES
                .iter()
                .map(|c| format!("{c}/*")),
        )
        .collect();
    let mut hints = Vec::new();
    for pattern in focus {
        let best = candidates
            .iter()
            .map(|c| (edit_distance(pattern, c), c))
            .min_by_key(|(d, _)| *d);
        if let Some((d, c)) = best
            && d <= pattern.len().max(4) / 2
            && !hints.contains(c)
        {
            hints.push(c.clone());
        }
    }
    if hints.is_empty() {
        " (`execnet certify --list` shows the checks)".to_string()
    } else {
        format!("; did you mean {}?", hints.join(", "))
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The options that recreate the run's runtime, for reproduce lines (empty for `sim`).
pub fn runtime_args(opts: &CertifyOptions) -> Vec<String> {
    opts.netns
        .as_ref()
        .map(|rt| rt.options().cli_args())
        .unwrap_or_default()
}

/// What the `network/*` checks judge: the plugin selected and initialised afresh (a kubelet
/// restart), then driven through the network lifecycle on the run's node sandbox.
fn network_evidence(
    dir: &Path,
    name: &str,
    opts: &CertifyOptions,
    rt: &crate::runtime::netns::NetnsRuntime,
    runner: std::sync::Arc<dyn plugin::invoke::Runner>,
) -> super::network::NetworkEvidence {
    let probe = plugin::probe(dir);
    let policy = plugin::CallPolicy::default()
        .with_timeout(opts.timeout)
        .with_env(crate::runtime::ContainerRuntime::plugin_env(
            rt,
            opts.env.clone(),
        ));
    let selection = plugin::select::select_with(
        &probe.plugins,
        name,
        policy,
        true,
        plugin::select::SelectionTexts::for_profile(opts.profile.name),
        runner,
    );
    match selection.exec_plugin() {
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
    }
}

/// What a judged round leaves behind: its calls counted for the causes' rates, and of its
/// transcripts only those the report keeps (the first repetition's, for the HTML timelines, and
/// of a later one a scenario's first transcript that a finding of that repetition names), so
/// that what is held does not grow with `--repeat`.
#[allow(clippy::too_many_arguments)]
fn keep_round(
    transcripts: &mut BTreeMap<String, Transcript>,
    suite: &[Scenario],
    wrap: &[Scenario],
    per_check: &[Vec<(u64, CheckResult)>],
    seed: u64,
    round: usize,
    tally: &mut super::evidence::CallTally,
    kept_later: &mut std::collections::BTreeSet<String>,
    replayed: &mut Vec<Transcript>,
) {
    let named: std::collections::BTreeSet<&str> = per_check
        .iter()
        .filter_map(|runs| runs.last())
        .flat_map(|(_, c)| &c.findings)
        .filter(|f| f.seed == seed)
        .map(|f| f.scenario.as_str())
        .collect();
    for s in suite.iter().chain(wrap) {
        let Some(t) = transcripts.remove(&s.name) else {
            continue;
        };
        tally.add(&t);
        if round == 0 || (named.contains(s.name.as_str()) && kept_later.insert(s.name.clone())) {
            replayed.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_match, share_a_pod, suggestion};
    use crate::kubelet::Scenario;

    fn scenario(pods: &str) -> Scenario {
        let text = format!(
            r#"{{"name": "s", "description": "d", "pods": [{pods}], "steps": [{{"start_kubelet": {{}}}}]}}"#
        );
        Scenario::parse(&text, std::path::Path::new("s.json")).expect("scenario")
    }

    #[test]
    fn scenarios_sharing_a_pod_name_are_told_apart_also_through_templates() {
        let web = scenario(r#"{"namespace": "default", "name": "web"}"#);
        let db = scenario(r#"{"namespace": "default", "name": "db"}"#);
        let web_elsewhere = scenario(r#"{"namespace": "other", "name": "web"}"#);
        let template = scenario(r#"{"namespace": "default", "name": "pod-{n}", "count": 3}"#);
        assert!(share_a_pod(&web, &web));
        assert!(!share_a_pod(&web, &db));
        assert!(!share_a_pod(&web, &web_elsewhere));
        // `pod-{n}` may name a pod of the other scenario in its namespace: never run together.
        assert!(share_a_pod(&template, &db) && share_a_pod(&db, &template));
        assert!(!share_a_pod(&template, &web_elsewhere));
    }

    #[test]
    fn globs() {
        assert!(glob_match("leak/*", "leak/output-pipe"));
        assert!(glob_match("*", "init/selection"));
        assert!(glob_match("*ip*", "status-json/ip-valid"));
        assert!(glob_match("init/selection", "init/selection"));
        assert!(!glob_match("init/*", "timeout/p99"));
        assert!(!glob_match("leak", "leak/output-pipe"));
    }

    #[test]
    fn a_near_miss_suggests_the_close_match() {
        assert_eq!(
            suggestion(&["crash-restart/reclam".into()]),
            "; did you mean crash-restart/reclaim?"
        );
        assert_eq!(
            suggestion(&["timeouts/*".into()]),
            "; did you mean timeout/*?"
        );
        assert!(suggestion(&["zzzzzzzzzzzz".into()]).contains("--list"));
    }
}
