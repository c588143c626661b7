//! Certification end to end: every gallery plugin fails exactly the checks it is meant to, the
//! reference plugin passes under every profile, reports (text, JSON, JUnit) and exit codes.

use std::collections::BTreeSet;
use std::time::Duration;

use execnet::certify::{self, CATALOGUE, CertifyOptions, Outcome, Report, SkipKind, Verdict};
use execnet::kubelet::Profile;
use execnet::report::json::evidence_text;
use predicates::prelude::*;
use rstest::rstest;

use crate::util;

fn run(plugin: &str, profile: &str) -> Report {
    run_in(&util::sample_plugins(), plugin, profile)
}

fn run_in(plugins: &tempfile::TempDir, plugin: &str, profile: &str) -> Report {
    certify::certify(
        Some((plugins.path(), plugin)),
        &options(profile),
        &mut |_| {},
    )
    .expect("certify runs")
}

/// The options of a whole certification under `profile`.
fn options(profile: &str) -> CertifyOptions {
    CertifyOptions {
        profile: Profile::by_name(profile).expect("profile"),
        // Generous: on a loaded 2-core machine a good call can take seconds, and a timed-out call
        // fails checks (and shortens later calls). Hung plugins cost one timeout per action.
        timeout: Some(Duration::from_secs(10)),
        ..CertifyOptions::default()
    }
}

/// Every check's outcome, judged count and evidence, for assertion messages.
fn explain(report: &Report) -> String {
    report
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {} (judged {}): {}",
                c.outcome.as_str(),
                c.id,
                c.judged,
                evidence_text(c)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ids(report: &Report, outcome: Outcome) -> BTreeSet<&'static str> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == outcome)
        .map(|c| c.id)
        .collect()
}

/// Checks judged on wall-clock latency against a fixed budget: load on the test machine, not
/// the plugin, decides whether they warn. Unless a case expects the warning, a warning of theirs
/// is not asserted on (they may pass, warn, or be skipped with the rest); the snapshots leave
/// them out.
const LATENCY_CHECKS: [&str; 1] = ["timeout/p99"];

/// The checks that warned, without a latency check unless `expected` names it.
fn warnings(report: &Report, expected: &[&str]) -> BTreeSet<&'static str> {
    ids(report, Outcome::Warn)
        .into_iter()
        .filter(|id| !LATENCY_CHECKS.contains(id) || expected.contains(id))
        .collect()
}

/// For every gallery plugin: the verdict, exactly the checks that fail, exactly the warnings
/// (a latency check's as [`warnings`] says). A fault in setup also fails the checks that need a
/// set-up pod; those are listed too.
#[rstest]
#[case::stderr_noise("stderr-noise", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &["status-json/not-set-up", "output/single-document"])]
#[case::wrong_kind("wrong-kind", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::bad_apiversion("bad-apiversion", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::invalid_ip("invalid-ip", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::status_fails("status-fails", Verdict::Fail, &["args/long-names", "exit-code/success", "fds/stdio-only", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &["status-json/not-set-up"])]
// Without --pool a fresh address per crash is round robin or a leak: a warning saying how to
// decide (vendor::a_declared_pool_tells_round_robin_from_a_leak has the FAIL with --pool).
#[case::no_reclaim("no-reclaim", Verdict::Pass, &[], &["crash-restart/reclaim"])]
#[case::no_lock("no-lock", Verdict::Fail, &["concurrency/parallel-setup"], &[])]
#[case::hang_teardown("hang-teardown", Verdict::Fail, &["lifecycle/setup-status-teardown", "timeout/within-limit"], &["idempotence/repeated-teardown"])]
#[case::daemon_stdout("daemon-stdout", Verdict::Fail, &["leak/output-pipe", "leak/process-group"], &[])]
#[case::setsid_escape("setsid-escape", Verdict::Fail, &["leak/process-group"], &[])]
#[case::not_executable("not-executable", Verdict::Fail, &["init/selection"], &[])]
#[case::init_fails("init-fails", Verdict::Fail, &["init/selection"], &[])]
#[case::no_shebang("no-shebang", Verdict::Fail, &["init/selection"], &[])]
#[case::teardown_not_idempotent("teardown-not-idempotent", Verdict::Pass, &[], &["idempotence/repeated-teardown"])]
#[case::huge_output("huge-output", Verdict::Pass, &[], &["output/small"])]
#[case::segfault("segfault", Verdict::Fail, &["exit-code/signal", "lifecycle/setup-status-teardown", "concurrency/parallel-setup"], &[])]
#[case::empty_ip("empty-ip", Verdict::Fail, &["status-json/ip-present", "lifecycle/setup-status-teardown"], &[])]
#[case::loopback_ip("loopback-ip", Verdict::Fail, &["status-json/ip-valid", "lifecycle/distinct-ips", "concurrency/parallel-setup"], &[])]
#[case::needs_fd3("needs-fd3", Verdict::Fail, &["args/long-names", "exit-code/success", "fds/stdio-only", "lifecycle/setup-status-teardown", "concurrency/parallel-setup"], &[])]
#[case::slow_status("slow-status", Verdict::Pass, &[], &["timeout/p99"])]
#[case::no_kind("no-kind", Verdict::Pass, &[], &["status-json/kind-version"])]
fn gallery_plugin_fails_exactly_its_checks(
    #[case] plugin: &str,
    #[case] verdict: Verdict,
    #[case] fails: &[&str],
    #[case] warns: &[&str],
) {
    let report = run(plugin, "1.5");
    assert_eq!(
        ids(&report, Outcome::Fail),
        fails.iter().copied().collect(),
        "{}",
        explain(&report)
    );
    assert_eq!(
        warnings(&report, warns),
        warns.iter().copied().collect(),
        "{}",
        explain(&report)
    );
    assert_eq!(report.verdict, verdict, "{}", explain(&report));
    for c in &report.checks {
        // No vacuous pass: a pass judged something; a failure carries findings with a
        // reproduce line each and a cause.
        if c.outcome == Outcome::Pass {
            assert!(c.judged > 0, "{} passed judging nothing", c.id);
        }
        if matches!(c.outcome, Outcome::Fail | Outcome::Warn) {
            assert!(!c.findings.is_empty(), "{} failed without findings", c.id);
            for f in &c.findings {
                let r = f.reproduce.as_ref().expect("a reproduce line");
                assert!(r.replay_line.starts_with("execnet replay "), "{r:?}");
                assert!(f.cause.is_some(), "{} finding without a cause", c.id);
            }
        }
    }
}

#[test]
fn every_gallery_directory_is_in_the_table() {
    let table = [
        "stderr-noise",
        "wrong-kind",
        "bad-apiversion",
        "invalid-ip",
        "status-fails",
        "no-reclaim",
        "no-lock",
        "hang-teardown",
        "daemon-stdout",
        "setsid-escape",
        "not-executable",
        "init-fails",
        "no-shebang",
        "teardown-not-idempotent",
        "huge-output",
        "segfault",
        "empty-ip",
        "loopback-ip",
        "needs-fd3",
        "slow-status",
        "no-kind",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-plugins");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "reference" && n != "recorder")
        // The netns runtime's samples have their own table (tests/it/netns.rs).
        .filter(|n| !n.starts_with("netns-"))
        .collect();
    found.sort();
    let mut expected: Vec<String> = table.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
    // sample-plugins itself is a valid plugin directory: no invalid names.
    let probe = execnet::plugin::probe(&dir);
    for p in &probe.plugins {
        assert!(
            execnet::plugin::name::qualified_name_errors(&p.name).is_empty(),
            "{}",
            p.name
        );
        let readme = std::fs::read_to_string(p.directory.join("README.md")).unwrap();
        assert!(
            !readme.lines().next().unwrap_or("").trim().is_empty(),
            "{} README",
            p.name
        );
    }
}

#[rstest]
fn reference_passes_under_every_profile(
    #[values("1.1", "1.2", "1.3", "1.4", "1.5", "documented")] profile: &str,
) {
    let report = run("reference", profile);
    assert_eq!(report.verdict, Verdict::Pass, "{}", explain(&report));
    assert_eq!(ids(&report, Outcome::Fail), BTreeSet::new());
    assert_eq!(warnings(&report, &[]), BTreeSet::new());
    // No cause, but a latency check's.
    assert!(
        report
            .causes
            .iter()
            .all(|k| k.checks.iter().all(|id| LATENCY_CHECKS.contains(id))),
        "{}",
        explain(&report)
    );
    // Every must check was judged on something; the only skips are not-applicable ones.
    for c in &report.checks {
        if c.outcome == Outcome::Skip {
            assert_eq!(
                c.skip,
                Some(SkipKind::NotApplicable),
                "{}",
                explain(&report)
            );
        } else {
            assert!(c.judged > 0, "{}", explain(&report));
        }
    }
    let swapped = report
        .checks
        .iter()
        .find(|c| c.id == "args/swapped-status")
        .unwrap();
    let expected = if ["1.1", "1.2", "1.3"].contains(&profile) {
        Outcome::Pass
    } else {
        Outcome::Skip
    };
    assert_eq!(swapped.outcome, expected, "{}", swapped.summary);
}

#[test]
fn empty_ip_is_only_a_warning_under_the_documented_contract() {
    let report = run("empty-ip", "documented");
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "status-json/ip-present")
        .unwrap();
    assert_eq!(check.outcome, Outcome::Warn, "{}", explain(&report));
    assert!(check.warn_only.is_some());
}

#[test]
fn focus_and_skip_select_checks_and_scenarios() {
    let plugins = util::sample_plugins();
    let opts = CertifyOptions {
        focus: vec!["leak/*".into()],
        skip: vec!["leak/process-group".into()],
        ..CertifyOptions::default()
    };
    let report =
        certify::certify(Some((plugins.path(), "daemon-stdout")), &opts, &mut |_| {}).unwrap();
    assert_eq!(
        ids(&report, Outcome::Fail),
        ["leak/output-pipe"].into_iter().collect()
    );
    // Only the selected check is listed, and only the scenarios it judges were replayed.
    assert_eq!(report.checks.len(), 1);
    let judged: Vec<String> = certify::catalogue::by_id("leak/output-pipe")
        .unwrap()
        .scenarios()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(report.scenarios, judged);
    let opts = CertifyOptions {
        focus: vec!["crash-restart/reclaim".into()],
        ..CertifyOptions::default()
    };
    let report =
        certify::certify(Some((plugins.path(), "no-reclaim")), &opts, &mut |_| {}).unwrap();
    assert_eq!(
        report.scenarios,
        ["crash-without-teardown", "docker-restart"]
    );
    assert_eq!(report.checks.len(), 1);
}

#[rstest]
#[case("reference")]
#[case("stderr-noise")]
#[case("no-reclaim")]
fn report_snapshots(#[case] plugin: &str) {
    let plugins = util::sample_plugins();
    // One scenario at a time: the addresses a shared pool hands out (quoted in evidence) then
    // do not depend on which scenarios ran side by side. Latency is not judged (the machine's
    // load would decide it).
    let opts = CertifyOptions {
        lanes: Some(1),
        skip: LATENCY_CHECKS.iter().map(|id| id.to_string()).collect(),
        ..options("1.5")
    };
    let report =
        certify::certify(Some((plugins.path(), plugin)), &opts, &mut |_| {}).expect("certify runs");
    let (text, json) = util::redacted_report(&report, plugins.path());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("certify__{plugin}__text"), text);
        insta::assert_snapshot!(format!("certify__{plugin}__json"), json);
    });
}

/// Validate `xml` against the Jenkins/GitLab JUnit schema with xmllint (libxml2-utils; .ci/run
/// installs it): Ok, or xmllint's complaint.
fn validate_junit(xml: &str) -> Result<(), String> {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-jenkins.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (Debian: libxml2-utils) must be installed");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// JUnit as CI systems read it, validated against their schema.
#[test]
fn junit_validates_against_the_ci_schema_with_times_skips_reasons_and_warnings() {
    // The validator can fail: properties on a testcase are outside the schema.
    let bad = r#"<testsuites><testsuite name="s" tests="1"><testcase name="c"><properties/></testcase></testsuite></testsuites>"#;
    assert!(
        validate_junit(bad).is_err(),
        "the schema must reject a testcase with properties"
    );

    let report = run("stderr-noise", "1.5");
    let xml = execnet::report::junit::render(&report);
    validate_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let skipped = report.count(Outcome::Skip);
    assert!(skipped > 0);
    assert_eq!(
        suite.attribute("skipped"),
        Some(skipped.to_string().as_str())
    );
    assert_eq!(suite.attribute("disabled"), Some("0"));
    assert_eq!(suite.attribute("failures"), Some("3"));
    assert_eq!(
        suite.attribute("tests"),
        Some(report.checks.len().to_string().as_str())
    );
    let time: f64 = suite
        .attribute("time")
        .expect("suite time")
        .parse()
        .unwrap();
    assert!(time > 0.0);
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), report.checks.len());
    for case in &cases {
        let t: f64 = case.attribute("time").expect("case time").parse().unwrap();
        assert!(t >= 0.0);
    }
    let case = |id: &str| {
        *cases
            .iter()
            .find(|c| c.attribute("name") == Some(id))
            .unwrap()
    };
    // A failure's message is the first line of its reason, not the check's title.
    let parses = case("status-json/parses");
    assert_eq!(parses.attribute("classname"), Some("status-json"));
    let failure = parses
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let check = report.check("status-json/parses").unwrap();
    let message = failure.attribute("message").unwrap();
    assert_eq!(message, execnet::report::evidence::line(&check.findings[0]));
    assert!(message.contains("invalid character 's'"), "{message}");
    assert!(
        failure
            .text()
            .unwrap_or("")
            .contains("reproduce: execnet call")
    );
    // A warning is a passing case with a system-err note and a suite property naming it.
    let single = case("output/single-document");
    assert!(
        !single
            .children()
            .any(|n| n.has_tag_name("failure") || n.has_tag_name("skipped"))
    );
    let err = single
        .children()
        .find(|n| n.has_tag_name("system-err"))
        .unwrap();
    assert!(
        err.text().unwrap_or("").starts_with("WARNING (should"),
        "{:?}",
        err.text()
    );
    let warnings: Vec<&str> = suite
        .descendants()
        .filter(|n| n.has_tag_name("property") && n.attribute("name") == Some("execnet.warning"))
        .filter_map(|n| n.attribute("value"))
        .filter(|id| !LATENCY_CHECKS.contains(id))
        .collect();
    assert_eq!(
        warnings,
        ["status-json/not-set-up", "output/single-document"]
    );
    // A skip says why.
    let swapped = case("args/swapped-status");
    let skip = swapped
        .children()
        .find(|n| n.has_tag_name("skipped"))
        .unwrap();
    assert!(
        skip.attribute("message")
            .unwrap()
            .contains("does not call status")
    );
}

#[test]
fn certify_cli_exit_codes_and_atomic_output() {
    // 0: the bundled reference plugin, from any directory.
    let elsewhere = tempfile::TempDir::new().unwrap();
    util::execnet()
        .current_dir(elsewhere.path())
        .arg("certify")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("verdict: PASS"));
    // 1: a plugin failing a must check; the JUnit file is written whole, the text report printed.
    let plugins = util::sample_plugins();
    let out = elsewhere.path().join("junit.xml");
    util::execnet()
        .args(["certify", "--plugin-dir"])
        .arg(plugins.path())
        .args([
            "--plugin",
            "status-fails",
            "--timeout",
            "5s",
            "--format",
            "junit",
            "--output",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL exit-code/success"));
    roxmltree::Document::parse(&std::fs::read_to_string(&out).unwrap()).expect("whole XML file");
    let leftovers: Vec<_> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temp file left beside the report: {leftovers:?}"
    );
    // JSON on stdout per docs/cli.md §5.
    let json = util::execnet()
        .args(["certify", "--format", "json", "--focus", "init/*"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["plugin"], "reference");
    assert_eq!(v["kubelet"], "1.5");
    assert_eq!(v["verdict"], "pass");
    for c in v["checks"].as_array().unwrap() {
        for key in ["id", "level", "outcome", "evidence"] {
            assert!(c.get(key).is_some(), "check lacks {key}: {c}");
        }
    }
    // 2: bad input.
    util::execnet()
        .args(["certify", "--kubelet", "1.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1.9"));
    util::execnet()
        .args(["certify", "--plugin-dir"])
        .arg(plugins.path())
        .args(["--plugin", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"nope\" not found"));
    util::execnet()
        .args([
            "certify",
            "--plugin-dir",
            "/nonexistent/plugins",
            "--plugin",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/plugins"));
    util::execnet()
        .args(["certify", "--plugin", "x"])
        .assert()
        .code(2);
    util::execnet()
        .args(["certify", "--focus", "nothing/*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no check matches"));
}

#[test]
fn certify_list_shows_the_whole_catalogue() {
    let out = util::execnet()
        .args(["certify", "--list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for c in CATALOGUE {
        assert!(text.contains(c.id), "--list lacks {}", c.id);
    }
}

/// A check that judged nothing never passes — a plugin whose setup always fails has
/// no pod for `status-json/kind-version` to judge, so focused on it the run is inconclusive
/// (exit 1), never PASS. (A plugin whose status prints nothing is judged on the runtime's IP
/// the kubelet kept; see `vendor::empty_status_…`.)
#[test]
fn a_run_that_judged_nothing_is_inconclusive() {
    let dir = util::bash_plugin("nosetup", "[ \"$1\" = setup ] && exit 1; exit 0");
    let opts = CertifyOptions {
        timeout: Some(Duration::from_secs(5)),
        focus: vec!["status-json/kind-version".into()],
        ..CertifyOptions::default()
    };
    let report = certify::certify(Some((dir.path(), "nosetup")), &opts, &mut |_| {}).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{}",
        explain(&report)
    );
    assert_eq!(report.count(Outcome::Pass), 0, "{}", explain(&report));
    assert!(
        report.inconclusive_reasons()[0].contains("no check judged anything"),
        "{:?}",
        report.inconclusive_reasons()
    );
}

/// Run a reproduce argv as printed (`execnet …`), with the `execnet` under test.
fn run_reproduce(argv: &[String]) -> std::process::Output {
    assert_eq!(argv[0], "execnet");
    std::process::Command::new(util::execnet_path())
        .args(&argv[1..])
        .output()
        .expect("execnet runs")
}

/// Every finding's reproduce lines, run as printed, show the same failure.
#[test]
fn reproduce_lines_reproduce_the_finding() {
    let plugins = util::sample_plugins();
    let opts = CertifyOptions {
        focus: vec!["status-json/parses".into()],
        timeout: Some(Duration::from_secs(5)),
        ..CertifyOptions::default()
    };
    let report =
        certify::certify(Some((plugins.path(), "stderr-noise")), &opts, &mut |_| {}).unwrap();
    let check = report.check("status-json/parses").unwrap();
    assert_eq!(check.outcome, Outcome::Fail);
    let finding = &check.findings[0];
    let call = finding.call.as_ref().unwrap();
    let message = match &call.status {
        Some(execnet::plugin::StatusResult::Error { message }) => message.clone(),
        other => panic!("expected a parse error, got {other:?}"),
    };
    let r = finding.reproduce.as_ref().unwrap();
    // The call: the same argv after the executable (full container ID), the same parse error.
    let argv = r.call.as_ref().expect("a call finding has a call line");
    assert!(argv.ends_with(&call.argv[1..]), "{argv:?}");
    let out = run_reproduce(argv);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("status: error: {message}")),
        "{stdout}"
    );
    // The replay: the scenario by its bundled name, the same seed, the same failing call.
    let out = run_reproduce(&r.replay);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(transcript.contains(&message), "{transcript}");
    let id = call.argv.last().unwrap();
    assert!(
        transcript.contains(&id[..12]),
        "the same container ID: {transcript}"
    );
    // The printed line is the argv, shell-quoted.
    assert_eq!(r.replay_line, r.replay.join(" "));
}

/// A vendor's case: a Python plugin that logs to stderr and dies with a long traceback
/// in status. The report's first screen names the cause and shows the exception line (the
/// output's tail), not only the traceback's head. (`-S`, no site packages: a Python start-up
/// on each of the run's calls costs half as much.)
#[test]
fn a_python_traceback_shows_its_exception_on_the_first_screen() {
    let body = r#"#!/usr/bin/python3 -S
import json, sys
action = sys.argv[1]
for step in range(40):
    print("podnet: %s %s: step %d" % (action, " ".join(sys.argv[2:]), step), file=sys.stderr)
def lookup(depth, pod):
    if depth == 0:
        raise ValueError("no address allocated for pod %s" % pod)
    return lookup(depth - 1, pod)
if action == "status":
    lookup(30, sys.argv[3])
    print(json.dumps({"kind": "PodNetworkStatus", "apiVersion": "v1beta1", "ip": "10.1.1.1"}))
"#;
    let dir = tempfile::TempDir::new().unwrap();
    util::write_plugin(dir.path(), "podnet", "podnet", body);
    let opts = CertifyOptions {
        focus: vec!["lifecycle/setup-status-teardown".into()],
        timeout: Some(Duration::from_secs(10)),
        ..CertifyOptions::default()
    };
    let report = certify::certify(Some((dir.path(), "podnet")), &opts, &mut |_| {}).unwrap();
    assert_eq!(report.verdict, Verdict::Fail, "{}", explain(&report));
    let cause = &report.causes[0];
    let call = cause.example.call.as_ref().unwrap();
    assert_eq!(call.action, "status");
    assert!(
        call.output_tail
            .as_deref()
            .unwrap_or("")
            .contains("ValueError: no address allocated")
    );
    assert!(call.output_head.starts_with("podnet: status"));
    let text = execnet::report::text::render(&report, false);
    let first_screen: Vec<&str> = text.lines().take(24).collect();
    let first_screen = first_screen.join("\n");
    assert!(
        first_screen.contains("C1 `status` → exit status 1"),
        "{first_screen}"
    );
    assert!(
        first_screen.contains("| ValueError: no address allocated for pod"),
        "{first_screen}"
    );
}

/// `--repeat N` replays with N seeds; a check that passed with one and failed
/// with another is `flaky`, with the seeds, and fails the verdict for a `must` check. The plugin
/// fails its very first setup only (a state file beside it), so the first repetition fails and
/// the second passes.
#[test]
fn repeat_finds_a_flaky_check_and_names_the_seeds() {
    let dir = tempfile::TempDir::new().unwrap();
    util::write_plugin(
        dir.path(),
        "first-setup-fails",
        "first-setup-fails",
        r#"#!/bin/bash
state="$(dirname "$0")/failed-once"
if [ "$1" = setup ] && [ ! -e "$state" ]; then touch "$state"; echo "first setup fails"; exit 1; fi
[ "$1" = status ] && echo '{"kind":"PodNetworkStatus","apiVersion":"v1beta1","ip":"10.9.0.2"}'
exit 0
"#,
    );
    let opts = CertifyOptions {
        focus: vec!["fds/stdio-only".into()],
        repeat: 2,
        seed: 7,
        timeout: Some(Duration::from_secs(5)),
        ..CertifyOptions::default()
    };
    let report =
        certify::certify(Some((dir.path(), "first-setup-fails")), &opts, &mut |_| {}).unwrap();
    assert_eq!(report.seeds, [7, 8]);
    let c = report.check("fds/stdio-only").unwrap();
    assert_eq!(c.outcome, Outcome::Flaky, "{}", explain(&report));
    let r = c.repeats.as_ref().unwrap();
    assert_eq!(
        (r.failed.as_slice(), r.passed.as_slice()),
        (&[7][..], &[8][..])
    );
    assert_eq!(report.verdict, Verdict::Fail);
    assert!(c.findings.iter().all(|f| f.seed == 7));
    let text = execnet::report::text::render(&report, false);
    assert!(text.contains("FLKY fds/stdio-only"), "{text}");
    assert!(text.contains("failed with seed(s) 7"), "{text}");
}

/// `--list --format json` is JSON (only the selection), and a `--focus` near
/// miss suggests the close match.
#[test]
fn list_as_json_and_focus_suggestions() {
    let out = util::execnet()
        .args(["certify", "--list", "--format", "json", "--focus", "leak/*"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["leak/output-pipe", "leak/process-group"]);
    assert!(v[0]["scenarios"].as_array().unwrap().len() == 10);
    util::execnet()
        .args(["certify", "--focus", "crash-restart/reclam"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "did you mean crash-restart/reclaim?",
        ));
    util::execnet()
        .args(["certify", "--list", "--focus", "timeouts/*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean timeout/*?"));
}

/// The network/* checks are in the catalogue listing (text and JSON), marked as judged only
/// under `--runtime netns`; focusing on them without it names the runtime they need.
#[test]
fn list_shows_the_network_checks_as_netns_only() {
    let out = util::execnet()
        .args(["certify", "--list", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let all = v.as_array().unwrap();
    let network: Vec<&serde_json::Value> = all
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("network/"))
        .collect();
    let ids: Vec<&str> = network.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "network/address-in-pod",
            "network/unique-address",
            "network/pod-answers",
            "network/teardown-leaves-nothing",
            "network/crash-recovery",
            "network/status-for-live-pod"
        ]
    );
    for c in &network {
        assert_eq!(c["runtimes"], serde_json::json!(["netns"]), "{c}");
        assert!(!c["rationale"].as_str().unwrap().is_empty(), "{c}");
    }
    let sim_only = all
        .iter()
        .filter(|c| !c["id"].as_str().unwrap().starts_with("network/"))
        .all(|c| c["runtimes"] == serde_json::json!(["sim", "netns"]));
    assert!(sim_only, "every other check is judged under both runtimes");
    util::execnet()
        .args(["certify", "--list", "--focus", "network/*"])
        .assert()
        .success()
        .stdout(predicate::str::contains("network/teardown-leaves-nothing"))
        .stdout(predicate::str::contains("--runtime netns only"));
    util::execnet()
        .args(["certify", "--focus", "network/*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the network/* checks run only with --runtime netns",
        ));
}

/// The bundled reference plugin's reproduce lines leave out `--plugin-dir`/`--plugin` (its temp
/// copy is gone after the run): `call` and `replay` install a fresh copy of it themselves, so the
/// lines still run as printed. Its `init` hangs (bash reads `$BASH_ENV` before the script: a
/// file that execs `sleep` for the reference plugin's `init`), so the 1 ms timeout fires however
/// fast or slow the machine is, in the certification and in both reproduce lines.
#[test]
fn bundled_plugin_reproduce_lines_run_without_a_plugin_dir() {
    let env = tempfile::TempDir::new().unwrap();
    let hang = env.path().join("hang-init.sh");
    std::fs::write(
        &hang,
        "[ \"${0##*/}\" = reference ] && [ \"${1:-}\" = init ] && exec sleep 300\n",
    )
    .unwrap();
    let execnet = |argv: &[&str]| {
        std::process::Command::new(util::execnet_path())
            .args(argv)
            .env("BASH_ENV", &hang)
            .output()
            .expect("execnet runs")
    };
    let out = execnet(&[
        "certify",
        "--format",
        "json",
        "--focus",
        "init/selection",
        "--timeout",
        "1ms",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "init/selection")
        .expect("init/selection in the report");
    assert_eq!(check["outcome"], "fail", "{check:#}");
    let finding = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["call"].is_null())
        .expect("a call finding");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("an argv: {v}"))
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let call = strings(&finding["reproduce"]["call"]);
    let replay = strings(&finding["reproduce"]["replay"]);
    assert!(
        !call.iter().any(|a| a.starts_with("--plugin")),
        "no plugin dir for the bundled plugin: {call:?}"
    );
    assert!(
        !replay.iter().any(|a| a.starts_with("--plugin")),
        "{replay:?}"
    );
    for argv in [&call, &replay] {
        assert_eq!(argv[0], "execnet");
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let out = execnet(&args);
        assert_eq!(out.status.code(), Some(1), "{argv:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("timed out"),
            "{argv:?}: {out:?}"
        );
    }
}

/// Scenarios run side by side, but `init` never overlaps another call of the plugin: the
/// kubelet ran init before any pod worker and a restarted kubelet had no call in flight. A
/// wrapper around the reference plugin logs each call's start and end (and sleeps in init to
/// widen the window); no init interval may intersect any other call's interval.
#[test]
fn init_never_overlaps_another_call_when_scenarios_run_side_by_side() {
    let dir = tempfile::TempDir::new().unwrap();
    execnet::certify::embedded::install_reference(dir.path()).unwrap();
    let wrapper = dir.path().join("gated/gated");
    std::fs::create_dir_all(wrapper.parent().unwrap()).unwrap();
    std::fs::write(
        &wrapper,
        r#"#!/bin/sh
d=$(dirname "$0")
echo "start $1 $$ $(date +%s%N)" >> "$d/calls.log"
[ "$1" = init ] && sleep 0.2
"$d/../reference/reference" "$@"; rc=$?
echo "end $1 $$ $(date +%s%N)" >> "$d/calls.log"
exit $rc
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = CertifyOptions {
        focus: vec!["init/*".into(), "lifecycle/*".into()],
        lanes: Some(4),
        ..CertifyOptions::default()
    };
    let report = certify::certify(Some((dir.path(), "gated")), &opts, &mut |_| {}).unwrap();
    assert_eq!(report.verdict, Verdict::Pass, "{}", explain(&report));
    let log = std::fs::read_to_string(dir.path().join("gated/calls.log")).unwrap();
    // pid -> (action, start, end)
    let mut calls: std::collections::BTreeMap<&str, (&str, u128, u128)> = Default::default();
    for line in log.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let t: u128 = f[3].parse().unwrap();
        let e = calls.entry(f[2]).or_insert((f[1], 0, u128::MAX));
        if f[0] == "start" {
            e.1 = t;
        } else {
            e.2 = t;
        }
    }
    let inits: Vec<_> = calls.values().filter(|c| c.0 == "init").collect();
    let others: Vec<_> = calls.values().filter(|c| c.0 != "init").collect();
    assert!(inits.len() >= 3, "inits: {inits:?}");
    assert!(others.len() >= 10, "calls: {others:?}");
    for i in &inits {
        for o in &others {
            assert!(
                o.2 < i.1 || o.1 > i.2,
                "{} ({}..{}) overlaps init ({}..{})",
                o.0,
                o.1,
                o.2,
                i.1,
                i.2
            );
        }
    }
}

/// The outcomes of a JUnit document: suite name → check id → pass/fail/skip.
fn junit_outcomes(
    xml: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, &'static str>> {
    let doc = roxmltree::Document::parse(xml).expect("valid XML");
    let mut out = std::collections::BTreeMap::new();
    for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
        let suite_time: f64 = suite.attribute("time").unwrap().parse().unwrap();
        let mut cases = std::collections::BTreeMap::new();
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let t: f64 = case.attribute("time").unwrap().parse().unwrap();
            assert!(
                t <= suite_time,
                "case {:?} takes {t} s in a suite of {suite_time} s",
                case.attribute("name")
            );
            let word = if case.children().any(|n| n.has_tag_name("failure")) {
                "fail"
            } else if case.children().any(|n| n.has_tag_name("skipped")) {
                "skip"
            } else {
                "pass"
            };
            cases.insert(case.attribute("name").unwrap().to_string(), word);
        }
        out.insert(suite.attribute("name").unwrap().to_string(), cases);
    }
    out
}

/// One run over two releases writes JSON, HTML and JUnit (and `--report-dir` every
/// format) with the same outcomes everywhere, the matrix and its one-line summary.
#[test]
fn one_run_writes_every_format_with_the_same_outcomes_and_the_matrix() {
    let plugins = util::sample_plugins();
    let out = tempfile::TempDir::new().unwrap();
    let path = |name: &str| out.path().join(name);
    let arg = |f: &str, name: &str| format!("{f}={}", path(name).display());
    let assert = util::execnet()
        .args(["certify", "--progress", "never", "--plugin-dir"])
        .arg(plugins.path())
        .args([
            "--plugin",
            "stderr-noise",
            "--kubelet",
            "1.4,1.5",
            "--timeout",
            "10s",
            // Checks of one scenario (basic-lifecycle): two releases stay quick.
            "--focus",
            "init/selection,status-json/ip-present,lifecycle/setup-status-teardown,output/single-document",
            "--output",
            &arg("json", "r.json"),
            "--output",
            &arg("html", "r.html"),
            "--output",
            &arg("junit", "r.xml"),
            "--report-dir",
        ])
        .arg(path("all"))
        .assert()
        .code(1);
    let summary = "must-checks fail on 1.4–1.5: lifecycle/setup-status-teardown";
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.starts_with(&format!("verdict: FAIL — {summary}\n")),
        "{stdout}"
    );
    let json = std::fs::read_to_string(path("r.json")).unwrap();
    // Every file from the one result: the directory's JSON is the same document.
    assert_eq!(
        std::fs::read_to_string(path("all/report.json")).unwrap(),
        json
    );
    for name in ["report.txt", "report.junit.xml", "report.html"] {
        assert!(path("all").join(name).is_file(), "{name}");
    }
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // docs/cli.md §5 keys stay, the matrix is added.
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["kubelet"], "1.4,1.5");
    assert_eq!(v["matrix"]["summary"], summary);
    for c in v["checks"].as_array().unwrap() {
        for key in ["id", "level", "outcome", "evidence"] {
            assert!(c.get(key).is_some(), "check lacks {key}: {c}");
        }
    }
    let releases = v["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 2);
    let junit = std::fs::read_to_string(path("r.xml")).unwrap();
    validate_junit(&junit).unwrap_or_else(|e| panic!("{e}\n{junit}"));
    let junit = junit_outcomes(&junit);
    assert_eq!(junit.len(), 2, "a testsuite per release: {junit:?}");
    let html = std::fs::read_to_string(path("r.html")).unwrap();
    let mut compared = 0;
    for r in releases {
        let release = r["kubelet"].as_str().unwrap();
        let suite = &junit[&format!("stderr-noise (kubelet {release})")];
        for c in r["checks"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let outcome = c["outcome"].as_str().unwrap();
            assert_eq!(
                v["matrix"]["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|row| row["id"] == id)
                    .unwrap()["outcomes"][release],
                outcome,
                "{id} under {release}: the matrix differs from the release's report"
            );
            let junit_word = match outcome {
                "fail" | "flaky" if c["level"] == "must" => "fail",
                "skip" => "skip",
                _ => "pass",
            };
            assert_eq!(suite[id], junit_word, "{id} under {release} in JUnit");
            compared += 1;
        }
    }
    // The HTML matrix: one row per check, one badge per release, the same words.
    for row in v["matrix"]["checks"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let start = html
            .find(&format!("<tr><td class=\"mono\">{id}</td>"))
            .unwrap_or_else(|| panic!("no matrix row for {id}"));
        let end = start + html[start..].find("</tr>").unwrap();
        let cells: Vec<&str> = html[start..end]
            .split("<span class=\"badge ")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(cells, [&row["outcomes"]["1.4"], &row["outcomes"]["1.5"]]);
    }
    assert!(html.contains(summary));
    assert_eq!(compared, 8, "compared {compared} outcomes");
}

/// `--baseline` marks nothing new for the same plugin; a plugin changed to fail one
/// more check marks exactly that check new, and `--fail-on new` exits 1 only then.
#[test]
fn baseline_marks_exactly_the_new_failure_and_fail_on_new_exits_only_then() {
    let plugins = util::sample_plugins();
    let dir = tempfile::TempDir::new().unwrap();
    // A vendor's plugin: the reference plugin, then a version whose status fails.
    let exe = util::write_plugin(
        dir.path(),
        "vendor",
        "vendor",
        &format!(
            "#!/bin/bash\nexec '{}' \"$@\"\n",
            plugins.path().join("reference/reference").display()
        ),
    );
    let reports = tempfile::TempDir::new().unwrap();
    let base = reports.path().join("base.json");
    let certify = |extra: &[&str]| {
        let mut cmd = util::execnet();
        cmd.args(["certify", "--progress", "never", "--plugin-dir"])
            .arg(dir.path())
            .args([
                "--plugin",
                "vendor",
                "--timeout",
                "10s",
                // Checks of one scenario (basic-lifecycle), so that six runs stay quick.
                "--focus",
                "init/selection,lifecycle/setup-status-teardown",
            ])
            .args(extra);
        cmd
    };
    let json_arg = |p: &std::path::Path| format!("json={}", p.display());
    certify(&["--output", &json_arg(&base)]).assert().code(0);
    let base_arg = base.display().to_string();
    let same = reports.path().join("same.json");
    certify(&[
        "--baseline",
        &base_arg,
        "--fail-on",
        "new",
        "--output",
        &json_arg(&same),
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains("since the baseline: 0 new"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&same).unwrap()).unwrap();
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("baseline").is_none()),
        "{v}"
    );
    // Now status fails: one more check fails.
    std::fs::write(
        &exe,
        format!(
            "#!/bin/bash\n[ \"$1\" = status ] && {{ echo 'vendor: no address'; exit 1; }}\nexec '{}' \"$@\"\n",
            plugins.path().join("reference/reference").display()
        ),
    )
    .unwrap();
    let worse = reports.path().join("worse.json");
    certify(&[
        "--baseline",
        &base_arg,
        "--fail-on",
        "new",
        "--output",
        &json_arg(&worse),
    ])
    .assert()
    .code(1)
    .stdout(predicate::str::contains("[new-fail]"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&worse).unwrap()).unwrap();
    let marked: Vec<(&str, &str)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["id"].as_str()?, c.get("baseline")?.as_str()?)))
        .collect();
    assert_eq!(
        marked,
        [("lifecycle/setup-status-teardown", "new-fail")],
        "{v}"
    );
    // The same failure against the failing report is still failing: no regression, exit 0
    // with --fail-on new (and 1 without it: the verdict is FAIL).
    let worse_arg = worse.display().to_string();
    certify(&["--baseline", &worse_arg, "--fail-on", "new"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[still-failing]"));
    certify(&["--baseline", &worse_arg]).assert().code(1);
    // --rerun-failed runs only what failed there.
    let rerun = reports.path().join("rerun.json");
    certify(&["--rerun-failed", &worse_arg, "--output", &json_arg(&rerun)])
        .assert()
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rerun).unwrap()).unwrap();
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["lifecycle/setup-status-teardown"]);
    // A baseline that is not a report is a usage error.
    certify(&["--baseline", "/nonexistent/base.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--baseline /nonexistent/base.json",
        ));
}

/// The first screen: the text report opens with the verdict (the containment note
/// only in JSON), the long id keeps the columns aligned, the HTML heading of a scenario whose
/// status calls the kubelet refused counts them as not ok, and certifying the bundled plugin
/// says what to do next.
#[test]
fn the_first_screen_opens_with_the_verdict_in_aligned_columns() {
    let plugins = util::sample_plugins();
    let opts = CertifyOptions {
        profile: Profile::by_name("1.5").unwrap(),
        timeout: Some(Duration::from_secs(10)),
        focus: vec!["status-json/*".into(), "init/*".into()],
        ..CertifyOptions::default()
    };
    let report =
        certify::certify(Some((plugins.path(), "stderr-noise")), &opts, &mut |_| {}).unwrap();
    let text = execnet::report::text::render(&report, false);
    assert!(text.starts_with("verdict: FAIL — "), "{text}");
    assert!(!text.contains("containment"), "{text}");
    assert!(
        report.notes.iter().any(|n| n.starts_with("containment:")),
        "JSON keeps the containment note: {:?}",
        report.notes
    );
    // Every check row has its level at the same column.
    let columns: BTreeSet<usize> = text
        .lines()
        .filter(|l| {
            ["PASS ", "FAIL ", "SKIP ", "WARN "]
                .iter()
                .any(|t| l.starts_with(t))
        })
        .map(|l| {
            let id_end = 5 + l[5..].find(' ').unwrap();
            id_end + l[id_end..].find(|c: char| c != ' ').unwrap()
        })
        .collect();
    assert_eq!(columns.len(), 1, "levels at columns {columns:?}:\n{text}");
    assert!(text.contains("status-json/no-status-error-for-live-pod must "));
    // HTML: the scenarios whose status output the kubelet refused head with their not-ok calls.
    let target = execnet::certify::evidence::Target {
        plugin: Some((plugins.path(), "stderr-noise")),
        profile: "1.5",
        timeout: opts.timeout,
        jobs: None,
        runtime: &[],
        pool: None,
    };
    let html = execnet::report::html::render(&report, &target);
    let not_ok: Vec<usize> = html
        .split(" not ok</span></h3>")
        .filter_map(|s| s.rsplit(", ").next()?.parse().ok())
        .collect();
    assert!(!not_ok.is_empty(), "no scenario heading");
    assert!(
        not_ok.iter().any(|&n| n > 0),
        "every scenario heading says 0 not ok: {not_ok:?}"
    );
    // The bundled plugin: the next step is named.
    util::execnet()
        .args([
            "certify",
            "--progress",
            "never",
            "--focus",
            "init/selection",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("verdict: PASS"))
        .stdout(predicate::str::contains(
            "next: certify your own plugin: execnet certify --plugin-dir DIR --plugin NAME",
        ));
}

/// A status that writes a log line to stderr on every fifth call — before the
/// document on one, after it on the next, so the kubelet's parser words them differently — is
/// one cause with its rate, said to be intermittent, with a line that repeats the call until
/// it reproduces.
#[test]
fn an_intermittent_status_is_one_cause_with_its_rate_and_a_repeat_line() {
    let plugins = util::sample_plugins();
    let dir = tempfile::TempDir::new().unwrap();
    let reference = plugins.path().join("reference/reference");
    util::write_plugin(
        dir.path(),
        "every5",
        "every5",
        &format!(
            r#"#!/bin/bash
here=$(dirname "$(readlink -f "$0")")
[ "$1" = status ] || exec '{ref}' "$@"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
'{ref}' "$@" > "$out" || {{ cat "$out"; exit 1; }}
exec 9>>"$here/count.lock"
flock 9
# Only a call that prints a document is counted (and every fifth of them gets a log line).
[ -s "$out" ] || {{ cat "$out"; exit 0; }}
n=$(( $(cat "$here/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$here/count"
flock -u 9
if (( n % 5 )); then cat "$out"; exit 0; fi
if (( n % 10 )); then echo "every5: looked up $3" >&2; cat "$out"; else cat "$out"; echo "every5: done with $3" >&2; fi
"#,
            ref = reference.display()
        ),
    );
    let opts = CertifyOptions {
        profile: Profile::by_name("1.5").unwrap(),
        timeout: Some(Duration::from_secs(10)),
        focus: vec!["status-json/*".into()],
        ..CertifyOptions::default()
    };
    let report = certify::certify(Some((dir.path(), "every5")), &opts, &mut |_| {}).unwrap();
    let parses = report.check("status-json/parses").unwrap();
    let messages: BTreeSet<String> = parses
        .findings
        .iter()
        .filter_map(|f| match &f.call.as_ref()?.status {
            Some(execnet::plugin::StatusResult::Error { message }) => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(
        messages.len() >= 2,
        "the parser's words should differ between the two kinds of call: {messages:?}"
    );
    let causes: Vec<_> = report
        .causes
        .iter()
        .filter(|c| c.checks.contains(&"status-json/parses"))
        .collect();
    assert_eq!(causes.len(), 1, "{:#?}", report.causes);
    let labels: BTreeSet<_> = parses.findings.iter().map(|f| f.cause.clone()).collect();
    assert_eq!(labels.len(), 1, "every finding names the one cause");
    let rate = causes[0].rate.as_ref().expect("a rate");
    assert_eq!(rate.action, "status");
    // Every fifth status call, counted by the plugin itself (its counter file).
    let counted: usize = std::fs::read_to_string(dir.path().join("every5/count"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Every fifth status call that printed a document got a log line (the plugin's own
    // counter): that many calls showed the cause, of the calls with the same arguments.
    assert_eq!(rate.calls, counted / 5, "{rate:?}");
    assert!(
        rate.of > rate.calls && rate.of <= counted,
        "{rate:?}, {counted} documents"
    );
    let tries = execnet::certify::evidence::tries_for_95(rate.calls, rate.of);
    assert!(tries > 2, "{tries}");
    assert_eq!(rate.tries_for_95, Some(tries));
    let text = execnet::report::text::render(&report, false);
    assert!(
        text.contains(&format!(
            "intermittent: {} of {} `status` calls with the same arguments showed it, the others were fine (about 1 in {:.0})",
            rate.calls,
            rate.of,
            rate.of as f64 / rate.calls as f64
        )),
        "{text}"
    );
    let until = rate.reproduce_until.as_deref().expect("a repeat line");
    assert!(
        until.starts_with(&format!("for i in $(seq 1 {tries}); do execnet call ")),
        "{until}"
    );
    assert!(text.contains(until), "{text}");
}

/// A JSON report with its wall times zeroed (they differ from run to run).
fn without_durations(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if k == "duration_ms" {
                        (k, 0.into())
                    } else {
                        (k, without_durations(v))
                    }
                })
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(without_durations).collect())
        }
        v => v,
    }
}

/// Run `certify` with `args` plus `--output json=PATH`; its JSON report and exit code.
fn certify_json(args: &[&str], path: &std::path::Path) -> (serde_json::Value, i32) {
    let out = util::execnet()
        .args(["certify", "--progress", "never"])
        .args(args)
        .arg("--output")
        .arg(format!("json={}", path.display()))
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(code < 2, "{}", String::from_utf8_lossy(&out.stderr));
    let v = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    (v, code)
}

/// `execnet report merge FILES`: the merged JSON (`--json`) and exit code.
fn merge_json(files: &[std::path::PathBuf]) -> (serde_json::Value, i32) {
    let out = util::execnet()
        .args(["report", "merge", "--json"])
        .args(files)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(code < 2, "{}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_slice(&out.stdout).unwrap(), code)
}

/// `execnet report merge FILES --output junit=OUT`: the merged JUnit document.
fn merge_junit(files: &[std::path::PathBuf], out: &std::path::Path) -> String {
    let run = util::execnet()
        .args(["report", "merge"])
        .args(files)
        .arg("--output")
        .arg(format!("junit={}", out.display()))
        .output()
        .unwrap();
    assert!(
        run.status.code().unwrap() < 2,
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

/// A JUnit document with every `time="…"` attribute (wall times) set to 0.
fn without_times(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(" time=\"") {
        out.push_str(&rest[..i]);
        out.push_str(" time=\"0\"");
        let after = &rest[i + 7..];
        rest = &after[after.find('"').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

/// `--partition 1/3 … 3/3` of the bundled plugin, merged, is the unsharded report
/// (wall times aside), verdict and exit code included.
#[test]
fn partitioned_runs_merge_into_the_unsharded_report() {
    let tmp = tempfile::TempDir::new().unwrap();
    let focus = "init/*,status-json/*,lifecycle/*,crash-restart/*";
    let base = ["--focus", focus, "--jobs", "1"];
    let whole_xml = tmp.path().join("whole.xml");
    let junit_arg = format!("junit={}", whole_xml.display());
    let mut whole_args = base.to_vec();
    whole_args.extend(["--output", &junit_arg]);
    let (whole, whole_code) = certify_json(&whole_args, &tmp.path().join("whole.json"));
    let mut files = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let path = tmp.path().join(format!("shard-{k}.json"));
        let part = format!("{k}/3");
        let mut args = base.to_vec();
        args.extend(["--partition", &part]);
        let (shard, _) = certify_json(&args, &path);
        sizes.push(shard["checks"].as_array().unwrap().len());
        files.push(path);
    }
    assert!(
        sizes.iter().all(|&n| n > 0),
        "every shard judges checks: {sizes:?}"
    );
    assert_eq!(
        sizes.iter().sum::<usize>(),
        whole["checks"].as_array().unwrap().len()
    );
    let (merged, code) = merge_json(&files);
    assert_eq!(code, whole_code);
    assert_eq!(without_durations(merged), without_durations(whole));
    // The merged JUnit is the unsharded run's (wall times aside).
    let whole_xml = std::fs::read_to_string(&whole_xml).unwrap();
    let merged_xml = merge_junit(&files, &tmp.path().join("merged.xml"));
    assert!(
        whole_xml.contains("<testcase name=\"init/selection\""),
        "{whole_xml}"
    );
    assert_eq!(without_times(&merged_xml), without_times(&whole_xml));
    // A check in two shards (the same shard twice) is refused.
    util::execnet()
        .args(["report", "merge"])
        .args([&files[0], &files[0]])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("in two reports"));
}

/// The same with findings: causes that span checks of different shards are joined by their
/// key and numbered as the unsharded run numbers them; the plugin's state is cleared between
/// runs (it carries over otherwise).
#[test]
fn partitioned_runs_with_failures_merge_their_causes() {
    let plugins = util::sample_plugins();
    let clear = || {
        for e in std::fs::read_dir(plugins.path()).unwrap().flatten() {
            let _ = std::fs::remove_dir_all(e.path().join("state"));
        }
    };
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = plugins.path().display().to_string();
    let base = [
        "--plugin-dir",
        &dir,
        "--plugin",
        "stderr-noise",
        "--timeout",
        "10s",
        "--jobs",
        "1",
        // Checks of one scenario, so that the shards are quick; the two that share the cause
        // of status's stderr line fall in different shards (every second check).
        "--focus",
        "init/selection,status-json/ip-present,status-json/kind-version,lifecycle/setup-status-teardown,output/single-document",
    ];
    let whole_xml = tmp.path().join("whole.xml");
    let junit_arg = format!("junit={}", whole_xml.display());
    let mut whole_args = base.to_vec();
    whole_args.extend(["--output", &junit_arg]);
    let (whole, whole_code) = certify_json(&whole_args, &tmp.path().join("whole.json"));
    assert_eq!(whole_code, 1);
    let spans = whole["causes"].as_array().unwrap().iter().any(|c| {
        let checks = c["checks"].as_array().unwrap();
        checks.contains(&"lifecycle/setup-status-teardown".into())
            && checks.contains(&"output/single-document".into())
    });
    assert!(spans, "a cause spans the two shards: {whole}");
    let mut files = Vec::new();
    for k in 1..=2 {
        clear();
        let path = tmp.path().join(format!("shard-{k}.json"));
        let part = format!("{k}/2");
        let mut args = base.to_vec();
        args.extend(["--partition", &part]);
        certify_json(&args, &path);
        files.push(path);
    }
    let (merged, code) = merge_json(&files);
    assert_eq!(code, 1);
    assert_eq!(without_durations(merged), without_durations(whole));
    // The merged JUnit is the unsharded run's (wall times aside), failures and their first
    // findings included.
    let whole_xml = std::fs::read_to_string(&whole_xml).unwrap();
    let merged_xml = merge_junit(&files, &tmp.path().join("merged.xml"));
    assert!(
        whole_xml.contains("<failure") && whole_xml.contains("first finding:"),
        "{whole_xml}"
    );
    assert_eq!(without_times(&merged_xml), without_times(&whole_xml));
    // Text and HTML are not rendered from shards; an unsharded report has no JUnit data.
    util::execnet()
        .args(["report", "merge"])
        .args(&files)
        .arg("--output")
        .arg(format!("html={}", tmp.path().join("m.html").display()))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "report merge writes json and junit",
        ));
    util::execnet()
        .args(["report", "merge"])
        .arg(tmp.path().join("whole.json"))
        .arg("--output")
        .arg(format!("junit={}", tmp.path().join("m.xml").display()))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("render data"));
}

/// A plugin that exits 1 on `status` for an ID it has not set up. Under 1.5 the relist
/// may ask before the pod worker's setup (a seeded interleaving the suite's scenarios pick with
/// the default seed): `status-json/before-setup` finds it, at `should` (the kubelet only logged
/// it: docs/kubelet.md §3.2), and nothing else blames the plugin for those calls. Under 1.1 status never
/// comes before setup: the check does not apply.
#[test]
fn status_before_setup_is_judged_per_release() {
    use std::os::unix::fs::PermissionsExt;
    let plugins = util::sample_plugins();
    let dir = plugins.path().join("strict");
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let exe = dir.join("strict");
    std::fs::write(
        &exe,
        r#"#!/bin/sh
state="$(dirname "$0")/state"
case "$1" in
  setup) touch "$state/$4" ;;
  teardown) rm -f "$state/$4" ;;
  status)
    [ -e "$state/$4" ] || { echo "unknown container $4" >&2; exit 1; }
    echo '{"kind": "PodNetworkStatus", "apiVersion": "v1beta1", "ip": "10.1.2.3"}' ;;
esac
exit 0
"#,
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run_focus = |profile: &str| {
        let opts = CertifyOptions {
            profile: Profile::by_name(profile).expect("profile"),
            focus: vec!["status-json/not-set-up".into(), "exit-code/success".into()],
            timeout: Some(Duration::from_secs(10)),
            ..CertifyOptions::default()
        };
        certify::certify(Some((plugins.path(), "strict")), &opts, &mut |_| {}).expect("certify")
    };
    let outcome = |r: &Report, id: &str| {
        r.checks
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.outcome, c.judged))
            .unwrap_or_else(|| panic!("{id} missing: {}", explain(r)))
    };
    let r15 = run_focus("1.5");
    let (o, judged) = outcome(&r15, "status-json/not-set-up");
    assert_eq!(o, Outcome::Warn, "{}", explain(&r15));
    assert!(judged > 0, "{}", explain(&r15));
    assert_eq!(
        outcome(&r15, "exit-code/success").0,
        Outcome::Pass,
        "a status before setup is not a lifecycle failure: {}",
        explain(&r15)
    );
    for profile in ["1.2", "1.4"] {
        let r = run_focus(profile);
        assert_eq!(
            outcome(&r, "status-json/not-set-up").0,
            Outcome::Warn,
            "{profile}: {}",
            explain(&r)
        );
    }
    let r11 = run_focus("1.1");
    let (o, _) = outcome(&r11, "status-json/not-set-up");
    assert_eq!(o, Outcome::Skip, "{}", explain(&r11));
    assert_eq!(
        outcome(&r11, "exit-code/success").0,
        Outcome::Pass,
        "{}",
        explain(&r11)
    );
}

/// Releases whose model inputs compare equal share a run: `--kubelet 1.2,1.3,1.4` replays 1.2
/// and 1.4 and judges 1.2's transcripts under 1.3 (its notes say so, its outcomes are 1.2's);
/// 1.4 differs in its inputs and is replayed. Partitioned by release, 1.2 and 1.3 stay in one
/// shard, so the merged report is the unsharded one.
#[test]
fn releases_with_equal_model_inputs_share_a_run_also_when_partitioned() {
    let tmp = tempfile::TempDir::new().unwrap();
    // Checks of one scenario (basic-lifecycle): three releases stay quick.
    let base = [
        "--kubelet",
        "1.2,1.3,1.4",
        "--jobs",
        "1",
        "--focus",
        "init/selection,status-json/ip-present,lifecycle/setup-status-teardown",
    ];
    let whole_xml = tmp.path().join("whole.xml");
    let junit_arg = format!("junit={}", whole_xml.display());
    let mut whole_args = base.to_vec();
    whole_args.extend(["--output", &junit_arg]);
    let (whole, whole_code) = certify_json(&whole_args, &tmp.path().join("whole.json"));
    let releases = whole["releases"].as_array().unwrap();
    let shared = |r: &serde_json::Value| {
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str())
            .find(|n| n.starts_with(certify::run::SHARED_NOTE))
            .map(str::to_string)
    };
    let names: Vec<&str> = releases
        .iter()
        .map(|r| r["kubelet"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["1.2", "1.3", "1.4"]);
    assert_eq!(shared(&releases[0]), None);
    let note = shared(&releases[1]).expect("1.3 shares 1.2's run");
    assert!(note.starts_with("shared run with kubelet 1.2:"), "{note}");
    assert_eq!(shared(&releases[2]), None, "1.4 is replayed");
    let outcomes = |r: &serde_json::Value| -> Vec<(String, String, u64)> {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_string(),
                    c["outcome"].as_str().unwrap().to_string(),
                    c["judged"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(outcomes(&releases[0]), outcomes(&releases[1]));
    assert!(outcomes(&releases[1]).iter().all(|(_, _, n)| *n > 0));
    let mut files = Vec::new();
    for k in 1..=2 {
        let path = tmp.path().join(format!("shard-{k}.json"));
        let part = format!("{k}/2");
        let mut args = base.to_vec();
        args.extend(["--partition", &part]);
        let (shard, _) = certify_json(&args, &path);
        let ran: Vec<&str> = match shard["releases"].as_array() {
            Some(rs) => rs.iter().map(|r| r["kubelet"].as_str().unwrap()).collect(),
            None => vec![shard["kubelet"].as_str().unwrap()],
        };
        assert_eq!(
            ran,
            if k == 1 {
                vec!["1.2", "1.3"]
            } else {
                vec!["1.4"]
            }
        );
        files.push(path);
    }
    let (merged, code) = merge_json(&files);
    assert_eq!(code, whole_code);
    assert_eq!(without_durations(merged), without_durations(whole));
    // The merged JUnit (a suite per release, the matrix line) is the unsharded run's.
    let whole_xml = std::fs::read_to_string(&whole_xml).unwrap();
    let merged_xml = merge_junit(&files, &tmp.path().join("merged.xml"));
    assert_eq!(whole_xml.matches("<testsuite ").count(), 3, "{whole_xml}");
    assert!(whole_xml.contains("execnet.matrix"), "{whole_xml}");
    assert_eq!(without_times(&merged_xml), without_times(&whole_xml));
}

/// `--repeat N` holds one repetition's transcripts at a time: the report keeps the first
/// repetition's and, of the later ones, at most one per scenario that a finding names, so that
/// what a run holds does not grow with N. Structural, not RSS: the
/// transcripts kept are counted. A plugin whose setup always fails has findings in every
/// repetition (two transcripts per scenario kept, however many repetitions); one that works,
/// none (one per scenario). The rates still count every repetition's calls.
#[test]
fn repeat_keeps_a_bounded_number_of_transcripts() {
    let dir = tempfile::TempDir::new().unwrap();
    util::write_plugin(
        dir.path(),
        "fine",
        "fine",
        r#"#!/bin/sh
[ "$1" = status ] && echo '{"kind":"PodNetworkStatus","apiVersion":"v1beta1","ip":"10.9.0.2"}'
exit 0
"#,
    );
    util::write_plugin(
        dir.path(),
        "setup-fails",
        "setup-fails",
        r#"#!/bin/sh
[ "$1" = setup ] && { echo "setup fails"; exit 1; }
[ "$1" = status ] && echo '{"kind":"PodNetworkStatus","apiVersion":"v1beta1","ip":"10.9.0.2"}'
exit 0
"#,
    );
    let run = |plugin: &str, repeat: usize| {
        let opts = CertifyOptions {
            focus: vec!["fds/stdio-only".into()],
            repeat,
            timeout: Some(Duration::from_secs(10)),
            ..CertifyOptions::default()
        };
        certify::certify(Some((dir.path(), plugin)), &opts, &mut |_| {}).unwrap()
    };
    let per_seed = |r: &Report| {
        let mut m: std::collections::BTreeMap<u64, usize> = Default::default();
        for t in &r.transcripts {
            *m.entry(t.seed).or_default() += 1;
        }
        m
    };
    let one = run("fine", 1);
    let four = run("fine", 4);
    assert_eq!(four.seeds, [0, 1, 2, 3]);
    assert!(!one.scenarios.is_empty());
    assert_eq!(one.transcripts.len(), one.scenarios.len());
    assert_eq!(per_seed(&four), [(0, four.scenarios.len())].into());
    let failing = run("setup-fails", 4);
    assert_eq!(
        failing.check("fds/stdio-only").unwrap().outcome,
        Outcome::Fail,
        "{}",
        explain(&failing)
    );
    let n = failing.scenarios.len();
    assert_eq!(per_seed(&failing), [(0, n), (1, n)].into());
    // The failed setup's rate counts the calls of all four repetitions, not only those kept.
    let rate = failing
        .causes
        .iter()
        .find_map(|c| c.rate.as_ref().filter(|r| r.action == "setup"))
        .unwrap_or_else(|| panic!("no setup cause with a rate: {}", explain(&failing)));
    assert_eq!(rate.calls, rate.of);
    assert!(rate.calls >= 1, "{rate:?}");
}
