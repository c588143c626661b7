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
        let opts = execnet::bench::BenchOptions {
            calls,
            jobs,
            side: execnet::bench::Side::Both,
        };
        let r = execnet::bench::run(exec, opts).expect("bench");
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        println!(
            "static C plugin, {calls} calls, {jobs} job(s): manager {} µs/call, floor {} µs/call, ratio {}, parent CPU ratio {}, jobs scaling {}, peak RSS {} KiB",
            f(r.manager_us_per_call),
            f(r.floor_us_per_call),
            f(r.ratio),
            f(r.cpu_ratio),
            f(r.manager_jobs_scaling),
            r.peak_rss_kib
        );
    }
}
