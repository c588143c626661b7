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
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
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
    let locks = TempDir::new().unwrap();
    let state = TempDir::new().unwrap();
    let pids = state.path().join("pids");
    let dir = hanging_plugin(&pids);
    let run = |extra: &[&str]| {
        Command::new(util::execnet_path())
            .args(["certify", "--plugin-dir"])
            .arg(dir.path())
            .args(["--plugin", "hang", "--timeout", "60s"])
            .args(extra)
            .env("EXECNET_LOCK_DIR", locks.path())
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
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_bounded(&mut second, 20).code(), Some(143));
    for pid in read_pids(&pids) {
        assert!(
            util::eventually(3, || !util::pid_alive(pid)),
            "{pid} survived"
        );
    }
}
