//! The JSON report (SPEC 5): `{"plugin", "kubelet", "verdict", "checks": [{"id", "level",
//! "outcome", "evidence", …}]}` plus extensions (`judged`, `findings`, `causes`, …). Keys are
//! added, never removed or renamed: `evidence` stays the prose it always was, `findings` is the
//! same as data.

use serde::Serialize;

use super::evidence;
use crate::certify::{
    Cause, CheckResult, Finding, Level, Outcome, Repeats, Report, SkipKind, Verdict,
};

/// At most this many finding lines in a check's `evidence` prose.
const EVIDENCE_LINES: usize = 5;
/// At most this many findings per check in `findings` (identical ones already collapsed; the
/// rest are counted in `findings_omitted`, and every cause keeps its example).
const FINDINGS_MAX: usize = 10;

#[derive(Serialize)]
struct JsonReport<'a> {
    plugin: &'a str,
    kubelet: &'a str,
    verdict: Verdict,
    checks: Vec<JsonCheck<'a>>,
    causes: &'a [Cause],
    scenarios: &'a [String],
    seeds: &'a [u64],
    duration_ms: f64,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    id: &'a str,
    level: Level,
    outcome: Outcome,
    evidence: String,
    title: &'a str,
    judged: usize,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<SkipKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warn_only: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeats: Option<&'a Repeats>,
    findings: &'a [Finding],
    findings_omitted: usize,
}

/// The prose evidence of a check: its summary for a pass or a skip, its findings' lines
/// otherwise.
pub fn evidence_text(c: &CheckResult) -> String {
    match c.outcome {
        Outcome::Pass | Outcome::Skip => c.summary.clone(),
        _ => {
            let mut lines = evidence::lines(&c.findings, EVIDENCE_LINES);
            if let Some(why) = &c.warn_only {
                lines.push(format!("({why})"));
            }
            if let Some(r) = &c.repeats {
                lines.push(evidence::repeats(r));
            }
            lines.join("\n")
        }
    }
}

pub fn render(report: &Report) -> String {
    let doc = JsonReport {
        plugin: &report.plugin,
        kubelet: &report.kubelet,
        verdict: report.verdict,
        checks: report
            .checks
            .iter()
            .map(|c| JsonCheck {
                id: c.id,
                level: c.level,
                outcome: c.outcome,
                evidence: evidence_text(c),
                title: c.title,
                judged: c.judged,
                summary: &c.summary,
                skip_reason: c.skip,
                warn_only: c.warn_only.as_deref(),
                repeats: c.repeats.as_ref(),
                findings: &c.findings[..c.findings.len().min(FINDINGS_MAX)],
                findings_omitted: c.findings.len().saturating_sub(FINDINGS_MAX),
            })
            .collect(),
        causes: &report.causes,
        scenarios: &report.scenarios,
        seeds: &report.seeds,
        duration_ms: report.duration_ms,
        notes: &report.notes,
    };
    serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}
