//! Unit tests of the handler over the in-memory ports: given a sample alarm event, then this
//! capacity, this incident, this ledger state.

use std::sync::Arc;
use std::time::Duration;

use apptrack_core::alarm::AlarmEvent;
use apptrack_core::alarm::incident::classify;
use apptrack_core::clock::Timestamp;
use apptrack_core::incident::{IncidentId, IncidentKind};
use apptrack_core::scaling::{AlarmDefinition, ScaleOutLog};
use serde_json::Value;

use crate::handler::*;
use apptrack_core::alarm::GroupCapacity;
use apptrack_core::clock::ManualClock;
use apptrack_core::failure::Failure as _;
use apptrack_core::incident::Status;
use apptrack_core::ledger::memory::MemoryLedger;
use apptrack_core::scaling::memory::{
    Failure, FakeAlarms, FakeGroups, FakeMetrics, MemoryScaleOuts,
};
use apptrack_core::store::ReadIncidents;
use apptrack_core::store::memory::MemoryIncidentStore;

type TestScaler = Scaler<
    FakeAlarms,
    FakeMetrics,
    Arc<FakeGroups>,
    Arc<FakeGroups>,
    MemoryLedger,
    MemoryScaleOuts,
    MemoryIncidentStore,
    ManualClock,
>;

// 2026-11-24T02:00:30Z, just after the sample ALARM transition.
const NOW_MS: i64 = 1_795_485_630_000;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("sample event");
    serde_json::from_str(&text).expect("sample is JSON")
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let mut all = vec![("INCIDENTS_TABLE", "i"), ("STATE_TABLE", "s")];
    all.extend_from_slice(pairs);
    Settings::from_lookup(|k| {
        all.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("valid settings")
}

fn scaler(pairs: &[(&str, &str)]) -> TestScaler {
    let groups = Arc::new(FakeGroups::default());
    let s = Scaler {
        alarms: FakeAlarms::default(),
        metrics: FakeMetrics::default(),
        groups: groups.clone(),
        health: groups,
        ledger: MemoryLedger::default(),
        scale_outs: MemoryScaleOuts::default(),
        incidents: MemoryIncidentStore::new(),
        clock: ManualClock::new(Timestamp::from_millis(NOW_MS)),
        settings: settings(pairs),
    };
    for (name, op, threshold) in [
        ("web-asg-cpu-high", "GreaterThanThreshold", 90.0),
        ("web-asg-cpu-low", "LessThanThreshold", 20.0),
        ("web-alb-p99-latency", "GreaterThanThreshold", 1.5),
    ] {
        s.alarms.insert(AlarmDefinition {
            name: name.into(),
            arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
            comparison_operator: Some(op.into()),
            threshold: Some(threshold),
            ..AlarmDefinition::default()
        });
    }
    s.groups.insert(
        "web-asg",
        GroupCapacity {
            min: 1,
            max: 10,
            desired: 2,
            in_service: 2,
            pending: 0,
        },
    );
    s
}

async fn timeline(s: &TestScaler, id: &IncidentId) -> Vec<(String, String)> {
    s.incidents
        .timeline(id, Timestamp::from_millis(NOW_MS))
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect()
}

#[tokio::test]
async fn cpu_high_alarm_scales_two_to_three_and_opens_a_saturation_incident() {
    let s = scaler(&[]);
    let out = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert_eq!(out.desired, Some(3));
    assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);
    let id = out.incident_id.expect("an incident");
    let inc = s
        .incidents
        .get(&id, Timestamp::from_millis(NOW_MS))
        .await
        .expect("stored");
    assert_eq!(inc.kind, IncidentKind::Saturation);
    assert_eq!(inc.resource, "web-asg");
    let tl = timeline(&s, &id).await;
    assert_eq!(tl.last().map(|e| e.0.as_str()), Some("scaled"));
    assert!(
        tl.last().is_some_and(|e| e.1.contains("from 2 to 3")),
        "{tl:?}"
    );
    assert!(
        s.scale_outs
            .last_scale_out("web-asg")
            .await
            .expect("ledger")
            .is_some()
    );
}

#[tokio::test]
async fn a_redelivery_acts_once_and_counts_once() {
    let s = scaler(&[]);
    let first = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("first");
    let again = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("again");
    // The alarm-action payload of the same transition is the same transition.
    let direct = s
        .handle(&sample("alarm/direct-invocation.json"))
        .await
        .expect("direct");
    assert_eq!(again.action, Action::Duplicate);
    assert_eq!(direct.action, Action::Duplicate);
    assert_eq!(s.groups.calls().len(), 1);
    let id = first.incident_id.expect("incident");
    let inc = s
        .incidents
        .get(&id, Timestamp::from_millis(NOW_MS))
        .await
        .expect("stored");
    assert_eq!(inc.count, 1);
}

#[tokio::test]
async fn a_failed_set_desired_capacity_releases_the_claim_for_the_retry() {
    let s = scaler(&[]);
    s.groups.fail_next(Failure::Unavailable);
    let err = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("fails");
    assert!(err.is_retryable());
    assert_eq!(err.error_type(), "Retryable.Unavailable");
    assert!(s.groups.calls().is_empty());
    let retry = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("retry");
    assert_eq!(retry.action, Action::Scaled);
    assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);
}

#[tokio::test]
async fn a_change_applied_but_unacknowledged_is_not_repeated() {
    let s = scaler(&[]);
    s.groups.fail_next(Failure::AppliedThenUnavailable);
    let err = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("fails");
    assert!(err.is_retryable());
    let retry = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("retry");
    assert_eq!(retry.action, Action::Scaled);
    assert_eq!(s.groups.calls().len(), 1, "the retry must not scale 3 → 5");
    assert_eq!(s.groups.get("web-asg").map(|g| g.desired), Some(3));
    // Recorded as the attempt that made the change would have recorded it.
    let scaled = scaled_entries(&s, &retry).await;
    assert_eq!(scaled, std::slice::from_ref(&retry.detail));
    assert!(
        retry
            .detail
            .starts_with("scaled web-asg from 2 to 3: CPUUtilization 97.2"),
        "{}",
        retry.detail
    );
}

async fn scaled_entries(s: &TestScaler, out: &Outcome) -> Vec<String> {
    let id = out.incident_id.as_ref().expect("an incident");
    timeline(s, id)
        .await
        .into_iter()
        .filter(|(action, _)| action == "scaled")
        .map(|(_, detail)| detail)
        .collect()
}

#[tokio::test]
async fn a_claim_not_closed_is_a_retryable_failure_and_the_retry_records_once() {
    let s = scaler(&[]);
    s.ledger.fail_next_completion();
    let err = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("the claim cannot be closed");
    assert_eq!(err.error_type(), "Retryable.Unavailable", "{err}");
    assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);

    // Lambda retries after about a minute, when the claim's lease has run out.
    s.clock.advance(Duration::from_secs(60));
    let retry = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("retry");
    assert_eq!(retry.action, Action::Scaled);
    assert_eq!(s.groups.calls().len(), 1, "scaled once");
    assert_eq!(scaled_entries(&s, &retry).await.len(), 1, "noted once");
    let key = AlarmEvent::from_value(&sample("alarm/cpu-high-alarm.json"))
        .expect("decodes")
        .transition_key();
    assert_eq!(s.ledger.outcome(&key), Some(Ok(retry.detail.clone())));
}

#[tokio::test]
async fn access_denied_is_noted_and_permanent_for_every_redelivery() {
    let s = scaler(&[]);
    s.groups.fail_next(Failure::AccessDenied);
    let err = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("fails");
    assert_eq!(err.error_type(), "Permanent.AccessDenied");
    let again = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("fails again");
    assert_eq!(again.error_type(), "Permanent.FailedEarlier");
    let out = s.incidents.all();
    let tl = timeline(&s, &out[0].id).await;
    assert!(
        tl.iter()
            .any(|(a, d)| a == "failed" && d.contains("access denied")),
        "{tl:?}"
    );
}

#[tokio::test]
async fn a_missing_group_is_a_permanent_error() {
    let s = scaler(&[]);
    let mut ev = sample("alarm/cpu-high-alarm.json");
    ev["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["AutoScalingGroupName"] =
        "gone-asg".into();
    let err = s.handle(&ev).await.expect_err("fails");
    assert_eq!(err.error_type(), "Permanent.GroupNotFound");
}

#[tokio::test]
async fn dry_run_records_the_decision_and_changes_nothing() {
    let s = scaler(&[("APPTRACK_DRY_RUN", "true")]);
    let out = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::DryRun);
    assert!(out.detail.contains("from 2 to 3"), "{}", out.detail);
    assert!(s.groups.calls().is_empty());
}

#[tokio::test]
async fn target_tracking_alarms_are_ignored_unless_configured() {
    let s = scaler(&[]);
    let out = s
        .handle(&sample("alarm/target-tracking-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::Ignored);
    let s = scaler(&[("APPTRACK_IGNORE_TARGET_TRACKING", "false")]);
    let out = s
        .handle(&sample("alarm/target-tracking-alarm.json"))
        .await
        .expect("handled");
    assert_ne!(out.action, Action::Ignored);
}

#[tokio::test]
async fn ok_resolves_and_insufficient_data_is_noted_once() {
    let s = scaler(&[]);
    let opened = s
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("alarm");
    let id = opened.incident_id.expect("incident");
    for _ in 0..2 {
        s.handle(&sample("alarm/cpu-high-insufficient-data.json"))
            .await
            .expect("noted");
    }
    let notes = timeline(&s, &id)
        .await
        .into_iter()
        .filter(|(a, _)| a == "noted")
        .count();
    assert_eq!(notes, 1);
    let ok = s
        .handle(&sample("alarm/cpu-high-ok.json"))
        .await
        .expect("ok");
    assert_eq!(ok.action, Action::Resolved);
    let inc = s
        .incidents
        .get(&id, Timestamp::from_millis(NOW_MS))
        .await
        .expect("stored");
    assert_eq!(inc.status, Status::Resolved);
    let again = s
        .handle(&sample("alarm/cpu-high-ok.json"))
        .await
        .expect("ok again");
    assert_eq!(again.action, Action::Nothing);
    assert_eq!(
        s.groups.calls().len(),
        1,
        "OK and INSUFFICIENT_DATA never scale"
    );
}

#[tokio::test]
async fn missing_reason_data_is_read_back_with_get_metric_data() {
    let s = scaler(&[]);
    s.metrics.set(vec![96.0, 99.0]);
    let out = s
        .handle(&sample("broken/alarm-bad-reasondata.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert_eq!(s.metrics.queries().len(), 1);
}

#[tokio::test]
async fn scale_in_waits_out_the_stabilization_window() {
    let s = scaler(&[]);
    s.handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect("scale out");
    let out = s
        .handle(&sample("alarm/cpu-low-alarm.json"))
        .await
        .expect("low");
    assert_eq!(out.action, Action::NoChange);
    assert!(out.detail.contains("no scale-in until"), "{}", out.detail);

    let s = scaler(&[]);
    let out = s
        .handle(&sample("alarm/cpu-low-alarm.json"))
        .await
        .expect("low");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 1)]);
}

#[tokio::test]
async fn an_alarm_without_a_group_is_a_performance_incident() {
    let s = scaler(&[]);
    let out = s
        .handle(&sample("alarm/latency-p99-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::IncidentRecorded);
    let inc = &s.incidents.all()[0];
    assert_eq!(inc.kind, IncidentKind::Performance);
    assert_eq!(inc.resource, "web-alb-p99-latency");
    assert!(inc.evidence[0].data.get("threshold").is_some());
}

#[tokio::test]
async fn broken_events_are_permanent_errors_that_name_the_problem() {
    let s = scaler(&[]);
    let err = s
        .handle(&sample("broken/alarm-missing-state.json"))
        .await
        .expect_err("bad");
    assert_eq!(err.error_type(), "Permanent.BadEvent");
    assert!(err.to_string().contains("state"), "{err}");
    let err = s
        .handle(&Value::String("nope".into()))
        .await
        .expect_err("bad");
    assert_eq!(
        err.to_string(),
        "bad alarm event: event is not a JSON object"
    );
}

#[test]
fn settings_have_defaults_and_name_bad_values() {
    let s = settings(&[]);
    assert!(!s.dry_run && s.ignore_target_tracking);
    assert_eq!(s.policy.target_fraction, 0.8);
    assert_eq!(s.policy.stabilization, Duration::from_secs(300));
    let err = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" | "STATE_TABLE" => Some("t".into()),
        "APPTRACK_TARGET_FRACTION" => Some("80".into()),
        _ => None,
    })
    .expect_err("invalid");
    assert!(
        err.to_string().contains("APPTRACK_TARGET_FRACTION"),
        "{err}"
    );
}

#[test]
fn metrics_that_count_failures_are_availability() {
    assert_eq!(
        classify("HTTPCode_Target_5XX_Count"),
        IncidentKind::Availability
    );
    assert_eq!(classify("UnHealthyHostCount"), IncidentKind::Availability);
    assert_eq!(classify("TargetResponseTime"), IncidentKind::Performance);
}

// --- an alarm on one instance (events/alarm/instance-cpu-high-*.json: i-0a1b2c3d4e5f60718
// at 95.5 and 97.2 against a threshold of 90, so a target of 72) ---

const HOT: &str = "i-0a1b2c3d4e5f60718";

fn instance_scaler(pairs: &[(&str, &str)], group_average: f64) -> TestScaler {
    let s = scaler(pairs);
    s.alarms.insert(AlarmDefinition {
        name: "web-instance-cpu-high".into(),
        arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-instance-cpu-high".into(),
        comparison_operator: Some("GreaterThanThreshold".into()),
        threshold: Some(90.0),
        ..AlarmDefinition::default()
    });
    s.groups.add_instance("web-asg", HOT);
    s.metrics.set(vec![group_average, group_average]);
    s
}

async fn incident_of(s: &TestScaler, out: &Outcome) -> apptrack_core::incident::Incident {
    let id = out.incident_id.clone().expect("an incident");
    s.incidents
        .get(&id, Timestamp::from_millis(NOW_MS))
        .await
        .expect("stored")
}

#[tokio::test]
async fn one_hot_instance_in_a_quiet_group_is_a_hot_instance_incident_and_adds_nothing() {
    let s = instance_scaler(&[], 31.0);
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::HotInstance, "{out:?}");
    assert!(s.groups.calls().is_empty());
    assert!(s.groups.health_calls().is_empty(), "not tagged to replace");
    let inc = incident_of(&s, &out).await;
    assert_eq!(inc.kind, IncidentKind::HotInstance);
    assert_eq!(inc.resource, HOT);
    assert!(
        inc.title.as_str().contains("97.2"),
        "{}",
        inc.title.as_str()
    );
    assert!(
        inc.title.as_str().contains("31.0"),
        "{}",
        inc.title.as_str()
    );
    let tl = timeline(&s, &inc.id).await;
    assert!(
        tl.iter()
            .any(|(a, d)| a == "assessed" && d.contains("no capacity is added")),
        "{tl:?}"
    );
    // The alarm's OK resolves it.
    let ok = s
        .handle(&sample("alarm/instance-cpu-high-ok.json"))
        .await
        .expect("ok");
    assert_eq!(ok.action, Action::Resolved, "{ok:?}");
    assert_eq!(ok.incident_id, Some(inc.id));
}

#[tokio::test]
async fn a_busy_group_behind_an_instance_alarm_scales_out_once() {
    let s = instance_scaler(&[], 85.0);
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    // The group's 85 on 2 against a target of 72, not the instance's 97.2: 3.
    assert!(out.detail.contains("CPUUtilization 85.0"), "{}", out.detail);
    assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);
    let inc = incident_of(&s, &out).await;
    assert_eq!(inc.kind, IncidentKind::Saturation);
    assert_eq!(inc.resource, "web-asg");
    let tl = timeline(&s, &inc.id).await;
    assert!(
        tl.iter()
            .any(|(a, d)| a == "assessed" && d.contains("whole group is busy")),
        "{tl:?}"
    );
    let again = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("again");
    assert_eq!(again.action, Action::Duplicate, "{again:?}");
    assert_eq!(s.groups.calls().len(), 1);
}

#[tokio::test]
async fn a_group_tagged_to_replace_hot_instances_has_the_instance_marked_unhealthy_once() {
    let s = instance_scaler(&[], 31.0);
    s.groups.tag("web-asg", "apptrack:replace-hot", "true");
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::Replaced, "{out:?}");
    assert_eq!(s.groups.health_calls(), [HOT.to_owned()]);
    let again = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("again");
    assert_eq!(again.action, Action::Duplicate, "{again:?}");
    assert_eq!(s.groups.health_calls().len(), 1);
    assert!(s.groups.calls().is_empty(), "no capacity added");
}

#[tokio::test]
async fn a_lost_answer_from_set_instance_health_is_not_repeated_by_the_retry() {
    let s = instance_scaler(&[], 31.0);
    s.groups.tag("web-asg", "apptrack:replace-hot", "true");
    s.groups.fail_next(Failure::AppliedThenUnavailable);
    let err = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect_err("the answer is lost");
    assert!(err.is_retryable(), "{err}");
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("the retry");
    assert_eq!(out.action, Action::Replaced, "{out:?}");
    assert_eq!(s.groups.health_calls().len(), 1);
}

#[tokio::test]
async fn replacement_never_takes_the_group_below_its_minimum_or_happens_in_a_dry_run() {
    let s = instance_scaler(&[], 31.0);
    s.groups.tag("web-asg", "apptrack:replace-hot", "true");
    s.groups.insert(
        "web-asg",
        GroupCapacity {
            min: 2,
            max: 10,
            desired: 2,
            in_service: 2,
            pending: 0,
        },
    );
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::HotInstance, "{out:?}");
    assert!(out.detail.contains("minimum of 2"), "{}", out.detail);
    assert!(s.groups.health_calls().is_empty());

    let dry = instance_scaler(&[("APPTRACK_DRY_RUN", "true")], 31.0);
    dry.groups.tag("web-asg", "apptrack:replace-hot", "true");
    let out = dry
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::DryRun, "{out:?}");
    assert!(dry.groups.health_calls().is_empty());
}

#[tokio::test]
async fn an_instance_in_no_group_is_a_performance_incident_naming_it() {
    let s = scaler(&[]);
    s.metrics.set(vec![97.0]);
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::IncidentRecorded, "{out:?}");
    assert!(
        out.detail.contains("in no Auto Scaling group"),
        "{}",
        out.detail
    );
    let inc = incident_of(&s, &out).await;
    assert_eq!(inc.kind, IncidentKind::Performance);
    assert_eq!(inc.resource, HOT);
    assert!(inc.title.as_str().contains(HOT), "{}", inc.title.as_str());

    // No datapoints lately: the instance is said to be gone.
    let gone = scaler(&[]);
    let out = gone
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    assert!(out.detail.contains("no longer exists"), "{}", out.detail);
}

#[tokio::test]
async fn an_instance_alarm_with_insufficient_data_is_noted_on_its_incident() {
    let s = instance_scaler(&[], 31.0);
    let out = s
        .handle(&sample("alarm/instance-cpu-high-alarm.json"))
        .await
        .expect("handled");
    let noted = s
        .handle(&sample("alarm/instance-cpu-high-insufficient-data.json"))
        .await
        .expect("noted");
    assert_eq!(noted.action, Action::Noted, "{noted:?}");
    assert_eq!(noted.incident_id, out.incident_id);
}
