//! Evidence: how a check names a call (argv), what came back (exit, output excerpt) and what was
//! expected, in one consistent form.

use crate::plugin::{CallRecord, StatusResult};

/// At most this many characters of output are quoted.
const EXCERPT: usize = 160;

/// `reference setup default web-1 3f2a9c…` — the executable's file name and the arguments,
/// container ids shortened.
pub fn argv(call: &CallRecord) -> String {
    let mut parts = Vec::new();
    if let Some(exe) = call.argv().first() {
        parts.push(exe.rsplit('/').next().unwrap_or(exe).to_string());
    }
    for a in call.args() {
        if a.len() == 64 && a.bytes().all(|b| b.is_ascii_hexdigit()) {
            parts.push(format!("{}…", &a[..12]));
        } else if a.len() > 40 {
            parts.push(format!("{}…({} chars)", &a[..24], a.len()));
        } else {
            parts.push(a.clone());
        }
    }
    parts.join(" ")
}

/// An output excerpt, quoted, with escapes for control characters.
pub fn excerpt(call: &CallRecord) -> String {
    let text = call.output_text();
    let mut quoted: String = text.chars().take(EXCERPT).collect::<String>();
    if text.chars().count() > EXCERPT {
        quoted.push('…');
    }
    let mut out = format!("{quoted:?}");
    if call.raw.truncated {
        out.push_str(&format!(
            " (truncated: {} bytes in all)",
            call.raw.output_bytes
        ));
    }
    out
}

/// What came back: the outcome, the output, and for status the parsed result.
pub fn got(call: &CallRecord) -> String {
    let mut s = match call.outcome().error() {
        None => "exit 0".to_string(),
        Some(e) => e,
    };
    s.push_str(&format!(", output {}", excerpt(call)));
    match &call.status {
        Some(StatusResult::Error { message }) if call.succeeded() => {
            s.push_str(&format!(", kubelet: {message}"))
        }
        Some(StatusResult::None) => s.push_str(", status: none"),
        Some(StatusResult::Status { ip: None, .. }) => s.push_str(", status: no ip"),
        Some(StatusResult::NotJudged { .. }) => {
            s.push_str(", status: not judged: output over the cap")
        }
        _ => {}
    }
    s
}

/// `call \`…\`: got …; expected …`
pub fn call_failed(scenario: &str, call: &CallRecord, expected: &str) -> String {
    format!(
        "[{scenario}] `{}`: got {}; expected {expected}",
        argv(call),
        got(call)
    )
}

/// Join up to `max` evidence lines, identical lines collapsed into one with a count (the same
/// call fails the same way at every sync), saying how many more there were.
pub fn lines(items: Vec<String>, max: usize) -> String {
    let mut distinct: Vec<(String, usize)> = Vec::new();
    for item in items {
        match distinct.iter_mut().find(|(s, _)| *s == item) {
            Some((_, n)) => *n += 1,
            None => distinct.push((item, 1)),
        }
    }
    let total = distinct.len();
    let mut out: Vec<String> = distinct
        .into_iter()
        .take(max)
        .map(|(s, n)| if n > 1 { format!("{s} (×{n})") } else { s })
        .collect();
    if total > max {
        out.push(format!("… and {} more", total - max));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn identical_lines_collapse_with_a_count() {
        let items = ["a", "b", "a", "c", "a", "d"].map(String::from).to_vec();
        assert_eq!(super::lines(items, 3), "a (×3)\nb\nc\n… and 1 more");
    }
}
