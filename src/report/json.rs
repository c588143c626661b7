//! The JSON report (SPEC 5): `{"plugin", "kubelet", "verdict", "checks": [{"id", "level",
//! "outcome", "evidence", …}]}` plus extensions (`judged`, `findings`, `causes`, …). Keys are
//! added, never removed or renamed: `evidence` stays the prose it always was, `findings` is the
//! same as data.

use serde::Serialize;

use super::evidence;
use crate::certify::baseline::Mark;
use crate::certify::matrix::Matrix;
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
    /// With `--baseline`: what changed since that report.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Mark>,
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
    pretty(&doc(report))
}

fn pretty<T: Serialize>(doc: &T) -> String {
    serde_json::to_string_pretty(doc)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}

fn doc(report: &Report) -> JsonReport<'_> {
    JsonReport {
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
                baseline: report.baseline.as_ref().and_then(|b| b.get(c.id)).copied(),
            })
            .collect(),
        causes: &report.causes,
        scenarios: &report.scenarios,
        seeds: &report.seeds,
        duration_ms: report.duration_ms,
        notes: &report.notes,
    }
}

#[derive(Serialize)]
struct JsonMatrixReport<'a> {
    plugin: &'a str,
    /// The releases, comma-separated (`1.1,1.2,…`).
    kubelet: String,
    verdict: Verdict,
    /// Per check, its worst outcome over the releases (fail, flaky, warn, skip, pass) with that
    /// release's evidence, and `outcomes` per release.
    checks: Vec<serde_json::Value>,
    causes: Vec<serde_json::Value>,
    scenarios: Vec<&'a str>,
    seeds: &'a [u64],
    duration_ms: f64,
    notes: Vec<&'a str>,
    matrix: JsonMatrix<'a>,
    /// Each release's whole report, as a single-release run writes it.
    releases: Vec<JsonReport<'a>>,
}

#[derive(Serialize)]
struct JsonMatrix<'a> {
    releases: Vec<&'a str>,
    summary: String,
    verdicts: std::collections::BTreeMap<&'a str, Verdict>,
    checks: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    level: Level,
    /// Release → outcome (`null`: not run under that release).
    outcomes: std::collections::BTreeMap<&'a str, Option<Outcome>>,
}

/// The JSON report of a run over several releases: the keys of a single report (SPEC 5) for
/// the whole (`verdict` fails if any release fails; each check's worst outcome), plus `matrix`
/// and `releases` (each release's own report).
pub fn render_matrix(matrix: &Matrix) -> String {
    let releases = matrix.releases();
    let first = matrix.reports.first();
    let rows = matrix.rows();
    let per_release: Vec<JsonReport> = matrix.reports.iter().map(doc).collect();
    let checks = rows
        .iter()
        .map(|row| {
            let (i, worst) = row
                .outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, o)| o.map(|c| (i, c)))
                .max_by_key(|(_, c)| crate::certify::matrix::severity(c.outcome))
                .expect("a row has a check");
            let mut v = serde_json::to_value(
                per_release[i]
                    .checks
                    .iter()
                    .find(|c| c.id == worst.id)
                    .expect("the check is in its release's report"),
            )
            .unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                let ev = obj.get("evidence").and_then(|e| e.as_str()).unwrap_or("");
                let ev = format!("kubelet {}: {ev}", releases[i]);
                obj.insert("evidence".into(), ev.into());
                obj.insert(
                    "outcomes".into(),
                    serde_json::to_value(outcomes(&releases, row)).unwrap_or_default(),
                );
            }
            v
        })
        .collect();
    let mut causes = Vec::new();
    for r in &matrix.reports {
        for c in &r.causes {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("kubelet".into(), r.kubelet.clone().into());
            }
            causes.push(v);
        }
    }
    let mut scenarios: Vec<&str> = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    for r in &matrix.reports {
        for s in &r.scenarios {
            if !scenarios.contains(&s.as_str()) {
                scenarios.push(s);
            }
        }
        for n in &r.notes {
            if !notes.contains(&n.as_str()) {
                notes.push(n);
            }
        }
    }
    let doc = JsonMatrixReport {
        plugin: first.map_or("", |r| r.plugin.as_str()),
        kubelet: releases.join(","),
        verdict: matrix.verdict(),
        checks,
        causes,
        scenarios,
        seeds: first.map_or(&[], |r| r.seeds.as_slice()),
        duration_ms: matrix.reports.iter().map(|r| r.duration_ms).sum(),
        notes,
        matrix: JsonMatrix {
            releases: releases.clone(),
            summary: matrix.summary(),
            verdicts: matrix
                .reports
                .iter()
                .map(|r| (r.kubelet.as_str(), r.verdict))
                .collect(),
            checks: rows
                .iter()
                .map(|row| JsonRow {
                    id: row.id,
                    level: row.level,
                    outcomes: outcomes(&releases, row),
                })
                .collect(),
        },
        releases: per_release,
    };
    pretty(&doc)
}

fn outcomes<'a>(
    releases: &[&'a str],
    row: &crate::certify::matrix::Row,
) -> std::collections::BTreeMap<&'a str, Option<Outcome>> {
    releases
        .iter()
        .zip(&row.outcomes)
        .map(|(r, o)| (*r, o.map(|c| c.outcome)))
        .collect()
}
