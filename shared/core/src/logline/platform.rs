//! Recognizes lines the Lambda service writes itself: START/END/REPORT, init reports,
//! timeouts, runtime exits and out-of-memory kills, in text and in the JSON log format.

use super::{Format, Level, ParsedLine, PlatformKind, SuspectedCause};

/// Parses a text platform line (already stripped of any timestamp/request-id header).
/// Returns false if `body` is not one.
pub(super) fn parse_text(body: &str, line: &mut ParsedLine) -> bool {
    let first = body.lines().next().unwrap_or("");
    let kind = if first.starts_with("START RequestId:") {
        PlatformKind::Start
    } else if first.starts_with("END RequestId:") {
        PlatformKind::End
    } else if first.starts_with("REPORT RequestId:") {
        PlatformKind::Report
    } else if first.starts_with("INIT_START ") {
        PlatformKind::InitStart
    } else if first.starts_with("INIT_REPORT ") {
        PlatformKind::InitReport
    } else if first.starts_with("Task timed out after ") {
        PlatformKind::Timeout
    } else if body.contains("Runtime.OutOfMemory")
        || (body.contains("Runtime exited") && body.contains("out of memory"))
    {
        PlatformKind::OutOfMemory
    } else if first.contains("Runtime exited") || first.starts_with("Runtime.ExitError") {
        PlatformKind::RuntimeExited
    } else if first.starts_with("EXTENSION ")
        || first.starts_with("TELEMETRY ")
        || first.starts_with("LOGS ")
        || first.starts_with("XRAY TraceId:")
    {
        PlatformKind::Extension
    } else {
        return false;
    };
    line.format = Format::LambdaPlatform(kind);
    line.message = body.trim().to_owned();
    if let Some(id) = field(first, "RequestId: ") {
        line.request_id = Some(id.to_owned());
    }
    if kind == PlatformKind::Extension
        && let Some(id) = field(first, "TraceId: ")
    {
        line.trace_id = Some(id.to_owned());
    }
    let status = field(first, "Status: ");
    let error_type = field(first, "Error Type: ");
    match kind {
        PlatformKind::Timeout => fail(line, "Sandbox.Timedout", SuspectedCause::Resource),
        PlatformKind::OutOfMemory => fail(line, "Runtime.OutOfMemory", SuspectedCause::Resource),
        PlatformKind::RuntimeExited => {
            // `signal: killed` is how the sandbox reports a process killed for memory.
            let cause = if body.contains("signal: killed") {
                SuspectedCause::Resource
            } else {
                SuspectedCause::Unknown
            };
            let error_type = body
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("Runtime.") && !l.contains(' '))
                .unwrap_or("Runtime.ExitError");
            fail(line, error_type, cause);
        }
        PlatformKind::Report | PlatformKind::InitReport => match (status, error_type) {
            (Some("timeout"), _) => fail(line, "Sandbox.Timedout", SuspectedCause::Resource),
            (_, Some(t)) => fail(line, t, cause_of_platform_error(t)),
            (Some("error" | "failure"), None) => {
                fail(line, "Runtime.Unknown", SuspectedCause::Unknown)
            }
            _ => line.level = Level::Info,
        },
        _ => line.level = Level::Info,
    }
    true
}

/// The Lambda JSON log format for system logs: `{"time":..,"type":"platform.report","record":{..}}`.
pub(super) fn parse_json(
    object: &serde_json::Map<String, serde_json::Value>,
    line: &mut ParsedLine,
) -> bool {
    let Some(kind_name) = object
        .get("type")
        .and_then(|t| t.as_str())
        .and_then(|t| t.strip_prefix("platform."))
    else {
        return false;
    };
    let record = object.get("record");
    let get = |k: &str| record.and_then(|r| r.get(k)).and_then(|v| v.as_str());
    let kind = match kind_name {
        "start" => PlatformKind::Start,
        "runtimeDone" | "report" => PlatformKind::Report,
        "initStart" => PlatformKind::InitStart,
        "initReport" | "initRuntimeDone" => PlatformKind::InitReport,
        "extension" | "telemetrySubscription" | "logsSubscription" => PlatformKind::Extension,
        _ => PlatformKind::Other,
    };
    line.format = Format::LambdaPlatform(kind);
    line.level = Level::Info;
    line.message = format!("platform.{kind_name}");
    line.request_id = get("requestId").map(str::to_owned);
    match (get("status"), get("errorType")) {
        (Some("timeout"), _) => fail(line, "Sandbox.Timedout", SuspectedCause::Resource),
        (_, Some(t)) => fail(line, t, cause_of_platform_error(t)),
        (Some("error" | "failure"), None) => fail(line, "Runtime.Unknown", SuspectedCause::Unknown),
        _ => {}
    }
    if line.error_type.is_some() {
        line.message = format!(
            "platform.{kind_name} status {} {}",
            get("status").unwrap_or("error"),
            line.error_type.as_deref().unwrap_or("")
        );
    }
    true
}

fn fail(line: &mut ParsedLine, error_type: &str, cause: SuspectedCause) {
    line.level = Level::Error;
    line.error_type = Some(error_type.to_owned());
    line.cause = cause;
}

fn cause_of_platform_error(error_type: &str) -> SuspectedCause {
    match error_type {
        "Runtime.OutOfMemory" | "Sandbox.Timedout" => SuspectedCause::Resource,
        "Runtime.ImportModuleError"
        | "Runtime.HandlerNotFound"
        | "Runtime.UserCodeSyntaxError"
        | "Runtime.MalformedHandlerName" => SuspectedCause::Code,
        _ => SuspectedCause::Unknown,
    }
}

/// The value after `key` up to the next tab or space-separated field (`RequestId: abc\tDuration: ...`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (_, rest) = line.split_once(key)?;
    let value = rest.split(['\t']).next()?.trim();
    // Space-separated variants (`RequestId: x Version: $LATEST`) keep only the first word,
    // except for values that are words by themselves (`Error Type: Runtime.ExitError`).
    let value = value.split(' ').next()?;
    (!value.is_empty()).then_some(value)
}
