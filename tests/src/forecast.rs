//! A capacity-forecast world in ministack: metric history written with PutMetricData and
//! alarms tagged `apptrack:forecast=true`.

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricDatum, Statistic, Tag};

/// Writes `points` (`(epoch ms, value)`) of `namespace`/`metric` at one dimension, in calls of
/// at most 1,000 datapoints.
pub async fn put_history(
    cw: &aws_sdk_cloudwatch::Client,
    (namespace, metric): (&str, &str),
    (dimension, value): (&str, &str),
    points: &[(i64, f64)],
) -> Result<()> {
    for chunk in points.chunks(1000) {
        let mut req = cw.put_metric_data().namespace(namespace);
        for (at, v) in chunk {
            req = req.metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name(dimension).value(value).build())
                    .timestamp(DateTime::from_millis(*at))
                    .value(*v)
                    .build(),
            );
        }
        req.send().await.context("PutMetricData")?;
    }
    Ok(())
}

/// An alarm on `namespace`/`metric` at one dimension, above `threshold`, tagged for the
/// forecast (with `extra` tags).
pub async fn put_forecast_alarm(
    cw: &aws_sdk_cloudwatch::Client,
    alarm: &str,
    (namespace, metric): (&str, &str),
    (dimension, value): (&str, &str),
    threshold: f64,
    extra: &[(&str, &str)],
) -> Result<()> {
    let mut req = cw
        .put_metric_alarm()
        .alarm_name(alarm)
        .namespace(namespace)
        .metric_name(metric)
        .dimensions(Dimension::builder().name(dimension).value(value).build())
        .statistic(Statistic::Maximum)
        .period(300)
        .evaluation_periods(1)
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .tags(
            Tag::builder()
                .key("apptrack:forecast")
                .value("true")
                .build(),
        );
    for (k, v) in extra {
        req = req.tags(Tag::builder().key(*k).value(*v).build());
    }
    req.send().await.context("PutMetricAlarm")?;
    Ok(())
}

/// A steady climb: one point every 5 minutes for `hours` up to `end_ms`, from `from` by
/// `per_hour`, with a small deterministic wobble.
pub fn climb(end_ms: i64, hours: i64, from: f64, per_hour: f64) -> Vec<(i64, f64)> {
    let n = hours * 12;
    (0..=n)
        .map(|i| {
            let at = end_ms - (n - i) * 300_000;
            let wobble = [0.4, -0.3, 0.1, -0.2, 0.3, 0.0][(i % 6) as usize];
            (at, from + per_hour * (i as f64) / 12.0 + wobble)
        })
        .collect()
}
