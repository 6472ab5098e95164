//! Decodes an alarm state's `reasonData`, the JSON document CloudWatch embeds as a string.
//! Lenient on purpose: a broken or unexpected reasonData degrades to "absent", never to an error.

use serde::Serialize;
use serde_json::{Map, Value};

use super::event::AlarmState;
use super::timestamp::parse_epoch_ms;

/// What CloudWatch measured when it evaluated the alarm.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReasonData {
    pub version: Option<String>,
    /// When CloudWatch ran the evaluation query (epoch ms).
    pub query_date: Option<i64>,
    /// Start of the evaluated range (epoch ms).
    pub start_date: Option<i64>,
    /// `statistic` or, for percentile alarms, `extendedStatistic`.
    pub stat: Option<String>,
    pub unit: Option<String>,
    pub period: Option<u32>,
    /// Static threshold; absent for anomaly-detection and composite alarms.
    pub threshold: Option<f64>,
    /// The metric id of the `ANOMALY_DETECTION_BAND` expression in band alarms.
    pub threshold_metric_id: Option<String>,
    /// Newest values CloudWatch saw, oldest first as CloudWatch lists them.
    pub recent_datapoints: Vec<f64>,
    /// Band edges that some anomaly alarms report beside `recentDatapoints`.
    pub recent_upper_thresholds: Vec<f64>,
    pub recent_lower_thresholds: Vec<f64>,
    /// The points the alarm rule evaluated, newest first as CloudWatch lists them.
    pub evaluated_datapoints: Vec<Datapoint>,
    /// Composite alarms: the child alarms whose change caused this transition.
    pub triggering_alarms: Vec<TriggeringAlarm>,
}

/// One evaluated point; `value` is absent when the period had no data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datapoint {
    /// Epoch ms of the start of the period.
    pub timestamp: i64,
    pub value: Option<f64>,
    pub sample_count: Option<f64>,
}

/// A child alarm named in a composite alarm's reasonData.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggeringAlarm {
    pub arn: String,
    /// The name after `:alarm:` in the ARN, or the whole ARN if it has no such part.
    pub name: String,
    pub state: Option<AlarmState>,
    pub timestamp: Option<i64>,
}

impl ReasonData {
    /// Values of the evaluated points that had data, falling back to
    /// `recentDatapoints` when the evaluation list is empty or valueless.
    pub fn values(&self) -> Vec<f64> {
        let evaluated: Vec<f64> = self
            .evaluated_datapoints
            .iter()
            .filter_map(|d| d.value)
            .filter(|v| v.is_finite())
            .collect();
        if evaluated.is_empty() {
            self.recent_datapoints
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect()
        } else {
            evaluated
        }
    }

    /// The most recent measured value: the newest evaluated point with data,
    /// else the last of `recentDatapoints`.
    pub fn latest(&self) -> Option<f64> {
        self.evaluated_datapoints
            .iter()
            .filter(|d| d.value.is_some_and(f64::is_finite))
            .max_by_key(|d| d.timestamp)
            .and_then(|d| d.value)
            .or_else(|| {
                self.recent_datapoints
                    .iter()
                    .rev()
                    .copied()
                    .find(|v| v.is_finite())
            })
    }

    /// Latest band edges (lower, upper) when the reasonData carried them.
    pub fn band(&self) -> (Option<f64>, Option<f64>) {
        let last = |v: &[f64]| v.iter().rev().copied().find(|x| x.is_finite());
        (
            last(&self.recent_lower_thresholds),
            last(&self.recent_upper_thresholds),
        )
    }
}

/// Decodes `reasonData` found at `path`. It is normally a JSON string; an
/// already-decoded object (some forwarders do that) is accepted too.
/// Anything unusable is reported in `notes` and yields `None`.
pub(crate) fn decode(raw: &Value, path: &str, notes: &mut Vec<String>) -> Option<ReasonData> {
    let parsed;
    let obj = match raw {
        Value::Null => return None,
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => {
                parsed = o;
                &parsed
            }
            Ok(_) => {
                notes.push(format!("{path} is not a JSON object; treated as absent"));
                return None;
            }
            Err(e) => {
                notes.push(format!("{path} is not valid JSON ({e}); treated as absent"));
                return None;
            }
        },
        Value::Object(o) => o,
        _ => {
            notes.push(format!(
                "{path} is neither a string nor an object; treated as absent"
            ));
            return None;
        }
    };
    Some(from_object(obj, path, notes))
}

fn from_object(o: &Map<String, Value>, path: &str, notes: &mut Vec<String>) -> ReasonData {
    let string = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let date = |k: &str| o.get(k).and_then(Value::as_str).and_then(parse_epoch_ms);
    let numbers = |k: &str| -> Vec<f64> {
        o.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };

    let mut evaluated = Vec::new();
    if let Some(points) = o.get("evaluatedDatapoints").and_then(Value::as_array) {
        for (i, p) in points.iter().enumerate() {
            let ts = p
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(parse_epoch_ms);
            match ts {
                Some(timestamp) => evaluated.push(Datapoint {
                    timestamp,
                    value: p.get("value").and_then(Value::as_f64),
                    sample_count: p.get("sampleCount").and_then(Value::as_f64),
                }),
                None => notes.push(format!(
                    "{path}.evaluatedDatapoints[{i}] has no usable timestamp; skipped"
                )),
            }
        }
    }

    let triggering = o
        .get("triggeringAlarms")
        .and_then(Value::as_array)
        .map(|alarms| {
            alarms
                .iter()
                .filter_map(|a| {
                    let arn = a.get("arn").and_then(Value::as_str)?.to_owned();
                    let state = a.get("state");
                    Some(TriggeringAlarm {
                        name: alarm_name_from_arn(&arn).unwrap_or(&arn).to_owned(),
                        state: state
                            .and_then(|s| s.get("value"))
                            .and_then(Value::as_str)
                            .and_then(AlarmState::parse),
                        timestamp: state
                            .and_then(|s| s.get("timestamp"))
                            .and_then(Value::as_str)
                            .and_then(parse_epoch_ms),
                        arn,
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    ReasonData {
        version: string("version"),
        query_date: date("queryDate"),
        start_date: date("startDate"),
        stat: string("statistic").or_else(|| string("extendedStatistic")),
        unit: string("unit"),
        period: o
            .get("period")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        threshold: o
            .get("threshold")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite()),
        threshold_metric_id: string("thresholdMetricId"),
        recent_datapoints: numbers("recentDatapoints"),
        recent_upper_thresholds: numbers("recentUpperThresholds"),
        recent_lower_thresholds: numbers("recentLowerThresholds"),
        evaluated_datapoints: evaluated,
        triggering_alarms: triggering,
    }
}

/// `arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-asg-cpu-high` → `web-asg-cpu-high`.
pub fn alarm_name_from_arn(arn: &str) -> Option<&str> {
    arn.split_once(":alarm:")
        .map(|(_, name)| name)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_cpu_reason_data_string() {
        let raw = json!(
            "{\"version\":\"1.0\",\"queryDate\":\"2026-11-24T02:00:10.000+0000\",\"startDate\":\"2026-11-24T01:58:00.000+0000\",\"statistic\":\"Average\",\"period\":60,\"recentDatapoints\":[95.5,97.2],\"threshold\":90.0,\"evaluatedDatapoints\":[{\"timestamp\":\"2026-11-24T01:59:00.000+0000\",\"sampleCount\":1.0,\"value\":97.2},{\"timestamp\":\"2026-11-24T01:58:00.000+0000\",\"sampleCount\":1.0,\"value\":95.5}]}"
        );
        let mut notes = Vec::new();
        let rd = decode(&raw, "detail.state.reasonData", &mut notes).expect("decoded");
        assert!(notes.is_empty());
        assert_eq!(rd.threshold, Some(90.0));
        assert_eq!(rd.period, Some(60));
        assert_eq!(rd.stat.as_deref(), Some("Average"));
        assert_eq!(rd.recent_datapoints, vec![95.5, 97.2]);
        assert_eq!(rd.evaluated_datapoints.len(), 2);
        assert_eq!(rd.latest(), Some(97.2));
        assert_eq!(rd.values(), vec![97.2, 95.5]);
    }

    #[test]
    fn broken_json_is_absent_with_a_note() {
        let mut notes = Vec::new();
        assert_eq!(decode(&json!("{\"version\":"), "p", &mut notes), None);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("not valid JSON"), "{notes:?}");
        assert_eq!(decode(&json!(42), "p", &mut notes), None);
        assert_eq!(decode(&json!("[1,2]"), "p", &mut notes), None);
        assert_eq!(notes.len(), 3);
    }

    #[test]
    fn missing_values_and_bad_timestamps_are_tolerated() {
        let mut notes = Vec::new();
        let raw = json!({"recentDatapoints": [], "evaluatedDatapoints": [
            {"timestamp": "2026-11-24T01:59:00.000+0000"},
            {"timestamp": "soon", "value": 3.0}
        ]});
        let rd = decode(&raw, "p", &mut notes).expect("decoded");
        assert_eq!(rd.evaluated_datapoints.len(), 1);
        assert_eq!(rd.evaluated_datapoints[0].value, None);
        assert_eq!(rd.latest(), None);
        assert!(rd.values().is_empty());
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn name_from_arn() {
        assert_eq!(
            alarm_name_from_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a:b"),
            Some("a:b")
        );
        assert_eq!(alarm_name_from_arn("nope"), None);
    }
}
