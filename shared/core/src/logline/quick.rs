//! A cheap, conservative test that a JSON log line cannot be an error, so batch analysis can
//! skip building its JSON tree. It may say "maybe" for a harmless line, never "no" for an error.
//!
//! A JSON line is an error only through its level (a word like `error`, `fatal`, `crit`, or a
//! number ≥ 50), an error type or a stack trace (keys that all contain `err`, `exc`, `stack`,
//! `@x` or are `"trace"`), or a Lambda platform record. So a line that names none of those
//! words, escapes nothing (`\u`) and has no numeric level ≥ 50 cannot be one; the property test
//! below checks this against `parse_line` itself.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// Substrings (matched without regard to ASCII case) whose presence sends a line to the full
/// parser.
const NEEDLES: &[&[u8]] = &[
    b"err",
    b"eror",
    b"fatal",
    b"crit",
    b"crt",
    b"ftl",
    b"severe",
    b"alert",
    b"emerg",
    b"panic",
    b"exc",
    b"stack",
    b"@x",
    b"\"trace\"",
    b"\\u",
    b"platform.",
    b"fail",
    b"timeout",
    b"timed out",
];

/// Keys whose numeric value is a level (pino/bunyan: 50 error, 60 fatal).
const LEVEL_KEYS: &[&[u8]] = &[
    b"\"level\"",
    b"\"lvl\"",
    b"\"severity\"",
    b"\"log_level\"",
    b"\"loglevel\"",
    b"\"levelname\"",
    b"\"@l\"",
    b"\"@level\"",
    b"\"severitytext\"",
];

/// Every needle, matched without regard to ASCII case in one pass.
static NEEDLE_SET: LazyLock<AhoCorasick> = LazyLock::new(|| case_insensitive(NEEDLES));
/// Every level key, found (all occurrences) in one pass.
static LEVEL_KEY_SET: LazyLock<AhoCorasick> = LazyLock::new(|| case_insensitive(LEVEL_KEYS));

fn case_insensitive(words: &[&[u8]]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("a few short byte strings")
}

/// True when `message` is a JSON object line that cannot parse as an error line, so full
/// parsing can be skipped; false means "parse it".
pub fn json_line_cannot_be_error(message: &str) -> bool {
    let text = message.trim();
    if !(text.starts_with('{') && text.ends_with('}')) {
        return false;
    }
    let bytes = text.as_bytes();
    if NEEDLE_SET.is_match(bytes) {
        return false;
    }
    if LEVEL_KEY_SET
        .find_overlapping_iter(bytes)
        .any(|key| number_at_least(bytes, key.end(), 50.0))
    {
        return false;
    }
    // Only well-formed JSON counts as a parsed line; a broken one goes to the full parser,
    // which counts it as unparsed.
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Whether `hay[at..]` is `:` and a number ≥ `min` (or a number that does not parse, to stay
/// on the safe side), with optional whitespace around the colon.
fn number_at_least(hay: &[u8], at: usize, min: f64) -> bool {
    let skip_space = |mut i: usize| {
        while i < hay.len() && hay[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let i = skip_space(at);
    if hay.get(i) != Some(&b':') {
        return false;
    }
    let i = skip_space(i + 1);
    let end = hay[i..]
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')))
        .map_or(hay.len(), |p| i + p);
    if end == i {
        return false; // not a number
    }
    match std::str::from_utf8(&hay[i..end])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(n) => n >= min,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logline::parse_line;
    use proptest::prelude::*;

    #[test]
    fn info_lines_are_skipped_and_errors_are_not() {
        let info = r#"{"level":30,"time":1,"msg":"request completed","url":"/v1/cart","ms":12}"#;
        assert!(json_line_cannot_be_error(info));
        assert!(!parse_line(info).is_error());
        for maybe in [
            r#"{"level":50,"msg":"payment failed"}"#,
            r#"{"level":60,"msg":"bye"}"#,
            r#"{"level":"ERROR","message":"x"}"#,
            r#"{"severity":"CRITICAL","message":"x"}"#,
            r#"{"level":"info","exception":"Traceback ..."}"#,
            r#"{"@l":"Fatal","@mt":"x"}"#,
            r#"{"level":"info","trace":["at a","at b"]}"#,
            r#"{"level":"\u0065rror","msg":"x"}"#,
            r#"{"level":1e2,"msg":"x"}"#,
            r#"{"LEVEL" : 1E2,"msg":"x"}"#,
            r#"{"Severity":55,"msg":"x"}"#,
            r#"{"msg":"not json"#,
            "plain text line",
        ] {
            assert!(!json_line_cannot_be_error(maybe), "{maybe}");
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "level",
            "lvl",
            "severity",
            "log_level",
            "loglevel",
            "levelname",
            "@l",
            "Level",
            "@level",
            "SeverityText",
            "message",
            "msg",
            "@m",
            "@mt",
            "event",
            "errorType",
            "error_type",
            "exception_name",
            "exc_type",
            "exc_info",
            "stack",
            "stack_trace",
            "stackTrace",
            "trace",
            "@x",
            "exception",
            "err",
            "error",
            "status",
            "type",
            "record",
            "service",
            "name",
            "time",
            "hostname",
            "url",
            "statusCode",
        ])
        .prop_map(str::to_owned)
    }

    fn leaf() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            prop::sample::select(vec![
                "info",
                "INFO",
                "debug",
                "warn",
                "error",
                "ERROR",
                "Err",
                "eror",
                "fatal",
                "crit",
                "critical",
                "severe",
                "alert",
                "emerg",
                "panic",
                "dpanic",
                "ftl",
                "crt",
                "E",
                "notice",
                "Traceback (most recent call last):\n  File \"a.py\"\nValueError: x",
                "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)",
                "TypeError: x is not a function\n    at f (a.js:1:1)",
                "platform.report",
                "timeout",
                "failure",
                "ok",
                "",
            ])
            .prop_map(|s| serde_json::Value::String(s.to_owned())),
            (0u32..120).prop_map(|n| serde_json::json!(n)),
            any::<bool>().prop_map(serde_json::Value::Bool),
            "[a-z ]{0,12}".prop_map(serde_json::Value::String),
        ]
    }

    fn object() -> impl Strategy<Value = serde_json::Value> {
        let leafy = prop::collection::btree_map(key(), leaf(), 0..6);
        (
            leafy,
            prop::option::of((key(), prop::collection::btree_map(key(), leaf(), 0..4))),
        )
            .prop_map(|(mut m, nested)| {
                let mut obj: serde_json::Map<String, serde_json::Value> =
                    m.iter_mut().map(|(k, v)| (k.clone(), v.take())).collect();
                if let Some((k, inner)) = nested {
                    obj.insert(k, serde_json::Value::Object(inner.into_iter().collect()));
                }
                serde_json::Value::Object(obj)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        /// The one property that matters: a skipped line is never an error.
        #[test]
        fn a_skipped_line_is_never_an_error(v in object()) {
            let line = v.to_string();
            if json_line_cannot_be_error(&line) {
                prop_assert!(!parse_line(&line).is_error(), "skipped an error: {line}");
            }
        }
    }
}
