//! The bake-window schedule (`{"apptrack":"deploy-watch"}`): every deployment within its
//! bake window is judged (`judge.rs`): a Lambda alias on its p99 `Duration` and its error
//! rate, any deployment on the alarms tagged with its service; a likely regression opens one
//! `deploy-regression` incident per deployment, with the numbers and the rollback command.

use std::collections::BTreeMap;

use apptrack_core::clock::Clock;
use apptrack_core::deploy::stats::{Judgement, Verdict};
use apptrack_core::deploy::watch::{self, alias_of};
use apptrack_core::deploy::{AliasControl, CodeDeployControl, Deployment, DeploymentLog};
use apptrack_core::failure::during;
use apptrack_core::forecast::AlarmCatalog;
use apptrack_core::incident::{IncidentId, TimelineEntry};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::ledger::note_key;
use apptrack_core::scaling::MetricHistory;
use apptrack_core::store::IncidentStore;
use apptrack_core::store::{PageRequest, TimeRange};

use crate::handler::{Action, Guard, HandlerError, Outcome};

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
    pub(crate) async fn watch(&self) -> Result<Outcome, HandlerError> {
        let now = self.clock.now();
        let policy = &self.settings.watch;
        let recent = self
            .log
            .list(None, now.saturating_sub(policy.bake))
            .await
            .map_err(during("listing recent deployments"))?;
        let due: Vec<&Deployment> = recent
            .iter()
            .filter(|d| watch::judgeable(d, now, policy))
            .collect();
        // The tagged alarms are read once per run, and only when something is due.
        let signals = if due.is_empty() {
            BTreeMap::new()
        } else {
            self.signals(None).await?
        };
        let mut watched = Vec::new();
        for d in due {
            let theirs = signals.get(&d.service).map_or(&[][..], Vec::as_slice);
            if alias_of(d).is_none() && theirs.is_empty() {
                tracing::info!(deployment = %d.id, service = %d.service, "nothing to judge it on");
                continue;
            }
            let (w, _) = self.judge_and_act(d, theirs).await?;
            watched.push(w);
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
    pub(crate) async fn tell_related(
        &self,
        d: &Deployment,
        regression: &IncidentId,
        judged: &watch::Judged,
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
            self.note_verdict(&i.id, &d.id, "related", &detail).await?;
        }
        Ok(())
    }

    /// The `deploy-verdict` note on `incident` about deployment `deployment`, written once
    /// per `why` it is written for (`related`, `opened`).
    pub(crate) async fn note_verdict(
        &self,
        incident: &IncidentId,
        deployment: &str,
        why: &str,
        detail: &str,
    ) -> Result<(), HandlerError> {
        let entry = TimelineEntry::new(self.clock.now(), watch::SOURCE, "deploy-verdict", detail);
        self.incidents
            .append_timeline_once(
                incident,
                &entry,
                &note_key(&format!("verdict:{deployment}"), why),
            )
            .await
            .map_err(during(format!(
                "noting the verdict on incident {}",
                incident.as_str()
            )))?;
        Ok(())
    }
}
