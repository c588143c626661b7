//! The text report: a line per check, failures and warnings with their evidence, a summary.

use std::fmt::Write;

use crate::certify::{Outcome, Report, Verdict};

/// Render `report`; `color` adds ANSI colours (only when writing to a terminal).
pub fn render(report: &Report, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "execnet certify: plugin {} · kubelet {}",
        report.plugin, report.kubelet
    );
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out);
    for c in &report.checks {
        let tag = match c.outcome {
            Outcome::Pass => paint("32", "PASS"),
            Outcome::Fail => paint("31;1", "FAIL"),
            Outcome::Warn => paint("33", "WARN"),
            Outcome::Skip => paint("2", "SKIP"),
        };
        let _ = writeln!(
            out,
            "{tag} {:<32} {:<6} {}",
            c.id,
            c.level.as_str(),
            c.title
        );
        if matches!(c.outcome, Outcome::Fail | Outcome::Warn | Outcome::Skip) {
            for line in c.evidence.lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
    }
    let _ = writeln!(out);
    let verdict = match report.verdict {
        Verdict::Pass => paint("32;1", "PASS"),
        Verdict::Fail => paint("31;1", "FAIL"),
    };
    let _ = writeln!(
        out,
        "verdict: {verdict} — {} passed, {} failed, {} warnings, {} skipped ({:.1} s)",
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Warn),
        report.count(Outcome::Skip),
        report.duration_ms / 1000.0
    );
    out
}
