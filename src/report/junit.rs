//! The JUnit report, as CI systems (Jenkins' xunit/junit plugins, GitLab) read it: one
//! testsuite per certification, one testcase per check (classname = the category), `time` on
//! the suite (the whole run) and on each case (the wall time of replaying the scenarios the
//! check judges, shared between checks that judge the same scenarios), `skipped=` counts.
//! A failed or flaky `must` check is a `<failure>` whose `message` is the first line of its
//! reason and whose text is the whole evidence; a warning (a failed `should` check) is a
//! passing case with a `<system-err>` note, named in a suite property `execnet.warning`
//! (the schema CI systems validate against allows properties on suites only); a skip is
//! `<skipped>` with its reason, except a `must` check that could not be judged in an
//! inconclusive run: an `<error>` (exit 1: never counted green), and an inconclusive run no check explains is an
//! `execnet/verdict` case with an `<error>`.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

use super::evidence;
use super::json::evidence_text;
use crate::certify::{CheckResult, Level, Outcome, Report, SkipKind, Verdict, catalogue};

/// The failure text: the evidence lines, then the first finding in full.
fn failure_text(c: &CheckResult) -> String {
    failure_text_of(evidence_text(c), first_finding(c))
}

pub fn failure_text_of(evidence: String, first: Option<Vec<String>>) -> String {
    let mut text = evidence;
    if let Some(block) = first {
        text.push_str("\n\nfirst finding:\n");
        text.push_str(&block.join("\n"));
    }
    text
}

/// The detailed block of a check's first finding (what the failure text ends with).
pub fn first_finding(c: &CheckResult) -> Option<Vec<String>> {
    c.findings.first().map(evidence::block)
}

/// The wall time of replaying the scenarios check `id` judges (`scenario_ms`: per scenario).
pub fn case_ms(id: &str, scenario_ms: &BTreeMap<String, f64>) -> f64 {
    catalogue::by_id(id)
        .map(|def| {
            def.scenarios()
                .iter()
                .filter_map(|s| scenario_ms.get(*s))
                .sum()
        })
        // A network/* check is judged on the netns network lifecycle (timed under its name).
        .or_else(|| {
            id.starts_with("network/")
                .then(|| scenario_ms.get(crate::certify::network::LIFECYCLE))
                .flatten()
                .copied()
        })
        .unwrap_or(0.0)
}

/// What a testcase shows of a check.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    pub id: &'a str,
    pub level: Level,
    pub outcome: Outcome,
    pub title: &'a str,
    pub summary: &'a str,
    pub judged: usize,
    pub skip: Option<SkipKind>,
    pub failure_text: String,
    pub time_ms: f64,
}

impl Case<'_> {
    pub fn leaves_inconclusive(&self) -> bool {
        self.level == Level::Must
            && self.outcome == Outcome::Skip
            && self.skip == Some(SkipKind::NoEvidence)
    }
}

/// What a testsuite shows of one release's report: built from a [`Report`], or from a JSON
/// report (`report merge`, which has no `Report`).
#[derive(Debug, Clone)]
pub struct Suite<'a> {
    pub plugin: &'a str,
    pub kubelet: &'a str,
    pub verdict: Verdict,
    pub seeds: Vec<u64>,
    pub duration_ms: f64,
    pub cases: Vec<Case<'a>>,
    pub inconclusive_reasons: Vec<String>,
}

impl<'a> Suite<'a> {
    pub fn of(report: &'a Report) -> Self {
        Suite {
            plugin: &report.plugin,
            kubelet: &report.kubelet,
            verdict: report.verdict,
            seeds: report.seeds.clone(),
            duration_ms: report.duration_ms,
            cases: report
                .checks
                .iter()
                .map(|c| Case {
                    id: c.id,
                    level: c.level,
                    outcome: c.outcome,
                    title: c.title,
                    summary: &c.summary,
                    judged: c.judged,
                    skip: c.skip,
                    failure_text: if matches!(c.outcome, Outcome::Pass | Outcome::Skip) {
                        String::new()
                    } else {
                        failure_text(c)
                    },
                    time_ms: case_ms(c.id, &report.scenario_ms),
                })
                .collect(),
            inconclusive_reasons: report.inconclusive_reasons(),
        }
    }
}

pub fn render(report: &Report) -> String {
    render_many(std::slice::from_ref(report))
}

/// One testsuite per report (per release of a `--kubelet all` run), in one document.
pub fn render_many(reports: &[Report]) -> String {
    let summary = crate::certify::matrix::summary(
        &reports
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
    );
    let suites: Vec<Suite> = reports.iter().map(Suite::of).collect();
    render_suites(&suites, &summary)
}

/// The document of `suites`; `summary` (the matrix line) is a property of each when there
/// are several.
pub fn render_suites(suites: &[Suite], summary: &str) -> String {
    let mut junit = JUnit::new("execnet certify");
    let mut total = Duration::ZERO;
    for report in suites {
        let mut suite = suite(report);
        if suites.len() > 1 {
            suite.add_property(("execnet.matrix", summary));
        }
        total += Duration::from_secs_f64(report.duration_ms / 1000.0);
        junit.add_test_suite(suite);
    }
    junit.set_time(total);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialisation failed: {e} -->\n"))
}

fn suite(report: &Suite) -> TestSuite {
    let total = Duration::from_secs_f64(report.duration_ms / 1000.0);
    let mut suite = TestSuite::new(format!("{} (kubelet {})", report.plugin, report.kubelet));
    suite.add_property(("execnet.plugin", report.plugin));
    suite.add_property(("execnet.kubelet", report.kubelet));
    suite.add_property(("execnet.verdict", report.verdict.as_str()));
    let seeds: Vec<String> = report.seeds.iter().map(u64::to_string).collect();
    suite.add_property(("execnet.seeds", seeds.join(",").as_str()));
    let inconclusive = report.verdict == crate::certify::Verdict::Inconclusive;
    for c in &report.cases {
        let blocking = c.level == Level::Must;
        let status = match c.outcome {
            Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
            Outcome::Flaky if !blocking => TestCaseStatus::success(),
            Outcome::Fail | Outcome::Flaky => {
                let text = c.failure_text.clone();
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(text.lines().next().unwrap_or(c.title).to_string());
                s.set_type(if c.outcome == Outcome::Flaky {
                    "flaky"
                } else {
                    "must"
                });
                s.set_description(text);
                s
            }
            // A must check that could not be judged leaves the run inconclusive: an error, so
            // that CI never counts the run as green.
            Outcome::Skip if c.leaves_inconclusive() && inconclusive => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(format!("inconclusive: {}", c.summary));
                s.set_type("inconclusive");
                s
            }
            Outcome::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.summary.to_string());
                s
            }
        };
        let mut case = TestCase::new(c.id, status);
        case.set_classname(c.id.split('/').next().unwrap_or(c.id));
        // Scenarios run side by side: their summed wall time can exceed the run's, and a case
        // never takes longer than its suite.
        case.set_time(Duration::from_secs_f64(c.time_ms / 1000.0).min(total));
        case.set_assertions(c.judged);
        let warning = c.outcome == Outcome::Warn || (c.outcome == Outcome::Flaky && !blocking);
        if c.outcome == Outcome::Pass {
            case.set_system_out(format!("{} (judged {})", c.summary, c.judged));
        } else if warning {
            suite.add_property(("execnet.warning", c.id));
            case.set_system_err(format!(
                "WARNING ({} check {}): {}\n\n{}",
                c.level.as_str(),
                c.outcome.as_str(),
                c.title,
                c.failure_text
            ));
        }
        suite.add_test_case(case);
    }
    if report.verdict == crate::certify::Verdict::Inconclusive
        && !report.cases.iter().any(Case::leaves_inconclusive)
    {
        // Inconclusive for a reason no check carries (nothing judged, an unfinished run).
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(report.inconclusive_reasons.join("; "));
        s.set_type("inconclusive");
        let mut case = TestCase::new("execnet/verdict", s);
        case.set_classname("execnet");
        suite.add_test_case(case);
    }
    // `skipped=` as CI systems count it; nothing here is `disabled`.
    let skipped = suite.disabled;
    suite.disabled = 0;
    suite
        .extra
        .insert("skipped".into(), skipped.to_string().into());
    suite.set_time(total);
    suite
}
