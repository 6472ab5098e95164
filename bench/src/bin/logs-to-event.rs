//! Encodes any log file into CloudWatch Logs subscription payloads
//! (`{"awslogs":{"data": base64(gzip(json))}}`), as a subscription filter would deliver them.
//!
//! ```text
//! logs-to-event app.log --log-group /aws/lambda/checkout --start 2026-11-24T03:00:00Z --out events/logs/x.json
//! logs-to-event app.log --start now --max-bytes 1000000 --out /tmp/batch.json   # /tmp/batch.json, /tmp/batch-2.json, ...
//! logs-to-event --control --out events/logs/control-message.json
//! ```
//!
//! One line is one log event, except continuation lines (indented, `Caused by:`, `...`, and
//! the exception line that ends a Python traceback), which stay with their event the way a
//! multi-line log entry arrives from CloudWatch.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use apptrack_core::clock::{Clock, SystemClock, Timestamp};
use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType, encode_batch};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Encode a log file into CloudWatch Logs subscription payloads")]
struct Args {
    /// The log file (`-` for stdin); not needed with --control.
    input: Option<PathBuf>,
    #[arg(long, default_value = "/aws/lambda/demo")]
    log_group: String,
    /// Default: derived from the log group and start time.
    #[arg(long)]
    log_stream: Option<String>,
    /// First event's time: RFC 3339, epoch milliseconds, or `now`.
    #[arg(long, default_value = "now")]
    start: String,
    /// Milliseconds between consecutive events.
    #[arg(long, default_value_t = 100)]
    interval_ms: i64,
    /// Cap on one payload's uncompressed batch JSON; more events go to further payloads.
    #[arg(long, default_value_t = 1_000_000)]
    max_bytes: usize,
    /// Output file (stdout when absent); further payloads get `-2`, `-3`, ... before the extension.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write a CONTROL_MESSAGE payload instead of log events.
    #[arg(long)]
    control: bool,
}

/// Splits a log text into events, keeping multi-line entries (stack traces) together.
fn split_events(text: &str) -> Vec<String> {
    let mut events: Vec<String> = Vec::new();
    let mut in_traceback = false;
    let mut last_indented = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        let continuation = indented
            || line.starts_with("Caused by:")
            || line.starts_with("...")
            // The exception line that closes a Python traceback is not indented.
            || (in_traceback && last_indented);
        match events.last_mut() {
            Some(last) if continuation => {
                last.push('\n');
                last.push_str(line);
            }
            _ => {
                events.push(line.to_owned());
                in_traceback = false;
            }
        }
        if line.contains("Traceback (most recent call last):") {
            in_traceback = true;
        } else if !indented && last_indented {
            in_traceback = false;
        }
        last_indented = indented;
    }
    events
}

fn parse_start(s: &str) -> Result<Timestamp> {
    if s == "now" {
        return Ok(SystemClock.now());
    }
    Timestamp::parse(s).with_context(|| format!("--start {s:?}"))
}

/// A 56-digit id like CloudWatch's: time, a hash of the stream, and the event's index.
fn event_id(ts: i64, stream_hash: u64, index: usize) -> String {
    format!(
        "{:020}{:020}{:016}",
        ts.max(0),
        stream_hash % 10_000_000_000_000_000_000u64,
        index
    )
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn out_path(base: &Path, n: usize) -> PathBuf {
    if n == 1 {
        return base.to_owned();
    }
    let stem = base
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("payload");
    let name = match base.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}-{n}.{ext}"),
        None => format!("{stem}-{n}"),
    };
    base.with_file_name(name)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let start = parse_start(&args.start)?;
    let stream = args.log_stream.clone().unwrap_or_else(|| {
        format!(
            "{}/[$LATEST]{:016x}",
            &start.to_rfc3339()[..10].replace('-', "/"),
            fnv(&format!("{}{}", args.log_group, start.as_millis()))
        )
    });
    let batch = |events: Vec<LogEvent>, message_type| LogsBatch {
        message_type,
        owner: if args.control {
            "CloudwatchLogs".into()
        } else {
            "123456789012".into()
        },
        log_group: if args.control {
            String::new()
        } else {
            args.log_group.clone()
        },
        log_stream: if args.control {
            String::new()
        } else {
            stream.clone()
        },
        subscription_filters: if args.control {
            Vec::new()
        } else {
            vec!["apptrack-error-analyzer".into()]
        },
        log_events: events,
    };

    let mut payloads = Vec::new();
    if args.control {
        payloads.push(encode_batch(&batch(
            vec![LogEvent {
                id: String::new(),
                timestamp: start.as_millis(),
                message: "CWL CONTROL MESSAGE: Checking health of destination Lambda function."
                    .into(),
            }],
            MessageType::Control,
        )));
    } else {
        let Some(input) = &args.input else {
            bail!("a log file (or `-` for stdin) is needed unless --control is given");
        };
        let mut text = String::new();
        if input.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text)?;
        } else {
            text = std::fs::read_to_string(input).with_context(|| format!("reading {input:?}"))?;
        }
        let hash = fnv(&stream);
        let mut current = Vec::new();
        let mut size = 300;
        for (i, message) in split_events(&text).into_iter().enumerate() {
            let ts = start.as_millis() + args.interval_ms * i as i64;
            // JSON escaping can double a message's size; count it pessimistically.
            let cost = message.len() * 2 + 100;
            if !current.is_empty() && size + cost > args.max_bytes {
                payloads.push(encode_batch(&batch(
                    std::mem::take(&mut current),
                    MessageType::Data,
                )));
                size = 300;
            }
            size += cost;
            current.push(LogEvent {
                id: event_id(ts, hash, i),
                timestamp: ts,
                message,
            });
        }
        if current.is_empty() && payloads.is_empty() {
            bail!("{input:?} has no log lines");
        }
        if !current.is_empty() {
            payloads.push(encode_batch(&batch(current, MessageType::Data)));
        }
    }

    match &args.out {
        None => {
            for p in &payloads {
                println!("{p}");
            }
        }
        Some(base) => {
            for (i, p) in payloads.iter().enumerate() {
                let path = out_path(base, i + 1);
                std::fs::write(&path, format!("{p}\n"))
                    .with_context(|| format!("writing {path:?}"))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_stack_traces_with_their_line() {
        let text = "INFO start\nException in thread \"main\" java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\nCaused by: java.net.ConnectException: refused\n\t... 3 more\nTraceback (most recent call last):\n  File \"app.py\", line 1, in <module>\nKeyError: 'sku'\nERROR next\n";
        let e = split_events(text);
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(e[1].ends_with("... 3 more"));
        assert!(e[2].ends_with("KeyError: 'sku'"));
        assert_eq!(e[3], "ERROR next");
    }

    #[test]
    fn ids_are_56_digits() {
        assert_eq!(event_id(1_795_000_000_000, u64::MAX, 7).len(), 56);
    }
}
