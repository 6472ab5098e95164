//! Decodes CloudWatch alarm state changes (EventBridge events and alarm-action payloads)
//! into one normalized `AlarmEvent`, naming the missing or wrong field when it cannot.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use super::reason::{self, ReasonData, TriggeringAlarm, alarm_name_from_arn};
use super::timestamp::parse_epoch_ms;

const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
const TARGET_TRACKING_PREFIX: &str = "TargetTracking-";
const GROUP_DIMENSION: &str = "AutoScalingGroupName";
/// Alarm tag naming the group when the alarm's metric has no group dimension.
pub const GROUP_TAG: &str = "apptrack:asg";

/// Why an event could not be read as an alarm state change. Never retryable:
/// the same bytes will fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlarmEventError {
    #[error("event is not valid JSON: {0}")]
    NotJson(String),
    #[error("event is not a JSON object")]
    NotAnObject,
    #[error("not a CloudWatch alarm event: detail-type {0:?}")]
    WrongDetailType(String),
    #[error("not a CloudWatch alarm event: neither `detail` nor `alarmData` is present")]
    UnrecognizedShape,
    #[error("missing field {0}")]
    MissingField(String),
    #[error("field {field} is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("unknown state value {value:?} at {field}")]
    UnknownState { field: String, value: String },
    #[error("field {field} is not a timestamp: {value:?}")]
    BadTimestamp { field: String, value: String },
}

/// The three states a CloudWatch alarm can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl AlarmState {
    /// Parses CloudWatch's spelling (`ALARM`, `OK`, `INSUFFICIENT_DATA`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ALARM" => Some(Self::Alarm),
            "OK" => Some(Self::Ok),
            "INSUFFICIENT_DATA" => Some(Self::InsufficientData),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the two delivery paths brought the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventOrigin {
    /// An EventBridge rule on `CloudWatch Alarm State Change`.
    EventBridge,
    /// The alarm invoked the function directly as its action.
    AlarmAction,
}

/// A metric as the alarm configuration names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRef {
    pub id: Option<String>,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub stat: Option<String>,
    pub period: Option<u32>,
    pub return_data: bool,
}

/// One metric-math expression of the alarm configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MathExpression {
    pub id: Option<String>,
    pub expression: String,
    pub label: Option<String>,
    pub return_data: bool,
}

/// What the alarm watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AlarmKind {
    /// A static threshold on one metric.
    SingleMetric(MetricRef),
    /// A static threshold on a metric-math expression over `inputs`.
    MetricMath {
        expressions: Vec<MathExpression>,
        inputs: Vec<MetricRef>,
    },
    /// A band from `ANOMALY_DETECTION_BAND(metric, std_devs)`; there is no static threshold.
    AnomalyBand {
        metric: Option<MetricRef>,
        band: MathExpression,
        std_devs: Option<f64>,
    },
    /// A rule over other alarms.
    Composite {
        rule: String,
        triggering: Vec<TriggeringAlarm>,
    },
}

/// A normalized alarm state change, whichever way it was delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmEvent {
    pub alarm_name: String,
    pub alarm_arn: String,
    pub account: String,
    pub region: String,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: String,
    /// `state.timestamp` in epoch ms: when the alarm entered `state`.
    pub transition_time: i64,
    pub description: Option<String>,
    pub kind: AlarmKind,
    pub reason_data: Option<ReasonData>,
    /// EventBridge's event id; alarm-action payloads have none.
    pub event_id: Option<String>,
    pub origin: EventOrigin,
    /// Alarm tags, present only when the alarm propagates tags into its events.
    pub tags: BTreeMap<String, String>,
    /// What lenient decoding skipped or replaced (e.g. a reasonData that is not JSON).
    pub notes: Vec<String>,
}

impl AlarmEvent {
    /// Decodes raw invocation bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AlarmEventError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| AlarmEventError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Decodes an already-parsed event (e.g. `LambdaEvent<serde_json::Value>`).
    pub fn from_value(value: &Value) -> Result<Self, AlarmEventError> {
        let top = value.as_object().ok_or(AlarmEventError::NotAnObject)?;
        let mut notes = Vec::new();

        let detail_type = top.get("detail-type");
        let (origin, payload_key) = match detail_type {
            Some(dt) => {
                let dt = dt.as_str().ok_or_else(|| AlarmEventError::WrongType {
                    field: "detail-type".into(),
                    expected: "a string",
                })?;
                if dt != DETAIL_TYPE {
                    return Err(AlarmEventError::WrongDetailType(dt.to_owned()));
                }
                // Some published samples put the payload under `alarmData` even
                // in the EventBridge envelope; accept either.
                let key = if top.contains_key("alarmData") && !top.contains_key("detail") {
                    "alarmData"
                } else {
                    "detail"
                };
                (EventOrigin::EventBridge, key)
            }
            None if top.contains_key("alarmData") => (EventOrigin::AlarmAction, "alarmData"),
            None if top.contains_key("detail") => {
                return Err(AlarmEventError::MissingField("detail-type".into()));
            }
            None => return Err(AlarmEventError::UnrecognizedShape),
        };
        let payload = object(top, payload_key, "")?;
        let p = payload_key; // path prefix for error messages

        let arn_field = match origin {
            EventOrigin::EventBridge => top
                .get("resources")
                .and_then(Value::as_array)
                .and_then(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .find(|a| a.contains(":alarm:"))
                })
                .or_else(|| top.get("alarmArn").and_then(Value::as_str)),
            EventOrigin::AlarmAction => top.get("alarmArn").and_then(Value::as_str),
        }
        .map(str::to_owned);

        let alarm_name = match payload.get("alarmName").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => arn_field
                .as_deref()
                .and_then(alarm_name_from_arn)
                .map(str::to_owned)
                .ok_or_else(|| AlarmEventError::MissingField(format!("{p}.alarmName")))?,
        };
        let arn_parts: Vec<&str> = arn_field.as_deref().unwrap_or("").split(':').collect();
        let from_arn = |i: usize| {
            arn_parts
                .get(i)
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned())
        };
        let account_key = match origin {
            EventOrigin::EventBridge => "account",
            EventOrigin::AlarmAction => "accountId",
        };
        let account = top
            .get(account_key)
            .or_else(|| top.get("account"))
            .or_else(|| top.get("accountId"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| from_arn(4))
            .ok_or_else(|| AlarmEventError::MissingField(account_key.into()))?;
        let region = top
            .get("region")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| from_arn(3))
            .ok_or_else(|| AlarmEventError::MissingField("region".into()))?;
        let alarm_arn = arn_field.unwrap_or_else(|| {
            notes.push("alarm ARN absent; built from region, account and name".into());
            format!(
                "arn:{}:cloudwatch:{region}:{account}:alarm:{alarm_name}",
                partition(&region)
            )
        });

        let state_path = format!("{p}.state");
        let state_obj = object(payload, "state", p)?;
        let state = state_value(state_obj, &state_path)?;
        let ts_path = format!("{state_path}.timestamp");
        let transition_time = match state_obj.get("timestamp") {
            None | Some(Value::Null) => return Err(AlarmEventError::MissingField(ts_path)),
            Some(Value::String(s)) => {
                parse_epoch_ms(s).ok_or_else(|| AlarmEventError::BadTimestamp {
                    field: ts_path,
                    value: s.clone(),
                })?
            }
            Some(_) => {
                return Err(AlarmEventError::WrongType {
                    field: ts_path,
                    expected: "a string",
                });
            }
        };
        let reason = state_obj
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let reason_data = state_obj
            .get("reasonData")
            .and_then(|r| reason::decode(r, &format!("{state_path}.reasonData"), &mut notes));

        let previous_state = match payload.get("previousState") {
            None | Some(Value::Null) => None,
            Some(prev) => {
                let path = format!("{p}.previousState.value");
                match prev.get("value").and_then(Value::as_str) {
                    Some(v) => {
                        let parsed = AlarmState::parse(v);
                        if parsed.is_none() {
                            // Only the current state drives decisions; an odd
                            // previous state is worth a note, not a rejection.
                            notes.push(format!("unknown state value {v:?} at {path}; ignored"));
                        }
                        parsed
                    }
                    None => {
                        notes.push(format!("{path} absent; previous state unknown"));
                        None
                    }
                }
            }
        };

        let config_path = format!("{p}.configuration");
        let config = object(payload, "configuration", p)?;
        let description = config
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind = decode_kind(config, &config_path, reason_data.as_ref())?;

        let tags = payload
            .get("alarmTags")
            .and_then(Value::as_object)
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();

        Ok(Self {
            alarm_name,
            alarm_arn,
            account,
            region,
            state,
            previous_state,
            reason,
            transition_time,
            description,
            kind,
            reason_data,
            event_id: top.get("id").and_then(Value::as_str).map(str::to_owned),
            origin,
            tags,
            notes,
        })
    }

    /// Identifies this alarm *transition*, the same for every delivery of it
    /// (EventBridge retries, the alarm-action payload, duplicates), so the
    /// idempotency ledger can let exactly one of them act.
    pub fn transition_key(&self) -> String {
        format!(
            "{}#{}#{}",
            self.alarm_arn,
            self.state.as_str(),
            self.transition_time
        )
    }

    /// The `AutoScalingGroupName` dimension of the watched metric (for metric
    /// math: of the first input that has one).
    pub fn group_from_dimensions(&self) -> Option<&str> {
        fn of(m: &MetricRef) -> Option<&str> {
            m.dimensions.get(GROUP_DIMENSION).map(String::as_str)
        }
        match &self.kind {
            AlarmKind::SingleMetric(m) => of(m),
            AlarmKind::AnomalyBand { metric, .. } => metric.as_ref().and_then(of),
            AlarmKind::MetricMath { inputs, .. } => inputs.iter().find_map(of),
            AlarmKind::Composite { .. } => None,
        }
    }

    /// The group from the dimension, else from an `apptrack:asg` tag carried in
    /// the event. The handler still checks the tags DescribeAlarms returns.
    pub fn group_name(&self) -> Option<&str> {
        self.group_from_dimensions()
            .or_else(|| self.tags.get(GROUP_TAG).map(String::as_str))
    }

    /// Alarms that Auto Scaling target tracking creates and manages itself.
    pub fn is_target_tracking(&self) -> bool {
        self.alarm_name.starts_with(TARGET_TRACKING_PREFIX)
    }

    /// The metric the alarm's threshold applies to, when there is exactly one
    /// named metric to point at (not for composite alarms).
    pub fn primary_metric(&self) -> Option<&MetricRef> {
        match &self.kind {
            AlarmKind::SingleMetric(m) => Some(m),
            AlarmKind::AnomalyBand { metric, .. } => metric.as_ref(),
            AlarmKind::MetricMath { inputs, .. } if inputs.len() == 1 => inputs.first(),
            AlarmKind::MetricMath { .. } | AlarmKind::Composite { .. } => None,
        }
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn object<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    prefix: &str,
) -> Result<&'a Map<String, Value>, AlarmEventError> {
    match parent.get(key) {
        None | Some(Value::Null) => Err(AlarmEventError::MissingField(join(prefix, key))),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(AlarmEventError::WrongType {
            field: join(prefix, key),
            expected: "an object",
        }),
    }
}

fn state_value(state: &Map<String, Value>, path: &str) -> Result<AlarmState, AlarmEventError> {
    let field = join(path, "value");
    match state.get("value") {
        None | Some(Value::Null) => Err(AlarmEventError::MissingField(field)),
        Some(Value::String(s)) => {
            AlarmState::parse(s).ok_or_else(|| AlarmEventError::UnknownState {
                field,
                value: s.clone(),
            })
        }
        Some(_) => Err(AlarmEventError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn decode_kind(
    config: &Map<String, Value>,
    path: &str,
    reason_data: Option<&ReasonData>,
) -> Result<AlarmKind, AlarmEventError> {
    if let Some(rule) = config.get("alarmRule").and_then(Value::as_str) {
        return Ok(AlarmKind::Composite {
            rule: rule.to_owned(),
            triggering: reason_data
                .map(|r| r.triggering_alarms.clone())
                .unwrap_or_default(),
        });
    }
    let metrics_path = join(path, "metrics");
    let entries = match config.get("metrics") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(AlarmEventError::MissingField(format!(
                "{metrics_path} (or {path}.alarmRule)"
            )));
        }
        Some(_) => {
            return Err(AlarmEventError::WrongType {
                field: metrics_path,
                expected: "an array",
            });
        }
    };

    let mut inputs = Vec::new();
    let mut expressions = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{metrics_path}[{i}]");
        let e = entry
            .as_object()
            .ok_or_else(|| AlarmEventError::WrongType {
                field: at.clone(),
                expected: "an object",
            })?;
        let id = e.get("id").and_then(Value::as_str).map(str::to_owned);
        // CloudWatch omits returnData on single-metric alarms; absent means "this is the result".
        let return_data = e.get("returnData").and_then(Value::as_bool).unwrap_or(true);
        if let Some(stat) = e.get("metricStat") {
            inputs.push(metric_ref(
                stat,
                &format!("{at}.metricStat"),
                id,
                return_data,
            )?);
        } else if let Some(expr) = e.get("expression").and_then(Value::as_str) {
            expressions.push(MathExpression {
                id,
                expression: expr.to_owned(),
                label: e.get("label").and_then(Value::as_str).map(str::to_owned),
                return_data,
            });
        } else {
            return Err(AlarmEventError::MissingField(format!(
                "{at}.metricStat (or {at}.expression)"
            )));
        }
    }

    let threshold_id = reason_data.and_then(|r| r.threshold_metric_id.as_deref());
    let band_at = expressions.iter().position(|x| {
        x.expression
            .to_ascii_uppercase()
            .contains("ANOMALY_DETECTION_BAND")
            || (threshold_id.is_some() && x.id.as_deref() == threshold_id)
    });
    if let Some(at) = band_at {
        let band = expressions.swap_remove(at);
        let std_devs = band_std_devs(&band.expression);
        let metric = pick(inputs);
        return Ok(AlarmKind::AnomalyBand {
            metric,
            band,
            std_devs,
        });
    }
    if !expressions.is_empty() {
        return Ok(AlarmKind::MetricMath {
            expressions,
            inputs,
        });
    }
    // Non-empty entries with no expressions means at least one metricStat.
    pick(inputs)
        .map(AlarmKind::SingleMetric)
        .ok_or(AlarmEventError::MissingField(metrics_path))
}

/// The input whose data the alarm returns, else the first.
fn pick(mut inputs: Vec<MetricRef>) -> Option<MetricRef> {
    let at = inputs.iter().position(|m| m.return_data).unwrap_or(0);
    (at < inputs.len()).then(|| inputs.swap_remove(at))
}

fn metric_ref(
    stat: &Value,
    at: &str,
    id: Option<String>,
    return_data: bool,
) -> Result<MetricRef, AlarmEventError> {
    let stat = stat.as_object().ok_or_else(|| AlarmEventError::WrongType {
        field: at.to_owned(),
        expected: "an object",
    })?;
    let metric = object(stat, "metric", at)?;
    let metric_at = join(at, "metric");
    let text = |k: &str| -> Result<String, AlarmEventError> {
        metric
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| AlarmEventError::MissingField(join(&metric_at, k)))
    };
    Ok(MetricRef {
        id,
        namespace: text("namespace")?,
        metric_name: text("name")?,
        dimensions: dimensions(metric.get("dimensions")),
        stat: stat.get("stat").and_then(Value::as_str).map(str::to_owned),
        period: stat
            .get("period")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        return_data,
    })
}

/// Dimensions arrive as a map in alarm events, and as `[{name, value}]` in
/// API-shaped copies; both are accepted.
fn dimensions(raw: Option<&Value>) -> BTreeMap<String, String> {
    match raw {
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|d| {
                let name = d.get("name").or_else(|| d.get("Name"))?.as_str()?;
                let value = d.get("value").or_else(|| d.get("Value"))?.as_str()?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// `ANOMALY_DETECTION_BAND(m1, 2)` → `Some(2.0)`; CloudWatch's default width
/// is 2 but we report only what the expression says.
fn band_std_devs(expression: &str) -> Option<f64> {
    let start = expression.find('(')?;
    let end = expression.rfind(')')?;
    let args = expression.get(start + 1..end)?;
    args.split(',').nth(1)?.trim().parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "version": "0", "id": "e1", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "123456789012", "time": "2026-11-24T02:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"],
            "detail": {
                "alarmName": "a",
                "state": {"value": "ALARM", "reason": "r", "timestamp": "2026-11-24T02:00:00.000+0000"},
                "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {
                    "namespace": "AWS/EC2", "name": "CPUUtilization",
                    "dimensions": {"AutoScalingGroupName": "web-asg"}}, "period": 60, "stat": "Average"}}]}
            }
        })
    }

    fn err(v: &Value) -> String {
        match AlarmEvent::from_value(v) {
            Err(e) => e.to_string(),
            Ok(ev) => panic!("expected an error, got {ev:?}"),
        }
    }

    #[test]
    fn minimal_event_decodes() {
        let ev = AlarmEvent::from_value(&minimal()).expect("decodes");
        assert_eq!(ev.group_from_dimensions(), Some("web-asg"));
        assert_eq!(ev.reason_data, None);
        assert_eq!(ev.previous_state, None);
        assert_eq!(
            ev.transition_key(),
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a#ALARM#1795485600000"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = minimal();
        v["detail"]["state"]
            .as_object_mut()
            .expect("object")
            .remove("value");
        assert_eq!(err(&v), "missing field detail.state.value");

        let mut v = minimal();
        v["detail"]["state"]["value"] = json!("FOO");
        assert_eq!(err(&v), "unknown state value \"FOO\" at detail.state.value");

        let mut v = minimal();
        v["detail-type"] = json!("EC2 Instance State-change Notification");
        assert_eq!(
            err(&v),
            "not a CloudWatch alarm event: detail-type \"EC2 Instance State-change Notification\""
        );

        let mut v = minimal();
        v["detail"]["state"]["timestamp"] = json!("later");
        assert_eq!(
            err(&v),
            "field detail.state.timestamp is not a timestamp: \"later\""
        );

        let mut v = minimal();
        v["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
            .as_object_mut()
            .expect("object")
            .remove("name");
        assert_eq!(
            err(&v),
            "missing field detail.configuration.metrics[0].metricStat.metric.name"
        );

        let mut v = minimal();
        v["detail"]
            .as_object_mut()
            .expect("object")
            .remove("configuration");
        assert_eq!(err(&v), "missing field detail.configuration");

        let mut v = minimal();
        v.as_object_mut().expect("object").remove("detail");
        assert_eq!(err(&v), "missing field detail");

        assert_eq!(err(&json!([1])), "event is not a JSON object");
        assert_eq!(
            err(&json!({"foo": 1})),
            "not a CloudWatch alarm event: neither `detail` nor `alarmData` is present"
        );
    }

    #[test]
    fn fills_arn_and_account_leniently() {
        let mut v = minimal();
        let top = v.as_object_mut().expect("object");
        top.remove("resources");
        top.remove("account");
        let ev = AlarmEvent::from_value(&v);
        assert_eq!(ev, Err(AlarmEventError::MissingField("account".into())));

        let mut v = minimal();
        v.as_object_mut().expect("object").remove("resources");
        v["region"] = json!("cn-north-1");
        let ev = AlarmEvent::from_value(&v).expect("decodes");
        assert_eq!(
            ev.alarm_arn,
            "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a"
        );
        assert_eq!(ev.notes.len(), 1);
    }

    #[test]
    fn dimensions_as_list_and_tags() {
        let mut v = minimal();
        v["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
            json!([{"name": "LoadBalancer", "value": "app/web/1"}]);
        v["detail"]["alarmTags"] = json!({"apptrack:asg": "api-asg", "n": 1});
        let ev = AlarmEvent::from_value(&v).expect("decodes");
        assert_eq!(ev.group_from_dimensions(), None);
        assert_eq!(ev.group_name(), Some("api-asg"));
        assert_eq!(ev.tags.len(), 1);
    }

    #[test]
    fn band_width_is_read_from_the_expression() {
        assert_eq!(band_std_devs("ANOMALY_DETECTION_BAND(m1, 2)"), Some(2.0));
        assert_eq!(band_std_devs("ANOMALY_DETECTION_BAND(m1)"), None);
        assert_eq!(band_std_devs(")("), None);
    }
}
