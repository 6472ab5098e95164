//! Unit tests of the handler over the in-memory ports: given tagged alarms and their metrics'
//! history, when the schedule runs (once, again in the same period, in later periods), then
//! these incidents, episodes and scale-outs.

use std::collections::BTreeMap;
use std::time::Duration;

use apptrack_core::alarm::{GROUP_TAG, GroupCapacity, MetricRef};
use apptrack_core::clock::{Clock, ManualClock, Timestamp};
use apptrack_core::failure::Failure as _;
use apptrack_core::forecast::memory::{FakeCatalog, FakeHistory, MemoryEpisodes};
use apptrack_core::forecast::target::forecast_tags;
use apptrack_core::forecast::{AlarmSpec, Point};
use apptrack_core::incident::{Severity, Status};
use apptrack_core::ledger::memory::MemoryLedger;
use apptrack_core::scaling::ScalingError;
use apptrack_core::scaling::memory::{FakeGroups, MemoryScaleOuts};
use apptrack_core::store::ReadIncidents;
use apptrack_core::store::memory::MemoryIncidentStore;
use serde_json::{Value, json};

use crate::handler::*;

type TestForecaster = Forecaster<
    FakeCatalog,
    FakeHistory,
    MemoryIncidentStore,
    MemoryEpisodes,
    FakeGroups,
    MemoryLedger,
    MemoryScaleOuts,
    ManualClock,
>;

const START: &str = "2026-12-03T12:00:00Z";
const GROUP: &str = "web-asg";

fn forecaster(extra: &[(&str, &str)]) -> TestForecaster {
    let extra: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        _ => extra.get(k).cloned(),
    })
    .expect("settings");
    let groups = FakeGroups::default();
    groups.insert(
        GROUP,
        GroupCapacity {
            min: 1,
            max: 10,
            desired: 2,
            in_service: 2,
            pending: 0,
        },
    );
    Forecaster {
        alarms: FakeCatalog::default(),
        history: FakeHistory::default(),
        incidents: MemoryIncidentStore::new(),
        episodes: MemoryEpisodes::default(),
        groups,
        ledger: MemoryLedger::default(),
        scale_outs: MemoryScaleOuts::default(),
        clock: ManualClock::new(Timestamp::parse(START).expect("time")),
        settings,
    }
}

/// An alarm on `metric` above `threshold`, tagged for the forecast, on the group or a host.
fn alarm(f: &TestForecaster, name: &str, metric: &str, threshold: f64, on_group: bool) {
    let dimensions = if on_group {
        BTreeMap::from([("AutoScalingGroupName".to_owned(), GROUP.to_owned())])
    } else {
        BTreeMap::from([("host".to_owned(), "db-1".to_owned())])
    };
    f.alarms.insert(AlarmSpec {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:us-east-1:1:alarm:{name}"),
        metric: Some(MetricRef {
            id: None,
            namespace: "CWAgent".into(),
            metric_name: metric.into(),
            dimensions,
            stat: Some("Maximum".into()),
            period: Some(300),
            return_data: true,
        }),
        threshold: Some(threshold),
        comparison_operator: Some("GreaterThanThreshold".into()),
        tags: forecast_tags(&[]),
    });
}

/// `metric` every 5 minutes for the 6 hours before now, from `from` by `per_hour`.
fn history(f: &TestForecaster, metric: &str, from: f64, per_hour: f64) {
    let now = f.clock.now().as_millis();
    let points = (0..=72)
        .map(|i: i64| Point {
            at: Timestamp::from_millis(now - 60_000 - (72 - i) * 300_000),
            value: from + per_hour * (i as f64) / 12.0 + [0.3, -0.2, 0.1][(i % 3) as usize],
        })
        .collect();
    f.history.set(metric, points);
}

fn schedule() -> Value {
    json!({"apptrack": "forecast"})
}

/// Moves to the next schedule period.
fn next_period(f: &TestForecaster) {
    f.clock.advance(Duration::from_secs(15 * 60));
}

#[tokio::test]
async fn a_climb_opens_one_incident_and_scales_out_once_per_episode() {
    let f = forecaster(&[]);
    alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
    history(&f, "CPUUtilization", 50.0, 5.0);

    let out = f.handle(&schedule()).await.expect("run");
    let t = &out.targets[0];
    assert_eq!(t.incident, Some("opened"), "{out:#?}");
    assert!(
        t.action
            .as_deref()
            .is_some_and(|a| a.starts_with("scaled web-asg from 2 to 3")),
        "{t:#?}"
    );
    assert_eq!(f.groups.calls(), [(GROUP.to_owned(), 3)]);
    let incidents = f.incidents.all();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].severity, Severity::Critical);
    assert!(
        incidents[0]
            .title
            .as_str()
            .contains("CPUUtilization of web-asg reaches 80")
    );

    // The same schedule event again (a redelivery): nothing changes.
    let again = f.handle(&schedule()).await.expect("again");
    assert_eq!(again.targets[0].incident, Some("unchanged"), "{again:#?}");
    assert_eq!(f.incidents.all(), incidents);
    assert_eq!(f.groups.calls().len(), 1);

    // The next period, the same forecast: the incident counts the run, the group is not
    // scaled again in this episode.
    next_period(&f);
    history(&f, "CPUUtilization", 50.0, 5.0);
    let later = f.handle(&schedule()).await.expect("later");
    assert_eq!(later.targets[0].incident, Some("updated"), "{later:#?}");
    assert!(
        later.targets[0]
            .action
            .as_deref()
            .is_some_and(|a| a.starts_with("done earlier"))
    );
    assert_eq!(f.groups.calls().len(), 1);
    assert_eq!(f.incidents.all()[0].count, 2);
}

#[tokio::test]
async fn it_resolves_only_after_calm_runs_in_a_row() {
    let f = forecaster(&[]);
    alarm(&f, "db-disk", "disk_used_percent", 90.0, false);
    history(&f, "disk_used_percent", 64.0, 1.0);
    let opened = f.handle(&schedule()).await.expect("open");
    assert_eq!(opened.targets[0].incident, Some("opened"), "{opened:#?}");
    assert_eq!(f.incidents.all()[0].severity, Severity::High);
    let id = f.incidents.all()[0].id.clone();

    async fn run(f: &TestForecaster, per_hour: f64) -> Result<Outcome, HandlerError> {
        next_period(f);
        history(f, "disk_used_percent", 64.0, per_hour);
        f.handle(&schedule()).await
    }
    // Flat: calm, twice; then a climb slow enough to be watched (not calm) resets the streak.
    // The first calm run notes that the forecast moved; the second has nothing new.
    for said in ["updated", "unchanged"] {
        let calm = run(&f, 0.0).await.expect("calm");
        assert_eq!(calm.targets[0].incident, Some(said), "{calm:#?}");
    }
    let watch = run(&f, 0.7).await.expect("watch");
    assert!(
        matches!(
            watch.targets[0].assessment,
            Some(apptrack_core::forecast::episode::Assessment::Watch)
        ),
        "{watch:#?}"
    );
    for _ in 0..2 {
        run(&f, 0.0).await.expect("calm");
        assert_eq!(
            f.incidents
                .get(&id, f.clock.now())
                .await
                .expect("get")
                .status,
            Status::Open
        );
    }
    let resolved = run(&f, 0.0).await.expect("third calm run in a row");
    assert_eq!(
        resolved.targets[0].incident,
        Some("resolved"),
        "{resolved:#?}"
    );
    assert_eq!(
        f.incidents
            .get(&id, f.clock.now())
            .await
            .expect("get")
            .status,
        Status::Resolved
    );
    // No group behind a disk alarm: nothing was scaled.
    assert!(f.groups.calls().is_empty());
}

#[tokio::test]
async fn a_warning_that_comes_within_the_critical_horizon_escalates_once() {
    let f = forecaster(&[]);
    alarm(&f, "db-disk", "disk_used_percent", 90.0, false);
    history(&f, "disk_used_percent", 64.0, 1.0);
    f.handle(&schedule()).await.expect("open");
    assert_eq!(f.incidents.all()[0].severity, Severity::High);
    // The disk fills five times as fast: about 3 h left.
    next_period(&f);
    history(&f, "disk_used_percent", 50.0, 5.0);
    let worse = f.handle(&schedule()).await.expect("worse");
    assert_eq!(worse.targets[0].incident, Some("escalated"), "{worse:#?}");
    let inc = f.incidents.all()[0].clone();
    assert_eq!(inc.severity, Severity::Critical);
    let escalations = || async {
        let tl = f
            .incidents
            .timeline(&inc.id, f.clock.now())
            .await
            .expect("timeline");
        tl.iter().filter(|e| e.action == "escalated").count()
    };
    assert_eq!(escalations().await, 1);
    // Again, and in the next period: critical already, nothing more.
    f.handle(&schedule()).await.expect("again");
    next_period(&f);
    history(&f, "disk_used_percent", 50.0, 5.0);
    let still = f.handle(&schedule()).await.expect("still");
    assert_ne!(still.targets[0].incident, Some("escalated"), "{still:#?}");
    assert_eq!(escalations().await, 1);
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_scale_and_scales_nothing() {
    let f = forecaster(&[("APPTRACK_DRY_RUN", "true")]);
    alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
    history(&f, "CPUUtilization", 50.0, 5.0);
    let out = f.handle(&schedule()).await.expect("run");
    let action = out.targets[0].action.clone().unwrap_or_default();
    assert!(
        action.starts_with("dry run, capacity unchanged: would have scaled web-asg from 2 to 3"),
        "{action}"
    );
    assert!(f.groups.calls().is_empty());
}

#[tokio::test]
async fn a_forecast_never_scales_in_and_stays_within_the_group_bounds() {
    let f = forecaster(&[]);
    f.groups.insert(
        GROUP,
        GroupCapacity {
            min: 1,
            max: 10,
            desired: 8,
            in_service: 8,
            pending: 0,
        },
    );
    alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
    history(&f, "CPUUtilization", 50.0, 5.0);
    // ceil(8 × 80 / 64) = 10: clamped to the group's maximum.
    let out = f.handle(&schedule()).await.expect("run");
    let t = &out.targets[0];
    assert!(
        t.action
            .as_deref()
            .is_some_and(|a| a.starts_with("scaled web-asg from 8 to 10")),
        "{t:#?}"
    );
    assert_eq!(f.groups.calls(), [(GROUP.to_owned(), 10)]);

    // A group already at its maximum, or one whose target is above the limit (the policy
    // would scale in): no change, and the episode's one decision is recorded.
    for (desired, target) in [(10, None), (4, Some("100"))] {
        let f = forecaster(&[]);
        f.groups.insert(
            GROUP,
            GroupCapacity {
                min: 1,
                max: 10,
                desired,
                in_service: desired,
                pending: 0,
            },
        );
        alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
        if let Some(t) = target {
            let mut spec = f.alarms.tagged_for_test("web-cpu");
            spec.tags.insert("apptrack:target".into(), t.into());
            f.alarms.insert(spec);
        }
        history(&f, "CPUUtilization", 50.0, 5.0);
        let out = f.handle(&schedule()).await.expect("run");
        let action = out.targets[0].action.clone().unwrap_or_default();
        assert!(action.starts_with("no scale-out of web-asg"), "{action}");
        assert!(f.groups.calls().is_empty(), "{action}");
    }
}

#[tokio::test]
async fn without_enough_history_there_is_no_verdict_and_no_incident() {
    let f = forecaster(&[]);
    alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
    let out = f.handle(&schedule()).await.expect("run");
    assert!(
        out.targets[0].detail.starts_with("no forecast:"),
        "{out:#?}"
    );
    assert!(f.incidents.all().is_empty());
    assert!(f.groups.calls().is_empty());
}

#[tokio::test]
async fn alarms_that_cannot_be_forecast_are_reported_not_failed() {
    let f = forecaster(&[]);
    let mut spec = AlarmSpec {
        name: "composite".into(),
        tags: forecast_tags(&[(GROUP_TAG, GROUP)]),
        ..Default::default()
    };
    spec.threshold = Some(1.0);
    f.alarms.insert(spec);
    let out = f.handle(&schedule()).await.expect("run");
    assert!(out.targets.is_empty());
    assert_eq!(out.skipped.len(), 1);
    assert!(out.skipped[0].why.contains("single-metric"), "{out:#?}");
}

#[tokio::test]
async fn an_outage_is_retryable_and_a_foreign_event_permanent() {
    let f = forecaster(&[]);
    alarm(&f, "web-cpu", "CPUUtilization", 80.0, true);
    history(&f, "CPUUtilization", 50.0, 5.0);
    f.history
        .fail_next(ScalingError::Unavailable("throttled".into()));
    let err = f.handle(&schedule()).await.expect_err("an outage");
    assert_eq!(err.error_type(), "Retryable.Unavailable", "{err}");
    assert!(f.incidents.all().is_empty());

    let err = f
        .handle(&json!({"apptrack": "deploy-watch"}))
        .await
        .expect_err("not ours");
    assert_eq!(err.error_type(), "Permanent.BadEvent");
    assert!(
        err.to_string().contains("not a forecast schedule event"),
        "{err}"
    );
    let err = f
        .handle(&json!({"detail-type": "Scheduled Event", "time": "yesterday"}))
        .await
        .expect_err("bad time");
    assert!(err.to_string().contains("bad time"), "{err}");
}

#[tokio::test]
async fn an_eventbridge_scheduled_event_runs_at_its_own_time() {
    let f = forecaster(&[]);
    let out = f
        .handle(&json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-12-03T12:07:00Z"}))
        .await
        .expect("run");
    assert_eq!(out.slot, "2026-12-03T12:00:00.000Z");
}
