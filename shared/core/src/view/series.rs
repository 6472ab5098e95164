//! The numbers behind an incident, as one series over time: an alarm's datapoints, the
//! per-minute error counts of error-analyzer, a login burst's failures per minute. Read
//! from the evidence the functions record, drawn as a terminal sparkline or an inline SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::clock::Timestamp;
use crate::incident::{Evidence, Incident};

/// Points of one quantity over time, oldest first, with what they measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What the values are: `CPUUtilization`, `errors per minute`, `failed logins per minute`.
    pub label: String,
    pub points: Vec<(Timestamp, f64)>,
    /// The alarm's threshold, when the series is an alarm's metric.
    pub threshold: Option<f64>,
}

impl Series {
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|(_, v)| *v).collect()
    }

    /// The smallest and largest value (finite ones only); `None` for an empty series.
    pub fn range(&self) -> Option<(f64, f64)> {
        let mut vals = self
            .points
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite());
        let first = vals.next()?;
        Some(vals.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    }
}

/// The incident's series, from all of its evidence (a problem seen in several batches
/// has one evidence item per batch): points of one time are the same point, the largest
/// value kept. `None` when no evidence carries numbers over time.
pub fn of_incident(inc: &Incident) -> Option<Series> {
    let mut label = None;
    let mut threshold = None;
    let mut points: BTreeMap<i64, f64> = BTreeMap::new();
    for e in &inc.evidence {
        let Some(found) = of_evidence(e) else {
            continue;
        };
        // One quantity per series: evidence of another kind is not mixed in.
        if label.as_ref().is_some_and(|l| *l != found.label) {
            continue;
        }
        threshold = threshold.or(found.threshold);
        label = Some(found.label);
        for (t, v) in found.points {
            let slot = points.entry(t.as_millis()).or_insert(v);
            *slot = slot.max(v);
        }
    }
    Some(Series {
        label: label?,
        points: points
            .into_iter()
            .map(|(t, v)| (Timestamp::from_millis(t), v))
            .collect(),
        threshold,
    })
    .filter(|s| !s.points.is_empty())
}

/// The series one evidence item carries, in the shapes apptrack's functions write.
pub fn of_evidence(e: &Evidence) -> Option<Series> {
    let d = &e.data;
    // alarm-scaler: the metric context, alone or under `metric` (an instance alarm).
    let metric = if d.get("datapoints").is_some() {
        Some(d)
    } else {
        d.get("metric").filter(|m| m.is_object())
    };
    metric
        .and_then(metric_series)
        .or_else(|| per_minute(d))
        .or_else(|| failures_per_minute(d))
}

fn metric_series(m: &Value) -> Option<Series> {
    let points: Vec<(Timestamp, f64)> = m
        .get("datapoints")?
        .as_array()?
        .iter()
        .filter_map(|p| {
            let t = p.get("timestamp")?.as_i64()?;
            let v = p.get("value")?.as_f64()?;
            Some((Timestamp::from_millis(t), v))
        })
        .collect();
    (!points.is_empty()).then(|| Series {
        label: m
            .get("metric")
            .and_then(Value::as_str)
            .unwrap_or("metric")
            .to_string(),
        points,
        threshold: m.get("threshold").and_then(Value::as_f64),
    })
}

/// error-analyzer's `per_minute`: `[[epoch ms, count], ...]`.
fn per_minute(d: &Value) -> Option<Series> {
    let points: Vec<(Timestamp, f64)> = d
        .get("per_minute")?
        .as_array()?
        .iter()
        .filter_map(|p| {
            Some((
                Timestamp::from_millis(p.get(0)?.as_i64()?),
                p.get(1)?.as_f64()?,
            ))
        })
        .collect();
    (!points.is_empty()).then(|| Series {
        label: "errors per minute".into(),
        points,
        threshold: None,
    })
}

/// login-guard's burst: `[{"minute": RFC 3339, "failures": n, ...}, ...]`.
fn failures_per_minute(d: &Value) -> Option<Series> {
    let points: Vec<(Timestamp, f64)> = d
        .as_array()?
        .iter()
        .filter_map(|p| {
            let t = Timestamp::parse(p.get("minute")?.as_str()?).ok()?;
            Some((t, p.get("failures")?.as_f64()?))
        })
        .collect();
    (!points.is_empty()).then(|| Series {
        label: "failed logins per minute".into(),
        points,
        threshold: None,
    })
}

/// How a sparkline is drawn: Unicode blocks for a terminal, or plain numbers for a pipe,
/// a log or a terminal that cannot show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyphs {
    Blocks,
    Plain,
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One line of the values: eight block heights scaled from the smallest to the largest
/// value (a flat series is all low blocks), or the values as numbers.
pub fn sparkline(values: &[f64], glyphs: Glyphs) -> String {
    match glyphs {
        Glyphs::Plain => values
            .iter()
            .map(|v| number(*v))
            .collect::<Vec<_>>()
            .join(" "),
        Glyphs::Blocks => {
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            values
                .iter()
                .map(|v| {
                    if !v.is_finite() {
                        return ' ';
                    }
                    if hi <= lo {
                        return BLOCKS[0];
                    }
                    let step = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                    BLOCKS[step.min(7)]
                })
                .collect()
        }
    }
}

/// A value as a person reads it: whole numbers without decimals, others with up to two.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The series as a small inline SVG line chart, with the threshold as a dashed line.
pub fn svg(series: &Series, width: u32, height: u32) -> String {
    let Some((mut lo, mut hi)) = series.range() else {
        return String::new();
    };
    if let Some(t) = series.threshold.filter(|t| t.is_finite()) {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    lo = lo.min(0.0);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let n = series.points.len();
    let x = |i: usize| {
        if n <= 1 {
            w / 2.0
        } else {
            2.0 + (w - 4.0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| 2.0 + (h - 4.0) * (1.0 - (v - lo) / (hi - lo));
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\"><title>{}</title>",
        super::html::escape(&series.label)
    );
    if let Some(t) = series.threshold.filter(|t| t.is_finite()) {
        let ty = y(t);
        let _ = write!(
            out,
            "<line x1=\"0\" x2=\"{w}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#d13212\" \
             stroke-dasharray=\"3 2\"/>"
        );
    }
    let pts: Vec<String> = series
        .points
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.is_finite())
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"#0972d3\" stroke-width=\"1.5\" points=\"{}\"/>",
        pts.join(" ")
    );
    if n == 1 {
        let (_, v) = series.points[0];
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#0972d3\"/>",
            x(0),
            y(v)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{DedupKey, IncidentId, IncidentKind, Occurrence, Severity, Title};
    use serde_json::json;

    fn incident(evidence: Vec<Evidence>) -> Incident {
        let key = DedupKey::new("s", IncidentKind::ErrorSpike, "r", "f").unwrap();
        let occ = Occurrence {
            evidence,
            ..Occurrence::new(
                key,
                IncidentKind::ErrorSpike,
                Severity::High,
                "error-analyzer",
                "checkout",
                "r",
                Title::truncated("t"),
                Timestamp::from_secs(600),
            )
        };
        Incident::open(IncidentId::new(Timestamp::from_secs(600)), &occ, None)
    }

    #[test]
    fn blocks_scale_from_lowest_to_highest() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], Glyphs::Blocks),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[3.0, 3.0], Glyphs::Blocks), "▁▁");
        assert_eq!(sparkline(&[], Glyphs::Blocks), "");
        assert_eq!(sparkline(&[1.0, f64::NAN, 9.0], Glyphs::Blocks), "▁ █");
        assert_eq!(sparkline(&[1.0, 2.5, 40.0], Glyphs::Plain), "1 2.5 40");
    }

    #[test]
    fn reads_an_alarms_datapoints() {
        let e = Evidence::new(
            Timestamp::from_secs(600),
            "cpu",
            json!({"metric": "CPUUtilization", "threshold": 90.0, "datapoints": [
                {"timestamp": 60_000, "value": 50.0}, {"timestamp": 120_000, "value": 97.5},
                {"timestamp": 180_000, "value": null}
            ]}),
        );
        let s = of_incident(&incident(vec![e])).unwrap();
        assert_eq!(s.label, "CPUUtilization");
        assert_eq!(s.threshold, Some(90.0));
        assert_eq!(s.values(), [50.0, 97.5]);
        let pic = svg(&s, 120, 30);
        assert!(
            pic.starts_with("<svg") && pic.contains("stroke-dasharray"),
            "{pic}"
        );
    }

    #[test]
    fn merges_per_minute_counts_of_every_batch() {
        let batch = |pairs: serde_json::Value| {
            Evidence::new(
                Timestamp::from_secs(600),
                "spike",
                json!({"per_minute": pairs}),
            )
        };
        let s = of_incident(&incident(vec![
            batch(json!([[60_000, 1], [120_000, 4]])),
            batch(json!([[120_000, 6], [180_000, 30]])),
            Evidence::new(
                Timestamp::from_secs(1),
                "text only",
                serde_json::Value::Null,
            ),
        ]))
        .unwrap();
        assert_eq!(s.label, "errors per minute");
        assert_eq!(s.values(), [1.0, 6.0, 30.0]);
    }

    #[test]
    fn reads_a_login_burst() {
        let e = Evidence::new(
            Timestamp::from_secs(600),
            "the burst, minute by minute",
            json!([{"minute": "2026-11-18T10:00:00.000Z", "failures": 3},
                   {"minute": "2026-11-18T10:01:00.000Z", "failures": 9}]),
        );
        let s = of_incident(&incident(vec![e])).unwrap();
        assert_eq!(s.label, "failed logins per minute");
        assert_eq!(s.values(), [3.0, 9.0]);
    }

    #[test]
    fn no_numbers_no_series() {
        let e = Evidence::new(Timestamp::from_secs(1), "locked", json!({"account": "a"}));
        assert_eq!(of_incident(&incident(vec![e])), None);
        assert_eq!(of_incident(&incident(vec![])), None);
    }
}
