//! CloudWatch Embedded Metric Format lines for one batch: errors per service and cause,
//! and the batch's line counts. Dimensions stay few so the metric count stays small.

use apptrack_core::clock::Timestamp;
use apptrack_core::errors::BatchAnalysis;
use serde_json::{Value, json};

/// Services given their own dimension value per batch; the rest are summed as `other`,
/// so a logger that puts request data in its `service` field cannot explode the metric count.
pub const MAX_SERVICES: usize = 20;
pub const FUNCTION: &str = "error-analyzer";

/// The EMF documents for a batch, one per line on stdout.
pub fn emf(namespace: &str, a: &BatchAnalysis, at: Timestamp) -> Vec<Value> {
    let meta = |dims: Value, metrics: Value| {
        json!({
            "Timestamp": at.as_millis(),
            "CloudWatchMetrics": [{ "Namespace": namespace, "Dimensions": dims, "Metrics": metrics }]
        })
    };
    let mut out = vec![json!({
        "_aws": meta(
            json!([["Function"]]),
            json!([
                {"Name": "LogLines", "Unit": "Count"},
                {"Name": "ErrorLines", "Unit": "Count"},
                {"Name": "UnparsedLines", "Unit": "Count"},
                {"Name": "Patterns", "Unit": "Count"},
                {"Name": "PatternOverflow", "Unit": "Count"}
            ])
        ),
        "Function": FUNCTION,
        "LogLines": a.lines,
        "ErrorLines": a.error_lines,
        "UnparsedLines": a.unparsed,
        "Patterns": a.patterns.len(),
        "PatternOverflow": a.overflow,
    })];
    let mut per_service: Vec<(&str, u64)> = a.errors_per_service().into_iter().collect();
    per_service.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let kept: Vec<&str> = per_service
        .iter()
        .take(MAX_SERVICES)
        .map(|(s, _)| *s)
        .collect();
    let mut rows: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    for ((service, cause), n) in &a.errors_by_cause {
        let service = if kept.contains(&service.as_str()) {
            service.as_str()
        } else {
            "other"
        };
        *rows.entry((service, cause.as_str())).or_default() += n;
    }
    for ((service, cause), n) in rows {
        out.push(json!({
            "_aws": meta(json!([["Service", "Cause"]]), json!([{"Name": "Errors", "Unit": "Count"}])),
            "Service": service,
            "Cause": cause,
            "Errors": n,
        }));
    }
    out
}

/// Writes the documents to stdout, where the Lambda log agent picks them up.
pub fn print(docs: &[Value]) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    for d in docs {
        // A closed stdout must not fail the batch; the metrics are best effort.
        let _ = writeln!(stdout, "{d}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apptrack_core::errors::analyze;
    use apptrack_core::pattern::PatternMiner;
    use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType};

    #[test]
    fn one_document_per_service_and_cause_plus_a_summary() {
        let mut events = Vec::new();
        for i in 0..30 {
            events.push(LogEvent {
                id: i.to_string(),
                timestamp: 1_795_000_000_000,
                message: format!(r#"{{"level":"error","service":"svc-{i}","msg":"boom"}}"#),
            });
        }
        let batch = LogsBatch {
            message_type: MessageType::Data,
            owner: String::new(),
            log_group: "/aws/lambda/x".into(),
            log_stream: "s".into(),
            subscription_filters: vec![],
            log_events: events,
        };
        let a = analyze(&batch, &PatternMiner::default());
        let docs = emf(
            "apptrack",
            &a,
            apptrack_core::clock::Timestamp::from_secs(1),
        );
        assert_eq!(docs[0]["ErrorLines"], 30);
        assert_eq!(docs.len(), 1 + MAX_SERVICES + 1, "20 services and `other`");
        let other = docs.iter().find(|d| d["Service"] == "other").unwrap();
        assert_eq!(other["Errors"], 10);
        assert_eq!(
            other["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            "Cause"
        );
    }
}
