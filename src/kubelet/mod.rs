//! The simulated kubelet: deterministic lifecycle replay against a plugin directory.

pub mod transcript;

pub use transcript::{CallPurpose, Entry, Event, IpSource, PodRef, Transcript};
