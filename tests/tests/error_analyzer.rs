//! error-analyzer's handler against DynamoDB Local: given a subscription payload from
//! `events/logs/`, when handled, then these counters and these incidents; redelivery,
//! partial failure and concurrency never count twice.

use apptrack_core::failure::Failure as _;
use std::sync::Arc;
use std::time::Duration;

use apptrack_aws::dynamodb::error_counts::DynamoErrorCounts;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::{Clock, ManualClock, Timestamp};
use apptrack_core::errors::analyze;
use apptrack_core::errors::counts::{CountDelta, RecordErrorCounts};
use apptrack_core::incident::{Incident, IncidentKind, Status};
use apptrack_core::pattern::PatternMiner;
use apptrack_core::store::{PageRequest, ReadIncidents};
use apptrack_core::subscription::{
    DecodeLimits, LogEvent, LogsBatch, MessageType, decode_event, encode_batch,
};
use apptrack_tests::{Items, TestTables, repo_root};
use aws_sdk_dynamodb::types::AttributeValue;
use error_analyzer::handler::{Analyzer, RESOLVE_QUIET, Settings};
use serde_json::Value;

type TestAnalyzer = Analyzer<DynamoErrorCounts, DynamoIncidentStore, ManualClock>;

fn settings(t: &TestTables) -> Settings {
    Settings::from_lookup(t.lookup()).expect("valid settings")
}

/// The real time (DynamoDB Local applies TTLs from when items are written); decisions use
/// the events' own times, fixed in `events/logs/`.
fn analyzer(t: &TestTables) -> TestAnalyzer {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Analyzer::new(
        DynamoErrorCounts::new(t.client.clone(), &t.state),
        t.store(),
        ManualClock::new(Timestamp::from_millis(now)),
        settings(t),
    )
}

fn event(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

async fn open_incidents(a: &TestAnalyzer) -> Vec<Incident> {
    let page = PageRequest {
        limit: 100,
        cursor: None,
        now: Timestamp::from_secs(0),
    };
    let mut v = a
        .incidents
        .list_by_status(Status::Open, &page)
        .await
        .unwrap()
        .items;
    v.sort_by(|x, y| x.id.cmp(&y.id));
    v
}

async fn counter(t: &TestTables, pk: &str) -> u64 {
    let res = t
        .client
        .query()
        .table_name(&t.state)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
        .send()
        .await
        .unwrap();
    res.items()
        .iter()
        .filter_map(|i| i.get("count")?.as_n().ok()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_against_a_failing_dependency_is_exactly_one_incident_naming_it() {
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    let out = a
        .handle(&event("logs/dependency-failure-burst.json"))
        .await
        .unwrap();
    assert_eq!(out.status, "processed");
    let open = open_incidents(&a).await;
    let deps: Vec<_> = open
        .iter()
        .filter(|i| i.kind == IncidentKind::DependencyFailure)
        .collect();
    assert_eq!(deps.len(), 1, "{open:#?}");
    assert_eq!(
        open.len(),
        1,
        "the burst's patterns are inside the dependency's incident"
    );
    let inc = deps[0];
    assert_eq!(inc.resource, "api.payments.example");
    assert!(inc.title.as_str().contains("api.payments.example"));
    assert_eq!(inc.count, 28);
    assert_eq!(inc.evidence[0].data["share"], 0.966, "28 of 29 errors");
    assert_eq!(
        counter(&t, "ERRCOUNT#checkout#D#api.payments.example").await,
        28
    );
    assert_eq!(counter(&t, "ERRCOUNT#checkout#ALL").await, 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_exception_after_quiet_logs_is_a_new_error_that_resolves_when_quiet() {
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    a.handle(&event("logs/quiet-logs.json")).await.unwrap();
    assert!(
        t.items(&t.state).await.unwrap().is_empty(),
        "info lines write no state"
    );
    let out = a.handle(&event("logs/new-exception.json")).await.unwrap();
    assert_eq!(out.incidents.len(), 1);
    let open = open_incidents(&a).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, IncidentKind::NewError);
    assert_eq!(open[0].service, "orders");
    assert!(open[0].title.as_str().contains("KeyError"));

    // The schedule's sweep, an hour later: past the 30-minute quiet time whenever this runs.
    a.clock.advance(Duration::from_secs(3600));
    let sweep = a
        .handle(&serde_json::json!({ "apptrack": RESOLVE_QUIET }))
        .await
        .unwrap();
    assert_eq!(sweep.resolved, [open[0].id.to_string()]);
    assert!(open_incidents(&a).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_changes_no_count_and_no_incident() {
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    let e = event("logs/dependency-failure-burst.json");
    a.handle(&e).await.unwrap();
    a.handle(&event("logs/new-exception.json")).await.unwrap();
    let before = t.snapshot().await.unwrap();
    a.clock.advance(Duration::from_secs(5));
    for name in [
        "logs/dependency-failure-burst.json",
        "logs/new-exception.json",
    ] {
        let again = a.handle(&event(name)).await.unwrap();
        assert_eq!(again.status, "duplicate", "{name}");
    }
    assert_eq!(t.snapshot().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_message_writes_nothing() {
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    let out = a.handle(&event("logs/control-message.json")).await.unwrap();
    assert_eq!(out.status, "control-skipped");
    assert!(t.snapshot().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_payloads_fail_clearly_and_write_nothing() {
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    for (file, ty) in [
        ("broken/logs-invalid-base64.json", "Permanent.InvalidBase64"),
        ("broken/logs-bad-gzip.json", "Permanent.InvalidGzip"),
        ("broken/logs-not-json.json", "Permanent.InvalidBatchJson"),
        ("broken/logs-missing-data.json", "Permanent.MissingField"),
        ("broken/logs-gzip-bomb.json", "Permanent.TooLarge"),
    ] {
        let err = a.handle(&event(file)).await.unwrap_err();
        assert_eq!(err.error_type(), ty, "{file}: {err}");
        assert!(!err.is_retryable());
    }
    assert!(t.snapshot().await.unwrap().is_empty());
}

/// `n` error patterns that stay apart even when the batch teaches merges: each has two
/// words of its own (a merge needs templates equal but at one place).
fn many_patterns(stream: &str, n: usize) -> LogsBatch {
    let word = |mut i: usize| {
        let mut w = String::from("x");
        loop {
            w.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                break w;
            }
        }
    };
    LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/aws/lambda/many".into(),
        log_stream: stream.into(),
        subscription_filters: vec![],
        log_events: (0..n)
            .map(|i| LogEvent {
                id: format!("{stream}-{i:050}"),
                timestamp: 1_795_489_200_000 + i as i64,
                message: format!("ERROR {} {} subsystem failed", word(i), word(i)),
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_part_way_applies_each_write_once() {
    let batch = many_patterns("crash", 150);
    let payload: Value = serde_json::from_str(&encode_batch(&batch)).unwrap();

    let reference = TestTables::new().await.unwrap();
    let out = analyzer(&reference).handle(&payload).await.unwrap();
    assert!(out.writes_applied >= 150, "{out:?}");

    // The first delivery applied 99 writes and died.
    let t = TestTables::new().await.unwrap();
    let a = analyzer(&t);
    let full = analyze(&batch, &PatternMiner::default()).delta();
    let partial = CountDelta {
        batch: full.batch.clone(),
        writes: full.writes[..99].to_vec(),
    };
    a.counts.apply(&partial, a.clock.now()).await.unwrap();

    let retry = a.handle(&payload).await.unwrap();
    assert_eq!(
        (retry.writes_skipped, retry.writes_applied),
        (99, out.writes_applied - 99)
    );
    let counts = |items: Items| -> Items {
        items
            .into_iter()
            .filter(|((pk, _), _)| !pk.starts_with("ERRBATCH#"))
            .map(|(key, mut item)| {
                // Written at different moments in the two tables.
                item.remove("expires_at");
                (key, item)
            })
            .collect()
    };
    assert_eq!(
        counts(t.items(&t.state).await.unwrap()),
        counts(reference.items(&reference.state).await.unwrap())
    );
}

/// A batch of `busy`'s log stream `b`: `lines` errors of one pattern.
fn busy_batch(b: i64, lines: i64, message: impl Fn(i64) -> String) -> LogsBatch {
    LogsBatch {
        message_type: MessageType::Data,
        owner: "1".into(),
        log_group: "/aws/lambda/busy".into(),
        log_stream: format!("stream-{b}"),
        subscription_filters: vec![],
        log_events: (0..lines)
            .map(|i| LogEvent {
                id: format!("{b}-{i}"),
                timestamp: 1_795_489_200_000 + b * lines + i,
                message: message(i),
            })
            .collect(),
    }
}

/// Handles `batches` all at once, each on its own task, as concurrent Lambda instances do.
async fn all_at_once(a: &Arc<TestAnalyzer>, batches: &[LogsBatch]) {
    let tasks: Vec<_> = batches
        .iter()
        .cloned()
        .map(|batch| {
            let a = a.clone();
            tokio::spawn(async move { a.handle_batch(&batch).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("each batch is counted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_of_one_pattern_add_up() {
    let t = TestTables::new().await.unwrap();
    let a = Arc::new(analyzer(&t));
    let batches: Vec<_> = (0..6)
        .map(|b| {
            busy_batch(b, 10, |i| {
                format!("ERROR timeout calling inventory for sku {b}{i}")
            })
        })
        .collect();
    all_at_once(&a, &batches).await;
    assert_eq!(counter(&t, "ERRCOUNT#busy#ALL").await, 60);
    let open = open_incidents(&a).await;
    assert_eq!(open.len(), 1, "one pattern, one new-error incident");
    assert_eq!(open[0].count, 60);
}

#[test]
fn every_sample_payload_decodes() {
    for entry in std::fs::read_dir(repo_root().join("events/logs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).unwrap();
            decode_event(&bytes, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// The case that used to double count: batches of one line each, every one alone under the
/// threshold of 2, all handled at once and then all delivered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_line_batches_at_once_count_each_error_once_in_the_incident() {
    let t = TestTables::new().await.unwrap();
    let a = Arc::new(analyzer(&t));
    let batches: Vec<_> = (0..30)
        .map(|b| busy_batch(b, 1, |_| format!("ERROR card declined for order {b}")))
        .collect();
    for _delivery in 0..2 {
        all_at_once(&a, &batches).await;
    }
    assert_eq!(counter(&t, "ERRCOUNT#busy#ALL").await, 30);
    let open = open_incidents(&a).await;
    assert_eq!(open.len(), 1, "one pattern, one new-error incident");
    assert_eq!(open[0].count, 30, "every error once, none twice");
}

/// A batch of `gateway`'s errors `upstream NAME is unhealthy again`, two lines per name.
fn upstream(stream: &str, names: &[&str]) -> Value {
    let batch = LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/aws/lambda/gateway".into(),
        log_stream: stream.into(),
        subscription_filters: vec![],
        log_events: names
            .iter()
            .flat_map(|n| [n, n])
            .enumerate()
            .map(|(i, n)| LogEvent {
                id: format!("{stream}-{i:050}"),
                timestamp: 1_795_489_200_000 + i as i64 * 1000,
                message: format!("ERROR upstream {n} is unhealthy again"),
            })
            .collect(),
    };
    serde_json::from_str(&encode_batch(&batch)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learned_merge_holds_across_cold_starts_and_keeps_the_first_incident() {
    let t = TestTables::new().await.unwrap();
    analyzer(&t)
        .handle(&upstream("s1", &["billing"]))
        .await
        .unwrap();
    let first = open_incidents(&analyzer(&t)).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    // Each batch below is a cold start: a new analyzer, only the tables kept.
    let second = analyzer(&t)
        .handle(&upstream("s2", &["auth", "catalog", "search"]))
        .await
        .unwrap();
    assert_eq!(second.patterns, 1, "{second:#?}");
    let third = upstream("s3", &["shipping", "auth"]);
    assert_eq!(analyzer(&t).handle(&third).await.unwrap().patterns, 1);
    let again = analyzer(&t).handle(&third).await.unwrap();
    assert_eq!(again.status, "duplicate");
    let open = open_incidents(&analyzer(&t)).await;
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(open[0].dedup_key, first[0].dedup_key);
    assert_eq!(open[0].count, 12, "every line once");
}
