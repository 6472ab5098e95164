//! The alarm-scaler handler against ministack (CloudWatch, Auto Scaling) and DynamoDB Local:
//! given a sample event from `events/`, when handled, then this capacity, this incident.
//! Every test has its own group, alarm and tables, so tests run in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};

use alarm_scaler::handler::{Action, HandlerError, Outcome, Scaler, Settings};
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts, SCALING_NAMESPACE};
use apptrack_core::alarm::{AlarmEvent, GroupCapacity};
use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::failure::Failure as _;
use apptrack_core::incident::{DedupKey, IncidentKind, Status};
use apptrack_core::scaling::{
    CapacityController, InstanceDirectory, InstanceHealth, InstanceMembership, ScalingError,
};
use apptrack_core::store::ReadIncidents;
use apptrack_tests::scaling::create_managed_group;
use apptrack_tests::{TestTables, autoscaling_client, cloudwatch_client, repo_root};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

/// The real Auto Scaling adapter, counting the SetDesiredCapacity calls that reach it.
struct CountingGroups {
    inner: AutoScalingGroups,
    sets: AtomicUsize,
}

impl InstanceDirectory for CountingGroups {
    async fn locate(&self, instance_id: &str) -> Result<Option<InstanceMembership>, ScalingError> {
        self.inner.locate(instance_id).await
    }

    async fn group_tags(
        &self,
        group: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ScalingError> {
        self.inner.group_tags(group).await
    }
}

/// SetInstanceHealth, which ministack does not serve: the in-process fake records the
/// instances it was asked to mark (the request's shape is checked against the SDK's types
/// in apptrack-aws).
#[derive(Default)]
struct RecordingHealth {
    marked: std::sync::Mutex<Vec<String>>,
}

impl InstanceHealth for RecordingHealth {
    async fn mark_unhealthy(&self, instance_id: &str) -> Result<(), ScalingError> {
        self.marked
            .lock()
            .expect("not poisoned")
            .push(instance_id.to_owned());
        Ok(())
    }
}

impl CapacityController for CountingGroups {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        self.inner.capacity(group).await
    }

    async fn set_desired_capacity(&self, group: &str, desired: i32) -> Result<(), ScalingError> {
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.inner.set_desired_capacity(group, desired).await
    }
}

type LiveScaler = Scaler<
    CloudWatchAlarms,
    CloudWatchAlarms,
    CountingGroups,
    RecordingHealth,
    DynamoActionLedger,
    DynamoScaleOuts,
    DynamoIncidentStore,
    ManualClock,
>;

/// One test's world: a group at 2 of 1..=10, a CPU alarm on it, fresh tables.
struct World {
    tables: TestTables,
    cw: aws_sdk_cloudwatch::Client,
    asg: aws_sdk_autoscaling::Client,
    group: String,
    alarm: String,
    scaler: LiveScaler,
}

impl World {
    async fn new(settings: &[(&str, &str)]) -> World {
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let group = format!("asg-{tag}");
        let alarm = format!("{group}-cpu-high");
        let tables = TestTables::new().await.expect("tables");
        let cw = cloudwatch_client();
        let asg = autoscaling_client();

        create_managed_group(&asg, &group)
            .await
            .expect("the managed group");
        let w = World {
            scaler: Scaler {
                alarms: CloudWatchAlarms::new(cw.clone()),
                metrics: CloudWatchAlarms::new(cw.clone()),
                groups: CountingGroups {
                    inner: AutoScalingGroups::new(asg.clone()),
                    sets: AtomicUsize::new(0),
                },
                health: RecordingHealth::default(),
                ledger: DynamoActionLedger::new(
                    tables.client.clone(),
                    &tables.state,
                    SCALING_NAMESPACE,
                ),
                scale_outs: DynamoScaleOuts::new(tables.client.clone(), &tables.state),
                incidents: tables.store(),
                clock: ManualClock::new(Timestamp::from_millis(0)),
                settings: settings_for(&tables, settings),
            },
            tables,
            cw,
            asg,
            group,
            alarm,
        };
        w.put_alarm(
            &w.alarm,
            ComparisonOperator::GreaterThanThreshold,
            90.0,
            &[],
        )
        .await;
        w
    }

    async fn put_alarm(
        &self,
        name: &str,
        op: ComparisonOperator,
        threshold: f64,
        tags: &[(&str, &str)],
    ) {
        let mut req = self
            .cw
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/EC2")
            .metric_name("CPUUtilization")
            .dimensions(
                Dimension::builder()
                    .name("AutoScalingGroupName")
                    .value(&self.group)
                    .build(),
            )
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(2)
            .threshold(threshold)
            .comparison_operator(op)
            .tags(Tag::builder().key("team").value("web").build());
        for (k, v) in tags {
            req = req.tags(Tag::builder().key(*k).value(*v).build());
        }
        req.send().await.expect("PutMetricAlarm");
    }

    /// A sample event with this world's alarm and group names; the clock is set 30 s after
    /// the transition, as if delivered right away.
    fn event(&self, file: &str, alarm: &str) -> Value {
        let path = repo_root().join("events").join(file);
        let text = std::fs::read_to_string(&path).expect("sample event");
        let mut v: Value = serde_json::from_str(&text).expect("JSON sample");
        patch(&mut v, alarm, &self.group);
        if let Ok(ev) = AlarmEvent::from_value(&v) {
            self.scaler
                .clock
                .set(Timestamp::from_millis(ev.transition_time + 30_000));
        }
        v
    }

    async fn handle(&self, event: Value) -> Result<Outcome, HandlerError> {
        self.scaler.handle(&event).await
    }

    async fn desired(&self) -> i32 {
        let out = self
            .asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&self.group)
            .send()
            .await
            .expect("DescribeAutoScalingGroups");
        out.auto_scaling_groups()[0]
            .desired_capacity()
            .expect("desired")
    }

    fn sets(&self) -> usize {
        self.scaler.groups.sets.load(Ordering::SeqCst)
    }

    /// The ledger record of a transition, straight from the state table.
    async fn ledger_state(&self, event: &Value) -> Option<String> {
        let key = AlarmEvent::from_value(event)
            .expect("decodes")
            .transition_key();
        let out = self
            .tables
            .client
            .get_item()
            .table_name(&self.tables.state)
            .key("pk", AttributeValue::S(format!("SCALE#{key}")))
            .key("sk", AttributeValue::S("CLAIM".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");
        out.item
            .and_then(|i| i.get("state").and_then(|s| s.as_s().ok()).cloned())
    }
}

fn settings_for(tables: &TestTables, extra: &[(&str, &str)]) -> Settings {
    let mut pairs: Vec<(String, String)> = vec![
        ("INCIDENTS_TABLE".into(), tables.incidents.clone()),
        ("STATE_TABLE".into(), tables.state.clone()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_lookup(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("settings")
}

/// Renames the alarm (name and ARN) and points the group dimension at `group`.
fn patch(v: &mut Value, alarm: &str, group: &str) {
    let arn = format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}");
    let key = if v.get("detail").is_some() {
        "detail"
    } else {
        "alarmData"
    };
    if v.get("resources").is_some() {
        v["resources"] = json!([arn]);
    }
    if v.get("alarmArn").is_some() {
        v["alarmArn"] = json!(arn);
    }
    let Some(payload) = v.get_mut(key).and_then(Value::as_object_mut) else {
        return;
    };
    payload.insert("alarmName".into(), json!(alarm));
    if let Some(metrics) = payload
        .get_mut("configuration")
        .and_then(|c| c.get_mut("metrics"))
        .and_then(Value::as_array_mut)
    {
        for m in metrics {
            if let Some(dims) = m
                .pointer_mut("/metricStat/metric/dimensions")
                .and_then(Value::as_object_mut)
                && dims.contains_key("AutoScalingGroupName")
            {
                dims.insert("AutoScalingGroupName".into(), json!(group));
            }
        }
    }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_alarm_scales_the_group_and_opens_a_saturation_incident() {
    let w = World::new(&[]).await;
    let out = w
        .handle(w.event("alarm/cpu-high-alarm.json", &w.alarm))
        .await
        .expect("handled");
    // 97.2 % on 2 instances vs target 72 (90 × 0.8): ceil(2 × 1.35) = 3.
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert_eq!(w.desired().await, 3);
    assert_eq!(w.sets(), 1);

    let store = &w.scaler.incidents;
    let id = out.incident_id.expect("incident");
    let inc = store.get(&id, at(i64::MAX / 4)).await.expect("incident");
    assert_eq!(inc.kind, IncidentKind::Saturation);
    assert_eq!(inc.resource, w.group);
    assert_eq!(inc.status, Status::Open);
    let tl = store.timeline(&id, at(0)).await.expect("timeline");
    let scaled = tl
        .iter()
        .find(|e| e.action == "scaled")
        .expect("a scaled entry");
    assert!(scaled.detail.contains("from 2 to 3"), "{}", scaled.detail);
    assert!(
        scaled.detail.contains("threshold 90 × 0.8"),
        "{}",
        scaled.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_resolves_and_insufficient_data_is_only_noted() {
    let w = World::new(&[]).await;
    let opened = w
        .handle(w.event("alarm/cpu-high-alarm.json", &w.alarm))
        .await
        .expect("alarm");
    let id = opened.incident_id.expect("incident");

    let noted = w
        .handle(w.event("alarm/cpu-high-insufficient-data.json", &w.alarm))
        .await
        .expect("insufficient data");
    assert_eq!(noted.action, Action::Noted);
    assert_eq!(w.desired().await, 3, "INSUFFICIENT_DATA never acts");

    let ok = w
        .handle(w.event("alarm/cpu-high-ok.json", &w.alarm))
        .await
        .expect("ok");
    assert_eq!(ok.action, Action::Resolved);
    let store = &w.scaler.incidents;
    let inc = store.get(&id, at(0)).await.expect("incident");
    assert_eq!(inc.status, Status::Resolved);
    let actions: Vec<String> = store
        .timeline(&id, at(0))
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["opened", "scaled", "noted", "resolved"]);
    assert_eq!(w.sets(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_scales_once() {
    let w = World::new(&[]).await;
    let ev = w.event("alarm/cpu-high-alarm.json", &w.alarm);
    let first = w.handle(ev.clone()).await.expect("first");
    let second = w.handle(ev.clone()).await.expect("second");
    let direct = w
        .handle(w.event("alarm/direct-invocation.json", &w.alarm))
        .await
        .expect("direct");
    assert_eq!(first.action, Action::Scaled);
    assert_eq!(second.action, Action::Duplicate);
    assert_eq!(
        direct.action,
        Action::Duplicate,
        "same transition, other delivery path"
    );
    assert_eq!(w.sets(), 1);
    assert_eq!(w.desired().await, 3);
    assert_eq!(w.ledger_state(&ev).await.as_deref(), Some("done"));
    let inc = w
        .scaler
        .incidents
        .get(&first.incident_id.expect("incident"), at(0))
        .await
        .expect("incident");
    assert_eq!(inc.count, 1, "redelivery does not count twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_deliveries_scale_once() {
    let w = std::sync::Arc::new(World::new(&[]).await);
    let ev = w.event("alarm/cpu-high-alarm.json", &w.alarm);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (w, ev) = (w.clone(), ev.clone());
        tasks.push(tokio::spawn(async move { w.handle(ev).await }));
    }
    let mut scaled = 0;
    for t in tasks {
        let out = t.await.expect("task").expect("handled");
        match out.action {
            Action::Scaled => scaled += 1,
            Action::Duplicate | Action::InProgressElsewhere => {}
            other => panic!("unexpected {other:?}: {out:?}"),
        }
    }
    assert_eq!(scaled, 1);
    assert_eq!(w.sets(), 1);
    assert_eq!(w.desired().await, 3);
    assert_eq!(w.ledger_state(&ev).await.as_deref(), Some("done"));
    let key =
        DedupKey::new("alarm-scaler", IncidentKind::Saturation, &w.group, &w.alarm).expect("key");
    let open = w.scaler.incidents.active_for_key(&key).await.expect("read");
    assert_eq!(open.expect("open incident").count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_alarm_scales_in_gently_but_not_right_after_a_scale_out() {
    let w = World::new(&[]).await;
    let low = format!("{}-cpu-low", w.group);
    w.put_alarm(&low, ComparisonOperator::LessThanThreshold, 20.0, &[])
        .await;

    // Scale out first (2 → 3) at the high alarm's time…
    w.handle(w.event("alarm/cpu-high-alarm.json", &w.alarm))
        .await
        .expect("scale out");
    // …then a low alarm two minutes later falls inside the 300 s window.
    let mut ev = w.event("alarm/cpu-low-alarm.json", &low);
    ev["detail"]["state"]["timestamp"] = json!("2026-11-24T02:02:00.000+0000");
    w.scaler.clock.set(at(1_795_485_720_000 + 1_000));
    let out = w.handle(ev).await.expect("low inside the window");
    assert_eq!(out.action, Action::NoChange, "{out:?}");
    assert!(out.detail.contains("no scale-in until"), "{}", out.detail);
    assert_eq!(w.desired().await, 3);

    // The sample low alarm (three hours later) scales in by one.
    let out = w
        .handle(w.event("alarm/cpu-low-alarm.json", &low))
        .await
        .expect("low after the window");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert_eq!(w.desired().await, 2);
    assert_eq!(w.sets(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_alarm_without_a_group_is_a_performance_incident_with_context() {
    let w = World::new(&[]).await;
    let name = format!("{}-p99", w.group);
    let out = w
        .handle(w.event("alarm/latency-p99-alarm.json", &name))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::IncidentRecorded);
    assert_eq!(w.sets(), 0);
    let inc = w
        .scaler
        .incidents
        .get(&out.incident_id.expect("incident"), at(0))
        .await
        .expect("incident");
    assert_eq!(inc.kind, IncidentKind::Performance);
    assert_eq!(inc.resource, name);
    let ctx = &inc.evidence[0].data;
    assert_eq!(ctx["metric"], "TargetResponseTime");
    assert_eq!(ctx["statistic"], "p99");
    assert!(
        ctx["threshold"].is_number() && ctx["breach_pct"].is_number(),
        "{ctx}"
    );
    assert!(
        ctx["console_url"]
            .as_str()
            .is_some_and(|u| u.contains(&name))
    );

    let ok = w
        .handle(w.event("alarm/cpu-high-ok.json", &name))
        .await
        .expect("ok");
    // The OK sample watches a group, so it is a different problem than the latency one.
    assert_eq!(ok.action, Action::Nothing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alarm_variant_is_handled() {
    let w = World::new(&[]).await;
    let cases = [
        ("alarm/metric-math-alarm.json", "requests", Action::Scaled),
        ("alarm/first-transition-alarm.json", "first", Action::Scaled),
        ("alarm/direct-invocation.json", "direct", Action::Scaled),
        // SetAlarmState (a test from the console or CLI) carries no datapoints, and the
        // metric has none in CloudWatch either: recorded, not acted on.
        (
            "alarm/set-alarm-state-alarm.json",
            "set-state",
            Action::NoChange,
        ),
        ("alarm/anomaly-band-alarm.json", "anomaly", Action::NoChange),
        (
            "alarm/composite-alarm.json",
            "composite",
            Action::IncidentRecorded,
        ),
        (
            "alarm/target-tracking-alarm.json",
            "TargetTracking-x",
            Action::Ignored,
        ),
    ];
    for (file, suffix, expected) in cases {
        let name = if suffix.starts_with("TargetTracking") {
            format!("{suffix}-{}", w.group)
        } else {
            format!("{}-{suffix}", w.group)
        };
        let out = w.handle(w.event(file, &name)).await;
        let out = out.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out.action, expected, "{file}: {out:?}");
    }
    // Metric math: 1843.5 req/instance vs 960 (1200 × 0.8) on 2 → 4; the band alarm has
    // no static threshold and no apptrack:target tag, so it decides nothing.
    assert!(w.desired().await > 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_reason_data_is_read_back_from_cloudwatch() {
    let w = World::new(&[]).await;
    let now = apptrack_core::clock::SystemClock;
    let now_ms = apptrack_core::clock::Clock::now(&now).as_millis();
    apptrack_tests::scaling::group_cpu_before(&w.cw, &w.group, now_ms, &[(120, 96.0), (60, 99.0)])
        .await
        .expect("PutMetricData");
    let mut ev = w.event("broken/alarm-bad-reasondata.json", &w.alarm);
    ev["detail"]["state"]["timestamp"] = json!(Timestamp::from_millis(now_ms).to_rfc3339());
    let out = w.handle(ev).await.expect("handled");
    assert_eq!(out.action, Action::Scaled, "{out:?}");
    assert!(out.detail.contains("CPUUtilization 99.0"), "{}", out.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_tag_and_dry_run() {
    let w = World::new(&[("APPTRACK_DRY_RUN", "true")]).await;
    // PutMetricAlarm ignores tags when it updates an alarm, so the tagged one is new.
    let tagged = format!("{}-tagged", w.group);
    w.put_alarm(
        &tagged,
        ComparisonOperator::GreaterThanThreshold,
        90.0,
        &[("apptrack:target", "40")],
    )
    .await;
    let out = w
        .handle(w.event("alarm/cpu-high-alarm.json", &tagged))
        .await
        .expect("handled");
    assert_eq!(out.action, Action::DryRun);
    // 97.2 vs 40 on 2 → 5, capped at +4 → still 5 ≤ 6.
    assert!(out.detail.contains("from 2 to 5"), "{}", out.detail);
    assert!(out.detail.contains("apptrack:target tag"), "{}", out.detail);
    assert_eq!(w.desired().await, 2);
    assert_eq!(w.sets(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_does_not_exist_is_a_permanent_error_noted_on_the_incident() {
    let w = World::new(&[]).await;
    let mut ev = w.event("alarm/cpu-high-alarm.json", &w.alarm);
    ev["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["AutoScalingGroupName"] =
        json!(format!("{}-gone", w.group));
    let err = w.handle(ev.clone()).await.expect_err("no such group");
    assert!(!err.is_retryable());
    assert_eq!(err.error_type(), "Permanent.GroupNotFound");
    let again = w.handle(ev.clone()).await.expect_err("still no group");
    assert_eq!(again.error_type(), "Permanent.FailedEarlier");
    assert_eq!(w.ledger_state(&ev).await.as_deref(), Some("failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_events_get_clear_errors() {
    let w = World::new(&[]).await;
    let root = repo_root().join("events/broken");
    for (file, says) in [
        ("alarm-missing-state.json", "missing field detail.state"),
        (
            "alarm-wrong-detail-type.json",
            "not a CloudWatch alarm event",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("sample");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        let err = w.handle(v).await.expect_err(file);
        assert_eq!(err.error_type(), "Permanent.BadEvent", "{file}");
        assert!(err.to_string().contains(says), "{file}: {err}");
    }
    // Not JSON at all never reaches the handler (the runtime rejects it); as a string
    // value it is still a clear error.
    let text = std::fs::read_to_string(root.join("alarm-not-json.json")).expect("sample");
    let err = w
        .handle(Value::String(text))
        .await
        .expect_err("not an object");
    assert_eq!(
        err.to_string(),
        "bad alarm event: event is not a JSON object"
    );
    assert_eq!(w.sets(), 0);
}

// --- one instance's alarm (events/alarm/instance-cpu-high-*.json), resolved to its group
// with DescribeAutoScalingInstances and judged on the group's average from GetMetricData ---

impl World {
    /// An instance ministack launched for the group.
    async fn an_instance(&self) -> String {
        let out = self
            .asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&self.group)
            .send()
            .await
            .expect("DescribeAutoScalingGroups");
        out.auto_scaling_groups()[0].instances()[0]
            .instance_id()
            .expect("an instance id")
            .to_owned()
    }

    /// The group's average CPU over the last two minutes, as CloudWatch would aggregate it.
    async fn group_average_is(&self, value: f64, now_ms: i64) {
        apptrack_tests::scaling::group_average_before(&self.cw, &self.group, now_ms, value)
            .await
            .expect("PutMetricData");
    }

    /// The instance sample, renamed for this world, on `instance`, transitioning at `now_ms`.
    fn instance_event(&self, file: &str, instance: &str, now_ms: i64) -> Value {
        let alarm = format!("{}-instance-cpu-high", self.group);
        let mut ev = self.event(file, &alarm);
        ev["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
            json!({ "InstanceId": instance });
        ev["detail"]["state"]["timestamp"] = json!(Timestamp::from_millis(now_ms).to_rfc3339());
        self.scaler
            .clock
            .set(Timestamp::from_millis(now_ms + 30_000));
        ev
    }

    fn marked(&self) -> Vec<String> {
        self.scaler
            .health
            .marked
            .lock()
            .expect("not poisoned")
            .clone()
    }
}

fn wall_ms() -> i64 {
    apptrack_core::clock::Clock::now(&apptrack_core::clock::SystemClock).as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_alarm_in_a_busy_group_scales_the_group_once_however_delivered() {
    let w = std::sync::Arc::new(World::new(&[]).await);
    let now = wall_ms();
    w.group_average_is(85.0, now).await;
    let instance = w.an_instance().await;
    let ev = w.instance_event("alarm/instance-cpu-high-alarm.json", &instance, now);
    let first = w.handle(ev.clone()).await.expect("handled");
    assert_eq!(first.action, Action::Scaled, "{first:?}");
    assert!(
        first.detail.contains("whole group is busy"),
        "{}",
        first.detail
    );
    assert!(
        first.detail.contains("CPUUtilization 85.0"),
        "{}",
        first.detail
    );
    // 85 on 2 against a target of 72: 3.
    assert_eq!(w.desired().await, 3);

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (w, ev) = (w.clone(), ev.clone());
        tasks.push(tokio::spawn(async move { w.handle(ev).await }));
    }
    for t in tasks {
        let out = t.await.expect("task").expect("handled");
        assert!(
            matches!(out.action, Action::Duplicate | Action::InProgressElsewhere),
            "{out:?}"
        );
    }
    assert_eq!(w.sets(), 1);
    assert_eq!(w.desired().await, 3);
    let inc = w
        .scaler
        .incidents
        .get(&first.incident_id.expect("incident"), at(0))
        .await
        .expect("incident");
    assert_eq!(inc.kind, IncidentKind::Saturation);
    assert_eq!(inc.count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hot_instance_in_a_quiet_group_opens_one_hot_instance_incident_and_scales_nothing() {
    let w = std::sync::Arc::new(World::new(&[]).await);
    let now = wall_ms();
    w.group_average_is(31.0, now).await;
    let instance = w.an_instance().await;
    let ev = w.instance_event("alarm/instance-cpu-high-alarm.json", &instance, now);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (w, ev) = (w.clone(), ev.clone());
        tasks.push(tokio::spawn(async move { w.handle(ev).await }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let out = t.await.expect("task").expect("handled");
        assert_eq!(out.action, Action::HotInstance, "{out:?}");
        ids.insert(out.incident_id.expect("incident"));
    }
    assert_eq!(ids.len(), 1, "one incident: {ids:?}");
    assert_eq!(w.sets(), 0);
    assert_eq!(w.desired().await, 2);
    assert!(w.marked().is_empty(), "the group is not tagged to replace");
    let id = ids.into_iter().next().expect("one");
    let inc = w.scaler.incidents.get(&id, at(0)).await.expect("incident");
    assert_eq!(inc.kind, IncidentKind::HotInstance);
    assert_eq!(inc.resource, instance);
    assert_eq!(inc.count, 1);

    let ok = w
        .handle(w.instance_event("alarm/instance-cpu-high-ok.json", &instance, now + 300_000))
        .await
        .expect("ok");
    assert_eq!(ok.action, Action::Resolved, "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_instance_of_a_group_tagged_to_replace_is_marked_unhealthy_once() {
    let w = World::new(&[]).await;
    w.asg
        .create_or_update_tags()
        .tags(
            aws_sdk_autoscaling::types::Tag::builder()
                .key("apptrack:replace-hot")
                .value("true")
                .resource_id(&w.group)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(false)
                .build(),
        )
        .send()
        .await
        .expect("CreateOrUpdateTags");
    let now = wall_ms();
    w.group_average_is(31.0, now).await;
    let instance = w.an_instance().await;
    let ev = w.instance_event("alarm/instance-cpu-high-alarm.json", &instance, now);
    let out = w.handle(ev.clone()).await.expect("handled");
    assert_eq!(out.action, Action::Replaced, "{out:?}");
    let again = w.handle(ev).await.expect("again");
    assert_eq!(again.action, Action::Duplicate, "{again:?}");
    assert_eq!(w.marked(), [instance]);
    assert_eq!(w.sets(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_in_no_group_is_a_performance_incident_that_names_it() {
    let w = World::new(&[]).await;
    let now = wall_ms();
    let ev = w.instance_event(
        "alarm/instance-cpu-high-alarm.json",
        "i-0feedface0000001",
        now,
    );
    let out = w.handle(ev.clone()).await.expect("handled");
    assert_eq!(out.action, Action::IncidentRecorded, "{out:?}");
    assert!(
        out.detail.contains("in no Auto Scaling group"),
        "{}",
        out.detail
    );
    let again = w.handle(ev).await.expect("again");
    assert_eq!(again.incident_id, out.incident_id);
    let inc = w
        .scaler
        .incidents
        .get(&out.incident_id.expect("incident"), at(0))
        .await
        .expect("incident");
    assert_eq!(inc.kind, IncidentKind::Performance);
    assert_eq!(inc.resource, "i-0feedface0000001");
    assert_eq!(inc.count, 1, "redelivery counts once");
}
