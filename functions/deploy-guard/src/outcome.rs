//! What a deploy-guard invocation did, as returned and logged.

use apptrack_core::deploy::Deployment;
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub action: Action,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
}
