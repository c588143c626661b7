//! Scenarios as data (`conformance/scenarios/*.json`, format in `conformance/README.md`):
//! the pods, and the steps the kubelet goes through. Loading checks the syntax (serde, unknown
//! fields refused) and then the meaning (pod references, order of steps), and every error names
//! the file, line and column.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::transcript::PodRef;

/// Default virtual seconds between syncs.
pub const DEFAULT_SYNC_INTERVAL_S: u64 = 10;

fn default_sync_interval() -> u64 {
    DEFAULT_SYNC_INTERVAL_S
}

fn one() -> u32 {
    1
}

/// One scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_sync_interval")]
    pub sync_interval_s: u64,
    /// Default number of pod workers (overridden by `--jobs`); 1 when absent.
    #[serde(default)]
    pub jobs: Option<usize>,
    /// New infra containers per pod after which the v1.4+ status-error churn is no longer
    /// simulated (the transcript says so): a cost bound, since each cycle adds a status call
    /// to every relist. `None` (the default): no bound, as in the real kubelet, which makes
    /// ~54 a minute without end (docs/kubelet.md §3.4 observed 2026-12-06).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_limit: Option<u32>,
    pub pods: Vec<PodSpec>,
    pub steps: Vec<Step>,
}

fn thirty() -> u64 {
    30
}

/// `restartPolicy` of the pod's app containers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

/// A declared pod.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PodSpec {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub host_network: bool,
    /// A static pod (from a manifest file, no mirror pod in an API server); otherwise the pod
    /// comes from the API server. Changes v1.1's status count (docs/kubelet.md §3.3).
    #[serde(default, rename = "static")]
    pub static_pod: bool,
    /// Annotations, passed through to runtimes that publish pods (a later real runtime); the
    /// simulated kubelet does not read them.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// App containers besides the infra container (default 1).
    #[serde(default = "one_usize")]
    pub containers: usize,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// `terminationGracePeriodSeconds` (default 30).
    #[serde(default = "thirty")]
    pub grace_period_s: u64,
    /// The app containers ignore SIGTERM, so killing them takes the whole grace period (the
    /// default app stops at once).
    #[serde(default)]
    pub ignores_sigterm: bool,
    /// A pod template: `count` pods, named `name` with [`PLACEHOLDER`] replaced by 0, 1, …
    /// `count - 1` (plain decimal), declared in that order. Expanded only when a pod is
    /// needed, so a scenario of 100,000 pods costs one entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// What stands for the number in a pod template's name and in a `repeat` step's references.
pub const PLACEHOLDER: &str = "{n}";

/// Most pods a scenario may declare (templates included).
pub const MAX_PODS: u64 = u32::MAX as u64;

/// The longest sync interval a scenario may set: a day (v1.1's `--sync-frequency` default is
/// 10 s; anything longer only stretches idle time).
pub const MAX_SYNC_INTERVAL_S: u64 = 86_400;

/// The most virtual time a scenario may span (its `sync` and `wait` steps, repeats expanded):
/// 30 days. Idle virtual time costs nothing (replay skips it), but the periodic resync and
/// v1.1's sync ticks still cost a little per period.
pub const MAX_VIRTUAL_MS: u64 = 30 * 86_400_000;

fn one_u64() -> u64 {
    1
}

fn one_usize() -> usize {
    1
}

impl PodSpec {
    pub fn pod_ref(&self) -> PodRef {
        PodRef {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// An empty object, `{}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `{"count": N}` (default 1).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncStep {
    #[serde(default = "one")]
    pub count: u32,
}

/// `{"ms": N}`: virtual time passes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    pub ms: u64,
}

/// `restart_kubelet`'s optional argument.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestartStep {
    /// Pods deleted from the API server while the kubelet was down (their containers keep
    /// running until the restarted kubelet's housekeeping cleans them up).
    #[serde(default)]
    pub deleted_while_down: Vec<String>,
}

/// One step; pods are referred to as `"namespace/name"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Probe, select, init. Must come first, once.
    StartKubelet(Empty),
    /// Pods are created and started (infra container + setup), all in one phase.
    Create(Vec<String>),
    /// `count` sync intervals of virtual time pass; what the kubelet does meanwhile is the
    /// profile's business (v1.1: one sync per interval; v1.2+: relists, housekeeping).
    Sync(SyncStep),
    /// Virtual time passes (milliseconds).
    Wait(WaitStep),
    /// The pods' infra containers die; the next sync notices.
    Crash(Vec<String>),
    /// The kubelet fails each pod's next setup (the plugin still runs).
    FailSetup(Vec<String>),
    /// From now on the kubelet treats every `status` of these pods as failed (the plugin still
    /// runs; its answer is recorded and then overridden).
    FailStatus(Vec<String>),
    /// Undo `fail_status`.
    RecoverStatus(Vec<String>),
    /// One app container of each pod exits with an error; the restart policy decides.
    CrashApp(Vec<String>),
    /// The docker daemon restarts: every container of every pod exits at once.
    DockerRestart(Empty),
    /// Pods are deleted: teardown for a running infra container, then the kill.
    Delete(Vec<String>),
    /// The kubelet restarts (probe, select, init again); pods keep running.
    RestartKubelet(RestartStep),
    /// Teardown, a kubelet restart before the kill, then teardown again (the execnet
    /// idempotence probe) and the kill.
    RestartDuringDelete(String),
    /// Its steps, `times` times over; in iteration `i` a reference containing [`PLACEHOLDER`]
    /// stands for the `batch` pods numbered `start + i × batch + j` (`j` = 0 … `batch - 1`,
    /// in that order) of the template it names.
    Repeat(RepeatStep),
}

/// `{"times": T, "batch": B, "start": S, "steps": [...]}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatStep {
    pub times: u64,
    /// Pods a [`PLACEHOLDER`] reference stands for in one iteration (default 1).
    #[serde(default = "one_u64")]
    pub batch: u64,
    /// The number of the first pod (default 0).
    #[serde(default)]
    pub start: u64,
    /// Any step but `start_kubelet` and `repeat`.
    pub steps: Vec<Step>,
}

impl RepeatStep {
    /// The numbers iteration `iteration` stands for.
    pub fn numbers(&self, iteration: u64) -> std::ops::Range<u64> {
        let first = self.start + iteration * self.batch;
        first..first + self.batch
    }

    /// One past the last number the repeat stands for (`None`: overflows).
    fn end(&self) -> Option<u64> {
        self.times.checked_mul(self.batch)?.checked_add(self.start)
    }
}

impl Step {
    pub fn keyword(&self) -> &'static str {
        match self {
            Step::StartKubelet(_) => "start_kubelet",
            Step::Create(_) => "create",
            Step::Sync(_) => "sync",
            Step::Wait(_) => "wait",
            Step::FailStatus(_) => "fail_status",
            Step::RecoverStatus(_) => "recover_status",
            Step::CrashApp(_) => "crash_app",
            Step::DockerRestart(_) => "docker_restart",
            Step::Crash(_) => "crash",
            Step::FailSetup(_) => "fail_setup",
            Step::Delete(_) => "delete",
            Step::RestartKubelet(_) => "restart_kubelet",
            Step::RestartDuringDelete(_) => "restart_during_delete",
            Step::Repeat(_) => "repeat",
        }
    }

    /// The pod list of a step that is one (`create`, `crash`, `delete`…).
    fn pod_list(&self) -> Option<&[String]> {
        match self {
            Step::Create(v)
            | Step::Crash(v)
            | Step::FailSetup(v)
            | Step::Delete(v)
            | Step::FailStatus(v)
            | Step::RecoverStatus(v)
            | Step::CrashApp(v) => Some(v),
            Step::StartKubelet(_)
            | Step::Sync(_)
            | Step::Wait(_)
            | Step::DockerRestart(_)
            | Step::RestartKubelet(_)
            | Step::RestartDuringDelete(_)
            | Step::Repeat(_) => None,
        }
    }

    /// The pod references of the step (none for `repeat`: its steps have their own).
    pub fn pod_refs(&self) -> Vec<&str> {
        if let Some(v) = self.pod_list() {
            return v.iter().map(String::as_str).collect();
        }
        match self {
            Step::RestartKubelet(r) => r.deleted_while_down.iter().map(String::as_str).collect(),
            Step::RestartDuringDelete(p) => vec![p.as_str()],
            _ => Vec::new(),
        }
    }
}

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: malformed scenario: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}:{line}:{column}: invalid scenario: {what}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        /// `step 3 (crash)`, `pod 2`, …
        what: String,
        message: String,
    },
}

impl Scenario {
    /// Read and check a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(&text, path)
    }

    /// Parse and check scenario text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let message = match full.rfind(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full,
            };
            ScenarioError::Syntax {
                path: path.to_path_buf(),
                line: e.line(),
                // serde_json counts the bytes read on the line, so an error before the first
                // byte of a line (empty file, end of input after a newline) says column 0;
                // positions here are 1-based.
                column: e.column().max(1),
                message,
            }
        })?;
        scenario.check(text, path)?;
        Ok(scenario)
    }

    /// The pod index of `"namespace/name"` (declaration order, templates expanded).
    pub fn pod_index(&self, reference: &str) -> Option<usize> {
        let (ns, name) = reference.split_once('/')?;
        Resolver::new(self).resolve(ns, name).map(|r| r.index)
    }

    /// How many pods the scenario declares (templates expanded).
    pub fn pod_count(&self) -> usize {
        Resolver::new(self).pod_count()
    }

    /// Pod number `index` in declaration order (a template's pod with its name expanded).
    pub fn pod(&self, index: usize) -> Option<PodSpec> {
        Resolver::new(self).pod(index)
    }

    /// Pod `namespace/name` as declared (a template's pod with its name expanded).
    pub fn pod_named(&self, namespace: &str, name: &str) -> Option<PodSpec> {
        let resolver = Resolver::new(self);
        resolver.pod(resolver.resolve(namespace, name)?.index)
    }

    /// The steps as the kubelet runs them, `repeat`s expanded one step at a time, each with
    /// the pods it names (memory does not grow with `times` or with templates' `count`).
    pub fn expanded(&self) -> ExpandedSteps<'_> {
        ExpandedSteps {
            scenario: self,
            resolver: Resolver::new(self),
            top: 0,
            iteration: 0,
            inner: 0,
        }
    }

    fn check(&self, text: &str, path: &Path) -> Result<(), ScenarioError> {
        let invalid = |key: &str, index: usize, what: String, message: String| {
            let offset = element_offsets(text, key).get(index).copied().unwrap_or(0);
            let (line, column) = line_column(text, offset);
            ScenarioError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                what,
                message,
            }
        };
        if self.sync_interval_s == 0 {
            return Err(invalid(
                "",
                0,
                "sync_interval_s".into(),
                "must be at least 1".into(),
            ));
        }
        if self.sync_interval_s > MAX_SYNC_INTERVAL_S {
            let (line, column) = key_position(text, "sync_interval_s");
            return Err(ScenarioError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                what: "sync_interval_s".into(),
                message: format!(
                    "{} s is over the bound of {MAX_SYNC_INTERVAL_S} s (a day)",
                    self.sync_interval_s
                ),
            });
        }
        if self.jobs == Some(0) {
            return Err(invalid("", 0, "jobs".into(), "must be at least 1".into()));
        }
        let mut seen = HashSet::new();
        let mut total: u64 = 0;
        for (i, pod) in self.pods.iter().enumerate() {
            let what = format!("pod {i}");
            let bad = |m: String| invalid("pods", i, what.clone(), m);
            if pod.namespace.is_empty() || pod.name.is_empty() {
                return Err(bad("namespace and name must not be empty".into()));
            }
            if pod.namespace.contains('/') || pod.name.contains('/') {
                return Err(bad("namespace and name must not contain '/'".into()));
            }
            if pod.namespace.contains(char::is_whitespace) || pod.name.contains(char::is_whitespace)
            {
                return Err(bad("namespace and name must not contain whitespace".into()));
            }
            if pod.containers == 0 {
                return Err(bad("containers must be at least 1".into()));
            }
            if pod.namespace.contains(PLACEHOLDER) {
                return Err(bad(format!(
                    "{PLACEHOLDER} may stand only in a pod template's name"
                )));
            }
            let marks = pod.name.matches(PLACEHOLDER).count();
            match pod.count {
                None if marks > 0 => {
                    return Err(bad(format!(
                        "{PLACEHOLDER} in a name needs \"count\" (a pod template)"
                    )));
                }
                Some(0) => return Err(bad("count must be at least 1".into())),
                Some(_) if marks != 1 => {
                    return Err(bad(format!(
                        "a pod template's name must contain {PLACEHOLDER} exactly once"
                    )));
                }
                _ => {}
            }
            total = total
                .checked_add(pod.count.unwrap_or(1))
                .filter(|t| *t <= MAX_PODS)
                .ok_or_else(|| bad(format!("more than {MAX_PODS} pods in all")))?;
            if pod.count.is_none() && !seen.insert((&pod.namespace, &pod.name)) {
                return Err(bad(format!("duplicate pod {}/{}", pod.namespace, pod.name)));
            }
        }
        let resolver = Resolver::new(self);
        // Templates against the other pods: decided from the names' fixed parts, never by
        // expanding them.
        for (i, pod) in self.pods.iter().enumerate() {
            for &(e, prefix, suffix) in &resolver.templates {
                let other = &self.pods[e];
                if e == i || other.namespace != pod.namespace {
                    continue;
                }
                let clash = match pod.name.split_once(PLACEHOLDER) {
                    None => template_number(&pod.name, prefix, suffix, entry_len(other)).is_some(),
                    Some((p, s)) => e < i && templates_may_meet(p, s, prefix, suffix),
                };
                if clash {
                    let at = i.max(e);
                    let message = if pod.count.is_some() {
                        format!(
                            "the templates of pods {e} and {i} may name the same pod (two templates of a namespace must differ before {PLACEHOLDER} or after it by something other than a digit)"
                        )
                    } else {
                        format!(
                            "duplicate pod {}/{} (pod {e} is a template that names it)",
                            pod.namespace, pod.name
                        )
                    };
                    return Err(invalid("pods", at, format!("pod {at}"), message));
                }
            }
        }
        let mut started = false;
        for (i, step) in self.steps.iter().enumerate() {
            let what = format!("step {i} ({})", step.keyword());
            let bad = |m: String| invalid("steps", i, what.clone(), m);

            match step {
                Step::StartKubelet(_) if started => {
                    return Err(bad(
                        "the kubelet is already started (use restart_kubelet)".into()
                    ));
                }
                Step::StartKubelet(_) => started = true,
                _ if !started => {
                    return Err(bad("comes before start_kubelet".into()));
                }
                Step::Repeat(r) => {
                    if r.times == 0 {
                        return Err(bad("times must be at least 1".into()));
                    }
                    if r.batch == 0 {
                        return Err(bad("batch must be at least 1".into()));
                    }
                    if r.steps.is_empty() {
                        return Err(bad("has no steps".into()));
                    }
                    if r.end().is_none_or(|end| end > MAX_PODS) {
                        return Err(bad(format!("start + times × batch is over {MAX_PODS}")));
                    }
                    for (j, inner) in r.steps.iter().enumerate() {
                        let what = format!("step {i} (repeat), its step {j} ({})", inner.keyword());
                        let bad = |m: String| invalid("steps", i, what.clone(), m);
                        match inner {
                            Step::StartKubelet(_) => {
                                return Err(bad(
                                    "not inside a repeat (the kubelet starts once)".into()
                                ));
                            }
                            Step::Repeat(_) => {
                                return Err(bad("a repeat cannot hold another repeat".into()));
                            }
                            _ => check_step(inner, &resolver, Some(r)).map_err(bad)?,
                        }
                    }
                    continue;
                }
                _ => {}
            }
            check_step(step, &resolver, None).map_err(bad)?;
        }
        // Once every step is valid: the virtual time the steps span is bounded.
        let mut virtual_ms: u64 = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let what = format!("step {i} ({})", step.keyword());
            let bad = |m: String| invalid("steps", i, what.clone(), m);
            // The virtual time the step spans (a repeat: its steps', times over).
            let span = |s: &Step| match s {
                Step::Sync(x) => u64::from(x.count).checked_mul(self.sync_interval_s * 1000),
                Step::Wait(w) => Some(w.ms),
                _ => Some(0),
            };
            let step_ms = match step {
                Step::Repeat(r) => r
                    .steps
                    .iter()
                    .try_fold(0u64, |acc, s| acc.checked_add(span(s)?))
                    .and_then(|one| one.checked_mul(r.times)),
                other => span(other),
            };
            virtual_ms = step_ms
                .and_then(|ms| virtual_ms.checked_add(ms))
                .filter(|&ms| ms <= MAX_VIRTUAL_MS)
                .ok_or_else(|| {
                    bad(format!(
                        "the scenario's virtual time goes over the bound of {} days here",
                        MAX_VIRTUAL_MS / 86_400_000
                    ))
                })?;
        }
        Ok(())
    }
}

/// The checks of one step (not `start_kubelet`'s place, nor a `repeat` itself), `repeat`
/// when it is one of a repeat's steps.
fn check_step(
    step: &Step,
    resolver: &Resolver<'_>,
    repeat: Option<&RepeatStep>,
) -> Result<(), String> {
    match step {
        Step::Sync(s) if s.count == 0 => {
            return Err("count must be at least 1".into());
        }
        Step::Wait(w) if w.ms == 0 => {
            return Err("ms must be at least 1".into());
        }
        _ if step.pod_list().is_some_and(<[String]>::is_empty) => {
            return Err("names no pods".into());
        }
        _ => {}
    }
    let mut in_step = HashSet::new();
    // Templates a placeholder reference of the step stands for, and fixed references to a
    // template's pods: (template entry, number, reference).
    let mut placeheld = HashSet::new();
    let mut numbered = Vec::new();
    for r in step.pod_refs() {
        let unknown = || {
            format!(
                "unknown pod '{r}' (pods are referred to as \"namespace/name\" and must be declared in \"pods\")"
            )
        };
        let Some((ns, name)) = r.split_once('/') else {
            return Err(unknown());
        };
        if r.contains(PLACEHOLDER) {
            let Some(rep) = repeat else {
                return Err(format!(
                    "'{r}': {PLACEHOLDER} stands for a number only in a repeat's steps"
                ));
            };
            let Some(e) = resolver.template(ns, name) else {
                return Err(format!(
                    "'{r}' names no pod template (a reference with {PLACEHOLDER} is written as the template's \"namespace/name\")"
                ));
            };
            let count = resolver.pods[e].count.unwrap_or(0);
            let end = rep.end().unwrap_or(u64::MAX);
            if end > count {
                return Err(format!(
                    "'{r}' stands for pods up to number {} but the template has {count}",
                    end - 1
                ));
            }
            if matches!(step, Step::RestartDuringDelete(_)) && rep.batch != 1 {
                return Err(format!(
                    "restart_during_delete names one pod: its {PLACEHOLDER} needs batch 1"
                ));
            }
            placeheld.insert(e);
        } else {
            let Some(resolved) = resolver.resolve(ns, name) else {
                return Err(unknown());
            };
            if let Some((e, n)) = resolved.template {
                numbered.push((e, n, r));
            }
        }
        if !in_step.insert(r) {
            return Err(format!("pod '{r}' named twice"));
        }
    }
    if let Some(rep) = repeat {
        for (e, n, r) in numbered {
            if placeheld.contains(&e) && rep.start <= n && Some(n) < rep.end() {
                return Err(format!(
                    "pod '{r}' named twice (in iteration {})",
                    (n - rep.start) / rep.batch
                ));
            }
        }
    }
    Ok(())
}

/// Whether templates `a_prefix{n}a_suffix` and `b_prefix{n}b_suffix` may name the same pod.
/// Never false when they do: the number's first digit sits right after the shorter prefix, so
/// the longer one must continue it with a digit (and the same at the end).
fn templates_may_meet(a_prefix: &str, a_suffix: &str, b_prefix: &str, b_suffix: &str) -> bool {
    /// `(shorter, longer)` of two strings.
    fn by_len<'s>(a: &'s str, b: &'s str) -> (&'s str, &'s str) {
        if a.len() <= b.len() { (a, b) } else { (b, a) }
    }
    let digit_or_none = |c: Option<char>| c.is_none_or(|c| c.is_ascii_digit());
    let (short, long) = by_len(a_prefix, b_prefix);
    let starts = long
        .strip_prefix(short)
        .is_some_and(|rest| digit_or_none(rest.chars().next()));
    let (short, long) = by_len(a_suffix, b_suffix);
    let ends = long
        .strip_suffix(short)
        .is_some_and(|rest| digit_or_none(rest.chars().last()));
    starts && ends
}

/// Pods one `pods` entry declares.
fn entry_len(p: &PodSpec) -> usize {
    p.count
        .map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX))
}

/// The pod number `n` of template `p` (or `p` itself).
fn expand(p: &PodSpec, n: u64) -> PodSpec {
    let mut pod = p.clone();
    if p.count.is_some() {
        pod.name = p.name.replacen(PLACEHOLDER, &n.to_string(), 1);
        pod.count = None;
    }
    pod
}

/// The number a template (`prefix{n}suffix`, `count` pods) gives pod `name`: plain decimal,
/// so every pod of a template has exactly one name.
fn template_number(name: &str, prefix: &str, suffix: &str, count: usize) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (usize::try_from(n).ok()? < count).then_some(n)
}

/// Pod references to pod numbers (declaration order) and back, without expanding templates.
#[derive(Debug)]
pub struct Resolver<'s> {
    pods: &'s [PodSpec],
    /// The number of each entry's first pod, then the number of pods.
    offsets: Vec<usize>,
    explicit: HashMap<(&'s str, &'s str), usize>,
    /// The entries that are templates: (entry, text before the placeholder, text after).
    templates: Vec<(usize, &'s str, &'s str)>,
}

/// What a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The pod's number in declaration order.
    pub index: usize,
    /// For a template's pod: the entry and the pod's number in it.
    pub template: Option<(usize, u64)>,
}

impl<'s> Resolver<'s> {
    pub fn new(scenario: &'s Scenario) -> Self {
        let pods = scenario.pods.as_slice();
        let mut offsets = Vec::with_capacity(pods.len() + 1);
        let mut explicit = HashMap::new();
        let mut templates = Vec::new();
        let mut next = 0usize;
        for (e, p) in pods.iter().enumerate() {
            offsets.push(next);
            match (p.count, p.name.split_once(PLACEHOLDER)) {
                (Some(_), Some((prefix, suffix))) => templates.push((e, prefix, suffix)),
                _ => {
                    // The first declaration wins (duplicates are refused anyway).
                    explicit
                        .entry((p.namespace.as_str(), p.name.as_str()))
                        .or_insert(next);
                }
            }
            next = next.saturating_add(entry_len(p));
        }
        offsets.push(next);
        Resolver {
            pods,
            offsets,
            explicit,
            templates,
        }
    }

    /// Pod `namespace/name`.
    pub fn resolve(&self, namespace: &str, name: &str) -> Option<Resolved> {
        if let Some(&index) = self.explicit.get(&(namespace, name)) {
            return Some(Resolved {
                index,
                template: None,
            });
        }
        self.templates.iter().find_map(|&(e, prefix, suffix)| {
            let p = &self.pods[e];
            if p.namespace != namespace {
                return None;
            }
            let n = template_number(name, prefix, suffix, entry_len(p))?;
            Some(Resolved {
                index: self.offsets[e] + usize::try_from(n).ok()?,
                template: Some((e, n)),
            })
        })
    }

    /// The template entry written exactly as `namespace/name` (placeholder included).
    fn template(&self, namespace: &str, name: &str) -> Option<usize> {
        self.templates
            .iter()
            .map(|&(e, _, _)| e)
            .find(|&e| self.pods[e].namespace == namespace && self.pods[e].name == name)
    }

    /// How many pods the scenario declares.
    pub fn pod_count(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Pod number `index` (a template's pod with its name expanded).
    pub fn pod(&self, index: usize) -> Option<PodSpec> {
        if index >= self.pod_count() {
            return None;
        }
        let e = self
            .offsets
            .partition_point(|&o| o <= index)
            .checked_sub(1)?;
        let p = self.pods.get(e)?;
        Some(expand(p, (index - self.offsets[e]) as u64))
    }

    /// The pods `step` names; in iteration `iteration` of `repeat` when it is one of its steps.
    pub fn targets(&self, step: &Step, repeat: Option<(&RepeatStep, u64)>) -> Vec<usize> {
        let mut out = Vec::new();
        for r in step.pod_refs() {
            let Some((ns, name)) = r.split_once('/') else {
                continue;
            };
            match repeat {
                Some((rep, iteration)) if r.contains(PLACEHOLDER) => {
                    if let Some(e) = self.template(ns, name) {
                        let first = self.offsets[e];
                        out.extend(rep.numbers(iteration).map(|n| first + n as usize));
                    }
                }
                _ => out.extend(self.resolve(ns, name).map(|x| x.index)),
            }
        }
        out
    }
}

/// One step as the kubelet runs it, and the pods it names (in the order named).
#[derive(Debug)]
pub struct Expanded<'s> {
    pub step: &'s Step,
    pub targets: Vec<usize>,
}

/// [`Scenario::expanded`].
#[derive(Debug)]
pub struct ExpandedSteps<'s> {
    scenario: &'s Scenario,
    resolver: Resolver<'s>,
    /// The top-level step, the iteration of a repeat and its step.
    top: usize,
    iteration: u64,
    inner: usize,
}

impl<'s> Iterator for ExpandedSteps<'s> {
    type Item = Expanded<'s>;

    fn next(&mut self) -> Option<Expanded<'s>> {
        loop {
            let step = self.scenario.steps.get(self.top)?;
            let Step::Repeat(r) = step else {
                self.top += 1;
                let targets = self.resolver.targets(step, None);
                return Some(Expanded { step, targets });
            };
            let inner = r.steps.get(self.inner).filter(|_| self.iteration < r.times);
            let Some(inner) = inner else {
                if self.iteration + 1 < r.times && !r.steps.is_empty() {
                    self.iteration += 1;
                    self.inner = 0;
                } else {
                    self.top += 1;
                    self.iteration = 0;
                    self.inner = 0;
                }
                continue;
            };
            self.inner += 1;
            let targets = self.resolver.targets(inner, Some((r, self.iteration)));
            return Some(Expanded {
                step: inner,
                targets,
            });
        }
    }
}

/// 1-based line and column of a top-level key's name (`"key"`), or 1:1 when absent.
fn key_position(text: &str, key: &str) -> (usize, usize) {
    let quoted = format!("\"{key}\"");
    text.find(&quoted)
        .map_or((1, 1), |offset| line_column(text, offset))
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Whether the string literal whose contents are `text[start..end]` decodes to `key`: serde_json
/// also accepts a key written with escapes (`"p\u006fds"`).
fn literal_is(text: &str, start: usize, end: usize, key: &str) -> bool {
    text.get(start.saturating_sub(1)..end + 1)
        .and_then(|literal| serde_json::from_str::<String>(literal).ok())
        .is_some_and(|decoded| decoded == key)
}

/// Byte offsets of the elements of the array under the top-level `key` (serde_json keeps no
/// spans, so the text is scanned once more: strings and nesting depth only). An empty `key`
/// gives the offset of the top-level value.
fn element_offsets(text: &str, key: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut last_string: Option<(usize, usize)> = None;
    let mut in_target = false;
    let mut expect_element = false;
    while i < bytes.len() {
        let b = bytes[i];
        if expect_element && !b.is_ascii_whitespace() {
            expect_element = false;
            if b != b']' {
                out.push(i);
            }
        }
        match b {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_string = Some((start, i.min(bytes.len())));
            }
            b'{' | b'[' => {
                if key.is_empty() && depth == 0 {
                    return vec![i];
                }
                depth += 1;
                if b == b'[' && depth == 2 && !in_target {
                    in_target = last_string.is_some_and(|(s, e)| literal_is(text, s, e, key));
                    expect_element = in_target;
                }
            }
            b'}' | b']' => {
                if in_target && depth == 2 {
                    return out;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if in_target && depth == 2 => expect_element = true,
            b':' => {}
            c if !c.is_ascii_whitespace() && depth == 1 => last_string = None,
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_steps() {
        let text = "{\"pods\": [],\n \"x\": {\"steps\": [1]},\n \"steps\": [\n  {\"a\": [1,2]},\n  \"b\"\n]}";
        let offs = element_offsets(text, "steps");
        assert_eq!(offs.len(), 2);
        assert_eq!(line_column(text, offs[0]), (4, 3));
        assert_eq!(line_column(text, offs[1]), (5, 3));
    }

    #[test]
    fn unknown_pod_names_step_and_line() {
        let text = r#"{"name": "x", "pods": [{"namespace": "a", "name": "b"}],
"steps": [
  {"start_kubelet": {}},
  {"create": ["a/c"]}
]}"#;
        let err = Scenario::parse(text, Path::new("x.json")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("x.json:4:3: invalid scenario: step 1 (create): unknown pod 'a/c'"),
            "{msg}"
        );
    }

    #[test]
    fn escaped_key_still_locates_the_element() {
        // Caught by the scenario fuzz target's leading-newline property: this pointed at 1:1.
        let text = "{\"name\": \"x\", \"p\\u006fds\": [\n {\"namespace\": \"a\", \"name\": \"b\"},\n {\"namespace\": \"a\", \"name\": \"b\"}],\n \"steps\": []}";
        let msg = Scenario::parse(text, Path::new("k.json"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("k.json:3:2: invalid scenario: pod 1: duplicate pod a/b"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_error_positions_are_one_based() {
        // serde_json says column 0 when nothing of the line was read yet.
        for (text, prefix) in [
            ("", "e.json:1:1: "),
            ("{\n", "e.json:2:1: "),
            ("\n\n", "e.json:3:1: "),
        ] {
            let msg = Scenario::parse(text, Path::new("e.json"))
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with(prefix), "{text:?}: {msg}");
        }
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let text = "{\"name\": \"x\",\n \"pods\": [], \"bogus\": 1, \"steps\": []}";
        let msg = Scenario::parse(text, Path::new("s.json"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("s.json:2:"), "{msg}");
        assert!(msg.contains("unknown field `bogus`"), "{msg}");
    }
    /// A scenario with a template `t/p-{n}` of 6 pods after the explicit pod `t/a`, and `steps`.
    fn templated(steps: &str) -> Result<Scenario, ScenarioError> {
        let text = format!(
            "{{\"name\": \"x\", \"pods\": [\n {{\"namespace\": \"t\", \"name\": \"a\"}},\n {{\"namespace\": \"t\", \"name\": \"p-{{n}}\", \"count\": 6, \"host_network\": true}}],\n\"steps\": [\n {{\"start_kubelet\": {{}}}},\n {steps}\n]}}"
        );
        Scenario::parse(&text, Path::new("r.json"))
    }

    #[test]
    fn templates_are_numbered_after_what_comes_before() {
        let s = templated(r#"{"create": ["t/p-5", "t/a"]}"#).unwrap();
        assert_eq!(s.pod_count(), 7);
        assert_eq!(s.pod_index("t/a"), Some(0));
        assert_eq!(s.pod_index("t/p-0"), Some(1));
        assert_eq!(s.pod_index("t/p-5"), Some(6));
        for absent in ["t/p-6", "t/p-05", "t/p-", "t/p-{n}", "t/p-1x", "u/p-1"] {
            assert_eq!(s.pod_index(absent), None, "{absent}");
        }
        let p = s.pod(3).unwrap();
        assert_eq!(
            (p.name.as_str(), p.host_network, p.count),
            ("p-2", true, None)
        );
        assert!(s.pod(7).is_none());
        assert_eq!(
            s.pod_named("t", "p-4").map(|p| p.name),
            Some("p-4".to_string())
        );
        let steps: Vec<(String, Vec<usize>)> = s
            .expanded()
            .map(|e| (e.step.keyword().to_string(), e.targets))
            .collect();
        assert_eq!(
            steps,
            [
                ("start_kubelet".into(), vec![]),
                ("create".into(), vec![6, 0])
            ]
        );
    }

    #[test]
    fn a_repeat_expands_one_iteration_at_a_time() {
        let s = templated(
            r#"{"sync": {}},
 {"repeat": {"times": 2, "batch": 2, "start": 1, "steps": [
   {"create": ["t/p-{n}", "t/a"]}, {"wait": {"ms": 5}}, {"delete": ["t/p-{n}"]}]}},
 {"delete": ["t/a"]}"#,
        )
        .unwrap();
        let steps: Vec<(&str, Vec<usize>)> = s
            .expanded()
            .map(|e| (e.step.keyword(), e.targets))
            .collect();
        assert_eq!(
            steps,
            [
                ("start_kubelet", vec![]),
                ("sync", vec![]),
                ("create", vec![2, 3, 0]),
                ("wait", vec![]),
                ("delete", vec![2, 3]),
                ("create", vec![4, 5, 0]),
                ("wait", vec![]),
                ("delete", vec![4, 5]),
                ("delete", vec![0]),
            ]
        );
    }

    #[rstest::rstest]
    #[case::zero_times(
        r#"{"repeat": {"times": 0, "steps": [{"sync": {}}]}}"#,
        "step 1 (repeat): times must be at least 1"
    )]
    #[case::zero_batch(
        r#"{"repeat": {"times": 1, "batch": 0, "steps": [{"sync": {}}]}}"#,
        "step 1 (repeat): batch must be at least 1"
    )]
    #[case::no_steps(
        r#"{"repeat": {"times": 1, "steps": []}}"#,
        "step 1 (repeat): has no steps"
    )]
    #[case::overflow(
        r#"{"repeat": {"times": 18446744073709551615, "batch": 2, "steps": [{"sync": {}}]}}"#,
        "step 1 (repeat): start + times × batch is over"
    )]
    #[case::nested(
        r#"{"repeat": {"times": 1, "steps": [{"repeat": {"times": 1, "steps": [{"sync": {}}]}}]}}"#,
        "step 1 (repeat), its step 0 (repeat): a repeat cannot hold another repeat"
    )]
    #[case::start_inside(
        r#"{"repeat": {"times": 1, "steps": [{"sync": {}}, {"start_kubelet": {}}]}}"#,
        "step 1 (repeat), its step 1 (start_kubelet): not inside a repeat"
    )]
    #[case::inner_count(
        r#"{"repeat": {"times": 1, "steps": [{"sync": {"count": 0}}]}}"#,
        "step 1 (repeat), its step 0 (sync): count must be at least 1"
    )]
    #[case::outside(
        r#"{"create": ["t/p-{n}"]}"#,
        "step 1 (create): 't/p-{n}': {n} stands for a number only in a repeat's steps"
    )]
    #[case::not_a_template(
        r#"{"repeat": {"times": 1, "steps": [{"create": ["t/q-{n}"]}]}}"#,
        "'t/q-{n}' names no pod template"
    )]
    #[case::past_count(
        r#"{"repeat": {"times": 3, "batch": 2, "start": 1, "steps": [{"create": ["t/p-{n}"]}]}}"#,
        "'t/p-{n}' stands for pods up to number 6 but the template has 6"
    )]
    #[case::twice(
        r#"{"repeat": {"times": 3, "batch": 2, "steps": [{"create": ["t/p-{n}", "t/p-3"]}]}}"#,
        "pod 't/p-3' named twice (in iteration 1)"
    )]
    #[case::probe_batch(
        r#"{"repeat": {"times": 2, "batch": 2, "steps": [{"restart_during_delete": "t/p-{n}"}]}}"#,
        "its {n} needs batch 1"
    )]
    #[case::unknown(
        r#"{"repeat": {"times": 1, "steps": [{"create": ["t/p-6"]}]}}"#,
        "unknown pod 't/p-6'"
    )]
    fn repeat_errors_name_the_step_and_its_line(#[case] step: &str, #[case] message: &str) {
        let msg = templated(step).unwrap_err().to_string();
        assert!(msg.starts_with("r.json:6:2: invalid scenario: "), "{msg}");
        assert!(msg.contains(message), "{message:?} not in {msg}");
    }

    #[rstest::rstest]
    #[case::no_count(
        r#"{"namespace": "t", "name": "b-{n}"}"#,
        "pod 2: {n} in a name needs \"count\""
    )]
    #[case::no_mark(
        r#"{"namespace": "t", "name": "b", "count": 2}"#,
        "pod 2: a pod template's name must contain {n} exactly once"
    )]
    #[case::two_marks(r#"{"namespace": "t", "name": "{n}-{n}", "count": 2}"#, "exactly once")]
    #[case::zero(
        r#"{"namespace": "t", "name": "b-{n}", "count": 0}"#,
        "pod 2: count must be at least 1"
    )]
    #[case::namespace(
        r#"{"namespace": "t{n}", "name": "b-{n}", "count": 1}"#,
        "{n} may stand only in a pod template's name"
    )]
    #[case::named(
        r#"{"namespace": "t", "name": "p-3"}"#,
        "pod 2: duplicate pod t/p-3 (pod 1 is a template that names it)"
    )]
    #[case::overlap(
        r#"{"namespace": "t", "name": "p-1{n}", "count": 2}"#,
        "pod 2: the templates of pods 1 and 2 may name the same pod"
    )]
    #[case::same(
        r#"{"namespace": "t", "name": "p-{n}", "count": 2}"#,
        "the templates of pods 1 and 2"
    )]
    #[case::too_many(
        r#"{"namespace": "t", "name": "b-{n}", "count": 4294967295}"#,
        "pod 2: more than 4294967295 pods in all"
    )]
    fn template_errors_name_the_pod_and_its_line(#[case] pod: &str, #[case] message: &str) {
        let text = format!(
            "{{\"name\": \"x\", \"pods\": [\n {{\"namespace\": \"t\", \"name\": \"a\"}},\n {{\"namespace\": \"t\", \"name\": \"p-{{n}}\", \"count\": 6}},\n {pod}],\n\"steps\": [{{\"start_kubelet\": {{}}}}]}}"
        );
        let msg = Scenario::parse(&text, Path::new("q.json"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("q.json:4:2: invalid scenario: "), "{msg}");
        assert!(msg.contains(message), "{message:?} not in {msg}");
    }

    #[test]
    fn templates_differing_before_or_after_the_number_are_accepted() {
        let text = r#"{"name": "x", "pods": [
 {"namespace": "t", "name": "web-{n}", "count": 3},
 {"namespace": "t", "name": "db-{n}", "count": 3},
 {"namespace": "u", "name": "web-{n}", "count": 3},
 {"namespace": "t", "name": "{n}-x", "count": 3},
 {"namespace": "t", "name": "web-{n}x", "count": 2},
 {"namespace": "t", "name": "web-2x"}],
"steps": [{"start_kubelet": {}}]}"#;
        let s = Scenario::parse(text, Path::new("ok.json")).unwrap();
        assert_eq!(s.pod_count(), 15);
        assert_eq!(s.pod_index("t/web-2x"), Some(14));
        assert_eq!(s.pod_index("t/web-0x"), Some(12));
        assert_eq!(s.pod_index("t/1-x"), Some(10));
        assert_eq!(s.pod_index("u/web-2"), Some(8));
    }
}
