//! `cargo bench`: a static C plugin called through the reference manager (every safety feature
//! on) and through a bare `posix_spawn` floor, interleaved in rounds; prints medians and the
//! ratio. Needs a C compiler (`cc`); static linking is tried first.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use execnet::plugin::{self, CallPolicy};

fn main() {
    let calls: usize = std::env::var("EXECNET_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let tmp = tempfile::TempDir::new().expect("tempdir");
    let dir = tmp.path().join("static-c");
    std::fs::create_dir(&dir).expect("mkdir");
    let exe = dir.join("static-c");
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/plugin/static_status.c"
    );
    let built = Command::new("cc")
        .args(["-O2", "-static", "-o"])
        .arg(&exe)
        .arg(src)
        .status()
        .is_ok_and(|s| s.success())
        || Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(src)
            .status()
            .is_ok_and(|s| s.success());
    if !built {
        eprintln!("bench skipped: no C compiler to build {src}");
        return;
    }
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let probe = plugin::probe(tmp.path());
    let sel = plugin::select(
        &probe.plugins,
        "static-c",
        CallPolicy::default(),
        true,
        plugin::SelectionTexts::default(),
    );
    let exec = sel.exec_plugin().expect("static-c selected");
    for jobs in [1, 2] {
        let r = execnet::bench::run(exec, calls, jobs).expect("bench");
        println!(
            "static C plugin, {calls} calls, {jobs} job(s): manager {:.1} µs/call, floor {:.1} µs/call, ratio {:.3}, peak RSS {} KiB",
            r.manager_us_per_call, r.floor_us_per_call, r.ratio, r.peak_rss_kib
        );
    }
}
