//! Telling people: which changes of an incident become a notification, under which key
//! each is sent once, and the ports a notifier publishes and reads silences through.
//!
//! The notifier reads the incident table's stream, so every function's incidents notify
//! without remembering to. One stream record (the incident before and after one write)
//! becomes at most one notice ([`from_change`]); the schedule adds reminders and the ends of
//! silences ([`reminder`], [`silence_ended`]). Every notice has an id ([`Notice::id`]) that
//! is both its exactly-once key in the action ledger (namespace `NOTIFY`) and the id a
//! subscriber dedupes on.
//!
//! - `message`: the SNS message (AWS's custom chat notification format) and its attributes.
//! - `silence`: silences (a service, optionally one kind, for a while).
//! - `memory`: in-memory adapters for unit tests.

pub mod memory;
pub mod message;
pub mod silence;

use std::future::Future;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::failure::Failure;
use crate::incident::{Incident, Severity, Status};
use crate::ledger::LedgerError;
use crate::store::StoreError;

pub use message::{Message, render};
pub use silence::{Silence, SilenceError};

/// The ledger namespace of notifications: claims `NOTIFY#<notice id>` in `STATE_TABLE`.
pub const NOTIFY_NAMESPACE: &str = "NOTIFY";

/// How often people hear about one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyPolicy {
    /// At most one "counts went up" update per incident per this interval (`APPTRACK_NOTIFY_GROUP_MINUTES`).
    pub group_interval: Duration,
    /// A reminder per this interval while an incident stays open and unacknowledged
    /// (`APPTRACK_NOTIFY_REPEAT_MINUTES`).
    pub repeat_interval: Duration,
    /// Incidents less urgent than this do not notify (`APPTRACK_NOTIFY_MIN_SEVERITY`).
    pub min_severity: Severity,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy {
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            min_severity: Severity::Info,
        }
    }
}

/// What happened to an incident that people should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    Opened,
    /// Opened again after it was resolved (`regression_of` names the earlier incident).
    Regression,
    SeverityRaised,
    Acknowledged,
    Resolved,
    /// More occurrences; rate-limited to one per group interval.
    Updated,
    /// Still open and unacknowledged after another repeat interval.
    Reminder,
    /// A silence that held the incident's notifications ended and it is still active.
    SilenceEnded,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Opened => "opened",
            Change::Regression => "regression",
            Change::SeverityRaised => "severity-raised",
            Change::Acknowledged => "acknowledged",
            Change::Resolved => "resolved",
            Change::Updated => "updated",
            Change::Reminder => "reminder",
            Change::SilenceEnded => "silence-ended",
        }
    }
}

/// One notification to send (or to hold, when silenced).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub change: Change,
    /// The incident as it is after the change.
    pub incident: Incident,
    /// When the change happened (the stream record's time, or the schedule's run).
    pub at: Timestamp,
    /// What the change was, in a few words ("severity high -> critical", "count 12 -> 40").
    pub detail: String,
    /// What makes this notice unique among the incident's notices of its kind: empty for a
    /// transition that happens once (opened, resolved), the severity for an escalation, the
    /// group slot for an update, the reminder's number, the silence's id.
    discriminator: String,
}

impl Notice {
    /// The notice's id: its exactly-once key and what a subscriber dedupes on. Stable for
    /// every delivery of the same change.
    pub fn id(&self) -> String {
        let base = format!("{}:{}", self.incident.id, self.change.as_str());
        if self.discriminator.is_empty() {
            base
        } else {
            format!("{base}:{}", self.discriminator)
        }
    }
}

fn notice(change: Change, inc: &Incident, at: Timestamp, detail: String, disc: String) -> Notice {
    Notice {
        change,
        incident: inc.clone(),
        at,
        detail,
        discriminator: disc,
    }
}

/// The slot of `at` in whole group intervals since the epoch: one update per slot.
fn slot(at: Timestamp, every: Duration) -> i64 {
    let ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    at.as_millis().div_euclid(ms)
}

/// What a write to an incident (its image `old` before and `new` after, written at `at`)
/// tells people, if anything. One notice at most: a transition carries the counts, so an
/// update is only sent when nothing else changed.
pub fn from_change(
    old: Option<&Incident>,
    new: &Incident,
    at: Timestamp,
    policy: &NotifyPolicy,
) -> Option<Notice> {
    let n = |change, detail: String, disc: String| Some(notice(change, new, at, detail, disc));
    let Some(old) = old else {
        if new.severity > policy.min_severity || !new.status.is_active() {
            return None;
        }
        return match &new.regression_of {
            Some(earlier) => n(
                Change::Regression,
                format!("again after {earlier} was resolved"),
                String::new(),
            ),
            None => n(Change::Opened, "opened".into(), String::new()),
        };
    };
    if old.status.is_active() && new.status == Status::Resolved {
        // Resolved always tells, even below the minimum severity once opened above it.
        return (old.severity <= policy.min_severity)
            .then(|| notice(Change::Resolved, new, at, "resolved".into(), String::new()));
    }
    if new.severity > policy.min_severity || !new.status.is_active() {
        return None;
    }
    if new.severity < old.severity {
        let detail = format!("severity {} -> {}", old.severity, new.severity);
        return n(Change::SeverityRaised, detail, new.severity.to_string());
    }
    if old.status == Status::Open && new.status == Status::Acknowledged {
        return n(Change::Acknowledged, "acknowledged".into(), String::new());
    }
    if new.count > old.count {
        let detail = format!("count {} -> {}", old.count, new.count);
        let disc = slot(at, policy.group_interval).to_string();
        return n(Change::Updated, detail, disc);
    }
    None
}

/// A duration to the minute, as people say it ("4h 30m").
pub fn words(d: Duration) -> String {
    let minutes = Duration::from_secs(d.as_secs() / 60 * 60);
    if minutes.is_zero() {
        return "under a minute".into();
    }
    humantime::format_duration(minutes).to_string()
}

/// The reminder due for an open, unacknowledged incident at `now`: the k-th after k repeat
/// intervals since it opened, so every run of the schedule in between names the same one.
pub fn reminder(inc: &Incident, now: Timestamp, policy: &NotifyPolicy) -> Option<Notice> {
    if inc.status != Status::Open || inc.severity > policy.min_severity {
        return None;
    }
    let every = policy.repeat_interval.as_millis().max(1);
    let open_for = now.since(inc.first_seen).as_millis();
    let k = open_for / every;
    (k >= 1).then(|| {
        let detail = format!("still open after {}", words(now.since(inc.first_seen)));
        notice(Change::Reminder, inc, now, detail, k.to_string())
    })
}

/// The notice that `ended` (a silence that has ended) no longer holds an active incident,
/// unless another silence still does. Only incidents the silence held (they were active
/// while it ran) are told.
pub fn silence_ended(
    inc: &Incident,
    ended: &Silence,
    silences: &[Silence],
    now: Timestamp,
    policy: &NotifyPolicy,
) -> Option<Notice> {
    if !inc.status.is_active()
        || inc.severity > policy.min_severity
        || ended.ends_at > now
        || !ended.covers(inc)
        || inc.first_seen >= ended.ends_at
        || silences.iter().any(|s| s.holds(inc, now))
    {
        return None;
    }
    let detail = format!("silence {} ended; still {}", ended.id, inc.status);
    Some(notice(
        Change::SilenceEnded,
        inc,
        now,
        detail,
        ended.id.clone(),
    ))
}

/// Why a notification could not be published.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Throttling, a timeout, an outage: the same publish may succeed later.
    #[error("notifications temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("topic {0} not found")]
    TopicNotFound(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The service refused the message as invalid; resending it cannot help.
    #[error("message rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("notification ledger: {0}")]
    Ledger(#[from] LedgerError),
}

impl Failure for NotifyError {
    fn kind(&self) -> &'static str {
        match self {
            NotifyError::Unavailable(_) => "Unavailable",
            NotifyError::TopicNotFound(_) => "TopicNotFound",
            NotifyError::AccessDenied(_) => "AccessDenied",
            NotifyError::Rejected(_) => "Rejected",
            NotifyError::Store(e) => e.kind(),
            NotifyError::Ledger(LedgerError::TakenOver(_)) => "TakenOver",
            NotifyError::Ledger(LedgerError::Store(e)) => e.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Unavailable(_) => true,
            NotifyError::Store(e) | NotifyError::Ledger(LedgerError::Store(e)) => e.is_retryable(),
            NotifyError::Ledger(LedgerError::TakenOver(_)) => true,
            _ => false,
        }
    }
}

/// Publishes a notification (SNS in production).
pub trait Publisher: Send + Sync {
    /// Publishes `message` to its topic; the answer is the message id the service gave it.
    fn publish(
        &self,
        message: &Message,
    ) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// Silences: what holds notifications back for a while.
pub trait SilenceBook: Send + Sync {
    /// Every silence that has not expired from the store (active, future and recently ended).
    fn list(&self) -> impl Future<Output = Result<Vec<Silence>, StoreError>> + Send;

    fn add(&self, silence: &Silence) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends a silence now (`Ok(false)` when it had already ended); it stays listed for a day,
    /// so the notifier can tell the incidents it held.
    fn expire(
        &self,
        id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests;
