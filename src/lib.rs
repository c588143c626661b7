//! execnet certifies kubelet exec network plugins and is the reference implementation of the
//! plugin manager that drives them. It is built in layers; each uses only the layers below it, and
//! data flows one way: scenario → simulated kubelet → plugin manager → plugin process →
//! transcript → checks → report. The contract the code implements, with the kubelet and Go
//! sources it rests on, is in `docs/` (index: `docs/README.md`).
//!
//! **sys** (`src/sys/`) holds every `unsafe` call to the operating system: spawning a plugin,
//! the alarm that bounds a blocked call, reading `/proc`, resource limits and namespaces. Each
//! block carries its `SAFETY` argument; no other module needs `unsafe`.
//!
//! The **reference plugin manager** ([`plugin`]) probes a plugin directory, selects a plugin and
//! calls it exactly as the kubelet v1.1–v1.5 did (argv order, stdin `/dev/null`, stdout and
//! stderr as one stream, only fds 0–2), and parses `status` output with Go 1.7's JSON and IP
//! rules (`docs/plugin-manager.md` §1–§2.5).
//!
//! **Supervision** ([`supervise`]) is what execnet adds around a call and the kubelet lacked:
//! timeouts that kill the whole process group, leaked-handle detection, bounded output, finding
//! and killing what a plugin leaves running, signals to execnet, one certification per plugin
//! directory (`docs/supervision.md` §4, `docs/faults.md`).
//!
//! The **runtime** ([`runtime`]) is what pods run on, behind the `ContainerRuntime` trait:
//! `netns` builds a real node sandbox (network and mount namespaces, pause processes with veths
//! on a docker bridge, an era-exact docker CLI and Engine API, Open vSwitch on demand) in which
//! unmodified plugins run (`docs/netns.md` §6).
//!
//! The **simulated kubelet** ([`kubelet`]) replays scenarios of pod lifecycles deterministically
//! against a plugin under profiles of the real kubelet releases, producing transcripts
//! (`docs/kubelet.md` §3.1–§3.10).
//!
//! **Certification** ([`certify`]) judges those transcripts check by check, keeps the evidence
//! of every finding and gives the verdict (`docs/cli.md` §5 for its JSON and exit codes).
//!
//! **Reports** ([`report`]) render a certification's result as text, JSON, JUnit XML and HTML;
//! they consume results and never produce them.
//!
//! Beside the layers: [`bench`] times calls through the manager against a bare `posix_spawn`
//! floor (`execnet bench`), and the binary's `cli` module parses arguments and maps outcomes to
//! exit codes.

pub mod bench;
pub mod certify;
pub mod kubelet;
pub mod plugin;
pub mod report;
pub mod runtime;
pub mod supervise;
// Every `unsafe` of the crate, behind small safe functions; `unsafe_code` is denied elsewhere.
#[allow(unsafe_code)]
pub mod sys;
