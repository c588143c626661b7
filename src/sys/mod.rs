//! execnet's raw OS calls (each `unsafe` block with its `SAFETY` comment).

pub mod marker;
pub mod pidns;
