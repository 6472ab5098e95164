//! Unit tests of the handler over the in-memory ports: given stream records of incident
//! writes (built from real `Incident` values) and schedule runs, then these messages.

use std::time::Duration;

use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::failure::Failure as _;
use apptrack_core::incident::{
    DedupKey, Incident, IncidentKind, Occurrence, Severity, Status, TimelineEntry, Title,
};
use apptrack_core::ledger::memory::MemoryLedger;
use apptrack_core::notify::memory::{Fault, MemoryPublisher, MemorySilences};
use apptrack_core::notify::{Silence, SilenceBook};
use apptrack_core::store::memory::MemoryIncidentStore;
use apptrack_core::store::{ReadIncidents, RecordIncidents};
use serde_json::{Value, json};

use crate::handler::*;

type TestNotifier =
    Notifier<MemoryPublisher, MemoryIncidentStore, MemorySilences, MemoryLedger, ManualClock>;

fn t(min: i64) -> Timestamp {
    Timestamp::parse("2026-11-18T10:00:00Z")
        .expect("time")
        .plus_millis(min * 60_000)
}

fn notifier(extra: &[(&str, &str)]) -> TestNotifier {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        "APPTRACK_NOTIFY_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:apptrack".into()),
        other => extra
            .iter()
            .find(|(n, _)| n == other)
            .map(|(_, v)| v.clone()),
    })
    .expect("settings");
    Notifier {
        publisher: MemoryPublisher::default(),
        incidents: MemoryIncidentStore::new(),
        silences: MemorySilences::default(),
        ledger: MemoryLedger::default(),
        clock: ManualClock::new(t(0)),
        settings,
    }
}

async fn opened(n: &TestNotifier, severity: Severity) -> Incident {
    let occ = Occurrence::new(
        DedupKey::new("error-analyzer", IncidentKind::NewError, "checkout", "abc").expect("key"),
        IncidentKind::NewError,
        severity,
        "error-analyzer",
        "checkout",
        "/aws/lambda/checkout",
        Title::new("New error: payment declined").expect("title"),
        t(0),
    );
    let raised = n.incidents.raise(&occ).await.expect("raise");
    n.incidents.get(&raised.id, t(0)).await.expect("get")
}

fn record(seq: u32, old: Option<&Incident>, new: &Incident, at: Timestamp) -> Value {
    apptrack_tests::stream::incident_record(seq, old, new, at)
}

fn batch(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

fn changes(n: &TestNotifier) -> Vec<String> {
    n.publisher
        .sent()
        .iter()
        .map(|m| {
            m.attributes
                .iter()
                .find(|(k, _)| *k == "change")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn an_incident_opened_and_resolved_notifies_each_once_under_redelivery() {
    let n = notifier(&[]);
    let inc = opened(&n, Severity::High).await;
    let mut resolved = inc.clone();
    resolved.status = Status::Resolved;
    let events = batch(vec![
        record(1, None, &inc, t(0)),
        record(2, Some(&inc), &resolved, t(9)),
    ]);
    let first = n.handle(&events).await.expect("first");
    assert_eq!(first.notified.len(), 2);
    assert!(first.batch_item_failures.is_empty());
    let again = n.handle(&events).await.expect("redelivered");
    assert!(
        again
            .notified
            .iter()
            .all(|x| matches!(x.fate, Fate::AlreadyDone(_))),
        "{again:?}"
    );
    assert_eq!(changes(&n), ["opened", "resolved"]);
    let sent = n.publisher.sent();
    assert_eq!(sent[0].thread, sent[1].thread, "one thread per incident");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_record_publish_once() {
    let n = notifier(&[]);
    let inc = opened(&n, Severity::Critical).await;
    let events = batch(vec![record(1, None, &inc, t(0))]);
    let (a, b) = tokio::join!(n.handle(&events), n.handle(&events));
    // One publishes; the other is told to retry or sees it done, and publishes nothing.
    let ok = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert!(ok >= 1);
    assert_eq!(n.publisher.sent().len(), 1);
}

#[tokio::test]
async fn count_updates_are_grouped_per_interval() {
    let n = notifier(&[]);
    let inc = opened(&n, Severity::Medium).await;
    let step = |from: &Incident, count: u64| {
        let mut next = from.clone();
        next.count = count;
        next
    };
    let a = step(&inc, 3);
    let b = step(&a, 7);
    let c = step(&b, 12);
    let d = step(&c, 20);
    let events = batch(vec![
        record(1, None, &inc, t(0)),
        record(2, Some(&inc), &a, t(1)),
        record(3, Some(&a), &b, t(2)),
        record(4, Some(&b), &c, t(4)),
        record(5, Some(&c), &d, t(6)),
    ]);
    n.handle(&events).await.expect("batch");
    assert_eq!(changes(&n), ["opened", "updated", "updated"]);
}

#[tokio::test]
async fn a_failed_publish_retries_from_that_record_and_sends_once() {
    let n = notifier(&[]);
    let inc = opened(&n, Severity::High).await;
    let mut acked = inc.clone();
    acked.status = Status::Acknowledged;
    let events = batch(vec![
        record(1, None, &inc, t(0)),
        record(2, Some(&inc), &acked, t(3)),
    ]);
    n.publisher.fail_next(Fault::Unavailable);
    let first = n.handle(&events).await.expect("partial");
    assert_eq!(first.batch_item_failures.len(), 2, "{first:?}");
    assert_eq!(
        first.batch_item_failures[0].item_identifier,
        format!("{:021}", 1)
    );
    let retry = n.handle(&events).await.expect("retry");
    assert!(retry.batch_item_failures.is_empty());
    assert_eq!(changes(&n), ["opened", "acknowledged"]);
}

#[tokio::test]
async fn a_lost_answer_resends_under_the_same_id() {
    let n = notifier(&[]);
    let inc = opened(&n, Severity::High).await;
    let events = batch(vec![record(1, None, &inc, t(0))]);
    n.publisher.fail_next(Fault::AnswerLost);
    let first = n.handle(&events).await.expect("partial");
    assert_eq!(first.batch_item_failures.len(), 1);
    n.handle(&events).await.expect("retry");
    n.handle(&events).await.expect("redelivery");
    let ids: Vec<String> = n.publisher.sent().iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        ids.len(),
        2,
        "the resend after a lost answer, then nothing more"
    );
    assert_eq!(ids[0], ids[1], "a subscriber dedupes on the id");
}

#[tokio::test]
async fn a_silence_holds_notes_and_releases() {
    let n = notifier(&[]);
    let silence = Silence::new(
        "01SILENCE".into(),
        "checkout",
        None,
        Duration::from_secs(3600),
        "planned failover",
        "ops@example.com",
        t(-5),
    )
    .expect("silence");
    n.silences.add(&silence).await.expect("add");
    let inc = opened(&n, Severity::High).await;
    let events = batch(vec![record(1, None, &inc, t(0))]);
    let held = n.handle(&events).await.expect("held");
    assert_eq!(held.notified[0].fate, Fate::Silenced("01SILENCE".into()));
    n.handle(&events).await.expect("redelivered");
    assert!(n.publisher.sent().is_empty());
    let notes: Vec<TimelineEntry> = n
        .incidents
        .timeline(&inc.id, t(1))
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| e.action == "notification-silenced")
        .collect();
    assert_eq!(notes.len(), 1, "noted once");
    assert!(
        notes[0].detail.contains("planned failover"),
        "{}",
        notes[0].detail
    );

    let sweep = json!({"apptrack": NOTIFY_SWEEP});
    n.clock.set(t(30));
    n.handle(&sweep).await.expect("during the silence");
    assert!(n.publisher.sent().is_empty());
    n.clock.set(t(56));
    n.handle(&sweep).await.expect("after it");
    n.handle(&sweep).await.expect("again");
    assert_eq!(changes(&n), ["silence-ended"]);
}

#[tokio::test]
async fn reminders_follow_the_repeat_interval_until_acknowledged() {
    let n = notifier(&[("APPTRACK_NOTIFY_REPEAT_MINUTES", "60")]);
    let inc = opened(&n, Severity::High).await;
    let sweep = json!({"apptrack": NOTIFY_SWEEP});
    for minute in [30, 61, 70, 119, 121] {
        n.clock.set(t(minute));
        n.handle(&sweep).await.expect("sweep");
    }
    assert_eq!(changes(&n), ["reminder", "reminder"]);
    let entry = TimelineEntry::new(t(122), "ops", "acknowledged", "on it");
    n.incidents.acknowledge(&inc.id, &entry).await.expect("ack");
    n.clock.set(t(190));
    n.handle(&sweep).await.expect("sweep");
    assert_eq!(changes(&n).len(), 2, "no reminder once acknowledged");
}

#[tokio::test]
async fn a_critical_incident_goes_to_its_own_topic_when_one_is_set() {
    let n = notifier(&[(
        "APPTRACK_NOTIFY_TOPIC_CRITICAL",
        "arn:aws:sns:us-east-1:123456789012:pager",
    )]);
    let inc = opened(&n, Severity::Critical).await;
    n.handle(&batch(vec![record(1, None, &inc, t(0))]))
        .await
        .expect("batch");
    assert!(n.publisher.sent()[0].topic.ends_with(":pager"));
}

#[tokio::test]
async fn other_items_and_removals_are_quiet_and_bad_events_are_named() {
    let n = notifier(&[]);
    let pointer = json!({
        "eventID": "p1", "eventName": "INSERT", "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"pk": {"S": "DEDUP#x"}, "sk": {"S": "DEDUP"}},
            "NewImage": {"pk": {"S": "DEDUP#x"}, "sk": {"S": "DEDUP"}, "active_id": {"S": "01"}},
            "SequenceNumber": "1", "SizeBytes": 10,
        },
    });
    let out = n.handle(&batch(vec![pointer])).await.expect("quiet");
    assert_eq!(out.quiet, 1);
    assert!(n.publisher.sent().is_empty());

    let err = n.handle(&json!({"hello": 1})).await.expect_err("bad event");
    assert_eq!(err.error_type(), "Permanent.BadEvent");
    assert!(err.to_string().contains("Records"), "{err}");
    let err = n
        .handle(&json!({"Records": [{"eventName": "INSERT"}]}))
        .await
        .expect_err("bad record");
    assert_eq!(err.error_type(), "Permanent.BadEvent");

    let corrupt = json!({
        "eventID": "c1", "eventName": "INSERT", "awsRegion": "us-east-1",
        "dynamodb": {
            "NewImage": {"pk": {"S": "INCIDENT#x"}, "sk": {"S": "INCIDENT"}, "status": {"S": "??"}},
            "SequenceNumber": "2", "SizeBytes": 10,
        },
    });
    let out = n
        .handle(&batch(vec![corrupt]))
        .await
        .expect("skipped, not retried");
    assert_eq!(out.unreadable.len(), 1, "{out:?}");
    assert!(out.batch_item_failures.is_empty());
}

#[test]
fn settings_name_what_is_wrong() {
    let err = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" | "STATE_TABLE" => Some("t".into()),
        _ => None,
    })
    .expect_err("no topic");
    assert!(
        err.to_string().contains("APPTRACK_NOTIFY_TOPIC_ARN"),
        "{err}"
    );
    let err = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" | "STATE_TABLE" => Some("t".into()),
        "APPTRACK_NOTIFY_TOPIC_ARN" => Some("arn".into()),
        "APPTRACK_NOTIFY_MIN_SEVERITY" => Some("loud".into()),
        _ => None,
    })
    .expect_err("bad severity");
    assert!(
        err.to_string().contains("APPTRACK_NOTIFY_MIN_SEVERITY"),
        "{err}"
    );
}
