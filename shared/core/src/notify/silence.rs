//! Silences: "hold the notifications of this service (of this kind) for a while". A silenced
//! incident is still recorded, with a timeline note, and notifies when the silence ends if it
//! is still active.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::incident::{Incident, IncidentKind};

/// The longest silence: one that outlives a week is a forgotten switch, not a maintenance.
pub const MAX_SILENCE: Duration = Duration::from_secs(7 * 86_400);
/// How long an ended silence stays listed, so the schedule can tell what it held.
pub const KEEP_ENDED: Duration = Duration::from_secs(86_400);
const MAX_NOTE_CHARS: usize = 500;

/// A silence as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// A ULID: sortable by creation.
    pub id: String,
    pub service: String,
    /// Only this kind of the service's incidents; every kind when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IncidentKind>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub created_by: String,
}

/// A silence that cannot be made as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("a silence needs a service (the incidents' `service`)")]
    NoService,
    #[error("a silence lasts from 1 minute to 7 days, not {0}")]
    Duration(String),
}

impl Silence {
    /// A silence of `service` (one `kind` of it, or all) for `length` from `now`.
    pub fn new(
        id: String,
        service: &str,
        kind: Option<IncidentKind>,
        length: Duration,
        note: &str,
        created_by: &str,
        now: Timestamp,
    ) -> Result<Self, SilenceError> {
        let service = service.trim();
        if service.is_empty() {
            return Err(SilenceError::NoService);
        }
        if length < Duration::from_secs(60) || length > MAX_SILENCE {
            return Err(SilenceError::Duration(
                humantime::format_duration(length).to_string(),
            ));
        }
        Ok(Silence {
            id,
            service: service.to_owned(),
            kind,
            starts_at: now,
            ends_at: now.saturating_add(length),
            note: crate::incident::truncate_chars(note.trim(), MAX_NOTE_CHARS),
            created_by: created_by.to_owned(),
        })
    }

    /// Whether the silence is about this incident (its service, and its kind if it names one).
    pub fn covers(&self, inc: &Incident) -> bool {
        self.service == inc.service && self.kind.as_ref().is_none_or(|k| *k == inc.kind)
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether the silence holds this incident's notifications at `now`.
    pub fn holds(&self, inc: &Incident, now: Timestamp) -> bool {
        self.is_active(now) && self.covers(inc)
    }

    /// When the store may forget it (DynamoDB TTL).
    pub fn forget_at(&self) -> Timestamp {
        self.ends_at.saturating_add(KEEP_ENDED)
    }
}

/// The first silence that holds `inc` at `now`.
pub fn holding<'a>(silences: &'a [Silence], inc: &Incident, now: Timestamp) -> Option<&'a Silence> {
    silences.iter().find(|s| s.holds(inc, now))
}
