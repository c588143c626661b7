//! The simulated kubelet: deterministic lifecycle replay against a plugin directory.
//! `runtime` is the fake container runtime, `pod` the per-pod worker, `profile` the table of
//! kubelet releases, `scenario` the scenario files, `replay` the sync loop and its phases,
//! `transcript` what comes out and `render` its text form.

pub mod pod;
pub mod profile;
pub mod render;
pub mod replay;
pub mod runtime;
pub mod scenario;
pub mod transcript;

pub use profile::Profile;
pub use replay::{ReplayOptions, replay, replay_observed};
pub use scenario::{Scenario, ScenarioError};
pub use transcript::{CallPurpose, Entry, Event, IpSource, PodRef, Transcript};
