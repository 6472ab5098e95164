//! Builds the metric context of a performance/availability incident from an alarm
//! that has no group to scale: what breached, by how much, and where to look.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::event::{AlarmEvent, AlarmKind};
use super::policy::Direction;
use super::reason::Datapoint;

/// A severity the incident store may take or override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum SeveritySuggestion {
    Low,
    Medium,
    High,
}

/// Breach beyond which an incident is suggested as high severity (percent).
const HIGH_BREACH_PCT: f64 = 50.0;
/// Breach beyond which an incident is suggested as medium severity (percent).
const MEDIUM_BREACH_PCT: f64 = 10.0;

/// Structured evidence for an alarm incident, plus a one-line summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricContext {
    pub alarm_name: String,
    /// Metric name, metric-math label/expression, or the composite rule.
    pub metric: String,
    pub namespace: Option<String>,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Option<String>,
    pub period: Option<u32>,
    /// The worst value of the evaluated window (see [`metric_context`]).
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// `(value − threshold) / threshold × 100`, absent when it cannot be computed.
    pub breach_pct: Option<f64>,
    pub datapoints: Vec<Datapoint>,
    pub recent_values: Vec<f64>,
    pub console_url: String,
    pub severity: SeveritySuggestion,
    pub summary: String,
}

/// `(value − threshold) / threshold × 100`; `None` for a zero or non-finite
/// threshold or value, or a result too large to be meaningful.
pub fn breach_pct(value: f64, threshold: f64) -> Option<f64> {
    if !value.is_finite() || !threshold.is_finite() || threshold == 0.0 {
        return None;
    }
    // Divide by |threshold| so a value further past a negative threshold is still a positive breach.
    Some((value - threshold) / threshold.abs() * 100.0).filter(|p| p.is_finite())
}

/// The CloudWatch console page of an alarm.
pub fn console_url(region: &str, alarm_name: &str) -> String {
    let region = encode(region);
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        encode(alarm_name)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Severity from the size of the breach: over 50 % high, over 10 % medium,
/// else low; unknown breach (anomaly band, composite) is medium.
pub fn suggest_severity(breach_pct: Option<f64>) -> SeveritySuggestion {
    match breach_pct.map(f64::abs) {
        Some(p) if p > HIGH_BREACH_PCT => SeveritySuggestion::High,
        Some(p) if p > MEDIUM_BREACH_PCT => SeveritySuggestion::Medium,
        Some(_) => SeveritySuggestion::Low,
        None => SeveritySuggestion::Medium,
    }
}

/// Builds the context of an alarm. `direction` (from the comparison operator,
/// when the handler has it) picks the worst value: the maximum for High, the
/// minimum for Low, the latest when unknown.
pub fn metric_context(event: &AlarmEvent, direction: Option<Direction>) -> MetricContext {
    let rd = event.reason_data.as_ref();
    let values = rd.map(|r| r.values()).unwrap_or_default();
    let value = match direction {
        Some(Direction::High) => values.iter().copied().reduce(f64::max),
        Some(Direction::Low) => values.iter().copied().reduce(f64::min),
        Some(Direction::EitherSide) | None => rd.and_then(|r| r.latest()),
    };
    let threshold = rd.and_then(|r| r.threshold);
    let breach = value.zip(threshold).and_then(|(v, t)| breach_pct(v, t));

    let primary = event.primary_metric();
    let metric = match &event.kind {
        AlarmKind::SingleMetric(m) => m.metric_name.clone(),
        AlarmKind::AnomalyBand { metric, band, .. } => metric
            .as_ref()
            .map_or_else(|| band.expression.clone(), |m| m.metric_name.clone()),
        AlarmKind::MetricMath { expressions, .. } => expressions
            .iter()
            .find(|x| x.return_data)
            .or(expressions.first())
            .map(|x| x.label.clone().unwrap_or_else(|| x.expression.clone()))
            .unwrap_or_default(),
        AlarmKind::Composite { rule, .. } => rule.clone(),
    };
    let statistic = primary
        .and_then(|m| m.stat.clone())
        .or_else(|| rd.and_then(|r| r.stat.clone()));

    let summary = summarize(
        event,
        &metric,
        statistic.as_deref(),
        value,
        threshold,
        breach,
    );
    MetricContext {
        alarm_name: event.alarm_name.clone(),
        metric,
        namespace: primary.map(|m| m.namespace.clone()),
        dimensions: primary.map(|m| m.dimensions.clone()).unwrap_or_default(),
        statistic,
        period: primary
            .and_then(|m| m.period)
            .or_else(|| rd.and_then(|r| r.period)),
        value,
        threshold,
        breach_pct: breach,
        datapoints: rd
            .map(|r| r.evaluated_datapoints.clone())
            .unwrap_or_default(),
        recent_values: rd.map(|r| r.recent_datapoints.clone()).unwrap_or_default(),
        console_url: console_url(&event.region, &event.alarm_name),
        severity: suggest_severity(breach),
        summary,
    }
}

fn summarize(
    event: &AlarmEvent,
    metric: &str,
    statistic: Option<&str>,
    value: Option<f64>,
    threshold: Option<f64>,
    breach: Option<f64>,
) -> String {
    let mut s = format!("{} is {}: ", event.alarm_name, event.state);
    match &event.kind {
        AlarmKind::Composite { rule, triggering } => {
            let _ = write!(s, "rule {rule}");
            if !triggering.is_empty() {
                let names: Vec<&str> = triggering.iter().map(|t| t.name.as_str()).collect();
                let _ = write!(s, "; triggered by {}", names.join(", "));
            }
            return s;
        }
        AlarmKind::AnomalyBand { std_devs, .. } => {
            let _ = write!(s, "{metric}");
            if let Some(stat) = statistic {
                let _ = write!(s, " {stat}");
            }
            if let Some(v) = value {
                let _ = write!(s, " {}", num(v));
            }
            match std_devs {
                Some(w) => {
                    let _ = write!(s, " outside the expected band ({w} standard deviations)");
                }
                None => s.push_str(" outside the expected band"),
            }
            return s;
        }
        AlarmKind::SingleMetric(_) | AlarmKind::MetricMath { .. } => {}
    }
    s.push_str(metric);
    if let Some(stat) = statistic {
        let _ = write!(s, " {stat}");
    }
    match (value, threshold) {
        (Some(v), Some(t)) => {
            let _ = write!(s, " {} vs threshold {}", num(v), num(t));
            if let Some(b) = breach {
                let _ = write!(s, " ({b:+.1}%)");
            }
        }
        (Some(v), None) => {
            let _ = write!(s, " {}", num(v));
        }
        (None, Some(t)) => {
            let _ = write!(s, " (no datapoints) threshold {}", num(t));
        }
        (None, None) => {
            if !event.reason.is_empty() {
                let _ = write!(s, ": {}", event.reason);
            }
        }
    }
    s
}

/// Shortest faithful rendering, but at most three decimals for measured values.
fn num(x: f64) -> String {
    let rounded = (x * 1000.0).round() / 1000.0;
    if rounded.is_finite() {
        format!("{rounded}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breach_is_guarded() {
        assert_eq!(breach_pct(135.0, 90.0), Some(50.0));
        assert_eq!(breach_pct(1.0, 0.0), None);
        assert_eq!(breach_pct(f64::NAN, 1.0), None);
        assert_eq!(breach_pct(f64::MAX, f64::MIN_POSITIVE), None);
        assert_eq!(breach_pct(-20.0, -10.0), Some(-100.0));
    }

    #[test]
    fn severity_thresholds() {
        assert_eq!(suggest_severity(Some(50.1)), SeveritySuggestion::High);
        assert_eq!(suggest_severity(Some(-60.0)), SeveritySuggestion::High);
        assert_eq!(suggest_severity(Some(50.0)), SeveritySuggestion::Medium);
        assert_eq!(suggest_severity(Some(5.0)), SeveritySuggestion::Low);
        assert_eq!(suggest_severity(None), SeveritySuggestion::Medium);
    }

    #[test]
    fn console_link_encodes_the_name() {
        assert_eq!(
            console_url("us-east-1", "web alb/p99 #1"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/web%20alb%2Fp99%20%231"
        );
    }
}
