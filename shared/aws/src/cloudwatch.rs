//! CloudWatch adapter: an alarm's definition and tags (DescribeAlarms, ListTagsForResource)
//! and its recent values (GetMetricData), translated out of SDK types at this edge.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, Metric, MetricDataQuery, MetricStat};

use apptrack_core::clock::Timestamp;
use apptrack_core::scaling::{
    AlarmDefinition, AlarmReader, MetricQuery, MetricQueryEntry, MetricReader, ScalingError,
};

use crate::sdk::scaling_error as sdk_error;

/// CloudWatch alarms and metrics. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    pub fn new(client: Client) -> Self {
        CloudWatchAlarms { client }
    }
}

impl AlarmReader for CloudWatchAlarms {
    async fn describe_alarm(&self, name: &str) -> Result<Option<AlarmDefinition>, ScalingError> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(name)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut def = if let Some(m) = out
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
        {
            AlarmDefinition {
                name: name.to_owned(),
                arn: m.alarm_arn().unwrap_or_default().to_owned(),
                comparison_operator: m.comparison_operator().map(|c| c.as_str().to_owned()),
                threshold: m.threshold(),
                tags: BTreeMap::new(),
                dimensions: m
                    .dimensions()
                    .iter()
                    .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
                    .collect(),
                composite: false,
            }
        } else if let Some(c) = out
            .composite_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
        {
            AlarmDefinition {
                name: name.to_owned(),
                arn: c.alarm_arn().unwrap_or_default().to_owned(),
                composite: true,
                ..AlarmDefinition::default()
            }
        } else {
            return Ok(None);
        };
        if !def.arn.is_empty() {
            let tags = self
                .client
                .list_tags_for_resource()
                .resource_arn(&def.arn)
                .send()
                .await
                .map_err(sdk_error)?;
            def.tags = tags
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect();
        }
        Ok(Some(def))
    }
}

fn query_entry(e: &MetricQueryEntry, period: u32) -> MetricDataQuery {
    match e {
        MetricQueryEntry::Metric {
            id,
            metric,
            return_data,
        } => {
            let mut m = Metric::builder()
                .namespace(&metric.namespace)
                .metric_name(&metric.metric_name);
            for (k, v) in &metric.dimensions {
                m = m.dimensions(Dimension::builder().name(k).value(v).build());
            }
            let stat = MetricStat::builder()
                .metric(m.build())
                .period(i32::try_from(metric.period.unwrap_or(period)).unwrap_or(60))
                .stat(metric.stat.clone().unwrap_or_else(|| "Average".into()))
                .build();
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(stat)
                .return_data(*return_data)
                .build()
        }
        MetricQueryEntry::Expression {
            id,
            expression,
            return_data,
        } => MetricDataQuery::builder()
            .id(id)
            .expression(expression)
            .return_data(*return_data)
            .build(),
    }
}

impl MetricReader for CloudWatchAlarms {
    async fn recent_values(
        &self,
        query: &MetricQuery,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<f64>, ScalingError> {
        let mut req = self
            .client
            .get_metric_data()
            .start_time(DateTime::from_millis(start.as_millis()))
            .end_time(DateTime::from_millis(end.as_millis()));
        for e in &query.entries {
            req = req.metric_data_queries(query_entry(e, query.period));
        }
        let out = req.send().await.map_err(sdk_error)?;
        // Results come newest first; the policy wants oldest first like recentDatapoints.
        let mut points: Vec<(i64, f64)> = out
            .metric_data_results()
            .iter()
            .flat_map(|r| {
                r.timestamps()
                    .iter()
                    .map(|t| t.to_millis().unwrap_or(0))
                    .chain(std::iter::repeat(0))
                    .zip(r.values().iter().copied())
            })
            .filter(|(_, v)| v.is_finite())
            .collect();
        points.sort_by_key(|(t, _)| *t);
        Ok(points.into_iter().map(|(_, v)| v).collect())
    }
}
