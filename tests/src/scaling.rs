//! The Auto Scaling world the alarm samples name, built in ministack.

use anyhow::{Context, Result};
use aws_sdk_autoscaling::types::Tag as GroupTag;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};

/// A group apptrack may scale (tagged `apptrack:managed=true`), at 2 of 1..=10.
///
/// A launch configuration stands in for a launch template: the Auto Scaling API takes
/// either, and it spares the tests the (very large) EC2 SDK.
pub async fn create_managed_group(asg: &aws_sdk_autoscaling::Client, group: &str) -> Result<()> {
    let launch = format!("lc-{group}");
    asg.create_launch_configuration()
        .launch_configuration_name(&launch)
        .image_id("ami-12345678")
        .instance_type("t3.micro")
        .send()
        .await
        .context("CreateLaunchConfiguration")?;
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(group)
        .launch_configuration_name(&launch)
        .min_size(1)
        .max_size(10)
        .desired_capacity(2)
        .availability_zones("us-east-1a")
        .tags(
            GroupTag::builder()
                .key("apptrack:managed")
                .value("true")
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(false)
                .build(),
        )
        .send()
        .await
        .context("CreateAutoScalingGroup")?;
    Ok(())
}

/// The samples' CPU alarm on `group`: average CPUUtilization above 90 over 2 periods of 60 s.
pub async fn put_cpu_alarm(
    cw: &aws_sdk_cloudwatch::Client,
    alarm: &str,
    group: &str,
) -> Result<()> {
    put_cpu_alarm_on(cw, alarm, ("AutoScalingGroupName", group)).await
}

/// The same alarm on any one dimension (`("InstanceId", "i-...")` for one server).
pub async fn put_cpu_alarm_on(
    cw: &aws_sdk_cloudwatch::Client,
    alarm: &str,
    (dimension, value): (&str, &str),
) -> Result<()> {
    cw.put_metric_alarm()
        .alarm_name(alarm)
        .namespace("AWS/EC2")
        .metric_name("CPUUtilization")
        .dimensions(Dimension::builder().name(dimension).value(value).build())
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(2)
        .threshold(90.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .context("PutMetricAlarm")?;
    Ok(())
}

/// The group's `AWS/EC2` `CPUUtilization` average is `value`: two datapoints, 2 and 1
/// minutes before `at_ms` (what alarm-scaler reads to tell a busy group from one hot server).
pub async fn group_average_before(
    cw: &aws_sdk_cloudwatch::Client,
    group: &str,
    at_ms: i64,
    value: f64,
) -> Result<()> {
    group_cpu_before(cw, group, at_ms, &[(120, value), (60, value)]).await
}

/// The group's `AWS/EC2` `CPUUtilization`: one datapoint per `(seconds before at_ms, value)`.
pub async fn group_cpu_before(
    cw: &aws_sdk_cloudwatch::Client,
    group: &str,
    at_ms: i64,
    points: &[(i64, f64)],
) -> Result<()> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::MetricDatum;
    for (ago, value) in points {
        cw.put_metric_data()
            .namespace("AWS/EC2")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("CPUUtilization")
                    .dimensions(
                        Dimension::builder()
                            .name("AutoScalingGroupName")
                            .value(group)
                            .build(),
                    )
                    .timestamp(DateTime::from_millis(at_ms - ago * 1000))
                    .value(*value)
                    .build(),
            )
            .send()
            .await
            .context("PutMetricData")?;
    }
    Ok(())
}

/// The group's desired capacity, as Auto Scaling (ministack) has it.
pub async fn desired_capacity(asg: &aws_sdk_autoscaling::Client, group: &str) -> Result<i32> {
    let out = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .context("DescribeAutoScalingGroups")?;
    out.auto_scaling_groups()
        .first()
        .and_then(|g| g.desired_capacity())
        .with_context(|| format!("ministack has no group {group}"))
}
