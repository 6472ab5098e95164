//! Decodes a CloudWatch Logs subscription payload (`awslogs.data` = base64(gzip(json))) into a [`LogsBatch`].
//! The decompressed size is bounded so that a gzip bomb is rejected before it can exhaust the function's memory.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::settings::{SettingsError, parse_or};

/// Default cap on decompressed bytes. CloudWatch batches are at most ~1 MiB of events,
/// so 8 MiB leaves room for verbose batches while staying far below Lambda memory sizes.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 8 * 1024 * 1024;

/// CloudWatch encodes with padding, but padding-less producers (test tools, replays)
/// should not be rejected for a cosmetic difference.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How much a payload may expand while being decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_decompressed_bytes: usize,
}

impl DecodeLimits {
    /// `APPTRACK_MAX_DECOMPRESSED_BYTES` (default 8 MiB), the one place every log function reads it.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(DecodeLimits {
            max_decompressed_bytes: parse_or(
                get,
                "APPTRACK_MAX_DECOMPRESSED_BYTES",
                DEFAULT_MAX_DECOMPRESSED_BYTES,
                |n| (64 * 1024..=512 * 1024 * 1024).contains(n),
                "a number of bytes from 65536 to 536870912",
            )?,
        })
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// Why a subscription payload could not be decoded. Every variant is a property of
/// the payload itself, so retrying the same event can never succeed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the Lambda event is not a JSON object: {reason}")]
    NotJson { reason: String },
    #[error("the log batch is missing the required field `{0}`")]
    MissingField(String),
    #[error("`awslogs.data` is not valid base64: {reason}")]
    InvalidBase64 { reason: String },
    #[error("`awslogs.data` is not a valid gzip stream: {reason}")]
    InvalidGzip { reason: String },
    #[error("`awslogs.data` decompresses to more than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the decompressed log batch is not valid JSON of the expected shape: {reason}")]
    InvalidBatchJson { reason: String },
    /// A batch that is neither log events nor CloudWatch's reachability check.
    #[error("unsupported messageType {0:?}: expected DATA_MESSAGE or CONTROL_MESSAGE")]
    UnsupportedMessage(String),
    /// A field is there but holds the wrong kind of value (`field` is its path).
    #[error("`{field}` is {found}, expected {expected}")]
    WrongType {
        field: String,
        found: &'static str,
        expected: &'static str,
    },
}

/// `DATA_MESSAGE` carries log events; `CONTROL_MESSAGE` is CloudWatch checking that the
/// destination is reachable and must be skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageType {
    Data,
    Control,
    Other(String),
}

impl MessageType {
    fn from_wire(s: String) -> Self {
        match s.as_str() {
            "DATA_MESSAGE" => Self::Data,
            "CONTROL_MESSAGE" => Self::Control,
            _ => Self::Other(s),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Data => "DATA_MESSAGE",
            Self::Control => "CONTROL_MESSAGE",
            Self::Other(s) => s,
        }
    }
}

impl Serialize for MessageType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One decoded subscription delivery: the log group and stream it came from and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsBatch {
    pub message_type: MessageType,
    pub owner: String,
    pub log_group: String,
    pub log_stream: String,
    pub subscription_filters: Vec<String>,
    pub log_events: Vec<LogEvent>,
}

impl LogsBatch {
    pub fn is_control(&self) -> bool {
        self.message_type == MessageType::Control
    }
}

/// One log event; a multi-line application log entry arrives as a single `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    pub id: String,
    /// Milliseconds since the Unix epoch, as CloudWatch sends it.
    pub timestamp: i64,
    pub message: String,
}

/// Wire shape with every field optional, so a missing field is reported by name
/// instead of as a generic serde message.
///
/// Own structs rather than `aws_lambda_events::cloudwatch_logs`: that type gunzips
/// `awslogs.data` inside its `Deserialize` impl with no size limit, and its errors
/// cannot say which step failed or which field was missing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireBatch {
    message_type: Option<String>,
    owner: Option<String>,
    log_group: Option<String>,
    log_stream: Option<String>,
    subscription_filters: Option<Vec<String>>,
    log_events: Option<Vec<WireEvent>>,
}

#[derive(Deserialize)]
struct WireEvent {
    id: Option<String>,
    timestamp: Option<i64>,
    message: Option<String>,
}

/// What a log-subscription function was handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Log events to work on.
    Data(LogsBatch),
    /// CloudWatch checking that the destination is reachable: acknowledge, do nothing.
    Control(LogsBatch),
}

/// The one input of every log-subscription function: the Lambda event decoded within the
/// configured limits, the message type checked. Any other shape is a [`DecodeError`].
pub fn receive(event: &serde_json::Value, limits: &DecodeLimits) -> Result<Delivery, DecodeError> {
    let batch = decode_data(awslogs_data(event)?, limits)?;
    match &batch.message_type {
        MessageType::Data => Ok(Delivery::Data(batch)),
        MessageType::Control => Ok(Delivery::Control(batch)),
        MessageType::Other(t) => Err(DecodeError::UnsupportedMessage(t.clone())),
    }
}

/// Decodes the whole Lambda event (`{"awslogs":{"data":"..."}}`).
pub fn decode_event(event: &[u8], limits: &DecodeLimits) -> Result<LogsBatch, DecodeError> {
    let value: serde_json::Value =
        serde_json::from_slice(event).map_err(|e| DecodeError::NotJson {
            reason: e.to_string(),
        })?;
    decode_data(awslogs_data(&value)?, limits)
}

/// The `awslogs.data` string of a Lambda event already parsed as JSON.
pub fn awslogs_data(event: &serde_json::Value) -> Result<&str, DecodeError> {
    let object = event.as_object().ok_or_else(|| DecodeError::NotJson {
        reason: format!("top-level value is {}", json_kind(event)),
    })?;
    let missing = || DecodeError::MissingField("awslogs.data".to_owned());
    let awslogs = object.get("awslogs").ok_or_else(missing)?;
    let data = awslogs
        .as_object()
        .ok_or_else(|| wrong_type("awslogs", awslogs, "an object"))?
        .get("data")
        .ok_or_else(missing)?;
    data.as_str()
        .ok_or_else(|| wrong_type("awslogs.data", data, "a string"))
}

/// Decodes the already-extracted `awslogs.data` string.
pub fn decode_data(data: &str, limits: &DecodeLimits) -> Result<LogsBatch, DecodeError> {
    let compressed =
        BASE64
            .decode(data.trim().as_bytes())
            .map_err(|e| DecodeError::InvalidBase64 {
                reason: e.to_string(),
            })?;
    let json = gunzip_bounded(&compressed, limits.max_decompressed_bytes)?;
    parse_batch(&json)
}

/// Reads at most `limit + 1` bytes: one byte past the limit proves the payload is too
/// large without ever holding more than that in memory.
fn gunzip_bounded(compressed: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    // Start small: the common batch is a few KiB and the limit may be large.
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    GzDecoder::new(compressed)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::InvalidGzip {
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    if out.is_empty() {
        return Err(DecodeError::InvalidGzip {
            reason: "stream is empty".to_owned(),
        });
    }
    Ok(out)
}

fn parse_batch(json: &[u8]) -> Result<LogsBatch, DecodeError> {
    let wire: WireBatch = serde_json::from_slice(json).map_err(|e| {
        misshapen_field(json).unwrap_or_else(|| DecodeError::InvalidBatchJson {
            reason: e.to_string(),
        })
    })?;
    let missing = |name: &str| DecodeError::MissingField(name.to_owned());
    let log_events = wire
        .log_events
        .ok_or_else(|| missing("logEvents"))?
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(LogEvent {
                id: e.id.ok_or_else(|| missing(&format!("logEvents[{i}].id")))?,
                timestamp: e
                    .timestamp
                    .ok_or_else(|| missing(&format!("logEvents[{i}].timestamp")))?,
                message: e
                    .message
                    .ok_or_else(|| missing(&format!("logEvents[{i}].message")))?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    Ok(LogsBatch {
        message_type: MessageType::from_wire(
            wire.message_type.ok_or_else(|| missing("messageType"))?,
        ),
        // CloudWatch always sends these, but nothing downstream depends on them being present.
        owner: wire.owner.unwrap_or_default(),
        subscription_filters: wire.subscription_filters.unwrap_or_default(),
        log_group: wire.log_group.ok_or_else(|| missing("logGroup"))?,
        log_stream: wire.log_stream.ok_or_else(|| missing("logStream"))?,
        log_events,
    })
}

/// Which field of a batch that failed to deserialize holds the wrong kind of value (serde's
/// own message gives only a line and column of JSON nobody sees). Only called on that
/// failure, so the well-formed batch pays nothing for it. `None` when the JSON itself is
/// invalid, or nothing here explains the failure.
fn misshapen_field(json: &[u8]) -> Option<DecodeError> {
    use serde_json::Value;
    let value: Value = serde_json::from_slice(json).ok()?;
    let Some(batch) = value.as_object() else {
        return Some(DecodeError::InvalidBatchJson {
            reason: format!("it is {}, not an object", json_kind(&value)),
        });
    };
    // Absent and null fields deserialize (as `None`); a missing one is reported by name later.
    let present = |object: &serde_json::Map<String, Value>, field: &str| {
        object.get(field).filter(|v| !v.is_null()).cloned()
    };
    for field in ["messageType", "owner", "logGroup", "logStream"] {
        if let Some(v) = present(batch, field).filter(|v| !v.is_string()) {
            return Some(wrong_type(field, &v, "a string"));
        }
    }
    if let Some(filters) = present(batch, "subscriptionFilters") {
        let Some(items) = filters.as_array() else {
            return Some(wrong_type("subscriptionFilters", &filters, "an array"));
        };
        if let Some((i, item)) = items.iter().enumerate().find(|(_, f)| !f.is_string()) {
            return Some(wrong_type(
                &format!("subscriptionFilters[{i}]"),
                item,
                "a string",
            ));
        }
    }
    let events = present(batch, "logEvents")?;
    let Some(events) = events.as_array() else {
        return Some(wrong_type("logEvents", &events, "an array"));
    };
    for (i, event) in events.iter().enumerate() {
        let Some(fields) = event.as_object() else {
            return Some(wrong_type(&format!("logEvents[{i}]"), event, "an object"));
        };
        if let Some(v) = present(fields, "id").filter(|v| !v.is_string()) {
            return Some(wrong_type(&format!("logEvents[{i}].id"), &v, "a string"));
        }
        if let Some(v) = present(fields, "timestamp").filter(|v| v.as_i64().is_none()) {
            return Some(wrong_type(
                &format!("logEvents[{i}].timestamp"),
                &v,
                "whole epoch milliseconds",
            ));
        }
        if let Some(v) = present(fields, "message").filter(|v| !v.is_string()) {
            return Some(wrong_type(
                &format!("logEvents[{i}].message"),
                &v,
                "a string",
            ));
        }
    }
    None
}

fn wrong_type(field: &str, value: &serde_json::Value, expected: &'static str) -> DecodeError {
    DecodeError::WrongType {
        field: field.to_owned(),
        found: json_kind(value),
        expected,
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Encodes only the `awslogs.data` string (base64 of gzip of the batch JSON).
pub fn encode_data(batch: &LogsBatch) -> String {
    // Serializing plain strings and integers, and writing into a Vec, cannot fail.
    let json = serde_json::to_vec(batch).expect("LogsBatch always serializes");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(&json)
        .expect("writing to a Vec cannot fail");
    let gz = encoder.finish().expect("writing to a Vec cannot fail");
    BASE64.encode(gz)
}

/// Encodes a batch as the full Lambda event JSON a subscription filter would deliver.
pub fn encode_batch(batch: &LogsBatch) -> String {
    serde_json::json!({ "awslogs": { "data": encode_data(batch) } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_batch() -> LogsBatch {
        LogsBatch {
            message_type: MessageType::Data,
            owner: "123456789012".into(),
            log_group: "/aws/lambda/checkout".into(),
            log_stream: "2024/01/01/[$LATEST]abcdef".into(),
            subscription_filters: vec!["apptrack-errors".into()],
            log_events: vec![
                LogEvent {
                    id: "37958061574449868187891397208544155062474416473442893824".into(),
                    timestamp: 1_704_067_200_000,
                    message: "ERROR connection refused to db.internal:5432".into(),
                },
                LogEvent {
                    id: "37958061574449868187891397208544155062474416473442893825".into(),
                    timestamp: 1_704_067_200_123,
                    message: "Traceback (most recent call last):\n  File \"app.py\", line 1\nValueError: bad".into(),
                },
            ],
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn event_with_json(json: &str) -> String {
        let data = BASE64.encode(gzip(json.as_bytes()));
        format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#)
    }

    #[test]
    fn round_trips_through_the_encoder() {
        let batch = sample_batch();
        let event = encode_batch(&batch);
        let decoded = decode_event(event.as_bytes(), &DecodeLimits::default()).unwrap();
        assert_eq!(decoded, batch);
        assert!(!decoded.is_control());
    }

    #[test]
    fn decodes_the_extracted_data_string() {
        let batch = sample_batch();
        let decoded = decode_data(&encode_data(&batch), &DecodeLimits::default()).unwrap();
        assert_eq!(decoded, batch);
    }

    #[test]
    fn recognizes_a_control_message() {
        let json = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1704067200000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        let batch =
            decode_event(event_with_json(json).as_bytes(), &DecodeLimits::default()).unwrap();
        assert!(batch.is_control());
    }

    #[test]
    fn rejects_an_event_that_is_not_json() {
        let err = decode_event(b"not json", &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::NotJson { .. }), "{err}");
        let err = decode_event(b"[1,2]", &DecodeLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Lambda event is not a JSON object: top-level value is an array"
        );
    }

    #[test]
    fn names_the_missing_awslogs_data() {
        let err = decode_event(br#"{"awslogs":{}}"#, &DecodeLimits::default()).unwrap_err();
        assert_eq!(err, DecodeError::MissingField("awslogs.data".into()));
        assert!(err.to_string().contains("awslogs.data"));
    }

    #[test]
    fn rejects_invalid_base64() {
        let err =
            decode_event(br#"{"awslogs":{"data":"%%%"}}"#, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidBase64 { .. }), "{err}");
    }

    #[test]
    fn rejects_data_that_is_not_gzip() {
        let data = BASE64.encode(b"plain text, not gzip");
        let err = decode_data(&data, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidGzip { .. }), "{err}");
    }

    #[test]
    fn rejects_a_truncated_gzip_stream() {
        let gz = gzip(encode_batch(&sample_batch()).as_bytes());
        for cut in [10, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
            let err =
                decode_data(&BASE64.encode(&gz[..cut]), &DecodeLimits::default()).unwrap_err();
            assert!(
                matches!(err, DecodeError::InvalidGzip { .. }),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn rejects_a_gzip_bomb_with_bounded_memory() {
        // 16 MiB of zeros compresses to ~16 KiB; with a 1 MiB limit the decoder stops after 1 MiB + 1.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..16 {
            encoder.write_all(&zeros).unwrap();
        }
        let data = BASE64.encode(encoder.finish().unwrap());
        let limits = DecodeLimits {
            max_decompressed_bytes: 1024 * 1024,
        };
        let err = decode_data(&data, &limits).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { limit: 1024 * 1024 });
        assert!(err.to_string().contains("1048576"));
    }

    #[test]
    fn accepts_a_payload_exactly_at_the_limit() {
        let batch = sample_batch();
        let json = serde_json::to_vec(&batch).unwrap();
        let data = BASE64.encode(gzip(&json));
        let limits = DecodeLimits {
            max_decompressed_bytes: json.len(),
        };
        assert_eq!(decode_data(&data, &limits).unwrap(), batch);
    }

    #[test]
    fn rejects_a_batch_that_is_not_json() {
        let data = BASE64.encode(gzip(b"{\"messageType\":"));
        let err = decode_data(&data, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidBatchJson { .. }), "{err}");
    }

    #[test]
    fn names_a_missing_batch_field() {
        let event =
            event_with_json(r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s"}"#);
        let err = decode_event(event.as_bytes(), &DecodeLimits::default()).unwrap_err();
        assert_eq!(err, DecodeError::MissingField("logEvents".into()));

        let event = event_with_json(
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"a"},{"id":"2","timestamp":2}]}"#,
        );
        let err = decode_event(event.as_bytes(), &DecodeLimits::default()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::MissingField("logEvents[1].message".into())
        );
    }

    #[test]
    fn names_a_batch_field_of_the_wrong_type() {
        let cases = [
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":"soon","message":"a"}]}"#,
                "`logEvents[0].timestamp` is a string, expected whole epoch milliseconds",
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"a"},{"id":"2","timestamp":1.5,"message":"b"}]}"#,
                "`logEvents[1].timestamp` is a number, expected whole epoch milliseconds",
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":{"name":"g"},"logStream":"s","logEvents":[]}"#,
                "`logGroup` is an object, expected a string",
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","subscriptionFilters":["f",7],"logEvents":[]}"#,
                "`subscriptionFilters[1]` is a number, expected a string",
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":{"id":"1"}}"#,
                "`logEvents` is an object, expected an array",
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":["ERROR x"]}"#,
                "`logEvents[0]` is a string, expected an object",
            ),
        ];
        for (json, says) in cases {
            let event = event_with_json(json);
            let err = decode_event(event.as_bytes(), &DecodeLimits::default()).unwrap_err();
            assert!(matches!(err, DecodeError::WrongType { .. }), "{err}");
            assert_eq!(err.to_string(), says);
        }
    }

    #[test]
    fn a_batch_that_is_not_an_object_says_what_it_is() {
        let err =
            decode_data(&BASE64.encode(gzip(b"[1,2,3]")), &DecodeLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the decompressed log batch is not valid JSON of the expected shape: \
             it is an array, not an object"
        );
    }

    #[test]
    fn names_an_awslogs_field_of_the_wrong_type() {
        let cases = [
            (
                r#"{"awslogs":{"data":42}}"#,
                "`awslogs.data` is a number, expected a string",
            ),
            (
                r#"{"awslogs":{"data":["H4sI"]}}"#,
                "`awslogs.data` is an array, expected a string",
            ),
            (
                r#"{"awslogs":null}"#,
                "`awslogs` is null, expected an object",
            ),
            (
                r#"{"awslogs":"H4sI"}"#,
                "`awslogs` is a string, expected an object",
            ),
        ];
        for (event, says) in cases {
            let err = decode_event(event.as_bytes(), &DecodeLimits::default()).unwrap_err();
            assert_eq!(err.to_string(), says);
        }
        let err = decode_event(br#"{"awslogs":{}}"#, &DecodeLimits::default()).unwrap_err();
        assert_eq!(err, DecodeError::MissingField("awslogs.data".into()));
    }

    proptest! {
        #[test]
        fn arbitrary_event_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_event(&bytes, &DecodeLimits::default());
        }

        #[test]
        fn arbitrary_data_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let data = BASE64.encode(&bytes);
            let _ = decode_data(&data, &DecodeLimits::default());
            // Gzip-framed garbage exercises the inflater rather than the header check.
            let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
            framed.extend_from_slice(&bytes);
            let _ = decode_data(&BASE64.encode(&framed), &DecodeLimits::default());
        }

        #[test]
        fn any_truncation_of_a_valid_payload_is_an_error(cut in 0usize..1000) {
            let gz = gzip(encode_batch(&sample_batch()).as_bytes());
            let cut = cut % gz.len();
            let result = decode_data(&BASE64.encode(&gz[..cut]), &DecodeLimits::default());
            prop_assert!(matches!(result, Err(DecodeError::InvalidGzip { .. })), "{:?}", result);
        }
    }
}
