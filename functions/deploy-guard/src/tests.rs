//! Unit tests of the handler over the in-memory deployment log: given a sample from
//! `events/deploy/`, when handled (once, again, out of order), then these markers.

use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::deploy::memory::{FakeAliases, FakeCodeDeploy, MemoryDeploymentLog};
use apptrack_core::deploy::{DeployState, DeploymentLog};
use apptrack_core::failure::Failure as _;
use apptrack_core::forecast::memory::{FakeCatalog, FakeHistory};
use apptrack_core::ledger::memory::MemoryLedger;
use apptrack_core::store::memory::MemoryIncidentStore;
use serde_json::{Value, json};

use crate::handler::*;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

type TestGuard = Guard<
    MemoryDeploymentLog,
    FakeHistory,
    FakeCatalog,
    MemoryIncidentStore,
    FakeAliases,
    FakeCodeDeploy,
    MemoryLedger,
    ManualClock,
>;

fn guard() -> TestGuard {
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        _ => None,
    })
    .expect("settings");
    Guard {
        log: MemoryDeploymentLog::default(),
        metrics: FakeHistory::default(),
        alarms: FakeCatalog::default(),
        incidents: MemoryIncidentStore::new(),
        aliases: FakeAliases::default(),
        codedeploy: FakeCodeDeploy::default(),
        ledger: MemoryLedger::default(),
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

// --- the bake-window check and the rollback, over fakes ---

use apptrack_core::deploy::{DeploySource, Deployment};
use apptrack_core::scaling::{MetricHistory, Point, ScalingError, SeriesRequest};
use std::collections::BTreeMap;

/// p99 latency of 200 ms before `split` and `after` ms since, a point a minute; 100
/// invocations a minute with `errors.0` errors each minute before and `errors.1` since.
struct SplitMetrics {
    split: Timestamp,
    after: f64,
    errors: (f64, f64),
}

impl SplitMetrics {
    fn new(split: Timestamp, after: f64) -> Self {
        SplitMetrics {
            split,
            after,
            errors: (1.0, 1.0),
        }
    }
}

impl MetricHistory for SplitMetrics {
    async fn read(
        &self,
        requests: &[SeriesRequest],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeMap<String, Vec<Point>>, ScalingError> {
        let minutes = i64::try_from(end.since(start).as_secs() / 60).unwrap_or(0);
        let mut out = BTreeMap::new();
        for r in requests {
            let points = (0..minutes)
                .map(|i| {
                    let at = start.plus_millis(i * 60_000);
                    // One version's series (a weighted alias): version 42 is the new one.
                    let since = match r.metric.dimensions.get("ExecutedVersion") {
                        Some(v) => v == "42",
                        None => at >= self.split,
                    };
                    let value = match r.metric.metric_name.as_str() {
                        "Errors" if since => self.errors.1,
                        "Errors" => self.errors.0,
                        "Invocations" => 100.0,
                        _ => {
                            let base = if since { self.after } else { 200.0 };
                            base * (1.0 + 0.01 * (i % 5) as f64)
                        }
                    };
                    Point { at, value }
                })
                .collect();
            out.insert(r.id.clone(), points);
        }
        Ok(out)
    }

    fn calls(&self) -> u64 {
        0
    }
}

type WatchGuard = Guard<
    MemoryDeploymentLog,
    SplitMetrics,
    FakeCatalog,
    MemoryIncidentStore,
    FakeAliases,
    FakeCodeDeploy,
    MemoryLedger,
    ManualClock,
>;

const START: &str = "2026-11-24T02:00:00Z";

async fn deployed(pairs: &[(&str, &str)], after: f64) -> WatchGuard {
    let start = Timestamp::parse(START).expect("time");
    let settings = Settings::from_lookup(|k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
            .or(match k {
                "INCIDENTS_TABLE" => Some("i".into()),
                "STATE_TABLE" => Some("s".into()),
                _ => None,
            })
    })
    .expect("settings");
    let g = Guard {
        log: MemoryDeploymentLog::default(),
        metrics: SplitMetrics::new(start, after),
        alarms: FakeCatalog::default(),
        incidents: MemoryIncidentStore::new(),
        aliases: FakeAliases::default(),
        codedeploy: FakeCodeDeploy::default(),
        ledger: MemoryLedger::default(),
        clock: ManualClock::new(start.saturating_add(std::time::Duration::from_secs(15 * 60))),
        settings,
    };
    g.aliases.function("checkout", &["41", "42"], "live", "42");
    g.log
        .record(&Deployment {
            id: "d-42".into(),
            service: "checkout".into(),
            target: "checkout:live".into(),
            from_version: Some("41".into()),
            to_version: Some("42".into()),
            started_at: start,
            ended_at: Some(start),
            state: DeployState::Succeeded,
            actor: Some("ci".into()),
            source: DeploySource::Lambda,
        })
        .await
        .expect("marker");
    g
}

async fn watch(g: &WatchGuard) -> Result<Outcome, HandlerError> {
    g.handle(&json!({"apptrack": "deploy-watch"})).await
}

#[tokio::test]
async fn a_regression_of_an_opted_in_alias_is_rolled_back_once() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    let out = watch(&g).await.expect("watched");
    let w = &out.watched[0];
    assert_eq!(
        w.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{w:?}"
    );
    assert_eq!(
        w.action.as_deref(),
        Some("rolled checkout:live back from 42 to 41")
    );
    assert_eq!(
        g.aliases.updates(),
        [("checkout".into(), "live".into(), "41".into())]
    );
    let again = watch(&g).await.expect("again");
    assert_eq!(
        again.watched[0].action, w.action,
        "the ledger says it is done"
    );
    assert_eq!(g.aliases.updates().len(), 1);
}

/// A running CodeDeploy deployment of the service (it shifts the alias itself): the opted-in
/// regression stops it with CodeDeploy's own rollback, once, and never moves the alias under it.
async fn with_codedeploy_running(g: &WatchGuard) {
    let start = Timestamp::parse(START).expect("time");
    g.log
        .record(&Deployment {
            id: "d-CD7".into(),
            service: "checkout".into(),
            target: "checkout-app/checkout-dg".into(),
            from_version: None,
            to_version: None,
            started_at: start,
            ended_at: None,
            state: DeployState::InProgress,
            actor: None,
            source: DeploySource::CodeDeploy,
        })
        .await
        .expect("marker");
}

#[tokio::test]
async fn a_running_codedeploy_deployment_is_stopped_with_its_rollback_once() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    with_codedeploy_running(&g).await;
    let out = watch(&g).await.expect("watched");
    let w = out
        .watched
        .iter()
        .find(|w| w.deployment == "d-42")
        .expect("judged");
    let action = w.action.clone().unwrap_or_default();
    assert!(
        action.starts_with("stopped CodeDeploy deployment d-CD7 with its automatic rollback"),
        "{action}"
    );
    assert_eq!(g.codedeploy.stops(), ["d-CD7"]);
    assert!(g.aliases.updates().is_empty(), "the alias is CodeDeploy's");
    let incident = w.incident_id.clone().expect("an incident");
    let tl =
        apptrack_core::store::ReadIncidents::timeline(&g.incidents, &incident, Timestamp::EPOCH)
            .await
            .expect("timeline");
    assert!(
        tl.iter().any(|e| e.action == "stopped-deployment"),
        "{tl:#?}"
    );

    let again = watch(&g).await.expect("again");
    assert_eq!(
        again
            .watched
            .iter()
            .find(|w| w.deployment == "d-42")
            .and_then(|w| w.action.clone()),
        Some(action)
    );
    assert_eq!(g.codedeploy.stops().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_to_stop_deployment_is_recorded_not_repeated_as_news() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    with_codedeploy_running(&g).await;
    g.codedeploy.lose_next_answer();
    let err = watch(&g).await.expect_err("the answer is lost");
    assert!(err.is_retryable(), "{err}");
    let out = watch(&g).await.expect("the retry");
    let w = out
        .watched
        .iter()
        .find(|w| w.deployment == "d-42")
        .expect("judged");
    assert!(
        w.action
            .as_deref()
            .is_some_and(|a| a.starts_with("stopped CodeDeploy deployment d-CD7")),
        "{w:?}"
    );
    // The retry asked again (CodeDeploy answered: already ended), and noted the stop once.
    assert_eq!(g.codedeploy.stops().len(), 2);
    let incident = w.incident_id.clone().expect("an incident");
    let tl =
        apptrack_core::store::ReadIncidents::timeline(&g.incidents, &incident, Timestamp::EPOCH)
            .await
            .expect("timeline");
    assert_eq!(
        tl.iter()
            .filter(|e| e.action == "stopped-deployment")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_dry_run_says_it_would_stop_the_codedeploy_deployment() {
    let g = deployed(&[("APPTRACK_DRY_RUN", "true")], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    with_codedeploy_running(&g).await;
    let out = watch(&g).await.expect("watched");
    let w = out
        .watched
        .iter()
        .find(|w| w.deployment == "d-42")
        .expect("judged");
    assert!(
        w.action.as_deref().is_some_and(|a| a.starts_with(
            "dry run, deployment untouched: would have stopped CodeDeploy deployment d-CD7"
        )),
        "{w:?}"
    );
    assert!(g.codedeploy.stops().is_empty());
}

/// A canary: the alias still sends most invocations to 41 and a tenth to 42. The versions are
/// compared side by side (ExecutedVersion), and the rollback sends everything to 41.
#[tokio::test]
async fn a_canary_is_judged_version_against_version_and_rolled_back_whole() {
    for (after, regressed) in [(250.0, true), (204.0, false)] {
        let g = deployed(&[], after).await;
        g.aliases.function("checkout", &["41", "42"], "live", "41");
        g.aliases.route("checkout", "live", "42", 0.1);
        g.aliases.tag("checkout", "apptrack:rollback", "auto");
        let out = watch(&g).await.expect("watched");
        let w = &out.watched[0];
        assert!(
            w.why
                .starts_with("canary: version 42 against 41 in the same minutes"),
            "{w:?}"
        );
        if regressed {
            assert_eq!(
                w.verdict,
                apptrack_core::deploy::stats::Verdict::Likely,
                "{w:?}"
            );
            assert_eq!(
                w.action.as_deref(),
                Some("rolled checkout:live back from 42 to 41")
            );
            assert_eq!(
                g.aliases.updates(),
                [("checkout".into(), "live".into(), "41".into())]
            );
            let now = apptrack_core::deploy::AliasControl::alias(&g.aliases, "checkout", "live")
                .await
                .expect("alias")
                .expect("exists");
            assert!(
                now.weights.is_empty(),
                "the canary's share went with the rollback"
            );
        } else {
            assert_ne!(
                w.verdict,
                apptrack_core::deploy::stats::Verdict::Likely,
                "{w:?}"
            );
            assert!(g.aliases.updates().is_empty());
        }
    }
}

#[tokio::test]
async fn a_lost_answer_to_update_alias_never_rolls_back_twice() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    g.aliases.lose_next_answer();
    let err = watch(&g).await.expect_err("the answer is lost");
    assert!(err.is_retryable(), "{err}");
    let out = watch(&g).await.expect("the retry");
    assert_eq!(
        out.watched[0].action.as_deref(),
        Some("rolled checkout:live back from 42 to 41")
    );
    assert_eq!(g.aliases.updates().len(), 1);
}

#[tokio::test]
async fn without_the_tag_or_in_a_dry_run_it_only_advises() {
    let g = deployed(&[], 250.0).await;
    let out = watch(&g).await.expect("watched");
    assert!(
        out.watched[0]
            .action
            .as_deref()
            .is_some_and(|a| a.starts_with("advised")),
        "{out:?}"
    );
    assert!(g.aliases.updates().is_empty());

    let dry = deployed(&[("APPTRACK_DRY_RUN", "true")], 250.0).await;
    dry.aliases.tag("checkout", "apptrack:rollback", "auto");
    let out = watch(&dry).await.expect("watched");
    assert!(
        out.watched[0]
            .action
            .as_deref()
            .is_some_and(|a| a.starts_with("dry run")),
        "{out:?}"
    );
    assert!(dry.aliases.updates().is_empty());
}

#[tokio::test]
async fn an_alias_that_moved_on_or_an_unchanged_latency_is_left_alone() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    g.aliases.function("checkout", &["43"], "live", "43");
    let out = watch(&g).await.expect("watched");
    assert!(
        out.watched[0]
            .action
            .as_deref()
            .is_some_and(|a| a.contains("now points at 43")),
        "{out:?}"
    );
    assert!(g.aliases.updates().is_empty());

    let calm = deployed(&[], 204.0).await;
    calm.aliases.tag("checkout", "apptrack:rollback", "auto");
    let out = watch(&calm).await.expect("watched");
    assert_eq!(
        out.watched[0].verdict,
        apptrack_core::deploy::stats::Verdict::Unlikely
    );
    assert!(out.watched[0].incident_id.is_none());
    assert!(calm.aliases.updates().is_empty());
}

/// A second regression of the same target within 24 h is not rolled back automatically, and
/// apptrack never moves an alias back to a version it rolled away from.
#[tokio::test]
async fn guard_rails_hold_a_second_rollback_and_a_return_to_a_rolled_away_version() {
    let g = deployed(&[], 250.0).await;
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    watch(&g).await.expect("the first rollback");
    assert_eq!(g.aliases.updates().len(), 1);
    let markers = g.log.list(None, Timestamp::EPOCH).await.expect("list");
    let own: Vec<_> = markers
        .iter()
        .filter(|m| m.source == DeploySource::Apptrack)
        .collect();
    assert_eq!(own.len(), 1, "the rollback is a marker: {markers:?}");
    assert_eq!(own[0].from_version.as_deref(), Some("42"));

    // Someone deploys 43 an hour later, and it regresses too: within 24 h, only advice.
    let start = apptrack_core::clock::Clock::now(&g.clock)
        .saturating_add(std::time::Duration::from_secs(3600));
    g.aliases.function("checkout", &["43"], "live", "43");
    let second = Deployment {
        id: "d-43".into(),
        from_version: Some("41".into()),
        to_version: Some("43".into()),
        started_at: start,
        ended_at: Some(start),
        ..own[0].clone()
    };
    let second = Deployment {
        source: DeploySource::Lambda,
        actor: Some("ci".into()),
        ..second
    };
    g.log.record(&second).await.expect("marker");
    let later = Guard {
        metrics: SplitMetrics::new(start, 250.0),
        clock: ManualClock::new(start.saturating_add(std::time::Duration::from_secs(15 * 60))),
        ..g
    };
    let out = watch(&later).await.expect("watched");
    let w = out
        .watched
        .iter()
        .find(|w| w.deployment == "d-43")
        .expect("judged");
    assert!(
        w.action.as_deref().is_some_and(|a| a.contains("24 h")),
        "{w:?}"
    );
    assert_eq!(later.aliases.updates().len(), 1, "no second rollback");

    // Two days on, a deployment from 42's successor back to 42 regresses: going back to 42
    // would undo apptrack's own judgement.
    let history = later.log.list(None, Timestamp::EPOCH).await.expect("list");
    let t = apptrack_core::clock::Clock::now(&later.clock)
        .saturating_add(std::time::Duration::from_secs(48 * 3600));
    let why = apptrack_core::deploy::watch::rollback_refused(&history, "checkout:live", "42", t);
    assert!(why.is_some_and(|w| w.contains("away from 42")));
}

/// Latency unchanged, errors from 1 % to 6 % of invocations: a likely regression of the
/// error rate, rolled back like a slower version; from 1 % to 1.5 % is not one.
#[tokio::test]
async fn an_error_rate_regression_is_judged_and_rolled_back() {
    let mut g = deployed(&[], 204.0).await;
    g.metrics.errors = (1.0, 6.0);
    g.aliases.tag("checkout", "apptrack:rollback", "auto");
    let out = watch(&g).await.expect("watched");
    let w = &out.watched[0];
    assert_eq!(
        w.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{w:?}"
    );
    assert!(w.why.contains("error rate 6.00 %"), "{}", w.why);
    assert_eq!(
        w.action.as_deref(),
        Some("rolled checkout:live back from 42 to 41")
    );
    let id = w.incident_id.clone().expect("incident");
    let incident = apptrack_core::store::ReadIncidents::get(&g.incidents, &id, Timestamp::EPOCH)
        .await
        .expect("get");
    assert!(
        incident
            .title
            .as_str()
            .contains("made the error rate worse"),
        "{}",
        incident.title.as_str()
    );

    let mut slight = deployed(&[], 204.0).await;
    slight.metrics.errors = (1.0, 1.5);
    let out = watch(&slight).await.expect("watched");
    assert_ne!(
        out.watched[0].verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{:?}",
        out.watched[0]
    );
    assert!(out.watched[0].incident_id.is_none());
}

/// An error burst that opened for the service after the deployment hears the verdict: one
/// timeline note naming the deployment and the regression incident, however many runs.
#[tokio::test]
async fn the_services_other_incidents_since_the_deployment_hear_the_verdict_once() {
    use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, Title};
    use apptrack_core::store::RecordIncidents;
    let g = deployed(&[], 250.0).await;
    let at = Timestamp::parse(START)
        .expect("time")
        .saturating_add(std::time::Duration::from_secs(5 * 60));
    let key = DedupKey::new(
        "error-analyzer",
        IncidentKind::ErrorSpike,
        "checkout",
        "f-1",
    )
    .expect("key");
    let burst = Occurrence::new(
        key,
        IncidentKind::ErrorSpike,
        Severity::High,
        "error-analyzer",
        "checkout",
        "checkout",
        Title::truncated("checkout: 40 errors in a minute"),
        at,
    );
    let raised = g.incidents.raise(&burst).await.expect("raised");
    let first = watch(&g).await.expect("watched");
    watch(&g).await.expect("again");
    let regression = first.watched[0].incident_id.clone().expect("regression");
    let notes = verdict_notes(&g, &raised.id).await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(notes[0].detail.contains("d-42"), "{}", notes[0].detail);
    assert!(
        notes[0].detail.contains(regression.as_str()),
        "{}",
        notes[0].detail
    );
}

// --- deployments of any kind, judged on the alarms tagged with their service ---

use apptrack_core::alarm::MetricRef;
use apptrack_core::deploy::stats::Verdict;
use apptrack_core::forecast::AlarmSpec;

/// A single-metric alarm on `metric`, tagged `apptrack:service = payments` and `extra`.
fn payments_alarm(name: &str, metric: &str, op: &str, extra: &[(&str, &str)]) -> AlarmSpec {
    let mut tags = BTreeMap::from([("apptrack:service".to_owned(), "payments".to_owned())]);
    tags.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    AlarmSpec {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        metric: Some(MetricRef {
            id: None,
            namespace: "AWS/ApplicationELB".into(),
            metric_name: metric.into(),
            dimensions: BTreeMap::from([("LoadBalancer".to_owned(), "app/payments/1".to_owned())]),
            stat: Some("p99".into()),
            period: Some(60),
            return_data: true,
        }),
        threshold: Some(1.0),
        comparison_operator: Some(op.into()),
        tags,
    }
}

/// A deployment of service `payments` by `source`, at the start.
async fn payments_deployed(g: &WatchGuard, id: &str, source: DeploySource, state: DeployState) {
    let start = Timestamp::parse(START).expect("time");
    g.log
        .record(&Deployment {
            id: id.into(),
            service: "payments".into(),
            target: "payments".into(),
            from_version: None,
            to_version: Some(id.into()),
            started_at: start,
            ended_at: None,
            state,
            actor: None,
            source,
        })
        .await
        .expect("marker");
}

/// The `deploy-verdict` notes on incident `id`'s timeline.
async fn verdict_notes(
    g: &WatchGuard,
    id: &apptrack_core::incident::IncidentId,
) -> Vec<apptrack_core::incident::TimelineEntry> {
    use apptrack_core::store::ReadIncidents;
    g.incidents
        .timeline(id, Timestamp::EPOCH)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| e.action == "deploy-verdict")
        .collect()
}

fn judged<'a>(out: &'a Outcome, id: &str) -> Option<&'a Watched> {
    out.watched.iter().find(|w| w.deployment == id)
}

#[tokio::test]
async fn an_ecs_deployment_is_judged_on_the_alarms_tagged_with_its_service() {
    let g = deployed(&[], 250.0).await;
    payments_deployed(&g, "ecs-svc/7", DeploySource::Ecs, DeployState::Succeeded).await;
    let out = watch(&g).await.expect("watched");
    assert!(
        judged(&out, "ecs-svc/7").is_none(),
        "no alarm is tagged with its service: nothing to judge it on"
    );

    g.alarms.insert(payments_alarm(
        "payments-p99",
        "TargetResponseTime",
        "GreaterThanThreshold",
        &[],
    ));
    let out = watch(&g).await.expect("watched");
    let w = judged(&out, "ecs-svc/7").expect("judged");
    assert_eq!(w.verdict, Verdict::Likely, "{w:?}");
    let incident = w.incident_id.clone().expect("a deploy-regression incident");
    let action = w.action.clone().unwrap_or_default();
    assert!(
        action.starts_with("advised: roll back: update ECS service payments"),
        "{action}"
    );
    use apptrack_core::store::ReadIncidents;
    let found = g
        .incidents
        .get(&incident, Timestamp::EPOCH)
        .await
        .expect("incident");
    assert!(
        found.title.as_str().contains("alarm payments-p99"),
        "{}",
        found.title.as_str()
    );
    let again = watch(&g).await.expect("again");
    assert_eq!(
        judged(&again, "ecs-svc/7").and_then(|w| w.incident_id.clone()),
        Some(incident),
        "one incident per deployment"
    );
}

#[tokio::test]
async fn an_alarm_that_watches_for_low_values_regresses_downwards() {
    // 200 before, 150 since: 25 % fewer healthy hosts is worse, 25 % more would not be.
    let g = deployed(&[], 150.0).await;
    payments_deployed(
        &g,
        "cfn:payments:tok",
        DeploySource::CloudFormation,
        DeployState::InProgress,
    )
    .await;
    g.alarms.insert(payments_alarm(
        "payments-hosts",
        "HealthyHostCount",
        "LessThanThreshold",
        &[],
    ));
    let out = watch(&g).await.expect("watched");
    let w = judged(&out, "cfn:payments:tok").expect("judged");
    assert_eq!(w.verdict, Verdict::Likely, "{w:?}");
    assert!(
        w.action.as_deref().is_some_and(
            |a| a.contains("aws cloudformation cancel-update-stack --stack-name payments")
        ),
        "{w:?}"
    );

    let up = deployed(&[], 250.0).await;
    payments_deployed(
        &up,
        "cfn:payments:tok",
        DeploySource::CloudFormation,
        DeployState::InProgress,
    )
    .await;
    up.alarms.insert(payments_alarm(
        "payments-hosts",
        "HealthyHostCount",
        "LessThanThreshold",
        &[],
    ));
    let out = watch(&up).await.expect("watched");
    let w = judged(&out, "cfn:payments:tok").expect("judged");
    assert_eq!(w.verdict, Verdict::Unlikely, "{w:?}");
    assert!(w.incident_id.is_none());
}

#[tokio::test]
async fn a_running_codedeploy_deployment_judged_by_an_opted_in_alarm_is_stopped_once() {
    let g = deployed(&[], 250.0).await;
    payments_deployed(
        &g,
        "d-PAY1",
        DeploySource::CodeDeploy,
        DeployState::InProgress,
    )
    .await;
    g.alarms.insert(payments_alarm(
        "payments-p99",
        "TargetResponseTime",
        "GreaterThanThreshold",
        &[],
    ));
    let out = watch(&g).await.expect("watched");
    let advised = judged(&out, "d-PAY1").and_then(|w| w.action.clone());
    assert!(
        advised.as_deref().is_some_and(|a| a.starts_with(
            "advised: roll back: aws deploy stop-deployment --deployment-id d-PAY1 --auto-rollback-enabled"
        )),
        "without the tag it only advises: {advised:?}"
    );
    assert!(g.codedeploy.stops().is_empty());

    g.alarms.insert(payments_alarm(
        "payments-p99",
        "TargetResponseTime",
        "GreaterThanThreshold",
        &[("apptrack:rollback", "auto")],
    ));
    let out = watch(&g).await.expect("watched");
    let action = judged(&out, "d-PAY1").and_then(|w| w.action.clone());
    assert_eq!(
        action.as_deref(),
        Some("stopped CodeDeploy deployment d-PAY1 of payments with its automatic rollback")
    );
    watch(&g).await.expect("again");
    assert_eq!(g.codedeploy.stops(), ["d-PAY1"], "once per deployment");
}

#[tokio::test]
async fn an_incident_that_opens_after_a_deployment_hears_its_verdict_once() {
    use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, Title};
    use apptrack_core::store::{ReadIncidents, RecordIncidents};
    use apptrack_tests::stream::incident_record;
    // Two hours after the deployment: long past its bake window, the schedule no longer
    // judges it, but an incident that opens 30 minutes after it does.
    let g = deployed(&[], 250.0).await;
    let start = Timestamp::parse(START).expect("time");
    let onset = start.saturating_add(std::time::Duration::from_secs(30 * 60));
    let later = Guard {
        clock: ManualClock::new(start.saturating_add(std::time::Duration::from_secs(2 * 3600))),
        ..g
    };
    let key = DedupKey::new(
        "error-analyzer",
        IncidentKind::ErrorSpike,
        "checkout",
        "f-2",
    )
    .expect("key");
    let burst = Occurrence::new(
        key,
        IncidentKind::ErrorSpike,
        Severity::High,
        "error-analyzer",
        "checkout",
        "checkout",
        Title::truncated("checkout: 40 errors in a minute"),
        onset,
    );
    let raised = later.incidents.raise(&burst).await.expect("raised");
    let incident = later
        .incidents
        .get(&raised.id, onset)
        .await
        .expect("incident");
    let batch = json!({"Records": [incident_record(1, None, &incident, onset)]});
    let out = later.handle(&batch).await.expect("judged");
    assert_eq!(out.action, Action::Judged);
    let w = judged(&out, "d-42").expect("the deployment before it");
    assert_eq!(w.verdict, Verdict::Likely, "{w:?}");
    later.handle(&batch).await.expect("redelivered");
    let notes = verdict_notes(&later, &raised.id).await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].detail.starts_with(
            "deployment d-42 (checkout:live 41 -> 42 by ci) is a likely regression of p99 Duration"
        ),
        "{}",
        notes[0].detail
    );

    // Unchanged metrics: the incident hears that the deployment is unlikely its cause.
    let calm = deployed(&[], 200.0).await;
    let calm = Guard {
        clock: ManualClock::new(start.saturating_add(std::time::Duration::from_secs(2 * 3600))),
        ..calm
    };
    let raised = calm.incidents.raise(&burst).await.expect("raised");
    let incident = calm
        .incidents
        .get(&raised.id, onset)
        .await
        .expect("incident");
    let batch = json!({"Records": [incident_record(1, None, &incident, onset)]});
    calm.handle(&batch).await.expect("judged");
    calm.handle(&batch).await.expect("redelivered");
    let notes = verdict_notes(&calm, &raised.id).await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].detail.starts_with(
            "deployment d-42 (checkout:live 41 -> 42 by ci) began 30 min before this incident and is unlikely the cause, judged on p99 Duration"
        ),
        "{}",
        notes[0].detail
    );

    // An incident of a service with no deployment before it, and deploy-guard's own, are
    // left alone; a batch that is not one is a bad event.
    let other = Occurrence::new(
        DedupKey::new("error-analyzer", IncidentKind::ErrorSpike, "search", "f-3").expect("key"),
        IncidentKind::ErrorSpike,
        Severity::High,
        "error-analyzer",
        "search",
        "search",
        Title::truncated("search: errors"),
        onset,
    );
    let raised = later.incidents.raise(&other).await.expect("raised");
    let quiet = later
        .incidents
        .get(&raised.id, onset)
        .await
        .expect("incident");
    let out = later
        .handle(&json!({"Records": [incident_record(2, None, &quiet, onset)]}))
        .await
        .expect("handled");
    assert!(out.watched.is_empty(), "{out:?}");
    let err = later
        .handle(&json!({"Records": [{"eventSource": "aws:dynamodb", "dynamodb": 7}]}))
        .await
        .expect_err("not a batch");
    assert!(!err.is_retryable());
}
