//! execnet certifies kubelet exec network plugins and is the reference implementation of the
//! plugin manager that drives them. It has three layers, each standing on the one before it.
//!
//! The **reference plugin manager** ([`plugin`]) probes a plugin directory, selects a plugin and
//! calls it exactly as the kubelet v1.1–v1.5 did (argv order, stdin `/dev/null`, stdout and
//! stderr as one stream, only fds 0–2), parses `status` output with Go's JSON and IP rules, and
//! adds what the kubelet lacked: timeouts that kill the whole process group, leaked-handle
//! detection and bounded output.
//!
//! The **simulated kubelet** ([`kubelet`]) replays pod lifecycles deterministically against a
//! plugin directory under profiles of the real kubelet releases, producing transcripts.
//!
//! The **runtime** ([`runtime`]) is what pods run on: `netns` builds a real node sandbox (network
//! and mount namespaces, pause processes with veths on a docker bridge, an era-exact docker CLI
//! and Engine API, Open vSwitch on demand) in which unmodified plugins run.
//!
//! **Certification** ([`certify`]) judges those transcripts check by check and [`report`]
//! renders the verdict as text, JSON and JUnit.

pub mod bench;
pub mod certify;
pub mod kubelet;
pub mod plugin;
pub mod report;
pub mod runtime;
pub mod supervise;
pub mod sys;
