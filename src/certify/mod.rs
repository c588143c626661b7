//! Certification: a catalogue of checks (`CATEGORY/NAME`, must or should; `catalogue`, one file
//! per category in `checks/`) that judge the transcripts of the conformance scenarios, each
//! saying how many items it judged and what it found (`evidence`: findings as data, grouped
//! into root causes), and the verdict (`verdict`): fail iff a `must` check fails or is flaky,
//! inconclusive when a `must` check had no evidence to judge. Checks never call plugins; the
//! runner (`run`) replays the scenarios they need.

pub mod baseline;
pub mod catalogue;
pub mod checks;
pub mod embedded;
pub mod evidence;
pub mod matrix;
pub mod network;
pub mod pool;
pub mod run;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use catalogue::{CATALOGUE, CheckDef};
pub use evidence::{Cause, Finding};
pub use run::{CertifyError, CertifyOptions, Progress, certify};

/// How much a check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// What a check concluded. A failed `should` check is a `warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Warn,
    Skip,
    /// Passed in some repetitions and failed in others (`--repeat`).
    Flaky,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
            Outcome::Flaky => "flaky",
        }
    }
}

/// Why a check was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipKind {
    /// The check does not apply under this profile; never changes the verdict.
    NotApplicable,
    /// The scenarios it judges produced nothing to judge: a `must` check skipped so makes the
    /// verdict inconclusive.
    NoEvidence,
}

/// One judged check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub outcome: Outcome,
    /// How many items (calls, pods, containers, syncs) the judge looked at.
    pub judged: usize,
    /// What was judged (pass), or why it was skipped (skip), one line.
    pub summary: String,
    /// What was wrong, identical findings collapsed (empty for pass and skip).
    pub findings: Vec<Finding>,
    /// Set for a skip.
    pub skip: Option<SkipKind>,
    /// Set when a `must` check's findings are only a warning under this profile: why.
    pub warn_only: Option<String>,
    /// Set with `--repeat`: the seeds of the repetitions in which it passed and failed.
    pub repeats: Option<Repeats>,
}

impl CheckResult {
    /// Whether this check alone makes the verdict `fail`.
    pub fn fails_verdict(&self) -> bool {
        self.level == Level::Must && matches!(self.outcome, Outcome::Fail | Outcome::Flaky)
    }

    /// Whether this check leaves the verdict `inconclusive` (unless another fails it).
    pub fn leaves_inconclusive(&self) -> bool {
        self.level == Level::Must
            && self.outcome == Outcome::Skip
            && self.skip == Some(SkipKind::NoEvidence)
    }

    /// The number of findings, identical ones counted each time.
    pub fn finding_count(&self) -> usize {
        self.findings.iter().map(|f| f.count).sum()
    }
}

/// Per check, over `--repeat N` repetitions: the seeds it passed and failed with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repeats {
    pub passed: Vec<u64>,
    pub failed: Vec<u64>,
    pub skipped: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// No `must` check failed, but one could not be judged.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The certification report (docs/cli.md §5): data only; `src/report/` renders it.
#[derive(Debug, Clone)]
pub struct Report {
    pub plugin: String,
    pub kubelet: String,
    pub verdict: Verdict,
    /// The selected checks, in catalogue order.
    pub checks: Vec<CheckResult>,
    /// Root causes of the findings, most checks affected first.
    pub causes: Vec<Cause>,
    /// The scenarios replayed, in order.
    pub scenarios: Vec<String>,
    /// The seeds each scenario was replayed with (one, or `--repeat` of them).
    pub seeds: Vec<u64>,
    /// Wall time spent replaying each scenario (all repetitions), in milliseconds.
    pub scenario_ms: std::collections::BTreeMap<String, f64>,
    /// Wall time of the whole run, and notes (e.g. shortened timeouts).
    pub duration_ms: f64,
    pub notes: Vec<String>,
    /// Transcripts for the HTML report's timelines (not in JSON), in replay order: every
    /// scenario's of the first repetition and, of later ones (`--repeat`), a scenario's first
    /// transcript that a finding of its repetition names; at most two per scenario, however
    /// many repetitions.
    pub transcripts: Vec<crate::kubelet::Transcript>,
    /// Set with `--baseline`: what changed for each check since that report (checks with no
    /// change are absent from the map).
    pub baseline: Option<std::collections::BTreeMap<&'static str, baseline::Mark>>,
}

/// Why a report with `verdict` is inconclusive, from its checks' (id, summary, whether it
/// leaves the verdict inconclusive, outcome): see [`Report::inconclusive_reasons`].
pub fn inconclusive_reasons<'a>(
    verdict: Verdict,
    checks: impl Iterator<Item = (&'a str, &'a str, bool, Outcome)> + Clone,
) -> Vec<String> {
    if verdict != Verdict::Inconclusive {
        return Vec::new();
    }
    let mut out: Vec<String> = checks
        .clone()
        .filter(|c| c.2)
        .map(|(id, summary, ..)| format!("{id} (must) could not be judged: {summary}"))
        .collect();
    let (total, all_skipped) = checks.fold((0, true), |(n, all), c| {
        (n + 1, all && c.3 == Outcome::Skip)
    });
    if all_skipped {
        out.push(format!(
            "no check judged anything ({total} selected, all skipped): a run that judged nothing is no pass"
        ));
    }
    if out.is_empty() {
        out.push("the run did not finish (see the notes)".into());
    }
    out
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Why the verdict is inconclusive, one line each (empty unless it is): the `must` checks
    /// that had no evidence and why, or that no check judged anything.
    pub fn inconclusive_reasons(&self) -> Vec<String> {
        inconclusive_reasons(
            self.verdict,
            self.checks
                .iter()
                .map(|c| (c.id, c.summary.as_str(), c.leaves_inconclusive(), c.outcome)),
        )
    }
}
