//! The integration test binary: real plugin executables in temp directories, real processes.

mod cli;
mod manager;
mod selection;
mod status_table;
mod util;
