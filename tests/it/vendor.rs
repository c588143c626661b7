//! Plugins written the way vendors wrote them (shell, Python 3; `tests/data/vendor-plugins/`,
//! and variants generated here), each judged as the kubelet release would have judged it: a
//! correct plugin never FAILs, a buggy one FAILs on evidence that names its bug.

use std::path::{Path, PathBuf};
use std::time::Duration;

use execnet::certify::{self, CertifyOptions, Level, Outcome, Report, SkipKind, Verdict};
use execnet::kubelet::Profile;
use execnet::report::json::evidence_text;
use tempfile::TempDir;

use crate::util;

/// A temp copy of `tests/data/vendor-plugins/` (plugins keep state beside themselves).
fn vendor_plugins() -> TempDir {
    let tmp = TempDir::new().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vendor-plugins");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(tmp.path())
        .status()
        .expect("cp");
    assert!(status.success(), "copying vendor-plugins failed");
    tmp
}

fn certify_with(
    dir: &Path,
    plugin: &str,
    profile: &str,
    edit: impl FnOnce(&mut CertifyOptions),
) -> Report {
    let mut opts = CertifyOptions {
        profile: Profile::by_name(profile).expect("profile"),
        // Generous: on a loaded machine a Python call can take seconds.
        timeout: Some(Duration::from_secs(20)),
        ..CertifyOptions::default()
    };
    edit(&mut opts);
    certify::certify(Some((dir, plugin)), &opts, &mut |_| {}).expect("certify runs")
}

fn focus(globs: &[&str]) -> impl FnOnce(&mut CertifyOptions) {
    let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
    move |o| o.focus = globs
}

fn explain(report: &Report) -> String {
    report
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {} {}: {}",
                c.outcome.as_str(),
                c.level.as_str(),
                c.id,
                evidence_text(c)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn outcome(report: &Report, id: &str) -> Outcome {
    report
        .check(id)
        .unwrap_or_else(|| panic!("{id} not judged:\n{}", explain(report)))
        .outcome
}

/// Status prints nothing: the kubelet keeps the runtime's IP (docs/plugin-manager.md §2.4), and the IP checks
/// judge that address — the plugin passes, as it worked under every release.
#[test]
fn empty_status_is_judged_on_the_runtime_ip_and_passes() {
    let dir = vendor_plugins();
    let report = certify_with(dir.path(), "empty-status", "1.5", |_| {});
    assert_eq!(report.verdict, Verdict::Pass, "{}", explain(&report));
    for id in [
        "status-json/ip-valid",
        "lifecycle/stable-ip",
        "lifecycle/distinct-ips",
    ] {
        let c = report.check(id).expect(id);
        assert_eq!(c.outcome, Outcome::Pass, "{id}: {}", explain(&report));
        assert!(
            c.summary.contains("runtime's"),
            "{id} does not say whose IP it judged: {}",
            c.summary
        );
    }
    // No address of the plugin's, so nothing of the plugin's to reclaim: never inconclusive.
    let reclaim = report.check("crash-restart/reclaim").expect("reclaim");
    assert_eq!(
        reclaim.skip,
        Some(SkipKind::NotApplicable),
        "{}",
        explain(&report)
    );
}

/// A status that always exits 1 (openshift-sdn, August 2015): 1.1–1.3 only logged it, so every
/// check that sees that failure weighs it as a should (and says `should` on its WARN line);
/// 1.4+ marked the infra container unknown, so the same checks fail.
#[test]
fn a_failing_status_is_a_should_before_1_4_and_a_must_after() {
    let dir = vendor_plugins();
    let seen_by = [
        "exit-code/success",
        "lifecycle/setup-status-teardown",
        "args/long-names",
        "fds/stdio-only",
        "status-json/no-status-error-for-live-pod",
    ];
    let old = certify_with(dir.path(), "status-exit1", "1.2", |_| {});
    assert_ne!(old.verdict, Verdict::Fail, "{}", explain(&old));
    for id in seen_by {
        let c = old.check(id).expect(id);
        assert_eq!(
            c.outcome,
            Outcome::Warn,
            "{id} under 1.2: {}",
            explain(&old)
        );
        assert_eq!(c.level, Level::Should, "{id} under 1.2 shows must");
        assert!(c.warn_only.is_some(), "{id}: no reason for the should");
    }
    let text = execnet::report::text::render(&old, false);
    for line in text.lines().filter(|l| l.starts_with("WARN")) {
        assert!(
            !line.contains(" must "),
            "a WARN line shows must under 1.2: {line}"
        );
    }
    let new = certify_with(dir.path(), "status-exit1", "1.5", |_| {});
    assert_eq!(new.verdict, Verdict::Fail, "{}", explain(&new));
    for id in seen_by {
        assert_eq!(
            outcome(&new, id),
            Outcome::Fail,
            "{id} under 1.5: {}",
            explain(&new)
        );
    }
}

/// A correct IPAM that hands addresses out round robin (as CNI host-local does) is no leak: a
/// fresh address per crash is a warning that says how to decide, never a FAIL.
#[test]
fn round_robin_is_never_a_leak_without_evidence() {
    let dir = vendor_plugins();
    let report = certify_with(
        dir.path(),
        "round-robin",
        "1.5",
        focus(&["crash-restart/*"]),
    );
    assert_eq!(report.verdict, Verdict::Pass, "{}", explain(&report));
    let c = report.check("crash-restart/reclaim").expect("reclaim");
    assert_eq!(c.outcome, Outcome::Warn, "{}", explain(&report));
    let f = &c.findings[0];
    assert!(
        f.problem.contains("round robin") && f.expected.contains("--pool"),
        "{f:?}"
    );
}

/// The round-robin plugin with a /28 pool, and the same plugin that forgets to free a crashed
/// container's address: with `--pool` the pool is wrapped, and only the leak runs dry.
#[test]
fn a_declared_pool_tells_round_robin_from_a_leak() {
    let dir = vendor_plugins();
    let source = std::fs::read_to_string(dir.path().join("round-robin/round-robin")).unwrap();
    let small = source.replace(
        "PREFIX, FIRST, LAST = \"10.77.0.\", 2, 254",
        "PREFIX, FIRST, LAST = \"10.77.0.\", 1, 14",
    );
    assert_ne!(small, source, "the pool line moved");
    util::write_plugin(dir.path(), "rr-small", "rr-small", &small);
    let free_dead = "            for old in [k for k, v in pods.items() if v[\"ns\"] == ns and v[\"name\"] == name]:\n                del pods[old]\n";
    assert!(small.contains(free_dead), "the reclaim lines moved");
    util::write_plugin(
        dir.path(),
        "leaky-small",
        "leaky-small",
        &small.replace(free_dead, ""),
    );
    let pool = certify::pool::Pool::parse("10.77.0.0/28").unwrap();
    let only_wrap = |o: &mut CertifyOptions| {
        o.focus = vec!["crash-restart/reclaim".into()];
        o.pool = Some(pool);
    };
    let good = certify_with(dir.path(), "rr-small", "1.5", only_wrap);
    assert_eq!(good.verdict, Verdict::Pass, "{}", explain(&good));
    assert_eq!(
        outcome(&good, "crash-restart/reclaim"),
        Outcome::Pass,
        "{}",
        explain(&good)
    );
    let leaky = certify_with(dir.path(), "leaky-small", "1.5", only_wrap);
    assert_eq!(leaky.verdict, Verdict::Fail, "{}", explain(&leaky));
    let c = leaky.check("crash-restart/reclaim").unwrap();
    assert!(
        c.findings
            .iter()
            .any(|f| f.scenario == certify::pool::POOL_WRAP && f.problem.contains("setup failed")),
        "{}",
        explain(&leaky)
    );
}

/// An IPAM without a lock (read, pick the first free address, 50 ms of work, write): the
/// parallel setups lose each other's records, which shows as a status with no IP right after a
/// successful setup while other pods got addresses.
#[test]
fn an_unlocked_ipam_is_caught_through_the_runtime_fallback() {
    let dir = vendor_plugins();
    let report = certify_with(
        dir.path(),
        "unlocked-ipam",
        "1.5",
        focus(&["concurrency/*"]),
    );
    assert_eq!(report.verdict, Verdict::Fail, "{}", explain(&report));
    let c = report.check("concurrency/parallel-setup").unwrap();
    assert!(
        c.findings.iter().any(|f| f
            .problem
            .contains("right after setup of the same id succeeded")
            || f.problem.contains("all reported IP")),
        "{}",
        explain(&report)
    );
}

/// A teardown that ignores the namespace frees the other namespace's pod of that name: the
/// same-name scenario shows it, and `replay` of it exits 1.
#[test]
fn a_namespace_blind_teardown_fails() {
    let dir = vendor_plugins();
    let report = certify_with(
        dir.path(),
        "ns-blind-teardown",
        "1.5",
        focus(&["lifecycle/*"]),
    );
    assert_eq!(report.verdict, Verdict::Fail, "{}", explain(&report));
    assert!(
        report
            .checks
            .iter()
            .flat_map(|c| &c.findings)
            .any(|f| f.scenario == "same-name"),
        "{}",
        explain(&report)
    );
    let _ = std::fs::remove_dir_all(dir.path().join("ns-blind-teardown/state"));
    let d = dir.path().display().to_string();
    util::execnet()
        .args([
            "replay",
            "same-name",
            "--plugin-dir",
            &d,
            "--plugin",
            "ns-blind-teardown",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "this transcript fails lifecycle/",
        ));
    // The correct plugin's replay of the same scenario is exit 0.
    util::execnet()
        .args([
            "replay",
            "same-name",
            "--plugin-dir",
            &d,
            "--plugin",
            "round-robin",
        ])
        .assert()
        .code(0);
}

/// A vendor's own scenario is judged by the same checks (`--scenario FILE`).
#[test]
fn a_vendor_scenario_is_judged() {
    let dir = vendor_plugins();
    let scenarios = TempDir::new().unwrap();
    let file = scenarios.path().join("two-ns.json");
    std::fs::write(
        &file,
        r#"{"name": "vendor-two-ns", "pods": [{"namespace": "a", "name": "db"}, {"namespace": "b", "name": "db"}],
            "steps": [{"start_kubelet": {}}, {"create": ["a/db", "b/db"]}, {"sync": {"count": 1}},
                      {"delete": ["a/db"]}, {"sync": {"count": 1}}, {"crash_app": ["b/db"]},
                      {"sync": {"count": 1}}, {"delete": ["b/db"]}]}"#,
    )
    .unwrap();
    let scenario = execnet::kubelet::Scenario::load(&file).unwrap();
    let report = certify_with(dir.path(), "ns-blind-teardown", "1.5", |o| {
        o.focus = vec!["lifecycle/stable-ip".into()];
        o.vendor_scenarios = vec![scenario.clone()];
    });
    assert!(
        report.scenarios.iter().any(|s| s == "vendor-two-ns"),
        "{:?}",
        report.scenarios
    );
    assert!(
        report
            .checks
            .iter()
            .flat_map(|c| &c.findings)
            .any(|f| f.scenario == "vendor-two-ns"),
        "{}",
        explain(&report)
    );
    // A name of the suite is refused.
    let mut clash = scenario;
    clash.name = "basic-lifecycle".into();
    let err = certify::certify(
        Some((dir.path(), "round-robin")),
        &CertifyOptions {
            vendor_scenarios: vec![clash],
            ..CertifyOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("basic-lifecycle"), "{err}");
}

/// A run that judged nothing is never PASS, and says why on the first screen; JUnit has an
/// error for it.
#[test]
fn nothing_judged_is_inconclusive() {
    let dir = vendor_plugins();
    let report = certify_with(
        dir.path(),
        "round-robin",
        "1.5",
        focus(&["args/swapped-status"]),
    );
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "{}",
        explain(&report)
    );
    let text = execnet::report::text::render(&report, false);
    let head: Vec<&str> = text.lines().take(6).collect();
    assert!(
        head.iter()
            .any(|l| l.starts_with("inconclusive: no check judged anything")),
        "{text}"
    );
    let xml = execnet::report::junit::render(&report);
    assert!(
        xml.contains("<error") && xml.contains("inconclusive"),
        "{xml}"
    );
}

/// `init` that succeeds once and fails on every later start: init/restart fails on that call
/// (the cause), never a bare INCONCLUSIVE.
#[test]
fn init_failing_after_a_restart_has_a_cause() {
    let dir = TempDir::new().unwrap();
    util::write_plugin(
        dir.path(),
        "once",
        "once",
        "#!/bin/sh\nhere=$(dirname \"$0\")\nif [ \"$1\" = init ]; then\n  if [ -e \"$here/inited\" ]; then echo 'already initialised' >&2; exit 1; fi\n  : >\"$here/inited\"\nfi\nexit 0\n",
    );
    let report = certify_with(dir.path(), "once", "1.5", focus(&["init/*"]));
    assert_eq!(report.verdict, Verdict::Fail, "{}", explain(&report));
    let c = report.check("init/restart").unwrap();
    assert_eq!(c.outcome, Outcome::Fail, "{}", explain(&report));
    assert!(
        c.findings[0].call.is_some(),
        "no call to blame: {:?}",
        c.findings[0]
    );
}

/// Plugins get the kubelet's environment, not the user's: the documented PATH, no locale or
/// terminal variables unless passed, no controlling terminal, stdin /dev/null, a session of
/// their own.
#[test]
fn plugins_get_the_kubelets_environment() {
    let dir = vendor_plugins();
    let log = dir.path().join("env.log");
    let d = dir.path().display().to_string();
    util::execnet()
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("LANG", "tr_TR.UTF-8")
        .env("TERM", "xterm-256color")
        .env("TTY_LOCALE_LOG", &log)
        .args([
            "call",
            "--plugin-dir",
            &d,
            "--plugin",
            "tty-locale",
            "--pass-env",
            "TTY_LOCALE_LOG",
            "status",
            "ns",
            "p",
            util::ID,
        ])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&log).expect("the plugin logged (TTY_LOCALE_LOG passed)");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "init and status: {text}");
    for l in lines {
        assert!(l.contains(" tty=no "), "a controlling terminal: {l}");
        assert!(
            l.contains(" LC_ALL= LANG= "),
            "the user's locale leaked: {l}"
        );
        assert!(!l.contains("xterm"), "the user's terminal leaked: {l}");
        assert!(
            l.contains(&format!(" PATH={} ", execnet::plugin::policy::KUBELET_PATH)),
            "not the documented PATH: {l}"
        );
        assert!(l.contains(" stdin=/dev/null "), "{l}");
    }
    // Not passed: not there.
    std::fs::remove_file(&log).unwrap();
    util::execnet()
        .env("TTY_LOCALE_LOG", &log)
        .args([
            "call",
            "--plugin-dir",
            &d,
            "--plugin",
            "tty-locale",
            "status",
            "ns",
            "p",
            util::ID,
        ])
        .assert()
        .code(0);
    assert!(
        !log.exists(),
        "TTY_LOCALE_LOG reached the plugin without --pass-env"
    );
    // A name that is not set is execnet's error (exit 2).
    util::execnet()
        .env_remove("EXECNET_SURELY_UNSET")
        .args([
            "call",
            "--plugin-dir",
            &d,
            "--plugin",
            "tty-locale",
            "--pass-env",
            "EXECNET_SURELY_UNSET",
            "init",
        ])
        .assert()
        .code(2);
}

/// A locale the machine lacks (bash warns about it on every start when it inherits it) is the
/// user's, not the kubelet's: the bundled plugin's status still parses.
#[test]
fn a_missing_user_locale_does_not_reach_the_plugin() {
    let samples = util::sample_plugins();
    let d = samples.path().display().to_string();
    let call = |action: &str| {
        util::execnet()
            .env("LC_ALL", "tr_TR.UTF-8")
            .args([
                "call",
                "--plugin-dir",
                &d,
                "--plugin",
                "reference",
                action,
                "ns",
                "p",
                util::ID,
            ])
            .assert()
    };
    call("setup").code(0);
    call("status")
        .code(0)
        .stdout(predicates::str::contains("status: ip 10.244.0."));
    call("teardown").code(0);
}

/// The vendor plugins are where the tests find them.
#[test]
fn the_vendor_plugins_are_executable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vendor-plugins");
    for name in [
        "empty-status",
        "status-exit1",
        "round-robin",
        "unlocked-ipam",
        "ns-blind-teardown",
        "tty-locale",
    ] {
        let exe: PathBuf = root.join(name).join(name);
        assert!(
            execnet::plugin::select::is_executable(&exe),
            "{}",
            exe.display()
        );
    }
}

/// A `setup` that leaves a daemon holding the output pipe, started through a subshell that
/// exits at once (so the daemon is execnet's orphan while `setup` still runs), with scenarios
/// side by side: each leftover is charged to the `setup` that started it (its `EXECNET_CALL`
/// mark), never to a `status` or `teardown` of another scenario that ended meanwhile.
#[test]
fn a_daemon_is_blamed_on_the_setup_that_started_it_not_on_another_scenarios_call() {
    let dir = TempDir::new().expect("tempdir");
    util::write_plugin(
        dir.path(),
        "daemon-setup",
        "daemon-setup",
        r#"#!/bin/bash
case "$1" in
  setup)
    ( setsid sleep 307 & )
    sleep 0.4
    ;;
  status)
    echo '{"kind":"PodNetworkStatus","apiVersion":"v1beta1","ip":"10.9.0.'$(( RANDOM % 200 + 2 ))'"}'
    ;;
esac
exit 0
"#,
    );
    let report = certify_with(dir.path(), "daemon-setup", "1.5", |o| {
        o.focus = vec!["leak/output-pipe".into(), "leak/process-group".into()];
        o.lanes = Some(4);
    });
    let scenarios: std::collections::BTreeSet<&str> =
        report.scenarios.iter().map(String::as_str).collect();
    assert!(scenarios.len() >= 2, "one scenario only: {scenarios:?}");
    for id in ["leak/output-pipe", "leak/process-group"] {
        let c = report.check(id).expect(id);
        assert_eq!(c.outcome, Outcome::Fail, "{id}: {}", explain(&report));
        for f in &c.findings {
            let call = f.call.as_ref().expect("a finding about a call");
            assert_eq!(
                call.action, "setup",
                "{id} blames a {} of {} for a setup's daemon: {}",
                call.action, f.scenario, f.problem
            );
        }
    }
}
