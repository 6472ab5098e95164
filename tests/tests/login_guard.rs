//! login-guard's handler against DynamoDB Local: given a subscription payload from `events/`
//! (or built here with controlled times), when handled, then these counters, locks, incidents.

use apptrack_core::failure::Failure as _;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::auth::{CounterKey, GuardStore, LockMode};
use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::incident::{IncidentKind, Status};
use apptrack_core::store::{PageRequest, ReadIncidents};
use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType, encode_batch};
use apptrack_tests::{TestTables, repo_root};
use login_guard::handler::{Guard, Settings};

type TestGuard = Guard<DynamoGuardStore, DynamoIncidentStore, ManualClock>;

const T0: i64 = 1_795_000_000_000; // the time events/auth/*.json start at
const MIN: i64 = 60_000;

fn settings(t: &TestTables, pairs: &[(&str, &str)]) -> Settings {
    let mut all: Vec<(String, String)> = vec![
        ("INCIDENTS_TABLE".into(), t.incidents.clone()),
        ("STATE_TABLE".into(), t.state.clone()),
    ];
    all.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_lookup(move |k| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("valid settings")
}

/// The handler's clock is the real one: DynamoDB Local applies TTLs, and items expire from
/// when they are written. Decisions use the events' own times (fixed in `events/auth/`).
fn guard(t: &TestTables, pairs: &[(&str, &str)], _events_until: i64) -> TestGuard {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Guard::new(
        DynamoGuardStore::new(t.client.clone(), &t.state),
        t.store(),
        ManualClock::new(Timestamp::from_millis(now.max(T0))),
        settings(t, pairs),
    )
}

fn event_file(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A payload of failed JSON logins of `user`, one per (id, time, ip).
fn failures(user: &str, events: &[(String, i64, String)]) -> Value {
    let batch = LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/apptrack/test/auth".into(),
        log_stream: "web-1".into(),
        subscription_filters: vec!["login-guard".into()],
        log_events: events
            .iter()
            .map(|(id, at, ip)| LogEvent {
                id: id.clone(),
                timestamp: *at,
                message: format!(
                    r#"{{"event":"login_failed","user":"{user}","ip":"{ip}","user_agent":"curl/8.5.0"}}"#
                ),
            })
            .collect(),
    };
    serde_json::from_str(&encode_batch(&batch)).expect("a JSON event")
}

fn burst(tag: &str, n: usize, t: i64, net: &str) -> Vec<(String, i64, String)> {
    (0..n)
        .map(|i| {
            (
                format!("{tag}-{i}"),
                t + i as i64 * 1000,
                format!("{net}.{}", i + 1),
            )
        })
        .collect()
}

async fn open_incidents(
    store: &DynamoIncidentStore,
    now: i64,
) -> Vec<apptrack_core::incident::Incident> {
    let page = PageRequest {
        limit: 100,
        cursor: None,
        now: Timestamp::from_millis(now),
    };
    store
        .list_by_status(Status::Open, &page)
        .await
        .expect("listing")
        .items
}

async fn state_items(t: &TestTables) -> i32 {
    t.client
        .scan() // test-only assertion that nothing was written
        .table_name(&t.state)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("count")
        .count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_against_one_account_locks_it_and_opens_one_incident() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[], T0 + 5 * MIN);
    let r = g
        .handle(&event_file("auth/burst-one-account.json"))
        .await
        .expect("handled");
    assert_eq!((r.failures, r.successes), (8, 1), "{r:?}");
    assert_eq!(r.locked.len(), 1);
    assert_eq!(r.locked[0].account, "alice@example.com");

    let lock = g
        .state
        .get_lock(LockMode::Enforce, "alice@example.com")
        .await
        .expect("read")
        .expect("locked");
    assert_eq!(
        lock.locked_until.since(lock.locked_at).as_millis(),
        15 * MIN as u128
    );
    assert_eq!(lock.sources.len(), 8);
    assert_eq!(
        lock.incident_id.as_deref(),
        Some(r.locked[0].incident_id.as_str())
    );

    let open = open_incidents(&g.incidents, T0 + 5 * MIN).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, IncidentKind::BruteForce);
    assert_eq!(open[0].count, 8);
    assert_eq!(open[0].resource, "alice@example.com");
    assert!(
        open[0].summary.contains("198.51.100.10"),
        "{}",
        open[0].summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_offence_within_a_day_doubles_the_lock() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[], T0 + 3 * 3_600_000);
    let first = g
        .handle(&failures("root", &burst("a", 5, T0, "203.0.113")))
        .await
        .expect("first");
    assert_eq!(first.locked.len(), 1, "{first:?}");
    assert_eq!(first.locked[0].offence, 1);
    // During the lock: no second lock, the failures join the first incident.
    let during = g
        .handle(&failures("root", &burst("b", 4, T0 + 5 * MIN, "203.0.113")))
        .await
        .expect("during");
    assert!(during.locked.is_empty());
    // After it expired: a new burst is the second offence, locked for 30 minutes.
    let later = T0 + 40 * MIN;
    let second = g
        .handle(&failures("root", &burst("c", 5, later, "198.51.100")))
        .await
        .expect("second");
    assert_eq!(second.locked.len(), 1, "{second:?}");
    assert_eq!(second.locked[0].offence, 2);
    let lock = g
        .state
        .get_lock(LockMode::Enforce, "root")
        .await
        .expect("read")
        .expect("lock");
    assert_eq!(
        lock.locked_until.since(lock.locked_at).as_millis(),
        30 * MIN as u128
    );
    assert_eq!(lock.offences.len(), 2, "{lock:?}");

    let open = open_incidents(&g.incidents, later).await;
    assert_eq!(open.len(), 2, "one incident per lock episode");
    let counts: Vec<u64> = open.iter().map(|i| i.count).collect();
    assert!(counts.contains(&9) && counts.contains(&5), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_raises_an_incident_and_locks_only_accounts_over_their_threshold() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[], T0 + 5 * MIN);
    let r = g
        .handle(&event_file("auth/spray-one-source.json"))
        .await
        .expect("handled");
    assert_eq!(r.stuffing, vec!["203.0.113.77"]);
    let locked: Vec<&str> = r.locked.iter().map(|l| l.account.as_str()).collect();
    assert_eq!(locked, vec!["carol@example.com"]);
    let locks = g.state.list_locks(LockMode::Enforce).await.expect("list");
    assert_eq!(locks.len(), 1);

    let open = open_incidents(&g.incidents, T0 + 5 * MIN).await;
    let stuffing: Vec<_> = open
        .iter()
        .filter(|i| i.kind == IncidentKind::CredentialStuffing)
        .collect();
    assert_eq!(stuffing.len(), 1);
    assert_eq!(stuffing[0].resource, "203.0.113.77");
    assert!(
        stuffing[0].summary.contains("26 distinct accounts"),
        "{}",
        stuffing[0].summary
    );
    assert!(stuffing[0].summary.contains("user00@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_listed_sources_are_never_counted() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[("APPTRACK_ALLOW_CIDRS", "10.0.0.0/8")], T0 + 5 * MIN);
    let r = g
        .handle(&failures("ops", &burst("x", 9, T0, "10.1.2")))
        .await
        .expect("handled");
    assert_eq!((r.failures, r.allow_listed, r.counter_writes), (0, 9, 0));
    assert!(r.locked.is_empty());
    assert_eq!(state_items(&t).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_mode_records_what_it_would_lock_and_locks_nothing() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[("APPTRACK_DRY_RUN", "true")], T0 + 5 * MIN);
    let r = g
        .handle(&event_file("auth/burst-one-account.json"))
        .await
        .expect("handled");
    assert_eq!(r.mode, "audit");
    assert_eq!(r.locked.len(), 1);
    let store = &g.state;
    assert!(
        store
            .get_lock(LockMode::Enforce, "alice@example.com")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .list_locks(LockMode::Enforce)
            .await
            .expect("list")
            .is_empty()
    );
    let audit = store.list_locks(LockMode::Audit).await.expect("list");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let open = open_incidents(&g.incidents, T0 + 5 * MIN).await;
    assert_eq!(open.len(), 1);
    assert!(
        open[0].title.as_str().contains("audit mode"),
        "{}",
        open[0].title
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_and_concurrent_deliveries_count_exactly_and_lock_once() {
    let t = TestTables::new().await.expect("tables");
    let g = Arc::new(guard(&t, &[], T0 + 5 * MIN));
    // Ten batches of one failure each, every batch delivered twice, all at once.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let body = failures(
            "victim",
            &[(
                format!("ev-{i}"),
                T0 + i * 1000,
                format!("203.0.113.{}", i + 1),
            )],
        );
        for _ in 0..2 {
            let g = Arc::clone(&g);
            let body = body.clone();
            tasks.push(tokio::spawn(async move { g.handle(&body).await }));
        }
    }
    let mut locks = 0;
    for task in tasks {
        let r = task.await.expect("task").expect("handled");
        locks += r.locked.len();
    }
    // And one more redelivery after the dust settled.
    let again = g
        .handle(&failures(
            "victim",
            &[("ev-3".into(), T0 + 3000, "203.0.113.4".into())],
        ))
        .await
        .expect("redelivery");
    assert_eq!(again.already_counted, again.counter_writes);

    let c = g
        .state
        .read_counters(&CounterKey::Account("victim".into()))
        .await
        .expect("read");
    assert_eq!(c.failure_buckets.values().sum::<u32>(), 10, "exact count");
    assert_eq!(locks, 1, "one lock");
    assert_eq!(
        g.state
            .list_locks(LockMode::Enforce)
            .await
            .expect("list")
            .len(),
        1
    );
    let open = open_incidents(&g.incidents, T0 + 5 * MIN).await;
    assert_eq!(open.len(), 1, "one incident");
    assert_eq!(
        open[0].count, 10,
        "every failure counted once in the incident"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_payloads_fail_permanently_with_a_clear_error_and_write_nothing() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[], T0);
    let cases = [
        (
            "broken/auth-not-base64.json",
            "Permanent.InvalidBase64",
            "not valid base64",
        ),
        (
            "broken/auth-not-gzip.json",
            "Permanent.InvalidGzip",
            "not a valid gzip stream",
        ),
        (
            "broken/auth-missing-data.json",
            "Permanent.MissingField",
            "awslogs.data",
        ),
        (
            "broken/auth-event-missing-timestamp.json",
            "Permanent.MissingField",
            "logEvents[0].timestamp",
        ),
        (
            "broken/auth-gzip-bomb.json",
            "Permanent.TooLarge",
            "more than the limit",
        ),
    ];
    for (file, error_type, text) in cases {
        let err = g.handle(&event_file(file)).await.expect_err(file);
        assert_eq!(err.error_type(), error_type, "{file}");
        assert!(err.to_string().contains(text), "{file}: {err}");
    }
    let ctl = g
        .handle(&event_file("auth/control-message.json"))
        .await
        .expect("control");
    assert!(ctl.control_message);
    assert_eq!(state_items(&t).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_format_is_recognized() {
    let t = TestTables::new().await.expect("tables");
    let regex = r"AUTH (?P<outcome>\w+) user=(?P<account>\S+) ip=(?P<ip>\S+)";
    let g = guard(&t, &[("APPTRACK_AUTH_REGEX", regex)], T0 + 5 * MIN);
    let sshd = g
        .handle(&event_file("auth/sshd-brute-force.json"))
        .await
        .expect("sshd");
    assert_eq!(sshd.failures, 7, "{sshd:?}");
    assert_eq!(
        sshd.locked
            .iter()
            .map(|l| l.account.as_str())
            .collect::<Vec<_>>(),
        vec!["root"]
    );
    let custom = g
        .handle(&event_file("auth/custom-regex.json"))
        .await
        .expect("custom");
    assert_eq!((custom.failures, custom.successes), (5, 1));
    assert_eq!(custom.locked.len(), 1);
    let mixed = g
        .handle(&event_file("auth/interleaved-successes.json"))
        .await
        .expect("mixed");
    assert!(mixed.unparsed >= 1);
    assert!(mixed.allow_listed >= 1);
    // erin failed 6 times from one source while logging in elsewhere: still locked.
    assert_eq!(
        mixed
            .locked
            .iter()
            .map(|l| l.account.as_str())
            .collect::<Vec<_>>(),
        vec!["erin@example.com"]
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// A payload of JSON logins of `user`: (id, time, ip, succeeded).
fn logins(user: &str, events: &[(String, i64, String, bool)]) -> Value {
    let batch = LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/apptrack/test/auth".into(),
        log_stream: "web-1".into(),
        subscription_filters: vec!["login-guard".into()],
        log_events: events
            .iter()
            .map(|(id, at, ip, ok)| LogEvent {
                id: id.clone(),
                timestamp: *at,
                message: format!(
                    r#"{{"event":"{}","user":"{user}","ip":"{ip}","user_agent":"{}"}}"#,
                    if *ok { "login_success" } else { "login_failed" },
                    if *ok {
                        "Firefox/140"
                    } else {
                        "python-requests/2.31.0"
                    },
                ),
            })
            .collect(),
    };
    serde_json::from_str(&encode_batch(&batch)).expect("a JSON event")
}

fn failing(tag: &str, n: usize, t: i64, net: &str) -> Vec<(String, i64, String, bool)> {
    burst(tag, n, t, net)
        .into_iter()
        .map(|(id, at, ip)| (id, at, ip, false))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn familiar_sources_are_learned_once_and_a_lock_holds_against_strangers_only() {
    let t = TestTables::new().await.expect("tables");
    let g = guard(&t, &[], T0);
    let home = logins(
        "gina",
        &[
            ("h1".into(), T0 - 86_400_000, "192.0.2.44".into(), true),
            ("h2".into(), T0 - 3_600_000, "2001:db8:5:6::10".into(), true),
        ],
    );
    g.handle(&home).await.expect("home");
    let before = g.state.familiar("gina").await.expect("read");
    g.handle(&home).await.expect("redelivery");
    assert_eq!(g.state.familiar("gina").await.expect("read"), before);
    assert_eq!(before.days.values().map(|s| s.len()).sum::<usize>(), 2);

    let r = g
        .handle(&logins("gina", &failing("x", 6, T0, "203.0.113")))
        .await
        .expect("burst");
    assert_eq!(r.locked.len(), 1, "{r:?}");
    let lock = g
        .state
        .get_lock(LockMode::Enforce, "gina")
        .await
        .expect("read")
        .expect("locked");
    let during = Timestamp::from_millis(T0 + MIN);
    assert!(lock.is_locked(during));
    assert!(!lock.is_locked_for(during, "192.0.2.7".parse().ok()));
    assert!(!lock.is_locked_for(during, "2001:db8:5:6:ffff::1".parse().ok()));
    assert!(lock.is_locked_for(during, "203.0.113.1".parse().ok()));
    assert!(lock.is_locked_for(during, "2001:db8:5:7::1".parse().ok()));
    // The investigation: every source of the burst, none familiar to any account.
    assert_eq!(lock.investigation.len(), 6);
    assert!(
        lock.investigation
            .iter()
            .all(|s| s.attempts == 1 && !s.ever_succeeded)
    );
    assert!(
        lock.investigation
            .iter()
            .all(|s| !s.familiar_to_any_account)
    );
    let open = open_incidents(&g.incidents, T0).await;
    assert_eq!(open.len(), 1);
    assert!(
        open[0]
            .evidence
            .iter()
            .any(|e| e.text == "source 203.0.113.1"),
        "{:?}",
        open[0].evidence
    );

    // The plain GetItem a login path makes answers the same.
    let item = t
        .client
        .get_item()
        .table_name(&t.state)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("LOCKS".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("gina".into()),
        )
        .projection_expression("locked_until_s, #s, familiar.#p")
        .expression_attribute_names("#s", "scope")
        .expression_attribute_names("#p", "192.0.2.0/24")
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    assert_eq!(
        item["scope"].as_s().ok().map(String::as_str),
        Some("unfamiliar")
    );
    assert!(
        item["familiar"]
            .as_m()
            .is_ok_and(|m| m.contains_key("192.0.2.0/24"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_from_a_failing_source_opens_one_account_takeover_incident() {
    let t = TestTables::new().await.expect("tables");
    let g = Arc::new(guard(&t, &[], T0));
    g.handle(&logins("hank", &failing("x", 6, T0, "203.0.113")))
        .await
        .expect("burst");
    let win = logins(
        "hank",
        &[("w1".into(), T0 + 2 * MIN, "203.0.113.4".into(), true)],
    );
    // Delivered three times at once, then again.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (g, body) = (Arc::clone(&g), win.clone());
        tasks.push(tokio::spawn(async move { g.handle(&body).await }));
    }
    for task in tasks {
        task.await.expect("task").expect("handled");
    }
    g.handle(&win).await.expect("redelivery");
    let open = open_incidents(&g.incidents, T0).await;
    let takeovers: Vec<_> = open
        .iter()
        .filter(|i| i.kind == IncidentKind::AccountTakeover)
        .collect();
    assert_eq!(takeovers.len(), 1, "{open:#?}");
    assert_eq!(takeovers[0].count, 1, "redeliveries add nothing");
    assert_eq!(takeovers[0].severity.as_str(), "critical");
    assert!(
        takeovers[0].summary.contains("revoke its sessions"),
        "{}",
        takeovers[0].summary
    );
    assert!(takeovers[0].summary.contains("python-requests/2.31.0"));
    // The attacker did not become familiar.
    assert!(
        g.state
            .familiar("hank")
            .await
            .expect("read")
            .days
            .is_empty()
    );
}
