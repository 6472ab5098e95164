//! What an alarm-scaler invocation did: the action taken and its detail, as returned and logged.

use apptrack_core::alarm::{AlarmEvent, AlarmState};
use apptrack_core::incident::IncidentId;
use serde::Serialize;

use crate::handler::Alarm;

/// What one invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Capacity changed.
    Scaled,
    /// A change was decided and recorded, not made (dry run).
    DryRun,
    /// The policy left the group alone (the reason is in `detail`).
    NoChange,
    /// This transition was already handled by another delivery.
    Duplicate,
    /// Another delivery holds the claim on this transition and acts.
    InProgressElsewhere,
    /// Target tracking manages the alarm.
    Ignored,
    /// An alarm with no group: a performance or availability incident.
    IncidentRecorded,
    /// One instance hot in a quiet group: a hot-instance incident, no capacity added.
    HotInstance,
    /// A hot instance marked unhealthy, so that its group replaces it.
    Replaced,
    Resolved,
    /// INSUFFICIENT_DATA: a timeline note, nothing else.
    Noted,
    /// Nothing to do (e.g. OK with no open incident).
    Nothing,
}

/// The invocation's response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub alarm: String,
    #[serde(serialize_with = "state_as_cloudwatch_spells_it")]
    pub state: AlarmState,
    pub action: Action,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<i32>,
}

fn state_as_cloudwatch_spells_it<S: serde::Serializer>(
    state: &AlarmState,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

pub(crate) fn outcome(event: &AlarmEvent, action: Action, detail: String) -> Outcome {
    Outcome {
        alarm: event.alarm_name.clone(),
        state: event.state,
        action,
        detail,
        group: None,
        incident_id: None,
        desired: None,
    }
}

pub(crate) fn with_group(alarm: &Alarm, o: Outcome) -> Outcome {
    Outcome {
        group: alarm.group.clone(),
        ..o
    }
}
