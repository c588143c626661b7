//! The `execnet` binary: argument parsing and exit codes only (see `cli`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
