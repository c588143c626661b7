//! A plugin call as the manager reports it: the action, the raw run, and for `status` the
//! parsed result. This is the unit every transcript is made of, and the JSON of `execnet call`.

use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::gotext;
use super::invoke::{Action, Outcome, RawCall};
use super::status::StatusResult;

/// One call through the reference manager.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub action: Action,
    pub raw: RawCall,
    /// Set for `status` calls: what the kubelet made of the output.
    pub status: Option<StatusResult>,
}

impl CallRecord {
    pub fn argv(&self) -> &[String] {
        &self.raw.argv
    }

    pub fn outcome(&self) -> &Outcome {
        &self.raw.outcome
    }

    pub fn succeeded(&self) -> bool {
        self.raw.outcome.is_success()
    }

    pub fn duration(&self) -> Duration {
        self.raw.duration
    }

    /// The combined output as text (invalid UTF-8 replaced), as the kubelet logged it.
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.output).into_owned()
    }

    /// The arguments after the executable: `<action> <ns> <name> <id>`.
    pub fn args(&self) -> &[String] {
        self.raw.argv.get(1..).unwrap_or(&[])
    }
}

impl Serialize for CallRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = &self.raw;
        let mut s = serializer.serialize_struct("CallRecord", 14)?;
        s.serialize_field("action", self.action.as_str())?;
        s.serialize_field("argv", &raw.argv)?;
        s.serialize_field("exit_code", &raw.outcome.exit_code())?;
        s.serialize_field("signal", &raw.outcome.signal().map(gotext::signal_name))?;
        s.serialize_field("error", &raw.outcome.error())?;
        s.serialize_field("output", &self.output_text())?;
        s.serialize_field("truncated", &raw.truncated)?;
        s.serialize_field(
            "timed_out",
            &matches!(raw.outcome, Outcome::TimedOut { .. }),
        )?;
        s.serialize_field("leaked", &raw.leaked)?;
        s.serialize_field("duration_ms", &(raw.duration.as_secs_f64() * 1000.0))?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("output_bytes", &raw.output_bytes)?;
        s.serialize_field("group_survived", &raw.group_survived)?;
        s.serialize_field("leftovers", &raw.leftovers)?;
        s.end()
    }
}
