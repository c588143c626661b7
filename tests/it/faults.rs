//! Faults and hostile conditions against the real `execnet` binary (docs/faults.md has the
//! table; each row is a test here): signals during a run, a closed stdout, small resource
//! limits. Every test checks the exit code, the message, and that nothing is left behind:
//! no plugin process in the process table, no temp directory on disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
