//! The text report: the root causes first (each with one example's evidence: the call, what
//! came back, the output's head and tail, what was expected, the reproduce lines), then a line
//! per check with how much it judged and its findings, then the verdict.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::evidence;
use crate::certify::matrix::Matrix;
use crate::certify::run::BUNDLED_NOTE;
use crate::certify::{Outcome, Report, SkipKind, Verdict};

/// Finding lines shown per check (the rest are counted; `--format json` has them all).
const LINES_PER_CHECK: usize = 5;

/// The styles of the outcome words (anstyle; the caller decides whether colour is wanted, see
/// [`color_for_stdout`]).
const GREEN: Style = AnsiColor::Green.on_default();
const GREEN_BOLD: Style = AnsiColor::Green.on_default().bold();
const RED_BOLD: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const YELLOW_BOLD: Style = AnsiColor::Yellow.on_default().bold();
const MAGENTA_BOLD: Style = AnsiColor::Magenta.on_default().bold();
const DIMMED: Style = Style::new().dimmed();

/// Whether the text report on standard output gets colours: anstream's choice for stdout (a
/// terminal, and neither `NO_COLOR` nor `CLICOLOR=0`; `CLICOLOR_FORCE` forces it).
pub fn color_for_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Render `report`; `color` adds ANSI colours (only when writing to a terminal).
pub fn render(report: &Report, color: bool) -> String {
    escaped(&render_inner(report, color, false), color)
}

/// Plugin output quoted in a report is escaped; only execnet's own colours stay.
fn escaped(text: &str, color: bool) -> String {
    let keep: Vec<String> = if color {
        [
            GREEN,
            GREEN_BOLD,
            RED_BOLD,
            YELLOW,
            YELLOW_BOLD,
            MAGENTA_BOLD,
            DIMMED,
        ]
        .iter()
        .flat_map(|s| [format!("{s}"), format!("{s:#}")])
        .filter(|s| !s.is_empty())
        .collect()
    } else {
        Vec::new()
    };
    super::escape_controls(text, &keep)
}

/// `compact` (one release of a matrix): no line for a passing check, no "next:" line.
fn render_inner(report: &Report, color: bool, compact: bool) -> String {
    let paint = |style: Style, s: &str| {
        if color {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    // The verdict first: it is what the reader came for (and the last line repeats it).
    let _ = writeln!(out, "{}", verdict_line(report, &paint));
    let _ = writeln!(
        out,
        "execnet certify: plugin {} · kubelet {}",
        report.plugin, report.kubelet
    );
    if report.seeds.len() > 1 {
        let _ = writeln!(
            out,
            "repeat: each scenario {} times (seeds {})",
            report.seeds.len(),
            report
                .seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // How execnet contained the plugin is in JSON and HTML; here it is noise.
    for note in report.notes.iter().filter(|n| !n.starts_with(CONTAINMENT)) {
        let _ = writeln!(out, "note: {note}");
    }
    for why in report.inconclusive_reasons() {
        let _ = writeln!(out, "{}: {why}", paint(YELLOW_BOLD, "inconclusive"));
    }
    let _ = writeln!(out);
    if !report.causes.is_empty() {
        let _ = writeln!(out, "{}:", super::evidence::causes_headline(report));
        for cause in &report.causes {
            let _ = writeln!(
                out,
                "{} {}",
                paint(
                    if cause.fails_verdict {
                        RED_BOLD
                    } else {
                        YELLOW
                    },
                    &cause.id
                ),
                evidence::cause_title(cause)
            );
            let checks: Vec<String> = cause
                .checks
                .iter()
                .map(|id| {
                    let outcome = report.check(id).map(|c| c.outcome.as_str()).unwrap_or("?");
                    format!("{id} ({outcome})")
                })
                .collect();
            let _ = writeln!(
                out,
                "   affects {}; {} finding{}",
                checks.join(", "),
                cause.findings,
                if cause.findings == 1 { "" } else { "s" }
            );
            for line in evidence::rate_lines(cause) {
                let _ = writeln!(out, "   {line}");
            }
            let mut first = true;
            for line in evidence::block(&cause.example) {
                let lead = if first { "   e.g. " } else { "        " };
                first = false;
                let _ = writeln!(out, "{lead}{line}");
            }
        }
        let _ = writeln!(out);
    }
    // The id column is as wide as the longest id (at least 32).
    let width = report
        .checks
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(32);
    for c in &report.checks {
        if compact
            && c.outcome == Outcome::Pass
            && report
                .baseline
                .as_ref()
                .is_none_or(|b| !b.contains_key(c.id))
        {
            continue;
        }
        let tag = match c.outcome {
            Outcome::Pass => paint(GREEN, "PASS"),
            Outcome::Fail => paint(RED_BOLD, "FAIL"),
            Outcome::Warn => paint(YELLOW, "WARN"),
            Outcome::Skip => paint(DIMMED, "SKIP"),
            Outcome::Flaky => paint(MAGENTA_BOLD, "FLKY"),
        };
        let mark = match report.baseline.as_ref().and_then(|b| b.get(c.id)) {
            Some(m) => format!(" [{}]", m.as_str()),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{tag} {:<width$} {:<6} {} (judged {}){mark}",
            c.id,
            c.level.as_str(),
            c.title,
            c.judged
        );
        match c.outcome {
            Outcome::Pass => {}
            Outcome::Skip => {
                let mut why = c.summary.clone();
                if c.leaves_inconclusive() {
                    why.push_str(" — a must check without evidence: the verdict is inconclusive");
                } else if c.skip == Some(SkipKind::NoEvidence) {
                    why.push_str(" (no evidence)");
                }
                let _ = writeln!(out, "       {why}");
            }
            _ => {
                for f in c.findings.iter().take(LINES_PER_CHECK) {
                    let cause = f.cause.as_deref().unwrap_or("");
                    let _ = writeln!(out, "       {cause} {}", evidence::line(f));
                }
                if c.findings.len() > LINES_PER_CHECK {
                    let _ = writeln!(
                        out,
                        "       … and {} more (--format json lists them all)",
                        c.findings.len() - LINES_PER_CHECK
                    );
                }
                if let Some(why) = &c.warn_only {
                    let _ = writeln!(out, "       ({why})");
                }
                if let Some(r) = &c.repeats {
                    let _ = writeln!(out, "       {}", evidence::repeats(r));
                }
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", verdict_line(report, &paint));
    if !compact && report.notes.iter().any(|n| n == BUNDLED_NOTE) {
        let _ = writeln!(
            out,
            "next: certify your own plugin: execnet certify --plugin-dir DIR --plugin NAME (--kubelet all for every release)"
        );
    }
    out
}

/// The start of the run's containment note (`note: containment: …`), kept out of the text.
const CONTAINMENT: &str = "containment:";

/// `verdict: FAIL — 23 passed, 1 failed, …`.
fn verdict_line(report: &Report, paint: &dyn Fn(Style, &str) -> String) -> String {
    let verdict = match report.verdict {
        Verdict::Pass => paint(GREEN_BOLD, "PASS"),
        Verdict::Fail => paint(RED_BOLD, "FAIL"),
        Verdict::Inconclusive => paint(YELLOW_BOLD, "INCONCLUSIVE"),
    };
    let flaky = match report.count(Outcome::Flaky) {
        0 => String::new(),
        n => format!(", {n} flaky"),
    };
    let since = match &report.baseline {
        None => String::new(),
        Some(b) => format!(
            "; since the baseline: {} new",
            b.values().filter(|m| m.is_new()).count()
        ),
    };
    format!(
        "verdict: {verdict} — {} passed, {} failed, {} warnings, {} skipped{flaky} ({:.1} s){since}",
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Warn),
        report.count(Outcome::Skip),
        report.duration_ms / 1000.0
    )
}

/// Render a run over several releases: the overall verdict and the summary line, the matrix
/// (the checks that did not pass everywhere, one column per release), then each release's
/// report.
pub fn render_matrix(matrix: &Matrix, color: bool) -> String {
    escaped(&render_matrix_raw(matrix, color), color)
}

fn render_matrix_raw(matrix: &Matrix, color: bool) -> String {
    let mut out = String::new();
    let releases = matrix.releases();
    let verdict = matrix.verdict().as_str().to_uppercase();
    let _ = writeln!(out, "verdict: {verdict} — {}", matrix.summary());
    let _ = writeln!(
        out,
        "execnet certify: plugin {} · kubelet {}",
        matrix.reports.first().map_or("", |r| r.plugin.as_str()),
        releases.join(", ")
    );
    let rows = matrix.rows();
    let width = rows
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(32);
    let uneven: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.outcomes
                .iter()
                .any(|o| o.is_none_or(|c| c.outcome != Outcome::Pass))
        })
        .collect();
    // A column per release, as wide as its name and the widest outcome word.
    let cell = releases
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<width$} {:<6} {}",
        "matrix: check × kubelet",
        "",
        releases
            .iter()
            .map(|r| format!("{r:<cell$}"))
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end()
    );
    for row in &uneven {
        let cells: Vec<String> = row
            .outcomes
            .iter()
            .map(|o| {
                let word = o.map_or("-", |c| c.outcome.as_str());
                let word = if o.is_some_and(|c| c.fails_verdict()) {
                    word.to_uppercase()
                } else {
                    word.to_string()
                };
                format!("{word:<cell$}")
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<width$} {:<6} {}",
            row.id,
            row.level.as_str(),
            cells.join(" ").trim_end()
        );
    }
    let _ = writeln!(
        out,
        "({} of {} checks pass under every release)",
        rows.len() - uneven.len(),
        rows.len()
    );
    for r in &matrix.reports {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "── kubelet {} (passing checks not listed) ──",
            r.kubelet
        );
        out.push_str(&render_inner(r, color, true));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "verdict: {verdict} — {}", matrix.summary());
    if matrix
        .reports
        .iter()
        .any(|r| r.notes.iter().any(|n| n == BUNDLED_NOTE))
    {
        let _ = writeln!(
            out,
            "next: certify your own plugin: execnet certify --plugin-dir DIR --plugin NAME --kubelet all"
        );
    }
    out
}
