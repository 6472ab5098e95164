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

fn success(user: &str, ip: &str) -> String {
    format!(r#"{{"event":"login_success","user":"{user}","ip":"{ip}","user_agent":"Firefox/140"}}"#)
}

#[tokio::test]
async fn the_owners_familiar_address_is_not_locked_and_the_attackers_are() {
    let g = guard(&[]);
    // dave logged in from home a week ago.
    let week = 7 * 86_400_000;
    let home = vec![("h0".to_owned(), T0 - week, success("dave", "192.0.2.44"))];
    g.handle(&payload(&as_refs(&home))).await.expect("home");
    let r = g
        .handle(&payload(&as_refs(&burst("e", "dave", 6, T0))))
        .await
        .expect("burst");
    assert_eq!(r.locked.len(), 1, "{r:?}");
    let lock = g
        .state
        .get_lock(LockMode::Enforce, "dave")
        .await
        .expect("read")
        .expect("locked");
    let during = Timestamp::from_millis(T0 + 60_000);
    assert!(lock.is_locked(during), "no source: locked");
    assert!(
        !lock.is_locked_for(during, "192.0.2.200".parse().ok()),
        "home's /24"
    );
    assert!(lock.is_locked_for(during, "203.0.113.1".parse().ok()));
    assert_eq!(lock.investigation.len(), 6);
    assert_eq!(lock.investigation[0].attempts, 1);
    assert!(!lock.investigation[0].familiar_to_any_account);
    let all = g.incidents.all();
    assert_eq!(all.len(), 1);
    assert!(
        all[0]
            .summary
            .contains("not locked for its familiar sources 192.0.2.0/24"),
        "{}",
        all[0].summary
    );
}

#[tokio::test]
async fn the_hard_lock_of_before_is_a_setting_away() {
    let g = guard(&[("APPTRACK_LOCK_SCOPE", "account")]);
    let home = vec![("h0".to_owned(), T0 - 60_000, success("dave", "192.0.2.44"))];
    g.handle(&payload(&as_refs(&home))).await.expect("home");
    g.handle(&payload(&as_refs(&burst("e", "dave", 6, T0))))
        .await
        .expect("burst");
    let lock = g
        .state
        .get_lock(LockMode::Enforce, "dave")
        .await
        .expect("read")
        .expect("locked");
    let during = Timestamp::from_millis(T0 + 60_000);
    assert!(lock.is_locked_for(during, "192.0.2.44".parse().ok()));
    assert!(lock.familiar.is_empty());
}

#[tokio::test]
async fn a_familiar_source_alone_cannot_lock_out_the_other_familiar_ones() {
    let g = guard(&[]);
    // The laptop (home) and the phone (mobile network) both know the password; the old
    // desktop at the office keeps trying the previous one.
    let known = vec![
        (
            "k0".to_owned(),
            T0 - 3_600_000,
            success("erin", "192.0.2.44"),
        ),
        (
            "k1".to_owned(),
            T0 - 3_500_000,
            success("erin", "2001:db8:7:7::1"),
        ),
        (
            "k2".to_owned(),
            T0 - 3_400_000,
            success("erin", "198.51.100.9"),
        ),
    ];
    g.handle(&payload(&as_refs(&known))).await.expect("known");
    let desktop: Vec<(String, i64, String)> = (0..6)
        .map(|i| {
            (
                format!("d{i}"),
                T0 + i * 1000,
                failure("erin", "198.51.100.9"),
            )
        })
        .collect();
    let r = g
        .handle(&payload(&as_refs(&desktop)))
        .await
        .expect("desktop");
    assert_eq!(r.locked.len(), 1, "the failures count");
    let lock = g
        .state
        .get_lock(LockMode::Enforce, "erin")
        .await
        .expect("read")
        .expect("locked");
    let during = Timestamp::from_millis(T0 + 60_000);
    for familiar in ["192.0.2.44", "2001:db8:7:7:abcd::2", "198.51.100.9"] {
        assert!(
            !lock.is_locked_for(during, familiar.parse().ok()),
            "{familiar}"
        );
    }
    assert!(lock.is_locked_for(during, "203.0.113.5".parse().ok()));
}

#[tokio::test]
async fn a_success_from_a_failing_source_after_the_burst_is_one_takeover_incident() {
    let g = guard(&[]);
    let mut events = burst("e", "frank", 6, T0);
    g.handle(&payload(&as_refs(&events))).await.expect("burst");
    // The attacker at 203.0.113.3 gets in, twice, in two batches; the first is redelivered.
    let win = vec![(
        "w0".to_owned(),
        T0 + 120_000,
        success("frank", "203.0.113.3"),
    )];
    let first = g.handle(&payload(&as_refs(&win))).await.expect("success");
    assert_eq!(first.takeovers, vec!["frank"], "{first:?}");
    let again = g
        .handle(&payload(&as_refs(&win)))
        .await
        .expect("redelivery");
    let win2 = vec![(
        "w1".to_owned(),
        T0 + 180_000,
        success("frank", "203.0.113.3"),
    )];
    g.handle(&payload(&as_refs(&win2)))
        .await
        .expect("second success");
    let takeovers: Vec<_> = g
        .incidents
        .all()
        .into_iter()
        .filter(|i| i.kind == apptrack_core::incident::IncidentKind::AccountTakeover)
        .collect();
    assert_eq!(takeovers.len(), 1, "one incident per episode");
    assert_eq!(
        takeovers[0].count, 2,
        "the redelivery added nothing: {again:?}"
    );
    assert_eq!(takeovers[0].severity.as_str(), "critical");
    assert!(
        takeovers[0]
            .summary
            .contains("Reset the account's password"),
        "{}",
        takeovers[0].summary
    );
    assert!(takeovers[0].summary.contains("203.0.113.3"));
    // The attacker's address was not learned as familiar.
    let f = g.state.familiar("frank").await.expect("read");
    assert!(f.days.is_empty(), "{f:?}");
    // The owner's own success after the episode is learned, and is no takeover.
    events.clear();
    events.push((
        "o0".to_owned(),
        T0 + 3 * 3_600_000,
        success("frank", "192.0.2.7"),
    ));
    let owner = g.handle(&payload(&as_refs(&events))).await.expect("owner");
    assert!(owner.takeovers.is_empty());
    assert!(
        !g.state
            .familiar("frank")
            .await
            .expect("read")
            .days
            .is_empty()
    );
}
