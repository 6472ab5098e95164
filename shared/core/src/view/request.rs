//! What a CloudWatch custom widget asks for. The dashboard calls the widget's function with
//! the widget's parameters at the top level of the event and a `widgetContext` beside them
//! (dashboard, time range, size); `{"describe": true}` asks for the widget's documentation.

use serde_json::Value;

use crate::incident::{IncidentId, Status};

/// Why an event is not a widget request the incident widget can answer. Never retryable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WidgetRequestError {
    /// Not a custom widget's call at all (an alarm, a log batch, a bare value).
    #[error("not a custom widget event: {0}")]
    NotAWidgetEvent(String),
    /// A widget parameter the function cannot use; names the parameter.
    #[error("widget parameter `{name}`: {why}")]
    BadParam { name: &'static str, why: String },
}

/// Which incidents the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Open and acknowledged (the default): every incident still being worked on.
    Active,
    Only(Status),
}

impl Shown {
    pub fn statuses(self) -> Vec<Status> {
        match self {
            Shown::Active => vec![Status::Open, Status::Acknowledged],
            Shown::Only(s) => vec![s],
        }
    }
}

/// A widget call, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetRequest {
    /// The console asks what the widget does (shown when it is added to a dashboard).
    Describe,
    /// The list of incidents, newest first.
    Board {
        shown: Shown,
        /// At most this many rows (the function's setting caps it).
        limit: Option<usize>,
        /// This function's ARN, so each row can open its details in a popup.
        endpoint: Option<String>,
    },
    /// One incident's details (the row's popup).
    Detail {
        id: IncidentId,
        endpoint: Option<String>,
    },
}

impl WidgetRequest {
    /// Decodes a widget call; anything else is refused with what was wrong.
    pub fn decode(event: &Value) -> Result<Self, WidgetRequestError> {
        let Some(obj) = event.as_object() else {
            return Err(WidgetRequestError::NotAWidgetEvent(format!(
                "expected a JSON object, got {}",
                kind_of(event)
            )));
        };
        if obj.get("describe").and_then(Value::as_bool) == Some(true) {
            return Ok(WidgetRequest::Describe);
        }
        if !obj.get("widgetContext").is_some_and(Value::is_object) {
            return Err(WidgetRequestError::NotAWidgetEvent(
                "no `widgetContext` object (a CloudWatch dashboard sends one with every call)"
                    .into(),
            ));
        }
        let endpoint = match obj.get("endpoint") {
            None | Some(Value::Null) => None,
            Some(Value::String(arn)) if is_lambda_arn(arn) => Some(arn.clone()),
            Some(other) => {
                return Err(bad(
                    "endpoint",
                    format!("expected this function's ARN (arn:...:lambda:...), got {other}"),
                ));
            }
        };
        if let Some(id) = obj.get("incident") {
            let text = id
                .as_str()
                .ok_or_else(|| bad("incident", format!("expected an incident id, got {id}")))?;
            let id = text
                .parse::<IncidentId>()
                .map_err(|e| bad("incident", e.to_string()))?;
            return Ok(WidgetRequest::Detail { id, endpoint });
        }
        let limit = match obj.get("limit") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| (1..=10_000).contains(n))
                    .map(|n| n as usize)
                    .ok_or_else(|| bad("limit", format!("expected 1 to 10000, got {v}")))?,
            ),
        };
        let shown = match obj.get("status") {
            None | Some(Value::Null) => Shown::Active,
            Some(Value::String(s)) if s == "active" => Shown::Active,
            Some(Value::String(s)) => match s.parse::<Status>() {
                Ok(st) => Shown::Only(st),
                Err(e) => return Err(bad("status", format!("{e}, or active"))),
            },
            Some(v) => return Err(bad("status", format!("expected a status name, got {v}"))),
        };
        Ok(WidgetRequest::Board {
            shown,
            limit,
            endpoint,
        })
    }
}

fn bad(name: &'static str, why: String) -> WidgetRequestError {
    WidgetRequestError::BadParam {
        name,
        why: crate::incident::truncate_chars(&why, 200),
    }
}

fn is_lambda_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function"
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The widget's documentation, which the console shows when a custom widget is added.
pub const DESCRIPTION: &str = "\
## apptrack incidents\n\
Lists apptrack's incidents still being worked on (open and acknowledged), newest first: \
severity, kind, service, title, age, count and what apptrack did. Click a row's **details** \
for its evidence and timeline, or run the `apptrack incidents show ID` command it shows.\n\n\
Parameters (all optional):\n\
```\n\
{\"status\": \"active\" | \"open\" | \"acknowledged\", \"limit\": 100, \"endpoint\": \"<this function's ARN>\"}\n\
```\n\
`endpoint` lets a row open its details in a popup.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:apptrack-widget";

    fn ctx(params: Value) -> Value {
        let mut v = params;
        v["widgetContext"] = json!({"dashboardName": "apptrack", "params": {}});
        v
    }

    #[test]
    fn decodes_the_list_and_the_detail() {
        assert_eq!(
            WidgetRequest::decode(&ctx(json!({}))),
            Ok(WidgetRequest::Board {
                shown: Shown::Active,
                limit: None,
                endpoint: None
            })
        );
        assert_eq!(
            WidgetRequest::decode(&ctx(
                json!({"status": "open", "limit": 20, "endpoint": ARN})
            )),
            Ok(WidgetRequest::Board {
                shown: Shown::Only(Status::Open),
                limit: Some(20),
                endpoint: Some(ARN.into())
            })
        );
        let id = "01JD0000000000000000000000";
        assert!(matches!(
            WidgetRequest::decode(&ctx(json!({"incident": id}))),
            Ok(WidgetRequest::Detail { id: got, endpoint: None }) if got.as_str() == id
        ));
        assert_eq!(
            WidgetRequest::decode(&json!({"describe": true})),
            Ok(WidgetRequest::Describe)
        );
    }

    #[test]
    fn refuses_other_events_and_bad_params_by_name() {
        let err = |v: Value| WidgetRequest::decode(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!([1])),
            "not a custom widget event: expected a JSON object, got an array"
        );
        assert!(err(json!({"detail-type": "x"})).contains("no `widgetContext`"));
        assert!(err(ctx(json!({"limit": 0}))).starts_with("widget parameter `limit`"));
        assert!(err(ctx(json!({"limit": "ten"}))).starts_with("widget parameter `limit`"));
        assert!(err(ctx(json!({"status": "closed"}))).starts_with("widget parameter `status`"));
        assert!(err(ctx(json!({"incident": "nope"}))).starts_with("widget parameter `incident`"));
        assert!(err(ctx(json!({"incident": 7}))).starts_with("widget parameter `incident`"));
        assert!(
            err(ctx(json!({"endpoint": "https://example.com"})))
                .starts_with("widget parameter `endpoint`")
        );
    }
}
