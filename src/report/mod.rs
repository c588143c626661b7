//! Reports: renderings of a certification [`Report`](crate::certify::Report) as text for
//! people, JSON for tools (SPEC 5) and JUnit XML for CI. Consumers of results, never producers.

pub mod junit;
pub mod progress;
pub mod text;

/// The JSON report: `{"plugin", "kubelet", "verdict", "checks": [...]}` plus extensions.
pub fn json(report: &crate::certify::Report) -> String {
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}
