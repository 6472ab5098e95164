//! Parses one CloudWatch log event message into a [`ParsedLine`] without per-source configuration.
//! Recognizes common JSON logger shapes, plain-text headers, Lambda platform lines and stack traces.

mod dependency;
mod json;
mod platform;
mod quick;
mod sanitize;
mod text;
mod trace;

pub use quick::json_line_cannot_be_error;
pub use sanitize::sanitize_sample;

/// Only this much of a message is examined: a multi-megabyte event (a dumped payload)
/// must not cost more than a normal one, and the interesting parts are at the start.
pub const MAX_EXAMINED_BYTES: usize = 64 * 1024;

/// Severity, normalized across loggers. `Unknown` when the line carries none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Unknown,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Maps a level word as loggers spell it (`ERROR`, `err`, `Warning`, `CRITICAL`, `SEVERE`...).
    pub fn from_word(word: &str) -> Option<Level> {
        const WORDS: &[(&str, Level)] = &[
            ("error", Level::Error),
            ("err", Level::Error),
            ("warn", Level::Warn),
            ("warning", Level::Warn),
            ("info", Level::Info),
            ("information", Level::Info),
            ("notice", Level::Info),
            ("debug", Level::Debug),
            ("trace", Level::Trace),
            ("verbose", Level::Trace),
            ("fine", Level::Debug),
            ("finer", Level::Trace),
            ("finest", Level::Trace),
            ("config", Level::Info),
            ("fatal", Level::Fatal),
            ("critical", Level::Fatal),
            ("crit", Level::Fatal),
            ("severe", Level::Error),
            ("alert", Level::Fatal),
            ("emerg", Level::Fatal),
            ("emergency", Level::Fatal),
            ("panic", Level::Fatal),
            ("dpanic", Level::Fatal),
            ("eror", Level::Error),
            ("wrn", Level::Warn),
            ("inf", Level::Info),
            ("dbg", Level::Debug),
            ("trc", Level::Trace),
            ("ftl", Level::Fatal),
            ("crt", Level::Fatal),
        ];
        if word.len() > 11 {
            return None;
        }
        WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|(_, level)| *level)
    }

    /// pino/bunyan numeric levels (10 trace … 60 fatal); values in between round down.
    pub fn from_number(n: f64) -> Level {
        match n {
            n if n >= 60.0 => Level::Fatal,
            n if n >= 50.0 => Level::Error,
            n if n >= 40.0 => Level::Warn,
            n if n >= 30.0 => Level::Info,
            n if n >= 20.0 => Level::Debug,
            n if n >= 10.0 => Level::Trace,
            _ => Level::Unknown,
        }
    }

    pub fn is_error(self) -> bool {
        self >= Level::Error
    }
}

/// Which JSON logger produced a line; a label for metrics and debugging, extraction is field-driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonShape {
    Powertools,
    /// pino and bunyan (numeric levels).
    Pino,
    Zap,
    Structlog,
    SerilogCompact,
    Serilog,
    /// logback/log4j2 JSON encoders (logstash-logback-encoder and friends).
    Logstash,
    /// The Lambda runtime's own JSON log format (`requestId`, `level`, `message`).
    LambdaRuntime,
    /// Any other JSON object.
    Generic,
}

/// The header style of a plain-text line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextShape {
    /// `2024-01-01T00:00:00.000Z\t<request id>\tERROR\t...` (Node.js runtime).
    LambdaNode,
    /// `[ERROR]\t2024-01-01T00:00:00.000Z\t<request id>\t...` (Python runtime).
    LambdaPython,
    /// `Nov 24 02:50:13 host prog[pid]: ...`
    Syslog,
    /// `E0101 12:00:00.000000 1 file.go:12] ...`
    Klog,
    /// `ERROR:name:message` or `... - name - ERROR - message`.
    PythonLogging,
    /// `2024-01-01 00:00:00,123 ERROR [thread] com.example.Foo - message` and logback's default.
    Log4j,
    /// `time=... level=error msg="..."` (logrus, Go kit, slog's text handler).
    Logfmt,
    /// Some header (timestamp, brackets, level word) in another arrangement.
    Header,
    /// No header; the line is a stack trace or an exception line by itself.
    Trace,
}

/// Lambda service lines (not written by the function's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformKind {
    Start,
    End,
    Report,
    InitStart,
    InitReport,
    Timeout,
    RuntimeExited,
    OutOfMemory,
    Extension,
    Other,
}

/// What kind of line this was recognized as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json(JsonShape),
    Text(TextShape),
    LambdaPlatform(PlatformKind),
    Unrecognized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceLanguage {
    Java,
    Python,
    Node,
    DotNet,
    Rust,
    Go,
    Unknown,
}

/// A stack trace kept with its line (from the exception line to the end, within the examined bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTrace {
    pub language: TraceLanguage,
    pub text: String,
}

/// The suspected cause of an error: which kind of thing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuspectedCause {
    Database,
    ExternalApi,
    AwsService,
    Network,
    /// The function itself ran out of time or memory (or another local resource).
    Resource,
    /// A programming error (TypeError, NullPointerException, KeyError...).
    Code,
    Unknown,
}

/// Everything extracted from one log event message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub format: Format,
    pub level: Level,
    /// The human message without timestamp/level headers, for pattern mining.
    pub message: String,
    /// e.g. `java.net.ConnectException`, `ValueError`, `TypeError`, `Sandbox.Timedout`.
    pub error_type: Option<String>,
    /// The top error message, without its type.
    pub error_message: Option<String>,
    /// From a field (service, name, logger_name, app...); callers fall back to the log group.
    pub service: Option<String>,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub http_status: Option<u16>,
    /// The external thing the error names: `host`, `host:port`, or a service such as `dynamodb`.
    pub dependency: Option<String>,
    pub cause: SuspectedCause,
    pub stack_trace: Option<StackTrace>,
    /// True when the message was longer than [`MAX_EXAMINED_BYTES`] and only its start was examined.
    pub truncated: bool,
}

impl ParsedLine {
    fn raw(message: &str, truncated: bool) -> Self {
        ParsedLine {
            format: Format::Unrecognized,
            level: Level::Unknown,
            message: message.to_owned(),
            error_type: None,
            error_message: None,
            service: None,
            request_id: None,
            trace_id: None,
            http_status: None,
            dependency: None,
            cause: SuspectedCause::Unknown,
            stack_trace: None,
            truncated,
        }
    }

    /// Error or fatal level, a failed Lambda platform event, or a stack trace.
    pub fn is_error(&self) -> bool {
        self.level.is_error()
            || self.stack_trace.is_some()
            || (matches!(self.format, Format::LambdaPlatform(_)) && self.error_type.is_some())
    }
}

/// Parses one log event message. Never fails: what cannot be parsed comes back as
/// `Format::Unrecognized` with level `Unknown` and the raw (trimmed) message.
pub fn parse_line(message: &str) -> ParsedLine {
    let (examined, truncated) = cap_examined(message);
    let trimmed = examined.trim();
    let mut line = ParsedLine::raw(trimmed, truncated);
    if trimmed.is_empty() {
        return line;
    }
    let mut evidence = String::new();
    if !json::parse_into(trimmed, None, &mut line, &mut evidence) {
        text::parse_into(trimmed, &mut line, &mut evidence);
    }
    // Cause and dependency only matter for problem lines; skipping them keeps info lines
    // cheap. Platform lines already carry their cause and never name a dependency.
    let problem =
        !matches!(line.level, Level::Trace | Level::Debug | Level::Info) || line.is_error();
    if problem && !matches!(line.format, Format::LambdaPlatform(_)) {
        if line.error_type.is_none() {
            line.error_type =
                trace::exception_name_in(clip(&line.message, 1024)).map(str::to_owned);
        }
        dependency::analyze(&mut line, &evidence);
    }
    line
}

fn cap_examined(message: &str) -> (&str, bool) {
    if message.len() <= MAX_EXAMINED_BYTES {
        return (message, false);
    }
    (
        crate::text::prefix_within(message, MAX_EXAMINED_BYTES),
        true,
    )
}

/// Prefix of `s` of at most `max` bytes, cut on a char boundary.
pub(crate) fn clip(s: &str, max: usize) -> &str {
    crate::text::prefix_within(s, max)
}

#[cfg(test)]
mod tests;
