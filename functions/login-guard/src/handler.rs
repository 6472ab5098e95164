//! The login-guard handler: decodes a CloudWatch Logs subscription batch of authentication
//! logs, counts failures per account and per source exactly once, locks accounts on bursts and
//! records `brute-force` and `credential-stuffing` incidents.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use apptrack_core::auth::{
    AccountAggregate, AccountState, AuthParser, BatchAggregate, CLOCK_SKEW_MINUTES, CounterKey,
    CounterUpdate, Counters, EpochMillis, GuardPolicy, GuardStore, LockMirror, LockMode,
    LockRecord, LockWrite, SourceAggregate, WindowPolicy, minute_of,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::Failure;
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentError, IncidentKind, Occurrence, Severity, Title,
};
use apptrack_core::retry::Retry;
use apptrack_core::settings::{SettingsError, StoreSettings, flag};
use apptrack_core::store::{RecordIncidents, StoreError};
use apptrack_core::subscription::{DecodeError, DecodeLimits, Delivery, receive};
use apptrack_lambda::Function;
use serde::Serialize;
use serde_json::{Value, json};

/// Who incidents and timeline entries name as their source.
pub const SOURCE: &str = "login-guard";
/// How long a batch's fingerprints are kept, in minutes: longer than any redelivery can
/// arrive after the events (the template sets a maximum event age of one hour).
pub const FINGERPRINT_HORIZON_MINUTES: i64 = 90;
/// Conditional lock writes tried before giving up with a retryable error, and the pauses
/// between them (the lock and the counters race concurrent batches of the same account).
const LOCK_RETRY: Retry = Retry {
    attempts: 25,
    base: Duration::from_millis(10),
    cap: Duration::from_millis(150),
};

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// Every threshold (see `GuardPolicy::from_env` for the variables).
    pub policy: GuardPolicy,
    /// `APPTRACK_DRY_RUN` (default false): audit mode, record what would be locked.
    pub dry_run: bool,
    /// `APPTRACK_MAX_DECOMPRESSED_BYTES` (8 MiB): a payload that inflates past this is rejected.
    pub limits: DecodeLimits,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            policy: GuardPolicy::from_env(&get)?,
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            limits: DecodeLimits::from_lookup(&get)?,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Why an invocation failed; the kind and retryability come from the failing part, so the
/// same bad payload or outage reads the same as in every other function.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad log subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// Concurrent invocations kept changing the account; the retry will find it settled.
    #[error("lock of {0} kept conflicting with concurrent updates")]
    Contended(String),
}

impl HandlerError {
    fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

/// Retrying is always safe: every count is conditioned on the batch fingerprint and every
/// incident write has an idempotency key.
impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadPayload(e) => e.kind(),
            HandlerError::Store { source, .. } => source.kind(),
            HandlerError::Identity(e) => e.kind(),
            HandlerError::Contended(_) => "Contended",
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::BadPayload(e) => e.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::Identity(e) => e.is_retryable(),
            HandlerError::Contended(_) => true,
        }
    }
}

/// A lock set (or, in audit mode, one that would have been set) by this invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedAccount {
    pub account: String,
    pub until: String,
    pub offence: u32,
    pub incident_id: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub log_group: String,
    pub mode: String,
    pub control_message: bool,
    pub events: usize,
    pub recognized: usize,
    /// Lines that are not login attempts (counted and skipped).
    pub unparsed: usize,
    pub failures: u32,
    pub successes: u32,
    pub allow_listed: u32,
    pub duplicates: u32,
    /// Counter updates sent (one per distinct account and source).
    pub counter_writes: usize,
    /// Keys whose share of this batch was already counted (a redelivery).
    pub already_counted: usize,
    pub locked: Vec<LockedAccount>,
    /// Sources found stuffing credentials.
    pub stuffing: Vec<String>,
    /// Incidents opened or added to.
    pub incidents: Vec<String>,
}

/// Everything the handler works through: the ports, a clock and the settings.
pub struct Guard<G, S, K> {
    pub state: G,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
    parser: AuthParser,
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
            .filter_map(|e| self.parser.parse(&e.message, &e.id, e.timestamp))
            .collect();
        report.recognized = attempts.len();
        report.unparsed = report.events - attempts.len();
        let policy = &self.settings.policy;
        let agg = BatchAggregate::from_attempts(&attempts, &policy.allow, policy.limits);
        report.failures = agg.failures;
        report.successes = agg.successes;
        report.allow_listed = agg.allowed;
        report.duplicates = agg.duplicates;

        let mut incidents = BTreeSet::new();
        for a in agg.accounts.values() {
            self.account(a, &batch.log_group, &mut report, &mut incidents)
                .await?;
        }
        let locked: BTreeSet<String> = report.locked.iter().map(|l| l.account.clone()).collect();
        let mut stuffing = Vec::new();
        for s in agg.sources.values() {
            if let Some(id) = self
                .source(s, &batch.log_group, &locked, &mut report)
                .await?
            {
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
    fn decision_time(&self, last_at: EpochMillis) -> EpochMillis {
        let cap = self
            .clock
            .now()
            .as_millis()
            .saturating_add(CLOCK_SKEW_MINUTES * 60_000);
        last_at.min(cap)
    }

    /// One key's share of the batch as a counter update; pruning horizons and TTL follow
    /// from the key's own decision time, so a redelivery builds the same update.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        key: CounterKey,
        fingerprint: String,
        last_at: EpochMillis,
        window: &WindowPolicy,
        failure_minutes: &std::collections::BTreeMap<i64, u32>,
        successes: u32,
        members_by_minute: std::collections::BTreeMap<i64, BTreeSet<String>>,
    ) -> CounterUpdate {
        let now = self.decision_time(last_at);
        let ttl = i64::try_from(self.settings.policy.state_ttl().as_millis()).unwrap_or(i64::MAX);
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
            expires_at: self.clock.now().as_millis().max(now).saturating_add(ttl),
        }
    }

    async fn account(
        &self,
        a: &AccountAggregate,
        log_group: &str,
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
        let mut members = std::collections::BTreeMap::new();
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
            key.clone(),
            fp.clone(),
            a.last_at,
            &window,
            &a.failure_minutes,
            a.successes,
            members,
        );
        let ctx = || format!("updating the counters of account {}", a.account);
        let mut c = self
            .state
            .apply(&u)
            .await
            .map_err(HandlerError::store(ctx()))?;
        report.counter_writes += 1;
        report.already_counted += usize::from(!c.applied);
        if a.failures == 0 {
            return Ok(());
        }

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
                .map_err(HandlerError::store(format!(
                    "reading the lock of {}",
                    a.account
                )))?;
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
            let mut offences: Vec<EpochMillis> = state
                .offences
                .iter()
                .copied()
                .filter(|o| policy.lock.offences_in_window(&[*o], now) == 1)
                .collect();
            offences.push(now);
            let first_failure_at = first_failure(&c, first_minute).unwrap_or(a.first_at);
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
            };
            let repeat = i64::try_from(policy.lock.repeat_window.as_millis()).unwrap_or(i64::MAX);
            let written_at = self.clock.now().as_millis().max(now);
            let expires = written_at
                .saturating_add(decision.until - now)
                .max(written_at.saturating_add(repeat));
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
                .map_err(HandlerError::store(format!("locking {}", a.account)))?;
            match written {
                LockWrite::Written => {
                    let id = self.open_lock_incident(&record).await?;
                    incidents.insert(id.clone());
                    report.locked.push(LockedAccount {
                        account: a.account.clone(),
                        until: Timestamp::from_millis(decision.until).to_rfc3339(),
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
                        .map_err(HandlerError::store(ctx()))?;
                }
            }
        }
        Err(HandlerError::Contended(a.account.clone()))
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
            .map_err(HandlerError::store(format!(
                "reading the lock of {account}"
            )))?;
        match lock {
            Some(l) if l.locked_at == m.locked_at => match l.incident_id.clone() {
                Some(id) => {
                    self.state
                        .set_lock_incident(l.mode, account, l.locked_at, &id)
                        .await
                        .map_err(HandlerError::store(format!(
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
        let audit = l.mode == LockMode::Audit;
        let minutes = (l.locked_until - l.locked_at).max(0) / 60_000;
        let title = if audit {
            format!(
                "Would lock account {} for {minutes} min after {} failed logins (audit mode)",
                l.account, l.failures
            )
        } else {
            format!(
                "Account {} locked for {minutes} min after {} failed logins",
                l.account, l.failures
            )
        };
        let at = Timestamp::from_millis(l.locked_at);
        let mut occ = Occurrence::new(
            episode_key(l.mode, &l.account, l.locked_at)?,
            IncidentKind::BruteForce,
            if audit {
                Severity::Medium
            } else {
                Severity::High
            },
            SOURCE,
            &service_of(&l.log_group),
            &l.account,
            Title::truncated(&title),
            at,
        );
        occ.count = u64::from(l.failures.max(1));
        occ.summary = format!(
            "{}. Sources: {}. User agents: {}. Failures from {} to {}; locked until {}{}.",
            l.reason,
            list_or_none(&l.sources),
            list_or_none(&l.user_agents),
            Timestamp::from_millis(l.first_failure_at),
            Timestamp::from_millis(l.last_failure_at),
            Timestamp::from_millis(l.locked_until),
            if audit {
                " (audit mode: not enforced)"
            } else {
                ""
            },
        );
        occ.evidence = vec![Evidence::new(
            at,
            if audit {
                "would lock (audit mode)"
            } else {
                "locked"
            },
            json!({
                "account": l.account,
                "failures": l.failures,
                "sources": l.sources,
                "user_agents": l.user_agents,
                "first_failure_at": Timestamp::from_millis(l.first_failure_at),
                "last_failure_at": Timestamp::from_millis(l.last_failure_at),
                "locked_until": Timestamp::from_millis(l.locked_until),
                "offence": l.offence_number,
                "mode": l.mode,
            }),
        )];
        occ.idempotency_key = Some(format!(
            "{SOURCE}:lock:{}:{}:{}",
            l.mode, l.account, l.locked_at
        ));
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(HandlerError::store(format!(
                "recording the lock of {}",
                l.account
            )))?;
        let id = raised.id.to_string();
        self.state
            .set_lock_incident(l.mode, &l.account, l.locked_at, &id)
            .await
            .map_err(HandlerError::store(format!(
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
        let at = Timestamp::from_millis(a.last_at);
        let mut occ = Occurrence::new(
            episode_key(m.mode, &a.account, m.locked_at)?,
            IncidentKind::BruteForce,
            Severity::High,
            SOURCE,
            SOURCE,
            &a.account,
            Title::truncated(&format!(
                "Failed logins against locked account {}",
                a.account
            )),
            at,
        );
        occ.count = u64::from(a.failures);
        let sources: Vec<String> = a.sources.iter().map(IpAddr::to_string).collect();
        occ.evidence = vec![Evidence::new(
            at,
            "failed logins during the lock",
            json!({
                "failures": a.failures,
                "sources": sources,
                "user_agents": a.user_agents,
                "from": Timestamp::from_millis(a.first_at),
                "to": at,
            }),
        )];
        occ.idempotency_key = Some(format!(
            "{SOURCE}:during:{}:{}:{}:{fp}",
            m.mode, a.account, m.locked_at
        ));
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(HandlerError::store(format!(
                "adding to the lock incident of {}",
                a.account
            )))?;
        Ok(opening.unwrap_or_else(|| raised.id.to_string()))
    }

    /// Counts a source; raises a credential-stuffing incident when it failed against many
    /// accounts. Locks nothing: accounts are locked only on their own threshold.
    async fn source(
        &self,
        s: &SourceAggregate,
        log_group: &str,
        locked: &BTreeSet<String>,
        report: &mut Report,
    ) -> Result<Option<String>, HandlerError> {
        let policy = &self.settings.policy;
        let window = WindowPolicy {
            max_failures: policy.stuffing.distinct_accounts,
            find_time: policy.stuffing.find_time,
        };
        let fp = s.batch_fingerprint();
        let u = self.update(
            CounterKey::Source(s.source),
            fp.clone(),
            s.last_at,
            &window,
            &s.failure_minutes,
            s.successes,
            s.accounts_by_minute.clone(),
        );
        let c = self
            .state
            .apply(&u)
            .await
            .map_err(HandlerError::store(format!(
                "updating the counters of source {}",
                s.source
            )))?;
        report.counter_writes += 1;
        report.already_counted += usize::from(!c.applied);
        if s.failures == 0 {
            return Ok(None);
        }
        let now = self.decision_time(s.last_at);
        let state = apptrack_core::auth::SourceState {
            account_buckets: c.member_buckets.clone(),
        };
        let Some(d) = policy.decide_stuffing(s.source, &state, now) else {
            return Ok(None);
        };
        let ip = s.source.to_string();
        let at = Timestamp::from_millis(s.last_at);
        let locked_here: Vec<&str> = s
            .accounts
            .iter()
            .filter(|a| locked.contains(*a))
            .map(String::as_str)
            .collect();
        let mut occ = Occurrence::new(
            DedupKey::new(
                SOURCE,
                IncidentKind::CredentialStuffing,
                &ip,
                "many-accounts",
            )?,
            IncidentKind::CredentialStuffing,
            Severity::High,
            SOURCE,
            &service_of(log_group),
            &ip,
            Title::truncated(&format!(
                "Credential stuffing from {ip}: failed logins against {} accounts within {} min",
                d.distinct_count,
                policy.stuffing.find_time.as_secs() / 60
            )),
            at,
        );
        occ.count = u64::from(s.failures);
        occ.summary = format!(
            "Source {ip} failed to log in to {} distinct accounts within {} s (threshold {}), e.g. {}. \
             Accounts are not locked for it; only accounts over their own threshold are.",
            d.distinct_count,
            policy.stuffing.find_time.as_secs(),
            policy.stuffing.distinct_accounts,
            d.accounts.join(", ")
        );
        occ.evidence = vec![Evidence::new(
            at,
            "failed logins from one source against many accounts",
            json!({
                "source": ip,
                "distinct_accounts": d.distinct_count,
                "accounts": d.accounts,
                "failures_in_batch": s.failures,
                "locked_on_own_threshold": locked_here,
                "from": Timestamp::from_millis(s.first_at),
                "to": at,
            }),
        )];
        occ.idempotency_key = Some(format!("{SOURCE}:stuffing:{ip}:{fp}"));
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(HandlerError::store(format!(
                "recording credential stuffing from {ip}"
            )))?;
        Ok(Some(raised.id.to_string()))
    }
}

/// One brute-force incident per lock episode.
fn episode_key(
    mode: LockMode,
    account: &str,
    locked_at: EpochMillis,
) -> Result<DedupKey, HandlerError> {
    Ok(DedupKey::new(
        SOURCE,
        IncidentKind::BruteForce,
        account,
        &format!("{mode}:{locked_at}"),
    )?)
}

/// The service an incident belongs to: the log group's last path segment (`/app/accounts/auth`
/// → `auth`), or the group itself.
fn service_of(log_group: &str) -> String {
    let name = log_group
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if name.trim().is_empty() {
        SOURCE.to_owned()
    } else {
        name.to_owned()
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none recorded".to_owned()
    } else {
        items.join(", ")
    }
}

/// The start of the oldest failure bucket still in the window.
fn first_failure(c: &Counters, first_minute: i64) -> Option<EpochMillis> {
    c.failure_buckets
        .range(first_minute..)
        .find(|(_, n)| **n > 0)
        .map(|(m, _)| m * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apptrack_core::clock::ManualClock;
    use apptrack_core::store::auth_memory::MemoryGuardStore;
    use apptrack_core::store::memory::MemoryIncidentStore;
    use apptrack_core::subscription::MessageType;
    use apptrack_core::subscription::{LogEvent, LogsBatch, encode_batch};

    const T0: i64 = 1_795_000_000_000;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut all: Vec<(String, String)> = vec![
            ("INCIDENTS_TABLE".into(), "i".into()),
            ("STATE_TABLE".into(), "s".into()),
        ];
        all.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Settings::from_lookup(move |k| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .expect("valid settings")
    }

    fn guard(pairs: &[(&str, &str)]) -> Guard<MemoryGuardStore, MemoryIncidentStore, ManualClock> {
        Guard::new(
            MemoryGuardStore::new(),
            MemoryIncidentStore::new(),
            ManualClock::new(Timestamp::from_millis(T0 + 3_600_000)),
            settings(pairs),
        )
    }

    fn payload(events: &[(&str, i64, String)]) -> Value {
        let batch = LogsBatch {
            message_type: MessageType::Data,
            owner: "123456789012".into(),
            log_group: "/apptrack/demo/auth".into(),
            log_stream: "web-1".into(),
            subscription_filters: vec!["login-guard".into()],
            log_events: events
                .iter()
                .map(|(id, at, m)| LogEvent {
                    id: (*id).to_owned(),
                    timestamp: *at,
                    message: m.clone(),
                })
                .collect(),
        };
        serde_json::from_str(&encode_batch(&batch)).expect("a JSON event")
    }

    fn failure(user: &str, ip: &str) -> String {
        format!(r#"{{"event":"login_failed","user":"{user}","ip":"{ip}"}}"#)
    }

    fn burst(prefix: &str, user: &str, n: usize, t: i64) -> Vec<(String, i64, String)> {
        (0..n)
            .map(|i| {
                (
                    format!("{prefix}{i}"),
                    t + i as i64 * 1000,
                    failure(user, &format!("203.0.113.{}", i + 1)),
                )
            })
            .collect()
    }

    fn as_refs(v: &[(String, i64, String)]) -> Vec<(&str, i64, String)> {
        v.iter()
            .map(|(a, b, c)| (a.as_str(), *b, c.clone()))
            .collect()
    }

    #[tokio::test]
    async fn five_failures_lock_once_and_redelivery_changes_nothing() {
        let g = guard(&[]);
        let events = burst("e", "alice", 5, T0);
        let body = payload(&as_refs(&events));
        let r = g.handle(&body).await.expect("handled");
        assert_eq!(r.locked.len(), 1, "{r:?}");
        assert_eq!(r.locked[0].offence, 1);
        let again = g.handle(&body).await.expect("redelivery");
        assert!(again.locked.is_empty());
        assert_eq!(again.already_counted, again.counter_writes);
        let all = g.incidents.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].count, 5);
        let c = g
            .state
            .read_counters(&CounterKey::Account("alice".into()))
            .await
            .expect("read");
        assert_eq!(c.failure_buckets.values().sum::<u32>(), 5);
    }

    #[tokio::test]
    async fn a_retry_completes_a_lock_incident_recorded_on_the_lock_only() {
        let g = guard(&[]);
        let body = payload(&as_refs(&burst("e", "alice", 5, T0)));
        g.state.fail_next_mirror_write();
        let err = g.handle(&body).await.expect_err("the second write fails");
        assert_eq!(err.error_type(), "Retryable.Unavailable", "{err}");

        g.handle(&body).await.expect("the retry");
        let lock = g
            .state
            .get_lock(LockMode::Enforce, "alice")
            .await
            .expect("read")
            .expect("locked");
        let mirror = g
            .state
            .read_counters(&CounterKey::Account("alice".into()))
            .await
            .expect("read")
            .lock
            .expect("the counter mirrors the lock");
        assert!(lock.incident_id.is_some());
        assert_eq!(mirror.incident_id, lock.incident_id);
        assert_eq!(g.incidents.all().len(), 1, "one incident");
    }

    #[tokio::test]
    async fn failures_during_the_lock_add_to_its_incident() {
        let g = guard(&[]);
        let first = burst("a", "bob", 5, T0);
        g.handle(&payload(&as_refs(&first))).await.expect("lock");
        let later = burst("b", "bob", 3, T0 + 60_000);
        let r = g.handle(&payload(&as_refs(&later))).await.expect("more");
        assert!(r.locked.is_empty());
        let all = g.incidents.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].count, 8);
    }

    #[tokio::test]
    async fn audit_mode_records_and_locks_nothing() {
        let g = guard(&[("APPTRACK_DRY_RUN", "true")]);
        let events = burst("e", "carol", 6, T0);
        let r = g
            .handle(&payload(&as_refs(&events)))
            .await
            .expect("handled");
        assert_eq!(r.mode, "audit");
        assert_eq!(r.locked.len(), 1);
        assert!(
            g.state
                .get_lock(LockMode::Enforce, "carol")
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            g.state
                .get_lock(LockMode::Audit, "carol")
                .await
                .expect("read")
                .is_some()
        );
        assert!(g.incidents.all()[0].title.as_str().contains("audit mode"));
    }

    #[tokio::test]
    async fn bad_payload_is_permanent_and_names_the_problem() {
        let g = guard(&[]);
        let err = g
            .handle(&json!({"awslogs": {"data": "%%%"}}))
            .await
            .expect_err("bad");
        assert!(!err.is_retryable());
        assert_eq!(err.error_type(), "Permanent.InvalidBase64");
        assert!(err.to_string().contains("base64"), "{err}");
        assert_eq!(g.state.writes(), 0);
    }

    #[tokio::test]
    async fn a_field_of_the_wrong_type_is_named_not_called_missing() {
        let g = guard(&[]);
        let err = g
            .handle(&json!({"awslogs": {"data": ["H4sI"]}}))
            .await
            .expect_err("bad");
        assert_eq!(err.error_type(), "Permanent.WrongType");
        assert_eq!(
            err.to_string(),
            "bad log subscription payload: `awslogs.data` is an array, expected a string"
        );
        assert_eq!(g.state.writes(), 0);
    }

    #[test]
    fn reads_the_decompression_limit_every_log_function_reads() {
        let s = settings(&[("APPTRACK_MAX_DECOMPRESSED_BYTES", "65536")]);
        assert_eq!(s.limits.max_decompressed_bytes, 65_536);
        assert_eq!(settings(&[]).limits, DecodeLimits::default());
    }

    #[test]
    fn service_is_the_log_groups_last_segment() {
        assert_eq!(service_of("/apptrack/demo/auth"), "auth");
        assert_eq!(service_of("/"), SOURCE);
    }
}
