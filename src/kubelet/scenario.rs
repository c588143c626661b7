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

/// Default for [`Scenario::churn_limit`].
pub const DEFAULT_CHURN_LIMIT: u32 = 4;

fn default_churn_limit() -> u32 {
    DEFAULT_CHURN_LIMIT
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
    /// to every relist. Scenarios about the churn raise it.
    #[serde(default = "default_churn_limit")]
    pub churn_limit: u32,
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
    /// comes from the API server. Changes v1.1's status count (SPEC 3.3).
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
        }
    }

    /// The pod references of the step.
    pub fn pod_refs(&self) -> Vec<&str> {
        match self {
            Step::Create(v)
            | Step::Crash(v)
            | Step::FailSetup(v)
            | Step::Delete(v)
            | Step::FailStatus(v)
            | Step::RecoverStatus(v)
            | Step::CrashApp(v) => v.iter().map(String::as_str).collect(),
            Step::RestartKubelet(r) => r.deleted_while_down.iter().map(String::as_str).collect(),
            Step::RestartDuringDelete(p) => vec![p.as_str()],
            Step::StartKubelet(_) | Step::Sync(_) | Step::Wait(_) | Step::DockerRestart(_) => {
                Vec::new()
            }
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

    /// The pod index of `"namespace/name"`.
    pub fn pod_index(&self, reference: &str) -> Option<usize> {
        let (ns, name) = reference.split_once('/')?;
        self.pods
            .iter()
            .position(|p| p.namespace == ns && p.name == name)
    }

    /// [`Scenario::pod_index`] for many references: every pod's index by (namespace, name),
    /// the first declaration winning (a generated scenario names 100,000 pods in one step).
    pub fn pod_indices(&self) -> HashMap<(&str, &str), usize> {
        let mut map = HashMap::with_capacity(self.pods.len());
        for (i, p) in self.pods.iter().enumerate() {
            map.entry((p.namespace.as_str(), p.name.as_str()))
                .or_insert(i);
        }
        map
    }

    fn check(&self, text: &str, path: &Path) -> Result<(), ScenarioError> {
        let indices = self.pod_indices();
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
        if self.jobs == Some(0) {
            return Err(invalid("", 0, "jobs".into(), "must be at least 1".into()));
        }
        let mut seen = HashSet::new();
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
            if !seen.insert((&pod.namespace, &pod.name)) {
                return Err(bad(format!("duplicate pod {}/{}", pod.namespace, pod.name)));
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
                Step::Sync(s) if s.count == 0 => {
                    return Err(bad("count must be at least 1".into()));
                }
                Step::Wait(w) if w.ms == 0 => {
                    return Err(bad("ms must be at least 1".into()));
                }
                Step::Create(v)
                | Step::Crash(v)
                | Step::FailSetup(v)
                | Step::Delete(v)
                | Step::FailStatus(v)
                | Step::RecoverStatus(v)
                | Step::CrashApp(v)
                    if v.is_empty() =>
                {
                    return Err(bad("names no pods".into()));
                }
                _ => {}
            }
            let mut in_step = HashSet::new();
            for r in step.pod_refs() {
                let known = r
                    .split_once('/')
                    .is_some_and(|key| indices.contains_key(&key));
                if !known {
                    return Err(bad(format!(
                        "unknown pod '{r}' (pods are referred to as \"namespace/name\" and must be declared in \"pods\")"
                    )));
                }
                if !in_step.insert(r) {
                    return Err(bad(format!("pod '{r}' named twice")));
                }
            }
        }
        Ok(())
    }
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
}
