//! Given the sample events in `events/alarm` and `events/broken`, when decoded and
//! decided on, then the alarm, the capacity and the incident context we expect.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn read(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events")).join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn sample(name: &str) -> AlarmEvent {
    AlarmEvent::from_slice(&read(&format!("alarm/{name}")))
        .unwrap_or_else(|e| panic!("{name} should decode: {e}"))
}

const ALL: &[&str] = &[
    "anomaly-band-alarm.json",
    "anomaly-band-insufficient-data.json",
    "anomaly-band-ok.json",
    "composite-alarm.json",
    "composite-insufficient-data.json",
    "composite-ok.json",
    "cpu-high-alarm.json",
    "cpu-high-insufficient-data.json",
    "cpu-high-ok.json",
    "cpu-low-alarm.json",
    "direct-invocation.json",
    "direct-invocation-insufficient-data.json",
    "direct-invocation-ok.json",
    "first-transition-alarm.json",
    "first-transition-ok.json",
    "instance-cpu-high-alarm.json",
    "instance-cpu-high-insufficient-data.json",
    "instance-cpu-high-ok.json",
    "latency-p99-alarm.json",
    "latency-p99-insufficient-data.json",
    "latency-p99-ok.json",
    "metric-math-alarm.json",
    "metric-math-insufficient-data.json",
    "metric-math-ok.json",
    "set-alarm-state-alarm.json",
    "target-tracking-alarm.json",
];

const CPU_HIGH_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-asg-cpu-high";

fn two_instance_group() -> GroupCapacity {
    GroupCapacity {
        min: 1,
        max: 10,
        desired: 2,
        in_service: 2,
        pending: 0,
    }
}

#[test]
fn every_sample_decodes_without_notes() {
    let listed: std::collections::BTreeSet<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/alarm"))
            .expect("events/alarm exists")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
    let expected: std::collections::BTreeSet<String> =
        ALL.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        listed, expected,
        "a sample was added or removed without a test"
    );
    for name in ALL {
        let ev = sample(name);
        assert!(ev.notes.is_empty(), "{name}: {:?}", ev.notes);
        assert_eq!(ev.account, "123456789012");
        assert_eq!(ev.region, "us-east-1");
    }
}

#[test]
fn cpu_high_alarm_scales_web_asg_out() {
    let ev = sample("cpu-high-alarm.json");
    assert_eq!(ev.alarm_name, "web-asg-cpu-high");
    assert_eq!(ev.alarm_arn, CPU_HIGH_ARN);
    assert_eq!(ev.state, AlarmState::Alarm);
    assert_eq!(ev.previous_state, Some(AlarmState::Ok));
    assert_eq!(ev.origin, EventOrigin::EventBridge);
    assert_eq!(
        ev.event_id.as_deref(),
        Some("6f1d3c2a-8e4b-4f7a-b9c0-1d2e3f4a5b6c")
    );
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
    assert!(!ev.is_target_tracking());
    let AlarmKind::SingleMetric(m) = &ev.kind else {
        panic!("{:?}", ev.kind)
    };
    assert_eq!(
        (m.namespace.as_str(), m.metric_name.as_str()),
        ("AWS/EC2", "CPUUtilization")
    );
    assert_eq!((m.stat.as_deref(), m.period), (Some("Average"), Some(60)));

    let rd = ev.reason_data.as_ref().expect("reason data");
    assert_eq!(rd.threshold, Some(90.0));
    assert_eq!(rd.recent_datapoints, vec![95.5, 97.2]);
    assert_eq!(rd.evaluated_datapoints.len(), 2);
    let value = representative_value(rd).expect("a value");
    assert_eq!(value, 97.2);

    let policy = ScalingPolicy::default();
    let decision = policy.decide(&ScalingInput {
        direction: Direction::from_comparison_operator("GreaterThanThreshold").expect("known"),
        metric: m.metric_name.clone(),
        value,
        target: policy.target(Direction::High, None, rd.threshold),
        capacity: two_instance_group(),
        last_scale_out_ms: None,
        now_ms: ev.transition_time,
    });
    assert_eq!(
        decision.to_string(),
        "from 2 to 3: CPUUtilization 97.2 vs target 72.0 (threshold 90 × 0.8)"
    );
}

#[test]
fn the_alarm_action_payload_is_the_same_transition() {
    let direct = sample("direct-invocation.json");
    let bridged = sample("cpu-high-alarm.json");
    assert_eq!(direct.origin, EventOrigin::AlarmAction);
    assert_eq!(direct.event_id, None);
    assert_eq!(direct.transition_key(), bridged.transition_key());
    assert_eq!(direct.kind, bridged.kind);
    assert_eq!(direct.reason_data, bridged.reason_data);
    assert_eq!(
        bridged.transition_key(),
        format!(
            "{CPU_HIGH_ARN}#ALARM#{}",
            parse_epoch_ms("2026-11-24T02:00:12.421+0000").expect("ts")
        )
    );
}

#[test]
fn every_variant_decodes_in_every_state() {
    // (ALARM file, stem of its OK and INSUFFICIENT_DATA siblings)
    let variants = [
        ("metric-math-alarm.json", "metric-math"),
        ("anomaly-band-alarm.json", "anomaly-band"),
        ("composite-alarm.json", "composite"),
        ("latency-p99-alarm.json", "latency-p99"),
        ("direct-invocation.json", "direct-invocation"),
    ];
    let kind_of = |ev: &AlarmEvent| std::mem::discriminant(&ev.kind);
    for (alarm_file, stem) in variants {
        let alarm = sample(alarm_file);
        assert_eq!(alarm.state, AlarmState::Alarm, "{alarm_file}");
        let ok = sample(&format!("{stem}-ok.json"));
        let nodata = sample(&format!("{stem}-insufficient-data.json"));
        assert_eq!(
            (ok.state, ok.previous_state),
            (AlarmState::Ok, Some(AlarmState::Alarm)),
            "{stem}"
        );
        assert_eq!(nodata.state, AlarmState::InsufficientData, "{stem}");
        assert_eq!(kind_of(&ok), kind_of(&alarm), "{stem}-ok keeps its kind");
        assert_eq!(
            kind_of(&nodata),
            kind_of(&alarm),
            "{stem}-insufficient-data keeps its kind"
        );
        assert_ne!(ok.transition_key(), alarm.transition_key(), "{stem}");
        assert_eq!(ok.alarm_arn, alarm.alarm_arn, "{stem}");
    }
    let first_ok = sample("first-transition-ok.json");
    assert_eq!(
        (first_ok.state, first_ok.previous_state),
        (AlarmState::Ok, Some(AlarmState::InsufficientData))
    );
}

#[test]
fn ok_and_insufficient_data_are_distinct_transitions() {
    let ok = sample("cpu-high-ok.json");
    let nodata = sample("cpu-high-insufficient-data.json");
    let alarm = sample("cpu-high-alarm.json");
    assert_eq!(
        (ok.state, ok.previous_state),
        (AlarmState::Ok, Some(AlarmState::Alarm))
    );
    assert_eq!(nodata.state, AlarmState::InsufficientData);
    let rd = nodata.reason_data.as_ref().expect("reason data");
    assert_eq!(rd.evaluated_datapoints.len(), 2);
    assert!(rd.evaluated_datapoints.iter().all(|d| d.value.is_none()));
    assert_eq!(representative_value(rd), None);
    let keys = [
        ok.transition_key(),
        nodata.transition_key(),
        alarm.transition_key(),
    ];
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
}

#[test]
fn metric_math_finds_the_group_among_its_inputs() {
    let ev = sample("metric-math-alarm.json");
    let AlarmKind::MetricMath {
        expressions,
        inputs,
    } = &ev.kind
    else {
        panic!("{:?}", ev.kind)
    };
    assert_eq!(expressions.len(), 1);
    assert_eq!(expressions[0].expression, "m1 / m2");
    assert_eq!(expressions[0].label.as_deref(), Some("RequestsPerInstance"));
    assert_eq!(inputs.len(), 2);
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
    let ctx = metric_context(&ev, Some(Direction::High));
    assert_eq!(ctx.metric, "RequestsPerInstance");
    assert_eq!(ctx.value, Some(1843.5));
    assert_eq!(ctx.severity, SeveritySuggestion::High);
}

#[test]
fn anomaly_band_has_no_threshold_and_reads_its_side_from_the_reason() {
    let ev = sample("anomaly-band-alarm.json");
    let AlarmKind::AnomalyBand {
        metric,
        band,
        std_devs,
    } = &ev.kind
    else {
        panic!("{:?}", ev.kind)
    };
    assert_eq!(
        metric.as_ref().map(|m| m.metric_name.as_str()),
        Some("NetworkIn")
    );
    assert_eq!(band.id.as_deref(), Some("ad1"));
    assert_eq!(*std_devs, Some(2.0));
    let rd = ev.reason_data.as_ref().expect("reason data");
    assert_eq!(rd.threshold, None);
    assert_eq!(rd.threshold_metric_id.as_deref(), Some("ad1"));
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));

    let value = representative_value(rd).expect("value");
    let (lower, upper) = rd.band();
    let side = Direction::from_comparison_operator("LessThanLowerOrGreaterThanUpperThreshold")
        .and_then(|d| d.resolve(value, lower, upper))
        .or_else(|| Direction::from_alarm_reason(&ev.reason));
    assert_eq!(side, Some(Direction::High));

    let ctx = metric_context(&ev, side);
    assert_eq!(ctx.threshold, None);
    assert_eq!(ctx.breach_pct, None);
    assert_eq!(ctx.severity, SeveritySuggestion::Medium);
    assert_eq!(
        ctx.summary,
        "web-asg-network-in-anomaly is ALARM: NetworkIn Average 487215034 outside the expected band (2 standard deviations)"
    );
}

#[test]
fn composite_names_its_triggering_alarms() {
    let ev = sample("composite-alarm.json");
    let AlarmKind::Composite { rule, triggering } = &ev.kind else {
        panic!("{:?}", ev.kind)
    };
    assert_eq!(
        rule,
        "ALARM(\"web-asg-cpu-high\") AND ALARM(\"web-alb-p99-latency\")"
    );
    let names: Vec<&str> = triggering.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["web-alb-p99-latency", "web-asg-cpu-high"]);
    assert!(
        triggering
            .iter()
            .all(|t| t.state == Some(AlarmState::Alarm))
    );
    assert_eq!(ev.group_from_dimensions(), None);
    assert_eq!(ev.primary_metric(), None);
    let ctx = metric_context(&ev, None);
    assert_eq!(
        ctx.summary,
        "web-service-degraded is ALARM: rule ALARM(\"web-asg-cpu-high\") AND ALARM(\"web-alb-p99-latency\"); triggered by web-alb-p99-latency, web-asg-cpu-high"
    );
}

#[test]
fn first_transition_comes_from_the_unchecked_initial_state() {
    let ev = sample("first-transition-alarm.json");
    assert_eq!(ev.state, AlarmState::Alarm);
    assert_eq!(ev.previous_state, Some(AlarmState::InsufficientData));
    assert!(ev.reason_data.is_some());

    // A state forced with SetAlarmState has no reasonData: still an event, no value.
    let forced = sample("set-alarm-state-alarm.json");
    assert_eq!(forced.reason_data, None);
    assert_eq!(forced.reason, "Testing the alarm-scaler (set-alarm-state)");
    let ctx = metric_context(&forced, Some(Direction::High));
    assert_eq!(ctx.value, None);
    assert_eq!(
        ctx.summary,
        "web-asg-cpu-high is ALARM: CPUUtilization Average: Testing the alarm-scaler (set-alarm-state)"
    );
}

#[test]
fn cpu_low_scales_in_one_step_unless_stabilizing() {
    let ev = sample("cpu-low-alarm.json");
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
    let rd = ev.reason_data.as_ref().expect("reason data");
    assert_eq!(rd.evaluated_datapoints.len(), 10);
    let value = representative_value(rd).expect("value");
    assert_eq!(value, 12.0);
    let policy = ScalingPolicy::default();
    let direction = Direction::from_comparison_operator("LessThanThreshold").expect("known");
    let input = ScalingInput {
        direction,
        metric: "CPUUtilization".into(),
        value,
        target: policy.target(direction, None, rd.threshold),
        capacity: GroupCapacity {
            min: 2,
            max: 20,
            desired: 12,
            in_service: 12,
            pending: 0,
        },
        last_scale_out_ms: Some(ev.transition_time - 60_000),
        now_ms: ev.transition_time,
    };
    let d = policy.decide(&input);
    assert!(
        matches!(
            d,
            ScalingDecision::NoChange {
                why: NoChangeReason::Stabilizing { .. }
            }
        ),
        "{d}"
    );
    let d = policy.decide(&ScalingInput {
        last_scale_out_ms: Some(ev.transition_time - 3_600_000),
        ..input
    });
    assert_eq!(
        d.to_string(),
        "from 12 to 11: CPUUtilization 12.0 breached the low threshold"
    );
}

#[test]
fn latency_alarm_without_a_group_becomes_metric_context() {
    let ev = sample("latency-p99-alarm.json");
    assert_eq!(ev.group_name(), None);
    let ctx = metric_context(&ev, Some(Direction::High));
    assert_eq!(ctx.metric, "TargetResponseTime");
    assert_eq!(ctx.namespace.as_deref(), Some("AWS/ApplicationELB"));
    assert_eq!(ctx.statistic.as_deref(), Some("p99"));
    assert_eq!(ctx.value, Some(3.412));
    assert_eq!(ctx.threshold, Some(1.5));
    let breach = ctx.breach_pct.expect("breach");
    assert!((breach - 127.466_666).abs() < 1e-3, "{breach}");
    assert_eq!(ctx.severity, SeveritySuggestion::High);
    assert_eq!(ctx.datapoints.len(), 3);
    assert_eq!(
        ctx.console_url,
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/web-alb-p99-latency"
    );
    assert_eq!(
        ctx.summary,
        "web-alb-p99-latency is ALARM: TargetResponseTime p99 3.412 vs threshold 1.5 (+127.5%)"
    );
}

#[test]
fn target_tracking_alarms_are_recognized() {
    let ev = sample("target-tracking-alarm.json");
    assert!(ev.is_target_tracking());
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
}

#[test]
fn broken_events_fail_with_a_named_reason() {
    let missing = AlarmEvent::from_slice(&read("broken/alarm-missing-state.json"));
    assert_eq!(
        missing,
        Err(AlarmEventError::MissingField("detail.state".into()))
    );
    let wrong = AlarmEvent::from_slice(&read("broken/alarm-wrong-detail-type.json"));
    assert_eq!(
        wrong.map_err(|e| e.to_string()),
        Err(
            "not a CloudWatch alarm event: detail-type \"EC2 Instance State-change Notification\""
                .into()
        )
    );
    let text = AlarmEvent::from_slice(&read("broken/alarm-not-json.json"));
    assert!(matches!(text, Err(AlarmEventError::NotJson(_))), "{text:?}");
}

#[test]
fn broken_reason_data_still_decodes_with_a_note() {
    let ev = AlarmEvent::from_slice(&read("broken/alarm-bad-reasondata.json")).expect("decodes");
    assert_eq!(ev.state, AlarmState::Alarm);
    assert_eq!(ev.reason_data, None);
    assert_eq!(ev.notes.len(), 1);
    assert!(
        ev.notes[0].starts_with("detail.state.reasonData is not valid JSON"),
        "{:?}",
        ev.notes
    );
    assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("ALARM".to_owned()),
            Just("CloudWatch Alarm State Change".to_owned()),
            Just("2026-11-24T02:00:12.421+0000".to_owned()),
            Just("{\"threshold\":1}".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("detail".to_owned()),
        Just("alarmData".to_owned()),
        Just("detail-type".to_owned()),
        Just("state".to_owned()),
        Just("value".to_owned()),
        Just("timestamp".to_owned()),
        Just("reasonData".to_owned()),
        Just("configuration".to_owned()),
        Just("metrics".to_owned()),
        Just("metricStat".to_owned()),
        Just("metric".to_owned()),
        Just("expression".to_owned()),
        Just("alarmRule".to_owned()),
        "[a-z]{1,6}",
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every leaf path of a sample, so mutations can hit any field.
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(o) = v {
        for (k, child) in o {
            let mut p = prefix.clone();
            p.push(k.clone());
            out.push(p.clone());
            paths(child, p, out);
        }
    }
}

fn mutate(mut root: Value, path: &[String], replacement: Option<Value>) -> Value {
    let Some((last, parents)) = path.split_last() else {
        return root;
    };
    let mut node = &mut root;
    for k in parents {
        match node.get_mut(k) {
            Some(n) => node = n,
            None => return root,
        }
    }
    if let Some(obj) = node.as_object_mut() {
        match replacement {
            Some(r) => {
                obj.insert(last.clone(), r);
            }
            None => {
                obj.remove(last);
            }
        }
    }
    root
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = AlarmEvent::from_slice(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        if let Ok(ev) = AlarmEvent::from_value(&v) {
            let _ = ev.transition_key();
            let _ = metric_context(&ev, None);
        }
    }

    #[test]
    fn mutated_samples_never_panic(
        which in 0..ALL.len(),
        pick in any::<prop::sample::Index>(),
        replacement in prop::option::of(arb_json()),
    ) {
        let original: Value = serde_json::from_slice(&read(&format!("alarm/{}", ALL[which])))
            .expect("sample is JSON");
        let mut all = Vec::new();
        paths(&original, Vec::new(), &mut all);
        let path = pick.get(&all);
        let mutated = mutate(original.clone(), path, replacement);
        match AlarmEvent::from_value(&mutated) {
            Ok(ev) => {
                let _ = metric_context(&ev, Some(Direction::High));
                let _ = ev.transition_key();
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
