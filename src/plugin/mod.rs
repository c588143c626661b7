//! The reference plugin manager, kubelet-exact: names, probe, selection, invocation and status
//! parsing, plus the safety features execnet adds (timeout, leak window, output cap, fd hygiene).

pub mod call;
pub mod goip;
pub mod gojson;
pub mod gotext;
pub mod invoke;
pub mod name;
pub mod policy;
pub mod probe;
pub mod select;
pub mod status;

pub use call::CallRecord;
pub use invoke::{Action, Direct, Leftover, Outcome, RawCall, Runner};
pub use policy::CallPolicy;
pub use probe::{Probe, ProbedPlugin, probe};
pub use select::{
    ExecPlugin, NOOP_NAME, NetworkPlugin, Selection, SelectionError, SelectionTexts, select,
};
pub use status::StatusResult;
