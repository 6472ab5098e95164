//! The DynamoDB incident store against DynamoDB Local: atomic raise under concurrency,
//! lifecycle, every access pattern with pagination, and bad input.

use std::collections::HashSet;
use std::time::Duration;

use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::Timestamp;
use apptrack_core::incident::{
    DedupKey, IncidentError, IncidentId, IncidentKind, MAX_TIMELINE, Occurrence, RaiseKind,
    Severity, Status, TimelineEntry, Title,
};
use apptrack_core::store::{PageRequest, ReadIncidents, RecordIncidents, StoreError, TimeRange};
use apptrack_tests::TestTables;

const T0: i64 = 1_795_000_000; // 2026-11-18, seconds
const DAY: Duration = Duration::from_secs(86_400);

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(T0 + secs)
}

fn key(resource: &str, fingerprint: &str) -> DedupKey {
    DedupKey::new(
        "error-analyzer",
        IncidentKind::NewError,
        resource,
        fingerprint,
    )
    .unwrap()
}

fn occurrence(k: &DedupKey, service: &str, t: i64) -> Occurrence {
    Occurrence::new(
        k.clone(),
        IncidentKind::NewError,
        Severity::High,
        "error-analyzer",
        service,
        service,
        Title::new(format!("TimeoutError in {service}")).unwrap(),
        at(t),
    )
}

fn page(limit: usize, cursor: Option<String>, now: i64) -> PageRequest {
    PageRequest {
        limit,
        cursor,
        now: at(now),
    }
}

async fn setup() -> (TestTables, DynamoIncidentStore) {
    let tables = TestTables::new().await.expect("creating test tables");
    let store = tables.store();
    (tables, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_raises_give_one_incident_counted_fifty_times() {
    let (_t, store) = setup().await;
    let k = key("checkout", "f-concurrent");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let occ = occurrence(&k, "checkout", i % 7);
        tasks.push(tokio::spawn(async move { store.raise(&occ).await }));
    }
    let mut ids = HashSet::new();
    let mut opened = 0;
    for t in tasks {
        let r = t.await.unwrap().expect("raise");
        opened += usize::from(r.kind == RaiseKind::Opened);
        ids.insert(r.id);
    }
    assert_eq!(ids.len(), 1, "all raises land on one incident");
    assert_eq!(opened, 1);
    let open = store
        .list_by_status(Status::Open, &page(100, None, 10))
        .await
        .unwrap();
    assert_eq!(open.items.len(), 1);
    let inc = &open.items[0];
    assert_eq!(inc.count, 50);
    assert_eq!(inc.first_seen, at(0));
    assert_eq!(
        inc.last_seen,
        at(6),
        "last_seen is the latest occurrence, whatever the order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redelivered_occurrences_count_once_even_concurrently() {
    let (_t, store) = setup().await;
    let k = key("payments", "f-idem");
    let mut tasks = Vec::new();
    // Ten distinct deliveries, each delivered five times, all at once.
    for copy in 0..5 {
        for delivery in 0..10 {
            let store = store.clone();
            let occ = Occurrence {
                idempotency_key: Some(format!("log-event-{delivery}")),
                ..occurrence(&k, "payments", delivery + copy)
            };
            tasks.push(tokio::spawn(async move { store.raise(&occ).await }));
        }
    }
    let mut duplicates = 0;
    for t in tasks {
        let r = t.await.unwrap().expect("raise");
        duplicates += usize::from(r.kind == RaiseKind::Duplicate);
    }
    assert_eq!(duplicates, 40);
    let inc = store
        .active_for_key(&k)
        .await
        .unwrap()
        .expect("active incident");
    assert_eq!(inc.count, 10);
}

#[tokio::test]
async fn lifecycle_acknowledge_resolve_expire_and_regress() {
    let (_t, store) = setup().await;
    let k = key("search", "f-life");
    let first = store.raise(&occurrence(&k, "search", 0)).await.unwrap();
    assert_eq!(first.kind, RaiseKind::Opened);

    let acked = store
        .acknowledge(
            &first.id,
            &TimelineEntry::new(at(10), "cli:ops", "acknowledged", "looking"),
        )
        .await
        .unwrap();
    assert_eq!(acked.status, Status::Acknowledged);
    assert_eq!(acked.acknowledged_at, Some(at(10)));

    // An acknowledged incident still absorbs occurrences.
    let again = store.raise(&occurrence(&k, "search", 20)).await.unwrap();
    assert_eq!(
        (again.id.clone(), again.kind),
        (first.id.clone(), RaiseKind::Updated)
    );

    let resolved = store
        .resolve(
            &first.id,
            &TimelineEntry::new(at(30), "cli:ops", "resolved", "rolled back"),
            7 * DAY,
        )
        .await
        .unwrap();
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.expires_at, Some(at(30).saturating_add(7 * DAY)));
    assert!(store.active_for_key(&k).await.unwrap().is_none());

    let timeline = store.timeline(&first.id, at(40)).await.unwrap();
    let actions: Vec<_> = timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["opened", "acknowledged", "resolved"]);

    // The same problem again: a new incident, marked as a regression of the first.
    let back = store.raise(&occurrence(&k, "search", 50)).await.unwrap();
    assert_eq!(back.kind, RaiseKind::Regressed);
    assert_ne!(back.id, first.id);
    let reg = store.get(&back.id, at(60)).await.unwrap();
    assert_eq!(reg.regression_of, Some(first.id.clone()));
    assert_eq!(reg.count, 1);

    // After the retention the resolved incident is gone from reads and listings.
    let after = T0 + 30 + 7 * 86_400;
    assert!(matches!(
        store.get(&first.id, Timestamp::from_secs(after)).await,
        Err(StoreError::NotFound(_))
    ));
    let resolved_list = store
        .list_by_status(
            Status::Resolved,
            &PageRequest {
                limit: 10,
                cursor: None,
                now: Timestamp::from_secs(after),
            },
        )
        .await
        .unwrap();
    assert!(resolved_list.items.is_empty());
    let still = store
        .list_by_status(Status::Resolved, &page(10, None, 100))
        .await
        .unwrap();
    assert_eq!(still.items.len(), 1);
}

#[tokio::test]
async fn listings_page_past_one_page_newest_first() {
    let (_t, store) = setup().await;
    for i in 0..23 {
        let svc = if i % 2 == 0 { "api" } else { "worker" };
        store
            .raise(&occurrence(&key(svc, &format!("f{i}")), svc, i * 60))
            .await
            .unwrap();
    }
    // Open incidents, newest first, seven at a time.
    let mut all = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let p = store
            .list_by_status(Status::Open, &page(7, cursor, 99_999))
            .await
            .unwrap();
        all.extend(p.items);
        pages += 1;
        cursor = p.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(pages >= 4, "{pages} pages");
    assert_eq!(all.len(), 23);
    assert!(all.windows(2).all(|w| w[0].first_seen >= w[1].first_seen));

    // One service in a time range (half-open), paged five at a time.
    let range = TimeRange {
        from: at(2 * 60),
        to: at(16 * 60),
    };
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let p = store
            .list_by_service("api", range, &page(5, cursor, 99_999))
            .await
            .unwrap();
        found.extend(p.items);
        cursor = p.next;
        if cursor.is_none() {
            break;
        }
    }
    let minutes: Vec<i64> = found
        .iter()
        .map(|i| (i.first_seen.as_secs() - T0) / 60)
        .collect();
    assert_eq!(minutes, [14, 12, 10, 8, 6, 4, 2]);

    // By id, and the active incident for a dedup key.
    let one = &all[0];
    assert_eq!(
        store.get(&one.id, at(0)).await.unwrap().dedup_key,
        one.dedup_key
    );
    assert_eq!(
        store
            .active_for_key(&one.dedup_key)
            .await
            .unwrap()
            .unwrap()
            .id,
        one.id
    );
    assert!(
        store
            .active_for_key(&key("api", "never"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn timeline_is_bounded_and_keeps_the_latest() {
    let (_t, store) = setup().await;
    let r = store
        .raise(&occurrence(&key("db", "f-tl"), "db", 0))
        .await
        .unwrap();
    for i in 0..(MAX_TIMELINE + 5) {
        store
            .append_timeline(
                &r.id,
                &TimelineEntry::new(at(i as i64), "alarm-scaler", "note", &format!("step {i}")),
            )
            .await
            .unwrap();
    }
    let tl = store.timeline(&r.id, at(0)).await.unwrap();
    assert_eq!(tl.len(), MAX_TIMELINE);
    assert_eq!(tl[0].action, "opened");
    assert_eq!(
        tl[MAX_TIMELINE - 1].detail,
        format!("step {}", MAX_TIMELINE + 4)
    );
    assert_eq!(store.get(&r.id, at(0)).await.unwrap().timeline_dropped, 6);
}

#[tokio::test]
async fn a_timeline_entry_with_an_idempotency_key_is_added_once() {
    let (_t, store) = setup().await;
    let r = store
        .raise(&occurrence(&key("db", "f-once"), "db", 0))
        .await
        .unwrap();
    let entry = TimelineEntry::new(at(5), "alarm-scaler", "scaled", "from 2 to 3");
    let retry = TimelineEntry::new(at(65), "alarm-scaler", "scaled", "from 2 to 3");
    let added = [
        store
            .append_timeline_once(&r.id, &entry, "t1:scaled")
            .await
            .unwrap(),
        store
            .append_timeline_once(&r.id, &retry, "t1:scaled")
            .await
            .unwrap(),
        store
            .append_timeline_once(&r.id, &retry, "t2:scaled")
            .await
            .unwrap(),
    ];
    assert_eq!(added, [true, false, true]);
    let tl = store.timeline(&r.id, at(0)).await.unwrap();
    let scaled: Vec<Timestamp> = tl
        .iter()
        .filter(|e| e.action == "scaled")
        .map(|e| e.at)
        .collect();
    assert_eq!(
        scaled,
        [at(5), at(65)],
        "the first entry per key, and only it"
    );
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let (t, store) = setup().await;
    let unknown = IncidentId::new(at(0));
    let err = store.get(&unknown, at(0)).await.unwrap_err();
    assert_eq!(err.to_string(), format!("incident {unknown} not found"));
    assert!(matches!(
        store
            .acknowledge(
                &unknown,
                &TimelineEntry::new(at(0), "cli", "acknowledged", "")
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        Title::new("x".repeat(201)).unwrap_err(),
        IncidentError::TitleTooLong { len: 201 }
    );

    let r = store
        .raise(&occurrence(&key("auth", "f-bad"), "auth", 0))
        .await
        .unwrap();
    let done = TimelineEntry::new(at(1), "cli", "resolved", "");
    store.resolve(&r.id, &done, DAY).await.unwrap();
    let err = store
        .acknowledge(&r.id, &TimelineEntry::new(at(2), "cli", "acknowledged", ""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot acknowledge"), "{err}");
    assert!(!err.is_retryable());
    let err = store.resolve(&r.id, &done, DAY).await.unwrap_err();
    assert!(err.to_string().contains("it is resolved"), "{err}");

    let mut empty = occurrence(&key("auth", "f-empty"), "auth", 0);
    empty.service = String::new();
    let err = store.raise(&empty).await.unwrap_err();
    assert_eq!(err.to_string(), "service must not be empty");

    let err = store
        .list_by_status(Status::Open, &page(5, Some("not-a-cursor".into()), 0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadCursor(_)), "{err}");

    let missing = DynamoIncidentStore::new(t.client.clone(), "no-such-table", &t.state);
    let err = missing.get(&unknown, at(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::TableMissing { .. }), "{err}");
    assert!(err.to_string().contains("no-such-table"));
}

#[tokio::test]
async fn an_incident_of_a_kind_this_build_does_not_know_is_raised_listed_and_read() {
    let (t, store) = setup().await;
    // Raised through the store, as a newer function would.
    let kind = IncidentKind::parse("cost-anomaly").unwrap();
    assert!(!kind.is_known());
    let k = DedupKey::new("cost-watch", kind, "web-asg", "14d").unwrap();
    let occ = Occurrence {
        kind,
        ..occurrence(&k, "web", 0)
    };
    let first = store.raise(&occ).await.unwrap();
    assert_eq!(first.kind, RaiseKind::Opened);
    let again = store
        .raise(&Occurrence { at: at(60), ..occ })
        .await
        .unwrap();
    assert_eq!(
        (again.id.clone(), again.kind),
        (first.id.clone(), RaiseKind::Updated)
    );
    let items = t.incidents().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        apptrack_tests::attr(&items[0], "kind"),
        Some("cost-anomaly")
    );

    // Written raw with the SDK, the way another build's store writes an item.
    let raw = t
        .put_raw_incident("deployment-regression", "checkout", at(120))
        .await
        .unwrap();

    let inc = store.get(&first.id, at(200)).await.unwrap();
    assert_eq!((inc.kind, inc.count), (kind, 2));
    assert_eq!(
        store.active_for_key(&k).await.unwrap().map(|i| i.id),
        Some(first.id.clone())
    );
    let other = store.get(&raw, at(200)).await.unwrap();
    assert_eq!(other.kind.as_str(), "deployment-regression");
    assert!(matches!(other.kind, IncidentKind::Other(_)));
    assert_eq!(other.count, 3);
    assert_eq!(other.evidence.len(), 1);
    let tl = store.timeline(&raw, at(200)).await.unwrap();
    assert_eq!(tl[0].action, "opened");

    let open = store
        .list_by_status(Status::Open, &page(10, None, 200))
        .await
        .unwrap();
    let kinds: Vec<&str> = open.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["deployment-regression", "cost-anomaly"]);
    let range = TimeRange {
        from: at(0),
        to: at(1_000),
    };
    let by_service = store
        .list_by_service("checkout", range, &page(10, None, 200))
        .await
        .unwrap();
    assert_eq!(by_service.items, std::slice::from_ref(&other));

    // Its lifecycle works as any other's, and the stored kind is kept unchanged.
    let acked = store
        .acknowledge(
            &raw,
            &TimelineEntry::new(at(300), "cli:ops", "acknowledged", ""),
        )
        .await
        .unwrap();
    assert_eq!(
        (acked.status, acked.kind),
        (Status::Acknowledged, other.kind)
    );
    let items = t.incidents().await.unwrap();
    let mut stored: Vec<_> = items
        .iter()
        .filter_map(|i| apptrack_tests::attr(i, "kind"))
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, ["cost-anomaly", "deployment-regression"]);
}

#[tokio::test]
async fn a_stored_kind_that_is_not_a_kind_is_a_clear_error() {
    let (t, store) = setup().await;
    let id = t
        .put_raw_incident("Not A Kind", "checkout", at(0))
        .await
        .unwrap();
    let err = store.get(&id, at(10)).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert!(
        err.to_string().contains("invalid kind \"Not A Kind\""),
        "{err}"
    );
    // Where kinds are written, junk never gets that far.
    assert!(matches!(
        IncidentKind::parse("Not A Kind"),
        Err(IncidentError::InvalidKind { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_severity_is_raised_once_never_lowered_and_not_after_resolve() {
    let (_t, store) = setup().await;
    let k = key("checkout", "f-escalate");
    let id = store
        .raise(&occurrence(&k, "checkout", 0))
        .await
        .unwrap()
        .id;
    let note = |t: i64| TimelineEntry::new(at(t), "capacity-forecast", "escalated", "now critical");

    // Concurrent escalations to critical: one writes, the others find it done.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, id) = (store.clone(), id.clone());
        let entry = note(10 + i);
        tasks.push(tokio::spawn(async move {
            store.escalate(&id, Severity::Critical, &entry).await
        }));
    }
    let mut changed = 0;
    for t in tasks {
        changed += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(changed, 1);
    let inc = store.get(&id, at(30)).await.unwrap();
    assert_eq!(inc.severity, Severity::Critical);
    let tl = store.timeline(&id, at(30)).await.unwrap();
    assert_eq!(tl.iter().filter(|e| e.action == "escalated").count(), 1);

    // Never lowered.
    assert!(!store.escalate(&id, Severity::Low, &note(40)).await.unwrap());
    assert_eq!(
        store.get(&id, at(50)).await.unwrap().severity,
        Severity::Critical
    );

    // A resolved incident is not escalated.
    let k2 = key("checkout", "f-escalate-resolved");
    let id2 = store
        .raise(&occurrence(&k2, "checkout", 0))
        .await
        .unwrap()
        .id;
    store
        .resolve(
            &id2,
            &TimelineEntry::new(at(5), "cli", "resolved", ""),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert!(
        !store
            .escalate(&id2, Severity::Critical, &note(6))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(&id2, at(7)).await.unwrap().severity,
        Severity::High
    );
}

/// An occurrence of an old event (CloudWatch Logs takes events up to 14 days old): its
/// idempotency record lives 14 days from today, not from the event, so DynamoDB's TTL
/// cannot delete it before a redelivery and let that redelivery count again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_events_idempotency_record_outlives_its_redeliveries() {
    let (t, store) = setup().await;
    let k = key("checkout", "f-old-event");
    let occ = Occurrence {
        idempotency_key: Some("old-event-1".into()),
        ..occurrence(&k, "checkout", -20 * 86_400)
    };
    store.raise(&occ).await.unwrap();
    let items = t.items(&t.state).await.unwrap();
    let (_, idem) = items
        .iter()
        .find(|((pk, _), _)| pk.contains("old-event-1"))
        .expect("the idempotency record");
    let expires: i64 = idem["expires_at"].as_n().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(expires >= now + 13 * 86_400, "expires {expires}, now {now}");
    assert_eq!(store.raise(&occ).await.unwrap().kind, RaiseKind::Duplicate);
}
