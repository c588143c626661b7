//! The JSON report (docs/cli.md §5): `{"plugin", "kubelet", "verdict", "checks": [{"id", "level",
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
    /// Only in a shard's report (`certify --partition`): what `report merge` needs to render
    /// the merged JUnit that the keys above do not carry; the merged report leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<ShardData<'a>>,
}

/// A shard's render data: the wall time of each scenario (JUnit's case times) and each
/// check's first finding in full (the end of its JUnit failure text).
#[derive(Serialize)]
struct ShardData<'a> {
    scenario_ms: &'a std::collections::BTreeMap<String, f64>,
    first_findings: std::collections::BTreeMap<&'a str, Vec<String>>,
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
        shard: report
            .notes
            .iter()
            .any(|n| n.starts_with(super::merge::PARTITION_NOTE))
            .then(|| ShardData {
                scenario_ms: &report.scenario_ms,
                first_findings: report
                    .checks
                    .iter()
                    .filter_map(|c| Some((c.id, super::junit::first_finding(c)?)))
                    .collect(),
            }),
    }
}

/// The JSON report of a run over several releases: the keys of a single report (docs/cli.md §5) for
/// the whole (`verdict` fails if any release fails; each check's worst outcome, fail, flaky,
/// warn, skip, pass, with that release's evidence and `outcomes` per release), plus `matrix`
/// (releases, the summary line, verdicts, a row per check) and `releases` (each release's own
/// report).
pub fn render_matrix(matrix: &Matrix) -> String {
    let per: Vec<serde_json::Value> = matrix
        .reports
        .iter()
        .map(|r| serde_json::to_value(doc(r)).unwrap_or_default())
        .collect();
    match matrix_value(per) {
        Ok(v) => pretty(&v),
        Err(e) => format!("{{\"error\": {e:?}}}"),
    }
}

fn severity_word(outcome: &str) -> u8 {
    match outcome {
        "fail" => 4,
        "flaky" => 3,
        "warn" => 2,
        "skip" => 1,
        _ => 0,
    }
}

/// The matrix document from each release's report (as JSON values, in release order); also
/// what `report merge` makes of shards over several releases.
pub fn matrix_value(releases: Vec<serde_json::Value>) -> Result<serde_json::Value, String> {
    use serde_json::{Map, Value};
    let names: Vec<String> = releases
        .iter()
        .map(|r| r["kubelet"].as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or("a report without \"kubelet\"")?;
    let mut ids: Vec<(String, Value)> = Vec::new();
    for r in &releases {
        for c in r["checks"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap_or("").to_string();
            if !ids.iter().any(|(i, _)| *i == id) {
                ids.push((id, c["level"].clone()));
            }
        }
    }
    let find = |r: &Value, id: &str| -> Option<Value> {
        r["checks"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    };
    let mut checks = Vec::new();
    let mut rows = Vec::new();
    for (id, level) in &ids {
        let mut outcomes = Map::new();
        let mut worst: Option<(u8, usize, Value)> = None;
        for (i, r) in releases.iter().enumerate() {
            let c = find(r, id);
            let word = c
                .as_ref()
                .and_then(|c| c["outcome"].as_str())
                .map(str::to_string);
            outcomes.insert(
                names[i].clone(),
                word.clone().map_or(Value::Null, Value::from),
            );
            if let (Some(c), Some(w)) = (c, word) {
                let sev = severity_word(&w);
                if worst.as_ref().is_none_or(|(s, _, _)| sev > *s) {
                    worst = Some((sev, i, c));
                }
            }
        }
        let Some((_, i, mut c)) = worst else { continue };
        if let Some(obj) = c.as_object_mut() {
            let ev = obj.get("evidence").and_then(Value::as_str).unwrap_or("");
            let ev = format!("kubelet {}: {ev}", names[i]);
            obj.insert("evidence".into(), ev.into());
            obj.insert("outcomes".into(), Value::Object(outcomes.clone()));
        }
        checks.push(c);
        let mut row = Map::new();
        row.insert("id".into(), id.clone().into());
        row.insert("level".into(), level.clone());
        row.insert("outcomes".into(), Value::Object(outcomes));
        rows.push(Value::Object(row));
    }
    let mut causes = Vec::new();
    let mut scenarios: Vec<Value> = Vec::new();
    let mut notes: Vec<Value> = Vec::new();
    let mut verdicts = Map::new();
    let mut summary_rows: Vec<(&str, Verdict, Vec<&str>)> = Vec::new();
    let mut duration = 0.0;
    for (i, r) in releases.iter().enumerate() {
        for c in r["causes"].as_array().into_iter().flatten() {
            let mut c = c.clone();
            if let Some(obj) = c.as_object_mut() {
                obj.insert("kubelet".into(), names[i].clone().into());
            }
            causes.push(c);
        }
        for s in r["scenarios"].as_array().into_iter().flatten() {
            if !scenarios.contains(s) {
                scenarios.push(s.clone());
            }
        }
        for n in r["notes"].as_array().into_iter().flatten() {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
        duration += r["duration_ms"].as_f64().unwrap_or(0.0);
        let verdict: Verdict = match r["verdict"].as_str() {
            Some("pass") => Verdict::Pass,
            Some("fail") => Verdict::Fail,
            Some("inconclusive") => Verdict::Inconclusive,
            _ => return Err(format!("kubelet {}: no verdict", names[i])),
        };
        verdicts.insert(names[i].clone(), r["verdict"].clone());
        let failing: Vec<&str> = r["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["level"] == "must" && matches!(c["outcome"].as_str(), Some("fail" | "flaky"))
            })
            .filter_map(|c| c["id"].as_str())
            .collect();
        summary_rows.push((names[i].as_str(), verdict, failing));
    }
    let verdict = crate::certify::matrix::combine_verdicts(summary_rows.iter().map(|r| r.1));
    let summary = crate::certify::matrix::summary(&summary_rows);
    let mut matrix = Map::new();
    matrix.insert(
        "releases".into(),
        serde_json::to_value(&names).unwrap_or_default(),
    );
    matrix.insert("summary".into(), summary.into());
    matrix.insert("verdicts".into(), Value::Object(verdicts));
    matrix.insert("checks".into(), Value::Array(rows));
    let mut out = Map::new();
    out.insert("plugin".into(), releases[0]["plugin"].clone());
    out.insert("kubelet".into(), names.join(",").into());
    out.insert(
        "verdict".into(),
        serde_json::to_value(verdict).unwrap_or_default(),
    );
    out.insert("checks".into(), Value::Array(checks));
    out.insert("causes".into(), Value::Array(causes));
    out.insert("scenarios".into(), Value::Array(scenarios));
    out.insert("seeds".into(), releases[0]["seeds"].clone());
    out.insert("duration_ms".into(), duration.into());
    out.insert("notes".into(), Value::Array(notes));
    out.insert("matrix".into(), Value::Object(matrix));
    out.insert("releases".into(), Value::Array(releases));
    Ok(Value::Object(out))
}
