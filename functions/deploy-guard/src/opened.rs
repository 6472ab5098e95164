//! An incident opened (the incident table's stream, new items only): when the service it
//! names was deployed shortly before its onset, that deployment is judged now, whatever its
//! bake window says (the incident may open after the window, or before it has enough
//! minutes), and the incident gets the verdict on its timeline, once per deployment: likely,
//! unlikely or inconclusive, with the numbers. A likely verdict also opens the
//! `deploy-regression` incident and rolls back, exactly as the schedule would (both are
//! once per deployment, so the two triggers never act twice).

use std::collections::BTreeMap;

use apptrack_aws::dynamodb::incidents::incident_from_stream_image;
use apptrack_core::clock::Clock;
use apptrack_core::deploy::correlate::{self, preceding};
use apptrack_core::deploy::signal::Signal;
use apptrack_core::deploy::watch::{self, alias_of};
use apptrack_core::deploy::{
    AliasControl, CodeDeployControl, DeployEventError, DeploySource, DeploymentLog,
};
use apptrack_core::forecast::AlarmCatalog;
use apptrack_core::incident::{Incident, IncidentKind};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::scaling::MetricHistory;
use apptrack_core::store::IncidentStore;
use aws_lambda_events::event::dynamodb::Event;
use serde::Deserialize;
use serde_json::Value;

use crate::handler::{Action, Guard, HandlerError, Outcome};

/// Whether `event` is a batch of DynamoDB stream records.
pub(crate) fn is_stream_batch(event: &Value) -> bool {
    event
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:dynamodb")
}

/// The incident a record opened: a new item, an incident of another kind than deploy-guard's
/// own, still active. A record that cannot be read is logged and skipped: the notifier and
/// the table itself keep it, and retrying it would never succeed.
fn opened(record: &aws_lambda_events::event::dynamodb::EventRecord) -> Option<Incident> {
    if record.event_name != "INSERT" {
        return None;
    }
    match incident_from_stream_image(&record.change.new_image) {
        Ok(Some(i)) if i.kind != IncidentKind::DeployRegression && i.status.is_active() => Some(i),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, event_id = %record.event_id, "skipping an unreadable incident image");
            None
        }
    }
}

impl<D, M, W, S, A, C, L, K> Guard<D, M, W, S, A, C, L, K>
where
    D: DeploymentLog,
    M: MetricHistory,
    W: AlarmCatalog,
    S: IncidentStore,
    A: AliasControl,
    C: CodeDeployControl,
    L: ActionLedger,
    K: Clock,
{
    pub(crate) async fn incidents_opened(&self, event: &Value) -> Result<Outcome, HandlerError> {
        let batch = Event::deserialize(event).map_err(|e| {
            tracing::warn!(error = %e, "not a DynamoDB stream batch");
            HandlerError::BadEvent(DeployEventError::WrongType {
                field: "Records".into(),
                expected: "DynamoDB stream records",
            })
        })?;
        // Per service, read once per batch: its deployments, and its tagged alarms.
        let mut deployments: BTreeMap<String, Vec<_>> = BTreeMap::new();
        let mut signals: BTreeMap<String, Vec<Signal>> = BTreeMap::new();
        let mut watched = Vec::new();
        for incident in batch.records.iter().filter_map(opened) {
            if !deployments.contains_key(&incident.service) {
                let theirs: Vec<_> = self
                    .recent(&incident.service)
                    .await?
                    .into_iter()
                    .filter(|d| d.source != DeploySource::Apptrack)
                    .collect();
                deployments.insert(incident.service.clone(), theirs);
            }
            let theirs = deployments
                .get(&incident.service)
                .map_or(&[][..], Vec::as_slice);
            let Some(d) = preceding(
                theirs,
                &incident.service,
                incident.first_seen,
                correlate::DEFAULT_WINDOW,
            ) else {
                continue;
            };
            if !signals.contains_key(&d.service) {
                let found = self.signals(Some(&d.service)).await?;
                signals.insert(
                    d.service.clone(),
                    found.get(&d.service).cloned().unwrap_or_default(),
                );
            }
            let service_signals = signals.get(&d.service).map_or(&[][..], Vec::as_slice);
            if alias_of(d).is_none() && service_signals.is_empty() {
                continue;
            }
            let (w, judged) = self.judge_and_act(d, service_signals).await?;
            if w.incident_id.is_some() {
                // A likely regression was told on every active incident of the service since
                // the deployment, this one included (`tell_related`).
                watched.push(w);
                continue;
            }
            let on = judged.map_or_else(|| "nothing".to_owned(), |j| j.label());
            let detail = format!(
                "deployment {} ({}) began {} min before this incident and {}, judged on {on}: {}{}",
                d.id,
                d.describe(),
                incident.first_seen.since(d.started_at).as_secs() / 60,
                watch::verdict_phrase(w.verdict),
                w.why,
                w.incident_id
                    .as_ref()
                    .map_or_else(String::new, |id| format!("; see incident {}", id.as_str()))
            );
            self.note_verdict(&incident.id, &d.id, "opened", &detail)
                .await?;
            watched.push(w);
        }
        Ok(Outcome {
            action: Action::Judged,
            detail: format!(
                "{} opened incidents followed a deployment and were judged",
                watched.len()
            ),
            deployment: None,
            watched,
        })
    }
}
