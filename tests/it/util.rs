//! Helpers: temp plugin directories, plugin scripts, the `execnet` binary, and one redaction
//! function for snapshots.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

pub const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A temp directory holding a copy of the whole `sample-plugins` directory (plugins keep
/// state beside themselves, and gallery plugins use `../reference`).
pub fn sample_plugins() -> TempDir {
    let tmp = TempDir::new().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-plugins");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(tmp.path())
        .status()
        .expect("cp");
    assert!(status.success(), "copying sample-plugins failed");
    // Never carry state from a developer's manual runs.
    for entry in fs::read_dir(tmp.path()).expect("read copy").flatten() {
        let _ = fs::remove_dir_all(entry.path().join("state"));
    }
    tmp
}

/// Write an executable plugin `dir/<dir_name>/<exe_name>` with `body`, mode 0755.
pub fn write_plugin(root: &Path, dir_name: &str, exe_name: &str, body: &str) -> PathBuf {
    let dir = root.join(dir_name);
    fs::create_dir_all(&dir).expect("mkdir plugin");
    let exe = dir.join(exe_name);
    fs::write(&exe, body).expect("write plugin");
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod");
    exe
}

/// A plugin directory with one bash plugin `name` whose body follows `#!/bin/bash`.
pub fn bash_plugin(name: &str, body: &str) -> TempDir {
    let tmp = TempDir::new().expect("tempdir");
    write_plugin(tmp.path(), name, name, &format!("#!/bin/bash\n{body}\n"));
    tmp
}

/// `execnet` as built by cargo for this test run.
pub fn execnet() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("execnet").expect("execnet binary")
}

pub fn execnet_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("execnet")
}

/// Read the recorder's JSON lines.
pub fn read_records(path: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("recorder wrote nothing to {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad record line {l:?}: {e}")))
        .collect()
}

/// Replace what varies between runs (temp paths, pipe inodes, durations) so a snapshot shows
/// behaviour, not noise. The one place redaction happens.
pub fn redact(text: &str, temp_root: &Path) -> String {
    let mut out = text.replace(&temp_root.display().to_string(), "[PLUGIN_DIR]");
    // pipe:[123456] -> pipe:[N]
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(pos) = rest.find("pipe:[") {
        result.push_str(&rest[..pos + 6]);
        rest = &rest[pos + 6..];
        let end = rest.find(']').unwrap_or(0);
        result.push('N');
        rest = &rest[end..];
    }
    result.push_str(rest);
    out = result;
    out
}

/// Whether a process exists (a zombie counts as gone once reaped by its parent).
pub fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    let alive = unsafe { libc::kill(pid, 0) == 0 };
    if !alive {
        return false;
    }
    // A zombie still answers kill(0); look at its state.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Wait up to `secs` for `cond`.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

/// A certification report as snapshots show it, text and JSON: run-to-run noise replaced in the
/// data before rendering (wall times, call durations) and the temp plugin directory replaced by
/// `[PLUGIN_DIR]` after. The one place certify snapshots are redacted. (Latency checks are not
/// in the snapshots: their outcome is the machine's load, not the plugin.)
pub fn redacted_report(report: &execnet::certify::Report, plugin_dir: &Path) -> (String, String) {
    let mut r = report.clone();
    r.duration_ms = 0.0;
    for ms in r.scenario_ms.values_mut() {
        *ms = 0.0;
    }
    let zero = |f: &mut execnet::certify::Finding| {
        if let Some(c) = &mut f.call {
            c.duration_ms = 0.0;
        }
    };
    for c in &mut r.checks {
        assert_ne!(c.id, "timeout/p99", "snapshots leave the latency check out");
        c.findings.iter_mut().for_each(zero);
    }
    for cause in &mut r.causes {
        zero(&mut cause.example);
    }
    let text = execnet::report::text::render(&r, false);
    let json = execnet::report::json(&r);
    let real = fs::canonicalize(plugin_dir).unwrap_or_else(|_| plugin_dir.to_path_buf());
    let clean = |s: String| redact(&redact(&s, &real), plugin_dir);
    (clean(text), clean(json))
}

/// Entries shown before and after the first difference by [`assert_seq_eq`].
const CONTEXT: usize = 3;

/// Assert that two sequences are equal; when they are not, the message shows where they first
/// differ (the entry on each side, a few equal entries before it, a few after on each side)
/// and both lengths, not the whole sequences.
#[track_caller]
pub fn assert_seq_eq<T: PartialEq + std::fmt::Debug>(
    left: &[T],
    right: &[T],
    what: impl std::fmt::Display,
) {
    let Some(i) = (0..left.len().max(right.len())).find(|&i| left.get(i) != right.get(i)) else {
        return;
    };
    let entry = |side: &[T], j: usize| match side.get(j) {
        Some(e) => format!("{e:?}"),
        None => "(no entry: the sequence ended)".to_string(),
    };
    let mut msg = format!(
        "{what}: first difference at entry {i} (left has {} entries, right {})\n",
        left.len(),
        right.len()
    );
    for j in i.saturating_sub(CONTEXT)..i {
        msg.push_str(&format!("    [{j}] {}\n", entry(left, j)));
    }
    msg.push_str(&format!("  < [{i}] {}\n", entry(left, i)));
    msg.push_str(&format!("  > [{i}] {}\n", entry(right, i)));
    for (mark, side) in [("<", left), (">", right)] {
        for j in (i + 1)..(i + 1 + CONTEXT).min(side.len()) {
            msg.push_str(&format!("  {mark} [{j}] {}\n", entry(side, j)));
        }
    }
    panic!("{msg}");
}

/// [`assert_seq_eq`] over the lines of two texts.
#[track_caller]
pub fn assert_lines_eq(left: &str, right: &str, what: impl std::fmt::Display) {
    let (l, r): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    assert_seq_eq(&l, &r, &what);
    // Equal lines, different bytes (a line ending): say so.
    assert!(
        left == right,
        "{what}: the same lines, different line endings"
    );
}

#[test]
fn a_difference_is_shown_where_it_is() {
    let left: Vec<u32> = (0..1300).collect();
    let mut right = left.clone();
    right[700] = 9999;
    assert_seq_eq(&left, &left.clone(), "equal");
    let msg = std::panic::catch_unwind(|| assert_seq_eq(&left, &right, "calls"))
        .expect_err("a difference panics")
        .downcast::<String>()
        .expect("a message");
    assert!(
        msg.starts_with("calls: first difference at entry 700 (left has 1300 entries, right 1300)"),
        "{msg}"
    );
    assert!(
        msg.contains("\n    [699] 699\n  < [700] 700\n  > [700] 9999\n  < [701] 701\n"),
        "{msg}"
    );
    assert!(msg.lines().count() <= 12, "not the whole lists: {msg}");
    let msg = std::panic::catch_unwind(|| assert_lines_eq("a\nb\n", "a\nb\nc\n", "text"))
        .expect_err("a longer text differs")
        .downcast::<String>()
        .expect("a message");
    assert!(
        msg.contains("< [2] (no entry: the sequence ended)\n  > [2] \"c\""),
        "{msg}"
    );
}

/// A reader of the FIFO `path`, open before this returns (so that a writer opening it
/// non-blocking finds a reader, however late the thread runs), that collects what one writer
/// writes until it closes.
pub fn fifo_reader(path: &Path) -> std::thread::JoinHandle<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("open the FIFO for reading");
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match f.read(&mut buf) {
                // No writer yet (nothing read so far), or the writer closed it.
                Ok(0) if got.is_empty() => std::thread::sleep(std::time::Duration::from_millis(10)),
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => panic!("reading the FIFO: {e}"),
            }
        }
        String::from_utf8(got).expect("UTF-8")
    })
}
