//! The load test of issue 12: N concurrent Lambda instances of error-analyzer on one service
//! and of login-guard on one account, each its own handler and DynamoDB client, all released
//! together against DynamoDB Local behind the fault proxy, which answers a chosen share of the
//! writes with DynamoDB's conflict errors; then every batch delivered again. Reports
//! invocations, failures, retries, DynamoDB calls per batch, wall time, and whether the final
//! state is exactly the truth the batches add up to.
//!
//! Run: `make bench-load`, or `cargo run --release -p apptrack-bench --features load --bin
//! load-bench -- [--instances 50,200] [--conflicts 0,50,200] [--json FILE]`.
//!
//! error-analyzer prints its EMF metrics on stdout, as in Lambda; the scenarios therefore run
//! in a child process whose stdout is discarded, and this process prints the report.

mod analyzer;
mod guard;
mod lambda;
mod report;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use apptrack_bench::exact::{Figures, compare};
use apptrack_core::clock::Timestamp;
use apptrack_tests::proxy::Proxy;
use apptrack_tests::{Items, TestTables};
use aws_sdk_dynamodb::types::AttributeValue;
use clap::{Parser, ValueEnum};
use serde_json::Value;

use crate::lambda::{ClientKind, Phase, Retries, conflicts, instance_client, phase};
use crate::report::{Exactness, Scenario};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Function {
    ErrorAnalyzer,
    LoginGuard,
}

impl Function {
    fn name(self) -> &'static str {
        match self {
            Function::ErrorAnalyzer => "error-analyzer",
            Function::LoginGuard => "login-guard",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Client {
    Deployed,
    SdkDefaults,
}

#[derive(Debug, Parser)]
#[command(
    about = "Concurrent instances of error-analyzer and login-guard under injected conflicts"
)]
struct Args {
    /// Concurrent instances (and batches) per scenario.
    #[arg(long, value_delimiter = ',', default_value = "50,200")]
    instances: Vec<usize>,
    /// Writes answered with a conflict, per mille (0, 5 % and 20 % by default).
    #[arg(long, value_delimiter = ',', default_value = "0,50,200")]
    conflicts: Vec<u32>,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "error-analyzer,login-guard"
    )]
    functions: Vec<Function>,
    /// Lambda's retries of a failed asynchronous invocation (its default and maximum is 2).
    #[arg(long, default_value_t = 2)]
    lambda_retries: u32,
    /// The pause before a Lambda retry, in milliseconds (Lambda's own is about a minute).
    #[arg(long, default_value_t = 500)]
    retry_pause_ms: u64,
    /// The instances' DynamoDB client: as the functions build it, or the SDK's defaults (the
    /// functions' client before conflicts on single-item writes were retried).
    #[arg(long, value_enum, default_value_t = Client::Deployed)]
    client: Client,
    /// Seed of the proxy's choice of conflicting requests.
    #[arg(long, default_value_t = 12)]
    seed: u64,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Internal: run the scenarios and write their results to this file.
    #[arg(long, hide = true)]
    worker: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.instances.iter().all(|n| (1..=1000).contains(n)),
        "--instances: each value must be from 1 to 1000, got {:?}",
        args.instances
    );
    ensure!(
        args.conflicts.iter().all(|r| *r <= 1000),
        "--conflicts: each value is per mille, from 0 to 1000, got {:?}",
        args.conflicts
    );
    ensure!(
        args.lambda_retries <= 10,
        "--lambda-retries: at most 10, got {}",
        args.lambda_retries
    );
    if let Some(out) = &args.worker {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the Tokio runtime")?;
        let scenarios = runtime.block_on(run_all(&args))?;
        let json = serde_json::to_vec_pretty(&scenarios)?;
        return std::fs::write(out, json).with_context(|| format!("writing {}", out.display()));
    }
    let results = std::env::temp_dir().join(format!("load-bench-{}.json", std::process::id()));
    let status = Command::new(std::env::current_exe().context("finding this program")?)
        .args(std::env::args_os().skip(1))
        .arg("--worker")
        .arg(&results)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("running the scenarios")?;
    ensure!(status.success(), "the scenarios failed ({status})");
    let text = std::fs::read(&results).with_context(|| format!("reading {}", results.display()));
    let _ = std::fs::remove_file(&results);
    let scenarios: Vec<Scenario> = serde_json::from_slice(&text?).context("the results")?;
    print!("{}", report::table(&scenarios));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&scenarios)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if scenarios.iter().any(|s| !s.exactness.detects_an_error) {
        bail!("a scenario's exactness check did not catch an error added on purpose");
    }
    Ok(())
}

async fn run_all(args: &Args) -> Result<Vec<Scenario>> {
    // Starting the emulator blocks (and reports a missing tool by panicking): off the runtime.
    tokio::task::spawn_blocking(apptrack_tests::dynamodb)
        .await
        .map_err(|_| anyhow::anyhow!("DynamoDB Local did not start (see the message above)"))?;
    let retries = Retries {
        retries: args.lambda_retries,
        pause: Duration::from_millis(args.retry_pause_ms),
    };
    let mut out = Vec::new();
    for &function in &args.functions {
        for &n in &args.instances {
            for &per_mille in &args.conflicts {
                let seed = args.seed + out.len() as u64 * 10;
                let client = match args.client {
                    Client::Deployed => ClientKind::Deployed,
                    Client::SdkDefaults => ClientKind::SdkDefaults,
                };
                let s = scenario(function, n, per_mille, seed, retries, client)
                    .await
                    .with_context(|| {
                        format!("{} × {n}, {per_mille} ‰ conflicts", function.name())
                    })?;
                eprintln!("{}", report::line(&s));
                out.push(s);
            }
        }
    }
    report::compare_with_clean_runs(&mut out);
    Ok(out)
}

/// The start of the events: whole minutes, three before now (the analyzer's batches then
/// cover two whole minutes; login-guard's failures all fall within its ten-minute window).
fn events_start() -> Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(now.div_euclid(60_000) * 60_000 - 3 * 60_000)
}

async fn scenario(
    function: Function,
    n: usize,
    per_mille: u32,
    seed: u64,
    retries: Retries,
    client: ClientKind,
) -> Result<Scenario> {
    let tables = TestTables::new().await?;
    let proxy = Proxy::start(&apptrack_tests::dynamodb().endpoint).await?;
    let start = events_start();
    let tag = |i: usize| format!("{}-{n}-{per_mille}-{seed}-{i}", function.name());
    let mut s = match function {
        Function::ErrorAnalyzer => {
            let truth = analyzer::truth(n, start)?;
            let events = analyzer::batches(n, start)
                .iter()
                .map(|b| analyzer::payload(b).map(Arc::new))
                .collect::<Result<Vec<_>>>()?;
            let instances = (0..n)
                .map(|i| {
                    analyzer::instance(instance_client(&proxy, &tag(i), client), &tables)
                        .map(Arc::new)
                })
                .collect::<Result<Vec<_>>>()?;
            let run = deliveries(
                &instances, &events, retries, &proxy, &tables, per_mille, seed,
            )
            .await?;
            let mut s = run.scenario(function, per_mille);
            s.redelivery_duplicates = count(&s_outputs(&run.redelivery), |o| {
                analyzer::status(o) == "duplicate"
            });
            s.exactness = exactness(&tables, &truth, analyzer::actual(&tables).await?, || {
                analyzer::actual(&tables)
            })
            .await?;
            s
        }
        Function::LoginGuard => {
            let truth = guard::truth(n);
            let events = guard::batches(n, start)
                .iter()
                .map(|b| guard::payload(b).map(Arc::new))
                .collect::<Result<Vec<_>>>()?;
            let instances = (0..n)
                .map(|i| {
                    guard::instance(instance_client(&proxy, &tag(i), client), &tables).map(Arc::new)
                })
                .collect::<Result<Vec<_>>>()?;
            let run = deliveries(
                &instances, &events, retries, &proxy, &tables, per_mille, seed,
            )
            .await?;
            let mut s = run.scenario(function, per_mille);
            s.redelivery_duplicates = count(&s_outputs(&run.redelivery), guard::all_counted_before);
            s.locks_reported = run
                .first
                .outputs
                .iter()
                .chain(&run.redelivery.outputs)
                .flatten()
                .map(guard::locks_set)
                .sum();
            s.exactness = exactness(&tables, &truth, guard::actual(&tables).await?, || {
                guard::actual(&tables)
            })
            .await?;
            s
        }
    };
    s.instances = n;
    s.client = format!("{client:?}");
    Ok(s)
}

fn s_outputs(p: &Phase) -> Vec<&Value> {
    p.outputs.iter().flatten().collect()
}

fn count(outputs: &[&Value], pred: impl Fn(&Value) -> bool) -> usize {
    outputs.iter().filter(|o| pred(o)).count()
}

/// Both deliveries of a scenario.
struct Run {
    first: Phase,
    redelivery: Phase,
    /// Items the redelivery added, changed or removed.
    redelivery_changed: usize,
}

impl Run {
    fn scenario(&self, function: Function, per_mille: u32) -> Scenario {
        Scenario {
            function: function.name().to_owned(),
            instances: self.first.deliveries,
            conflict_per_mille: per_mille,
            first: self.first.clone(),
            redelivery: self.redelivery.clone(),
            redelivery_changed_items: self.redelivery_changed,
            never_handled: self
                .first
                .outputs
                .iter()
                .zip(&self.redelivery.outputs)
                .filter(|(a, b)| a.is_none() && b.is_none())
                .count(),
            ..Scenario::default()
        }
    }
}

/// Injects the conflicts, delivers every event once (all at once), then again.
async fn deliveries<F: apptrack_lambda::Function + 'static>(
    instances: &[Arc<F>],
    events: &[Arc<Value>],
    retries: Retries,
    proxy: &Proxy,
    tables: &TestTables,
    per_mille: u32,
    seed: u64,
) -> Result<Run> {
    proxy.inject_all(conflicts(per_mille, seed));
    let first = phase(instances, events, retries, proxy).await?;
    let before = tables.snapshot().await?;
    let redelivery = phase(instances, events, retries, proxy).await?;
    proxy.heal();
    let after = tables.snapshot().await?;
    Ok(Run {
        first,
        redelivery,
        redelivery_changed: changed(&before.state, &after.state)
            + changed(&before.incidents, &after.incidents),
    })
}

/// Items present in only one of `a` and `b`, or different in them.
fn changed(a: &Items, b: &Items) -> usize {
    let gone_or_changed = a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).count();
    let added = b.keys().filter(|k| !a.contains_key(*k)).count();
    gone_or_changed + added
}

/// The state against the truth; then, to show the comparison can fail, the same after one
/// error too many is added to an incident's count behind the handlers' backs.
async fn exactness<Fut: Future<Output = Result<Figures>>>(
    tables: &TestTables,
    truth: &Figures,
    actual: Figures,
    read_again: impl Fn() -> Fut,
) -> Result<Exactness> {
    let verdict = compare(truth, &actual);
    // What an inexact state's incidents are, to tell which batches judged what.
    let mut incidents = Vec::new();
    if !verdict.exact() {
        for item in tables.incidents().await? {
            let text = |name: &str| apptrack_tests::attr(&item, name).unwrap_or("?").to_owned();
            let count = item.get("count").and_then(|v| v.as_n().ok()).cloned();
            incidents.push(format!(
                "{}: {} (count {})",
                text("kind"),
                text("title"),
                count.unwrap_or_default()
            ));
        }
    }
    let detects_an_error = match tables.incidents().await?.first() {
        Some(item) => {
            let key = |name: &str| {
                item.get(name)
                    .cloned()
                    .unwrap_or(AttributeValue::Null(true))
            };
            tables
                .client
                .update_item()
                .table_name(&tables.incidents)
                .key("pk", key("pk"))
                .key("sk", key("sk"))
                .update_expression("ADD #c :one")
                .expression_attribute_names("#c", "count")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await
                .context("adding an error to an incident for the self-check")?;
            compare(truth, &read_again().await?) != verdict
        }
        // No incident at all: the verdict is inexact already, which is what it must detect.
        None => !verdict.exact(),
    };
    Ok(Exactness {
        exact: verdict.exact(),
        compared: verdict.compared,
        verdict: verdict.to_string(),
        mismatches: verdict.mismatches.iter().map(ToString::to_string).collect(),
        incidents,
        detects_an_error,
    })
}
