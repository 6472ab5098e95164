//! The notifier over real parts with the time injected: incidents written to DynamoDB Local by
//! the incident store, the table's stream read with the Streams API as the event source
//! mapping reads it, messages published to an SNS topic in ministack and read from the SQS
//! queues subscribed to it (one with a filter policy). The handler runs in-process so a
//! `ManualClock` can move to the next reminder; `functions/notifier/tests/runtime.rs` runs
//! the real bootstrap.

use std::time::Duration;

use anyhow::{Result, ensure};
use apptrack_aws::dynamodb::DynamoActionLedger;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::silences::DynamoSilences;
use apptrack_aws::sns::SnsPublisher;
use apptrack_core::clock::{Clock, ManualClock, SystemClock, Timestamp};
use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, TimelineEntry, Title};
use apptrack_core::notify::{NOTIFY_NAMESPACE, Silence, SilenceBook};
use apptrack_core::store::RecordIncidents;
use apptrack_tests::proxy::{Fault, Proxy};
use apptrack_tests::stream::{Received, StreamReader, Subscriber, Topic};
use apptrack_tests::{TestTables, ministack, sdk_config};
use notifier::handler::{NOTIFY_SWEEP, Notifier, Settings};
use serde_json::{Value, json};

type Real =
    Notifier<SnsPublisher, DynamoIncidentStore, DynamoSilences, DynamoActionLedger, ManualClock>;

fn now() -> Timestamp {
    SystemClock.now()
}

fn notifier(
    tables: &TestTables,
    topic: &str,
    sns_endpoint: &str,
    extra: &[(&str, &str)],
) -> Result<Real> {
    let tables_lookup = tables.lookup();
    let mut env: Vec<(String, String)> =
        vec![("APPTRACK_NOTIFY_TOPIC_ARN".to_owned(), topic.to_owned())];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| tables_lookup(k))
    })?;
    let ddb = tables.client.clone();
    Ok(Notifier {
        publisher: SnsPublisher::new(aws_sdk_sns::Client::new(&sdk_config(sns_endpoint))),
        incidents: tables.store(),
        silences: DynamoSilences::new(ddb.clone(), &tables.state),
        ledger: DynamoActionLedger::new(ddb, &tables.state, NOTIFY_NAMESPACE),
        clock: ManualClock::new(now()),
        settings,
    })
}

fn occurrence(service: &str, severity: Severity, at: Timestamp) -> Occurrence {
    Occurrence::new(
        DedupKey::new("error-analyzer", IncidentKind::NewError, service, "fp-1").expect("key"),
        IncidentKind::NewError,
        severity,
        "error-analyzer",
        service,
        &format!("/aws/lambda/{service}"),
        Title::new("New error: card <*> declined").expect("title"),
        at,
    )
}

/// Reads what the stream holds now and hands it to the notifier as one batch.
async fn deliver(n: &Real, stream: &mut StreamReader) -> Result<(Value, Value)> {
    let records = stream.next_batch().await?;
    let event = json!({ "Records": records });
    let out = n.handle(&event).await?;
    Ok((event, serde_json::to_value(out)?))
}

fn changes(got: &[Received]) -> Vec<String> {
    got.iter().map(|m| m.attr("change").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_the_subscriber_once_and_filters_hold() -> Result<()> {
    let tables = TestTables::new().await?;
    let topic = Topic::new("apptrack").await?;
    let everything = topic.subscribe(None).await?;
    let pager = topic
        .subscribe(Some(json!({"severity": ["critical"]})))
        .await?;
    let mut stream = StreamReader::incidents(&tables).await?;
    let n = notifier(&tables, &topic.arn, &ministack().endpoint, &[])?;
    let store = tables.store();
    let t0 = now();

    let high = store
        .raise(&occurrence("checkout", Severity::High, t0))
        .await?;
    let crit = store
        .raise(&occurrence("billing", Severity::Critical, t0))
        .await?;
    let (event, out) = deliver(&n, &mut stream).await?;
    ensure!(out["batchItemFailures"] == json!([]), "{out}");
    let got = everything.drain().await?;
    ensure!(changes(&got) == ["opened", "opened"], "{:?}", changes(&got));
    let paged = pager.drain().await?;
    ensure!(
        paged.len() == 1 && paged[0].attr("incident_id") == crit.id.as_str(),
        "{paged:?}"
    );
    ensure!(paged[0].body["metadata"]["threadId"] == crit.id.as_str());
    ensure!(
        paged[0].subject.starts_with("New [critical] billing"),
        "{}",
        paged[0].subject
    );

    // A redelivered batch sends nothing.
    let again = n.handle(&event).await?;
    ensure!(again.batch_item_failures.is_empty());
    ensure!(
        everything.drain().await?.is_empty(),
        "a redelivery sent again"
    );

    // More occurrences: one update per group interval, whatever the number of writes.
    for _ in 0..3 {
        store
            .raise(&occurrence("checkout", Severity::High, now()))
            .await?;
    }
    deliver(&n, &mut stream).await?;
    let updates = everything.drain().await?;
    ensure!(changes(&updates) == ["updated"], "{:?}", changes(&updates));

    // Resolved (as the CLI resolves), once, in the incident's thread.
    let entry = TimelineEntry::new(now(), "ops@example.com", "resolved", "fixed the card check");
    store
        .resolve(&high.id, &entry, Duration::from_secs(86_400))
        .await?;
    let (event, _) = deliver(&n, &mut stream).await?;
    n.handle(&event).await?;
    let resolved = everything.drain().await?;
    ensure!(
        changes(&resolved) == ["resolved"],
        "{:?}",
        changes(&resolved)
    );
    ensure!(resolved[0].body["metadata"]["threadId"] == high.id.as_str());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_follow_the_injected_clock_and_a_silence_holds_then_releases() -> Result<()> {
    let tables = TestTables::new().await?;
    let topic = Topic::new("apptrack").await?;
    let sub: Subscriber = topic.subscribe(None).await?;
    let mut stream = StreamReader::incidents(&tables).await?;
    let n = notifier(
        &tables,
        &topic.arn,
        &ministack().endpoint,
        &[("APPTRACK_NOTIFY_REPEAT_MINUTES", "60")],
    )?;
    let t0 = now();
    n.clock.set(t0);
    let silence = Silence::new(
        ulid::Ulid::new().to_string(),
        "checkout",
        None,
        Duration::from_secs(30 * 60),
        "planned failover",
        "ops@example.com",
        t0.saturating_sub(Duration::from_secs(60)),
    )?;
    n.silences.add(&silence).await?;
    let inc = tables
        .store()
        .raise(&occurrence("checkout", Severity::High, t0))
        .await?;
    deliver(&n, &mut stream).await?;
    ensure!(
        sub.drain().await?.is_empty(),
        "the silence held the opening"
    );

    let sweep = json!({ "apptrack": NOTIFY_SWEEP });
    n.clock.set(t0.saturating_add(Duration::from_secs(20 * 60)));
    n.handle(&sweep).await?;
    ensure!(sub.drain().await?.is_empty(), "still silenced");
    n.clock.set(t0.saturating_add(Duration::from_secs(31 * 60)));
    n.handle(&sweep).await?;
    n.handle(&sweep).await?;
    let released = sub.drain().await?;
    ensure!(
        changes(&released) == ["silence-ended"],
        "{:?}",
        changes(&released)
    );
    ensure!(released[0].attr("incident_id") == inc.id.as_str());

    n.clock.set(t0.saturating_add(Duration::from_secs(61 * 60)));
    n.handle(&sweep).await?;
    n.clock.set(t0.saturating_add(Duration::from_secs(70 * 60)));
    n.handle(&sweep).await?;
    let reminded = sub.drain().await?;
    ensure!(
        changes(&reminded) == ["reminder"],
        "one reminder per hour: {:?}",
        changes(&reminded)
    );
    // The silenced opening was noted on the incident's timeline once.
    let timeline =
        apptrack_core::store::ReadIncidents::timeline(&tables.store(), &inc.id, now()).await?;
    let notes = timeline
        .iter()
        .filter(|e| e.action == "notification-silenced")
        .count();
    ensure!(notes == 1, "{timeline:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_publish_sends_no_second_notice() -> Result<()> {
    let tables = TestTables::new().await?;
    let topic = Topic::new("apptrack").await?;
    let sub = topic.subscribe(None).await?;
    let proxy = Proxy::start(&ministack().endpoint).await?;
    let mut stream = StreamReader::incidents(&tables).await?;
    let n = notifier(&tables, &topic.arn, proxy.endpoint(), &[])?;
    tables
        .store()
        .raise(&occurrence("checkout", Severity::High, now()))
        .await?;
    let records = stream.next_batch().await?;
    let event = json!({ "Records": records });
    proxy.inject(Fault::only_request(0).of("Publish").losing_answers());
    // The SDK resends after the lost answer (SNS got the first); either way the claim
    // settles once and a redelivered batch publishes nothing more.
    let first = n.handle(&event).await;
    proxy.heal();
    if first
        .as_ref()
        .map_or(true, |o| !o.batch_item_failures.is_empty())
    {
        n.handle(&event).await?;
    }
    n.handle(&event).await?;
    let got = sub.drain().await?;
    let ids: std::collections::BTreeSet<&str> =
        got.iter().map(|m| m.attr("notification_id")).collect();
    ensure!(ids.len() == 1, "one notice: {ids:?}");
    ensure!(
        got.len() <= 2,
        "at most the transport's resend of it: {}",
        got.len()
    );
    ensure!(
        proxy.failed() == 1,
        "the fault struck: {:?}",
        proxy.operations()
    );
    Ok(())
}
