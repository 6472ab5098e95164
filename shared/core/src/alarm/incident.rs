//! What an alarm's incident says: its kind (saturation, availability, performance), its
//! title and severity, and the alarm tags that shape it. Values in, values out.

use std::collections::BTreeMap;

use super::{Direction, MetricContext, SeveritySuggestion};
use crate::incident::{IncidentKind, Severity};

/// Alarm tag with the metric value the group should run at (overrides the threshold fraction).
pub const TARGET_TAG: &str = "apptrack:target";
/// Alarm tag naming the service an incident belongs to (default: the group or alarm).
pub const SERVICE_TAG: &str = "apptrack:service";

/// Saturation when the alarm has a group; otherwise availability when the metric counts
/// failures, performance when it measures speed or load.
pub fn kind_of(group: Option<&str>, metric: &str) -> IncidentKind {
    if group.is_some() {
        IncidentKind::Saturation
    } else {
        classify(metric)
    }
}

/// Availability when the metric counts failures, otherwise performance.
pub fn classify(metric: &str) -> IncidentKind {
    const FAILURE_WORDS: [&str; 9] = [
        "5xx",
        "error",
        "fault",
        "unhealthy",
        "healthyhost",
        "statuscheck",
        "availab",
        "failed",
        "deadletter",
    ];
    let m = metric.to_ascii_lowercase();
    if FAILURE_WORDS.iter().any(|w| m.contains(w)) {
        IncidentKind::Availability
    } else {
        IncidentKind::Performance
    }
}

impl From<SeveritySuggestion> for Severity {
    fn from(s: SeveritySuggestion) -> Self {
        match s {
            SeveritySuggestion::High => Severity::High,
            SeveritySuggestion::Medium => Severity::Medium,
            SeveritySuggestion::Low => Severity::Low,
        }
    }
}

/// The incident's title and severity: a group under-used is low; saturation and the rest
/// take the severity the breach suggests.
pub fn headline(
    group: Option<&str>,
    direction: Option<Direction>,
    kind: IncidentKind,
    ctx: &MetricContext,
    alarm_name: &str,
) -> (String, Severity) {
    let metric = &ctx.metric;
    match (group, direction) {
        (Some(g), Some(Direction::Low)) => (
            format!("{g} under-used: {metric} ({alarm_name})"),
            Severity::Low,
        ),
        (Some(g), _) => (
            format!("{g} saturated: {metric} ({alarm_name})"),
            ctx.severity.into(),
        ),
        (None, _) => (
            format!("{kind}: {metric} ({alarm_name})"),
            ctx.severity.into(),
        ),
    }
}

/// The service an incident belongs to: the `apptrack:service` tag, else the resource.
pub fn service<'a>(tags: &'a BTreeMap<String, String>, resource: &'a str) -> &'a str {
    tags.get(SERVICE_TAG).map_or(resource, String::as_str)
}

/// The `apptrack:target` tag as a number; `Err` says why it cannot be used.
pub fn target_tag(tags: &BTreeMap<String, String>) -> Result<Option<f64>, String> {
    match tags.get(TARGET_TAG) {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("tag {TARGET_TAG}={t:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_metrics_are_availability_the_rest_performance() {
        assert_eq!(
            classify("HTTPCode_Target_5XX_Count"),
            IncidentKind::Availability
        );
        assert_eq!(classify("UnHealthyHostCount"), IncidentKind::Availability);
        assert_eq!(classify("TargetResponseTime"), IncidentKind::Performance);
        assert_eq!(
            kind_of(Some("web-asg"), "CPUUtilization"),
            IncidentKind::Saturation
        );
    }

    #[test]
    fn a_target_tag_must_be_a_number() {
        let mut tags = BTreeMap::new();
        assert_eq!(target_tag(&tags), Ok(None));
        tags.insert(TARGET_TAG.to_owned(), " 60 ".to_owned());
        assert_eq!(target_tag(&tags), Ok(Some(60.0)));
        tags.insert(TARGET_TAG.to_owned(), "sixty".to_owned());
        assert!(target_tag(&tags).unwrap_err().contains("apptrack:target"));
    }
}
