//! What a deploy-guard invocation did, as returned and logged.

use apptrack_core::deploy::Deployment;
use apptrack_core::deploy::stats::Verdict;
use apptrack_core::incident::IncidentId;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The marker was created or learned something new.
    Recorded,
    /// A redelivery: the marker already knew everything the event says.
    Unchanged,
    /// Not a deployment (a PublishVersion alone, a failed API call).
    Ignored,
    /// The schedule's check of the deployments in their bake window.
    Watched,
    /// Incidents opened after a deployment of their service: that deployment judged.
    Judged,
}

/// One deployment judged (by the schedule, or when an incident opened).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Watched {
    pub deployment: String,
    pub target: String,
    pub verdict: Verdict,
    /// What decided the verdict: `p99 Duration`, `the error rate`, or a tagged alarm's metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged_on: Option<String>,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// What was done about a likely regression: rolled back, or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub action: Action,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watched: Vec<Watched>,
}
