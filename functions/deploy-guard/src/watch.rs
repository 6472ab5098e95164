//! The bake-window schedule (`{"apptrack":"deploy-watch"}`): every Lambda alias deployed
//! within the bake window is judged on its p99 `Duration` and on its error rate (`Errors` /
//! `Invocations`) since the deployment against the hour before it; a likely regression of
//! either opens one `deploy-regression` incident per deployment, with the numbers and the
//! rollback command.

use apptrack_core::clock::Clock;
use apptrack_core::deploy::stats::{Judgement, Verdict};
use apptrack_core::deploy::watch::{self, alias_of};
use apptrack_core::deploy::{AliasControl, CodeDeployControl, Deployment, DeploymentLog};
use apptrack_core::failure::during;
use apptrack_core::incident::{IncidentId, TimelineEntry};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::ledger::note_key;
use apptrack_core::scaling::MetricHistory;
use apptrack_core::store::IncidentStore;
use apptrack_core::store::{PageRequest, TimeRange};

use crate::handler::{Action, Guard, HandlerError, Outcome, Watched};

impl<D, M, S, A, C, L, K> Guard<D, M, S, A, C, L, K>
where
    D: DeploymentLog,
    M: MetricHistory,
    S: IncidentStore,
    A: AliasControl,
    C: CodeDeployControl,
    L: ActionLedger,
    K: Clock,
{
    pub(crate) async fn watch(&self) -> Result<Outcome, HandlerError> {
        let now = self.clock.now();
        let policy = &self.settings.watch;
        let recent = self
            .log
            .list(None, now.saturating_sub(policy.bake))
            .await
            .map_err(during("listing recent deployments"))?;
        let mut watched = Vec::new();
        for d in recent.iter().filter(|d| watch::due(d, now, policy)) {
            let Some((function, alias)) = alias_of(d) else {
                continue;
            };
            // A weighted alias still serving both versions: the new one against the old one in
            // the same minutes (ExecutedVersion), which neither traffic shape nor time of day
            // can bias; otherwise the alias after the deployment against before it. Either way
            // one GetMetricData.
            let current = self
                .aliases
                .alias(function, alias)
                .await
                .map_err(during(format!("reading alias {function}:{alias}")))?;
            let split = current.as_ref().and_then(|a| watch::canary(d, a));
            let reads = watch::reads(d, (function, alias), split, now, policy);
            let got = self
                .metrics
                .read(&reads.requests, reads.start, reads.end)
                .await
                .map_err(during(format!(
                    "reading the p99 Duration, Errors and Invocations of {function}:{alias}"
                )))?;
            let (before, after) = reads.sides(&got);
            let latency_judgement = policy.test.judge(&before.latency, &after.latency);
            let rate_judgement = policy.rate.judge(
                (before.errors, before.invocations),
                (after.errors, after.invocations),
            );
            let (judged, judgement) = watch::deciding(&latency_judgement, &rate_judgement);
            let mut judgement = judgement.clone();
            if let Some((old, new)) = reads.versions() {
                judgement.why = format!(
                    "canary: version {new} against {old} in the same minutes (ExecutedVersion); {}",
                    judgement.why
                );
            }
            let (incident_id, action) = if watch::opens_incident(&judgement) {
                let occ = watch::regression(d, judged, &judgement, now)?;
                let raised = self
                    .incidents
                    .raise(&occ)
                    .await
                    .map_err(during(format!("recording the regression of {}", d.id)))?;
                self.tell_related(d, &raised.id, judged, &judgement).await?;
                let action = self.roll_back(d, &raised.id).await?;
                (Some(raised.id), Some(action))
            } else {
                (None, None)
            };
            watched.push(Watched {
                deployment: d.id.clone(),
                target: d.target.clone(),
                verdict: judgement.verdict,
                why: judgement.why,
                incident_id,
                action,
            });
        }
        let likely = watched
            .iter()
            .filter(|w| w.verdict == Verdict::Likely)
            .count();
        Ok(Outcome {
            action: Action::Watched,
            detail: format!(
                "{} deployments judged, {likely} likely regressions",
                watched.len()
            ),
            deployment: None,
            watched,
        })
    }

    /// The verdict on the service's other active incidents that began after the deployment
    /// (an error burst, a latency alarm): each gets one timeline note naming the deployment,
    /// the numbers and the regression incident, so whoever opens any of them sees the likely
    /// cause. Bounded to one page of the service's incidents.
    async fn tell_related(
        &self,
        d: &Deployment,
        regression: &IncidentId,
        judged: watch::Judged,
        j: &Judgement,
    ) -> Result<(), HandlerError> {
        let now = self.clock.now();
        let page = PageRequest {
            limit: 50,
            cursor: None,
            now,
        };
        let range = TimeRange {
            from: d.started_at,
            to: now.plus_millis(1),
        };
        let related = self
            .incidents
            .list_by_service(&d.service, range, &page)
            .await
            .map_err(during(format!("listing the incidents of {}", d.service)))?;
        let detail = format!(
            "deployment {} ({}) is a likely regression of {}: {}; see incident {}",
            d.id,
            d.describe(),
            judged.label(),
            j.why,
            regression.as_str()
        );
        for i in related
            .items
            .iter()
            .filter(|i| i.status.is_active() && i.id != *regression)
        {
            let entry = TimelineEntry::new(now, watch::SOURCE, "deploy-verdict", &detail);
            self.incidents
                .append_timeline_once(
                    &i.id,
                    &entry,
                    &note_key(&format!("verdict:{}", d.id), "related"),
                )
                .await
                .map_err(during(format!(
                    "noting the verdict on incident {}",
                    i.id.as_str()
                )))?;
        }
        Ok(())
    }
}
