//! The handler with in-memory ports: given a payload from `events/`, when handled, then
//! these counts and these incidents.

use std::time::Duration;

use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::errors::memory::MemoryErrorCounts;
use apptrack_core::incident::{Incident, IncidentKind, RaiseKind, Status};
use apptrack_core::store::memory::MemoryIncidentStore;
use apptrack_core::subscription::{LogEvent, LogsBatch, encode_batch};
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use apptrack_core::failure::Failure as _;

type TestAnalyzer = Analyzer<MemoryErrorCounts, MemoryIncidentStore, ManualClock>;

fn event(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-24T04:30:00Z").unwrap()
}

fn analyzer() -> TestAnalyzer {
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        _ => None,
    })
    .unwrap();
    Analyzer::new(
        MemoryErrorCounts::new(),
        MemoryIncidentStore::new(),
        ManualClock::new(now()),
        settings,
    )
}

fn sorted(mut v: Vec<Incident>) -> Vec<Incident> {
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

#[tokio::test]
async fn a_burst_against_a_failing_api_is_one_dependency_failure() {
    let a = analyzer();
    let out = a
        .handle(&event("logs/dependency-failure-burst.json"))
        .await
        .unwrap();
    assert_eq!(out.status, "processed");
    let incidents = a.incidents.all();
    assert_eq!(incidents.len(), 1, "{:#?}", out.incidents);
    let inc = &incidents[0];
    assert_eq!(inc.kind, IncidentKind::DependencyFailure);
    assert_eq!(inc.resource, "api.payments.example");
    assert_eq!(inc.service, "checkout");
    assert!(
        inc.title.as_str().contains("api.payments.example"),
        "{}",
        inc.title
    );
    let data = &inc.evidence[0].data;
    assert_eq!(
        data["errors"], 28,
        "12 refused, 12 upstream 503, 4 timeouts"
    );
    assert!(data["patterns"].as_array().unwrap().len() >= 3, "{data}");
    assert!(data["samples"].as_array().unwrap().len() <= 5);
    assert!(
        inc.summary.contains("Suspected cause: dependency"),
        "{}",
        inc.summary
    );
}

#[tokio::test]
async fn a_new_exception_after_quiet_logs_is_a_new_error() {
    let a = analyzer();
    let quiet = a.handle(&event("logs/quiet-logs.json")).await.unwrap();
    assert_eq!((quiet.error_lines, quiet.incidents.len()), (0, 0));
    assert_eq!(a.counts.writes(), 0, "info lines write nothing");
    let out = a.handle(&event("logs/new-exception.json")).await.unwrap();
    assert_eq!(out.incidents.len(), 1, "{out:#?}");
    let inc = &a.incidents.all()[0];
    assert_eq!(inc.kind, IncidentKind::NewError);
    assert_eq!(inc.service, "orders");
    assert_eq!(inc.count, 3);
    assert!(inc.title.as_str().contains("KeyError"), "{}", inc.title);
    let samples = inc.evidence[0].data["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    assert!(
        samples[0]
            .as_str()
            .unwrap()
            .contains("Failed to compute shipping quote")
    );
    assert!(
        samples[0].as_str().unwrap().len() <= 240,
        "samples are capped"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing() {
    let a = analyzer();
    let e = event("logs/dependency-failure-burst.json");
    a.handle(&e).await.unwrap();
    let (counters, patterns, incidents) = (
        a.counts.counters(),
        a.counts.patterns(),
        sorted(a.incidents.all()),
    );
    let writes = a.counts.writes();
    let again = a.handle(&e).await.unwrap();
    assert_eq!(again.status, "duplicate");
    assert!(again.incidents.is_empty());
    assert_eq!(a.counts.counters(), counters);
    assert_eq!(a.counts.patterns(), patterns);
    assert_eq!(a.counts.writes(), writes);
    assert_eq!(sorted(a.incidents.all()), incidents);
}

/// `n` error patterns that stay apart even when the batch teaches merges: each has two
/// words of its own (a merge needs templates equal but at one place).
fn many_patterns(n: usize) -> Value {
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
    let events = (0..n)
        .map(|i| LogEvent {
            id: format!("{i:056}"),
            timestamp: 1_795_489_200_000 + i as i64,
            message: format!("ERROR {} {} subsystem failed", word(i), word(i)),
        })
        .collect();
    let batch = LogsBatch {
        message_type: apptrack_core::subscription::MessageType::Data,
        owner: "1".into(),
        log_group: "/aws/lambda/many".into(),
        log_stream: "s".into(),
        subscription_filters: vec![],
        log_events: events,
    };
    serde_json::from_str(&encode_batch(&batch)).unwrap()
}

#[tokio::test]
async fn a_retry_after_a_partial_failure_applies_each_write_once() {
    let e = many_patterns(150);
    let reference = analyzer();
    let out = reference.handle(&e).await.unwrap();
    assert!(out.writes_applied >= 150, "{out:?}");

    let a = analyzer();
    a.counts.fail_after_writes(40);
    let err = a.handle(&e).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.error_type(), "Retryable.Unavailable");
    assert!(
        a.incidents.all().is_empty(),
        "no incident before the counts are complete"
    );
    a.counts.heal();
    let retry = a.handle(&e).await.unwrap();
    assert_eq!(
        (retry.writes_skipped, retry.writes_applied),
        (40, out.writes_applied - 40)
    );
    assert_eq!(a.counts.counters(), reference.counts.counters());
    assert_eq!(a.counts.patterns(), reference.counts.patterns());
    assert_eq!(a.counts.writes(), reference.counts.writes());
}

#[tokio::test]
async fn a_failure_while_raising_is_retried_without_double_counting() {
    let e = event("logs/dependency-failure-burst.json");
    let writes = analyzer().handle(&e).await.unwrap().writes_applied;
    let a = analyzer();
    // Counts go through; mark_done fails (after the incident was raised).
    a.counts.fail_after_writes(writes);
    let err = a.handle(&e).await.unwrap_err();
    assert!(err.is_retryable());
    a.counts.heal();
    let retry = a.handle(&e).await.unwrap();
    assert_eq!(retry.writes_applied, 0);
    assert_eq!(retry.incidents[0].raise, RaiseKind::Duplicate);
    let inc = &a.incidents.all()[0];
    assert_eq!(inc.count, 28, "the incident counts the batch once");
}

#[tokio::test]
async fn the_control_message_is_acknowledged_and_skipped() {
    let a = analyzer();
    let out = a.handle(&event("logs/control-message.json")).await.unwrap();
    assert_eq!(out.status, "control-skipped");
    assert_eq!(a.counts.writes(), 0);
}

#[tokio::test]
async fn broken_payloads_say_what_is_wrong_and_write_nothing() {
    let cases = [
        (
            "broken/logs-invalid-base64.json",
            "Permanent.InvalidBase64",
            "base64",
        ),
        ("broken/logs-bad-gzip.json", "Permanent.InvalidGzip", "gzip"),
        (
            "broken/logs-not-json.json",
            "Permanent.InvalidBatchJson",
            "JSON",
        ),
        (
            "broken/logs-missing-data.json",
            "Permanent.MissingField",
            "awslogs.data",
        ),
        (
            "broken/logs-gzip-bomb.json",
            "Permanent.TooLarge",
            "8388608",
        ),
    ];
    for (file, ty, text) in cases {
        let a = analyzer();
        let err = a.handle(&event(file)).await.unwrap_err();
        assert_eq!(err.error_type(), ty, "{file}: {err}");
        assert!(err.to_string().contains(text), "{file}: {err}");
        assert!(!err.is_retryable());
        assert_eq!(a.counts.writes(), 0);
        assert!(a.incidents.all().is_empty());
    }
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_named_and_permanent() {
    let a = analyzer();
    let err = a
        .handle(&serde_json::json!({"awslogs": {"data": 42}}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Permanent.WrongType");
    assert_eq!(
        err.to_string(),
        "bad subscription payload: `awslogs.data` is a number, expected a string"
    );
    assert_eq!(a.counts.writes(), 0);
}

#[tokio::test]
async fn every_failure_kind_gets_its_cause() {
    let a = analyzer();
    for f in [
        "database-failure",
        "code-error",
        "resource-exhaustion",
        "mixed-formats",
    ] {
        let out = a.handle(&event(&format!("logs/{f}.json"))).await.unwrap();
        assert!(out.error_lines > 0, "{f}: {out:?}");
    }
    let by = |kind: IncidentKind, text: &str| {
        a.incidents
            .all()
            .into_iter()
            .find(|i| i.kind == kind && i.summary.contains(text))
    };
    let db = by(IncidentKind::DependencyFailure, "Suspected cause: database").expect("database");
    assert_eq!(db.service, "orders");
    assert!(
        by(IncidentKind::NewError, "Suspected cause: code").is_some(),
        "{:#?}",
        a.incidents.all()
    );
    assert!(by(IncidentKind::NewError, "Suspected cause: resource").is_some());
}

#[tokio::test]
async fn quiet_problems_resolve_on_the_schedule() {
    let a = analyzer();
    a.handle(&event("logs/new-exception.json")).await.unwrap();
    let sweep = serde_json::json!({ "apptrack": RESOLVE_QUIET });
    // new-exception's last error is at 03:20:04; now is 04:30, well past 30 minutes.
    let out = a.handle(&sweep).await.unwrap();
    assert_eq!(out.resolved.len(), 1);
    assert_eq!(a.incidents.all()[0].status, Status::Resolved);
    // A recurrence opens a regression.
    a.clock.advance(Duration::from_secs(60));
    let again = a.handle(&event("logs/new-exception.json")).await.unwrap();
    assert_eq!(again.status, "duplicate", "the same batch is still a no-op");
    let none = a.handle(&sweep).await.unwrap();
    assert!(none.resolved.is_empty());
}

#[test]
fn settings_reject_a_tiny_decompression_limit() {
    let err = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" | "STATE_TABLE" => Some("t".into()),
        "APPTRACK_MAX_DECOMPRESSED_BYTES" => Some("10".into()),
        _ => None,
    })
    .unwrap_err();
    assert!(err.to_string().contains("APPTRACK_MAX_DECOMPRESSED_BYTES"));
}

/// A batch of one service's errors, one line per message, ids unique to `stream`.
fn lines(stream: &str, messages: &[String]) -> Value {
    let batch = LogsBatch {
        message_type: apptrack_core::subscription::MessageType::Data,
        owner: "1".into(),
        log_group: "/aws/lambda/gateway".into(),
        log_stream: stream.into(),
        subscription_filters: vec![],
        log_events: messages
            .iter()
            .enumerate()
            .map(|(i, m)| LogEvent {
                id: format!("{stream}-{i:040}"),
                timestamp: 1_795_489_200_000 + i as i64 * 1000,
                message: format!("ERROR {m}"),
            })
            .collect(),
    };
    serde_json::from_str(&encode_batch(&batch)).unwrap()
}

fn upstream(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| {
            let line = format!("upstream {n} is unhealthy again");
            [line.clone(), line]
        })
        .collect()
}

#[tokio::test]
async fn a_learned_merge_keeps_the_first_patterns_incident_in_later_batches() {
    let a = analyzer();
    let first = a
        .handle(&lines("s1", &upstream(&["billing"])))
        .await
        .unwrap();
    assert_eq!(first.incidents.len(), 1, "{first:#?}");
    let billing = a.incidents.all()[0].clone();
    // Three more names in one batch: four values, one pattern under billing's fingerprint.
    let second = a
        .handle(&lines("s2", &upstream(&["auth", "catalog", "search"])))
        .await
        .unwrap();
    assert_eq!(second.patterns, 1, "{second:#?}");
    // A later batch with one new name and one old: still the same incident, no new one.
    let third = a
        .handle(&lines("s3", &upstream(&["shipping", "auth"])))
        .await
        .unwrap();
    assert_eq!(third.patterns, 1);
    let all = a.incidents.all();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].dedup_key, billing.dedup_key);
    assert_eq!(all[0].count, 12, "every line counted once");
    // A redelivery changes nothing.
    let writes = a.counts.writes();
    let again = a
        .handle(&lines("s3", &upstream(&["shipping", "auth"])))
        .await
        .unwrap();
    assert_eq!(again.status, "duplicate");
    assert_eq!(a.counts.writes(), writes);
    assert_eq!(a.incidents.all(), all);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_bytes(&bytes, &DecodeLimits::default());
    }

    #[test]
    fn any_data_string_decodes_without_panic(data in ".{0,512}") {
        let v = serde_json::json!({"awslogs": {"data": data}});
        let _ = decode(&v, &DecodeLimits::default());
    }

    #[test]
    fn any_log_messages_are_handled_without_panic(messages in proptest::collection::vec(".{0,200}", 1..20)) {
        let batch = LogsBatch {
            message_type: apptrack_core::subscription::MessageType::Data,
            owner: "1".into(),
            log_group: "/aws/lambda/fuzz".into(),
            log_stream: "s".into(),
            subscription_filters: vec![],
            log_events: messages.iter().enumerate().map(|(i, m)| LogEvent {
                id: i.to_string(),
                timestamp: 1_795_489_200_000,
                message: format!("ERROR {m}"),
            }).collect(),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let a = analyzer();
        let out = rt.block_on(a.handle_batch(&batch)).unwrap();
        prop_assert_eq!(out.lines, messages.len() as u64);
        let again = rt.block_on(a.handle_batch(&batch)).unwrap();
        prop_assert!(again.status == "duplicate" || again.error_lines == 0);
    }
}
