//! Which alarms are forecast, and how: an alarm tagged `apptrack:forecast=true` names the
//! metric, its dimensions and the limit (its threshold) itself; no other configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{AlarmSpec, Toward};
use crate::alarm::incident::{service, target_tag};
use crate::alarm::{GROUP_TAG, MetricRef};

/// The tag that asks for a forecast, and its value.
pub const FORECAST_TAG: &str = "apptrack:forecast";
pub const FORECAST_TAG_VALUE: &str = "true";
/// Optional tag overriding the warning horizon for one alarm (`12h`, `90m`, `2d`).
pub const HORIZON_TAG: &str = "apptrack:forecast-horizon";

const GROUP_DIMENSION: &str = "AutoScalingGroupName";

/// An alarm to forecast, with what the forecast and the preventive action need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastTarget {
    pub alarm: String,
    pub metric: MetricRef,
    /// The alarm's threshold: the level the metric must not reach.
    pub limit: f64,
    pub toward: Toward,
    /// The alarm's own warning horizon (`apptrack:forecast-horizon`), else the setting's.
    pub horizon: Option<Duration>,
    /// The Auto Scaling group the alarm watches (its dimension or `apptrack:asg`).
    pub group: Option<String>,
    pub service: String,
    /// The alarm's `apptrack:target` (the value the group should run at).
    pub scaling_target: Option<f64>,
}

/// An alarm that is tagged but cannot be forecast, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub alarm: String,
    pub why: String,
}

impl ForecastTarget {
    /// The alarm as a forecast target, or why it cannot be one.
    pub fn from_alarm(spec: &AlarmSpec) -> Result<Self, Skipped> {
        let skip = |why: String| Skipped {
            alarm: spec.name.clone(),
            why,
        };
        let metric = spec.metric.clone().ok_or_else(|| {
            skip(
                "not a single-metric alarm (metric math and anomaly bands have no fixed limit)"
                    .into(),
            )
        })?;
        let limit = spec
            .threshold
            .filter(|t| t.is_finite())
            .ok_or_else(|| skip("the alarm has no static threshold".into()))?;
        let op = spec.comparison_operator.as_deref().unwrap_or_default();
        let toward = toward(op).ok_or_else(|| {
            skip(format!(
                "comparison operator {op:?} has no direction to forecast"
            ))
        })?;
        let horizon = match spec.tags.get(HORIZON_TAG) {
            None => None,
            Some(v) => {
                Some(parse_horizon(v).map_err(|why| skip(format!("tag {HORIZON_TAG}: {why}")))?)
            }
        };
        let scaling_target = target_tag(&spec.tags).map_err(skip)?;
        let group = metric
            .dimensions
            .get(GROUP_DIMENSION)
            .or_else(|| spec.tags.get(GROUP_TAG))
            .cloned();
        Ok(ForecastTarget {
            alarm: spec.name.clone(),
            service: service(&spec.tags, &spec.name).to_owned(),
            metric,
            limit,
            toward,
            horizon,
            group,
            scaling_target,
        })
    }

    /// What the incident is about: the metric and where it is measured.
    pub fn describe(&self) -> String {
        let at: Vec<&str> = self
            .metric
            .dimensions
            .values()
            .map(String::as_str)
            .collect();
        if at.is_empty() {
            self.metric.metric_name.clone()
        } else {
            format!("{} of {}", self.metric.metric_name, at.join("/"))
        }
    }
}

/// Splits tagged alarms into targets and the ones that cannot be forecast.
pub fn targets(specs: &[AlarmSpec]) -> (Vec<ForecastTarget>, Vec<Skipped>) {
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for spec in specs {
        match ForecastTarget::from_alarm(spec) {
            Ok(t) => ok.push(t),
            Err(s) => skipped.push(s),
        }
    }
    (ok, skipped)
}

/// The direction an alarm's comparison operator watches; `None` for anomaly bands.
pub fn toward(op: &str) -> Option<Toward> {
    match op {
        "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" => Some(Toward::Above),
        "LessThanThreshold" | "LessThanOrEqualToThreshold" => Some(Toward::Below),
        _ => None,
    }
}

/// `90m`, `12h`, `2d` (or anything humantime reads), from 15 minutes to 30 days.
pub fn parse_horizon(v: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(v.trim())
        .map_err(|e| format!("{v:?} is not a duration ({e})"))?;
    if d < Duration::from_secs(15 * 60) || d > Duration::from_secs(30 * 86_400) {
        return Err(format!("{v:?} is outside 15 minutes to 30 days"));
    }
    Ok(d)
}

/// The tags a forecast target's alarm carries, for tests and samples.
pub fn forecast_tags(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([(FORECAST_TAG.to_owned(), FORECAST_TAG_VALUE.to_owned())]);
    tags.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::incident::TARGET_TAG;

    fn spec(op: &str, threshold: Option<f64>, tags: &[(&str, &str)]) -> AlarmSpec {
        AlarmSpec {
            name: "disk-db-1".into(),
            arn: "arn:aws:cloudwatch:eu-west-1:1:alarm:disk-db-1".into(),
            metric: Some(MetricRef {
                id: None,
                namespace: "CWAgent".into(),
                metric_name: "disk_used_percent".into(),
                dimensions: BTreeMap::from([("host".into(), "db-1".into())]),
                stat: Some("Maximum".into()),
                period: Some(300),
                return_data: true,
            }),
            threshold,
            comparison_operator: Some(op.into()),
            tags: forecast_tags(tags),
        }
    }

    #[test]
    fn an_alarm_names_its_limit_and_direction() {
        let t = ForecastTarget::from_alarm(&spec("GreaterThanThreshold", Some(90.0), &[]))
            .expect("a target");
        assert_eq!((t.limit, t.toward, t.horizon), (90.0, Toward::Above, None));
        assert_eq!(t.describe(), "disk_used_percent of db-1");
        assert_eq!(t.service, "disk-db-1");
        let t = ForecastTarget::from_alarm(&spec(
            "LessThanOrEqualToThreshold",
            Some(5.0),
            &[
                (HORIZON_TAG, "6h"),
                (GROUP_TAG, "db-asg"),
                (TARGET_TAG, "60"),
                ("apptrack:service", "db"),
            ],
        ))
        .expect("a target");
        assert_eq!(t.toward, Toward::Below);
        assert_eq!(t.horizon, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(t.group.as_deref(), Some("db-asg"));
        assert_eq!(t.scaling_target, Some(60.0));
        assert_eq!(t.service, "db");
    }

    #[test]
    fn what_cannot_be_forecast_says_why() {
        let why = |s: AlarmSpec| ForecastTarget::from_alarm(&s).unwrap_err().why;
        assert!(why(spec("GreaterThanThreshold", None, &[])).contains("static threshold"));
        assert!(
            why(spec(
                "LessThanLowerOrGreaterThanUpperThreshold",
                Some(1.0),
                &[]
            ))
            .contains("no direction")
        );
        assert!(
            why(spec(
                "GreaterThanThreshold",
                Some(1.0),
                &[(HORIZON_TAG, "soon")]
            ))
            .contains(HORIZON_TAG)
        );
        assert!(
            why(spec(
                "GreaterThanThreshold",
                Some(1.0),
                &[(HORIZON_TAG, "1m")]
            ))
            .contains("outside")
        );
        assert!(
            why(spec(
                "GreaterThanThreshold",
                Some(1.0),
                &[(TARGET_TAG, "x")]
            ))
            .contains(TARGET_TAG)
        );
        let mut math = spec("GreaterThanThreshold", Some(1.0), &[]);
        math.metric = None;
        assert!(why(math).contains("single-metric"));
        let (ok, skipped) = targets(&[
            spec("GreaterThanThreshold", Some(90.0), &[]),
            spec("GreaterThanThreshold", None, &[]),
        ]);
        assert_eq!((ok.len(), skipped.len()), (1, 1));
    }
}
