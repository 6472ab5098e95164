//! login-guard under load: `n` batches of failed logins against one account, three each,
//! from a botnet of eight sources, within two minutes; and the truth they add up to.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use apptrack_aws::dynamodb::guard::{DynamoGuardStore, counter_pk};
use apptrack_bench::exact::{Figures, add};
use apptrack_core::auth::{CounterKey, GuardStore, LockMode};
use apptrack_core::clock::Timestamp;
use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType, encode_batch};
use apptrack_tests::TestTables;
use login_guard::Deployed;
use login_guard::handler::Settings;
use serde_json::Value;

pub const ACCOUNT: &str = "victim@example.com";
pub const FAILURES_PER_BATCH: usize = 3;
const SOURCES: usize = 8;
/// Every failure of the run falls within these two minutes.
const SPAN_MS: i64 = 120_000;

/// Source of the run's failure `k`: the botnet's hosts in turn (RFC 2544's test network).
fn source(k: usize) -> String {
    format!("198.18.0.{}", 1 + k % SOURCES)
}

/// The batches: batch `b` holds the run's failures `3b .. 3b + 3`, spread evenly over the span.
pub fn batches(n: usize, start: Timestamp) -> Vec<LogsBatch> {
    let all = (n * FAILURES_PER_BATCH).max(1) as i64;
    (0..n)
        .map(|b| LogsBatch {
            message_type: MessageType::Data,
            owner: "123456789012".into(),
            log_group: "/apptrack/load/auth".into(),
            log_stream: format!("web-{b}"),
            subscription_filters: vec!["login-guard".into()],
            log_events: (0..FAILURES_PER_BATCH)
                .map(|i| {
                    let k = b * FAILURES_PER_BATCH + i;
                    LogEvent {
                        id: format!("{}{k:08}", start.as_millis()),
                        timestamp: start.plus_millis(SPAN_MS * k as i64 / all).as_millis(),
                        message: format!(
                            r#"{{"event":"login_failed","user":"{ACCOUNT}","ip":"{}","user_agent":"python-requests/2.32"}}"#,
                            source(k)
                        ),
                    }
                })
                .collect(),
        })
        .collect()
}

/// The subscription payload Lambda hands the function.
pub fn payload(batch: &LogsBatch) -> Result<Value> {
    serde_json::from_str(&encode_batch(batch)).context("an encoded batch is not JSON")
}

/// What `n` batches must leave: every failure once in the account's counter and its
/// source's; one lock, a first offence; one brute-force incident counting every failure
/// (those before the lock and those during it).
pub fn truth(n: usize) -> Figures {
    let mut f = Figures::new();
    let all = n * FAILURES_PER_BATCH;
    add(
        &mut f,
        failures(&CounterKey::Account(ACCOUNT.into())),
        all as u64,
    );
    let mut by_source = BTreeMap::new();
    for k in 0..all {
        *by_source.entry(source(k)).or_insert(0u64) += 1;
    }
    for (ip, count) in by_source {
        if let Ok(ip) = ip.parse() {
            f.insert(failures(&CounterKey::Source(ip)), count);
        }
    }
    f.insert(lock("locks"), 1);
    f.insert(lock("offence"), 1);
    f.insert(
        crate::analyzer::incident("brute-force", ACCOUNT, "count"),
        all as u64,
    );
    f.insert(
        crate::analyzer::incident("brute-force", ACCOUNT, "incidents"),
        1,
    );
    f
}

fn failures(key: &CounterKey) -> String {
    format!("{} failures", counter_pk(key))
}

fn lock(what: &str) -> String {
    format!("lock {ACCOUNT} {what}")
}

/// The same figures from the tables: the counters of the account and of every botnet
/// source, the enforced locks, every incident.
pub async fn actual(t: &TestTables) -> Result<Figures> {
    let store = DynamoGuardStore::new(t.client.clone(), &t.state);
    let mut f = Figures::new();
    let mut keys = vec![CounterKey::Account(ACCOUNT.into())];
    for k in 0..SOURCES {
        if let Ok(ip) = source(k).parse() {
            keys.push(CounterKey::Source(ip));
        }
    }
    for key in keys {
        let c = store.read_counters(&key).await?;
        let sum: u64 = c.failure_buckets.values().map(|v| u64::from(*v)).sum();
        if sum > 0 {
            f.insert(failures(&key), sum);
        }
    }
    for l in store.list_locks(LockMode::Enforce).await? {
        let lock = |what: &str| format!("lock {} {what}", l.account);
        add(&mut f, lock("locks"), 1);
        add(&mut f, lock("offence"), u64::from(l.offence_number));
    }
    crate::analyzer::incidents(t, &mut f).await?;
    Ok(f)
}

/// One instance as `login_guard::Deployed` builds it, over its own client.
pub fn instance(client: aws_sdk_dynamodb::Client, t: &TestTables) -> Result<Deployed> {
    Ok(Deployed::from_client(
        client,
        Settings::from_lookup(t.lookup())?,
    ))
}

/// Whether a response says every key of the batch had been counted before (a redelivery).
pub fn all_counted_before(output: &Value) -> bool {
    let n = |k: &str| output.get(k).and_then(Value::as_u64);
    n("already_counted").is_some() && n("already_counted") == n("counter_writes")
}

/// Locks a response says this invocation set.
pub fn locks_set(output: &Value) -> usize {
    output
        .get("locked")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}
