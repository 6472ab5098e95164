//! One source's share of a batch: count it exactly once, and raise credential stuffing when
//! it failed against many accounts. Locks nothing: accounts lock on their own threshold.

use std::collections::BTreeSet;

use apptrack_core::auth::incident;
use apptrack_core::auth::{
    CounterKey, Counters, GuardStore, SourceAggregate, SourceState, WindowPolicy,
};
use apptrack_core::clock::Clock;
use apptrack_core::failure::during;
use apptrack_core::store::RecordIncidents;

use crate::handler::{Guard, HandlerError, Report};

impl<G: GuardStore, S: RecordIncidents, K: Clock> Guard<G, S, K> {
    /// Counts the source's share of the batch exactly once; returns its counter item.
    pub(crate) async fn count_source(
        &self,
        s: &SourceAggregate,
        report: &mut Report,
    ) -> Result<Counters, HandlerError> {
        let window = self.stuffing_window();
        let u = self.update(
            CounterKey::Source(s.source),
            s.batch_fingerprint(),
            s.last_at,
            &window,
            &s.failure_minutes,
            s.successes,
            s.accounts_by_minute.clone(),
        );
        let c = self.state.apply(&u).await.map_err(during(format!(
            "updating the counters of source {}",
            s.source
        )))?;
        report.counter_writes += 1;
        report.already_counted += usize::from(!c.applied);
        Ok(c)
    }

    /// Raises credential stuffing when the source failed against many accounts. Locks
    /// nothing: accounts are locked only on their own threshold (`locked`: in this batch).
    pub(crate) async fn stuffing(
        &self,
        s: &SourceAggregate,
        c: &Counters,
        log_group: &str,
        locked: &BTreeSet<String>,
    ) -> Result<Option<String>, HandlerError> {
        let policy = &self.settings.policy;
        if s.failures == 0 {
            return Ok(None);
        }
        let now = self.decision_time(s.last_at);
        let state = SourceState {
            account_buckets: c.member_buckets.clone(),
        };
        let Some(d) = policy.decide_stuffing(s.source, &state, now) else {
            return Ok(None);
        };
        let fp = s.batch_fingerprint();
        let occ = incident::credential_stuffing(s, &d, &policy.stuffing, log_group, locked, &fp)?;
        let ip = &occ.resource;
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(during(format!("recording credential stuffing from {ip}")))?;
        Ok(Some(raised.id.to_string()))
    }

    /// The stuffing window: distinct accounts within the stuffing find time.
    pub(crate) fn stuffing_window(&self) -> WindowPolicy {
        let policy = &self.settings.policy;
        WindowPolicy {
            max_failures: policy.stuffing.distinct_accounts,
            find_time: policy.stuffing.find_time,
        }
    }
}
