//! Unit tests of the handler over the in-memory ports: given failed logins, then these
//! counts, this lock, this incident.

use apptrack_core::auth::{CounterKey, GuardStore, LockMode};
use apptrack_core::clock::Timestamp;
use apptrack_core::failure::Failure as _;
use apptrack_core::subscription::DecodeLimits;
use serde_json::{Value, json};

use crate::handler::*;
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
