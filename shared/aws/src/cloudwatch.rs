//! CloudWatch adapter: an alarm's definition and tags (DescribeAlarms, ListTagsForResource),
//! its recent values (GetMetricData), the tagged alarms a forecast watches and their metrics'
//! history, translated out of SDK types at this edge.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, ScanBy,
};

use apptrack_core::alarm::MetricRef;
use apptrack_core::clock::Timestamp;
use apptrack_core::forecast::{AlarmCatalog, AlarmSpec, MetricHistory, Point, SeriesRequest};
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

/// Alarms whose names start with this are Auto Scaling target tracking's own.
const TARGET_TRACKING_PREFIX: &str = "TargetTracking-";
/// GetMetricData takes at most 500 queries per request.
const QUERIES_PER_REQUEST: usize = 500;
/// Tags read at once while listing alarms.
const TAG_READS_AT_ONCE: usize = 8;

impl CloudWatchAlarms {
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }
}

fn alarm_spec(m: &MetricAlarm) -> AlarmSpec {
    // A single-metric alarm names its metric at the top level; a metric-math one does not.
    let metric = match (m.namespace(), m.metric_name()) {
        (Some(ns), Some(name)) if m.metrics().is_empty() => Some(MetricRef {
            id: None,
            namespace: ns.to_owned(),
            metric_name: name.to_owned(),
            dimensions: m
                .dimensions()
                .iter()
                .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
                .collect(),
            stat: m
                .statistic()
                .map(|s| s.as_str().to_owned())
                .or_else(|| m.extended_statistic().map(str::to_owned)),
            period: m.period().and_then(|p| u32::try_from(p).ok()),
            return_data: true,
        }),
        _ => None,
    };
    AlarmSpec {
        name: m.alarm_name().unwrap_or_default().to_owned(),
        arn: m.alarm_arn().unwrap_or_default().to_owned(),
        metric,
        threshold: m.threshold(),
        comparison_operator: m.comparison_operator().map(|c| c.as_str().to_owned()),
        tags: BTreeMap::new(),
    }
}

impl AlarmCatalog for CloudWatchAlarms {
    /// DescribeAlarms (every page), then each alarm's tags (a few at a time): CloudWatch
    /// cannot filter alarms by tag.
    async fn tagged(
        &self,
        prefix: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<AlarmSpec>, ScalingError> {
        let mut specs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_alarms()
                .alarm_types(AlarmType::MetricAlarm)
                .set_alarm_name_prefix((!prefix.is_empty()).then(|| prefix.to_owned()))
                .max_records(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(sdk_error)?;
            specs.extend(
                out.metric_alarms()
                    .iter()
                    .map(alarm_spec)
                    .filter(|s| !s.arn.is_empty() && !s.name.starts_with(TARGET_TRACKING_PREFIX)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut tagged = Vec::new();
        for wave in specs.chunks(TAG_READS_AT_ONCE) {
            let mut reads = tokio::task::JoinSet::new();
            for (i, spec) in wave.iter().enumerate() {
                let this = self.clone();
                let arn = spec.arn.clone();
                reads.spawn(async move { (i, this.tags(&arn).await) });
            }
            let mut tags = vec![BTreeMap::new(); wave.len()];
            while let Some(done) = reads.join_next().await {
                let (i, t) =
                    done.map_err(|e| ScalingError::Unavailable(format!("tag read: {e}")))?;
                tags[i] = t?;
            }
            for (spec, tags) in wave.iter().zip(tags) {
                if tags
                    .get(key)
                    .is_some_and(|v| value.is_none_or(|want| v == want))
                {
                    tagged.push(AlarmSpec {
                        tags,
                        ..spec.clone()
                    });
                }
            }
        }
        tagged.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tagged)
    }
}

/// Metric history for forecasts: many series per GetMetricData, every page; counts calls.
#[derive(Debug, Clone)]
pub struct CloudWatchHistory {
    client: Client,
    calls: Arc<AtomicU64>,
}

impl CloudWatchHistory {
    pub fn new(client: Client) -> Self {
        CloudWatchHistory {
            client,
            calls: Arc::default(),
        }
    }
}

fn series_query(r: &SeriesRequest) -> MetricDataQuery {
    let mut m = Metric::builder()
        .namespace(&r.metric.namespace)
        .metric_name(&r.metric.metric_name);
    for (k, v) in &r.metric.dimensions {
        m = m.dimensions(Dimension::builder().name(k).value(v).build());
    }
    let stat = MetricStat::builder()
        .metric(m.build())
        .period(i32::try_from(r.period_s).unwrap_or(i32::MAX))
        .stat(&r.stat)
        .build();
    MetricDataQuery::builder()
        .id(&r.id)
        .metric_stat(stat)
        .return_data(true)
        .build()
}

impl MetricHistory for CloudWatchHistory {
    async fn read(
        &self,
        requests: &[SeriesRequest],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeMap<String, Vec<Point>>, ScalingError> {
        let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for chunk in requests.chunks(QUERIES_PER_REQUEST) {
            let queries: Vec<MetricDataQuery> = chunk.iter().map(series_query).collect();
            let mut token: Option<String> = None;
            loop {
                self.calls.fetch_add(1, Ordering::Relaxed);
                let out = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(DateTime::from_millis(start.as_millis()))
                    .end_time(DateTime::from_millis(end.as_millis()))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(sdk_error)?;
                for r in out.metric_data_results() {
                    let points = series
                        .entry(r.id().unwrap_or_default().to_owned())
                        .or_default();
                    points.extend(
                        r.timestamps()
                            .iter()
                            .zip(r.values())
                            .filter_map(|(t, v)| {
                                Some(Point {
                                    at: Timestamp::from_millis(t.to_millis().ok()?),
                                    value: *v,
                                })
                            })
                            .filter(|p| p.value.is_finite()),
                    );
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
        }
        for points in series.values_mut() {
            points.sort_by_key(|p| p.at);
        }
        Ok(series)
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}
