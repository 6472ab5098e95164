//! The record Lambda sends to an asynchronous invocation's on-failure destination, read back
//! from the queue.
//!
//! Lambda writes one JSON document per event it gave up on:
//! `version`, `timestamp`, `requestContext` (`requestId`, `functionArn`, `condition`,
//! `approximateInvokeCount`), `requestPayload` (the event), `responseContext` (`statusCode`,
//! `executedVersion`, `functionError`) and `responsePayload` (the last error). Replaying needs
//! only the function and the event; the rest is kept to show the operator what happened.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// An on-failure record: which function gave up on which event, and why.
#[derive(Debug, Serialize)]
pub struct InvocationRecord {
    /// When Lambda gave up on the event (RFC 3339), if the record says.
    pub timestamp: Option<String>,
    /// The function and qualifier that failed (`arn:...:function:NAME:$LATEST`).
    pub function_arn: String,
    /// The failed request's id.
    pub request_id: Option<String>,
    /// Why Lambda gave up: `RetriesExhausted`, `EventAgeExceeded`, ...
    pub condition: Option<String>,
    /// How many times Lambda ran the event.
    pub approximate_invoke_count: Option<u64>,
    /// The last attempt's error, when the response was a function error.
    pub last_error: Option<FunctionError>,
    /// The original event, exactly as recorded.
    pub request_payload: Box<RawValue>,
}

/// A function error: Lambda's `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionError {
    pub error_type: String,
    pub message: String,
}

impl FunctionError {
    /// Reads `{"errorType": ..., "errorMessage": ...}`, the shape every Lambda runtime reports
    /// a function error in (other fields such as `stackTrace` are ignored).
    pub fn from_json(v: &Value) -> Option<Self> {
        let error_type = v.get("errorType")?.as_str()?;
        let message = v.get("errorMessage").and_then(Value::as_str).unwrap_or("");
        Some(FunctionError {
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        })
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.error_type)
        } else {
            write!(f, "{}: {}", self.error_type, self.message)
        }
    }
}

/// Why a queue message cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the message is not JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("the message is not a Lambda on-failure record: {0}")]
    NotARecord(String),
    #[error(
        "the on-failure record has no requestPayload (the original event), so there is nothing to replay"
    )]
    NoPayload,
}

/// The record as it arrives: every field optional, so that what is missing can be named.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
struct Wire {
    timestamp: Option<String>,
    request_context: Option<WireRequestContext>,
    request_payload: Option<Box<RawValue>>,
    response_payload: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a requestContext object")]
struct WireRequestContext {
    function_arn: Option<String>,
    request_id: Option<String>,
    condition: Option<String>,
    approximate_invoke_count: Option<u64>,
}

impl InvocationRecord {
    /// Parses a queue message's body.
    pub fn parse(body: &str) -> Result<Self, RecordError> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| {
            if e.is_data() {
                RecordError::NotARecord(e.to_string())
            } else {
                RecordError::NotJson(e)
            }
        })?;
        let context = wire
            .request_context
            .ok_or_else(|| RecordError::NotARecord("it has no requestContext".into()))?;
        let function_arn = context
            .function_arn
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| {
                RecordError::NotARecord("its requestContext has no functionArn".into())
            })?;
        let request_payload = wire.request_payload.ok_or(RecordError::NoPayload)?;
        Ok(InvocationRecord {
            timestamp: wire.timestamp,
            function_arn,
            request_id: context.request_id,
            condition: context.condition,
            approximate_invoke_count: context.approximate_invoke_count,
            last_error: wire
                .response_payload
                .as_ref()
                .and_then(FunctionError::from_json),
            request_payload,
        })
    }

    /// The function's name and qualifier from its ARN (`login-guard:$LATEST`), for display.
    pub fn function_label(&self) -> &str {
        function_label(&self.function_arn)
    }

    /// One line on how the original invocation ended: `RetriesExhausted after 3 attempts:
    /// Retryable.Store: ...`.
    pub fn failure_summary(&self) -> String {
        let mut out = self.condition.clone().unwrap_or_else(|| "failed".into());
        if let Some(n) = self.approximate_invoke_count {
            let s = if n == 1 { "" } else { "s" };
            out.push_str(&format!(" after {n} attempt{s}"));
        }
        if let Some(e) = &self.last_error {
            out.push_str(&format!(": {e}"));
        }
        out
    }
}

/// The part of a function ARN after `:function:` (name and qualifier), or the whole string
/// when it is a plain name.
pub fn function_label(function: &str) -> &str {
    function
        .split_once(":function:")
        .map_or(function, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
        "version": "1.0",
        "timestamp": "2026-11-24T02:50:13.123Z",
        "requestContext": {
            "requestId": "0b7a1c2e-5f3d-4a8b-9c6e-2d1f0e3a4b5c",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:apptrack-LoginGuard-1AB2C3:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": {"awslogs": {"data": "H4sIAAAAAAAA/w=="}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Retryable.Store", "errorMessage": "throttled", "stackTrace": []}
    }"#;

    #[test]
    fn reads_a_record_and_keeps_the_payload_as_recorded() {
        let r = InvocationRecord::parse(RECORD).expect("a record");
        assert_eq!(
            r.function_arn,
            "arn:aws:lambda:us-east-1:123456789012:function:apptrack-LoginGuard-1AB2C3:$LATEST"
        );
        assert_eq!(r.function_label(), "apptrack-LoginGuard-1AB2C3:$LATEST");
        assert_eq!(
            r.request_payload.get(),
            r#"{"awslogs": {"data": "H4sIAAAAAAAA/w=="}}"#
        );
        assert_eq!(r.condition.as_deref(), Some("RetriesExhausted"));
        assert_eq!(r.approximate_invoke_count, Some(3));
        assert_eq!(r.timestamp.as_deref(), Some("2026-11-24T02:50:13.123Z"));
        assert_eq!(
            r.failure_summary(),
            "RetriesExhausted after 3 attempts: Retryable.Store: throttled"
        );
    }

    #[test]
    fn a_record_without_its_event_names_requestpayload() {
        let body = RECORD.replace(
            r#""requestPayload": {"awslogs": {"data": "H4sIAAAAAAAA/w=="}},"#,
            "",
        );
        let err = InvocationRecord::parse(&body).expect_err("no payload");
        assert!(matches!(err, RecordError::NoPayload), "{err:?}");
        assert!(err.to_string().contains("no requestPayload"), "{err}");
        let null = RECORD.replace(r#"{"awslogs": {"data": "H4sIAAAAAAAA/w=="}}"#, "null");
        assert!(matches!(
            InvocationRecord::parse(&null),
            Err(RecordError::NoPayload)
        ));
    }

    #[test]
    fn text_that_is_not_json_says_so() {
        let err = InvocationRecord::parse("retry me later").expect_err("not JSON");
        assert!(matches!(err, RecordError::NotJson(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("the message is not JSON (expected"),
            "{err}"
        );
    }

    #[test]
    fn json_of_another_shape_is_not_a_record() {
        let err = InvocationRecord::parse(r#"{"awslogs":{"data":"x"}}"#).expect_err("an event");
        assert_eq!(
            err.to_string(),
            "the message is not a Lambda on-failure record: it has no requestContext"
        );
        let err = InvocationRecord::parse("[1, 2]").expect_err("an array");
        assert!(matches!(err, RecordError::NotARecord(_)), "{err:?}");
        let err =
            InvocationRecord::parse(r#"{"requestContext":{"requestId":"x"},"requestPayload":{}}"#)
                .expect_err("no function");
        assert!(
            err.to_string()
                .ends_with("its requestContext has no functionArn"),
            "{err}"
        );
    }

    #[test]
    fn a_record_without_a_response_still_replays() {
        // EventAgeExceeded: Lambda gave up before (or without) a function error.
        let body = r#"{"version":"1.0","timestamp":"2026-11-24T02:50:13.123Z",
            "requestContext":{"functionArn":"arn:aws:lambda:us-east-1:1:function:f","condition":"EventAgeExceeded","approximateInvokeCount":0},
            "requestPayload":{"k":1}}"#;
        let r = InvocationRecord::parse(body).expect("a record");
        assert_eq!(r.last_error, None);
        assert_eq!(r.failure_summary(), "EventAgeExceeded after 0 attempts");
        assert_eq!(r.function_label(), "f");
    }
}
