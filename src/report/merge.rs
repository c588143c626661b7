//! `execnet report merge A.json B.json …`: the JSON reports of the shards of one run
//! (`certify --partition K/N`) joined into the JSON report of the whole, as the unsharded run
//! writes it: per release, the checks of every shard in catalogue order, the causes joined by
//! their key and numbered again, the scenarios in suite order, the notes once each; the
//! verdict of a release is the combination of its shards' verdicts (each shard judged its
//! checks whole); several releases make the matrix document ([`super::json::matrix_value`]).
//! Works on the JSON values: a shard's report is all a CI job keeps.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::certify::catalogue::{ALL_SCENARIOS, CATALOGUE};
use crate::certify::matrix::combine_verdicts;
use crate::certify::{Outcome, Verdict, network};
use crate::kubelet::profile::PROFILES;

/// A note that names the shard (left out of the merged report).
pub const PARTITION_NOTE: &str = "partition ";

fn verdict_of(v: &Value) -> Result<Verdict, String> {
    match v.as_str() {
        Some("pass") => Ok(Verdict::Pass),
        Some("fail") => Ok(Verdict::Fail),
        Some("inconclusive") => Ok(Verdict::Inconclusive),
        _ => Err(format!("a report with verdict {v}")),
    }
}

fn check_index(id: &str) -> usize {
    CATALOGUE
        .iter()
        .position(|c| c.id == id)
        .or_else(|| {
            network::check_ids()
                .iter()
                .position(|n| *n == id)
                .map(|i| CATALOGUE.len() + i)
        })
        .unwrap_or(usize::MAX)
}

fn scenario_index(name: &str) -> usize {
    ALL_SCENARIOS
        .iter()
        .position(|s| *s == name)
        .unwrap_or(usize::MAX)
}

fn release_index(name: &str) -> usize {
    PROFILES
        .iter()
        .position(|p| p.name == name)
        .unwrap_or(usize::MAX)
}

/// Merge the shard reports `docs` (each a single-release report or a matrix report) into the
/// report of the whole run.
pub fn merge(docs: &[Value]) -> Result<Value, String> {
    let mut by_release: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for doc in docs {
        let parts: Vec<&Value> = match doc.get("releases").and_then(Value::as_array) {
            Some(rs) => rs.iter().collect(),
            None => vec![doc],
        };
        for p in parts {
            let release = p
                .get("kubelet")
                .and_then(Value::as_str)
                .ok_or("a report without \"kubelet\"")?;
            by_release.entry(release.to_string()).or_default().push(p);
        }
    }
    if by_release.is_empty() {
        return Err("no report to merge".into());
    }
    let mut releases: Vec<(String, Vec<&Value>)> = by_release.into_iter().collect();
    releases.sort_by_key(|(r, _)| release_index(r));
    let plugins: Vec<&str> = releases
        .iter()
        .flat_map(|(_, ds)| ds.iter().filter_map(|d| d.get("plugin")?.as_str()))
        .collect();
    if plugins.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!(
            "the reports are of different plugins: {}",
            plugins.join(", ")
        ));
    }
    let merged: Vec<Value> = releases
        .iter()
        .map(|(_, ds)| merge_release(ds))
        .collect::<Result<_, _>>()?;
    if merged.len() == 1 {
        return Ok(merged.into_iter().next().expect("one"));
    }
    super::json::matrix_value(merged)
}

/// The shards of one release as one report.
fn merge_release(docs: &[&Value]) -> Result<Value, String> {
    let first = docs[0];
    let verdict = combine_verdicts(
        docs.iter()
            .map(|d| verdict_of(d.get("verdict").unwrap_or(&Value::Null)))
            .collect::<Result<Vec<_>, _>>()?,
    );
    // Checks, each from the one shard that judged it; findings' cause labels are shard-local.
    let mut checks: Vec<(usize, usize, Value)> = Vec::new();
    for (shard, d) in docs.iter().enumerate() {
        for c in d
            .get("checks")
            .and_then(Value::as_array)
            .ok_or("a report without \"checks\"")?
        {
            let id = c
                .get("id")
                .and_then(Value::as_str)
                .ok_or("a check without \"id\"")?;
            if checks.iter().any(|(_, _, o)| o["id"] == id) {
                return Err(format!(
                    "check {id} is in two reports of kubelet {} (shards of different runs?)",
                    d["kubelet"].as_str().unwrap_or("?")
                ));
            }
            checks.push((check_index(id), shard, c.clone()));
        }
    }
    checks.sort_by_key(|(i, _, _)| *i);
    // Causes joined by key; their first appearance is their first check (catalogue order) and
    // the position of its first finding there, as the unsharded run numbers them.
    struct Joined {
        key: String,
        first: (usize, usize),
        cause: Map<String, Value>,
        /// (shard, label in that shard)
        labels: Vec<(usize, String)>,
    }
    let mut joined: Vec<Joined> = Vec::new();
    for (shard, d) in docs.iter().enumerate() {
        for c in d
            .get("causes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(obj) = c.as_object() else { continue };
            let key = obj
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let label = obj
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let first_check = obj
                .get("checks")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or("");
            let pos = checks
                .iter()
                .find(|(_, s, c)| *s == shard && c["id"] == first_check)
                .and_then(|(_, _, c)| {
                    c["findings"]
                        .as_array()?
                        .iter()
                        .position(|f| f["cause"] == label.as_str())
                })
                .unwrap_or(usize::MAX);
            let first = (check_index(first_check), pos);
            match joined.iter_mut().find(|j| j.key == key) {
                Some(j) => {
                    j.labels.push((shard, label));
                    let mut ids: Vec<Value> =
                        j.cause["checks"].as_array().cloned().unwrap_or_default();
                    for id in obj["checks"].as_array().into_iter().flatten() {
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                    ids.sort_by_key(|v| check_index(v.as_str().unwrap_or("")));
                    j.cause.insert("checks".into(), Value::Array(ids));
                    let fails = j.cause["fails_verdict"].as_bool().unwrap_or(false)
                        || obj["fails_verdict"].as_bool().unwrap_or(false);
                    j.cause.insert("fails_verdict".into(), fails.into());
                    let n = j.cause["findings"].as_u64().unwrap_or(0)
                        + obj["findings"].as_u64().unwrap_or(0);
                    j.cause.insert("findings".into(), n.into());
                    if first < j.first {
                        j.first = first;
                        for k in ["example", "key"] {
                            if let Some(v) = obj.get(k) {
                                j.cause.insert(k.into(), v.clone());
                            }
                        }
                    }
                }
                None => joined.push(Joined {
                    key,
                    first,
                    cause: obj.clone(),
                    labels: vec![(shard, label)],
                }),
            }
        }
    }
    joined.sort_by_key(|j| j.first);
    joined.sort_by_key(|j| {
        (
            !j.cause["fails_verdict"].as_bool().unwrap_or(false),
            std::cmp::Reverse(j.cause["checks"].as_array().map_or(0, Vec::len)),
        )
    });
    let mut relabel: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut causes = Vec::new();
    for (i, mut j) in joined.into_iter().enumerate() {
        let id = format!("C{}", i + 1);
        for l in j.labels.drain(..) {
            relabel.insert(l, id.clone());
        }
        j.cause.insert("id".into(), id.clone().into());
        if let Some(ex) = j.cause.get_mut("example").and_then(Value::as_object_mut) {
            ex.insert("cause".into(), id.into());
        }
        causes.push(Value::Object(j.cause));
    }
    let checks: Vec<Value> = checks
        .into_iter()
        .map(|(_, shard, mut c)| {
            for f in c["findings"].as_array_mut().into_iter().flatten() {
                if let Some(old) = f["cause"].as_str()
                    && let Some(new) = relabel.get(&(shard, old.to_string()))
                {
                    f["cause"] = new.clone().into();
                }
            }
            c
        })
        .collect();
    let mut scenarios: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut duration: f64 = 0.0;
    for d in docs {
        for s in d["scenarios"].as_array().into_iter().flatten() {
            if let Some(s) = s.as_str()
                && !scenarios.iter().any(|x| x == s)
            {
                scenarios.push(s.to_string());
            }
        }
        for n in d["notes"].as_array().into_iter().flatten() {
            if let Some(n) = n.as_str()
                && !n.starts_with(PARTITION_NOTE)
                && !notes.iter().any(|x| x == n)
            {
                notes.push(n.to_string());
            }
        }
        duration = duration.max(d["duration_ms"].as_f64().unwrap_or(0.0));
    }
    scenarios.sort_by_key(|s| scenario_index(s));
    let mut out = Map::new();
    out.insert("plugin".into(), first["plugin"].clone());
    out.insert("kubelet".into(), first["kubelet"].clone());
    out.insert(
        "verdict".into(),
        serde_json::to_value(verdict).unwrap_or_default(),
    );
    out.insert("checks".into(), Value::Array(checks));
    out.insert("causes".into(), Value::Array(causes));
    out.insert(
        "scenarios".into(),
        serde_json::to_value(scenarios).unwrap_or_default(),
    );
    out.insert("seeds".into(), first["seeds"].clone());
    out.insert("duration_ms".into(), duration.into());
    out.insert(
        "notes".into(),
        serde_json::to_value(notes).unwrap_or_default(),
    );
    // The shards' render data, joined (only when every shard carries it).
    if docs.iter().all(|d| d.get("shard").is_some()) {
        let mut scenario_ms = Map::new();
        let mut first = Map::new();
        for d in docs {
            for (k, v) in d["shard"]["scenario_ms"].as_object().into_iter().flatten() {
                let ms = v
                    .as_f64()
                    .unwrap_or(0.0)
                    .max(scenario_ms.get(k).and_then(Value::as_f64).unwrap_or(0.0));
                scenario_ms.insert(k.clone(), ms.into());
            }
            for (k, v) in d["shard"]["first_findings"]
                .as_object()
                .into_iter()
                .flatten()
            {
                first.insert(k.clone(), v.clone());
            }
        }
        let mut shard = Map::new();
        shard.insert("scenario_ms".into(), Value::Object(scenario_ms));
        shard.insert("first_findings".into(), Value::Object(first));
        out.insert("shard".into(), Value::Object(shard));
    }
    Ok(Value::Object(out))
}

/// The per-release reports of a merged report (the document itself for one release).
fn release_reports(merged: &Value) -> Vec<&Value> {
    match merged.get("releases").and_then(Value::as_array) {
        Some(rs) => rs.iter().collect(),
        None => vec![merged],
    }
}

/// Leave the shards' render data out of a merged report (the unsharded run has none).
pub fn strip_shard_data(merged: &mut Value) {
    if let Some(o) = merged.as_object_mut() {
        o.remove("shard");
    }
    for r in merged
        .get_mut("releases")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = r.as_object_mut() {
            o.remove("shard");
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| format!("{what} {v}: {e}"))
}

/// The JUnit report of a merged report, as the unsharded run writes it; needs the shards'
/// render data (`certify --partition` writes it).
pub fn junit(merged: &Value) -> Result<String, String> {
    use super::junit::{Case, Suite, case_ms, render_suites};
    let reports = release_reports(merged);
    let mut suites = Vec::new();
    for r in &reports {
        let shard = r.get("shard").ok_or(
            "JUnit needs the render data of certify --partition shards; these reports have none",
        )?;
        let scenario_ms: BTreeMap<String, f64> = parse(&shard["scenario_ms"], "scenario_ms")?;
        let verdict: Verdict = parse(&r["verdict"], "verdict")?;
        let mut cases = Vec::new();
        for c in r["checks"]
            .as_array()
            .ok_or("a report without \"checks\"")?
        {
            let id = c["id"].as_str().ok_or("a check without \"id\"")?;
            let outcome: Outcome = parse(&c["outcome"], "outcome")?;
            let first: Option<Vec<String>> = parse(&shard["first_findings"][id], "first finding")?;
            cases.push(Case {
                id,
                level: parse(&c["level"], "level")?,
                outcome,
                title: c["title"].as_str().unwrap_or(""),
                summary: c["summary"].as_str().unwrap_or(""),
                judged: c["judged"].as_u64().unwrap_or(0) as usize,
                skip: parse(&c["skip_reason"], "skip_reason")?,
                failure_text: if matches!(outcome, Outcome::Pass | Outcome::Skip) {
                    String::new()
                } else {
                    super::junit::failure_text_of(
                        c["evidence"].as_str().unwrap_or("").to_string(),
                        first,
                    )
                },
                time_ms: case_ms(id, &scenario_ms),
            });
        }
        let inconclusive_reasons = crate::certify::inconclusive_reasons(
            verdict,
            cases
                .iter()
                .map(|c| (c.id, c.summary, c.leaves_inconclusive(), c.outcome)),
        );
        suites.push(Suite {
            plugin: r["plugin"].as_str().unwrap_or(""),
            kubelet: r["kubelet"].as_str().unwrap_or(""),
            verdict,
            seeds: parse(&r["seeds"], "seeds")?,
            duration_ms: r["duration_ms"].as_f64().unwrap_or(0.0),
            cases,
            inconclusive_reasons,
        });
    }
    let summary = merged["matrix"]["summary"].as_str().unwrap_or("");
    Ok(render_suites(&suites, summary))
}
