//! The command-line contract (docs/cli.md §5): JSON keys, exit codes, fd hygiene through the
//! real binary, and the recorder snapshot that gates changes to how plugins are called.

use std::os::unix::process::CommandExt;
use std::process::Stdio;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{self, ID};

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

#[test]
fn call_json_has_exactly_the_contract_keys_and_go_accepts_uppercase_ip() {
    let dir = util::bash_plugin(
        "up",
        r#"[ "$1" = status ] && echo '{"IP":"10.1.2.3"}'; exit 0"#,
    );
    let out = util::execnet()
        .args(["call", "--plugin-dir"])
        .arg(dir.path())
        .args([
            "--plugin", "up", "status", "default", "web", ID, "--format", "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    for key in [
        "action",
        "argv",
        "exit_code",
        "signal",
        "error",
        "output",
        "truncated",
        "timed_out",
        "leaked",
        "duration_ms",
        "status",
    ] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["action"], "status");
    assert_eq!(
        v["argv"].as_array().unwrap()[1..],
        [
            Value::from("status"),
            "default".into(),
            "web".into(),
            ID.into()
        ]
    );
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["signal"], Value::Null);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["leaked"], false);
    assert!(v["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        v["status"],
        serde_json::json!({"kind": "status", "ip": "10.1.2.3", "message": null})
    );
}

#[test]
fn call_exit_codes() {
    let dir = util::bash_plugin(
        "p",
        r#"case $1 in setup) exit 7;; status) echo '{"kind":"Pod"}';; esac; exit 0"#,
    );
    let base = |args: &[&str]| {
        let mut c = util::execnet();
        c.args(["call", "--plugin-dir"])
            .arg(dir.path())
            .args(["--plugin"])
            .args(args);
        c
    };
    base(&["p", "init"]).assert().code(0);
    base(&["p", "teardown", "n", "p", ID]).assert().code(0);
    base(&["p", "setup", "n", "p", ID, "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"exit_code\": 7"));
    // A status the kubelet could not parse is a failed plugin call.
    base(&["p", "status", "n", "pod-x", ID])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Invalid 'kind' returned in network status for pod 'pod-x'",
        ));
    base(&["missing", "init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"missing\" not found"));
    base(&["p", "explode", "n", "p", ID])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown action 'explode'"));
    base(&["p", "setup", "n"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NAMESPACE NAME ID"));
    base(&["p", "init", "--timeout", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration 'soon'"));
    util::execnet()
        .args([
            "call",
            "--plugin-dir",
            "/nonexistent/dir",
            "--plugin",
            "p",
            "init",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/dir"));
}

#[test]
fn call_init_failure_is_reported_with_the_init_record() {
    let dir = util::bash_plugin(
        "p",
        r#"[ "$1" = init ] && { echo broken config; exit 3; }; exit 0"#,
    );
    util::execnet()
        .args(["call", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "p", "setup", "n", "p", ID])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Network plugin \"p\" failed init: exit status 3",
        ))
        .stdout(predicate::str::contains("broken config"));
}

#[test]
fn help_everywhere() {
    for sub in [&[][..], &["probe"], &["call"], &["bench"]] {
        util::execnet()
            .args(sub)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
    util::execnet().arg("frobnicate").assert().code(2);
}

#[test]
fn probe_json_lists_plugins_with_problems_and_exit_code() {
    let tmp = tempfile::TempDir::new().unwrap();
    util::write_plugin(tmp.path(), "good", "good", "#!/bin/sh\n");
    util::write_plugin(tmp.path(), ".bad", ".bad", "#!/bin/sh\n");
    std::fs::create_dir(tmp.path().join("noexe")).unwrap();
    let out = util::execnet()
        .args(["probe", "--format", "json", "--plugin-dir"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let plugins = v["plugins"].as_array().unwrap();
    let names: Vec<&str> = plugins
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [".bad", "good", "noexe"]);
    assert!(
        plugins[0]["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("network plugin has invalid name: \".bad\"")
    );
    assert_eq!(plugins[1]["problems"], serde_json::json!([]));
    assert_eq!(
        plugins[1]["executable"],
        tmp.path().join("good/good").display().to_string()
    );
    assert!(
        plugins[2]["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not have correct permissions")
    );

    let clean = util::bash_plugin("fine", "exit 0");
    util::execnet()
        .args(["probe", "--plugin-dir"])
        .arg(clean.path())
        .assert()
        .code(0);
    // A plugin dir that is not there is a bad argument (hostile round two), not "no plugins".
    util::execnet()
        .args(["probe", "--plugin-dir", "/nonexistent/x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read plugin directory /nonexistent/x",
        ));
}

/// Run `execnet call … setup` with `fd 7` open and *not* close-on-exec, inherited from here.
fn call_recorder_with_inherited_fd(
    plugins: &std::path::Path,
    record: &std::path::Path,
    via_execnet: bool,
) -> std::process::Output {
    let file = std::fs::File::open("/dev/null").unwrap();
    let mut cmd = if via_execnet {
        let mut c = std::process::Command::new(util::execnet_path());
        c.args(["call", "--no-init", "--plugin-dir"])
            .arg(plugins)
            .args(["--plugin", "recorder", "setup", "ns", "pod", ID]);
        c
    } else {
        let mut c = std::process::Command::new(plugins.join("recorder/recorder"));
        c.args(["setup", "ns", "pod", ID]);
        c
    };
    cmd.env("EXECNET_RECORD", record).stdin(Stdio::null());
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: dup2 in the child before exec; only async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn plugin_sees_only_fds_0_1_2_even_when_execnet_inherited_more() {
    let plugins = util::sample_plugins();
    let record = plugins.path().join("calls.jsonl");
    // Control: run directly, the recorder does see the inherited fd 7 (so this test can fail).
    let direct = call_recorder_with_inherited_fd(plugins.path(), &record, false);
    assert!(direct.status.success(), "{direct:?}");
    let seen = util::read_records(&record);
    assert!(
        seen[0]["fds"].get("7").is_some(),
        "control run must see fd 7: {}",
        seen[0]
    );
    std::fs::remove_file(&record).unwrap();

    let out = call_recorder_with_inherited_fd(plugins.path(), &record, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = util::read_records(&record);
    let fds: Vec<&String> = seen[0]["fds"].as_object().unwrap().keys().collect();
    assert_eq!(fds, ["0", "1", "2"], "the plugin saw {}", seen[0]["fds"]);
    assert_eq!(seen[0]["stdin"], "/dev/null");
    assert_eq!(
        seen[0]["fd1_is_fd2"], true,
        "stdout and stderr are one pipe"
    );
}

#[test]
fn recorder_snapshot_of_init_setup_status_teardown() {
    let plugins = util::sample_plugins();
    let record = plugins.path().join("calls.jsonl");
    let run = |args: &[&str]| {
        util::execnet()
            .current_dir(plugins.path())
            .env("EXECNET_RECORD", &record)
            .args(["call", "--plugin-dir"])
            .arg(plugins.path())
            .args(["--plugin", "recorder"])
            .args(args)
            .assert()
            .success();
    };
    run(&["init"]);
    run(&["setup", "--no-init", "kube-system", "dns-1", ID]);
    run(&["status", "--no-init", "kube-system", "dns-1", ID]);
    run(&["teardown", "--no-init", "kube-system", "dns-1", ID]);
    let text = std::fs::read_to_string(&record).unwrap();
    let pretty: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rendered = util::redact(
        &serde_json::to_string_pretty(&pretty).unwrap(),
        plugins.path(),
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("recorder__manager_calls", rendered));
}

#[test]
#[expect(
    clippy::zombie_processes,
    reason = "reaped with wait4 to read its rusage"
)]
fn a_100_mb_plugin_output_keeps_execnet_memory_bounded() {
    let dir = util::bash_plugin("flood", "head -c 100000000 /dev/zero");
    let mut child = std::process::Command::new(util::execnet_path())
        .args(["call", "--format", "json", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "flood", "setup", "n", "p", ID])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 reaps our own child and fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: wait4 on our own child, writing into locals we own.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid);
    let v = json(&out);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["output_bytes"], 100_000_000u64);
    assert_eq!(v["exit_code"], 0);
    // 1 MiB kept + the JSON rendering of it; 100 MB would show as ~100 000 KiB.
    assert!(
        usage.ru_maxrss < 40 * 1024,
        "peak RSS {} KiB",
        usage.ru_maxrss
    );
}

#[test]
fn bench_json_keys() {
    let dir = util::bash_plugin(
        "b",
        r#"[ "$1" = status ] && echo '{"ip":"10.0.0.1"}'; exit 0"#,
    );
    let out = util::execnet()
        .args([
            "bench",
            "--calls",
            "6",
            "--jobs",
            "2",
            "--format",
            "json",
            "--plugin-dir",
        ])
        .arg(dir.path())
        .args(["--plugin", "b"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    for key in [
        "calls",
        "jobs",
        "manager_us_per_call",
        "floor_us_per_call",
        "ratio",
        "peak_rss_kib",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["calls"], 6);
    assert_eq!(v["jobs"], 2);
    assert!(v["floor_us_per_call"].as_f64().unwrap() > 0.0);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
    // The parent's own cost: CPU time always, instructions where the machine counts them.
    for key in [
        "manager_cpu_us_per_call",
        "floor_cpu_us_per_call",
        "cpu_ratio",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    assert_eq!(v["cpu_clock"], "thread");
    assert_eq!(
        v["manager_instructions_per_call"].is_null(),
        v["instructions_scope"].is_null(),
        "{v}"
    );
    // Two jobs: the scaling rounds ran for both sides.
    for key in [
        "manager_jobs_scaling",
        "floor_jobs_scaling",
        "manager_calls_per_s_1_job",
        "manager_calls_per_s_jobs",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
}

#[test]
fn bench_one_side_has_no_ratio() {
    let dir = util::bash_plugin("b", r#"exit 0"#);
    let out = util::execnet()
        .args([
            "bench", "--calls", "3", "--side", "manager", "--format", "json",
        ])
        .args(["--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "b"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert!(v["manager_us_per_call"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["floor_us_per_call"].is_null(), "{v}");
    assert!(v["ratio"].is_null(), "{v}");
    assert_eq!(v["cpu_clock"], "process");
    assert!(v["manager_jobs_scaling"].is_null(), "{v}");
}

/// The shared options (`--kubelet`, `--timeout`, `--jobs`, `--plugin-dir/--plugin`) are parsed
/// once, by their value parsers, the same way in every subcommand: a bad value is a usage error
/// (exit 2) that names the option and the value, before any plugin or scenario is touched.
#[rstest::rstest]
#[case::certify_kubelet(&["certify", "--kubelet", "1.9"], "'--kubelet <PROFILE>'", "expected one of: 1.1, 1.2")]
#[case::replay_kubelet(&["replay", "--plugin-dir", "d", "--plugin", "p", "x.json", "--kubelet", "2.0"], "'--kubelet <PROFILE>'", "unknown kubelet profile '2.0'")]
#[case::certify_timeout(&["certify", "--timeout", "3 weeks"], "'--timeout <DUR>'", "invalid duration '3 weeks'")]
#[case::replay_timeout(&["replay", "--plugin-dir", "d", "--plugin", "p", "x.json", "--timeout", "soon"], "'--timeout <DUR>'", "invalid duration 'soon'")]
#[case::call_timeout(&["call", "--plugin-dir", "d", "--plugin", "p", "init", "--timeout", "5y"], "'--timeout <DUR>'", "unknown unit 'y'")]
#[case::certify_jobs(&["certify", "--jobs", "0"], "'--jobs <J>'", "must be at least 1")]
#[case::replay_jobs(&["replay", "--plugin-dir", "d", "--plugin", "p", "x.json", "--jobs", "many"], "'--jobs <J>'", "'many' is not a whole number")]
#[case::certify_half_target(&["certify", "--plugin", "x"], "--plugin-dir <DIR>", "required")]
#[case::bench_no_plugin(&["bench", "--plugin-dir", "d"], "--plugin <NAME>", "required")]
#[case::bench_jobs(&["bench", "--plugin-dir", "d", "--plugin", "p", "--jobs", "0"], "'--jobs <J>'", "must be at least 1")]
#[case::bench_side(&["bench", "--plugin-dir", "d", "--plugin", "p", "--side", "left"], "'--side <SIDE>'", "invalid value 'left'")]
fn shared_options_are_parsed_once_and_name_the_bad_value(
    #[case] args: &[&str],
    #[case] option: &str,
    #[case] why: &str,
) {
    let out = util::execnet()
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(option),
        "{args:?}: stderr lacks {option}:\n{stderr}"
    );
    assert!(
        stderr.contains(why),
        "{args:?}: stderr lacks {why:?}:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
}

/// A plugin nested one level too deep (`acme/podnet/podnet` instead of
/// `acme/acme`) made `probe` repeat the kubelet's "Executable 'acme' does not have correct
/// permissions", about a file that does not exist. Now it says what was expected and what is
/// there; an existing file without the x bit keeps the kubelet's own words.
#[test]
fn probe_explains_a_missing_executable_instead_of_blaming_its_permissions() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    util::write_plugin(root, "acme/podnet", "podnet", "#!/bin/sh\nexit 0\n");
    std::fs::create_dir(root.join("bare")).unwrap();
    std::fs::create_dir(root.join("misnamed")).unwrap();
    std::fs::write(root.join("misnamed/plugin.sh"), "#!/bin/sh\n").unwrap();
    std::fs::create_dir(root.join("noexec")).unwrap();
    std::fs::write(root.join("noexec/noexec"), "#!/bin/sh\n").unwrap();
    let out = util::execnet()
        .args(["probe", "--format", "json", "--plugin-dir"])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    let problems = |name: &str| -> String {
        let p = v["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} not probed: {v}"));
        let list = p["problems"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{name}: {list:?}");
        list[0].as_str().unwrap().to_string()
    };
    assert_eq!(
        problems("acme"),
        "acme/acme not found; found acme/podnet/podnet: did you mean a plugin directory \
         `podnet`? (the kubelet said: Invalid exec plugin. Executable 'acme' does not have \
         correct permissions.)"
    );
    assert!(
        problems("bare").starts_with("bare/bare not found; bare/ holds no file"),
        "{}",
        problems("bare")
    );
    assert!(
        problems("misnamed").starts_with(
            "misnamed/misnamed not found; found misnamed/plugin.sh: the kubelet runs \
             PLUGIN_DIR/misnamed/misnamed"
        ),
        "{}",
        problems("misnamed")
    );
    // The file is there: the kubelet's message is right, and is kept word for word.
    assert_eq!(
        problems("noexec"),
        "Invalid exec plugin. Executable 'noexec' does not have correct permissions."
    );
    // The text form and `call` say the same.
    util::execnet()
        .args(["probe", "--plugin-dir"])
        .arg(root)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "acme/acme not found; found acme/podnet/podnet: did you mean a plugin directory `podnet`?",
        ));
    util::execnet()
        .args(["call", "--plugin", "acme", "init", "--plugin-dir"])
        .arg(root)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "execnet: acme/acme not found; found acme/podnet/podnet",
        ))
        .stderr(predicate::str::contains("is not executable").not());
}

/// A plugin directory whose plugin `p` leaves a mark when it is called at all, and the mark's
/// path: a refused `--output` must be refused before any plugin runs.
fn marking_plugin() -> (tempfile::TempDir, std::path::PathBuf) {
    let marks = tempfile::TempDir::new().unwrap();
    let mark = marks.path().join("called");
    let dir = util::bash_plugin("p", &format!("touch '{}'", mark.display()));
    // The marks directory lives as long as the plugin directory's test.
    std::mem::forget(marks);
    (dir, mark)
}

/// `certify` of the marking plugin with `--output OUT`: exit 2, the message, and no call made.
fn refused_before_the_run(out: &std::ffi::OsStr, message: &str) {
    let (dir, mark) = marking_plugin();
    let assert = util::execnet()
        .args(["certify", "--progress", "never", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "p", "--output"])
        .arg(out)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
    assert!(
        !mark.exists(),
        "the plugin ran although --output {out:?} was refused: {:?}",
        assert.get_output()
    );
}

/// `--output` is checked fully before the run — a dangling symlink, `/dev/full`, a
/// FIFO with no reader (which must not block) — so nothing fails after the whole run.
#[test]
fn output_is_checked_fully_before_the_run() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dangling = tmp.path().join("dangling.json");
    std::os::unix::fs::symlink(tmp.path().join("no/such/file"), &dangling).unwrap();
    refused_before_the_run(dangling.as_os_str(), "dangling");
    let looped = tmp.path().join("loop");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    refused_before_the_run(looped.as_os_str(), "--output");
    refused_before_the_run("/dev/full".as_ref(), "/dev/full");
    let fifo = tmp.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    refused_before_the_run(fifo.as_os_str(), "no reader");
    // The same forms with FORMAT=PATH.
    let mut json_full = std::ffi::OsString::from("json=");
    json_full.push("/dev/full");
    refused_before_the_run(&json_full, "/dev/full");
}

/// `/dev/tty` without a controlling terminal fails before the run (in a new
/// session, as under CI), not after it.
#[test]
fn output_to_dev_tty_without_a_terminal_fails_before_the_run() {
    let (dir, mark) = marking_plugin();
    let out = std::process::Command::new("setsid")
        .arg("-w")
        .arg(util::execnet_path())
        .args(["certify", "--progress", "never", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "p", "--output", "/dev/tty"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--output /dev/tty"), "{stderr}");
    assert!(!mark.exists(), "the plugin ran: {stderr}");
}

/// `--output` never names a path inside the plugin directory — the plugin's own
/// executable, a new file there, or a symlink elsewhere that points into it.
#[test]
fn output_never_lands_in_the_plugin_directory() {
    let (dir, mark) = marking_plugin();
    let exe = dir.path().join("p/p");
    let before = std::fs::read(&exe).unwrap();
    for out in [
        exe.clone(),
        dir.path().join("report.json"),
        dir.path().join("p/../p/new.xml"),
    ] {
        util::execnet()
            .args(["certify", "--progress", "never", "--plugin-dir"])
            .arg(dir.path())
            .args(["--plugin", "p", "--format", "json", "--output"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("inside the plugin directory"));
    }
    let elsewhere = tempfile::TempDir::new().unwrap();
    let link = elsewhere.path().join("report.html");
    std::os::unix::fs::symlink(&exe, &link).unwrap();
    let mut arg = std::ffi::OsString::from("html=");
    arg.push(&link);
    util::execnet()
        .args(["certify", "--progress", "never", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "p", "--output"])
        .arg(&arg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the plugin directory"));
    util::execnet()
        .args(["certify", "--progress", "never", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "p", "--report-dir"])
        .arg(dir.path().join("reports"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the plugin directory"));
    assert!(!dir.path().join("reports").exists());
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        before,
        "the executable changed"
    );
    assert!(!mark.exists());
}

/// A FIFO with a reader is written through the descriptor opened before the run.
#[test]
fn output_to_a_fifo_with_a_reader_arrives_whole() {
    let tmp = tempfile::TempDir::new().unwrap();
    let fifo = tmp.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = util::fifo_reader(&fifo);
    let mut arg = std::ffi::OsString::from("json=");
    arg.push(&fifo);
    util::execnet()
        .args([
            "certify",
            "--progress",
            "never",
            "--focus",
            "init/selection",
            "--output",
        ])
        .arg(&arg)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("verdict: PASS"));
    let text = reader.join().unwrap();
    let v: Value = serde_json::from_str(&text).expect("the whole JSON report");
    assert_eq!(v["verdict"], "pass");
}

/// `--output` forms that are usage errors: two plain files, a format with no path.
#[test]
fn output_usage_errors() {
    let tmp = tempfile::TempDir::new().unwrap();
    util::execnet()
        .args(["certify", "--output"])
        .arg(tmp.path().join("a"))
        .arg("--output")
        .arg(tmp.path().join("b"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("more than one FILE"));
    util::execnet()
        .args(["certify", "--output", "json="])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no path after json="));
    util::execnet()
        .args(["certify", "--kubelet", "1.1,1.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1.9"));
}
