//! One account's share of a batch: count its failures exactly once, and lock it when they
//! cross the threshold (a lock record, its mirror on the counters, one incident per episode),
//! retrying the conditional writes that concurrent batches of the same account race.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use apptrack_core::auth::incident;
use apptrack_core::auth::{
    AccountAggregate, AccountState, CLOCK_SKEW_MINUTES, CounterKey, Counters, GuardStore,
    LockMirror, LockRecord, LockScope, LockWrite, minute_of,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::retry::Retry;
use apptrack_core::store::RecordIncidents;

use crate::handler::{Guard, HandlerError, LockedAccount, Report};

/// Conditional lock writes tried before giving up with a retryable error, and the pauses
/// between them (the lock and the counters race concurrent batches of the same account).
const LOCK_RETRY: Retry = Retry {
    attempts: 25,
    base: Duration::from_millis(10),
    cap: Duration::from_millis(150),
};

impl<G: GuardStore, S: RecordIncidents, K: Clock> Guard<G, S, K> {
    pub(crate) async fn account(
        &self,
        a: &AccountAggregate,
        log_group: &str,
        sources: &BTreeMap<IpAddr, Counters>,
        report: &mut Report,
        incidents: &mut BTreeSet<String>,
    ) -> Result<(), HandlerError> {
        let window = self.settings.policy.window;
        let fp = a.batch_fingerprint();
        let fp_minute = minute_of(a.last_at);
        let key = CounterKey::Account(a.account.clone());
        let mut members = BTreeMap::new();
        if !a.sources.is_empty() {
            members.insert(
                fp_minute,
                a.sources
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<BTreeSet<_>>(),
            );
        }
        let u = self.update(
            key,
            fp,
            a.last_at,
            &window,
            &a.failure_minutes,
            a.successes,
            members,
        );
        let ctx = || format!("updating the counters of account {}", a.account);
        let c = self.state.apply(&u).await.map_err(during(ctx()))?;
        report.counter_writes += 1;
        report.already_counted += usize::from(!c.applied);
        if a.failures > 0 {
            self.lock_episode(a, c.clone(), log_group, sources, report, incidents)
                .await?;
        }
        if !a.success_sources.is_empty() {
            self.successes(a, &c, report, incidents).await?;
        }
        Ok(())
    }

    /// Locks the account when its failures cross the threshold, or adds them to the lock
    /// whose episode they belong to.
    async fn lock_episode(
        &self,
        a: &AccountAggregate,
        mut c: Counters,
        log_group: &str,
        sources: &BTreeMap<IpAddr, Counters>,
        report: &mut Report,
        incidents: &mut BTreeSet<String>,
    ) -> Result<(), HandlerError> {
        let policy = &self.settings.policy;
        let window = policy.window;
        let mode = self.mode();
        let now = self.decision_time(a.last_at);
        let fp = a.batch_fingerprint();
        let fp_minute = minute_of(a.last_at);
        let key = CounterKey::Account(a.account.clone());
        let ctx = || format!("updating the counters of account {}", a.account);
        for attempt in 0..LOCK_RETRY.attempts {
            LOCK_RETRY.pause(attempt).await;
            // A lock whose episode this batch belongs to, or already counted.
            if let Some(m) = c.lock.clone().filter(|m| m.mode == mode) {
                if m.snapshot.contains(&fp) {
                    if m.until > now {
                        let id = self.ensure_opening(&m, &a.account).await?;
                        incidents.extend(id);
                    }
                    return Ok(());
                }
                if fp_minute >= m.snapshot_from && a.first_at < m.until {
                    let id = self.during_lock(&m, a, &fp).await?;
                    incidents.insert(id);
                    return Ok(());
                }
            }
            if window.failures_in_window(&c.failure_buckets, now) < window.max_failures {
                return Ok(());
            }
            let lock = self
                .state
                .get_lock(mode, &a.account)
                .await
                .map_err(during(format!("reading the lock of {}", a.account)))?;
            let first_minute = window.first_minute(now);
            let state = AccountState {
                failure_buckets: c.failure_buckets.clone(),
                offences: lock
                    .as_ref()
                    .map(|l| l.offences.clone())
                    .unwrap_or_default(),
                locked_until: lock.as_ref().map(|l| l.locked_until),
                sources: c
                    .members_from(first_minute)
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
            };
            let Some(decision) = policy.decide_lock(&a.account, &state, now) else {
                return Ok(());
            };
            let last_offence = state.offences.iter().copied().max();
            let failures = window.failures_since(&c.failure_buckets, now, last_offence);
            let counted_from = first_minute - CLOCK_SKEW_MINUTES;
            let mirror = LockMirror {
                mode,
                locked_at: now,
                until: decision.until,
                snapshot: c.fingerprints_from(counted_from),
                snapshot_from: counted_from,
                incident_id: None,
            };
            let mut offences: Vec<Timestamp> = state
                .offences
                .iter()
                .copied()
                .filter(|o| policy.lock.offences_in_window(&[*o], now) == 1)
                .collect();
            offences.push(now);
            let first_failure_at = incident::first_failure(&c, first_minute).unwrap_or(a.first_at);
            let scope = policy.familiar.scope;
            let familiar = match scope {
                LockScope::Account => BTreeSet::new(),
                LockScope::Unfamiliar => self.familiar_for_lock(a, &c, now).await?,
            };
            let investigation = self.investigate(&decision.sources, sources, now).await?;
            let record = LockRecord {
                account: a.account.clone(),
                mode,
                locked_at: now,
                locked_until: decision.until,
                reason: decision.reason.clone(),
                sources: decision.sources.iter().map(IpAddr::to_string).collect(),
                user_agents: a.user_agents.iter().cloned().collect(),
                failures,
                first_failure_at,
                last_failure_at: a.last_at,
                offence_number: decision.offence_number,
                offences,
                log_group: log_group.to_owned(),
                incident_id: None,
                unlocked_at: None,
                unlocked_by: None,
                unlock_note: None,
                rev: 0,
                scope,
                familiar,
                investigation,
            };
            let written_at = self.clock.now().max(now);
            let expires = incident::lock_record_expiry(
                written_at,
                now,
                decision.until,
                policy.lock.repeat_window,
            );
            let written = self
                .state
                .write_lock(
                    &record,
                    c.rev,
                    lock.as_ref().map(|l| l.rev),
                    &mirror,
                    expires,
                )
                .await
                .map_err(during(format!("locking {}", a.account)))?;
            match written {
                LockWrite::Written => {
                    let id = self.open_lock_incident(&record).await?;
                    incidents.insert(id.clone());
                    report.locked.push(LockedAccount {
                        account: a.account.clone(),
                        until: decision.until.to_rfc3339(),
                        offence: decision.offence_number,
                        incident_id: id,
                    });
                    return Ok(());
                }
                LockWrite::CounterChanged | LockWrite::LockChanged => {
                    c = self
                        .state
                        .read_counters(&key)
                        .await
                        .map_err(during(ctx()))?;
                }
            }
        }
        Err(crate::error::contended(&a.account))
    }

    /// The lock's incident, raised from its record if no invocation recorded it yet (the
    /// invocation that locked may have failed in between), and recorded on the account's
    /// counter if only the lock record has it (that invocation failed between the two).
    async fn ensure_opening(
        &self,
        m: &LockMirror,
        account: &str,
    ) -> Result<Option<String>, HandlerError> {
        if let Some(id) = &m.incident_id {
            return Ok(Some(id.clone()));
        }
        let lock = self
            .state
            .get_lock(m.mode, account)
            .await
            .map_err(during(format!("reading the lock of {account}")))?;
        match lock {
            Some(l) if l.locked_at == m.locked_at => match l.incident_id.clone() {
                Some(id) => {
                    self.state
                        .set_lock_incident(l.mode, account, l.locked_at, &id)
                        .await
                        .map_err(during(format!(
                            "recording the incident of {account}'s lock"
                        )))?;
                    Ok(Some(id))
                }
                None => self.open_lock_incident(&l).await.map(Some),
            },
            _ => Ok(None),
        }
    }

    /// Raises the lock's opening occurrence (idempotent per lock) and records its id.
    async fn open_lock_incident(&self, l: &LockRecord) -> Result<String, HandlerError> {
        let occ = incident::lock_opened(l)?;
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(during(format!("recording the lock of {}", l.account)))?;
        let id = raised.id.to_string();
        self.state
            .set_lock_incident(l.mode, &l.account, l.locked_at, &id)
            .await
            .map_err(during(format!(
                "recording the incident of {}'s lock",
                l.account
            )))?;
        Ok(id)
    }

    /// Adds this batch's failures, which arrived during the lock, to the lock's incident.
    async fn during_lock(
        &self,
        m: &LockMirror,
        a: &AccountAggregate,
        fp: &str,
    ) -> Result<String, HandlerError> {
        let opening = self.ensure_opening(m, &a.account).await?;
        let occ = incident::failed_during_lock(m, a, fp)?;
        let raised = self.incidents.raise(&occ).await.map_err(during(format!(
            "adding to the lock incident of {}",
            a.account
        )))?;
        Ok(opening.unwrap_or_else(|| raised.id.to_string()))
    }
}
