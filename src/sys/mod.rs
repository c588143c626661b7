//! execnet's raw OS calls (each `unsafe` block with its `SAFETY` comment).

pub mod pidns;
