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
    run_lanes(plugins, plugin, profile, None)
}

/// [`run_in`] with `lanes` scenarios at once (`None`: the default).
fn run_lanes(
    plugins: &tempfile::TempDir,
    plugin: &str,
    profile: &str,
    lanes: Option<usize>,
) -> Report {
    let opts = CertifyOptions {
        lanes,
        profile: Profile::by_name(profile).expect("profile"),
        // Generous: on a loaded 2-core machine a good call can take seconds, and a timed-out call
        // fails checks (and shortens later calls). Hung plugins cost one timeout per action.
        timeout: Some(Duration::from_secs(10)),
        ..CertifyOptions::default()
    };
    certify::certify(Some((plugins.path(), plugin)), &opts, &mut |_| {}).expect("certify runs")
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

/// For every gallery plugin: the verdict, exactly the checks that fail, exactly the warnings.
/// A fault in setup also fails the checks that need a set-up pod; those are listed too.
#[rstest]
#[case::stderr_noise("stderr-noise", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &["status-json/not-set-up", "output/single-document"])]
#[case::wrong_kind("wrong-kind", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::bad_apiversion("bad-apiversion", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::invalid_ip("invalid-ip", Verdict::Fail, &["status-json/parses", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &[])]
#[case::status_fails("status-fails", Verdict::Fail, &["args/long-names", "exit-code/success", "fds/stdio-only", "status-json/no-status-error-for-live-pod", "lifecycle/setup-status-teardown"], &["status-json/not-set-up"])]
#[case::no_reclaim("no-reclaim", Verdict::Fail, &["crash-restart/reclaim"], &[])]
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
        ids(&report, Outcome::Warn),
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
    assert_eq!(ids(&report, Outcome::Warn), BTreeSet::new());
    assert!(report.causes.is_empty());
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
    // do not depend on which scenarios ran side by side.
    let report = run_lanes(&plugins, plugin, "1.5", Some(1));
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

/// Issue 10 item 7: JUnit as CI systems read it, validated against their schema.
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
            "no-reclaim",
            "--timeout",
            "5s",
            "--format",
            "junit",
            "--output",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL crash-restart/reclaim"));
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
    // JSON on stdout per SPEC 5.
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

/// Issue 9: a check that judged nothing never passes. A plugin whose status always prints
/// nothing (the kubelet falls back to the runtime's IP) gives no pod IP to judge: the IP checks
/// are skipped as "no evidence", and since they are `must` checks the verdict is inconclusive
/// (exit 1), never PASS.
#[test]
fn a_must_check_without_evidence_makes_the_verdict_inconclusive() {
    let dir = util::bash_plugin("silent", "exit 0");
    let opts = CertifyOptions {
        timeout: Some(Duration::from_secs(5)),
        ..CertifyOptions::default()
    };
    let report = certify::certify(Some((dir.path(), "silent")), &opts, &mut |_| {}).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{}",
        explain(&report)
    );
    assert_eq!(
        ids(&report, Outcome::Fail),
        BTreeSet::new(),
        "{}",
        explain(&report)
    );
    let no_evidence: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| c.leaves_inconclusive())
        .map(|c| c.id)
        .collect();
    assert_eq!(
        no_evidence,
        [
            "status-json/ip-valid",
            "lifecycle/stable-ip",
            "lifecycle/distinct-ips",
            "crash-restart/reclaim",
        ]
        .into_iter()
        .collect(),
        "{}",
        explain(&report)
    );
    for id in &no_evidence {
        let c = report.check(id).unwrap();
        assert_eq!(c.judged, 0);
        assert!(!c.summary.is_empty(), "{id} skipped without a reason");
    }
    // The status calls themselves were judged: they printed nothing, which the kubelet allows.
    let present = report.check("status-json/ip-present").unwrap();
    assert_eq!(present.outcome, Outcome::Pass, "{}", explain(&report));
    assert!(present.judged > 0);
    // The CLI: exit 1, "inconclusive" in JSON, INCONCLUSIVE in text.
    let out = util::execnet()
        .args([
            "certify",
            "--format",
            "json",
            "--timeout",
            "5s",
            "--plugin-dir",
        ])
        .arg(dir.path())
        .args(["--plugin", "silent"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["verdict"], "inconclusive");
    let reclaim = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "crash-restart/reclaim")
        .unwrap();
    assert_eq!(reclaim["outcome"], "skip");
    assert_eq!(reclaim["judged"], 0);
    assert_eq!(reclaim["skip_reason"], "no-evidence");
    let text = execnet::report::text::render(&report, false);
    assert!(text.contains("verdict: INCONCLUSIVE"), "{text}");
}

/// Run a reproduce argv as printed (`execnet …`), with the `execnet` under test.
fn run_reproduce(argv: &[String]) -> std::process::Output {
    assert_eq!(argv[0], "execnet");
    std::process::Command::new(util::execnet_path())
        .args(&argv[1..])
        .output()
        .expect("execnet runs")
}

/// Issue 10 item 2: every finding's reproduce lines, run as printed, show the same failure.
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

/// Issue 10's vendor case: a Python plugin that logs to stderr and dies with a long traceback
/// in status. The report's first screen names the cause and shows the exception line (the
/// output's tail), not only the traceback's head.
#[test]
fn a_python_traceback_shows_its_exception_on_the_first_screen() {
    let body = r#"#!/usr/bin/env python3
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

/// Issue 10 item 6: `--repeat N` replays with N seeds; a check that passed with one and failed
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

/// Issue 10 item 8: `--list --format json` is JSON (only the selection), and a `--focus` near
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
/// lines still run as printed. A 1 ms timeout makes its init fail (it cannot start in time).
#[test]
fn bundled_plugin_reproduce_lines_run_without_a_plugin_dir() {
    let opts = CertifyOptions {
        focus: vec!["init/selection".into()],
        timeout: Some(Duration::from_millis(1)),
        ..CertifyOptions::default()
    };
    let report = certify::certify(None, &opts, &mut |_| {}).unwrap();
    let check = report.check("init/selection").unwrap();
    assert_eq!(check.outcome, Outcome::Fail, "{check:?}");
    let finding = check
        .findings
        .iter()
        .find(|f| f.call.is_some())
        .expect("a call finding");
    let r = finding.reproduce.as_ref().unwrap();
    let call = r.call.as_ref().unwrap();
    assert!(
        !call.iter().any(|a| a.starts_with("--plugin")),
        "no plugin dir for the bundled plugin: {call:?}"
    );
    assert!(!r.replay.iter().any(|a| a.starts_with("--plugin")), "{r:?}");
    let out = run_reproduce(call);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("timed out"),
        "{out:?}"
    );
    let out = run_reproduce(&r.replay);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("timed out"),
        "{out:?}"
    );
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

/// Issue 23: a plugin that exits 1 on `status` for an ID it has not set up. Under 1.5 the relist
/// may ask before the pod worker's setup (a seeded interleaving the suite's scenarios pick with
/// the default seed): `status-json/before-setup` finds it, at `should` (the kubelet only logged
/// it: SPEC 3.2), and nothing else blames the plugin for those calls. Under 1.1 status never
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
