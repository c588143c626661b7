//! The integration test binary: real plugin executables in temp directories, real processes.

mod certify;
mod faults;
mod cli;
mod kubelet_util;
mod manager;
mod replay;
mod selection;
mod status_table;
mod util;
