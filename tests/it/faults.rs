//! Faults and hostile conditions against the real `execnet` binary (docs/faults.md has the
//! table; each row is a test here): signals during a run, a closed stdout, small resource
//! limits. Every test checks the exit code, the message, and that nothing is left behind:
//! no plugin process in the process table, no temp directory on disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use tempfile::TempDir;

use crate::util;

/// A plugin whose `setup` hangs (ignoring SIGTERM/SIGINT/SIGHUP) after starting a setsid
/// escaper and a background child; it appends its own pid and theirs to `pids`.
fn hanging_plugin(pids: &Path) -> TempDir {
    util::bash_plugin(
        "hang",
        &format!(
            r#"P={}
case "$1" in
  setup)
    echo $$ >> "$P"
    setsid sleep 310 </dev/null >/dev/null 2>&1 &
    echo $! >> "$P"
    sleep 311 &
    echo $! >> "$P"
    trap '' TERM INT HUP
    sleep 312
    ;;
esac
exit 0"#,
            pids.display()
        ),
    )
}

fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Wait for `child` up to `secs`; kill it and fail when it does not end.
fn wait_bounded(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("execnet did not end within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read temp dir")
        .map(|e| e.expect("entry").path())
        .collect()
}

/// Start `execnet args` with its own TMPDIR, wait until `ready`, send `signal`, and check the
/// exit code, the empty stdout (no partial report), the process table and the temp dir.
fn interrupt(args: &[&str], pids: &Path, signal: i32, expect_code: i32) {
    let tmpdir = TempDir::new().unwrap();
    let mut child = Command::new(util::execnet_path())
        .args(args)
        .env("TMPDIR", tmpdir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn execnet");
    assert!(
        util::eventually(30, || read_pids(pids).len() >= 3),
        "the plugin never got to hang (pids: {:?})",
        read_pids(pids)
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = wait_bounded(&mut child, 20);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(expect_code), "stderr: {stderr}");
    assert_eq!(stdout, "", "no partial report on stdout");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for pid in read_pids(pids) {
        assert!(
            util::eventually(3, || !util::pid_alive(pid)),
            "plugin process {pid} ({}) survived the signal",
            std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default()
        );
    }
    assert_eq!(
        entries(tmpdir.path()),
        Vec::<PathBuf>::new(),
        "temp files left"
    );
}

#[rstest::rstest]
#[case::sigint(libc::SIGINT, 130)]
#[case::sigterm(libc::SIGTERM, 143)]
#[case::sighup(libc::SIGHUP, 129)]
fn a_signal_during_certify_kills_every_plugin_process(#[case] signal: i32, #[case] code: i32) {
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let d = dir.path().display().to_string();
    interrupt(
        &[
            "certify",
            "--plugin-dir",
            &d,
            "--plugin",
            "hang",
            "--jobs",
            "3",
        ],
        &pids,
        signal,
        code,
    );
}

#[rstest::rstest]
#[case::sigint(libc::SIGINT, 130)]
#[case::sigterm(libc::SIGTERM, 143)]
#[case::sighup(libc::SIGHUP, 129)]
fn a_signal_during_replay_kills_every_plugin_process(#[case] signal: i32, #[case] code: i32) {
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let d = dir.path().display().to_string();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/scenarios/parallel-pods.json")
        .display()
        .to_string();
    interrupt(
        &["replay", "--plugin-dir", &d, "--plugin", "hang", &scenario],
        &pids,
        signal,
        code,
    );
}

#[test]
fn a_signal_during_call_kills_the_plugin() {
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let d = dir.path().display().to_string();
    interrupt(
        &[
            "call",
            "--plugin-dir",
            &d,
            "--plugin",
            "hang",
            "setup",
            "n",
            "p",
            util::ID,
        ],
        &pids,
        libc::SIGINT,
        130,
    );
}

#[test]
fn a_signal_during_certify_of_the_bundled_plugin_removes_its_temp_dir() {
    let tmpdir = TempDir::new().unwrap();
    let mut child = Command::new(util::execnet_path())
        .args(["certify", "--timeout", "5s"])
        .env("TMPDIR", tmpdir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn execnet");
    // The bundled plugin is installed in a temp dir at the start of the run.
    assert!(
        util::eventually(20, || entries(tmpdir.path())
            .iter()
            .any(|p| p.join("reference/reference").exists())),
        "the bundled plugin was never installed under TMPDIR"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_bounded(&mut child, 20);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    // The run may have finished just before the signal: then it passed and cleaned up itself.
    match status.code() {
        Some(143) => assert_eq!(stdout, "", "no partial report"),
        Some(0) => assert!(stdout.contains("verdict: PASS"), "{stdout}"),
        other => panic!("exit {other:?}"),
    }
    assert_eq!(
        entries(tmpdir.path()),
        Vec::<PathBuf>::new(),
        "temp files left"
    );
}

/// Run `execnet args` with its stdout a pipe whose reader is already gone (EPIPE on write).
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(util::execnet_path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn execnet");
    drop(child.stdout.take());
    let status = wait_bounded(&mut child, 60);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_exit_code_of_the_run() {
    let samples = util::sample_plugins();
    let d = samples.path().display().to_string();
    // The sample gallery has plugins with problems: probe says 1.
    for (args, code) in [
        (vec!["certify", "--list"], 0),
        (vec!["probe", "--plugin-dir", &d], 1),
        (vec!["probe", "--plugin-dir", &d, "--format", "json"], 1),
        (
            vec!["call", "--plugin-dir", &d, "--plugin", "reference", "init"],
            0,
        ),
        (
            vec!["call", "--plugin-dir", &d, "--plugin", "init-fails", "init"],
            1,
        ),
    ] {
        let (got, stderr) = with_closed_stdout(&args);
        assert_eq!(got, Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn piping_into_head_keeps_the_exit_code() {
    let samples = util::sample_plugins();
    let d = samples.path().display().to_string();
    let exe = util::execnet_path();
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scenarios/parallel-pods.json");
    for (args, code) in [
        (vec!["certify".to_string(), "--list".into()], 0),
        (
            vec!["probe".to_string(), "--plugin-dir".into(), d.clone()],
            1,
        ),
        (
            vec![
                "replay".to_string(),
                "--plugin-dir".into(),
                d.clone(),
                "--plugin".into(),
                "reference".into(),
                "--format".into(),
                "json".into(),
                scenario.display().to_string(),
            ],
            0,
        ),
    ] {
        let out = duct::cmd(&exe, &args)
            .stderr_capture()
            .pipe(duct::cmd!("head", "-1"))
            .stdout_capture()
            .unchecked()
            .run()
            .expect("run pipeline");
        // duct reports the left side's failure when the right side succeeded.
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    }
}

#[test]
fn a_small_soft_descriptor_limit_is_raised_and_the_reference_plugin_passes() {
    let tmpdir = TempDir::new().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 16 && exec '{}' certify",
            util::execnet_path().display()
        ))
        .env("TMPDIR", tmpdir.path())
        .output()
        .expect("sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    assert_eq!(entries(tmpdir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_small_hard_descriptor_limit_is_a_setup_error_naming_the_limit() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 40 && ulimit -Hn 40 && exec '{}' certify",
            util::execnet_path().display()
        ))
        .output()
        .expect("sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RLIMIT_NOFILE is 40"), "{stderr}");
    assert_eq!(out.stdout, b"", "no verdict on stdout");
}

#[test]
fn a_small_process_limit_is_a_setup_error_naming_the_limit_never_a_panic() {
    // RLIMIT_NPROC does not bind root: as root, run execnet as an unused uid.
    let exe = util::execnet_path();
    let tmpdir = TempDir::new().unwrap();
    std::fs::set_permissions(
        tmpdir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let script = format!(
        "ulimit -Su 20 && cd '{}' && exec '{}' certify --jobs 4",
        tmpdir.path().display(),
        exe.display()
    );
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=54321",
            "--regid=54321",
            "--clear-groups",
            "bash",
            "-c",
        ]);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("-c");
        c
    };
    let out = cmd
        .arg(&script)
        .env("TMPDIR", tmpdir.path())
        .output()
        .expect("setpriv/sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RLIMIT_NPROC is 20"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(entries(tmpdir.path()), Vec::<PathBuf>::new());
}

/// A plugin whose setup forks until `fork` fails and leaves the children running holds the
/// process limit (`RLIMIT_NPROC`) itself: a later spawn of execnet's (the next call, or another
/// scenario's while they run) then gets `EAGAIN`. That is the plugin's failure, as the
/// kubelet's `fork/exec` failed alike on such a node: exit 1 and findings that say
/// `resource temporarily unavailable`, never exit 2 ("execnet's failure"). Run as an unused
/// uid rather than nobody: the limit counts every process of the user on the machine, and
/// another run as nobody would change what is free. Leaves no process of that user.
#[test]
fn a_plugin_that_exhausts_the_process_limit_is_the_plugin_s_failure() {
    const UID: &str = "54323";
    if !nix_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    let tmpdir = TempDir::new().unwrap();
    let mode = |p: &Path, m| {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap()
    };
    mode(tmpdir.path(), 0o777);
    util::write_plugin(
        tmpdir.path(),
        "forker",
        "forker",
        r#"#!/bin/sh
if [ "$1" = setup ]; then
  ( while sleep 300 & do :; done ) 2>/dev/null
  exit 0
fi
[ "$1" = status ] && echo '{"kind":"PodNetworkStatus","apiVersion":"v1beta1","ip":"10.9.0.2"}'
exit 0
"#,
    );
    mode(&tmpdir.path().join("forker"), 0o755);
    let script = format!(
        "ulimit -Su 80 && cd '{0}' && exec '{1}' certify --plugin-dir '{0}' --plugin forker --focus 'exit-code/*' --timeout 5s --format json",
        tmpdir.path().display(),
        util::execnet_path().display()
    );
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            "bash",
            "-c",
            &script,
        ])
        .env("TMPDIR", tmpdir.path())
        .output()
        .expect("setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}\n{stdout}");
    assert!(!stderr.contains("execnet's failure"), "{stderr}");
    assert!(
        stdout.contains("resource temporarily unavailable"),
        "{stdout}"
    );
    let left = Command::new("pgrep")
        .args(["-u", UID])
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_full_stdout_is_an_error() {
    let out = Command::new(util::execnet_path())
        .args(["certify", "--list"])
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .expect("execnet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("writing standard output: No space left on device"),
        "{stderr}"
    );
}

#[test]
fn certify_refuses_no_timeout() {
    for value in ["0", "off", "none", "0s"] {
        util::execnet()
            .args(["certify", "--timeout", value])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains(
                "--timeout: certify needs a per-call timeout",
            ));
    }
    // replay keeps the kubelet's behaviour, explicitly.
    util::execnet()
        .args([
            "replay",
            "--plugin-dir",
            "/",
            "--plugin",
            "",
            "--no-timeout",
        ])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("conformance/scenarios/basic-lifecycle.json"),
        )
        .assert()
        .code(0);
    util::execnet()
        .args([
            "replay",
            "--plugin-dir",
            "/",
            "--plugin",
            "",
            "--no-timeout",
            "--timeout",
            "5s",
        ])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("conformance/scenarios/basic-lifecycle.json"),
        )
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be used with"));
}

#[test]
fn a_deadline_stops_the_run_inconclusive_with_a_note() {
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let mut child = Command::new(util::execnet_path())
        .args(["certify", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "hang", "--timeout", "60s", "--deadline", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn execnet");
    // Far less than the 60 s timeout: the deadline cut the hung call off.
    let status = wait_bounded(&mut child, 40);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "deadline: the run stopped at --deadline 2s with 0 of 15 scenario run(s) finished"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("verdict: INCONCLUSIVE"), "{stdout}");
    assert!(
        !stdout.contains("FAIL timeout/"),
        "the deadline's cut is not blamed on the plugin's timeouts: {stdout}"
    );
    for pid in read_pids(&pids) {
        assert!(
            util::eventually(3, || !util::pid_alive(pid)),
            "{pid} survived"
        );
    }
}

/// `certify` of the bundled plugin, judging only `init/selection` (one scenario): quick.
fn quick_certify(output: &Path, format: &str) -> assert_cmd::assert::Assert {
    util::execnet()
        .args([
            "certify",
            "--focus",
            "init/selection",
            "--format",
            format,
            "--output",
        ])
        .arg(output)
        .assert()
}

#[test]
fn a_bad_output_is_refused_before_the_run() {
    let tmp = TempDir::new().unwrap();
    let record = tmp.path().join("record");
    let samples = util::sample_plugins();
    for (output, message) in [
        (
            tmp.path().join("missing/report.json"),
            "No such file or directory",
        ),
        (tmp.path().to_path_buf(), "is a directory"),
        (PathBuf::from("/proc/version/x"), "Not a directory"),
    ] {
        util::execnet()
            .args(["certify", "--plugin-dir"])
            .arg(samples.path())
            .args(["--plugin", "recorder", "--output"])
            .arg(&output)
            .env("EXECNET_RECORD", &record)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains("--output").and(predicates::str::contains(message)));
        assert!(
            !record.exists(),
            "a plugin ran before --output {} was refused",
            output.display()
        );
    }
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn an_existing_report_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new().unwrap();
    let report = tmp.path().join("report.json");
    std::fs::write(&report, "old").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o600)).unwrap();
    quick_certify(&report, "json").code(0);
    let meta = std::fs::metadata(&report).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("whole JSON");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(
        entries(tmp.path()),
        vec![report],
        "no temp file beside the report"
    );
}

#[test]
fn special_outputs_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let tmp = TempDir::new().unwrap();
    // /dev/null stays a device (as root, a rename would have replaced it).
    quick_certify(Path::new("/dev/null"), "json").code(0);
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A symlink stays a symlink; the file it points to gets the report.
    let real = tmp.path().join("real.json");
    std::fs::write(&real, "old old old old old old old old old old old old").unwrap();
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    quick_certify(&link, "json").code(0);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).expect("whole JSON");
    assert_eq!(v["verdict"], "pass");
    // A FIFO stays a FIFO; its reader gets the report.
    let fifo = tmp.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // The reader is there before execnet checks the FIFO (a FIFO with no reader is refused).
    let reader = util::fifo_reader(&fifo);
    quick_certify(&fifo, "json").code(0);
    let got = reader.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&got).expect("whole JSON through the FIFO");
    assert_eq!(v["verdict"], "pass");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let mut names: Vec<_> = entries(tmp.path());
    names.sort();
    assert_eq!(names, vec![fifo, link, real], "nothing else written");
}

#[test]
fn output_to_stdout_prints_the_report_once() {
    let out = quick_certify(Path::new("/dev/stdout"), "json")
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value =
        serde_json::from_slice(&out).expect("stdout is the JSON report alone");
    assert_eq!(v["verdict"], "pass");
}

#[test]
fn one_certification_per_plugin_directory() {
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let run = |extra: &[&str]| {
        Command::new(util::execnet_path())
            .args(["certify", "--plugin-dir"])
            .arg(dir.path())
            .args(["--plugin", "hang", "--timeout", "60s"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn execnet")
    };
    let mut first = run(&[]);
    assert!(
        util::eventually(30, || read_pids(&pids).len() >= 3),
        "first run never hung"
    );
    // Fail fast.
    let mut busy = run(&["--no-wait"]);
    let status = wait_bounded(&mut busy, 20);
    let mut stderr = String::new();
    busy.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another execnet run is certifying")
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    // Wait, saying so; go on when the first run ends.
    let mut second = run(&[]);
    let mut err = second.stderr.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while !line.ends_with(b"\n") && err.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line);
    assert!(
        line.contains("waiting for another run certifying"),
        "{line}"
    );
    let before = read_pids(&pids).len();
    // SAFETY: signalling our own children.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_bounded(&mut first, 20).code(), Some(143));
    assert!(
        util::eventually(30, || read_pids(&pids).len() >= before + 3),
        "the waiting run never started once the lock was free"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_bounded(&mut second, 20).code(), Some(143));
    for pid in read_pids(&pids) {
        assert!(
            util::eventually(3, || !util::pid_alive(pid)),
            "{pid} survived"
        );
    }
}

/// FNV-1a, 64 bits: the lock file name older releases derived from the plugin directory.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn a_symlink_planted_in_the_lock_directory_is_never_followed() {
    // Another user plants `<predictable name>.lock -> victim` in the shared lock directory.
    let locks = TempDir::new().unwrap();
    let victim_dir = TempDir::new().unwrap();
    let victim = victim_dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let dir = util::bash_plugin("ok", r#"[ "$1" = status ] && exit 0; exit 0"#);
    let real = std::fs::canonicalize(dir.path()).unwrap();
    let planted = locks.path().join(format!(
        "{:016x}.lock",
        fnv1a(real.as_os_str().as_encoded_bytes())
    ));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    util::execnet()
        .args(["certify", "--focus", "init/selection", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "ok"])
        .env("EXECNET_LOCK_DIR", locks.path())
        .env_remove("XDG_RUNTIME_DIR")
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(
        entries(locks.path()),
        vec![planted],
        "no lock file is made at all"
    );
    assert_eq!(
        entries(dir.path()).len(),
        1,
        "nothing written into the plugin dir"
    );
}

#[test]
fn an_executable_outside_the_plugin_dir_is_said_to_be_unlocked() {
    let exe_dir = util::bash_plugin("ok", "exit 0");
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("ok")).unwrap();
    let exe = std::fs::canonicalize(exe_dir.path().join("ok/ok")).unwrap();
    std::os::unix::fs::symlink(&exe, dir.path().join("ok/ok")).unwrap();
    util::execnet()
        .args(["certify", "--focus", "init/selection", "--plugin-dir"])
        .arg(dir.path())
        .args(["--plugin", "ok"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "the plugin's executable is {}, outside the plugin directory",
            exe.display()
        )));
}

#[test]
fn daemons_of_a_plugin_that_killed_execnet_are_collected_by_gc() {
    let tag = format!("77{}", std::process::id() % 100_000);
    let dir = util::bash_plugin(
        "k",
        &format!(
            r#"case "$1" in
  setup) setsid sleep {tag} </dev/null >/dev/null 2>&1 & sleep 0.2; kill -9 $PPID; exit 0;;
  *) exit 0;;
esac"#
        ),
    );
    let status = Command::new(util::execnet_path())
        .args([
            "certify",
            "--timeout",
            "10s",
            "--plugin",
            "k",
            "--plugin-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the plugin killed execnet"
    );
    let daemons = || -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c == format!("sleep\0{tag}\0").as_bytes())
            })
            .collect()
    };
    let left = daemons();
    // Calls run in parallel: each setup that ran before execnet died left one.
    assert!(!left.is_empty(), "no daemon outlived execnet");
    let out = util::execnet().args(["gc"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        util::eventually(5, || left.iter().all(|&p| !util::pid_alive(p))),
        "gc left a daemon: {stdout}"
    );
    if nix_root() {
        assert_eq!(out.status.code(), Some(0), "{stdout}");
    }
}

fn nix_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

#[test]
fn gc_as_an_ordinary_user_says_what_it_could_not_do() {
    if !nix_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to become nobody");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(util::execnet_path())
        .arg("gc")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not done:") && stderr.contains("could not be inspected"),
        "{stderr}"
    );
}

#[test]
fn bench_leaves_nothing_a_status_started() {
    let tag = format!("78{}", std::process::id() % 100_000);
    let dir = util::bash_plugin(
        "d",
        &format!(
            r#"[ "$1" = status ] && {{ setsid sleep {tag} </dev/null >/dev/null 2>&1 & }}
exit 0"#
        ),
    );
    let out = util::execnet()
        .args(["bench", "--calls", "5", "--plugin", "d", "--plugin-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("left") && stderr.contains(&tag), "{stderr}");
    let alive = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c == format!("sleep\0{tag}\0").as_bytes())
        })
        .count();
    assert_eq!(alive, 0, "bench left daemons");
}

#[rstest::rstest]
#[case("18446744073709551615")]
#[case("100000000000")]
#[case("1e9")]
fn bench_refuses_absurd_call_counts(#[case] calls: &str) {
    let dir = util::bash_plugin("ok", "exit 0");
    util::execnet()
        .args(["bench", "--plugin", "ok", "--calls", calls, "--plugin-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--calls").and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn a_bundled_plugin_dir_left_by_a_killed_run_is_removed_by_gc_and_the_next_run() {
    let tmpdir = TempDir::new().unwrap();
    // A run killed with no chance to clean up (SIGKILL, as an abort on an allocation failure).
    let kill_once_installed = || {
        let mut child = Command::new(util::execnet_path())
            .args(["certify", "--timeout", "5s"])
            .env("TMPDIR", tmpdir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn execnet");
        assert!(
            util::eventually(20, || entries(tmpdir.path())
                .iter()
                .any(|p| p.join("reference/reference").exists())),
            "the bundled plugin was never installed under TMPDIR"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        wait_bounded(&mut child, 20);
        entries(tmpdir.path())
    };
    let left = kill_once_installed();
    assert_eq!(left.len(), 1, "{left:?}");
    let out = util::execnet()
        .arg("gc")
        .env("TMPDIR", tmpdir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("removed {}", left[0].display())),
        "{stdout}"
    );
    assert_eq!(entries(tmpdir.path()), Vec::<PathBuf>::new());
    // The next run removes it too.
    let left = kill_once_installed();
    util::execnet()
        .args(["certify", "--focus", "init/selection"])
        .env("TMPDIR", tmpdir.path())
        .assert()
        .code(0);
    assert!(!left[0].exists(), "the next run left {left:?}");
    assert_eq!(entries(tmpdir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_plugin_s_control_bytes_never_reach_the_terminal_or_the_page_raw() {
    // status prints NUL, an ANSI colour, a form feed, DEL, a C1 CSI and a carriage return.
    let dir = util::bash_plugin(
        "ctl",
        r#"[ "$1" = status ] && { printf 'a\000b\033[31mRED\014c\177d\302\233e\rf'; exit 1; }
exit 0"#,
    );
    let tmp = TempDir::new().unwrap();
    let html = tmp.path().join("r.html");
    let run = |extra: &[&str]| {
        let out = util::execnet()
            .args([
                "certify",
                "--timeout",
                "5s",
                "--plugin",
                "ctl",
                "--plugin-dir",
            ])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        out.stdout
    };
    let text = run(&[]);
    let shown = String::from_utf8_lossy(&text);
    assert!(shown.contains(r"\x1b[31mRED"), "{shown}");
    let raw: Vec<u8> = text
        .iter()
        .copied()
        .filter(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f)
        .collect();
    assert!(raw.is_empty(), "raw control bytes {raw:?} in:\n{shown}");
    assert!(!shown.contains('\u{9b}'), "a raw C1 CSI");
    run(&["--format", "html", "--output", html.to_str().unwrap()]);
    let page = std::fs::read(&html).unwrap();
    assert!(!page.contains(&0), "a raw NUL in the page");
    assert!(!page.contains(&0x1b), "a raw ESC in the page");
}

#[test]
fn probe_says_what_cannot_run_and_refuses_a_missing_dir() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("dir/dir")).unwrap();
    util::write_plugin(root, "empty", "empty", "");
    util::write_plugin(root, "crlf", "crlf", "#!/bin/sh\r\nexit 0\r\n");
    util::write_plugin(root, "nointerp", "nointerp", "#!/nonexistent/sh\nexit 0\n");
    std::fs::create_dir(root.join("loop")).unwrap();
    std::os::unix::fs::symlink("loop2", root.join("loop/loop")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop/loop2")).unwrap();
    let out = util::execnet()
        .args(["probe", "--plugin-dir"])
        .arg(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for expected in [
        "FAIL dir",
        "dir/dir is a directory",
        "FAIL empty",
        "empty/empty is empty",
        "FAIL crlf",
        "ends in a carriage return",
        "FAIL nointerp",
        "interpreter /nonexistent/sh does not exist",
        "loop/loop is a symlink loop",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("ok "), "{stdout}");
    for missing in [
        root.join("nope"),
        root.join("dir/dir/..").join("../empty/empty"),
    ] {
        util::execnet()
            .args(["probe", "--plugin-dir"])
            .arg(&missing)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot read plugin directory"));
    }
}

#[test]
fn skip_everything_says_so_and_tiny_timeouts_are_refused_alike() {
    util::execnet()
        .args(["certify", "--skip", "*"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--skip * leaves no check to run")
                .and(predicate::str::contains("--focus").not()),
        );
    for tiny in ["1ns", "1us"] {
        util::execnet()
            .args(["certify", "--timeout", tiny])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "invalid duration '{tiny}': below 1ms"
            )));
    }
}

#[test]
fn a_deleted_executable_is_not_blamed_on_descriptors() {
    // init deletes the executable: every later call fails to start.
    let dir = util::bash_plugin("del", r#"[ "$1" = init ] && rm -f "$0"; exit 0"#);
    let out = util::execnet()
        .args([
            "certify",
            "--timeout",
            "5s",
            "--format",
            "json",
            "--plugin",
            "del",
        ])
        .arg("--plugin-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["outcome"].as_str().unwrap().to_string())
    };
    // The first init succeeded and removed the executable: every later start fails. Which
    // scenarios' kubelets started before the removal is timing, so which check says so (or
    // finds its scenario never ran) is too; the run is never a PASS, and the descriptors check
    // never blames calls that did not start.
    assert_ne!(report["verdict"], "pass", "{report:#}");
    assert_ne!(outcome("fds/stdio-only").as_deref(), Some("fail"));
}

#[test]
fn an_error_says_its_cause_once() {
    let tmp = TempDir::new().unwrap();
    let out = util::execnet()
        .arg("replay")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("Is a directory").count(), 1, "{stderr}");
}
