//! Rolling a regressed Lambda alias back, exactly once per deployment: opt-in per function
//! (tag `apptrack:rollback=auto`; otherwise the incident only advises the command), under a
//! claim of the generic action ledger, only while the alias still points at the regressed
//! version and the old one exists, conditioned on the alias's revision, dry-run aware. The
//! intent is recorded before UpdateAlias, so a lost answer is recorded, never repeated.
//! Guard rails: at most one automatic rollback per target per 24 h, and never back to a
//! version apptrack rolled away from; each rollback is recorded as a marker of its own
//! (source `apptrack`), which is what the guard rails read.

use apptrack_core::clock::Clock;
use apptrack_core::deploy::signal::{self, Signal};
use apptrack_core::deploy::watch::{self, RollbackIntent, alias_of};
use apptrack_core::deploy::{AliasControl, CodeDeployControl, Deployment, DeploymentLog};
use apptrack_core::deploy::{DeploySource, DeployState};
use apptrack_core::failure::{Failure as _, during};
use apptrack_core::forecast::AlarmCatalog;
use apptrack_core::incident::{IncidentId, TimelineEntry};
use apptrack_core::ledger::{ActionLedger, Claim, Completion, Settled, note_key, once};
use apptrack_core::scaling::{MetricHistory, ScalingError};
use apptrack_core::store::IncidentStore;

use crate::handler::{Guard, HandlerError};

/// The ledger namespace of rollbacks.
pub const ROLLBACK_NAMESPACE: &str = "ROLLBACK";

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
    /// What was done about the regression of `d` (its incident is `incident`).
    pub(crate) async fn roll_back(
        &self,
        d: &Deployment,
        incident: &IncidentId,
        signals: &[Signal],
    ) -> Result<String, HandlerError> {
        let Some((function, _)) = alias_of(d) else {
            return self.stop_running(d, incident, signals).await;
        };
        let tags = self
            .aliases
            .tags(function)
            .await
            .map_err(during(format!("reading the tags of {function}")))?;
        if !watch::auto_rollback(&tags) {
            return Ok(format!(
                "advised: tag {function} {}=auto to let apptrack roll back",
                watch::ROLLBACK_TAG
            ));
        }
        let now = self.clock.now();
        let ledger = |e| during("claiming the rollback")(ScalingError::from(e));
        let (token, prior) = match self
            .ledger
            .claim::<RollbackIntent>(&d.id, now)
            .await
            .map_err(ledger)?
        {
            Claim::Acquired {
                token,
                prior_intent,
            } => (token, prior_intent),
            Claim::HeldElsewhere => return Ok("another run is rolling it back".into()),
            Claim::Done { outcome } => return Ok(outcome),
            Claim::Failed { error } => return Ok(format!("rollback failed earlier: {error}")),
        };
        match self.move_back(d, incident, &token, prior).await {
            Ok(detail) => {
                self.ledger
                    .complete(
                        &d.id,
                        &token,
                        &Completion::Done(detail.clone()),
                        self.clock.now(),
                    )
                    .await
                    .map_err(|e| during("recording the rollback")(ScalingError::from(e)))?;
                Ok(detail)
            }
            Err(e) if e.is_retryable() => {
                if let Err(re) = self.ledger.release(&d.id, &token).await {
                    tracing::warn!(error = %re, "could not release the rollback claim; its lease runs out");
                }
                Err(e)
            }
            Err(e) => {
                let detail = format!("could not roll back: {e}");
                self.note(incident, &d.id, "failed", &detail).await?;
                let failed = Completion::Failed(e.to_string());
                if let Err(ce) = self
                    .ledger
                    .complete(&d.id, &token, &failed, self.clock.now())
                    .await
                {
                    tracing::warn!(error = %ce, "could not record the failed rollback");
                }
                Ok(detail)
            }
        }
    }

    async fn move_back(
        &self,
        d: &Deployment,
        incident: &IncidentId,
        token: &str,
        prior: Option<RollbackIntent>,
    ) -> Result<String, HandlerError> {
        let (function, alias) = alias_of(d).unwrap_or_default();
        let aws = |what: String| move |e: ScalingError| HandlerError::from(during(what)(e));
        let current = self
            .aliases
            .alias(function, alias)
            .await
            .map_err(aws(format!("reading alias {function}:{alias}")))?;
        // An earlier holder moved it and lost the answer: record that, do not move it again.
        if let (Some(intent), Some(now)) = (&prior, &current)
            && now.version == intent.to
        {
            let detail = format!(
                "rolled {function}:{alias} back from {} to {}",
                intent.from, intent.to
            );
            self.remember(d, intent).await?;
            self.note(incident, &d.id, "rolled-back", &detail).await?;
            return Ok(detail);
        }
        let refuse = |why: String| format!("not rolled back: {why}");
        let Some(current) = current else {
            return Ok(refuse(format!("alias {function}:{alias} no longer exists")));
        };
        let (Some(bad), Some(good)) = (d.to_version.as_deref(), d.from_version.as_deref()) else {
            return Ok(refuse("the versions of the deployment are unknown".into()));
        };
        if !current.serves(bad) {
            let why = format!(
                "{function}:{alias} now points at {}, not at the regressed {bad}",
                current.version
            );
            self.note(incident, &d.id, "decided", &refuse(why.clone()))
                .await?;
            return Ok(refuse(why));
        }
        let exists = self
            .aliases
            .version_exists(function, good)
            .await
            .map_err(aws(format!("finding version {good} of {function}")))?;
        if !exists {
            let why = format!("version {good} of {function} no longer exists");
            self.note(incident, &d.id, "decided", &refuse(why.clone()))
                .await?;
            return Ok(refuse(why));
        }
        let since = self.clock.now().saturating_sub(watch::ROLLBACK_MEMORY);
        let history = self
            .log
            .list(Some(&d.service), since)
            .await
            .map_err(during(format!("listing the rollbacks of {}", d.service)))?;
        if let Some(cd) = watch::codedeploy_running(&history, self.clock.now()) {
            // CodeDeploy owns the alias while it shifts traffic: stop it with its own
            // rollback rather than move the alias under it.
            let cd = cd.id.clone();
            let retried = prior.is_some();
            return self
                .stop_codedeploy(d, incident, token, &cd, (bad, good), retried)
                .await;
        }
        if let Some(why) = watch::rollback_refused(&history, &d.target, good, self.clock.now()) {
            self.note(incident, &d.id, "decided", &refuse(why.clone()))
                .await?;
            return Ok(refuse(why));
        }
        let detail = format!("rolled {function}:{alias} back from {bad} to {good}");
        if self.settings.dry_run {
            let detail = format!("dry run, alias untouched: would have {detail}");
            self.note(incident, &d.id, "decided", &detail).await?;
            return Ok(detail);
        }
        let intent = RollbackIntent {
            function: function.to_owned(),
            alias: alias.to_owned(),
            from: bad.to_owned(),
            to: good.to_owned(),
        };
        self.ledger
            .record_intent(&d.id, token, &intent)
            .await
            .map_err(|e| during("recording the intended rollback")(ScalingError::from(e)))?;
        self.aliases
            .point(function, alias, good, current.revision_id.as_deref())
            .await
            .map_err(aws(format!("moving {function}:{alias} to {good}")))?;
        self.remember(d, &intent).await?;
        self.note(incident, &d.id, "rolled-back", &detail).await?;
        Ok(detail)
    }

    /// Stops the running CodeDeploy deployment `cd` with its automatic rollback, which moves
    /// the alias of `d` from `bad` back to `good`; recorded as apptrack's rollback, so the
    /// guard rails count it. A retry after a lost answer (`retried`: an earlier holder
    /// recorded the intent) finds the deployment ended, and records the stop as its own.
    async fn stop_codedeploy(
        &self,
        d: &Deployment,
        incident: &IncidentId,
        token: &str,
        cd: &str,
        (bad, good): (&str, &str),
        retried: bool,
    ) -> Result<String, HandlerError> {
        let (function, alias) = alias_of(d).unwrap_or_default();
        let detail = format!(
            "stopped CodeDeploy deployment {cd} with its automatic rollback (CodeDeploy moves {function}:{alias} from {bad} back to {good})"
        );
        if self.settings.dry_run {
            let detail = format!("dry run, deployment untouched: would have {detail}");
            self.note(incident, &d.id, "decided", &detail).await?;
            return Ok(detail);
        }
        let intent = RollbackIntent {
            function: function.to_owned(),
            alias: alias.to_owned(),
            from: bad.to_owned(),
            to: good.to_owned(),
        };
        self.ledger
            .record_intent(&d.id, token, &intent)
            .await
            .map_err(|e| during("recording the intended stop")(ScalingError::from(e)))?;
        let stopped = self.codedeploy.stop_with_rollback(cd).await.map_err(|e| {
            HandlerError::from(during(format!("stopping CodeDeploy deployment {cd}"))(e))
        })?;
        let detail = if stopped || retried {
            detail
        } else {
            format!(
                "CodeDeploy deployment {cd} had already ended (stopped or finished); nothing left to stop"
            )
        };
        self.remember(d, &intent).await?;
        self.note(incident, &d.id, "stopped-deployment", &detail)
            .await?;
        Ok(detail)
    }

    /// A deployment that moved no alias: a running CodeDeploy deployment is stopped with its
    /// own rollback when an alarm that judged it carries `apptrack:rollback=auto`, once (the
    /// generic ledger's [`once`]); anything else is advised (`watch::advice`), since an ECS
    /// service or a completed stack update has no one-call way back apptrack could trust.
    async fn stop_running(
        &self,
        d: &Deployment,
        incident: &IncidentId,
        signals: &[Signal],
    ) -> Result<String, HandlerError> {
        let running = d.source == DeploySource::CodeDeploy && d.state == DeployState::InProgress;
        if !running {
            return Ok(format!("advised: {}", watch::advice(d)));
        }
        if !signal::any_auto(signals) {
            return Ok(format!(
                "advised: {}; tag the alarm {}=auto to let apptrack stop it",
                watch::advice(d),
                watch::ROLLBACK_TAG
            ));
        }
        let intent = RollbackIntent {
            function: String::new(),
            alias: String::new(),
            from: d.to_version.clone().unwrap_or_else(|| d.id.clone()),
            to: d
                .from_version
                .clone()
                .unwrap_or_else(|| "the previous revision".into()),
        };
        let detail = format!(
            "stopped CodeDeploy deployment {} of {} with its automatic rollback",
            d.id, d.target
        );
        if self.settings.dry_run {
            let detail = format!("dry run, deployment untouched: would have {detail}");
            self.note(incident, &d.id, "decided", &detail).await?;
            return Ok(detail);
        }
        let intended = &intent;
        let stop = |prior: Option<RollbackIntent>| async move {
            let stopped = self
                .codedeploy
                .stop_with_rollback(&d.id)
                .await
                .map_err(|e| {
                    HandlerError::from(during(format!("stopping CodeDeploy deployment {}", d.id))(
                        e,
                    ))
                })?;
            // A retry after a lost answer finds it ended by the earlier holder's stop.
            let detail = if stopped || prior.is_some() {
                detail
            } else {
                format!(
                    "CodeDeploy deployment {} had already ended (stopped or finished); nothing left to stop",
                    d.id
                )
            };
            self.remember(d, intended).await?;
            self.note(incident, &d.id, "stopped-deployment", &detail)
                .await?;
            Ok::<_, HandlerError>((detail.clone(), detail))
        };
        match once(&self.ledger, &d.id, self.clock.now(), &intent, stop).await {
            Ok(Settled::Acted(detail) | Settled::Done(detail)) => Ok(detail),
            Ok(Settled::HeldElsewhere) => Ok("another run is stopping it".into()),
            Ok(Settled::Failed(error)) => Ok(format!("the stop failed earlier: {error}")),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => {
                let detail = format!("could not stop deployment {}: {e}", d.id);
                self.note(incident, &d.id, "failed", &detail).await?;
                Ok(detail)
            }
        }
    }

    /// Records the rollback as a marker of its own: the guard rails' memory.
    async fn remember(&self, d: &Deployment, intent: &RollbackIntent) -> Result<(), HandlerError> {
        let marker = watch::rollback_marker(d, intent, self.clock.now());
        self.log
            .record(&marker)
            .await
            .map(drop)
            .map_err(|e| during(format!("recording rollback {}", marker.id))(e).into())
    }

    /// A timeline entry about the rollback of deployment `key`, written once.
    async fn note(
        &self,
        incident: &IncidentId,
        key: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), HandlerError> {
        let entry = TimelineEntry::new(self.clock.now(), watch::SOURCE, action, detail);
        self.incidents
            .append_timeline_once(
                incident,
                &entry,
                &note_key(&format!("rollback:{key}"), action),
            )
            .await
            .map(drop)
            .map_err(|e| during("writing the timeline")(e).into())
    }
}
