//! Certification end to end: every gallery plugin fails exactly the checks it is meant to, the
//! reference plugin passes under every profile, reports (text, JSON, JUnit) and exit codes.

use std::collections::BTreeSet;
use std::time::Duration;

use execnet::certify::{self, CATALOGUE, CertifyOptions, Outcome, Report, Verdict};
use execnet::kubelet::Profile;
use predicates::prelude::*;
use rstest::rstest;

use crate::util;

fn run(plugin: &str, profile: &str) -> Report {
    let plugins = util::sample_plugins();
    let opts = CertifyOptions {
        profile: Profile::by_name(profile).expect("profile"),
        timeout: Some(Duration::from_secs(2)),
        ..CertifyOptions::default()
    };
    certify::certify(Some((plugins.path(), plugin)), &opts, &mut |_| {}).expect("certify runs")
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
#[case::stderr_noise("stderr-noise", Verdict::Fail, &["status-json/parses", "lifecycle/setup-status-teardown"], &["output/single-document"])]
#[case::wrong_kind("wrong-kind", Verdict::Fail, &["status-json/parses", "lifecycle/setup-status-teardown"], &[])]
#[case::bad_apiversion("bad-apiversion", Verdict::Fail, &["status-json/parses", "lifecycle/setup-status-teardown"], &[])]
#[case::invalid_ip("invalid-ip", Verdict::Fail, &["status-json/parses", "lifecycle/setup-status-teardown"], &[])]
#[case::status_fails("status-fails", Verdict::Fail, &["args/long-names", "exit-code/success", "fds/stdio-only", "lifecycle/setup-status-teardown"], &[])]
#[case::no_reclaim("no-reclaim", Verdict::Fail, &["crash-restart/reclaim"], &[])]
#[case::no_lock("no-lock", Verdict::Fail, &["concurrency/parallel-setup"], &[])]
#[case::hang_teardown("hang-teardown", Verdict::Fail, &["lifecycle/setup-status-teardown", "timeout/within-limit"], &["idempotence/repeated-teardown"])]
#[case::daemon_stdout("daemon-stdout", Verdict::Fail, &["leak/output-pipe", "leak/process-group"], &[])]
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
    let explain = || {
        report
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn))
            .map(|c| format!("{} {}: {}", c.outcome.as_str(), c.id, c.evidence))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        ids(&report, Outcome::Fail),
        fails.iter().copied().collect(),
        "{}",
        explain()
    );
    assert_eq!(
        ids(&report, Outcome::Warn),
        warns.iter().copied().collect(),
        "{}",
        explain()
    );
    assert_eq!(report.verdict, verdict);
    // A failed check's evidence names what was wrong.
    for c in report.checks.iter().filter(|c| c.outcome == Outcome::Fail) {
        assert!(!c.evidence.is_empty(), "{} failed without evidence", c.id);
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
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(ids(&report, Outcome::Fail), BTreeSet::new());
    assert_eq!(ids(&report, Outcome::Warn), BTreeSet::new());
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
    assert_eq!(swapped.outcome, expected, "{}", swapped.evidence);
}

#[test]
fn empty_ip_is_only_a_warning_under_the_documented_contract() {
    let report = run("empty-ip", "documented");
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "status-json/ip-present")
        .unwrap();
    assert_eq!(check.outcome, Outcome::Warn, "{}", check.evidence);
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
    assert_eq!(ids(&report, Outcome::Skip).len(), CATALOGUE.len() - 1);
}

/// Snapshot-friendly: timings replaced (the p99 evidence and durations vary run to run).
fn redacted_json(report: &Report) -> String {
    let mut v = serde_json::to_value(report).unwrap();
    v["duration_ms"] = 0.into();
    for c in v["checks"].as_array_mut().unwrap() {
        if c["id"] == "timeout/p99" {
            c["evidence"] = "[p99 timings]".into();
        }
    }
    serde_json::to_string_pretty(&v).unwrap()
}

fn redacted_text(report: &Report) -> String {
    let mut r = report.clone();
    r.duration_ms = 0.0;
    for c in &mut r.checks {
        if c.id == "timeout/p99" {
            c.evidence = "[p99 timings]".into();
        }
    }
    execnet::report::text::render(&r, false)
}

#[rstest]
#[case("reference")]
#[case("stderr-noise")]
#[case("no-reclaim")]
fn report_snapshots(#[case] plugin: &str) {
    let report = run(plugin, "1.5");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("certify__{plugin}__text"), redacted_text(&report));
        insta::assert_snapshot!(format!("certify__{plugin}__json"), redacted_json(&report));
    });
}

#[test]
fn junit_is_valid_xml_with_one_testcase_per_check() {
    let report = run("no-reclaim", "1.5");
    let xml = execnet::report::junit::render(&report);
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), CATALOGUE.len());
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute("name"), Some("crash-restart/reclaim"));
    assert_eq!(failed[0].attribute("classname"), Some("crash-restart"));
    let failure = failed[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let text = failure.text().unwrap_or("");
    assert!(
        text.contains("fresh address"),
        "evidence in the failure: {text:?}"
    );
    let skipped = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
        .count();
    assert_eq!(skipped, 1, "args/swapped-status is skipped under 1.5");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("failures"), Some("1"));
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
