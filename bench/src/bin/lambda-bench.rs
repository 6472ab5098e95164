//! Cold start and memory of a function's release bootstrap, under a minimal Lambda Runtime
//! API served here: exec → first `invocation/next` poll (init), exec → first response.
//!
//! Run: `cargo run --release -p apptrack-bench --bin lambda-bench -- \
//!        --bootstrap target/release/alarm-scaler --event events/alarm/cpu-high-alarm.json --runs 20`
//! The function's own environment (table names, AWS endpoints) is inherited, so point it at
//! the local emulators (`source .local/env`) to measure the first invocation for real.
//! Peak RSS is the process's VmHWM after `--invocations` invocations of the event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// The function's bootstrap binary (a release build).
    #[arg(long)]
    bootstrap: PathBuf,
    /// Event file sent as every invocation's payload.
    #[arg(long)]
    event: PathBuf,
    /// Event for the memory run (a 1 MB log batch, say); default: `--event`.
    #[arg(long)]
    memory_event: Option<PathBuf>,
    /// Cold starts to measure (median reported).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Invocations in the memory run (peak RSS over all of them).
    #[arg(long, default_value_t = 20)]
    invocations: usize,
    /// Function name reported to the runtime.
    #[arg(long, default_value = "apptrack-bench")]
    name: String,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What the runtime did, as seen by the API server.
#[derive(Debug)]
enum Seen {
    Poll(Instant),
    Response(Instant),
    Error(Instant, String),
}

/// Reads one HTTP/1.1 request: (method, path, body). Handles Content-Length and chunked bodies.
fn read_request(r: &mut BufReader<TcpStream>) -> Result<Option<(String, String, String)>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok(Some((
        method,
        path,
        String::from_utf8_lossy(&body).into_owned(),
    )))
}

fn respond(w: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    w.write_all(out.as_bytes())?;
    Ok(())
}

/// Serves one connection: hands out invocations from `events`, reports what it saw.
fn serve(
    stream: TcpStream,
    events: std::sync::Arc<std::sync::Mutex<Receiver<String>>>,
    seen: Sender<Seen>,
) -> Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader)? {
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = seen.send(Seen::Poll(Instant::now()));
            // Blocks until the driver has another invocation (or drops the sender).
            let next = events
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .recv();
            let Ok(event) = next else { return Ok(()) };
            let id = format!("req-{}", Instant::now().elapsed().as_nanos());
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
                + 60_000;
            respond(
                &mut writer,
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id", id),
                    ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000".into(),
                    ),
                ],
                &event,
            )?;
        } else if method == "POST" && path.ends_with("/response") {
            let _ = seen.send(Seen::Response(Instant::now()));
            respond(&mut writer, "202 Accepted", &[], "")?;
        } else if method == "POST" && path.ends_with("/error") {
            let _ = seen.send(Seen::Error(Instant::now(), body));
            respond(&mut writer, "202 Accepted", &[], "")?;
        } else {
            respond(&mut writer, "404 Not Found", &[], "")?;
        }
    }
    Ok(())
}

struct Run {
    init: Duration,
    first_response: Duration,
    peak_rss_kb: u64,
    errors: usize,
}

fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts the bootstrap against a fresh API server and drives `invocations` invocations.
fn run_once(args: &Args, event: &str, invocations: usize) -> Result<Run> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (ev_tx, ev_rx) = mpsc::channel::<String>();
    let ev_rx = std::sync::Arc::new(std::sync::Mutex::new(ev_rx));
    let (seen_tx, seen_rx) = mpsc::channel::<Seen>();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (rx, tx) = (ev_rx.clone(), seen_tx.clone());
            std::thread::spawn(move || serve(stream, rx, tx));
        }
    });
    for _ in 0..invocations {
        ev_tx.send(event.to_string())?;
    }

    let start = Instant::now();
    let mut child = Command::new(&args.bootstrap)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &args.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", args.bootstrap.display()))?;

    let mut init = None;
    let mut first_response = None;
    let mut done = 0;
    let mut errors = 0;
    let deadline = Duration::from_secs(60);
    while done < invocations {
        match seen_rx.recv_timeout(deadline) {
            Ok(Seen::Poll(t)) => {
                init.get_or_insert(t - start);
            }
            Ok(Seen::Response(t)) => {
                first_response.get_or_insert(t - start);
                done += 1;
            }
            Ok(Seen::Error(t, body)) => {
                if errors == 0 {
                    eprintln!("invocation error: {body}");
                }
                first_response.get_or_insert(t - start);
                errors += 1;
                done += 1;
            }
            Err(_) => {
                let _ = child.kill();
                bail!("no answer from the function within {deadline:?}");
            }
        }
    }
    let peak_rss_kb = vm_hwm_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    Ok(Run {
        init: init.unwrap_or_default(),
        first_response: first_response.unwrap_or_default(),
        peak_rss_kb,
        errors,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<()> {
    let args = Args::parse();
    let event = std::fs::read_to_string(&args.event)
        .with_context(|| format!("reading {}", args.event.display()))?;
    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    let mut errors = 0;
    for _ in 0..args.runs.max(1) {
        let r = run_once(&args, &event, 1)?;
        inits.push(r.init);
        firsts.push(r.first_response);
        errors += r.errors;
    }
    let memory_event = match &args.memory_event {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => event.clone(),
    };
    let mem = run_once(&args, &memory_event, args.invocations.max(1))?;
    let size = std::fs::metadata(&args.bootstrap)?.len();
    let (init, first) = (median(inits), median(firsts));
    println!(
        "{name}: init (exec → first poll) median {init:.2?}, exec → first response median {first:.2?} over {runs} runs; \
         peak RSS {rss:.1} MB over {n} invocations; binary {size:.1} MB; {errors} invocation errors",
        name = args
            .bootstrap
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?"),
        runs = args.runs.max(1),
        rss = mem.peak_rss_kb as f64 / 1024.0,
        n = args.invocations.max(1),
        size = size as f64 / 1_048_576.0,
        errors = errors + mem.errors,
    );
    if let Some(path) = &args.json {
        let v = serde_json::json!({
            "bootstrap": args.bootstrap,
            "event": args.event,
            "memory_event": args.memory_event.as_ref().unwrap_or(&args.event),
            "runs": args.runs.max(1),
            "init_median_ms": init.as_secs_f64() * 1e3,
            "first_response_median_ms": first.as_secs_f64() * 1e3,
            "peak_rss_mb": mem.peak_rss_kb as f64 / 1024.0,
            "invocations": args.invocations.max(1),
            "binary_mb": size as f64 / 1_048_576.0,
            "invocation_errors": errors + mem.errors,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}
