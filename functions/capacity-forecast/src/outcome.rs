//! What a capacity-forecast run did, as returned and logged.

use apptrack_core::forecast::Forecast;
use apptrack_core::forecast::episode::Assessment;
use apptrack_core::forecast::target::Skipped;
use apptrack_core::incident::IncidentId;
use serde::Serialize;

/// One target's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetOutcome {
    pub alarm: String,
    /// `at-risk`, `watch`, `calm`, or absent when no forecast could be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    /// The forecast line, or why there is none.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// What happened to the incident: `opened`, `updated`, `escalated`, `resolved`, `unchanged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<&'static str>,
    /// The preventive scale-out: done, why not, or dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The target failed this run (retryably: the run is retried; permanently: said here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The run's slot (its schedule period's start): redeliveries share it.
    pub slot: String,
    pub targets: Vec<TargetOutcome>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// GetMetricData calls this run made.
    pub metric_calls: u64,
}
