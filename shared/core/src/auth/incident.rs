//! What login-guard's incidents say: one brute-force incident per lock episode (its title,
//! severity, summary and evidence), the failures that arrive during the lock, and credential
//! stuffing from one source. Values in, occurrences out; the handler only raises them.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::json;

use super::{
    AccountAggregate, BUCKET_MILLIS, Counters, LockMirror, LockMode, LockRecord, SourceAggregate,
    StuffingDecision, StuffingPolicy,
};
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Evidence, IncidentError, IncidentKind, Occurrence, Severity, Title,
};

/// Who login-guard's incidents and timeline entries name as their source.
pub const SOURCE: &str = "login-guard";

/// The opening occurrence of a lock's incident (idempotent per lock).
pub fn lock_opened(l: &LockRecord) -> Result<Occurrence, IncidentError> {
    let audit = l.mode == LockMode::Audit;
    let minutes = l.locked_until.since(l.locked_at).as_secs() / 60;
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
    let at = l.locked_at;
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
        l.first_failure_at,
        l.last_failure_at,
        l.locked_until,
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
            "first_failure_at": l.first_failure_at,
            "last_failure_at": l.last_failure_at,
            "locked_until": l.locked_until,
            "offence": l.offence_number,
            "mode": l.mode,
        }),
    )];
    occ.idempotency_key = Some(format!(
        "{SOURCE}:lock:{}:{}:{}",
        l.mode, l.account, l.locked_at
    ));
    Ok(occ)
}

/// A batch's failures that arrived while the account was locked: they add to the lock's
/// incident (once per batch fingerprint `fp`).
pub fn failed_during_lock(
    m: &LockMirror,
    a: &AccountAggregate,
    fp: &str,
) -> Result<Occurrence, IncidentError> {
    let at = a.last_at;
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
            "from": a.first_at,
            "to": at,
        }),
    )];
    occ.idempotency_key = Some(format!(
        "{SOURCE}:during:{}:{}:{}:{fp}",
        m.mode, a.account, m.locked_at
    ));
    Ok(occ)
}

/// One source failing against many accounts (once per batch fingerprint `fp`). Accounts
/// are not locked for it; `locked` are those locked on their own threshold in this batch.
pub fn credential_stuffing(
    s: &SourceAggregate,
    d: &StuffingDecision,
    policy: &StuffingPolicy,
    log_group: &str,
    locked: &BTreeSet<String>,
    fp: &str,
) -> Result<Occurrence, IncidentError> {
    let ip = s.source.to_string();
    let at = s.last_at;
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
            policy.find_time.as_secs() / 60
        )),
        at,
    );
    occ.count = u64::from(s.failures);
    occ.summary = format!(
        "Source {ip} failed to log in to {} distinct accounts within {} s (threshold {}), e.g. {}. \
         Accounts are not locked for it; only accounts over their own threshold are.",
        d.distinct_count,
        policy.find_time.as_secs(),
        policy.distinct_accounts,
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
            "from": s.first_at,
            "to": at,
        }),
    )];
    occ.idempotency_key = Some(format!("{SOURCE}:stuffing:{ip}:{fp}"));
    Ok(occ)
}

/// One brute-force incident per lock episode.
pub fn episode_key(
    mode: LockMode,
    account: &str,
    locked_at: Timestamp,
) -> Result<DedupKey, IncidentError> {
    DedupKey::new(
        SOURCE,
        IncidentKind::BruteForce,
        account,
        &format!("{mode}:{}", locked_at.as_millis()),
    )
}

/// The service an incident belongs to: the log group's last path segment (`/app/accounts/auth`
/// → `auth`), or the group itself.
pub fn service_of(log_group: &str) -> String {
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
pub fn first_failure(c: &Counters, first_minute: i64) -> Option<Timestamp> {
    c.failure_buckets
        .range(first_minute..)
        .find(|(_, n)| **n > 0)
        .map(|(m, _)| Timestamp::from_millis(m.saturating_mul(BUCKET_MILLIS)))
}

/// When a lock record may expire: after the lock, and never before the repeat window that
/// makes the next offence a repeat has passed (a later batch must still find the offence).
pub fn lock_record_expiry(
    written_at: Timestamp,
    decided_at: Timestamp,
    until: Timestamp,
    repeat_window: std::time::Duration,
) -> Timestamp {
    written_at
        .saturating_add(until.since(decided_at))
        .max(written_at.saturating_add(repeat_window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_the_log_groups_last_segment() {
        assert_eq!(service_of("/apptrack/demo/auth"), "auth");
        assert_eq!(service_of("/"), SOURCE);
    }

    #[test]
    fn a_lock_record_outlives_the_repeat_window() {
        let day = std::time::Duration::from_secs(86_400);
        let t = Timestamp::from_millis;
        assert_eq!(
            lock_record_expiry(t(1_000), t(1_000), t(901_000), day),
            t(1_000 + 86_400_000)
        );
        let week = 7 * 86_400_000;
        assert_eq!(
            lock_record_expiry(t(2_000), t(1_000), t(1_000 + week), day),
            t(2_000 + week)
        );
    }
}
