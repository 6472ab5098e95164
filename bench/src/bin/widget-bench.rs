//! The incidents widget over 500 open incidents in DynamoDB Local: the time of one dashboard
//! call (decode, the status index's pages with timelines, rendering) through the deployed
//! DynamoDB client, and of the rendering alone. The incidents look like error-analyzer's: a
//! summary, per-minute counts and samples as evidence, three timeline entries.
//!
//! Run: `make bench`, or `cargo run --release -p apptrack-bench --features widget --bin
//! widget-bench -- [--incidents 500] [--rounds 30] [--json FILE]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use apptrack_core::clock::{Clock, SystemClock};
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentKind, Occurrence, Severity, Status, TimelineEntry, Title,
};
use apptrack_core::store::{PageRequest, ReadIncidents, RecordIncidents};
use apptrack_core::view::{BoardOptions, render_board};
use apptrack_tests::TestTables;
use clap::Parser;
use incident_widget::handler::{Settings, Shown};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "The incidents widget over many open incidents in DynamoDB Local")]
struct Args {
    #[arg(long, default_value_t = 500)]
    incidents: usize,
    #[arg(long, default_value_t = 30)]
    rounds: usize,
    /// Also write the figures here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn figures(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    json!({
        "min_ms": percentile(&times, 0.0),
        "median_ms": percentile(&times, 0.5),
        "p95_ms": percentile(&times, 0.95),
        "max_ms": percentile(&times, 1.0),
    })
}

async fn seed(tables: &TestTables, n: usize) -> Result<()> {
    let store = Arc::new(tables.store());
    let now = SystemClock.now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (worker..n).step_by(16) {
                let at = now.plus_millis(-((i as i64 + 1) * 37_000));
                let service = format!("service-{}", i % 25);
                let title = format!(
                    "Errors of \"timeout calling payments-{i}.internal:8443 after <*> ms\" in {service} rose"
                );
                let key = DedupKey::new("error-analyzer", IncidentKind::ErrorSpike, &service, &title)?;
                let per_minute: Vec<[i64; 2]> = (0..31)
                    .map(|m| [at.as_millis() / 60_000 * 60_000 - (30 - m) * 60_000, (m * 7 % 11) + if m == 30 { 60 } else { 0 }])
                    .collect();
                let occ = Occurrence {
                    summary: format!(
                        "Errors of this pattern in {service} rose to 60 in the minute against a \
                         baseline of 5.1 per minute over the 30 minutes before. Suspected cause: \
                         dependency (payments-{i}.internal named in 94 % of the lines)."
                    ),
                    evidence: vec![Evidence::new(
                        at,
                        "errors in the minute",
                        json!({
                            "per_minute": per_minute,
                            "samples": (0..3).map(|s| format!(
                                "{{\"level\":\"error\",\"msg\":\"timeout calling payments-{i}.internal:8443 after {} ms\",\"request_id\":\"req-{s}\"}}",
                                1000 + s
                            )).collect::<Vec<_>>(),
                        }),
                    )],
                    ..Occurrence::new(
                        key,
                        IncidentKind::ErrorSpike,
                        if i % 7 == 0 { Severity::Critical } else { Severity::High },
                        "error-analyzer",
                        &service,
                        &format!("/aws/lambda/{service}"),
                        Title::truncated(&title),
                        at,
                    )
                };
                let id = store.raise(&occ).await?.id;
                for (action, detail) in [
                    ("correlated", "after deployment ci-4711 of service (v41 -> v42)"),
                    ("noted", "likely deployment regression, verdict pending"),
                ] {
                    store
                        .append_timeline(&id, &TimelineEntry::new(at, "deploy-guard", action, detail))
                        .await?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tables = TestTables::new().await?;
    let seeding = Instant::now();
    seed(&tables, args.incidents).await?;
    eprintln!(
        "seeded {} open incidents in {:.1?}",
        args.incidents,
        seeding.elapsed()
    );

    let sdk = apptrack_tests::sdk_config(&apptrack_tests::dynamodb().endpoint);
    let settings = Settings::from_lookup(|k| match k {
        "INCIDENTS_TABLE" => Some(tables.incidents.clone()),
        "STATE_TABLE" => Some(tables.state.clone()),
        "APPTRACK_WIDGET_MAX_INCIDENTS" => Some(args.incidents.clamp(1, 2_000).to_string()),
        _ => None,
    })?;
    let widget = incident_widget::Deployed::from_sdk(&sdk, settings);
    let call = json!({
        "endpoint": "arn:aws:lambda:us-east-1:123456789012:function:incident-widget",
        "widgetContext": {"dashboardName": "apptrack", "params": {}},
    });

    let mut calls = Vec::new();
    let mut bytes = 0;
    for round in 0..=args.rounds {
        let started = Instant::now();
        let Shown(html) = widget.handle(&call).await.context("widget call")?;
        // The first call opens the connection: not counted.
        if round > 0 {
            calls.push(started.elapsed());
        }
        bytes = html.len();
        let rows = html.matches("<tr><td>").count();
        ensure!(rows == args.incidents.min(2_000), "{rows} rows");
    }

    // The rendering alone, over the same items read once.
    let now = SystemClock.now();
    let mut items = Vec::new();
    let mut cursor = None;
    let mut queries = 0;
    loop {
        let page = PageRequest {
            limit: 250,
            cursor,
            now,
        };
        let found = widget
            .incidents
            .list_with_timelines(Status::Open, &page)
            .await?;
        queries += 1;
        items.extend(found.items);
        cursor = found.next;
        if cursor.is_none() {
            break;
        }
    }
    let mut renders = Vec::new();
    for _ in 0..args.rounds {
        let started = Instant::now();
        std::hint::black_box(render_board(&items, now, &BoardOptions::default()));
        renders.push(started.elapsed());
    }

    let out = json!({
        "incidents": args.incidents,
        "rounds": args.rounds,
        "html_bytes": bytes,
        "queries_per_status": queries,
        "call": figures(calls),
        "render_only": figures(renders),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
