//! The alarm-scaler's ports: reading alarm definitions and metrics, reading and setting a
//! group's capacity, and the ledger that lets one alarm transition act exactly once.
//!
//! Adapters: `cloudwatch` (DescribeAlarms, ListTagsForResource, GetMetricData),
//! `autoscaling` (DescribeAutoScalingGroups, SetDesiredCapacity), `ledger` (DynamoDB,
//! `STATE_TABLE`) and `memory` (in-memory fakes for unit tests).

pub mod memory;

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::alarm::{AlarmKind, GroupCapacity, MetricRef};
use crate::clock::Timestamp;
use crate::ledger::LedgerError;
use crate::store::StoreError;

/// Why a scaling port failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum ScalingError {
    #[error("Auto Scaling group {0:?} not found")]
    GroupNotFound(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The service refused the request as invalid; the same request cannot succeed.
    #[error("request rejected: {0}")]
    Rejected(String),
    /// Throttling, timeouts, an unreachable endpoint, a scaling activity in progress.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("scaling ledger: {0}")]
    Ledger(#[from] StoreError),
}

impl From<LedgerError> for ScalingError {
    fn from(e: LedgerError) -> Self {
        match e {
            // The new holder acts; this delivery's retry will find the transition settled.
            LedgerError::TakenOver(key) => ScalingError::Unavailable(format!(
                "the claim on {key} was taken over before the change was made"
            )),
            LedgerError::Store(e) => ScalingError::Ledger(e),
        }
    }
}

impl ScalingError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ScalingError::Unavailable(_) => true,
            ScalingError::Ledger(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// What DescribeAlarms and ListTagsForResource say about an alarm.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AlarmDefinition {
    pub name: String,
    pub arn: String,
    /// CloudWatch's `ComparisonOperator` (absent for composite alarms).
    pub comparison_operator: Option<String>,
    /// Static threshold (absent for anomaly-band and composite alarms).
    pub threshold: Option<f64>,
    pub tags: BTreeMap<String, String>,
    /// Dimensions of the alarm's metric (single-metric alarms).
    pub dimensions: BTreeMap<String, String>,
    pub composite: bool,
}

/// Reads an alarm's definition and tags.
pub trait AlarmReader: Send + Sync {
    /// The alarm named `name`, or `None` when it no longer exists.
    fn describe_alarm(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<AlarmDefinition>, ScalingError>> + Send;
}

/// One entry of a GetMetricData request: a metric, or an expression over other entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MetricQueryEntry {
    Metric {
        id: String,
        metric: MetricRef,
        return_data: bool,
    },
    Expression {
        id: String,
        expression: String,
        return_data: bool,
    },
}

/// What to ask GetMetricData for to see an alarm's values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricQuery {
    pub entries: Vec<MetricQueryEntry>,
    /// Period of the alarm's metric in seconds (for the time window).
    pub period: u32,
}

impl MetricQuery {
    /// The query that reproduces what the alarm evaluates: its metric, or its metric-math
    /// expressions with their inputs. `None` for composite and band alarms (a band's
    /// values are not the metric's) and for metrics without a statistic.
    pub fn for_alarm(kind: &AlarmKind) -> Option<Self> {
        let metric = |i: usize, m: &MetricRef, ret: bool| -> Option<MetricQueryEntry> {
            m.stat.as_ref()?;
            Some(MetricQueryEntry::Metric {
                id: m.id.clone().unwrap_or_else(|| format!("m{i}")),
                metric: m.clone(),
                return_data: ret,
            })
        };
        match kind {
            AlarmKind::SingleMetric(m) => Some(MetricQuery {
                period: m.period.unwrap_or(60),
                // GetMetricData ids must start with a lower-case letter; CloudWatch's
                // generated UUID ids may not, so use a fixed one.
                entries: vec![metric(
                    0,
                    &MetricRef {
                        id: Some("m0".into()),
                        ..m.clone()
                    },
                    true,
                )?],
            }),
            AlarmKind::MetricMath {
                expressions,
                inputs,
            } => {
                let mut entries = Vec::new();
                for (i, x) in expressions.iter().enumerate() {
                    entries.push(MetricQueryEntry::Expression {
                        id: x.id.clone().unwrap_or_else(|| format!("e{i}")),
                        expression: x.expression.clone(),
                        return_data: x.return_data,
                    });
                }
                for (i, m) in inputs.iter().enumerate() {
                    entries.push(metric(i, m, false)?);
                }
                let period = inputs.iter().filter_map(|m| m.period).max().unwrap_or(60);
                Some(MetricQuery { entries, period })
            }
            AlarmKind::AnomalyBand { .. } | AlarmKind::Composite { .. } => None,
        }
    }
}

impl MetricQuery {
    /// The group-wide series of an instance metric: the same namespace, metric and period,
    /// by `AutoScalingGroupName` instead of `InstanceId`, averaged (EC2 publishes it for
    /// groups with group metrics or detailed monitoring; other namespaces may not).
    pub fn group_average(metric: &MetricRef, group: &str) -> Self {
        let period = metric.period.unwrap_or(60);
        MetricQuery {
            period,
            entries: vec![MetricQueryEntry::Metric {
                id: "group".into(),
                metric: MetricRef {
                    id: Some("group".into()),
                    namespace: metric.namespace.clone(),
                    metric_name: metric.metric_name.clone(),
                    dimensions: BTreeMap::from([(
                        "AutoScalingGroupName".to_owned(),
                        group.to_owned(),
                    )]),
                    stat: Some("Average".into()),
                    period: Some(period),
                    return_data: true,
                },
                return_data: true,
            }],
        }
    }
}

/// Reads recent metric values when the event's reasonData does not carry them.
pub trait MetricReader: Send + Sync {
    /// The values of the query's returned series between `start` and `end`, oldest first.
    fn recent_values(
        &self,
        query: &MetricQuery,
        start: Timestamp,
        end: Timestamp,
    ) -> impl Future<Output = Result<Vec<f64>, ScalingError>> + Send;
}

/// One datapoint of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at: Timestamp,
    pub value: f64,
}

/// One series to read: a metric at a statistic and period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesRequest {
    /// Unique within one read; names the result.
    pub id: String,
    pub metric: MetricRef,
    pub stat: String,
    pub period_s: u32,
}

/// Reads metric history, many series at once.
pub trait MetricHistory: Send + Sync {
    /// The points of each requested series between `start` and `end`, oldest first, keyed
    /// by request id (a series with no data has an empty or no entry).
    fn read(
        &self,
        requests: &[SeriesRequest],
        start: Timestamp,
        end: Timestamp,
    ) -> impl Future<Output = Result<BTreeMap<String, Vec<Point>>, ScalingError>> + Send;

    /// How many service calls the reads so far have made (for the run's report).
    fn calls(&self) -> u64;
}

/// Reads and sets an Auto Scaling group's capacity.
pub trait CapacityController: Send + Sync {
    /// The group's size range, desired capacity and instances (pending ones counted apart).
    fn capacity(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<GroupCapacity, ScalingError>> + Send;

    fn set_desired_capacity(
        &self,
        group: &str,
        desired: i32,
    ) -> impl Future<Output = Result<(), ScalingError>> + Send;
}

/// Where an instance stands in Auto Scaling (DescribeAutoScalingInstances).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceMembership {
    pub instance_id: String,
    pub group: String,
    /// `InService`, `Pending`, `Terminating`, ... as Auto Scaling spells it.
    pub lifecycle_state: String,
    /// Auto Scaling's health status is `Healthy`.
    pub healthy: bool,
}

impl InstanceMembership {
    /// In service and healthy: an instance whose replacement would cost the group capacity.
    pub fn serving(&self) -> bool {
        self.lifecycle_state == "InService" && self.healthy
    }
}

/// Finds the group an instance belongs to, and a group's tags.
pub trait InstanceDirectory: Send + Sync {
    /// The instance's group, or `None` when no Auto Scaling group has it.
    fn locate(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = Result<Option<InstanceMembership>, ScalingError>> + Send;

    fn group_tags(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ScalingError>> + Send;
}

/// Tells Auto Scaling an instance is unhealthy, so that the group replaces it
/// (SetInstanceHealth). Marking an instance that is already unhealthy changes nothing.
pub trait InstanceHealth: Send + Sync {
    fn mark_unhealthy(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = Result<(), ScalingError>> + Send;
}

// One adapter may serve several ports (Auto Scaling is the directory, the capacity and the
// health): shared behind an `Arc`, it is the same state whichever port is asked.
impl<T: CapacityController> CapacityController for std::sync::Arc<T> {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        (**self).capacity(group).await
    }

    async fn set_desired_capacity(&self, group: &str, desired: i32) -> Result<(), ScalingError> {
        (**self).set_desired_capacity(group, desired).await
    }
}

impl<T: InstanceDirectory> InstanceDirectory for std::sync::Arc<T> {
    async fn locate(&self, instance_id: &str) -> Result<Option<InstanceMembership>, ScalingError> {
        (**self).locate(instance_id).await
    }

    async fn group_tags(&self, group: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        (**self).group_tags(group).await
    }
}

impl<T: InstanceHealth> InstanceHealth for std::sync::Arc<T> {
    async fn mark_unhealthy(&self, instance_id: &str) -> Result<(), ScalingError> {
        (**self).mark_unhealthy(instance_id).await
    }
}

/// The capacity change a claim holder is about to make, written to the ledger before it
/// calls SetDesiredCapacity so that whoever takes the claim over can tell whether the
/// change already happened, and record it as its maker would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub from: i32,
    pub to: i32,
    /// How the change is recorded: the incident's timeline entry and the claim's outcome.
    pub detail: String,
}

/// Each group's last scale-out by apptrack (for the scale-in stabilization window), in
/// `STATE_TABLE`. The exactly-once claims per transition are the generic [`crate::ledger`].
pub trait ScaleOutLog: Send + Sync {
    /// When apptrack last scaled `group` out.
    fn last_scale_out(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Option<Timestamp>, ScalingError>> + Send;

    /// Records a scale-out of `group` at `at` (a later time never moves back).
    fn record_scale_out(
        &self,
        group: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), ScalingError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::AlarmEvent;

    fn event(name: &str) -> AlarmEvent {
        let path = format!("{}/../../events/alarm/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("sample event");
        AlarmEvent::from_slice(&bytes).expect("decodes")
    }

    #[test]
    fn queries_reproduce_what_the_alarm_evaluates() {
        let q = MetricQuery::for_alarm(&event("cpu-high-alarm.json").kind).expect("a query");
        assert_eq!(q.period, 60);
        assert!(
            matches!(&q.entries[..], [MetricQueryEntry::Metric { id, return_data: true, .. }] if id == "m0")
        );

        let q = MetricQuery::for_alarm(&event("metric-math-alarm.json").kind).expect("a query");
        let returned: Vec<_> = q
            .entries
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    MetricQueryEntry::Expression {
                        return_data: true,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(returned.len(), 1);
        assert_eq!(q.entries.len(), 3);

        assert_eq!(
            MetricQuery::for_alarm(&event("composite-alarm.json").kind),
            None
        );
        assert_eq!(
            MetricQuery::for_alarm(&event("anomaly-band-alarm.json").kind),
            None
        );
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(ScalingError::from(LedgerError::TakenOver("t".into())).is_retryable());
        assert!(ScalingError::Unavailable("throttled".into()).is_retryable());
        assert!(!ScalingError::GroupNotFound("g".into()).is_retryable());
        assert!(!ScalingError::AccessDenied("no".into()).is_retryable());
        assert!(ScalingError::Ledger(StoreError::Unavailable("x".into())).is_retryable());
    }
}
