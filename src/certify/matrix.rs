//! `certify --kubelet all` (or a list of releases): the suite run once per release, each run a
//! whole [`Report`], and the matrix over them — checks × releases with their outcomes — with a
//! one-line summary a README badge can carry ("must-checks pass on 1.1–1.3, fail on 1.4–1.5:
//! status-json/no-status-error-for-live-pod"). Data only; `src/report/` renders it.
//!
//! A release is replayed unless an earlier release of the run provably replays the same way:
//! their model inputs compare equal ([`Profile::same_model`](crate::kubelet::profile::Profile::same_model),
//! checked by [`super::run::Reuse::offer`]); its transcripts are then judged under the later
//! release, and that report's notes say which release's run it shared (1.3 shares 1.2's on
//! every path where no kubelet start meets a selection error). The plugin's own
//! nondeterminism is then sampled once for both.

use super::{CheckResult, Level, Outcome, Report, Verdict};
use crate::kubelet::profile::{PROFILES, Profile};

/// The releases `--kubelet all` stands for: every real kubelet release execnet models (not
/// `documented`, which is the published contract rather than a release).
pub fn all_releases() -> Vec<&'static Profile> {
    PROFILES.iter().filter(|p| p.name != "documented").collect()
}

/// `all`, or a comma-separated list of profile names (each once, in the order given).
pub fn parse_releases(text: &str) -> Result<Vec<&'static Profile>, String> {
    if text.trim() == "all" {
        return Ok(all_releases());
    }
    let mut out: Vec<&'static Profile> = Vec::new();
    for part in text.split(',') {
        let name = part.trim();
        if name.is_empty() {
            return Err(format!("'{text}': an empty release in the list"));
        }
        let p = Profile::by_name(name).map_err(|e| e.to_string())?;
        if out.iter().any(|q| q.name == p.name) {
            return Err(format!("'{text}': release {name} is listed twice"));
        }
        out.push(p);
    }
    Ok(out)
}

/// The per-release reports of one run, in the order the releases were asked for.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub reports: Vec<Report>,
}

/// One row of the matrix: a check and its outcome under each release (`None`: not run there,
/// e.g. a check outside a partition).
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub id: &'static str,
    pub level: Level,
    pub outcomes: Vec<Option<&'a CheckResult>>,
}

impl Matrix {
    pub fn releases(&self) -> Vec<&str> {
        self.reports.iter().map(|r| r.kubelet.as_str()).collect()
    }

    /// `fail` if any release fails; else `inconclusive` if any is; else `pass`.
    pub fn verdict(&self) -> Verdict {
        combine_verdicts(self.reports.iter().map(|r| r.verdict))
    }

    /// Every check of any release, in the order first seen (catalogue order per release).
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows: Vec<Row> = Vec::new();
        for r in &self.reports {
            for c in &r.checks {
                if !rows.iter().any(|row| row.id == c.id) {
                    rows.push(Row {
                        id: c.id,
                        level: c.level,
                        outcomes: self.reports.iter().map(|r| r.check(c.id)).collect(),
                    });
                }
            }
        }
        rows
    }

    /// The one-line summary (see the module comment).
    pub fn summary(&self) -> String {
        summary(
            &self
                .reports
                .iter()
                .map(|r| {
                    (
                        r.kubelet.as_str(),
                        r.verdict,
                        r.checks
                            .iter()
                            .filter(|c| c.fails_verdict())
                            .map(|c| c.id)
                            .collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>(),
        )
    }
}

/// `fail` if any is; else `inconclusive` if any is; else `pass` (also for none).
pub fn combine_verdicts(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut out = Verdict::Pass;
    for v in verdicts {
        out = match (out, v) {
            (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
            (Verdict::Inconclusive, _) | (_, Verdict::Inconclusive) => Verdict::Inconclusive,
            _ => Verdict::Pass,
        };
    }
    out
}

/// How bad an outcome is, for the worst of several: fail, flaky, warn, skip, pass.
pub fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Pass => 0,
        Outcome::Skip => 1,
        Outcome::Warn => 2,
        Outcome::Flaky => 3,
        Outcome::Fail => 4,
    }
}

/// Releases as ranges in the order given: `1.1–1.3, 1.5`. A range joins only releases that are
/// neighbours among every release execnet knows (a run of 1.1 and 1.5 is `1.1, 1.5`, never
/// `1.1–1.5`, which would claim 1.2–1.4).
pub fn ranges(all: &[&str], some: &[&str]) -> String {
    let known = crate::kubelet::profile::names();
    let position = |r: &str| known.iter().position(|k| *k == r);
    let neighbours =
        |a: &str, b: &str| matches!((position(a), position(b)), (Some(i), Some(j)) if j == i + 1);
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < all.len() {
        if !some.contains(&all[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < all.len() && some.contains(&all[i + 1]) && neighbours(all[i], all[i + 1]) {
            i += 1;
        }
        parts.push(if i == start {
            all[start].to_string()
        } else {
            format!("{}–{}", all[start], all[i])
        });
        i += 1;
    }
    parts.join(", ")
}

/// The summary of `(release, verdict, failing must checks)` rows.
pub fn summary(rows: &[(&str, Verdict, Vec<&str>)]) -> String {
    let all: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let with = |v: Verdict| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.1 == v)
            .map(|r| r.0)
            .collect::<Vec<_>>()
    };
    let mut parts = Vec::new();
    for (v, word) in [
        (Verdict::Pass, "pass"),
        (Verdict::Fail, "fail"),
        (Verdict::Inconclusive, "inconclusive"),
    ] {
        let some = with(v);
        if !some.is_empty() {
            parts.push(format!("{word} on {}", ranges(&all, &some)));
        }
    }
    let mut failing: Vec<&str> = Vec::new();
    for r in rows {
        for id in &r.2 {
            if !failing.contains(id) {
                failing.push(id);
            }
        }
    }
    let mut line = format!("must-checks {}", parts.join(", "));
    if !failing.is_empty() {
        line.push_str(": ");
        line.push_str(&failing.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_neighbours_upwards() {
        let all = ["1.1", "1.2", "1.3", "1.4", "1.5"];
        assert_eq!(ranges(&all, &["1.1", "1.2", "1.3"]), "1.1–1.3");
        assert_eq!(ranges(&all, &["1.1", "1.3", "1.4", "1.5"]), "1.1, 1.3–1.5");
        assert_eq!(ranges(&all, &[]), "");
        // A run of two releases far apart is not a range over those between.
        assert_eq!(ranges(&["1.1", "1.5"], &["1.1", "1.5"]), "1.1, 1.5");
        assert_eq!(ranges(&["1.4", "1.5"], &["1.4", "1.5"]), "1.4–1.5");
    }

    #[test]
    fn the_summary_line_reads_as_a_badge() {
        let rows = [
            ("1.1", Verdict::Pass, vec![]),
            ("1.2", Verdict::Pass, vec![]),
            ("1.3", Verdict::Pass, vec![]),
            (
                "1.4",
                Verdict::Fail,
                vec!["status-json/no-status-error-for-live-pod"],
            ),
            (
                "1.5",
                Verdict::Fail,
                vec!["status-json/no-status-error-for-live-pod"],
            ),
        ];
        assert_eq!(
            summary(&rows),
            "must-checks pass on 1.1–1.3, fail on 1.4–1.5: status-json/no-status-error-for-live-pod"
        );
        assert_eq!(summary(&rows[..2]), "must-checks pass on 1.1–1.2");
    }

    #[test]
    fn release_lists_are_checked() {
        assert_eq!(parse_releases("all").unwrap().len(), 5);
        let two = parse_releases("1.1,1.4").unwrap();
        assert_eq!(
            two.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["1.1", "1.4"]
        );
        assert!(parse_releases("1.1,1.1").unwrap_err().contains("twice"));
        assert!(parse_releases("1.1,").unwrap_err().contains("empty"));
        assert!(parse_releases("1.9").is_err());
    }
}
