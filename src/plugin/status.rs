//! STUB
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum StatusResult {
    None,
    Status { ip: Option<String> },
    Error { message: String },
}
pub fn parse_status(output: &[u8], _pod_name: &str) -> StatusResult {
    if output.is_empty() {
        StatusResult::None
    } else {
        StatusResult::Error {
            message: "stub".into(),
        }
    }
}
