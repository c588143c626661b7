//! The HTML report (`certify --format html`) in a real headless Chromium (Debian's `chromium`):
//! the page is loaded with its script, the DOM after the script ran is read back (`--dump-dom`)
//! and must hold a lane per pod and a mark per plugin call of each scenario — counted from the
//! scenario files and from `execnet replay`, not from the page — and clicking a mark (the page
//! opens the one named by `#call-N`, through the same code as a click) must show that call's
//! evidence. A screenshot is taken too; `EXECNET_UPDATE_SCREENSHOT=1` writes it to
//! `docs/report.png` for the README.
//!
//! Outside CI the test is skipped, with a message, when Chromium is not installed; in CI
//! (`CI=true`, where `.ci/run` installs it) its absence is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Run Chromium headless on `url` with `extra` flags; its stdout. Killed after 120 s.
fn run_chromium(exe: &Path, profile: &Path, extra: &[&str], url: &str) -> String {
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            // The whole group: chromium's helper processes too.
            // SAFETY: kill(2) of our own child's process group; no memory is involved.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(status.success(), "chromium {url}: {status}\n{stderr}");
    stdout
}

use std::os::unix::process::CommandExt;

/// Pods per scenario, from the scenario files.
fn pods_in(scenario: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/scenarios")
        .join(format!("{scenario}.json"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["pods"].as_array().unwrap().len()
}

/// Plugin calls of `scenario` as `execnet replay` records them: all, and the `status` calls.
fn calls_in(plugins: &Path, plugin: &str, scenario: &str) -> (usize, usize) {
    let out = util::execnet()
        .args([
            "replay",
            "--format",
            "json",
            "--timeout",
            "2s",
            // The churn bound certify replays with (its reproduce lines say so).
            "--churn-limit",
            &execnet::certify::run::CERTIFY_CHURN_LIMIT.to_string(),
            "--plugin-dir",
        ])
        .arg(plugins)
        .args(["--plugin", plugin, scenario])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("replay JSON");
    let calls: Vec<&Value> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "call")
        .collect();
    let statuses = calls
        .iter()
        .filter(|e| e["call"]["action"] == "status")
        .count();
    (calls.len(), statuses)
}

/// The `<section class="scenario" …>` of `name` in the dumped DOM.
fn section<'a>(dom: &'a str, name: &str) -> &'a str {
    let start = dom
        .find(&format!(
            "<section class=\"scenario\" id=\"scenario-{name}\""
        ))
        .unwrap_or_else(|| panic!("no timeline for {name}"));
    let end = dom[start..].find("</section>").unwrap() + start;
    &dom[start..end]
}

#[test]
fn html_report_in_chromium_has_a_lane_per_pod_and_a_mark_per_call() {
    let Some(exe) = chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the Chromium test: install chromium (.ci/run does)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let plugins = util::sample_plugins();
    let tmp = tempfile::TempDir::new().unwrap();
    let page = tmp.path().join("report.html");
    // status-fails: every status exits 1 with a message; crash and restart scenarios judged.
    util::execnet()
        .args(["certify", "--format", "html", "--output"])
        .arg(&page)
        .args(["--plugin-dir"])
        .arg(plugins.path())
        .args([
            "--plugin",
            "status-fails",
            "--timeout",
            "2s",
            "--focus",
            "crash-restart/*,init/restart,exit-code/success",
        ])
        .assert()
        .code(1);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch (the only URL is the SVG namespace).
    assert!(!html.contains("https://"));
    assert_eq!(
        html.matches("http://").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(!html.contains(" src=") && !html.contains("<link"));

    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("chromium-profile");
    let dom = run_chromium(&exe, &profile, &["--dump-dom"], &url);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not run"
    );
    for scenario in ["crash-without-teardown", "kubelet-restart"] {
        let s = section(&dom, scenario);
        let lanes = s.matches("<g class=\"lane pod\"").count();
        assert_eq!(lanes, pods_in(scenario), "{scenario}: pod lanes");
        assert_eq!(s.matches("<g class=\"lane kubelet\"").count(), 1);
        let marks = s.matches("<path class=\"mark ").count();
        let (calls, statuses) = calls_in(plugins.path(), "status-fails", scenario);
        assert_eq!(marks, calls, "{scenario}: marks");
        // Every status failed (exit 1): each is blamed on the one root cause, C1.
        let blamed = s.matches(" blamed\" data-call=").count();
        assert_eq!(blamed, statuses, "{scenario}: blamed marks");
        assert_eq!(s.matches("data-cause=\"C1\"").count(), statuses);
        assert!(
            s.contains("class=\"mark outcome-failed action-status "),
            "{scenario}"
        );
        assert!(
            s.contains("class=\"mark outcome-ok action-setup "),
            "{scenario}"
        );
        assert!(s.contains("class=\"bar\""), "{scenario}: infra bars");
    }
    let crashes = section(&dom, "crash-without-teardown");
    assert!(crashes.matches("class=\"marker crash\"").count() >= 16);
    let restarts = section(&dom, "kubelet-restart");
    assert_eq!(
        restarts.matches("class=\"marker kubelet-restart\"").count(),
        2
    );
    assert!(dom.contains("<h2 id=\"causes\">1 cause, 1 check affected</h2>"));
    // The verdict is the first thing on the page.
    assert!(dom.contains("<span class=\"verdict fail\" id=\"verdict\">FAIL</span>"));

    // Open a failed status mark's evidence (the same function a click calls).
    let at = crashes
        .find("class=\"mark outcome-failed action-status ")
        .unwrap();
    let tail = &crashes[at..];
    let index: usize = tail[tail.find("data-call=\"").unwrap() + 11..]
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let dom = run_chromium(
        &exe,
        &profile,
        &["--dump-dom"],
        &format!("{url}#call-{index}"),
    );
    let panel_at = dom.find("<aside id=\"details\"").expect("details panel");
    let panel = &dom[panel_at..dom[panel_at..].find("</aside>").unwrap() + panel_at];
    assert!(!panel.contains(" hidden"), "panel still hidden: {panel}");
    assert!(panel.contains("status default/"), "{panel}");
    assert!(panel.contains("exit status 1"), "{panel}");
    // The plugin's own output (sample-plugins/status-fails) and the command that re-runs it.
    assert!(
        panel.contains("status-fails: cannot determine the pod address"),
        "{panel}"
    );
    assert!(
        panel
            .contains("execnet replay crash-without-teardown --kubelet 1.5 --seed 0 --plugin-dir "),
        "{panel}"
    );
    assert!(panel.contains("execnet call --plugin-dir "), "{panel}");
    assert!(
        panel.contains("<dt>why</dt>"),
        "why the kubelet called: {panel}"
    );
    // The clicked mark is marked selected.
    let mark_at = dom
        .find(&format!("data-call=\"{index}\""))
        .expect("the mark");
    let class_at = dom[..mark_at].rfind("class=\"").unwrap();
    assert!(
        dom[class_at..mark_at].contains(" blamed selected\""),
        "{}",
        &dom[class_at..mark_at]
    );

    // A screenshot, as the README shows it (headless screenshots are of the unscrolled page:
    // no fragment that would scroll).
    let png = tmp.path().join("report.png");
    run_chromium(
        &exe,
        &profile,
        &[
            "--window-size=1280,1500",
            "--hide-scrollbars",
            &format!("--screenshot={}", png.display()),
        ],
        &url,
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page compresses to a few KB.
    assert!(
        bytes.len() > 40_000,
        "screenshot looks blank: {} bytes",
        bytes.len()
    );
    if std::env::var_os("EXECNET_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&png, docs.join("report.png")).unwrap();
    }
}
