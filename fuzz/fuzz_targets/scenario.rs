//! Fuzz target: the scenario loader (`Scenario::parse`, text + file name).
//!
//! Properties (besides "never panics"): deterministic; every error is a syntax or meaning error
//! (never a read error) whose message starts with `file:line:column:` and whose line/column
//! (1-based) point inside the text; a newline put in front of the text moves every error down
//! exactly one line and changes nothing else (so a position is really computed from the text,
//! not a fallback); an accepted scenario satisfies what the checks promise (interval and jobs
//! at least 1, distinct well-formed pods, `start_kubelet` first and once, references resolve,
//! no step names a pod twice, also once `repeat`s and pod templates are expanded), and written back as JSON (the library's own `Serialize`) it loads to the same scenario.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use execnet::kubelet::scenario::{Scenario, ScenarioError, Step};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz/scenario.json";

/// (line, column, message without the position prefix) of an error.
fn position(e: &ScenarioError) -> (usize, usize, String) {
    match e {
        ScenarioError::Syntax { line, column, .. }
        | ScenarioError::Invalid { line, column, .. } => {
            let shown = e.to_string();
            let prefix = format!("{FILE}:{line}:{column}: ");
            let rest = shown
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("message {shown:?} does not start with {prefix:?}"));
            (*line, *column, rest.to_string())
        }
        ScenarioError::Read { .. } => panic!("read error from in-memory text: {e}"),
    }
}

fn check_inside(text: &str, line: usize, column: usize) {
    assert!(
        line >= 1 && column >= 1,
        "position {line}:{column} is not 1-based"
    );
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        line <= lines.len(),
        "line {line} past the end ({} lines)",
        lines.len()
    );
    let len = lines[line - 1].len();
    assert!(
        column <= len + 1,
        "column {column} past the end of line {line} ({len} bytes)"
    );
}

fn check_accepted(s: &Scenario) {
    assert!(s.sync_interval_s >= 1);
    assert_ne!(s.jobs, Some(0));
    let mut seen = HashSet::new();
    for p in &s.pods {
        for part in [&p.namespace, &p.name] {
            assert!(!part.is_empty() && !part.contains('/') && !part.contains(char::is_whitespace));
        }
        assert!(
            seen.insert((&p.namespace, &p.name)),
            "duplicate pod accepted"
        );
    }
    for (i, step) in s.steps.iter().enumerate() {
        assert_eq!(
            matches!(step, Step::StartKubelet(_)),
            i == 0,
            "start_kubelet must be first and only first"
        );
        if let Step::Sync(c) = step {
            assert!(c.count >= 1);
        }
        if let Step::Repeat(r) = step {
            assert!(r.times >= 1 && r.batch >= 1 && !r.steps.is_empty());
            assert!(
                r.steps
                    .iter()
                    .all(|x| !matches!(x, Step::StartKubelet(_) | Step::Repeat(_))),
                "start_kubelet or repeat inside a repeat accepted"
            );
        }
        let refs = step.pod_refs();
        let distinct: HashSet<&str> = refs.iter().copied().collect();
        assert_eq!(distinct.len(), refs.len(), "a step names a pod twice");
        for r in refs {
            let i = s
                .pod_index(r)
                .expect("reference to an undeclared pod accepted");
            let pod = s.pod(i).expect("a resolved pod exists");
            assert_eq!(format!("{}/{}", pod.namespace, pod.name), r);
        }
    }
    // Expanded (when small enough to enumerate), every step names distinct, declared pods.
    let small = s.steps.iter().all(|st| match st {
        Step::Repeat(r) => r.batch <= 64 && r.times <= 64,
        _ => true,
    });
    if small {
        let count = s.pod_count();
        for e in s.expanded() {
            let distinct: HashSet<usize> = e.targets.iter().copied().collect();
            assert_eq!(distinct.len(), e.targets.len(), "an expanded step names a pod twice");
            assert!(e.targets.iter().all(|&i| i < count), "a target past the pods");
            assert!(!matches!(e.step, Step::Repeat(_)), "a repeat left unexpanded");
        }
    }
    let text = serde_json::to_string_pretty(s).expect("serialise");
    let again = Scenario::parse(&text, Path::new(FILE))
        .unwrap_or_else(|e| panic!("written-back scenario refused: {e}\n{text}"));
    assert_eq!(
        format!("{again:?}"),
        format!("{s:?}"),
        "round trip changed the scenario"
    );
}

fuzz_target!(|data: &[u8]| {
    // Scenario files are read with read_to_string: only UTF-8 text reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(FILE);
    let result = Scenario::parse(text, path);
    assert_eq!(
        format!("{result:?}"),
        format!("{:?}", Scenario::parse(text, path)),
        "not deterministic"
    );
    let shifted = Scenario::parse(&format!("\n{text}"), path);
    match (&result, &shifted) {
        (Ok(s), Ok(t)) => {
            assert_eq!(format!("{s:?}"), format!("{t:?}"));
            check_accepted(s);
        }
        (Err(e), Err(f)) => {
            let (line, column, message) = position(e);
            check_inside(text, line, column);
            assert_eq!(
                position(f),
                (line + 1, column, message),
                "a leading newline must move the error down one line, nothing else"
            );
            assert_eq!(
                std::mem::discriminant(e),
                std::mem::discriminant(f),
                "error kind changed"
            );
        }
        _ => panic!("a leading newline changed acceptance: {result:?} vs {shifted:?}"),
    }
});
