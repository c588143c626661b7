//! The recorder (`sample-plugins/recorder/recorder`, Python) compiled: the same calls, the same
//! JSON lines in `$EXECNET_RECORD`, the same answers, without an interpreter's start-up on every
//! call. The simulated-kubelet tests drive thousands of calls through it (tests/it/kubelet_util.rs
//! compiles it once per target directory with the toolchain's `rustc`; no dependencies).
//! `recorder_compiled_and_python_agree` (tests/it/cli.rs) holds the two to the same bytes.
//!
//! Its own `main`: Rust's start-up code would reopen a closed fd 0, 1 or 2 on /dev/null before
//! `main`, and the record would then show a descriptor the caller never passed.

#![no_main]

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

/// JSON string as Python's `json.dumps` writes it (`ensure_ascii`: everything outside
/// printable ASCII as `\uXXXX`, UTF-16 surrogate pairs past the BMP).
fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_opt(s: Option<&str>, out: &mut String) {
    match s {
        Some(s) => json_str(s, out),
        None => out.push_str("null"),
    }
}

/// Bytes as Python's `os.fsencode(s).decode("utf-8", "replace")`.
fn clean(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every open descriptor (numeric order) and its readlink target. Reading the directory opens
/// a descriptor of its own, closed before the links are read, so that entry fails and is
/// skipped (as in the Python recorder).
fn open_fds() -> Vec<(String, String)> {
    let mut names: Vec<u64> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort_unstable();
    names
        .into_iter()
        .filter_map(|n| {
            let target = std::fs::read_link(format!("/proc/self/fd/{n}")).ok()?;
            Some((n.to_string(), clean(target.as_os_str().as_bytes())))
        })
        .collect()
}

fn same_file(a: i32, b: i32) -> bool {
    let stat = |fd: i32| std::fs::metadata(format!("/proc/self/fd/{fd}"));
    // fstat through /proc/self/fd/N follows the descriptor to its open file (pipes included).
    match (stat(a), stat(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

/// Python's `str(OSError)`: `[Errno N] text` (`: 'path'` when a file name is involved).
fn os_error(e: &std::io::Error, path: Option<&str>) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    match (e.raw_os_error(), path) {
        (Some(n), Some(p)) => format!("[Errno {n}] {text}: '{p}'"),
        (Some(n), None) => format!("[Errno {n}] {text}"),
        _ => text,
    }
}

fn record(path: &OsStr, args: &[Vec<u8>]) -> Result<(), String> {
    let fds = open_fds(); // before we open anything ourselves
    let cwd = std::env::current_dir()
        .ok()
        .map(|p| clean(p.as_os_str().as_bytes()));
    let mut line = String::from("{\"argv\":[");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        json_str(&clean(a), &mut line);
    }
    line.push_str("],\"fds\":{");
    for (i, (fd, target)) in fds.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        json_str(fd, &mut line);
        line.push(':');
        json_str(target, &mut line);
    }
    line.push_str("},\"stdin\":");
    json_opt(
        fds.iter()
            .find(|(fd, _)| fd == "0")
            .map(|(_, t)| t.as_str()),
        &mut line,
    );
    line.push_str(",\"cwd\":");
    json_opt(cwd.as_deref(), &mut line);
    line.push_str(",\"fd1_is_fd2\":");
    line.push_str(if same_file(1, 2) { "true" } else { "false" });
    line.push_str("}\n");
    let shown = clean(path.as_bytes());
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| os_error(&e, Some(&shown)))?;
    f.lock().map_err(|e| os_error(&e, None))?;
    // One write(2) in practice; write_all loops only on a short write. The lock is released
    // when f is closed.
    f.write_all(line.as_bytes()).map_err(|e| os_error(&e, None))
}

fn hex(b: &[u8]) -> u32 {
    u32::from_str_radix(std::str::from_utf8(b).unwrap_or("0"), 16).unwrap_or(0)
}

fn status_ip(cid: &[u8]) -> String {
    let (x, y) = if cid.len() >= 4 && cid.iter().all(u8::is_ascii_hexdigit) {
        (hex(&cid[0..2]), hex(&cid[2..4]))
    } else {
        // not hex: a stable hash (sum of the bytes)
        let total: u32 = cid.iter().map(|&b| u32::from(b)).sum();
        (total, total / 254)
    };
    format!("10.88.{}.{}", x % 254 + 1, y % 254 + 1)
}

/// Python's `repr` of a str, for the unknown-action message.
fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn run() -> i32 {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(|a| a.as_bytes().to_vec())
        .collect();
    if let Some(path) = std::env::var_os("EXECNET_RECORD").filter(|p| !p.is_empty())
        && let Err(e) = record(&path, &args)
    {
        // A CI gate must not pass silently when it cannot record.
        eprintln!("recorder: cannot record to {}: {e}", clean(path.as_bytes()));
        return 1;
    }
    let action = args.first().map(|a| clean(a)).unwrap_or_default();
    match action.as_str() {
        "init" | "setup" | "teardown" => 0,
        "status" if args.len() != 4 => {
            eprintln!("recorder: usage: recorder status <namespace> <name> <id>");
            1
        }
        "status" => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{{\"apiVersion\":\"v1beta1\",\"kind\":\"PodNetworkStatus\",\"ip\":\"{}\"}}",
                status_ip(&args[3])
            );
            let _ = out.flush();
            0
        }
        other => {
            eprintln!("recorder: unknown action {}", repr(other));
            1
        }
    }
}

/// The C entry point (see the module comment): argv and the environment are read through std,
/// which glibc hands them to before `main`.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    run()
}
