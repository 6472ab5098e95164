//! Bad input for the deployed functions: the sample events of `events/`, hand-picked hostile
//! payloads and seeded random ones, and what a clear rejection of each looks like.
//!
//! A payload that is not JSON never reaches a handler: the Lambda runtime fails to
//! deserialize it and answers with its own error. Every JSON payload reaches the handler,
//! which must answer with one of its `Permanent.*` error types.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserialize as _;
use serde_json::{Map, Value, json};

use crate::runtime::{Deployed, Outcome};
use crate::{TestTables, repo_root};

/// How the Lambda runtime's own error message starts when the payload is not JSON.
pub const RUNTIME_DESERIALIZE_ERROR: &str =
    "failed to deserialize the incoming data into the function's payload type";

/// One payload to send through the Invoke API, named for failure messages.
#[derive(Debug, Clone)]
pub struct Payload {
    pub label: String,
    pub bytes: Vec<u8>,
}

impl Payload {
    fn new(label: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Payload {
            label: label.into(),
            bytes: bytes.into(),
        }
    }

    fn json(label: impl Into<String>, value: &Value) -> Self {
        Payload::new(label, value.to_string())
    }
}

/// The files of `events/<dir>/` (not its subfolders), sorted, relative to the repository root.
pub fn event_files(dir: &str) -> Result<Vec<PathBuf>> {
    let full = repo_root().join("events").join(dir);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&full).with_context(|| format!("listing {}", full.display()))? {
        let path = entry?.path();
        if path.is_file() {
            let relative = path
                .strip_prefix(repo_root())
                .with_context(|| format!("{} is outside the repository", path.display()))?;
            files.push(relative.to_path_buf());
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{} has no sample events", full.display());
    }
    Ok(files)
}

/// Checks that `out`, the answer to `payload`, is a clear rejection: the runtime's
/// deserialize error when the payload is not JSON, else a `Permanent.*` error from the
/// handler with a message; never a panic.
///
/// (JSON here is what [`reaches_the_handler`] says, not what `serde_json::from_slice`
/// accepts.)
pub fn expect_rejected(label: &str, payload: &[u8], out: &Outcome) -> Result<()> {
    let Outcome::Error {
        error_type,
        message,
    } = out
    else {
        bail!("{label}: expected an error, the function answered {out:?}");
    };
    if message.contains("panicked") {
        bail!("{label}: the function panicked: {message}");
    }
    if !reaches_the_handler(payload) {
        if !message.starts_with(RUNTIME_DESERIALIZE_ERROR) {
            bail!(
                "{label} is not JSON: expected the runtime's deserialize error, got \
                 {error_type}: {message}"
            );
        }
    } else if !error_type.starts_with("Permanent.") || message.trim().is_empty() {
        bail!(
            "{label} is JSON: expected a Permanent.* error with a message, got {error_type}: {message:?}"
        );
    }
    Ok(())
}

/// Whether the Lambda runtime hands `payload` to the handler: it reads one JSON value from
/// the start of the body and, like `serde_json::Deserializer` without `end()`, ignores
/// whatever follows it.
pub fn reaches_the_handler(payload: &[u8]) -> bool {
    Value::deserialize(&mut serde_json::Deserializer::from_slice(payload)).is_ok()
}

/// [`expect_rejected`] for a sample event file (relative to the repository root).
pub fn expect_file_rejected(path: &Path, out: &Outcome) -> Result<()> {
    let full = repo_root().join(path);
    let bytes = std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?;
    expect_rejected(&path.display().to_string(), &bytes, out)
}

/// In a table of broken samples (see [`check_broken_samples`]), the answer to a file that is
/// not JSON: the runtime's own deserialize error.
pub const RUNTIME_ERROR: &str = "the runtime's deserialize error";

/// What every function that reads CloudWatch Logs subscriptions answers to each broken
/// sample: its error type and what the message names. One table, because the same broken
/// payload must get the same errorType from every such function (they share one decoder).
pub const LOG_SUBSCRIPTION_BROKEN: [(&str, &str, &str); 15] = [
    (
        "alarm-bad-reasondata.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    (
        "alarm-missing-state.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    ("alarm-not-json.json", RUNTIME_ERROR, ""),
    (
        "alarm-wrong-detail-type.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    (
        "auth-event-missing-timestamp.json",
        "Permanent.MissingField",
        "`logEvents[0].timestamp`",
    ),
    (
        "deploy-missing-version.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    (
        "auth-gzip-bomb.json",
        "Permanent.TooLarge",
        "decompresses to more than",
    ),
    (
        "auth-missing-data.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    (
        "auth-not-base64.json",
        "Permanent.InvalidBase64",
        "not valid base64",
    ),
    (
        "auth-not-gzip.json",
        "Permanent.InvalidGzip",
        "not a valid gzip stream",
    ),
    (
        "logs-bad-gzip.json",
        "Permanent.InvalidGzip",
        "not a valid gzip stream",
    ),
    (
        "logs-gzip-bomb.json",
        "Permanent.TooLarge",
        "decompresses to more than",
    ),
    (
        "logs-invalid-base64.json",
        "Permanent.InvalidBase64",
        "not valid base64",
    ),
    (
        "logs-missing-data.json",
        "Permanent.MissingField",
        "`awslogs.data`",
    ),
    (
        "logs-not-json.json",
        "Permanent.InvalidBatchJson",
        "not valid JSON",
    ),
];

/// Invokes `f` with every file of `events/broken/` but those in `skip`, and checks each
/// answer against `expected`: `(file name, errorType, a phrase the message contains)`, or
/// `(file name, RUNTIME_ERROR, "")`. Every file must be in one of the two lists, so a new
/// broken sample cannot go untested.
pub fn check_broken_samples(
    f: &Deployed,
    expected: &[(&str, &str, &str)],
    skip: &[&str],
) -> Result<()> {
    let files = event_files("broken")?;
    let name_of = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned()
    };
    for (file, ..) in expected {
        ensure!(
            files.iter().any(|p| name_of(p) == *file),
            "{file} is not in events/broken/"
        );
    }
    for path in &files {
        let name = name_of(path);
        if skip.contains(&name.as_str()) {
            continue;
        }
        let (_, error_type, says) = expected
            .iter()
            .find(|(file, ..)| *file == name)
            .with_context(|| {
                format!(
                    "events/broken/{name}: the test does not say what {} answers",
                    f.name
                )
            })?;
        let out = f.invoke_file(path)?;
        expect_file_rejected(path, &out)?;
        let Outcome::Error {
            error_type: got,
            message,
        } = &out
        else {
            bail!("{name}: expected an error, got {out:?}");
        };
        if *error_type == RUNTIME_ERROR {
            ensure!(
                message.starts_with(RUNTIME_DESERIALIZE_ERROR),
                "{name}: expected {RUNTIME_ERROR}, got {got}: {message}"
            );
        } else {
            ensure!(
                got == error_type && message.contains(says),
                "{name}: expected {error_type} saying {says:?}, got {got}: {message}"
            );
        }
    }
    Ok(())
}

/// [`check_broken_samples`] for a function whose trigger none of the broken samples is:
/// each JSON sample must get `error_type` with a message containing `says`, each non-JSON
/// one the runtime's deserialize error, and `exceptions` name the samples it answers
/// otherwise. A new broken sample is checked by the same rule, so none goes untested.
pub fn check_broken_samples_are(
    f: &Deployed,
    error_type: &str,
    says: &str,
    exceptions: &[(&str, &str, &str)],
) -> Result<()> {
    let mut expected: Vec<(String, &str, &str)> = Vec::new();
    for path in event_files("broken")? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if let Some((_, t, m)) = exceptions.iter().find(|(file, ..)| *file == name) {
            expected.push((name, t, m));
            continue;
        }
        let full = repo_root().join(&path);
        let bytes = std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?;
        if reaches_the_handler(&bytes) {
            expected.push((name, error_type, says));
        } else {
            expected.push((name, RUNTIME_ERROR, ""));
        }
    }
    let table: Vec<(&str, &str, &str)> = expected
        .iter()
        .map(|(n, t, m)| (n.as_str(), *t, *m))
        .collect();
    check_broken_samples(f, &table, &[])
}

/// Payloads no function accepts, chosen by hand: JSON of every other kind than an object,
/// objects that look like a trigger's event but are not, subscription envelopes whose data
/// is wrong at each decoding step, and non-JSON (binary, a byte-order mark, nesting past
/// the parser's limit).
pub fn hostile_payloads() -> Vec<Payload> {
    const ALARM: &str = "CloudWatch Alarm State Change";
    vec![
        Payload::new("empty JSON object", "{}"),
        Payload::new("null", "null"),
        Payload::new("true", "true"),
        Payload::new("a number", "-0.5e3"),
        Payload::new("a string", r#""awslogs""#),
        Payload::new("an array", r#"[{"awslogs":{"data":"H4sI"}}]"#),
        Payload::json("awslogs is null", &json!({"awslogs": null})),
        Payload::json(
            "awslogs.data is a number",
            &json!({"awslogs": {"data": 42}}),
        ),
        Payload::json("awslogs.data is empty", &json!({"awslogs": {"data": ""}})),
        Payload::json(
            "awslogs.data is an array",
            &json!({"awslogs": {"data": ["H4sI"]}}),
        ),
        Payload::json("gzip of an empty batch object", &envelope(&gzip(b"{}"))),
        Payload::json("gzip of a JSON array", &envelope(&gzip(b"[1,2,3]"))),
        Payload::json("gzip of nothing", &envelope(&gzip(b""))),
        Payload::json("base64 of a truncated gzip", &envelope(&gzip(b"{}")[..8])),
        Payload::json(
            "a batch of an unknown message type",
            &envelope(&gzip(
                json!({"messageType": "HEALTH_CHECK", "owner": "1", "logGroup": "/g",
                       "logStream": "s", "logEvents": []})
                .to_string()
                .as_bytes(),
            )),
        ),
        Payload::json(
            "a batch whose event timestamp is a string",
            &envelope(&gzip(
                json!({"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "/g",
                       "logStream": "s", "logEvents": [
                           {"id": "1", "timestamp": "yesterday", "message": "ERROR x"}]})
                .to_string()
                .as_bytes(),
            )),
        ),
        Payload::json(
            "an alarm event without detail",
            &json!({"detail-type": ALARM}),
        ),
        Payload::json(
            "an alarm event whose detail is an array",
            &json!({"detail-type": ALARM, "detail": []}),
        ),
        Payload::json(
            "an alarm state without a timestamp",
            &json!({"detail-type": ALARM, "account": "123456789012", "region": "us-east-1",
                    "detail": {"alarmName": "x", "state": {"value": "ALARM"}}}),
        ),
        Payload::json(
            "an alarm state of an unknown value",
            &json!({"detail-type": ALARM, "account": "123456789012", "region": "us-east-1",
                    "detail": {"alarmName": "x", "state": {"value": "PANIC",
                               "timestamp": "2026-11-24T02:00:12.421+0000"}}}),
        ),
        Payload::json(
            "an alarm state timestamp that is not a time",
            &json!({"detail-type": ALARM, "account": "123456789012", "region": "us-east-1",
                    "detail": {"alarmName": "x", "state": {"value": "ALARM",
                               "timestamp": "2026-13-45T99:00:00Z"}}}),
        ),
        Payload::json("alarmData is a number", &json!({"alarmData": 7})),
        Payload::new(
            "a UTF-8 byte-order mark before {}",
            b"\xef\xbb\xbf{}".to_vec(),
        ),
        Payload::new("JSON nested past the parser's limit", "[".repeat(10_000)),
        // The runtime reads the first and ignores the rest: the handler gets `{}`.
        Payload::new("two JSON objects", "{}{}"),
        Payload::new("a number out of range", "1e999"),
        Payload::new(
            "Latin-1 text (not UTF-8)",
            b"ALARM: \"web-asg-cpu-high\" \xe9tat ALARM".to_vec(),
        ),
    ]
}

/// `count` random payloads from `seed`, the same ones for the same seed: bytes that are not
/// UTF-8, printable text, JSON made of the triggers' own field names with values of the
/// wrong kind, and subscription envelopes carrying such JSON.
pub fn random_payloads(seed: u64, count: usize) -> Vec<Payload> {
    let mut rng = SplitMix(seed);
    (0..count)
        .map(|i| match i % 4 {
            0 => {
                let len = 1 + rng.below(256) as usize;
                let mut bytes = rng.bytes(len);
                // 0xFF never occurs in UTF-8, so these bytes are not text.
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] = 0xff;
                Payload::new(format!("seed {seed} #{i}: random bytes"), bytes)
            }
            1 => {
                let len = 1 + rng.below(200);
                let text: String = (0..len)
                    .map(|_| char::from(b' ' + rng.below(95) as u8))
                    .collect();
                Payload::new(format!("seed {seed} #{i}: random text"), text)
            }
            2 => Payload::json(
                format!("seed {seed} #{i}: random JSON object"),
                &Value::Object(rng.object(3)),
            ),
            _ => Payload::json(
                format!("seed {seed} #{i}: subscription envelope of random JSON"),
                &envelope(&gzip(Value::Object(rng.object(3)).to_string().as_bytes())),
            ),
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec does not fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn envelope(compressed: &[u8]) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(compressed);
    json!({"awslogs": {"data": data}})
}

/// Field names of the triggers' events (log subscriptions, alarm state changes), so random objects reach past the first check.
const FIELDS: [&str; 16] = [
    "awslogs",
    "data",
    "messageType",
    "logGroup",
    "logStream",
    "logEvents",
    "id",
    "timestamp",
    "message",
    "detail-type",
    "detail",
    "alarmData",
    "alarmName",
    "state",
    "value",
    "configuration",
];

/// SplitMix64: a tiny deterministic generator, enough to vary payloads by seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }

    /// Lowercase letters and digits: never one of the values a trigger recognizes.
    fn word(&mut self) -> String {
        let len = 1 + self.below(12);
        (0..len)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[self.below(36) as usize]))
            .collect()
    }

    fn object(&mut self, depth: u32) -> Map<String, Value> {
        let len = 1 + self.below(4);
        (0..len)
            .map(|_| {
                let key = FIELDS[self.below(FIELDS.len() as u64) as usize].to_owned();
                (key, self.value(depth))
            })
            .collect()
    }

    fn value(&mut self, depth: u32) -> Value {
        let kinds = if depth == 0 { 5 } else { 7 };
        match self.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 1),
            // Integers across the whole i64 range, negative ones included.
            2 => json!(self.next() as i64),
            3 => json!(self.word()),
            4 => json!((self.next() as f64) / 3.0),
            5 => {
                let len = self.below(3);
                Value::Array((0..len).map(|_| self.value(depth - 1)).collect())
            }
            _ => Value::Object(self.object(depth - 1)),
        }
    }
}

/// Sends `f` every hostile payload and 24 seeded random ones: each must be rejected.
pub fn reject_hostile_and_random(f: &Deployed) -> Result<()> {
    let random = [7, 42, 1_000_003]
        .into_iter()
        .flat_map(|seed| random_payloads(seed, 8));
    for p in hostile_payloads().into_iter().chain(random) {
        expect_rejected(&p.label, &p.bytes, &f.invoke_raw(&p.bytes)?)?;
    }
    Ok(())
}

/// After bad input: nothing in either of the test's tables, and no panic in the log.
pub async fn expect_nothing_written(tables: &TestTables, f: &Deployed) -> Result<()> {
    let written = tables.snapshot().await?;
    ensure!(written.is_empty(), "bad input was written: {written:#?}");
    let log = f.function_log();
    ensure!(!log.contains("panicked"), "the function panicked:\n{log}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_payloads() {
        let a = random_payloads(7, 12);
        let b = random_payloads(7, 12);
        let c = random_payloads(8, 12);
        assert_eq!(
            a.iter().map(|p| &p.bytes).collect::<Vec<_>>(),
            b.iter().map(|p| &p.bytes).collect::<Vec<_>>()
        );
        assert_ne!(
            a.iter().map(|p| &p.bytes).collect::<Vec<_>>(),
            c.iter().map(|p| &p.bytes).collect::<Vec<_>>()
        );
    }

    #[test]
    fn random_bytes_are_never_utf8_and_random_objects_are_json() {
        for p in random_payloads(11, 40) {
            if p.label.ends_with("random bytes") {
                assert!(std::str::from_utf8(&p.bytes).is_err(), "{}", p.label);
            }
            if p.label.contains("JSON") {
                let v: Value = serde_json::from_slice(&p.bytes).expect("JSON");
                assert!(v.is_object(), "{}", p.label);
            }
        }
    }

    #[test]
    fn a_rejection_must_match_what_the_payload_is() {
        let runtime = Outcome::Error {
            error_type: "&lambda_runtime::deserializer::DeserializeError".into(),
            message: format!("{RUNTIME_DESERIALIZE_ERROR}: expected value at line 1 column 1"),
        };
        let permanent = Outcome::Error {
            error_type: "Permanent.BadPayload".into(),
            message: "bad log subscription payload: the log batch is missing `awslogs.data`".into(),
        };
        let retryable = Outcome::Error {
            error_type: "Retryable.Store".into(),
            message: "table busy".into(),
        };
        assert!(expect_rejected("bytes", b"\xff", &runtime).is_ok());
        assert!(expect_rejected("bytes", b"\xff", &permanent).is_err());
        assert!(expect_rejected("json", b"{}", &permanent).is_ok());
        assert!(expect_rejected("json", b"{}", &retryable).is_err());
        assert!(expect_rejected("json", b"{}", &Outcome::Response(json!({}))).is_err());
        let panicked = Outcome::Error {
            error_type: "Permanent.X".into(),
            message: "Lambda panicked: index out of bounds".into(),
        };
        assert!(expect_rejected("json", b"{}", &panicked).is_err());
    }
}
