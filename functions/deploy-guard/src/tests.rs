//! Unit tests of the handler over the in-memory deployment log: given a sample from
//! `events/deploy/`, when handled (once, again, out of order), then these markers.

use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::deploy::memory::MemoryDeploymentLog;
use apptrack_core::deploy::{DeployState, DeploymentLog};
use apptrack_core::failure::Failure as _;
use apptrack_core::scaling::memory::FakeMetrics;
use apptrack_core::store::memory::MemoryIncidentStore;
use serde_json::{Value, json};

use crate::handler::*;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

type TestGuard = Guard<MemoryDeploymentLog, FakeMetrics, MemoryIncidentStore, ManualClock>;

fn guard() -> TestGuard {
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        _ => None,
    })
    .expect("settings");
    Guard {
        log: MemoryDeploymentLog::default(),
        metrics: FakeMetrics::default(),
        incidents: MemoryIncidentStore::new(),
        clock: ManualClock::new(Timestamp::parse("2026-11-24T02:00:00Z").expect("time")),
        settings,
    }
}

async fn all(g: &TestGuard) -> Vec<apptrack_core::deploy::Deployment> {
    g.log.list(None, Timestamp::EPOCH).await.expect("list")
}

#[tokio::test]
async fn start_and_end_in_any_order_and_number_make_one_marker() {
    let g = guard();
    let end = g
        .handle(&sample("deploy/codedeploy-success.json"))
        .await
        .expect("end");
    assert_eq!(end.action, Action::Recorded);
    let start = g
        .handle(&sample("deploy/codedeploy-start.json"))
        .await
        .expect("start");
    assert_eq!(start.action, Action::Recorded, "the start time is news");
    let again = g
        .handle(&sample("deploy/codedeploy-success.json"))
        .await
        .expect("again");
    assert_eq!(again.action, Action::Unchanged);
    let markers = all(&g).await;
    assert_eq!(markers.len(), 1, "{markers:?}");
    let m = &markers[0];
    assert_eq!(m.state, DeployState::Succeeded);
    assert_eq!(m.started_at.to_rfc3339(), "2026-11-24T01:30:00.000Z");
    assert_eq!(
        m.ended_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-24T01:34:10.000Z")
    );
}

#[tokio::test]
async fn an_alias_update_names_the_version_it_moved_away_from() {
    let g = guard();
    let mut earlier = sample("deploy/lambda-update-alias.json");
    earlier["detail"]["eventTime"] = json!("2026-11-20T10:00:00Z");
    earlier["detail"]["requestParameters"]["functionVersion"] = json!("41");
    earlier["detail"]["responseElements"]["functionVersion"] = json!("41");
    earlier["detail"]["responseElements"]["revisionId"] = json!("rev-41");
    g.handle(&earlier).await.expect("v41");
    let out = g
        .handle(&sample("deploy/lambda-update-alias.json"))
        .await
        .expect("v42");
    let d = out.deployment.expect("a marker");
    assert_eq!(d.from_version.as_deref(), Some("41"));
    assert_eq!(d.to_version.as_deref(), Some("42"));
    assert!(
        out.detail.contains("checkout:live 41 -> 42 by"),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn every_source_is_recorded() {
    let g = guard();
    for file in [
        "deploy/ecs-deployment-completed.json",
        "deploy/cloudformation-update-complete.json",
        "deploy/custom.json",
    ] {
        let out = g.handle(&sample(file)).await.expect(file);
        assert_eq!(out.action, Action::Recorded, "{file}: {out:?}");
    }
    assert_eq!(all(&g).await.len(), 3);
}

#[tokio::test]
async fn a_publish_version_alone_is_ignored_and_broken_events_are_permanent() {
    let g = guard();
    let mut publish = sample("deploy/lambda-update-alias.json");
    publish["detail"]["eventName"] = json!("PublishVersion20150331");
    let out = g.handle(&publish).await.expect("ignored");
    assert_eq!(out.action, Action::Ignored);
    assert!(all(&g).await.is_empty());

    let err = g
        .handle(&json!({"source": "apptrack.deploy", "time": "2026-11-24T02:00:00Z", "detail": {"service": "x"}}))
        .await
        .expect_err("no version");
    assert_eq!(err.error_type(), "Permanent.MissingField");
    assert!(err.to_string().contains("detail.version"), "{err}");
    let err = g.handle(&json!("hello")).await.expect_err("not an object");
    assert_eq!(err.error_type(), "Permanent.BadEvent");
}
