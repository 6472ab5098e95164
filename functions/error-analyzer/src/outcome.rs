//! What an error-analyzer invocation did, as returned and logged.

use apptrack_core::incident::RaiseKind;
use serde::Serialize;

/// One incident raised for a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaisedIncident {
    pub kind: String,
    pub id: String,
    pub raise: RaiseKind,
    pub title: String,
}

/// What an invocation did; returned to the caller and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Outcome {
    /// `processed`, `duplicate`, `control-skipped` or `resolve-quiet`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    pub lines: u64,
    pub error_lines: u64,
    pub unparsed_lines: u64,
    pub patterns: usize,
    /// Counter and pattern writes applied now, and those an earlier delivery had applied.
    pub writes_applied: usize,
    pub writes_skipped: usize,
    pub incidents: Vec<RaisedIncident>,
    pub resolved: Vec<String>,
}
