//! The deploy-guard handler: decodes a deployment announcement, names the version it moved
//! away from when the announcement does not (a Lambda alias update says only where it went:
//! the target's previous marker says where it was), and records the marker once.

use apptrack_core::clock::Clock;
use apptrack_core::deploy::{
    AliasControl, Announcement, CodeDeployControl, Deployment, DeploymentLog, decode,
    previous_version,
};
use apptrack_core::failure::during;
use apptrack_core::forecast::AlarmCatalog;
use apptrack_core::ledger::ActionLedger;
use apptrack_core::scaling::MetricHistory;
use apptrack_core::store::IncidentStore;
use apptrack_lambda::Function;
use serde_json::Value;

pub use crate::error::HandlerError;
pub use crate::outcome::{Action, Outcome, Watched};
pub use crate::settings::Settings;

/// The event the bake-window schedule sends.
pub const DEPLOY_WATCH: &str = "deploy-watch";

/// The handler's ports, clock and settings.
pub struct Guard<D, M, W, S, A, C, L, K> {
    pub log: D,
    /// The services' metrics (GetMetricData), for the regression verdict.
    pub metrics: M,
    /// The CloudWatch alarms tagged `apptrack:service`: what any deployment of that service
    /// is judged on besides a Lambda alias's own metrics.
    pub alarms: W,
    pub incidents: S,
    /// Lambda aliases, for the rollback.
    pub aliases: A,
    /// CodeDeploy, to stop a running deployment with its own rollback.
    pub codedeploy: C,
    /// Exactly-once rollbacks, one claim per deployment (namespace ROLLBACK).
    pub ledger: L,
    pub clock: K,
    pub settings: Settings,
}

impl<D, M, W, S, A, C, L, K> Function for Guard<D, M, W, S, A, C, L, K>
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
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Guard::handle(self, event).await
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
    pub async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        if event.get("apptrack").and_then(Value::as_str) == Some(DEPLOY_WATCH) {
            return self.watch().await;
        }
        if crate::opened::is_stream_batch(event) {
            return self.incidents_opened(event).await;
        }
        let mut marker = match decode(event)? {
            Announcement::Deployment(d) => d,
            Announcement::Ignored(why) => {
                return Ok(Outcome {
                    action: Action::Ignored,
                    detail: why,
                    deployment: None,
                    watched: Vec::new(),
                });
            }
        };
        // Only an announcement that does not say where the target came from needs the
        // target's earlier markers.
        if marker.from_version.is_none() {
            let recent = self.recent(&marker.service).await?;
            marker.from_version = previous_version(&recent, &marker);
        }
        let (recorded, changed) = self
            .log
            .record(&marker)
            .await
            .map_err(during(format!("recording deployment {}", marker.id)))?;
        let action = if changed {
            Action::Recorded
        } else {
            Action::Unchanged
        };
        Ok(Outcome {
            action,
            detail: format!(
                "{} ({}, {})",
                recorded.describe(),
                recorded.source,
                recorded.state
            ),
            deployment: Some(recorded),
            watched: Vec::new(),
        })
    }

    pub(crate) async fn recent(&self, service: &str) -> Result<Vec<Deployment>, HandlerError> {
        let since = self.clock.now().saturating_sub(self.settings.lookback);
        self.log
            .list(Some(service), since)
            .await
            .map_err(|e| during(format!("listing the deployments of {service}"))(e).into())
    }
}
