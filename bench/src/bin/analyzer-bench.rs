//! error-analyzer's whole in-memory path on realistic ~1 MB subscription batches: decode,
//! decompress, parse, mine, aggregate (no DynamoDB), against the floor of decompression plus
//! JSON decoding alone, and the peak memory of one batch (measured in a fresh process).
//!
//! ```text
//! cargo run --release -p apptrack-bench --bin analyzer-bench -- [--batches 20] [--error-share 0.3] [--json FILE]
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result};
use apptrack_core::errors::analyze;
use apptrack_core::pattern::PatternMiner;
use apptrack_core::subscription::{
    DecodeLimits, LogEvent, LogsBatch, MessageType, decode_event, encode_batch,
};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Distinct batches to generate (each ~1 MB of batch JSON).
    #[arg(long, default_value_t = 20)]
    batches: usize,
    /// Timed passes over all batches; the best pass is reported.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Fraction of lines that are errors.
    #[arg(long, default_value_t = 0.3)]
    error_share: f64,
    /// Uncompressed batch JSON size to aim for.
    #[arg(long, default_value_t = 1_000_000)]
    batch_bytes: usize,
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Internal: read a payload file in this (fresh) process, decode and analyze it, print VmHWM.
    #[arg(long, hide = true)]
    peak_child: Option<std::path::PathBuf>,
    /// Internal: with --peak-child, only read the file (the process's baseline).
    #[arg(long, hide = true)]
    baseline: bool,
}

const REQ: &str = "8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69";

/// A log line of one of the shapes seen in production, with varying values.
fn line(i: u64, error: bool) -> String {
    let r = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
    let ts = format!(
        "2026-11-24T03:{:02}:{:02}.{:03}Z",
        (i / 600) % 60,
        (i / 10) % 60,
        i % 1000
    );
    if !error {
        return match r % 5 {
            0 => format!(
                "{ts}\t{REQ}\tINFO\tcharging order {} for customer {}",
                4000 + r % 9000,
                r % 777
            ),
            1 => format!(
                r#"{{"level":"INFO","location":"handler:12","message":"order {} shipped","timestamp":"{ts}","service":"orders","function_request_id":"{REQ}","cold_start":false}}"#,
                r % 100_000
            ),
            2 => format!(
                r#"{{"level":30,"time":{},"pid":8,"hostname":"169.254.10.{}","name":"checkout","msg":"request completed","req":{{"method":"POST","url":"/v1/cart/{}"}},"responseTime":{}}}"#,
                1_795_489_200_000 + i,
                r % 255,
                r % 5000,
                r % 900
            ),
            3 => format!(
                "REPORT RequestId: {REQ}\tDuration: {}.{:02} ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: {} MB",
                r % 3000,
                r % 100,
                r % 3000 + 1,
                80 + r % 200
            ),
            _ => format!(
                r#"time="{ts}" level=info msg="cache refreshed" entries={} took={}ms"#,
                r % 10_000,
                r % 300
            ),
        };
    }
    match r % 7 {
        0 => format!(
            "{ts}\t{REQ}\tERROR\tconnection refused to api.payments.example:443 while charging order {}",
            r % 9000
        ),
        1 => format!(
            r#"{{"level":50,"time":{},"pid":8,"hostname":"169.254.10.1","name":"checkout","msg":"payment provider call failed","err":{{"type":"Error","message":"upstream 503 from https://api.payments.example/v1/charges/ch_{}","stack":"Error: upstream 503\n    at charge (/var/task/pay.js:42:11)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"}}}}"#,
            1_795_489_200_000 + i,
            r
        ),
        2 => format!(
            r#"{{"level":"ERROR","location":"handler:57","message":"Failed to compute shipping quote","timestamp":"{ts}","service":"orders","function_request_id":"{REQ}","exception":"Traceback (most recent call last):\n  File \"/var/task/app.py\", line 57, in quote\n    zone = ZONES[address['country']]\nKeyError: 'X{}'","exception_name":"KeyError"}}"#,
            r % 26
        ),
        3 => format!(
            "{ts} ERROR [http-nio-8080-exec-{}] com.shop.orders.OrderRepository - query failed\norg.postgresql.util.PSQLException: Connection to db.orders.internal:5432 refused.\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)\n\tat com.shop.orders.OrderRepository.find(OrderRepository.java:88)",
            r % 20
        ),
        4 => format!("{ts} {REQ} Task timed out after {}.00 seconds", 3 + r % 10),
        5 => format!(
            r#"{{"level":"error","ts":{}.5,"caller":"store/pg.go:41","msg":"query failed","error":"dial tcp 10.0.5.{}:5432: connect: connection refused","service":"inventory"}}"#,
            1_795_489_200 + i,
            r % 255
        ),
        _ => format!(
            "{ts}\t{REQ}\tERROR\tInvoke Error \t{{\"errorType\":\"TypeError\",\"errorMessage\":\"Cannot read properties of undefined (reading '{}')\",\"stack\":[\"TypeError: Cannot read properties of undefined\",\"    at total (/var/task/cart.js:17:28)\"]}}",
            ["price", "sku", "qty"][(r % 3) as usize]
        ),
    }
}

/// A subscription payload of about `bytes` of batch JSON.
fn payload(seed: u64, bytes: usize, error_share: f64) -> (String, usize, usize) {
    let mut events = Vec::new();
    let mut size = 0;
    let mut i = seed * 1_000_000;
    while size < bytes {
        let error =
            ((i.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) % 1000) as f64 / 1000.0 < error_share;
        let message = line(i, error);
        size += serde_json::to_string(&message)
            .map(|s| s.len())
            .unwrap_or(0)
            + 80;
        events.push(LogEvent {
            id: format!("{:056}", i),
            timestamp: 1_795_489_200_000 + (i % 60_000) as i64,
            message,
        });
        i += 1;
    }
    let batch = LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/aws/lambda/checkout".into(),
        log_stream: format!("2026/11/24/[$LATEST]{seed:016x}"),
        subscription_filters: vec!["apptrack-error-analyzer".into()],
        log_events: events,
    };
    let json = serde_json::to_vec(&batch).map(|v| v.len()).unwrap_or(0);
    let lines = batch.log_events.len();
    (encode_batch(&batch), lines, json)
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// In a fresh process: read one payload, decode and analyze it, report the peak RSS.
fn peak_child(path: &std::path::Path, baseline: bool) -> Result<()> {
    let event = std::fs::read(path)?;
    if !baseline {
        let batch = decode_event(&event, &DecodeLimits::default())?;
        let analysis = analyze(&batch, &PatternMiner::default());
        black_box(analysis.delta());
    }
    println!("{}", status_kb("VmHWM:"));
    Ok(())
}

fn peak_kb(path: &std::path::Path, baseline: bool) -> Result<u64> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--peak-child").arg(path);
    if baseline {
        cmd.arg("--baseline");
    }
    let out = cmd.output().context("running the peak-memory child")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.peak_child {
        return peak_child(path, args.baseline);
    }
    let payloads: Vec<(String, usize, usize)> = (0..args.batches as u64)
        .map(|s| payload(s, args.batch_bytes, args.error_share))
        .collect();
    let lines: usize = payloads.iter().map(|p| p.1).sum();
    let json_bytes: usize = payloads.iter().map(|p| p.2).sum();
    let limits = DecodeLimits::default();
    let miner = PatternMiner::default();

    let mut floor = Vec::new();
    let mut full = Vec::new();
    let mut errors = 0;
    for _ in 0..args.passes {
        let t = Instant::now();
        for (p, _, _) in &payloads {
            black_box(decode_event(p.as_bytes(), &limits)?);
        }
        floor.push(lines as f64 / t.elapsed().as_secs_f64());

        let t = Instant::now();
        errors = 0;
        for (p, _, _) in &payloads {
            let batch = decode_event(p.as_bytes(), &limits)?;
            let a = analyze(&batch, &miner);
            errors += a.error_lines;
            black_box(a.delta());
        }
        full.push(lines as f64 / t.elapsed().as_secs_f64());
    }
    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    let (floor, full) = (best(&floor), best(&full));

    let file = std::env::temp_dir().join(format!("analyzer-bench-{}.json", std::process::id()));
    std::fs::write(&file, &payloads[0].0)?;
    let (base, peak) = (peak_kb(&file, true)?, peak_kb(&file, false)?);
    let _ = std::fs::remove_file(&file);
    let peak = serde_json::json!({
        "payload_bytes": payloads[0].0.len(), "lines": payloads[0].1,
        "process_peak_kb": peak, "baseline_peak_kb": base, "peak_added_kb": peak.saturating_sub(base)
    });

    let report = serde_json::json!({
        "batches": args.batches,
        "lines": lines,
        "error_lines": errors,
        "avg_batch_json_bytes": json_bytes / args.batches.max(1),
        "avg_lines_per_batch": lines / args.batches.max(1),
        "floor_lines_per_sec": floor.round(),
        "full_lines_per_sec": full.round(),
        "full_to_floor": (full / floor * 1000.0).round() / 1000.0,
        "full_mb_per_sec": ((json_bytes as f64 / (lines as f64 / full)) / 1e6 * 10.0).round() / 10.0,
        "peak_one_batch": peak,
    });
    println!(
        "error-analyzer path, single thread, {} batches of ~{} bytes of batch JSON ({} lines, {:.0}% errors)",
        args.batches,
        json_bytes / args.batches.max(1),
        lines,
        args.error_share * 100.0
    );
    println!(
        "  decompress + JSON decode (floor): {:>10.0} lines/s",
        floor
    );
    println!(
        "  whole path (decode..aggregate):   {:>10.0} lines/s  ({:.2} of the floor)",
        full,
        full / floor
    );
    println!(
        "  peak memory for one batch: {} KB VmHWM in a fresh process ({} KB above the {} KB of one that only reads the payload)",
        peak["process_peak_kb"], peak["peak_added_kb"], peak["baseline_peak_kb"]
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
