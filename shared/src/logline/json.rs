//! Extracts level, message, error and context fields from JSON log lines of the common loggers.
//! Extraction is driven by field names shared across loggers; the detected shape is only a label.

use serde_json::{Map, Value};

use super::{
    Format, JsonShape, Level, ParsedLine, StackTrace, TraceLanguage, clip, platform, trace,
};

type Object = Map<String, Value>;

/// Context a text prefix (Lambda runtime) already provided for an embedded JSON payload.
pub(super) struct PrefixDefaults<'a> {
    pub level: Option<Level>,
    pub request_id: Option<&'a str>,
}

const LEVEL_KEYS: &[&str] = &[
    "level",
    "lvl",
    "severity",
    "log_level",
    "loglevel",
    "levelname",
    "@l",
    "Level",
    "@level",
    "log.level",
    "SeverityText",
];
const MESSAGE_KEYS: &[&str] = &[
    "message",
    "msg",
    "@m",
    "RenderedMessage",
    "event",
    "errorMessage",
    "@mt",
    "MessageTemplate",
    "log",
    "text",
];
const ERROR_TYPE_KEYS: &[&str] = &[
    "exception_name",
    "errorType",
    "error_type",
    "error.type",
    "error.kind",
    "exception.type",
    "exceptionType",
    "err.type",
    "err.name",
    "error.name",
    "exc_type",
];
const ERROR_MESSAGE_KEYS: &[&str] = &[
    "errorMessage",
    "error_message",
    "error.message",
    "err.message",
    "exception.message",
];
const STACK_KEYS: &[&str] = &[
    "exception",
    "@x",
    "Exception",
    "stack_trace",
    "stacktrace",
    "stack",
    "stackTrace",
    "err.stack",
    "error.stack",
    "error.stack_trace",
    "exception.stacktrace",
    "exc_info",
    "trace",
];
const SERVICE_KEYS: &[&str] = &[
    "service",
    "service.name",
    "serviceName",
    "app",
    "application",
    "Application",
    "app_name",
    "SourceContext",
    "logger_name",
    "name",
];
const REQUEST_ID_KEYS: &[&str] = &[
    "function_request_id",
    "requestId",
    "request_id",
    "RequestId",
    "aws_request_id",
    "awsRequestId",
    "req_id",
    "reqId",
    "x-request-id",
    "correlation_id",
    "correlationId",
];
const TRACE_ID_KEYS: &[&str] = &[
    "xray_trace_id",
    "trace_id",
    "traceId",
    "TraceId",
    "dd.trace_id",
    "trace.id",
    "@tr",
    "traceparent",
];
const STATUS_KEYS: &[&str] = &[
    "status",
    "statusCode",
    "status_code",
    "http.status_code",
    "http_status",
    "httpStatus",
    "res.statusCode",
    "response.status",
    "http.response.status_code",
    "StatusCode",
    "http.status",
];
/// Fields that name the thing a request went to (not the local host: `hostname` is excluded).
const DEPENDENCY_KEYS: &[&str] = &[
    "url",
    "http.url",
    "url.full",
    "upstream",
    "endpoint",
    "peer.service",
    "server.address",
    "net.peer.name",
    "dependency",
    "target",
    "db.system",
];

/// Parses `text` as a JSON object log line into `line`; false if it is not one.
pub(super) fn parse_into(
    text: &str,
    defaults: Option<PrefixDefaults<'_>>,
    line: &mut ParsedLine,
    evidence: &mut String,
) -> bool {
    if !(text.starts_with('{') && text.ends_with('}')) {
        return false;
    }
    let Ok(object) = serde_json::from_str::<Object>(text) else {
        return false;
    };
    if platform::parse_json(&object, line) {
        return true;
    }
    extract(&object, line, evidence);
    if let Some(defaults) = defaults {
        if line.level == Level::Unknown
            && let Some(level) = defaults.level
        {
            line.level = level;
        }
        if line.request_id.is_none() {
            line.request_id = defaults.request_id.map(str::to_owned);
        }
    }
    true
}

fn extract(object: &Object, line: &mut ParsedLine, evidence: &mut String) {
    let shape = shape_of(object);
    line.format = Format::Json(shape);

    line.level = LEVEL_KEYS
        .iter()
        .find_map(|k| lookup(object, k))
        .and_then(|v| match v {
            Value::String(s) => Level::from_word(s.trim()),
            Value::Number(n) => n.as_f64().map(Level::from_number),
            _ => None,
        })
        .unwrap_or(Level::Unknown);
    if line.level == Level::Unknown && shape == JsonShape::SerilogCompact {
        // Compact Serilog omits `@l` for Information.
        line.level = Level::Info;
    }

    let mut message = None;
    for key in MESSAGE_KEYS {
        match lookup(object, key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                message = Some(s.trim().to_owned());
                break;
            }
            // The Node runtime logs `console.error(err)` as `"message": {errorType, errorMessage, stackTrace}`.
            Some(Value::Object(inner)) => {
                read_error_fields(inner, line);
                message = str_field(inner, &["errorMessage", "message", "msg"])
                    .map(str::to_owned)
                    // Powertools also logs plain dicts as the message; keep them readable.
                    .or_else(|| {
                        Some(clip(&Value::Object(inner.clone()).to_string(), 1024).to_owned())
                    });
                break;
            }
            _ => {}
        }
    }

    read_error_fields(object, line);
    // Nested error objects: pino/bunyan `err`, Powertools TS / zap-style `error`.
    for key in ["err", "error", "exception"] {
        match object.get(key) {
            Some(Value::Object(inner)) => read_error_fields(inner, line),
            // zap and many others put the error text in a string `error` field.
            Some(Value::String(s)) if key != "exception" && line.error_message.is_none() => {
                line.error_message = Some(s.trim().to_owned());
            }
            _ => {}
        }
    }

    // Powertools writes `service_undefined` when no service name is configured.
    line.service = first_string(object, SERVICE_KEYS)
        .filter(|s| *s != "service_undefined")
        .map(str::to_owned);
    line.request_id = first_string(object, REQUEST_ID_KEYS).map(str::to_owned);
    line.trace_id = first_string(object, TRACE_ID_KEYS).map(str::to_owned);
    line.http_status = STATUS_KEYS
        .iter()
        .find_map(|k| lookup(object, k).and_then(status_value));
    for key in DEPENDENCY_KEYS {
        if let Some(Value::String(s)) = lookup(object, key) {
            evidence.push_str(clip(s, 512));
            evidence.push('\n');
        }
    }

    if line.level == Level::Unknown && (line.error_type.is_some() || line.stack_trace.is_some()) {
        line.level = Level::Error;
    }
    line.message = message
        .or_else(|| match (&line.error_type, &line.error_message) {
            (Some(t), Some(m)) => Some(format!("{t}: {m}")),
            (None, Some(m)) => Some(m.clone()),
            (Some(t), None) => Some(t.clone()),
            (None, None) => None,
        })
        .unwrap_or_else(|| line.message.clone());
}

/// Reads error type, message and stack from an object that may describe an error.
fn read_error_fields(object: &Object, line: &mut ParsedLine) {
    if line.error_type.is_none() {
        line.error_type = first_string(object, ERROR_TYPE_KEYS).map(str::to_owned);
    }
    if line.error_message.is_none() {
        line.error_message = first_string(object, ERROR_MESSAGE_KEYS).map(str::to_owned);
    }
    if line.stack_trace.is_some() {
        return;
    }
    for key in STACK_KEYS {
        let text = match lookup(object, key) {
            // `trace` is too generic a name to trust unless it is a list of frames.
            Some(Value::String(s)) if *key != "trace" && !s.trim().is_empty() => s.clone(),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => continue,
        };
        let found = trace::find(&text);
        let language = found
            .as_ref()
            .map_or(TraceLanguage::Unknown, |t| t.language);
        let (found_type, found_message) = match found {
            Some(t) => (t.error_type, t.error_message),
            // A bare exception string (`ValueError: bad`) without frames.
            None => text
                .lines()
                .next()
                .and_then(|l| trace::parse_exception_line(l, false))
                .map_or((None, None), |(t, m)| (Some(t), m)),
        };
        if line.error_type.is_none() {
            line.error_type = found_type;
        }
        if line.error_message.is_none() {
            line.error_message = found_message;
        }
        line.stack_trace = Some(StackTrace { language, text });
        return;
    }
}

fn shape_of(object: &Object) -> JsonShape {
    let has = |k: &str| object.contains_key(k);
    if has("@t") || has("@mt") || has("@m") {
        JsonShape::SerilogCompact
    } else if has("MessageTemplate") || has("RenderedMessage") {
        JsonShape::Serilog
    } else if has("@timestamp") && (has("logger_name") || has("@version") || has("stack_trace")) {
        JsonShape::Logstash
    } else if has("function_request_id") || has("xray_trace_id") || has("cold_start") {
        JsonShape::Powertools
    } else if object.get("level").is_some_and(Value::is_number) {
        JsonShape::Pino
    } else if has("msg") && (has("ts") || has("caller")) {
        JsonShape::Zap
    } else if object.get("event").is_some_and(Value::is_string) && !has("message") {
        JsonShape::Structlog
    } else if has("requestId") && (has("level") || has("log_level")) {
        JsonShape::LambdaRuntime
    } else if has("service") && has("level") && has("location") {
        // Powertools for Python outside an invocation has no request id yet.
        JsonShape::Powertools
    } else if has("Timestamp") && has("Level") {
        JsonShape::Serilog
    } else {
        JsonShape::Generic
    }
}

/// A key as written (`"http.status_code"`) or as a path into nested objects.
fn lookup<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    if let Some(v) = object.get(key) {
        return Some(v);
    }
    let (head, rest) = key.split_once('.')?;
    match object.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

fn first_string<'a>(object: &'a Object, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| match lookup(object, k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim()),
        _ => None,
    })
}

fn str_field<'a>(object: &'a Object, keys: &[&str]) -> Option<&'a str> {
    first_string(object, keys)
}

fn status_value(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|n| (100..=599).contains(n))
}
