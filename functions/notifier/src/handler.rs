//! The notifier handler: dispatches a stream batch or the schedule's run, and delivers one
//! notice under its exactly-once claim (namespace NOTIFY): held by a silence (noted once on
//! the incident's timeline), or published once.

use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::incident::TimelineEntry;
use apptrack_core::ledger::{self, ActionLedger, Settled, note_key};
use apptrack_core::notify::silence::holding;
use apptrack_core::notify::{Notice, NotifyError, Publisher, Silence, SilenceBook, render};
use apptrack_core::store::IncidentStore;
use apptrack_lambda::Function;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::error::HandlerError;
use crate::error::bad_event;
pub use crate::outcome::{Fate, Notified, Outcome};
pub use crate::settings::Settings;

/// The event the schedule sends: reminders and the ends of silences.
pub const NOTIFY_SWEEP: &str = "notify-sweep";

/// The handler's ports, clock and settings.
pub struct Notifier<P, S, B, L, K> {
    /// SNS.
    pub publisher: P,
    /// The incidents: read by the sweep, and noted when a silence holds a notice.
    pub incidents: S,
    pub silences: B,
    /// Exactly-once notifications, one claim per notice (namespace NOTIFY).
    pub ledger: L,
    pub clock: K,
    pub settings: Settings,
}

/// What a claim holder records before it acts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "do")]
enum Intent {
    Publish { topic: String },
    Hold { silence: String },
}

impl<P, S, B, L, K> Function for Notifier<P, S, B, L, K>
where
    P: Publisher,
    S: IncidentStore,
    B: SilenceBook,
    L: ActionLedger,
    K: Clock,
{
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Notifier::handle(self, event).await
    }
}

impl<P: Publisher, S: IncidentStore, B: SilenceBook, L: ActionLedger, K: Clock>
    Notifier<P, S, B, L, K>
{
    pub async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        if event.get("apptrack").and_then(Value::as_str) == Some(NOTIFY_SWEEP) {
            return self.sweep().await;
        }
        if event.get("Records").is_some() {
            return self.stream(event).await;
        }
        Err(bad_event(format!(
            "expected a DynamoDB stream batch (\"Records\") or {{\"apptrack\":\"{NOTIFY_SWEEP}\"}}, got {}",
            apptrack_core::text::prefix_within(&event.to_string(), 200)
        )))
    }

    /// Delivers `notice` once: held when a silence holds it now, published otherwise. Now,
    /// not the stream record's time: DynamoDB gives that only to the second (DynamoDB Local
    /// to the minute), so a silence set just before a change would miss it. A notice is
    /// judged once (its claim settles it), so a later delivery cannot judge it again.
    pub(crate) async fn deliver(
        &self,
        notice: &Notice,
        silences: &[Silence],
    ) -> Result<Notified, HandlerError> {
        let id = notice.id();
        let now = self.clock.now();
        let failed = |e: NotifyError| HandlerError::from(during(format!("notifying {id}"))(e));
        let settled = match holding(silences, &notice.incident, now) {
            Some(silence) => {
                let intent = Intent::Hold {
                    silence: silence.id.clone(),
                };
                ledger::once(&self.ledger, &id, now, &intent, |_| {
                    self.hold(notice, silence, &id, now)
                })
                .await
            }
            None => {
                let topic = self.settings.topic_for(notice.incident.severity);
                let message = render(notice, topic);
                let intent = Intent::Publish {
                    topic: topic.to_owned(),
                };
                // An earlier holder that recorded the same intent may have published and lost
                // the answer: publishing again is the resend a subscriber dedupes on `id`.
                ledger::once(&self.ledger, &id, now, &intent, |_| async {
                    let message_id = self.publisher.publish(&message).await?;
                    let outcome = format!("published {message_id} to {topic}");
                    Ok((Fate::Published(message_id), outcome))
                })
                .await
            }
        }
        .map_err(failed)?;
        let fate = match settled {
            Settled::Acted(fate) => fate,
            Settled::Done(outcome) | Settled::Failed(outcome) => Fate::AlreadyDone(outcome),
            // The holder publishes; if it died, the record's retry takes over after the lease.
            Settled::HeldElsewhere => {
                return Err(failed(NotifyError::Unavailable(format!(
                    "another delivery is sending {id}"
                ))));
            }
        };
        Ok(Notified { id, fate })
    }

    async fn hold(
        &self,
        notice: &Notice,
        silence: &Silence,
        id: &str,
        now: Timestamp,
    ) -> Result<(Fate, String), NotifyError> {
        let detail = format!(
            "{} notification held by silence {} until {} ({})",
            notice.change.as_str(),
            silence.id,
            silence.ends_at,
            if silence.note.is_empty() {
                "no note"
            } else {
                &silence.note
            }
        );
        let entry = TimelineEntry::new(now, "notifier", "notification-silenced", &detail);
        self.incidents
            .append_timeline_once(&notice.incident.id, &entry, &note_key(id, "silenced"))
            .await?;
        Ok((
            Fate::Silenced(silence.id.clone()),
            format!("silenced by {}", silence.id),
        ))
    }
}
