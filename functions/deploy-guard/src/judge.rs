//! One judgement of one deployment, whichever trigger asks for it (the bake-window schedule,
//! or an incident that opened after the deployment): the Lambda alias's own p99 `Duration`
//! and error rate when the deployment moved an alias, and the metric of every alarm tagged
//! with the deployment's service, all read in one GetMetricData and each judged against the
//! time before the deployment (a weighted alias: version against version in the same
//! minutes). A likely regression opens one `deploy-regression` incident per deployment, is
//! told on the service's other active incidents, and is rolled back where that is allowed.

use std::collections::BTreeMap;

use apptrack_core::alarm::incident::SERVICE_TAG;
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::deploy::signal::{self, Signal};
use apptrack_core::deploy::stats::{Judgement, Verdict};
use apptrack_core::deploy::watch::{self, Judged, alias_of};
use apptrack_core::deploy::{AliasControl, CodeDeployControl, Deployment, DeploymentLog};
use apptrack_core::failure::during;
use apptrack_core::forecast::AlarmCatalog;
use apptrack_core::incident::IncidentId;
use apptrack_core::ledger::ActionLedger;
use apptrack_core::scaling::MetricHistory;
use apptrack_core::store::IncidentStore;

use crate::handler::{Guard, HandlerError, Watched};

/// What one judgement decided.
pub(crate) struct Decided {
    pub judged: Option<Judged>,
    pub judgement: Judgement,
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
    /// The signals of each service (`service`: of that one only), from the alarms tagged
    /// `apptrack:service`; the alarms that cannot be one are logged.
    pub(crate) async fn signals(
        &self,
        service: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<Signal>>, HandlerError> {
        let specs = self
            .alarms
            .tagged(&self.settings.alarm_prefix, SERVICE_TAG, service)
            .await
            .map_err(during(format!("listing the alarms tagged {SERVICE_TAG}")))?;
        let (signals, skipped) = signal::by_service(&specs);
        for s in &skipped {
            tracing::info!(alarm = %s.alarm, why = %s.why, "alarm not used to judge deployments");
        }
        Ok(signals)
    }

    /// Judges `d` at `now` on its alias (when it moved one) and on `signals`.
    pub(crate) async fn judge(
        &self,
        d: &Deployment,
        signals: &[Signal],
        now: Timestamp,
    ) -> Result<Decided, HandlerError> {
        let policy = &self.settings.watch;
        let alias = alias_of(d);
        let reads = match alias {
            Some((function, alias)) => {
                // A weighted alias still serving both versions: the new one against the old
                // one in the same minutes (ExecutedVersion), which neither traffic shape nor
                // time of day can bias; otherwise the alias after the deployment against
                // before it.
                let current = self
                    .aliases
                    .alias(function, alias)
                    .await
                    .map_err(during(format!("reading alias {function}:{alias}")))?;
                let split = current.as_ref().and_then(|a| watch::canary(d, a));
                watch::reads(d, (function, alias), split, now, policy).with_signals(signals)
            }
            None => watch::signal_reads(d, signals, now, policy),
        };
        if reads.requests.is_empty() {
            return Ok(Decided {
                judged: None,
                judgement: watch::nothing_to_judge(d),
            });
        }
        let got = self
            .metrics
            .read(&reads.requests, reads.start, reads.end)
            .await
            .map_err(during(format!("reading the metrics {} is judged on", d.id)))?;
        let mut judgements = Vec::new();
        if alias.is_some() {
            let (before, after) = reads.sides(&got);
            judgements.push((
                Judged::Latency,
                policy.test.judge(&before.latency, &after.latency),
            ));
            judgements.push((
                Judged::ErrorRate,
                policy.rate.judge(
                    (before.errors, before.invocations),
                    (after.errors, after.invocations),
                ),
            ));
        }
        for (s, (before, after)) in signals.iter().zip(reads.signal_sides(&got)) {
            judgements.push((
                Judged::Alarm(s.label()),
                policy.test.judge_toward(&before, &after, s.worse),
            ));
        }
        let Some((judged, judgement)) = watch::decide(&judgements).cloned() else {
            return Ok(Decided {
                judged: None,
                judgement: watch::nothing_to_judge(d),
            });
        };
        let mut judgement = judgement;
        if let Some((old, new)) = reads.versions() {
            judgement.why = format!(
                "canary: version {new} against {old} in the same minutes (ExecutedVersion); {}",
                judgement.why
            );
        }
        Ok(Decided {
            judged: Some(judged),
            judgement,
        })
    }

    /// Judges `d` and acts on a likely regression: its incident, the note on the service's
    /// other incidents, the rollback.
    pub(crate) async fn judge_and_act(
        &self,
        d: &Deployment,
        signals: &[Signal],
    ) -> Result<(Watched, Option<Judged>), HandlerError> {
        let now = self.clock.now();
        let Decided { judged, judgement } = self.judge(d, signals, now).await?;
        let (incident_id, action) = match &judged {
            Some(judged) if watch::opens_incident(&judgement) => {
                let id = self.regressed(d, judged, &judgement, signals).await?;
                (Some(id.0), Some(id.1))
            }
            _ => (None, None),
        };
        Ok((
            Watched {
                deployment: d.id.clone(),
                target: d.target.clone(),
                verdict: judgement.verdict,
                judged_on: judged.as_ref().map(Judged::label),
                why: judgement.why,
                incident_id,
                action,
            },
            judged,
        ))
    }

    async fn regressed(
        &self,
        d: &Deployment,
        judged: &Judged,
        judgement: &Judgement,
        signals: &[Signal],
    ) -> Result<(IncidentId, String), HandlerError> {
        debug_assert_eq!(judgement.verdict, Verdict::Likely);
        let occ = watch::regression(d, judged, judgement, self.clock.now())?;
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(during(format!("recording the regression of {}", d.id)))?;
        self.tell_related(d, &raised.id, judged, judgement).await?;
        let action = self.roll_back(d, &raised.id, signals).await?;
        Ok((raised.id, action))
    }
}
