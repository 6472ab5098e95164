//! Finds a stack trace inside one message (Java, Python, Node, .NET, Rust and Go panics).
//! CloudWatch delivers a multi-line entry as one event, so the trace travels with its log line.

use super::TraceLanguage;

/// Lines examined when looking for the first frame; traces start near the top.
const MAX_SCAN_LINES: usize = 400;

pub(super) struct TraceInfo<'a> {
    pub language: TraceLanguage,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// Byte offset in the body where the trace text starts.
    pub start: usize,
    /// The exception line (`Type: message`) if it could be found.
    pub exception_line: Option<&'a str>,
}

/// Lines of `s` with their byte offsets, `\r` stripped.
fn lines_with_offsets(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    s.split('\n').map(move |l| {
        let start = offset;
        offset += l.len() + 1;
        (start, l.strip_suffix('\r').unwrap_or(l))
    })
}

pub(super) fn find(body: &str) -> Option<TraceInfo<'_>> {
    let lines: Vec<(usize, &str)> = lines_with_offsets(body).take(MAX_SCAN_LINES).collect();
    for (i, &(offset, line)) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("Traceback (most recent call last):") {
            return Some(python(body, &lines[i..], offset));
        }
        if t.starts_with("thread '") && t.contains("' panicked at ") {
            return Some(rust_panic(t, lines.get(i + 1).map(|l| l.1), offset));
        }
        if (t.starts_with("panic: ") || t.starts_with("fatal error: "))
            && lines[i + 1..].iter().any(|l| l.1.starts_with("goroutine "))
        {
            let (_, msg) = t.split_once(": ").unwrap_or((t, ""));
            return Some(TraceInfo {
                language: TraceLanguage::Go,
                error_type: Some("panic".to_owned()),
                error_message: non_empty(msg),
                start: offset,
                exception_line: Some(t),
            });
        }
        if is_frame_line(line) {
            return Some(framed(&lines[..i], line));
        }
    }
    None
}

fn python<'a>(body: &'a str, lines: &[(usize, &'a str)], start: usize) -> TraceInfo<'a> {
    // The raised exception is the last unindented `Type: message` line; chained
    // tracebacks put the one that escaped last.
    let exception = lines.iter().rev().map(|l| l.1).find(|l| {
        !l.is_empty() && !l.starts_with([' ', '\t']) && parse_exception_line(l, false).is_some()
    });
    // Scanning stopped early on very long traces; the tail of the body may still hold it.
    let exception = exception.or_else(|| {
        body.rsplit('\n')
            .take(5)
            .find(|l| !l.starts_with([' ', '\t']) && parse_exception_line(l, false).is_some())
    });
    let parsed = exception.and_then(|l| parse_exception_line(l, false));
    TraceInfo {
        language: TraceLanguage::Python,
        error_type: parsed.as_ref().map(|p| p.0.to_owned()),
        error_message: parsed.and_then(|p| p.1),
        start,
        exception_line: exception,
    }
}

fn rust_panic<'a>(line: &'a str, next: Option<&'a str>, start: usize) -> TraceInfo<'a> {
    let after = line.split_once("' panicked at ").map_or("", |p| p.1);
    let message = if let Some(old) = after.strip_prefix('\'') {
        // Before Rust 1.73: `panicked at 'message', src/main.rs:2:5`
        old.rsplit_once("', ").map_or(old, |p| p.0)
    } else {
        // Since 1.73 the message is on the next line.
        next.unwrap_or("")
    };
    TraceInfo {
        language: TraceLanguage::Rust,
        error_type: Some("panic".to_owned()),
        error_message: non_empty(message.trim()),
        start,
        exception_line: Some(line),
    }
}

/// Java, Node and .NET: frames start with `at `; the exception line sits above the first frame.
fn framed<'a>(above: &[(usize, &'a str)], first_frame: &str) -> TraceInfo<'a> {
    // Take the topmost parseable line of the block right above the frames: .NET lists
    // inner exceptions (`--->`) there and messages may span lines.
    let mut chosen: Option<(usize, &str, ExceptionLine)> = None;
    for &(offset, line) in above.iter().rev().take(8) {
        if line.trim().is_empty() || is_frame_line(line) {
            break;
        }
        if let Some(parsed) = parse_exception_line(line, false) {
            chosen = Some((offset, line, parsed));
        }
    }
    let start = chosen
        .as_ref()
        .map(|c| c.0)
        .or_else(|| above.last().map(|l| l.0))
        .unwrap_or(0);
    let type_name = chosen.as_ref().map(|c| c.2.0.as_str());
    let language = frame_language(first_frame, type_name);
    match chosen {
        Some((_, line, (error_type, error_message))) => TraceInfo {
            language,
            error_type: Some(error_type),
            error_message,
            start,
            exception_line: Some(line.trim()),
        },
        None => TraceInfo {
            language,
            error_type: None,
            error_message: None,
            start,
            exception_line: None,
        },
    }
}

fn frame_language(frame: &str, type_name: Option<&str>) -> TraceLanguage {
    if frame.contains(".java:")
        || frame.contains("Native Method")
        || frame.contains("Unknown Source")
    {
        TraceLanguage::Java
    } else if frame.contains(":line ") || frame.contains(") in ") {
        TraceLanguage::DotNet
    } else if [
        ".js:",
        ".mjs:",
        ".cjs:",
        ".ts:",
        "node:",
        "<anonymous>",
        "file://",
    ]
    .iter()
    .any(|m| frame.contains(m))
    {
        TraceLanguage::Node
    } else {
        match type_name {
            Some(t) if t.starts_with("System.") || t.starts_with("Microsoft.") => {
                TraceLanguage::DotNet
            }
            Some(t) if t.contains('.') => TraceLanguage::Java,
            Some(_) => TraceLanguage::Node,
            None => TraceLanguage::Unknown,
        }
    }
}

/// An exception's type and its message, if it has one.
type ExceptionLine = (String, Option<String>);

/// `\tat com.x.Foo.bar(Foo.java:12)`, `    at fn (/var/task/index.js:1:2)`, `   at A.B() in /p.cs:line 3`.
pub(super) fn is_frame_line(line: &str) -> bool {
    let t = line.trim_start();
    t.len() > 3
        && t.starts_with("at ")
        && (line.len() != t.len() || t.contains('('))
        && (t.contains('(') || t.contains(':'))
}

/// Parses `Type: message` (also `Type` alone, `Exception in thread "x" Type: m`,
/// `Caused by: Type: m`, `TypeError [ERR_X]: m`, `SocketException (111): m`).
/// `strict` demands an exception-like name (…Error, …Exception) as used outside trace context.
pub(super) fn parse_exception_line(line: &str, strict: bool) -> Option<ExceptionLine> {
    let mut t = line.trim();
    if let Some(rest) = t.strip_prefix("Exception in thread \"") {
        t = rest.split_once("\" ").map_or(rest, |p| p.1);
    }
    for prefix in ["Caused by: ", "---> ", "Uncaught ", "[ERROR] "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
        }
    }
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'))
        .unwrap_or(t.len());
    let type_name = &t[..end];
    let first = type_name.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') || type_name.ends_with('.') {
        return None;
    }
    let mut rest = &t[end..];
    // Node error codes and .NET socket error numbers sit between the type and the colon.
    for (open, close) in [(" [", ']'), (" (", ')')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(close_at) = inner.find(close)
            && close_at <= 40
        {
            rest = &inner[close_at + 1..];
        }
    }
    let message = if rest.is_empty() {
        None
    } else {
        let m = rest.strip_prefix(':')?;
        if m.starts_with(':') || m.starts_with('/') {
            // `host::x` or `http://` are not exception lines.
            return None;
        }
        non_empty(m.trim())
    };
    let last = type_name.rsplit('.').next().unwrap_or(type_name);
    let exception_like = [
        "Error",
        "Exception",
        "Fault",
        "Failure",
        "Interrupt",
        "Exit",
    ]
    .iter()
    .any(|s| last.ends_with(s) && last.len() > s.len())
        || last == "Error"
        || last == "Exception"
        || type_name.starts_with("Runtime.");
    let plausible = if strict {
        exception_like
    } else {
        exception_like
            || (last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && last.len() >= 4
                && (message.is_some() || type_name.contains('.')))
    };
    plausible.then(|| (type_name.to_owned(), message))
}

/// The first exception-like name inside free text (`... failed: ProvisionedThroughputExceededException: ...`).
pub(super) fn exception_name_in(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'))
        .map(|w| w.trim_matches('.'))
        .find(|w| {
            let last = w.rsplit('.').next().unwrap_or(w);
            last.len() > "Error".len()
                && last.starts_with(|c: char| c.is_ascii_uppercase())
                && (last.ends_with("Exception") || last.ends_with("Error"))
                && last.bytes().skip(1).any(|b| b.is_ascii_lowercase())
        })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}
