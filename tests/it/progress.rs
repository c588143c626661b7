//! Progress of `execnet certify` on stderr (a run takes 30–90 s): plain
//! lines with `--progress lines`, a live line per scenario on a real terminal (a pty made by
//! util-linux `script`), nothing when piped unless asked, colour only where `NO_COLOR` allows.

use std::process::Command;

use crate::util;

/// A plugin that logs every call's action to `log` and fails every `status` (exit 1).
fn logging_plugin() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::TempDir::new().unwrap();
    let log = tmp.path().join("calls.log");
    util::write_plugin(
        tmp.path(),
        "logger",
        "logger",
        &format!(
            "#!/bin/bash\necho \"$1\" >> '{}'\n[ \"$1\" = status ] && exit 1\nexit 0\n",
            log.display()
        ),
    );
    (tmp, log)
}

/// `done` lines: (scenario, calls, failed).
fn done_lines(stderr: &str) -> Vec<(String, usize, usize)> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("done ")?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            // [1/1] NAME N calls M failed T
            assert_eq!(words[3], "calls", "{l}");
            assert_eq!(words[5], "failed", "{l}");
            Some((
                words[1].to_string(),
                words[2].parse().unwrap(),
                words[4].parse().unwrap(),
            ))
        })
        .collect()
}

#[test]
fn progress_lines_count_the_calls_the_plugin_saw() {
    let (plugins, log) = logging_plugin();
    let out = util::execnet()
        .args([
            "certify",
            "--progress",
            "lines",
            "--focus",
            "init/selection",
        ])
        .arg("--plugin-dir")
        .arg(plugins.path())
        .args(["--plugin", "logger"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let calls = std::fs::read_to_string(&log).unwrap();
    let done = done_lines(&stderr);
    assert_eq!(done.len(), 1, "one scenario judged: {stderr}");
    assert_eq!(done[0].0, "basic-lifecycle");
    assert!(
        stderr.starts_with("start [1/1] basic-lifecycle\n"),
        "{stderr}"
    );
    assert_eq!(
        done[0].1,
        calls.lines().count(),
        "calls:\n{calls}\n{stderr}"
    );
    let statuses = calls.lines().filter(|l| *l == "status").count();
    assert!(statuses > 0);
    assert_eq!(done[0].2, statuses, "every status failed:\n{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
}

#[test]
fn piped_certify_shows_no_progress_unless_asked() {
    let out = util::execnet()
        .args(["certify", "--focus", "init/*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Asked for: the live form even through a pipe, without colour (not a terminal).
    let out = util::execnet()
        .args(["certify", "--focus", "init/*", "--progress", "always"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("\r[1/2] basic-lifecycle"), "{stderr:?}");
    assert!(stderr.contains("\r[2/2] kubelet-restart"), "{stderr:?}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour through a pipe: {stderr:?}"
    );
    util::execnet()
        .args(["certify", "--progress", "sometimes"])
        .assert()
        .code(2);
}

/// Run `execnet ARGS` on a pseudo-terminal (stdout and stderr both on it).
fn on_a_terminal(args: &str, no_color: bool) -> String {
    let cmd = format!("{} {args}", util::execnet_path().display());
    let mut script = Command::new("script");
    script.args(["-qec", &cmd, "/dev/null"]);
    script.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script.output().expect("util-linux script(1)");
    assert!(
        out.status.success(),
        "script {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_terminal_gets_a_live_line_per_scenario_coloured_unless_no_color() {
    let args = "certify --focus 'init/*' --format json";
    let screen = on_a_terminal(args, false);
    // Each scenario's line is drawn in place (carriage returns) and left behind when done.
    for name in ["basic-lifecycle", "kubelet-restart"] {
        assert!(
            screen.matches(name).count() >= 2,
            "{name} redrawn: {screen:?}"
        );
    }
    assert!(screen.contains('\r'), "{screen:?}");
    assert!(
        screen.contains("\u{1b}["),
        "styled on a terminal: {screen:?}"
    );
    let plain = on_a_terminal(args, true);
    assert!(plain.contains("\r[1/2] basic-lifecycle"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR=1 still styled: {plain:?}"
    );
    // The last drawing of each line, as a person sees it.
    let finished: Vec<&str> = plain
        .split(['\r', '\n'])
        .filter(|l| l.contains(" calls "))
        .collect();
    assert!(
        finished
            .iter()
            .any(|l| l.starts_with("[2/2] kubelet-restart") && l.contains("0 failed")),
        "{finished:?}"
    );
}

/// The text report's outcome words are styled (anstyle) on a terminal, plain under `NO_COLOR`
/// and through a pipe, and `CLICOLOR_FORCE=1` styles them through a pipe too.
#[test]
fn the_text_report_is_coloured_on_a_terminal_only() {
    let args = "certify --focus 'init/*' --progress never";
    let screen = on_a_terminal(args, false);
    assert!(
        screen.contains("\u{1b}[32mPASS\u{1b}[0m"),
        "a green PASS on a terminal: {screen:?}"
    );
    let plain = on_a_terminal(args, true);
    assert!(plain.contains("PASS"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR=1 still styled: {plain:?}"
    );
    let piped = util::execnet()
        .args(["certify", "--focus", "init/*", "--progress", "never"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\u{1b}'));
    let forced = util::execnet()
        .args(["certify", "--focus", "init/*", "--progress", "never"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&forced.stdout).contains("\u{1b}[32mPASS"),
        "{forced:?}"
    );
}
