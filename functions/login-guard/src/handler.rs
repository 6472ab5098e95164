//! The login-guard handler: decodes a CloudWatch Logs subscription batch of authentication
//! logs and aggregates it, then hands each source (`source`: count, credential stuffing) and
//! each account (`account`: count, lock; `success`: familiar sources, account takeover) to
//! its use case.

use std::collections::{BTreeMap, BTreeSet};

use apptrack_core::auth::{
    AuthParser, BUCKET_MILLIS, BatchAggregate, CLOCK_SKEW_MINUTES, CounterKey, CounterUpdate,
    GuardStore, LockMode, WindowPolicy, minute_of,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::store::RecordIncidents;
use apptrack_core::subscription::{Delivery, receive};
use apptrack_lambda::Function;
use serde_json::Value;

pub use crate::error::HandlerError;
pub use crate::report::{LockedAccount, Report};
pub use crate::settings::Settings;
pub use apptrack_core::auth::incident::SOURCE;

/// How long a batch's fingerprints are kept, in minutes: longer than any redelivery can
/// arrive after the events (the template sets a maximum event age of one hour).
pub const FINGERPRINT_HORIZON_MINUTES: i64 = 90;

/// Everything the handler works through: the ports, a clock and the settings.
pub struct Guard<G, S, K> {
    pub state: G,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
    pub(crate) parser: AuthParser,
}

impl<G: GuardStore, S: RecordIncidents, K: Clock> Function for Guard<G, S, K> {
    type Output = Report;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Report, HandlerError> {
        Guard::handle(self, event).await
    }
}

impl<G: GuardStore, S: RecordIncidents, K: Clock> Guard<G, S, K> {
    pub fn new(state: G, incidents: S, clock: K, settings: Settings) -> Self {
        let parser = AuthParser::new(settings.policy.parser.clone());
        Self {
            state,
            incidents,
            clock,
            settings,
            parser,
        }
    }

    pub fn mode(&self) -> LockMode {
        if self.settings.dry_run {
            LockMode::Audit
        } else {
            LockMode::Enforce
        }
    }

    /// Handles one Lambda event (a log subscription delivery).
    pub async fn handle(&self, event: &Value) -> Result<Report, HandlerError> {
        let (batch, control_message) = match receive(event, &self.settings.limits)? {
            Delivery::Data(batch) => (batch, false),
            Delivery::Control(batch) => (batch, true),
        };
        let mut report = Report {
            log_group: batch.log_group.clone(),
            mode: self.mode().to_string(),
            events: batch.log_events.len(),
            control_message,
            ..Report::default()
        };
        if control_message {
            return Ok(report);
        }
        let attempts: Vec<_> = batch
            .log_events
            .iter()
            .filter_map(|e| {
                self.parser
                    .parse(&e.message, &e.id, Timestamp::from_millis(e.timestamp))
            })
            .collect();
        report.recognized = attempts.len();
        report.unparsed = report.events - attempts.len();
        let policy = &self.settings.policy;
        let agg = BatchAggregate::from_attempts(&attempts, &policy.allow, policy.limits);
        report.failures = agg.failures;
        report.successes = agg.successes;
        report.allow_listed = agg.allowed;
        report.duplicates = agg.duplicates;

        // Sources are counted first: a lock's investigation reads their counters, this
        // batch included, and a retry reads the same.
        let mut sources = BTreeMap::new();
        for s in agg.sources.values() {
            sources.insert(s.source, self.count_source(s, &mut report).await?);
        }
        let mut incidents = BTreeSet::new();
        for a in agg.accounts.values() {
            self.account(a, &batch.log_group, &sources, &mut report, &mut incidents)
                .await?;
        }
        let locked: BTreeSet<String> = report.locked.iter().map(|l| l.account.clone()).collect();
        let mut stuffing = Vec::new();
        for s in agg.sources.values() {
            let Some(c) = sources.get(&s.source) else {
                continue;
            };
            if let Some(id) = self.stuffing(s, c, &batch.log_group, &locked).await? {
                stuffing.push(s.source.to_string());
                incidents.insert(id);
            }
        }
        report.stuffing = stuffing;
        report.incidents = incidents.into_iter().collect();
        Ok(report)
    }

    /// The time decisions are judged at: the key's latest attempt, but never further ahead
    /// of the handler's clock than the skew the window tolerates.
    pub(crate) fn decision_time(&self, last_at: Timestamp) -> Timestamp {
        let cap = self
            .clock
            .now()
            .plus_millis(CLOCK_SKEW_MINUTES * BUCKET_MILLIS);
        last_at.min(cap)
    }

    /// One key's share of the batch as a counter update; pruning horizons and TTL follow
    /// from the key's own decision time, so a redelivery builds the same update.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &self,
        key: CounterKey,
        fingerprint: String,
        last_at: Timestamp,
        window: &WindowPolicy,
        failure_minutes: &BTreeMap<i64, u32>,
        successes: u32,
        members_by_minute: BTreeMap<i64, BTreeSet<String>>,
    ) -> CounterUpdate {
        let now = self.decision_time(last_at);
        CounterUpdate {
            key,
            fingerprint,
            fingerprint_minute: minute_of(last_at),
            failure_minutes: failure_minutes.clone(),
            successes,
            members_by_minute,
            prune_before: window.first_minute(now),
            fingerprints_before: minute_of(now) - FINGERPRINT_HORIZON_MINUTES,
            // From the handler's clock: a late batch's key must live as long as a fresh one's.
            expires_at: self
                .clock
                .now()
                .max(now)
                .saturating_add(self.settings.policy.state_ttl()),
        }
    }
}
