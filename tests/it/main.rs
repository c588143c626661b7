//! The integration test binary: real plugin executables in temp directories, real processes.

// Tests set the OS up with raw calls (rlimits, signals to their own children, fifos): test
// fixtures, not execnet, so the crate's `unsafe_code = "deny"` is lifted here.
#![allow(unsafe_code)]

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
mod vendor;
