//! Strips plain-text headers (Lambda runtime prefixes, timestamps, syslog, klog, level words,
//! logger names) from a line and hands the body to platform, JSON and stack-trace recognition.

use super::json::{self, PrefixDefaults};
use super::{Format, Level, ParsedLine, StackTrace, TextShape, platform, trace};

/// Header tokens examined before deciding the message has started.
const MAX_HEADER_TOKENS: usize = 12;

pub(super) fn parse_into(s: &str, line: &mut ParsedLine, evidence: &mut String) {
    if let Some(prefix) = lambda_prefix(s) {
        line.request_id = prefix.request_id.map(str::to_owned);
        let payload = strip_runtime_label(prefix.rest);
        let defaults = PrefixDefaults {
            level: prefix.level,
            request_id: prefix.request_id,
        };
        if json::parse_into(payload, Some(defaults), line, evidence) {
            return;
        }
        let header = Header {
            level: prefix.level,
            shape: Some(prefix.shape),
            request_id: prefix.request_id,
        };
        body_into(prefix.rest, header, line);
        return;
    }
    if logfmt(s, line) {
        return;
    }
    let (header, rest) = strip_header(s);
    if let Some(id) = header.request_id {
        line.request_id = Some(id.to_owned());
    }
    if header.shape.is_some() && json::parse_into(rest, None, line, evidence) {
        if line.level == Level::Unknown
            && let Some(level) = header.level
        {
            line.level = level;
        }
        return;
    }
    body_into(rest, header, line);
}

#[derive(Default)]
struct Header<'a> {
    level: Option<Level>,
    shape: Option<TextShape>,
    request_id: Option<&'a str>,
}

fn body_into(body: &str, header: Header<'_>, line: &mut ParsedLine) {
    let body = body.trim();
    if let Some(id) = header.request_id {
        line.request_id = Some(id.to_owned());
    }
    if platform::parse_text(body, line) {
        return;
    }
    let first_line = body.lines().next().unwrap_or("").trim();
    line.message = first_line.to_owned();
    line.level = header.level.unwrap_or(Level::Unknown);
    let mut shape = header.shape;

    if let Some(found) = trace::find(body) {
        let trace_text = body.get(found.start..).unwrap_or(body);
        let starts_at_top = body.get(..found.start).is_none_or(|s| s.trim().is_empty());
        if starts_at_top {
            // The event is the trace itself: its exception is the message.
            line.message = match (&found.error_type, &found.error_message) {
                (Some(t), Some(m)) => format!("{t}: {m}"),
                (Some(t), None) => t.clone(),
                _ => found.exception_line.unwrap_or(first_line).to_owned(),
            };
            shape = shape.or(Some(TextShape::Trace));
        }
        line.error_type = found.error_type;
        line.error_message = found.error_message;
        line.stack_trace = Some(StackTrace {
            language: found.language,
            text: trace_text.to_owned(),
        });
        if line.level == Level::Unknown {
            line.level = Level::Error;
        }
    } else if let Some((error_type, error_message)) = trace::parse_exception_line(first_line, true)
    {
        // A lone `java.net.ConnectException: Connection refused` line.
        line.error_type = Some(error_type);
        line.error_message = error_message;
        if line.level == Level::Unknown {
            line.level = Level::Error;
        }
        shape = shape.or(Some(TextShape::Trace));
    }
    line.format = shape.map_or(Format::Unrecognized, Format::Text);
}

/// `time="..." level=error msg="failed" error="dial tcp ..."`: key=value pairs with a level and a message.
fn logfmt(s: &str, line: &mut ParsedLine) -> bool {
    let first = s.lines().next().unwrap_or("");
    let has = |k: &str| first.starts_with(k) || first.contains(&format!(" {k}"));
    if !(has("level=") || has("lvl=")) || !(has("msg=") || has("message=")) {
        return false;
    }
    let mut message = None;
    for (key, value) in logfmt_pairs(first) {
        match key {
            "level" | "lvl" => line.level = Level::from_word(&value).unwrap_or(Level::Unknown),
            "msg" | "message" => message = Some(value),
            "error" | "err" => line.error_message = Some(value),
            "service" | "app" | "component" => line.service = Some(value),
            "request_id" | "requestId" | "req_id" => line.request_id = Some(value),
            "trace_id" | "traceId" => line.trace_id = Some(value),
            "status" | "status_code" | "statusCode" => {
                line.http_status = value.parse().ok().filter(|s| (100..=599).contains(s));
            }
            _ => {}
        }
    }
    line.format = Format::Text(TextShape::Logfmt);
    line.message = message.unwrap_or_else(|| first.to_owned());
    if let Some(found) = trace::find(s) {
        line.error_type = found.error_type;
        line.stack_trace = Some(StackTrace {
            language: found.language,
            text: s.get(found.start..).unwrap_or(s).to_owned(),
        });
    }
    true
}

/// Splits `k=v k2="quoted \"v\""` into pairs; malformed parts are skipped.
fn logfmt_pairs(line: &str) -> Vec<(&str, String)> {
    let mut pairs = Vec::new();
    let mut rest = line.trim_start();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].rsplit(' ').next().unwrap_or("");
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        if !key.is_empty() {
            pairs.push((key, value));
        }
        rest = next.trim_start();
    }
    pairs
}

struct LambdaPrefix<'a> {
    level: Option<Level>,
    request_id: Option<&'a str>,
    rest: &'a str,
    shape: TextShape,
}

/// `2024-01-01T00:00:00.000Z\t<request id>\tERROR\t<rest>` (Node) and
/// `[ERROR]\t2024-01-01T00:00:00.000Z\t<request id>\t<rest>` / `[ERROR] <rest>` (Python).
fn lambda_prefix(s: &str) -> Option<LambdaPrefix<'_>> {
    if let Some(after) = s.strip_prefix('[') {
        let (word, rest) = after.split_once(']')?;
        let level = Level::from_word(word)?;
        if let Some(tabbed) = rest.strip_prefix('\t') {
            let mut parts = tabbed.splitn(3, '\t');
            let ts = parts.next()?;
            let request_id = parts.next()?;
            let rest = parts.next()?;
            if !is_iso_timestamp(ts) {
                return None;
            }
            return Some(LambdaPrefix {
                level: Some(level),
                request_id: Some(request_id.trim()).filter(|r| !r.is_empty()),
                rest,
                shape: TextShape::LambdaPython,
            });
        }
        // Uncaught Python errors: `[ERROR] Runtime.ImportModuleError: ...`
        let rest = rest.strip_prefix(' ')?;
        return Some(LambdaPrefix {
            level: Some(level),
            request_id: None,
            rest,
            shape: TextShape::LambdaPython,
        });
    }
    let mut parts = s.splitn(4, '\t');
    let ts = parts.next()?;
    let request_id = parts.next()?;
    let level_word = parts.next()?;
    let rest = parts.next()?;
    if !is_iso_timestamp(ts) || request_id.contains(' ') {
        return None;
    }
    let level = Level::from_word(level_word.trim())?;
    Some(LambdaPrefix {
        level: Some(level),
        request_id: Some(request_id).filter(|r| !r.is_empty() && *r != "undefined"),
        rest,
        shape: TextShape::LambdaNode,
    })
}

/// The Node runtime labels uncaught errors before their JSON (`Invoke Error \t{...}`).
fn strip_runtime_label(rest: &str) -> &str {
    let rest = rest.trim();
    for label in [
        "Invoke Error",
        "Uncaught Exception",
        "Unhandled Promise Rejection",
    ] {
        if let Some(r) = rest.strip_prefix(label) {
            return r.trim();
        }
    }
    rest
}

/// Finds the end of the header on the first line. Returns the header and the rest of `s`.
fn strip_header(s: &str) -> (Header<'_>, &str) {
    if let Some(found) = klog(s) {
        return found;
    }
    if let Some(found) = python_default(s) {
        return found;
    }
    let line_end = s.find('\n').unwrap_or(s.len());
    let first = &s[..line_end];
    let mut header = Header::default();
    let mut pos = 0;
    let mut seen_header = false;
    let mut brackets_after_level = 0;
    let mut spring_separator = false;
    let mut logger_seen = false;
    let mut syslog = false;
    let mut logger_before_level = false;

    for _ in 0..MAX_HEADER_TOKENS {
        let Some((start, end)) = next_token(first, pos) else {
            break;
        };
        let token = &first[start..end];

        if token.starts_with('[') {
            let Some(close) = first[start..].find(']').filter(|c| *c <= 120) else {
                break;
            };
            let inner = &first[start + 1..start + close];
            if header.level.is_none()
                && let Some(level) = Level::from_word(inner.trim())
            {
                header.level = Some(level);
            } else if header.level.is_some() {
                brackets_after_level += 1;
                if brackets_after_level > if spring_separator { 2 } else { 1 } {
                    break;
                }
            } else if is_uuid(inner) {
                header.request_id = Some(inner);
            }
            seen_header = true;
            pos = start + close + 1;
            continue;
        }

        if header.level.is_none() {
            let word = token.trim_end_matches([':', ',']);
            if let Some(level) = Level::from_word(word) {
                let upper = word.bytes().all(|b| b.is_ascii_uppercase());
                if word.len() + 1 == token.len() && matches!(word, "Error" | "panic") {
                    // `Error: message` is Node's error type and `panic: ` starts a Go panic as
                    // much as they are levels: keep them so the trace parser sees them.
                    header.level = Some(level);
                    break;
                }
                if upper || seen_header || token.ends_with(':') {
                    header.level = Some(level);
                    seen_header = true;
                    pos = end;
                    continue;
                }
            }
        }

        if !syslog
            && header.level.is_none()
            && !seen_header
            && let Some(after) = syslog_header(first, start)
        {
            syslog = true;
            seen_header = true;
            pos = after;
            continue;
        }

        if header.level.is_none() && is_timestamp_token(token) {
            seen_header = true;
            pos = end;
            continue;
        }
        if seen_header && header.level.is_none() && matches!(token, "UTC" | "GMT" | "Z") {
            pos = end;
            continue;
        }
        if header.request_id.is_none() && is_uuid(token) {
            header.request_id = Some(token);
            seen_header = true;
            pos = end;
            continue;
        }
        if seen_header && matches!(token, "-" | "|" | "--" | ":" | "—" | "::" | "->") {
            pos = end;
            continue;
        }
        if seen_header && token == "---" && header.level.is_some() {
            spring_separator = true;
            pos = end;
            continue;
        }
        let next = next_token(first, end).map(|(a, b)| &first[a..b]);
        // Spring Boot: `ERROR 1 --- [main] c.e.Foo : message` (the 1 is the pid).
        if header.level.is_some()
            && !spring_separator
            && token.bytes().all(|b| b.is_ascii_digit())
            && next == Some("---")
        {
            pos = end;
            continue;
        }
        // Python `... - myapp - ERROR - message`: a logger name before the level.
        if seen_header
            && header.level.is_none()
            && !logger_seen
            && is_logger_name(token)
            && next == Some("-")
            && next_token(first, end)
                .and_then(|(_, b)| next_token(first, b))
                .is_some_and(|(a, b)| Level::from_word(&first[a..b]).is_some())
        {
            logger_seen = true;
            logger_before_level = true;
            pos = end;
            continue;
        }
        // log4j/logback/Spring: `ERROR [main] com.example.Foo - message`.
        if header.level.is_some() && !logger_seen {
            let bare = token.strip_suffix(':').unwrap_or(token);
            if is_logger_name(bare)
                && (token.ends_with(':') || matches!(next, Some("-" | ":")))
                && (bare.contains('.') || brackets_after_level > 0 || spring_separator)
            {
                logger_seen = true;
                pos = end;
                continue;
            }
        }
        break;
    }

    if header.level.is_some() || seen_header {
        header.shape = Some(if syslog {
            TextShape::Syslog
        } else if logger_before_level {
            TextShape::PythonLogging
        } else if logger_seen {
            TextShape::Log4j
        } else {
            TextShape::Header
        });
    }
    let rest = s[pos..].trim_start_matches([' ', '\t']);
    (header, rest)
}

/// `E0101 12:00:00.000000    1234 file.go:12] message`
fn klog(s: &str) -> Option<(Header<'_>, &str)> {
    let b = s.as_bytes();
    if b.len() < 22 || !b[1..5].iter().all(u8::is_ascii_digit) || b[5] != b' ' {
        return None;
    }
    let level = match b[0] {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        _ => return None,
    };
    let time = s.get(6..14)?;
    if !is_clock(time) {
        return None;
    }
    let line_end = s.find('\n').unwrap_or(s.len());
    let close = s[..line_end].find("] ")?;
    Some((
        Header {
            level: Some(level),
            shape: Some(TextShape::Klog),
            request_id: None,
        },
        &s[close + 2..],
    ))
}

/// Python's `logging.basicConfig()` default: `ERROR:root:message`.
fn python_default(s: &str) -> Option<(Header<'_>, &str)> {
    let (word, rest) = s.split_once(':')?;
    if !matches!(word, "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL") {
        return None;
    }
    let (logger, message) = rest.split_once(':')?;
    if logger.is_empty() || !is_logger_name(logger) {
        return None;
    }
    Some((
        Header {
            level: Level::from_word(word),
            shape: Some(TextShape::PythonLogging),
            request_id: None,
        },
        message,
    ))
}

/// `Nov 24 02:50:13 host prog[pid]: ` starting at `start`; returns where the message begins.
fn syslog_header(first: &str, start: usize) -> Option<usize> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (m0, m1) = next_token(first, start)?;
    if !MONTHS.contains(&&first[m0..m1]) {
        return None;
    }
    let (d0, d1) = next_token(first, m1)?;
    let day = &first[d0..d1];
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (t0, t1) = next_token(first, d1)?;
    if !is_clock(&first[t0..t1]) {
        return None;
    }
    let Some((h0, h1)) = next_token(first, t1) else {
        return Some(t1);
    };
    let Some((p0, p1)) = next_token(first, h1) else {
        return Some(t1);
    };
    let program = &first[p0..p1];
    if program.ends_with(':') {
        Some(p1)
    } else if first[h0..h1].ends_with(':') {
        // No hostname: `Nov 24 02:50:13 sshd[12]: ...`
        Some(h1)
    } else {
        Some(t1)
    }
}

/// Next whitespace-delimited token at or after `pos` on a single line.
fn next_token(line: &str, pos: usize) -> Option<(usize, usize)> {
    let rest = line.get(pos..)?;
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let start = pos + skipped;
    let tail = &line[start..];
    if tail.is_empty() {
        return None;
    }
    let len = tail.find([' ', '\t']).unwrap_or(tail.len());
    Some((start, start + len))
}

/// `HH:MM:SS` optionally followed by fractions.
fn is_clock(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b':'
        && b[3].is_ascii_digit()
        && b[4].is_ascii_digit()
        && b[5] == b':'
        && b[6].is_ascii_digit()
        && b[7].is_ascii_digit()
}

/// A date, a time or both (`2024-01-01`, `00:00:00,123`, `2024-01-01T00:00:00.000Z`, `2024/01/01`).
fn is_timestamp_token(token: &str) -> bool {
    let t = token.trim_matches(|c| matches!(c, '(' | ')' | ',' | '"'));
    let b = t.as_bytes();
    if b.len() < 8
        || !b[0].is_ascii_digit()
        || !t
            .bytes()
            .all(|c| c.is_ascii_digit() || b"-:.,TZ+/_".contains(&c))
        || t.bytes().filter(|c| *c == b'.').count() >= 3
    {
        return false;
    }
    let digits_at = |i: usize, n: usize| {
        b.get(i..i + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let date = digits_at(0, 4) && matches!(b.get(4), Some(b'-' | b'/')) && digits_at(5, 2);
    let date_dmy = digits_at(0, 2) && matches!(b.get(2), Some(b'/' | b'-')) && digits_at(3, 2);
    date || date_dmy || is_clock(t)
}

fn is_iso_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19 && is_timestamp_token(s) && b[10] == b'T'
}

/// 8-4-4-4-12 hex, the shape of Lambda request ids.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `root`, `app.module`, `com.example.Foo`, `c.e.Foo:42`, `Foo$Inner`.
fn is_logger_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && s.as_bytes()[0].is_ascii_alphabetic()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._$:<>-".contains(&b))
}
