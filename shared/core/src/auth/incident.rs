//! What login-guard's incidents say: one brute-force incident per lock episode (its title,
//! severity, summary and its investigation per source), the failures that arrive during the
//! lock, credential stuffing from one source, and an account takeover (a success after the
//! burst). Values in, occurrences out; the handler only raises them.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::json;

use super::{
    AccountAggregate, BUCKET_MILLIS, Counters, LockMirror, LockMode, LockRecord, LockScope,
    SourceAggregate, SourceSummary, StuffingDecision, StuffingPolicy, TakeoverCause, WindowPolicy,
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
        "{}. Sources: {}. User agents: {}. Failures from {} to {}; locked until {}{}; {}.{}",
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
        scope_text(l),
        investigation_text(&l.investigation),
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
            "scope": l.scope,
            "familiar": l.familiar,
        }),
    )];
    for s in &l.investigation {
        occ.evidence.push(Evidence::new(
            at,
            &format!("source {}", s.source),
            serde_json::to_value(s).unwrap_or_default(),
        ));
    }
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

/// A success after the burst (`suspects`: its sources, times and causes, from the batch
/// with fingerprint `fp`): one critical `account-takeover` incident per lock episode, which
/// later successes of the episode add to.
pub fn account_takeover(
    l: &LockRecord,
    suspects: &[(std::net::IpAddr, Timestamp, TakeoverCause)],
    a: &AccountAggregate,
    c: &Counters,
    window: &WindowPolicy,
    fp: &str,
) -> Result<Occurrence, IncidentError> {
    let at = suspects.iter().map(|s| s.1).max().unwrap_or(a.last_at);
    let first_minute = window.first_minute(l.locked_at.min(at)) - super::CLOCK_SKEW_MINUTES;
    let last_minute = super::minute_of(at);
    let in_burst = |m: &&i64| **m >= first_minute && **m <= last_minute;
    let timeline: Vec<serde_json::Value> = c
        .failure_buckets
        .iter()
        .filter(|(m, n)| in_burst(m) && **n > 0)
        .map(|(m, n)| {
            let sources: Vec<&String> = c
                .member_buckets
                .get(m)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            json!({
                "minute": Timestamp::from_millis(m.saturating_mul(BUCKET_MILLIS)),
                "failures": n,
                "sources": sources,
            })
        })
        .collect();
    let failures: u32 = c
        .failure_buckets
        .iter()
        .filter(|(m, _)| in_burst(m))
        .fold(0u32, |acc, (_, n)| acc.saturating_add(*n));
    let mut minutes_per_source: std::collections::BTreeMap<&str, u32> = Default::default();
    for (_, set) in c
        .member_buckets
        .range(first_minute..=last_minute.max(first_minute))
    {
        for s in set {
            *minutes_per_source.entry(s.as_str()).or_default() += 1;
        }
    }
    let mut user_agents: BTreeSet<String> = a.user_agents.clone();
    user_agents.extend(l.user_agents.iter().cloned());
    let winners: Vec<String> = suspects.iter().map(|s| s.0.to_string()).collect();
    let mut occ = Occurrence::new(
        DedupKey::new(
            SOURCE,
            IncidentKind::AccountTakeover,
            &l.account,
            &format!("{}:{}", l.mode, l.locked_at.as_millis()),
        )?,
        IncidentKind::AccountTakeover,
        Severity::Critical,
        SOURCE,
        &service_of(&l.log_group),
        &l.account,
        Title::truncated(&format!(
            "Likely account takeover of {}: login from {} after {failures} failed logins",
            l.account,
            winners.join(", ")
        )),
        at,
    );
    occ.count = u64::try_from(suspects.len()).unwrap_or(1).max(1);
    let causes: Vec<String> = suspects
        .iter()
        .map(|(ip, t, cause)| match cause {
            TakeoverCause::FailedInBurst => format!("{ip} at {t} had failed in the burst"),
            TakeoverCause::WhileLocked => {
                format!("{ip} at {t} while the account was locked for it")
            }
        })
        .collect();
    occ.summary = format!(
        "A login to {} succeeded right after {failures} failed logins (locked at {} until {}): {}. \
         Reset the account's password, revoke its sessions and tokens, and review what the \
         session did. Burst sources: {}. User agents: {}.",
        l.account,
        l.locked_at,
        l.locked_until,
        causes.join("; "),
        minutes_per_source
            .iter()
            .map(|(s, n)| format!("{s} ({n} min)"))
            .collect::<Vec<_>>()
            .join(", "),
        list_or_none(&user_agents.into_iter().collect::<Vec<_>>()),
    );
    occ.evidence = vec![
        Evidence::new(
            at,
            "successful login after the burst",
            json!({
                "account": l.account,
                "logins": suspects.iter().map(|(ip, t, cause)| json!({
                    "source": ip.to_string(), "at": t, "cause": cause.as_str(),
                })).collect::<Vec<_>>(),
                "failures": failures,
                "sources": minutes_per_source.iter().map(|(s, n)| json!({
                    "source": s, "minutes_failing": n,
                })).collect::<Vec<_>>(),
                "user_agents": a.user_agents,
                "locked_at": l.locked_at,
                "locked_until": l.locked_until,
                "mode": l.mode,
            }),
        ),
        Evidence::new(at, "the burst, minute by minute", json!(timeline)),
    ];
    occ.idempotency_key = Some(format!(
        "{SOURCE}:takeover:{}:{}:{}:{fp}",
        l.mode, l.account, l.locked_at
    ));
    Ok(occ)
}

fn scope_text(l: &LockRecord) -> String {
    match l.scope {
        LockScope::Account => "locked for every source".to_owned(),
        LockScope::Unfamiliar if l.familiar.is_empty() => {
            "locked for every source (no familiar source yet)".to_owned()
        }
        LockScope::Unfamiliar => format!(
            "not locked for its familiar sources {}",
            l.familiar
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn investigation_text(summary: &[SourceSummary]) -> String {
    let per: Vec<String> = summary
        .iter()
        .map(|s| {
            format!(
                " {}: {} attempts against {} accounts, seen {} to {}, {}, {}.",
                s.source,
                s.attempts,
                s.accounts_tried,
                s.first_seen.map_or("?".to_owned(), |t| t.to_string()),
                s.last_seen.map_or("?".to_owned(), |t| t.to_string()),
                if s.ever_succeeded {
                    "has logged in successfully"
                } else {
                    "never logged in"
                },
                if s.familiar_to_any_account {
                    format!("familiar to {}", s.familiar_to.join(", "))
                } else {
                    "familiar to no account".to_owned()
                },
            )
        })
        .collect();
    per.concat()
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
