//! The deployment log against DynamoDB Local: many concurrent deliveries of one
//! deployment's start and end, in any order, make one marker with the merged state.

use std::sync::Arc;

use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_core::clock::Timestamp;
use apptrack_core::deploy::{Announcement, DeployState, DeploymentLog, decode};
use apptrack_tests::{TestTables, repo_root};
use serde_json::Value;

fn marker(file: &str) -> apptrack_core::deploy::Deployment {
    let text =
        std::fs::read_to_string(repo_root().join("events/deploy").join(file)).expect("sample");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    match decode(&v).expect("decodes") {
        Announcement::Deployment(d) => d,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_start_and_end_make_one_merged_marker() {
    let tables = TestTables::new().await.expect("tables");
    let log = Arc::new(DynamoDeploymentLog::new(
        tables.client.clone(),
        &tables.state,
    ));
    let (start, end) = (
        marker("codedeploy-start.json"),
        marker("codedeploy-success.json"),
    );
    let mut tasks = Vec::new();
    for i in 0..20 {
        let log = log.clone();
        let m = if i % 2 == 0 {
            start.clone()
        } else {
            end.clone()
        };
        tasks.push(tokio::spawn(async move { log.record(&m).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("recorded");
    }
    let all = log.list(None, Timestamp::EPOCH).await.expect("list");
    assert_eq!(all.len(), 1, "{all:#?}");
    let m = &all[0];
    assert_eq!(m.state, DeployState::Succeeded);
    assert_eq!(m.started_at, start.started_at);
    assert_eq!(m.ended_at, end.ended_at);
    // One service's list, and a time filter.
    assert_eq!(
        log.list(Some("checkout"), Timestamp::EPOCH)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        log.list(Some("other"), Timestamp::EPOCH)
            .await
            .expect("list")
            .is_empty()
    );
    let later = end
        .ended_at
        .expect("end")
        .saturating_add(std::time::Duration::from_secs(1));
    assert!(log.list(None, later).await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_that_opens_after_a_deployment_names_it_on_its_timeline() {
    use apptrack_core::deploy::correlate::Correlating;
    use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, Title};
    use apptrack_core::store::{ReadIncidents, RecordIncidents};

    let tables = TestTables::new().await.expect("tables");
    let log = DynamoDeploymentLog::new(tables.client.clone(), &tables.state);
    let store = Correlating::new(tables.store(), log);
    let deployed = marker("custom.json");
    store.deployments.record(&deployed).await.expect("marker");
    let onset = deployed
        .started_at
        .saturating_add(std::time::Duration::from_secs(240));
    let key = DedupKey::new("test", IncidentKind::Performance, "checkout", "p99").expect("key");
    let occ = Occurrence::new(
        key,
        IncidentKind::Performance,
        Severity::High,
        "test",
        "checkout",
        "checkout",
        Title::truncated("checkout p99 latency up 25 %"),
        onset,
    );
    let raised = store.raise(&occ).await.expect("raised");
    store.raise(&occ).await.expect("raised again");
    let tl = store.timeline(&raised.id, onset).await.expect("timeline");
    let notes: Vec<_> = tl.iter().filter(|e| e.action == "deployment").collect();
    assert_eq!(notes.len(), 1, "{tl:#?}");
    assert_eq!(
        notes[0].detail,
        "began 4 min after deployment gh-run-8812 (checkout:live 41 -> 42 by ci@example.com, succeeded)"
    );
}

/// CI's `apptrack.deploy` event and CloudTrail's `UpdateAlias` for the same change, delivered
/// concurrently and again: two stored announcements, one deployment for every reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sources_announcing_one_change_read_as_one_deployment() {
    let tables = TestTables::new().await.expect("tables");
    let log = Arc::new(DynamoDeploymentLog::new(
        tables.client.clone(),
        &tables.state,
    ));
    let (ci, trail) = (marker("custom.json"), marker("lambda-update-alias.json"));
    assert_ne!(ci.source, trail.source);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let log = log.clone();
        let m = if i % 2 == 0 {
            ci.clone()
        } else {
            trail.clone()
        };
        tasks.push(tokio::spawn(async move { log.record(&m).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("recorded");
    }
    let all = log
        .list(Some("checkout"), Timestamp::EPOCH)
        .await
        .expect("list");
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].to_version.as_deref(), Some("42"));
    assert_eq!(all[0].id, trail.id, "named by the earlier announcement");
    assert_eq!(
        all[0].from_version.as_deref(),
        Some("41"),
        "filled from CI's event"
    );
}
