//! The simulated kubelet: deterministic lifecycle replay against a plugin directory.
//! `runtime` is the fake container runtime, `pod` the per-pod worker, `profile` the releases'
//! loops as data, `scenario` the scenario files, `replay` the loops on a virtual clock (v1.1's
//! sync loop; v1.2+'s PLEG relist, pod workers and housekeeping), `transcript` what comes out
//! and `render` its text form.

pub mod pod;
pub mod profile;
pub mod render;
pub mod replay;
pub mod runtime;
pub mod scenario;
pub mod transcript;

pub use profile::Profile;
pub use replay::{ReplayOptions, replay, replay_observed, replay_streamed};
pub use scenario::{Scenario, ScenarioError};
pub use transcript::{CallPurpose, Entry, Event, IpSource, PodRef, Transcript};
