//! What a deployment of any kind is judged on besides a Lambda alias's own metrics: the
//! CloudWatch alarms tagged `apptrack:service = <service>`. An ECS service, a CloudFormation
//! stack, a CodeDeploy application or a CI's custom marker names no metric of its own, but
//! the alarms its owners already keep on it say what "worse" means: the alarm's metric, its
//! statistic and period, and its comparison operator's direction (a `GreaterThan` alarm gets
//! worse upwards, a `LessThan` one downwards). The threshold is not used: a regression is a
//! change against the hour before, long before the alarm fires.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alarm::MetricRef;
use crate::alarm::incident::SERVICE_TAG;
use crate::forecast::AlarmSpec;
use crate::forecast::target::{Skipped, toward};

use super::stats::Toward;

/// The smallest period a signal is read at: CloudWatch keeps one-minute points at best for
/// standard metrics.
const MIN_PERIOD_S: u32 = 60;

/// One alarm's metric, as a deployment is judged on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub alarm: String,
    pub metric: MetricRef,
    /// The alarm's statistic (`Average`, `Sum`, `p99`, ...).
    pub stat: String,
    pub period_s: u32,
    /// Which way is worse.
    pub worse: Toward,
    /// The alarm carries `apptrack:rollback=auto`: whoever owns it lets apptrack stop a
    /// running CodeDeploy deployment it judges regressed.
    pub auto_rollback: bool,
}

impl Signal {
    /// The alarm as a signal, or why it cannot be one.
    pub fn from_alarm(spec: &AlarmSpec) -> Result<Signal, Skipped> {
        let skip = |why: String| Skipped {
            alarm: spec.name.clone(),
            why,
        };
        let metric = spec.metric.clone().ok_or_else(|| {
            skip("not a single-metric alarm (metric math and anomaly bands are not read)".into())
        })?;
        let op = spec.comparison_operator.as_deref().unwrap_or_default();
        let worse = toward(op)
            .ok_or_else(|| skip(format!("comparison operator {op:?} has no direction")))?;
        Ok(Signal {
            alarm: spec.name.clone(),
            stat: metric.stat.clone().unwrap_or_else(|| "Average".into()),
            period_s: metric.period.unwrap_or(MIN_PERIOD_S).max(MIN_PERIOD_S),
            metric,
            worse,
            auto_rollback: super::watch::auto_rollback(&spec.tags),
        })
    }

    /// What the incident calls it: the alarm and its metric.
    pub fn label(&self) -> String {
        let at: Vec<&str> = self
            .metric
            .dimensions
            .values()
            .map(String::as_str)
            .collect();
        let metric = if at.is_empty() {
            format!("{} {}", self.stat, self.metric.metric_name)
        } else {
            format!(
                "{} {} of {}",
                self.stat,
                self.metric.metric_name,
                at.join("/")
            )
        };
        format!("{metric} (alarm {})", self.alarm)
    }
}

/// The signals of each service among tagged alarms, and the alarms that cannot be one.
pub fn by_service(specs: &[AlarmSpec]) -> (BTreeMap<String, Vec<Signal>>, Vec<Skipped>) {
    let mut signals: BTreeMap<String, Vec<Signal>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for spec in specs {
        let Some(service) = spec.tags.get(SERVICE_TAG).map(|s| s.trim()) else {
            continue;
        };
        if service.is_empty() {
            continue;
        }
        match Signal::from_alarm(spec) {
            Ok(s) => signals.entry(service.to_owned()).or_default().push(s),
            Err(s) => skipped.push(s),
        }
    }
    (signals, skipped)
}

/// Whether any of the signals lets apptrack act (see [`Signal::auto_rollback`]); the tag
/// key is [`super::watch::ROLLBACK_TAG`].
pub fn any_auto(signals: &[Signal]) -> bool {
    signals.iter().any(|s| s.auto_rollback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::watch::ROLLBACK_TAG;

    fn spec(name: &str, op: &str, tags: &[(&str, &str)], math: bool) -> AlarmSpec {
        AlarmSpec {
            name: name.into(),
            arn: format!("arn:aws:cloudwatch:eu-west-1:1:alarm:{name}"),
            metric: (!math).then(|| MetricRef {
                id: None,
                namespace: "AWS/ApplicationELB".into(),
                metric_name: "TargetResponseTime".into(),
                dimensions: BTreeMap::from([(
                    "LoadBalancer".to_owned(),
                    "app/checkout/1".to_owned(),
                )]),
                stat: Some("p99".into()),
                period: Some(30),
                return_data: true,
            }),
            threshold: Some(1.0),
            comparison_operator: Some(op.into()),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn tagged_alarms_become_their_services_signals_with_their_direction() {
        let specs = [
            spec(
                "checkout-p99",
                "GreaterThanThreshold",
                &[("apptrack:service", "checkout"), (ROLLBACK_TAG, "auto")],
                false,
            ),
            spec(
                "checkout-hosts",
                "LessThanThreshold",
                &[("apptrack:service", "checkout")],
                false,
            ),
            spec(
                "checkout-math",
                "GreaterThanThreshold",
                &[("apptrack:service", "checkout")],
                true,
            ),
            spec("untagged", "GreaterThanThreshold", &[], false),
        ];
        let (signals, skipped) = by_service(&specs);
        let checkout = &signals["checkout"];
        assert_eq!(checkout.len(), 2);
        assert_eq!(checkout[0].worse, Toward::Above);
        assert_eq!(checkout[1].worse, Toward::Below);
        assert_eq!(checkout[0].stat, "p99");
        assert_eq!(checkout[0].period_s, 60, "read at one minute at least");
        assert!(any_auto(checkout) && !any_auto(&checkout[1..]));
        assert_eq!(
            checkout[0].label(),
            "p99 TargetResponseTime of app/checkout/1 (alarm checkout-p99)"
        );
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].why.contains("single-metric"), "{skipped:?}");
        assert_eq!(signals.len(), 1, "an untagged alarm is nobody's signal");
    }
}
