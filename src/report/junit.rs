//! The JUnit report: one testsuite per certification, one testcase per check (classname = the
//! category); a failed `must` check is a failure, a `should` finding is written as a passing
//! case with its evidence in system-out, a skip is skipped.

use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

use crate::certify::{Outcome, Report};

pub fn render(report: &Report) -> String {
    let mut junit = JUnit::new("execnet certify");
    let mut suite = TestSuite::new(format!("{} (kubelet {})", report.plugin, report.kubelet));
    for c in &report.checks {
        let status = match c.outcome {
            Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
            Outcome::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} ({})", c.title, c.level.as_str()));
                s.set_type("must");
                s.set_description(c.evidence.clone());
                s
            }
            Outcome::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.evidence.clone());
                s
            }
        };
        let mut case = TestCase::new(c.id, status);
        case.set_classname(c.id.split('/').next().unwrap_or(c.id));
        if c.outcome == Outcome::Warn {
            case.set_system_out(format!("WARNING ({}): {}", c.level.as_str(), c.evidence));
        } else if c.outcome == Outcome::Pass {
            case.set_system_out(c.evidence.clone());
        }
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialisation failed: {e} -->\n"))
}
