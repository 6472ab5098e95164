//! Extracts level, message, error and context fields from JSON log lines of the common loggers.
//! Extraction is driven by field names shared across loggers; the detected shape is only a label.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

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
    let fields = Fields::of(object);

    line.level = fields
        .values(Role::Level)
        .next()
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
    for value in fields.values(Role::Message) {
        match value {
            Value::String(s) if !s.trim().is_empty() => {
                message = Some(s.trim().to_owned());
                break;
            }
            // The Node runtime logs `console.error(err)` as `"message": {errorType, errorMessage, stackTrace}`.
            Value::Object(inner) => {
                read_error_fields(&Fields::of(inner), line);
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

    read_error_fields(&fields, line);
    // Nested error objects: pino/bunyan `err`, Powertools TS / zap-style `error`.
    for key in ["err", "error", "exception"] {
        match object.get(key) {
            Some(Value::Object(inner)) => read_error_fields(&Fields::of(inner), line),
            // zap and many others put the error text in a string `error` field.
            Some(Value::String(s)) if key != "exception" && line.error_message.is_none() => {
                line.error_message = Some(s.trim().to_owned());
            }
            _ => {}
        }
    }

    // Powertools writes `service_undefined` when no service name is configured.
    line.service = fields
        .first_string(Role::Service)
        .filter(|s| *s != "service_undefined")
        .map(str::to_owned);
    line.request_id = fields.first_string(Role::RequestId).map(str::to_owned);
    line.trace_id = fields.first_string(Role::TraceId).map(str::to_owned);
    line.http_status = fields.values(Role::Status).find_map(status_value);
    for value in fields.values(Role::Dependency) {
        if let Value::String(s) = value {
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
fn read_error_fields(fields: &Fields<'_>, line: &mut ParsedLine) {
    if line.error_type.is_none() {
        line.error_type = fields.first_string(Role::ErrorType).map(str::to_owned);
    }
    if line.error_message.is_none() {
        line.error_message = fields.first_string(Role::ErrorMessage).map(str::to_owned);
    }
    if line.stack_trace.is_some() {
        return;
    }
    for (key, value) in fields.named(Role::Stack) {
        let text = match value {
            // `trace` is too generic a name to trust unless it is a list of frames.
            Value::String(s) if key != "trace" && !s.trim().is_empty() => s.clone(),
            Value::Array(items) if !items.is_empty() => items
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

/// What a field means to the extraction; each role's keys are listed above in order of
/// preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Level,
    Message,
    ErrorType,
    ErrorMessage,
    Stack,
    Service,
    RequestId,
    TraceId,
    Status,
    Dependency,
}

impl Role {
    const ALL: [(Role, &'static [&'static str]); 10] = [
        (Role::Level, LEVEL_KEYS),
        (Role::Message, MESSAGE_KEYS),
        (Role::ErrorType, ERROR_TYPE_KEYS),
        (Role::ErrorMessage, ERROR_MESSAGE_KEYS),
        (Role::Stack, STACK_KEYS),
        (Role::Service, SERVICE_KEYS),
        (Role::RequestId, REQUEST_ID_KEYS),
        (Role::TraceId, TRACE_ID_KEYS),
        (Role::Status, STATUS_KEYS),
        (Role::Dependency, DEPENDENCY_KEYS),
    ];
}

/// Every known key (`"http.status_code"` as written or as a path) and the roles it plays,
/// with its rank in each role's list; and every head of a dotted key (`"http"`), so nested
/// objects are only walked when they can hold one.
struct KeyTable {
    keys: HashMap<&'static str, Vec<(Role, u8)>>,
    heads: HashSet<&'static str>,
}

static KEY_TABLE: LazyLock<KeyTable> = LazyLock::new(|| {
    let mut keys: HashMap<&'static str, Vec<(Role, u8)>> = HashMap::new();
    let mut heads = HashSet::new();
    for (role, names) in Role::ALL {
        for (rank, name) in names.iter().enumerate() {
            let rank = u8::try_from(rank).expect("key lists are short");
            keys.entry(*name).or_default().push((role, rank));
            let mut dot = 0;
            while let Some(at) = name[dot..].find('.') {
                heads.insert(&name[..dot + at]);
                dot += at + 1;
            }
        }
    }
    KeyTable { keys, heads }
});

/// The fields of one object that play a role, found in one pass over its keys (and over
/// nested objects under a known head), instead of looking up each of ~90 candidate keys.
struct Fields<'a> {
    /// (role, rank in the role's list, nesting depth, key as listed, value), sorted; for one
    /// role and rank only the shallowest entry is kept, since a key written with its dots
    /// (`"error.type": …`) wins over the same path through nested objects.
    found: Vec<(Role, u8, u8, &'static str, &'a Value)>,
}

impl<'a> Fields<'a> {
    fn of(object: &'a Object) -> Self {
        let table = &*KEY_TABLE;
        let mut found = Vec::new();
        collect(table, object, None, 0, &mut found);
        found.sort_by_key(|(role, rank, depth, _, _)| (*role, *rank, *depth));
        found.dedup_by_key(|(role, rank, _, _, _)| (*role, *rank));
        Fields { found }
    }

    /// The values for `role`, in the order of its key list.
    fn values(&self, role: Role) -> impl Iterator<Item = &'a Value> + '_ {
        self.named(role).map(|(_, value)| value)
    }

    /// The keys (as listed) and values for `role`, in the order of its key list.
    fn named(&self, role: Role) -> impl Iterator<Item = (&'static str, &'a Value)> + '_ {
        self.found
            .iter()
            .filter(move |(r, ..)| *r == role)
            .map(|(_, _, _, key, value)| (*key, *value))
    }

    /// The first non-blank string among `role`'s keys, trimmed.
    fn first_string(&self, role: Role) -> Option<&'a str> {
        self.values(role).find_map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim()),
            _ => None,
        })
    }
}

/// Adds the role-playing fields of `object` (reached through `prefix`) to `found`.
fn collect<'a>(
    table: &KeyTable,
    object: &'a Object,
    prefix: Option<&str>,
    depth: u8,
    found: &mut Vec<(Role, u8, u8, &'static str, &'a Value)>,
) {
    for (key, value) in object {
        let path;
        let name = match prefix {
            Some(p) => {
                path = format!("{p}.{key}");
                path.as_str()
            }
            None => key.as_str(),
        };
        if let Some((listed, roles)) = table.keys.get_key_value(name) {
            found.extend(
                roles
                    .iter()
                    .map(|(role, rank)| (*role, *rank, depth, *listed, value)),
            );
        }
        if let Value::Object(inner) = value
            && table.heads.contains(name)
        {
            collect(table, inner, Some(name), depth + 1, found);
        }
    }
}

/// A key as written (`"errorMessage"`) or as a path into nested objects.
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

fn str_field<'a>(object: &'a Object, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| match lookup(object, k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim()),
        _ => None,
    })
}

fn status_value(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|n| (100..=599).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Object {
        serde_json::from_str(text).expect("test JSON")
    }

    #[test]
    fn a_dotted_key_as_written_wins_over_the_same_path() {
        let o = object(r#"{"error":{"type":"Nested"},"error.type":"Written"}"#);
        assert_eq!(
            Fields::of(&o).first_string(Role::ErrorType),
            Some("Written")
        );
        let o = object(r#"{"http":{"response":{"status_code":503}}}"#);
        let status: Vec<&Value> = Fields::of(&o).values(Role::Status).collect();
        assert_eq!(status, [&Value::from(503)]);
    }

    #[test]
    fn fields_come_in_the_order_of_the_key_list() {
        // LEVEL_KEYS lists `level` before `severity`, whatever the object's order.
        let o = object(r#"{"severity":"warn","level":"error","service":"","app":"shop"}"#);
        let fields = Fields::of(&o);
        assert_eq!(
            fields.values(Role::Level).next(),
            Some(&Value::from("error"))
        );
        // A blank `service` is skipped for the next key that has a value.
        assert_eq!(fields.first_string(Role::Service), Some("shop"));
    }
}
