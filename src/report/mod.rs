//! Reports: renderings of a certification [`Report`](crate::certify::Report) as text for
//! people, JSON for tools (SPEC 5) and JUnit XML for CI. Consumers of results, never producers:
//! certification hands over data (checks, findings, causes) and all prose about it is written
//! here, `evidence` being the one place a finding is put into words.

pub mod evidence;
pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
pub mod progress;
pub mod text;

pub use json::render as json;
