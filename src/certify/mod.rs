//! Certification: a catalogue of checks (`CATEGORY/NAME`, must or should) that judge the
//! transcripts of the conformance scenarios, each with evidence, and the verdict (fail iff a
//! `must` check fails). Checks never call plugins; the runner replays the scenarios they need.

pub mod catalogue;
pub mod embedded;
pub mod evidence;
pub mod network;
pub mod run;

use serde::Serialize;

pub use catalogue::{CATALOGUE, CheckDef};
pub use run::{CertifyError, CertifyOptions, Progress, certify};

/// How much a check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Warn,
    Skip,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
        }
    }
}

/// One judged check, as it appears in the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub level: Level,
    pub outcome: Outcome,
    pub evidence: String,
    /// Extension: the check's one-line title.
    pub title: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// The certification report (SPEC 5).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub kubelet: String,
    pub verdict: Verdict,
    pub checks: Vec<CheckResult>,
    /// Extension: wall time of the whole run, and notes (e.g. shortened timeouts).
    pub duration_ms: f64,
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }
}
