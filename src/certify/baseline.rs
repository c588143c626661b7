//! `certify --baseline REPORT.json`: what changed since an earlier run's JSON report, check by
//! check and release by release (a matrix report's `releases`, or the report itself), and
//! `--rerun-failed REPORT.json`: the checks that failed there.
//!
//! A check is *bad* when its outcome is fail, flaky or warn. Marks: `new-fail` (bad now, not
//! bad or not run in the baseline), `fixed` (passes now, bad in the baseline), `still-failing`
//! (bad in both), `flaky-since` (flaky now, not flaky in the baseline). `--fail-on new` fails
//! the run only for a `new-fail` or `flaky-since` mark on a check that fails the verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Outcome, Report};

/// What changed for one check since the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    NewFail,
    Fixed,
    StillFailing,
    FlakySince,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::NewFail => "new-fail",
            Mark::Fixed => "fixed",
            Mark::StillFailing => "still-failing",
            Mark::FlakySince => "flaky-since",
        }
    }

    /// A regression (what `--fail-on new` fails on).
    pub fn is_new(self) -> bool {
        matches!(self, Mark::NewFail | Mark::FlakySince)
    }
}

/// An earlier report's outcomes: release → check id → outcome word.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub outcomes: BTreeMap<String, BTreeMap<String, String>>,
}

impl Baseline {
    /// Read the outcomes of a JSON report (`execnet certify --format json`, single release or
    /// matrix). An error names what is missing.
    pub fn from_json(text: &str) -> Result<Baseline, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON report: {e}"))?;
        let mut out = Baseline::default();
        let docs: Vec<&serde_json::Value> = match v.get("releases").and_then(|r| r.as_array()) {
            Some(rs) => rs.iter().collect(),
            None => vec![&v],
        };
        for doc in docs {
            let release = doc
                .get("kubelet")
                .and_then(|k| k.as_str())
                .ok_or("a report without \"kubelet\"")?;
            let checks = doc
                .get("checks")
                .and_then(|c| c.as_array())
                .ok_or("a report without \"checks\"")?;
            let map = out.outcomes.entry(release.to_string()).or_default();
            for c in checks {
                let (Some(id), Some(outcome)) = (
                    c.get("id").and_then(|x| x.as_str()),
                    c.get("outcome").and_then(|x| x.as_str()),
                ) else {
                    return Err("a check without \"id\" or \"outcome\"".into());
                };
                map.insert(id.to_string(), outcome.to_string());
            }
        }
        Ok(out)
    }

    /// The checks that failed (fail, flaky or warn) under any release: `--rerun-failed`.
    pub fn failed(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for map in self.outcomes.values() {
            for (id, o) in map {
                if bad(o) && !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    }

    /// Mark each check of `report` (its release's outcomes in the baseline).
    pub fn marks(&self, report: &Report) -> BTreeMap<&'static str, Mark> {
        let before = self.outcomes.get(&report.kubelet);
        let mut marks = BTreeMap::new();
        for c in &report.checks {
            let was = before.and_then(|m| m.get(c.id)).map(String::as_str);
            if let Some(m) = mark(was, c.outcome) {
                marks.insert(c.id, m);
            }
        }
        marks
    }
}

fn bad(outcome: &str) -> bool {
    matches!(outcome, "fail" | "flaky" | "warn")
}

/// The mark of a check that was `was` (`None`: not run) and is now `now`.
pub fn mark(was: Option<&str>, now: Outcome) -> Option<Mark> {
    let was_bad = was.is_some_and(bad);
    let now_bad = matches!(now, Outcome::Fail | Outcome::Flaky | Outcome::Warn);
    match (was_bad, now_bad) {
        _ if now == Outcome::Flaky && was != Some("flaky") => Some(Mark::FlakySince),
        (false, true) => Some(Mark::NewFail),
        (true, true) => Some(Mark::StillFailing),
        (true, false) if now == Outcome::Pass => Some(Mark::Fixed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks() {
        assert_eq!(mark(Some("pass"), Outcome::Fail), Some(Mark::NewFail));
        assert_eq!(mark(None, Outcome::Fail), Some(Mark::NewFail));
        assert_eq!(mark(Some("fail"), Outcome::Pass), Some(Mark::Fixed));
        assert_eq!(mark(Some("fail"), Outcome::Fail), Some(Mark::StillFailing));
        assert_eq!(mark(Some("fail"), Outcome::Flaky), Some(Mark::FlakySince));
        assert_eq!(
            mark(Some("flaky"), Outcome::Flaky),
            Some(Mark::StillFailing)
        );
        assert_eq!(mark(Some("pass"), Outcome::Pass), None);
        assert_eq!(mark(Some("fail"), Outcome::Skip), None);
    }

    #[test]
    fn a_baseline_that_is_not_a_report_is_refused() {
        assert!(Baseline::from_json("{").unwrap_err().contains("not a JSON"));
        assert!(Baseline::from_json("{}").unwrap_err().contains("kubelet"));
    }
}
