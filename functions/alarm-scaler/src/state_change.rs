//! The other alarm transitions: an alarm with no group in ALARM records a performance or
//! availability incident; OK resolves the alarm's incident; INSUFFICIENT_DATA is a note.

use apptrack_core::alarm::metric_context;
use apptrack_core::clock::Clock;
use apptrack_core::failure::during;
use apptrack_core::incident::{Incident, IncidentError};
use apptrack_core::ledger::{ActionLedger, Completion, note_key};
use apptrack_core::scaling::{
    AlarmReader, CapacityController, InstanceDirectory, InstanceHealth, MetricReader, ScaleOutLog,
};
use apptrack_core::store::{IncidentStore, StoreError};

use crate::handler::{Action, Alarm, Claimed, HandlerError, Outcome, Scaler};
use crate::outcome::{outcome, with_group};

impl<A, M, C, H, L, O, S, K> Scaler<A, M, C, H, L, O, S, K>
where
    A: AlarmReader,
    M: MetricReader,
    C: CapacityController + InstanceDirectory,
    H: InstanceHealth,
    L: ActionLedger,
    O: ScaleOutLog,
    S: IncidentStore,
    K: Clock,
{
    pub(crate) async fn on_alarm_without_group(
        &self,
        alarm: &Alarm,
    ) -> Result<Outcome, HandlerError> {
        let ctx = metric_context(&alarm.event, alarm.direction);
        let id = self.raise(alarm, &ctx).await?;
        let mut detail = ctx.summary;
        if let Some((instance, None)) = &alarm.instance {
            let whereabouts = self.whereabouts(alarm, instance).await?;
            self.note(&id, &alarm.transition(), "located", &whereabouts)
                .await?;
            detail = format!("{detail}; {whereabouts}");
        }
        Ok(Outcome {
            incident_id: Some(id),
            ..outcome(&alarm.event, Action::IncidentRecorded, detail)
        })
    }

    async fn active_incident(&self, alarm: &Alarm) -> Result<Option<Incident>, HandlerError> {
        let ctx = metric_context(&alarm.event, alarm.direction);
        for key in alarm.dedup_keys(&ctx)? {
            let found = self
                .incidents
                .active_for_key(&key)
                .await
                .map_err(during("finding the open incident"))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    pub(crate) async fn on_ok(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let Some(inc) = self.active_incident(alarm).await? else {
            return Ok(with_group(
                alarm,
                outcome(&alarm.event, Action::Nothing, "no open incident".into()),
            ));
        };
        let detail = format!("alarm returned to OK: {}", alarm.event.reason);
        let entry = self.entry("resolved", &detail);
        match self
            .incidents
            .resolve(&inc.id, &entry, self.settings.store.retention)
            .await
        {
            // A concurrent delivery resolved it first: the same end state.
            Ok(_) | Err(StoreError::Invalid(IncidentError::InvalidTransition { .. })) => {}
            Err(e) => return Err(during("resolving the incident")(e).into()),
        }
        Ok(Outcome {
            incident_id: Some(inc.id),
            ..with_group(alarm, outcome(&alarm.event, Action::Resolved, detail))
        })
    }

    pub(crate) async fn on_insufficient_data(
        &self,
        alarm: &Alarm,
    ) -> Result<Outcome, HandlerError> {
        let Some(inc) = self.active_incident(alarm).await? else {
            return Ok(with_group(
                alarm,
                outcome(&alarm.event, Action::Nothing, "no open incident".into()),
            ));
        };
        let detail = format!(
            "alarm has insufficient data; not acted on: {}",
            alarm.event.reason
        );
        let transition = alarm.transition();
        let done = |action, detail: String| {
            Ok(Outcome {
                incident_id: Some(inc.id.clone()),
                ..with_group(alarm, outcome(&alarm.event, action, detail))
            })
        };
        // The ledger keeps redeliveries from writing the note twice.
        let token = match self.claim(&transition).await? {
            Claimed::Acquired { token, .. } => token,
            Claimed::Settled(o) => return done(o.0, o.1),
        };
        let written = self
            .incidents
            .append_timeline_once(
                &inc.id,
                &self.entry("noted", &detail),
                &note_key(&transition, "noted"),
            )
            .await;
        if let Err(e) = written {
            self.release(&transition, &token).await;
            return Err(during("noting insufficient data")(e).into());
        }
        self.complete(&transition, &token, Completion::Done(detail.clone()))
            .await?;
        done(Action::Noted, detail)
    }
}
