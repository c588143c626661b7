//! Evidence as data: a [`Finding`] says what was wrong, what was expected and, when a plugin
//! call is to blame, everything about that call ([`CallEvidence`]: scenario, purpose, full argv,
//! outcome, the output's head *and* tail, the kubelet's parse result) and how to re-run it
//! ([`Reproduce`]). Findings that share a call's outcome are one [`Cause`]. Nothing here renders
//! prose for people: `src/report/` does, from these values.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::kubelet::{CallPurpose, PodRef, Transcript};
use crate::plugin::{CallRecord, Outcome, StatusResult, gotext};

/// Output up to this many bytes and lines is kept whole in `output_head`.
const WHOLE_BYTES: usize = 2048;
const WHOLE_LINES: usize = 24;
/// Otherwise the first and last this many lines (each side capped at `SIDE_BYTES`).
const SIDE_LINES: usize = 8;
const SIDE_BYTES: usize = 1024;

/// One thing a check found wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The scenario whose transcript shows it, and the seed it was replayed with.
    pub scenario: String,
    pub seed: u64,
    /// The pod concerned (`namespace/name`), if one.
    pub pod: Option<String>,
    /// What was wrong, one line (for a call: what came back that should not have).
    pub problem: String,
    /// What the kubelet needed instead, and why.
    pub expected: String,
    /// The call to blame, when there is one.
    pub call: Option<CallEvidence>,
    /// Identical findings (same call, same outcome: the kubelet repeats calls every sync) are
    /// kept once with this count.
    pub count: usize,
    /// The root cause it belongs to (`C1`, …), set when the report is built.
    pub cause: Option<String>,
    /// How to see it again, set when the report is built (needs the plugin directory).
    pub reproduce: Option<Reproduce>,
    /// Whether the finding joins the cause of its call's outcome; `false` for findings about a
    /// property of many calls that one call only illustrates (a latency percentile).
    #[serde(skip)]
    pub grouped_by_call: bool,
    /// The churn bound its transcript was replayed with (`Transcript::churn_bound`): the replay
    /// line repeats it, or it would replay a different transcript.
    #[serde(skip)]
    pub churn_bound: Option<u32>,
}

impl Finding {
    /// A finding about the call `c`.
    pub fn call(c: &CallRef, problem: impl Into<String>, expected: impl Into<String>) -> Self {
        Finding {
            scenario: c.transcript.scenario.clone(),
            seed: c.transcript.seed,
            pod: c.pod.map(|p| p.to_string()),
            problem: problem.into(),
            expected: expected.into(),
            call: Some(CallEvidence::of(c)),
            count: 1,
            cause: None,
            reproduce: None,
            grouped_by_call: true,
            churn_bound: c.transcript.churn_bound,
        }
    }

    /// This finding is a cause of its own (per check), not its call's outcome.
    pub fn own_cause(mut self) -> Self {
        self.grouped_by_call = false;
        self
    }

    /// The key of the root cause this finding belongs to (see [`CallEvidence::cause_key`]).
    pub fn cause_key(&self, check: &str) -> String {
        match &self.call {
            Some(c) if self.grouped_by_call => c.cause_key(),
            _ => format!("check:{check}"),
        }
    }

    /// The key findings are grouped by (see [`CallEvidence::root_key`]).
    pub fn root_key(&self, check: &str) -> String {
        match &self.call {
            Some(c) if self.grouped_by_call => c.root_key(),
            _ => format!("check:{check}"),
        }
    }

    /// A finding about the call `c` whose problem is what the call returned (its outcome, and
    /// for status what the kubelet made of it).
    pub fn call_result(c: &CallRef, expected: impl Into<String>) -> Self {
        let problem = CallEvidence::of(c).result_text();
        Finding::call(c, problem, expected)
    }

    /// A finding not about one call (a pod's IPs across syncs, a latency percentile…).
    pub fn about(
        t: &Transcript,
        pod: Option<&PodRef>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Finding {
            scenario: t.scenario.clone(),
            seed: t.seed,
            pod: pod.map(|p| p.to_string()),
            problem: problem.into(),
            expected: expected.into(),
            call: None,
            count: 1,
            cause: None,
            reproduce: None,
            grouped_by_call: true,
            churn_bound: t.churn_bound,
        }
    }

    /// Whether `other` is the same finding again (the same call made again at a later sync,
    /// with the same outcome and output).
    fn same_as(&self, other: &Finding) -> bool {
        self.scenario == other.scenario
            && self.seed == other.seed
            && self.pod == other.pod
            && self.problem == other.problem
            && self.expected == other.expected
            && match (&self.call, &other.call) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_call_and_result(b),
                _ => false,
            }
    }
}

/// Findings with identical ones collapsed into one with a count, in first-seen order.
pub fn collapse(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|o| o.same_as(&f)) {
            Some(o) => o.count += f.count,
            None => out.push(f),
        }
    }
    out
}

/// A plugin call as a check saw it: the named form of a transcript's call entry.
#[derive(Debug, Clone, Copy)]
pub struct CallRef<'a> {
    pub transcript: &'a Transcript,
    pub purpose: CallPurpose,
    pub pod: Option<&'a PodRef>,
    /// The infra container ID (absent for `init`).
    pub id: Option<&'a str>,
    pub call: &'a CallRecord,
    /// The pod is a host-network pod (from the scenario).
    pub host_network: bool,
}

impl CallRef<'_> {
    pub fn scenario(&self) -> &str {
        &self.transcript.scenario
    }
}

/// Why the kubelet made a call, as data: the transcript's purpose and whether the pod was a
/// host-network pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purpose {
    pub kind: CallPurpose,
    pub host_network: bool,
}

/// Everything about the call a finding blames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvidence {
    pub purpose: Purpose,
    pub action: String,
    /// The full argv as executed (executable path first, full container ID).
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub timed_out: bool,
    /// The outcome as the kubelet (Go's `exec.Cmd`) would have printed it; `None` on exit 0.
    pub error: Option<String>,
    pub duration_ms: f64,
    /// Bytes the call wrote in all (also those past execnet's cap).
    pub output_bytes: u64,
    pub truncated: bool,
    pub leaked: bool,
    pub group_survived: bool,
    /// The output's beginning; the whole output when it is short.
    pub output_head: String,
    /// The output's end (where a traceback's exception is), when the head does not hold it all.
    pub output_tail: Option<String>,
    /// Output lines left out between head and tail.
    pub output_lines_omitted: usize,
    /// For status: what the kubelet made of the output.
    pub status: Option<StatusResult>,
}

impl CallEvidence {
    pub fn of(c: &CallRef) -> Self {
        CallEvidence::from_record(c.call, c.purpose, c.host_network)
    }

    /// The evidence of one call record made for `purpose`.
    pub fn from_record(call: &CallRecord, purpose: CallPurpose, host_network: bool) -> Self {
        let raw = &call.raw;
        let (output_head, output_tail, output_lines_omitted) = head_and_tail(&call.output_text());
        CallEvidence {
            purpose: Purpose {
                kind: purpose,
                host_network,
            },
            action: call.action.as_str().to_string(),
            argv: raw.argv.clone(),
            exit_code: raw.outcome.exit_code(),
            signal: raw.outcome.signal().map(gotext::signal_name),
            timed_out: matches!(raw.outcome, Outcome::TimedOut { .. }),
            error: raw.outcome.error(),
            duration_ms: raw.duration.as_secs_f64() * 1000.0,
            output_bytes: raw.output_bytes,
            truncated: raw.truncated,
            leaked: raw.leaked,
            group_survived: raw.group_survived,
            output_head,
            output_tail,
            output_lines_omitted,
            status: call.status.clone(),
        }
    }

    /// What came back, one line: `exit status 1`, `exit 0; the kubelet's parser said: …`.
    pub fn result_text(&self) -> String {
        let mut s = self.error.clone().unwrap_or_else(|| "exit 0".into());
        match &self.status {
            Some(StatusResult::Error { message }) if self.error.is_none() => {
                s.push_str(&format!("; the kubelet's parser said: {message}"))
            }
            Some(StatusResult::None) => s.push_str("; status: none (empty output)"),
            Some(StatusResult::Status { ip: None, .. }) => s.push_str("; status: no ip"),
            Some(StatusResult::Status { ip: Some(ip), .. }) => {
                s.push_str(&format!("; status: ip {ip}"))
            }
            Some(r @ StatusResult::NotJudged { .. }) => {
                s.push_str(&format!("; status: {}", r.message().unwrap_or_default()))
            }
            _ => {}
        }
        s
    }

    /// The same argv and the same result (durations aside).
    fn same_call_and_result(&self, other: &CallEvidence) -> bool {
        self.purpose == other.purpose
            && self.argv == other.argv
            && self.error == other.error
            && self.output_head == other.output_head
            && self.output_tail == other.output_tail
            && self.status == other.status
            && (self.leaked, self.group_survived, self.truncated)
                == (other.leaked, other.group_survived, other.truncated)
    }

    /// The root-cause key: [`cause_key`](Self::cause_key), except that a status whose output
    /// holds a decodable document beside other output (a log line on stderr, before or after
    /// the document) is one cause whatever the parser's wording and the last line: the
    /// kubelet reads stdout and stderr as one stream, and where the log line landed only
    /// changes the message.
    pub fn root_key(&self) -> String {
        match &self.status {
            Some(StatusResult::Error { .. })
                if self.error.is_none() && self.document_and_more() =>
            {
                format!(
                    "{}|exit 0|error: a status document with other output|leaked={} group={}",
                    self.action, self.leaked, self.group_survived
                )
            }
            _ => self.cause_key(),
        }
    }

    /// The output holds a line that is a JSON object on its own, and more than that line.
    fn document_and_more(&self) -> bool {
        let text = match &self.output_tail {
            Some(tail) => format!("{}{tail}", self.output_head),
            None => self.output_head.clone(),
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines.len() > 1
            && lines.iter().any(|l| {
                serde_json::from_str::<serde_json::Value>(l.trim()).is_ok_and(|v| v.is_object())
            })
    }

    /// Nothing is wrong with the call itself (exit 0, a status the kubelet could use or none,
    /// no leak): a finding about it is about what it said, and no rate applies.
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
            && !self.timed_out
            && !self.leaked
            && !self.group_survived
            && !self.truncated
            && matches!(
                self.status,
                None | Some(StatusResult::None) | Some(StatusResult::Status { .. })
            )
    }

    /// The last non-empty line of the output: where an exception or an error message is.
    pub fn last_line(&self) -> &str {
        let text = self.output_tail.as_deref().unwrap_or(&self.output_head);
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }

    /// The root-cause key: the action, the outcome class (exit code, signal, timed out, spawn
    /// error — not the timeout's length), the kubelet's parse result, the leak flags and the
    /// output's last line, with container IDs, numbers and addresses masked. Namespace, pod
    /// name, ID, scenario, purpose and the check are deliberately not part of it: one bug shows
    /// in every pod, every scenario and several checks, and is one cause.
    pub fn cause_key(&self) -> String {
        let outcome = if self.timed_out {
            "timed out".to_string()
        } else {
            mask(self.error.as_deref().unwrap_or("exit 0"))
        };
        let status = match &self.status {
            None => String::new(),
            Some(StatusResult::None) => "none".into(),
            Some(StatusResult::Status { ip: None, .. }) => "no ip".into(),
            Some(StatusResult::Status { ip: Some(ip), .. }) => {
                format!("ip {}", mask(&ip.to_string()))
            }
            Some(StatusResult::Error { message }) => format!("error {}", mask(message)),
            Some(StatusResult::NotJudged { .. }) => "not judged".into(),
        };
        format!(
            "{}|{outcome}|{status}|leaked={} group={}|{}",
            self.action,
            self.leaked,
            self.group_survived,
            mask(self.last_line())
        )
    }
}

/// Replace runs of hex digits of 12 or more (container IDs), and every run of decimal digits, by
/// `#`, so that the same error for different pods reads the same.
pub fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_hexdigit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_hexdigit() {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() >= 12 || run.iter().all(|c| c.is_ascii_digit()) {
                out.push('#');
            } else {
                out.extend(run);
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Split `text` into a head and, when it is long, a tail and the number of lines left out.
pub fn head_and_tail(text: &str) -> (String, Option<String>, usize) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if text.len() <= WHOLE_BYTES && lines.len() <= WHOLE_LINES {
        return (text.to_string(), None, 0);
    }
    let head_n = SIDE_LINES.min(lines.len());
    let tail_n = SIDE_LINES.min(lines.len() - head_n);
    let head = cap_front(&lines[..head_n].concat(), SIDE_BYTES);
    let tail = cap_back(&lines[lines.len() - tail_n..].concat(), SIDE_BYTES);
    let omitted = lines.len() - head_n - tail_n;
    (head, Some(tail), omitted)
}

fn cap_front(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn cap_back(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// How to see a finding again: the one call through the reference manager, and the replay of
/// the scenario that produced it. Each as argv (for tools) and as one shell-quoted line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reproduce {
    /// `execnet call …`, for a finding about one call (`None` otherwise).
    pub call: Option<Vec<String>>,
    pub call_line: Option<String>,
    /// `execnet replay SCENARIO …`; for a `network/*` finding (the netns network lifecycle,
    /// not a scenario) `execnet certify … --runtime netns … --focus CHECK`.
    pub replay: Vec<String>,
    pub replay_line: String,
}

/// What a reproduce command needs to know about the run.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The plugin directory and name; `None` for the bundled reference plugin (the commands then
    /// leave out `--plugin-dir`/`--plugin` and install a fresh copy of it).
    pub plugin: Option<(&'a Path, &'a str)>,
    pub profile: &'a str,
    pub timeout: Option<Duration>,
    pub jobs: Option<usize>,
    /// The runtime's options (`--runtime netns …`; empty for the simulated runtime), added to
    /// every replay and certify line.
    pub runtime: &'a [String],
    /// `--pool CIDR`, added to certify lines (the `pool-wrap` scenario is certify's own).
    pub pool: Option<String>,
}

impl Target<'_> {
    /// The commands that re-run `finding` of check `check`. A finding of the network lifecycle
    /// (`network/*`, no kubelet scenario) is re-run by the same `certify --runtime netns`
    /// focused on its check (in `replay`/`replay_line`, which name the re-run command).
    pub fn reproduce_check(&self, check: &str, finding: &Finding) -> Reproduce {
        if finding.scenario != super::network::LIFECYCLE
            && finding.scenario != super::pool::POOL_WRAP
        {
            return self.reproduce(finding);
        }
        let mut argv: Vec<String> = vec!["execnet".into(), "certify".into()];
        if let Some((dir, name)) = self.plugin {
            argv.extend([
                "--plugin-dir".into(),
                dir.display().to_string(),
                "--plugin".into(),
                name.to_string(),
            ]);
        }
        argv.extend(
            ["--kubelet", self.profile, "--timeout", &self.timeout_text()].map(String::from),
        );
        argv.extend(self.runtime.iter().cloned());
        if let Some(pool) = &self.pool {
            argv.extend(["--pool".to_string(), pool.clone()]);
        }
        argv.extend(["--focus".to_string(), check.to_string()]);
        Reproduce {
            call: None,
            call_line: None,
            replay_line: shell_line(&argv),
            replay: argv,
        }
    }

    fn timeout_text(&self) -> String {
        match self.timeout {
            Some(d) => crate::plugin::invoke::format_duration(d),
            None => "0".into(),
        }
    }

    /// The commands that re-run `finding` (a finding of a kubelet scenario). Under the netns
    /// runtime there is no call line: `execnet call` runs outside any sandbox.
    pub fn reproduce(&self, finding: &Finding) -> Reproduce {
        let timeout = match self.timeout {
            Some(d) => crate::plugin::invoke::format_duration(d),
            None => "0".into(),
        };
        let target: Vec<String> = match self.plugin {
            Some((dir, name)) => vec![
                "--plugin-dir".into(),
                dir.display().to_string(),
                "--plugin".into(),
                name.to_string(),
            ],
            None => Vec::new(),
        };
        let call = finding
            .call
            .as_ref()
            .filter(|_| self.runtime.is_empty())
            .map(|c| {
                let mut argv: Vec<String> = vec!["execnet".into(), "call".into()];
                argv.extend(target.iter().cloned());
                argv.extend(["--kubelet", self.profile, "--timeout", &timeout].map(String::from));
                argv.extend(c.argv.iter().skip(1).cloned());
                argv
            });
        let mut replay: Vec<String> = [
            "execnet",
            "replay",
            &finding.scenario,
            "--kubelet",
            self.profile,
            "--seed",
            &finding.seed.to_string(),
        ]
        .map(String::from)
        .to_vec();
        replay.extend(target.iter().cloned());
        replay.extend(["--timeout".to_string(), timeout.clone()]);
        if let Some(j) = self.jobs {
            replay.extend(["--jobs".to_string(), j.to_string()]);
        }
        if let Some(n) = finding.churn_bound {
            replay.extend(["--churn-limit".to_string(), n.to_string()]);
        }
        replay.extend(self.runtime.iter().cloned());
        Reproduce {
            call_line: call.as_deref().map(shell_line),
            call,
            replay_line: shell_line(&replay),
            replay,
        }
    }
}

/// `argv` as one line a POSIX shell reads back as the same words.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// One root cause: findings of one or more checks that share a call's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    /// `C1`, `C2`, … in report order (most checks affected first).
    pub id: String,
    /// The grouping key (see [`CallEvidence::cause_key`]; `check:ID` for findings about no
    /// single call, which form one cause per check).
    pub key: String,
    /// The checks it affects, in catalogue order, and whether any of them is a `must` failure.
    pub checks: Vec<&'static str>,
    pub fails_verdict: bool,
    /// How many findings (calls, counting repeats) it explains.
    pub findings: usize,
    /// The first finding, whose evidence and reproduce lines stand for all.
    pub example: Finding,
    /// For a cause that is a call's fault: how many of the run's calls of that action it
    /// showed in (set when the report is built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
}

/// How often a cause showed: in `calls` of the run's `of` calls of `action` made with the
/// arguments of a call that showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub action: String,
    pub calls: usize,
    pub of: usize,
    /// When not every call showed it: how many tries of the call give a 95 % chance to see it
    /// once (`1 - (1 - calls/of)^tries >= 0.95`), and the shell line that repeats the call
    /// until it reproduces (stops at the first failing call, whose output is the last shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tries_for_95: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduce_until: Option<String>,
}

/// Tries of an event with probability `calls/of` per try that see it at least once with 95 %.
pub fn tries_for_95(calls: usize, of: usize) -> usize {
    if calls == 0 || of == 0 || calls >= of {
        return 1;
    }
    let p = calls as f64 / of as f64;
    ((0.05f64).ln() / (1.0 - p).ln()).ceil().max(1.0) as usize
}

/// Every call of a run reduced to what [`rates`] needs, so that a run judges each repetition's
/// transcripts and drops them (`--repeat N` holds one repetition's transcripts at a time, not N):
/// per action and arguments (a hash of the argv), how many calls showed each root key, and
/// whether clean. Actions and root keys are interned (few distinct values); what grows with the
/// number of calls is one small row per distinct argv (container IDs differ by seed).
#[derive(Debug, Default)]
pub struct CallTally {
    names: Vec<String>,
    ids: std::collections::HashMap<String, u32>,
    /// (action, argv hash) → (root key, clean) → calls.
    rows: std::collections::HashMap<(u32, u64), BTreeMap<(u32, bool), usize>>,
}

impl CallTally {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    fn id(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn argv_hash(argv: &[String]) -> u64 {
        use std::hash::{Hash, Hasher};
        // Fixed keys: the same argv hashes alike across repetitions.
        let mut h = std::hash::DefaultHasher::new();
        argv.hash(&mut h);
        h.finish()
    }

    /// Count the calls of one transcript.
    pub fn add(&mut self, t: &Transcript) {
        for (purpose, _, _, call) in t.calls() {
            let ev = CallEvidence::from_record(call, purpose, false);
            let action = self.intern(&ev.action);
            let root = self.intern(&ev.root_key());
            *self
                .rows
                .entry((action, Self::argv_hash(call.argv())))
                .or_default()
                .entry((root, ev.is_clean()))
                .or_default() += 1;
        }
    }

    /// How many calls were counted.
    pub fn calls(&self) -> usize {
        self.rows.values().flat_map(|r| r.values()).sum()
    }
}

/// Set the rate of every cause that is a call's fault: of the run's calls (`tally`, every
/// repetition) made with the same arguments as a call that showed the cause (the same action,
/// pod and container ID: the kubelet repeats them), how many showed it, the others being
/// fine. A plugin that fails a call every time fails every repeat of it (`calls == of`); one
/// that fails some repeats and does fine on the others is intermittent. Calls with other
/// arguments, and repeats that failed in another way (another cause), are left out: a plugin
/// whose output differs by pod or by the pod's state is not intermittent for that.
pub fn rates(causes: &mut [Cause], tally: &CallTally) {
    for cause in causes.iter_mut() {
        let Some(ev) = cause.example.call.as_ref() else {
            continue;
        };
        if cause.key.starts_with("check:") || ev.is_clean() {
            continue;
        }
        let (Some(root), Some(action)) = (tally.id(&ev.root_key()), tally.id(&ev.action)) else {
            continue;
        };
        // The argvs that showed the cause, whatever the action.
        let showed: std::collections::HashSet<u64> = tally
            .rows
            .iter()
            .filter(|(_, r)| r.keys().any(|k| k.0 == root))
            .map(|(k, _)| k.1)
            .collect();
        let (mut of, mut calls) = (0, 0);
        for ((a, argv), r) in &tally.rows {
            if *a != action || !showed.contains(argv) {
                continue;
            }
            for (&(k, clean), &n) in r {
                if k == root || clean {
                    of += n;
                }
                if k == root {
                    calls += n;
                }
            }
        }
        if of == 0 || calls == 0 {
            continue;
        }
        let intermittent = calls < of;
        let tries = tries_for_95(calls, of);
        let until = cause
            .example
            .reproduce
            .as_ref()
            .and_then(|r| r.call_line.as_ref())
            .filter(|_| intermittent)
            .map(|line| format!("for i in $(seq 1 {tries}); do {line} || break; done"));
        cause.rate = Some(Rate {
            action: ev.action.clone(),
            calls,
            of,
            tries_for_95: intermittent.then_some(tries),
            reproduce_until: until,
        });
    }
}

/// Group the findings of `checks` (id, blocking?, findings) into causes and label each finding
/// with its cause. Causes are ordered by the number of checks affected, then first appearance.
pub fn group_causes(checks: &mut [(&'static str, bool, &mut Vec<Finding>)]) -> Vec<Cause> {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, Cause> = BTreeMap::new();
    for (id, blocking, findings) in checks.iter_mut() {
        for f in findings.iter() {
            let root = f.root_key(id);
            let cause = by_key.entry(root.clone()).or_insert_with(|| {
                order.push(root.clone());
                Cause {
                    id: String::new(),
                    // The first finding's own key: the same as before for a cause whose
                    // findings all read alike.
                    key: f.cause_key(id),
                    checks: Vec::new(),
                    fails_verdict: false,
                    findings: 0,
                    example: f.clone(),
                    rate: None,
                }
            });
            if !cause.checks.contains(id) {
                cause.checks.push(id);
            }
            cause.fails_verdict |= *blocking;
            cause.findings += f.count;
        }
    }
    let mut causes: Vec<(String, Cause)> = order
        .iter()
        .filter_map(|k| Some((k.clone(), by_key.remove(k)?)))
        .collect();
    // Stable: equal check counts keep first-appearance order.
    causes.sort_by_key(|(_, c)| (!c.fails_verdict, std::cmp::Reverse(c.checks.len())));
    let mut label: BTreeMap<String, String> = BTreeMap::new();
    for (i, (root, c)) in causes.iter_mut().enumerate() {
        c.id = format!("C{}", i + 1);
        c.example.cause = Some(c.id.clone());
        label.insert(root.clone(), c.id.clone());
    }
    for (id, _, findings) in checks.iter_mut() {
        for f in findings.iter_mut() {
            let key = f.root_key(id);
            f.cause = label.get(&key).cloned();
        }
    }
    let causes: Vec<Cause> = causes.into_iter().map(|(_, c)| c).collect();
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_output_keeps_its_tail() {
        let mut text = String::from("Traceback (most recent call last):\n");
        for i in 0..40 {
            text.push_str(&format!(
                "  File \"plugin.py\", line {i}, in f\n    ^^^^^^^^^^\n"
            ));
        }
        text.push_str("ValueError: no address for pod web\n");
        let (head, tail, omitted) = head_and_tail(&text);
        assert!(head.starts_with("Traceback"));
        let tail = tail.expect("a tail");
        assert!(
            tail.ends_with("ValueError: no address for pod web\n"),
            "{tail}"
        );
        assert_eq!(head.lines().count() + tail.lines().count() + omitted, 82);
    }

    #[test]
    fn a_short_output_is_whole_in_the_head() {
        assert_eq!(
            head_and_tail("one\ntwo\n"),
            ("one\ntwo\n".to_string(), None, 0)
        );
    }

    #[test]
    fn masking_hides_ids_and_numbers_but_not_words() {
        assert_eq!(
            mask("no address for d9eef7f073d37c42 at 10.1.2.3, bad facade"),
            "no address for # at #.#.#.#, bad facade"
        );
    }

    #[test]
    fn tries_for_a_95_percent_chance() {
        // 1 in 5: 0.8^13 = 0.055, 0.8^14 = 0.044.
        assert_eq!(tries_for_95(1, 5), 14);
        assert_eq!(tries_for_95(20, 100), 14);
        assert_eq!(tries_for_95(1, 2), 5);
        assert_eq!(tries_for_95(5, 5), 1);
    }

    #[test]
    fn shell_lines_quote_what_needs_it() {
        let argv = ["execnet", "call", "/tmp/my plugins", "it's"].map(String::from);
        assert_eq!(
            shell_line(&argv),
            r"execnet call '/tmp/my plugins' 'it'\''s'"
        );
    }
}
