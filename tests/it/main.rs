//! The integration test binary: real plugin executables in temp directories, real processes.

mod certify;
mod cli;
mod differential;
mod faults;
mod html;
mod kubelet_util;
mod manager;
mod netns;
mod progress;
mod replay;
mod scenarios;
mod selection;
mod status_table;
mod util;
