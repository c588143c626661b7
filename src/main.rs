//! The `execnet` binary: argument parsing and exit codes only (see `cli`).

mod cli;

fn main() -> std::process::ExitCode {
    // Called as `docker` (the link the netns runtime puts first on plugins' PATH): be the docker
    // 1.12 CLI.
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name() == Some(std::ffi::OsStr::new("docker")) {
        let rest: Vec<String> = args.collect();
        let code = execnet::runtime::netns::docker::cli::main(&rest);
        return std::process::ExitCode::from(code.clamp(0, 255) as u8);
    }
    // Every process of the run carries the mark, for `execnet gc` after a hard kill.
    execnet::sys::marker::mark();
    cli::main()
}
