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
