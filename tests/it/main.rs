//! The integration test binary: real plugin executables in temp directories, real processes.

mod kubelet_util;
mod replay;
