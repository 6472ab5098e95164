//! error-analyzer under load: `n` log batches of one service, 40 error lines each over two
//! minutes, of three patterns (two naming one failing dependency, one a code error), and the
//! truth they add up to.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail, ensure};
use apptrack_aws::dynamodb::error_counts::{pattern_pk, series_pk};
use apptrack_bench::exact::{Figures, add};
use apptrack_core::clock::Timestamp;
use apptrack_core::errors::analysis::{Minute, analyze};
use apptrack_core::errors::counts::{PatternKey, Series};
use apptrack_core::pattern::PatternMiner;
use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType, encode_batch};
use apptrack_tests::TestTables;
use error_analyzer::Deployed;
use error_analyzer::handler::Settings;
use serde_json::Value;

pub const LOG_GROUP: &str = "/aws/lambda/checkout";
const SERVICE: &str = "checkout";
pub const LINES_PER_BATCH: usize = 40;
/// Lines 3 s apart: a batch covers two minutes.
const LINE_GAP_MS: i64 = 3_000;

/// What a generated line is, known from how it was written, not from parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A timeout naming the dependency: half the lines.
    Timeout,
    /// A refused connection naming the dependency: a quarter.
    Refused,
    /// A code error naming nothing: a quarter, the pattern of the `new-error` incident.
    Code,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Timeout, Kind::Refused, Kind::Code];

    fn of_line(i: usize) -> Kind {
        match i % 4 {
            0 | 1 => Kind::Timeout,
            2 => Kind::Refused,
            _ => Kind::Code,
        }
    }

    fn names_dependency(self) -> bool {
        self != Kind::Code
    }

    /// The line's message: the values change from line to line, the pattern does not.
    fn message(self, at: Timestamp, batch: usize, i: usize) -> String {
        let request = format!("8f507cfc-5c2e-4b4a-9c3e-{:012x}", batch * 1000 + i);
        let text = match self {
            Kind::Timeout => format!(
                "Timeout after 3000 ms connecting to api.payments.example:443 (attempt {})",
                1 + i % 3
            ),
            Kind::Refused => format!(
                "connection refused to api.payments.example:443 while charging order {}",
                40_000 + batch * 100 + i
            ),
            Kind::Code => format!(
                "TypeError: cannot read property 'total' of undefined in cart {}",
                90_000 + batch * 100 + i
            ),
        };
        format!("{}\t{request}\tERROR\t{text}", at.to_rfc3339())
    }
}

/// The batches, the same for every delivery: batch `b`'s line `i` at `start + 3 s × i`.
pub fn batches(n: usize, start: Timestamp) -> Vec<LogsBatch> {
    (0..n)
        .map(|b| LogsBatch {
            message_type: MessageType::Data,
            owner: "123456789012".into(),
            log_group: LOG_GROUP.into(),
            log_stream: format!("2026/12/02/[$LATEST]{b:032x}"),
            subscription_filters: vec!["apptrack-errors".into()],
            log_events: (0..LINES_PER_BATCH)
                .map(|i| {
                    let at = line_time(start, i);
                    LogEvent {
                        id: format!("{}{b:06}{i:04}", start.as_millis()),
                        timestamp: at.as_millis(),
                        message: Kind::of_line(i).message(at, b, i),
                    }
                })
                .collect(),
        })
        .collect()
}

fn line_time(start: Timestamp, i: usize) -> Timestamp {
    start.plus_millis(LINE_GAP_MS * i as i64)
}

/// The subscription payload Lambda hands the function.
pub fn payload(batch: &LogsBatch) -> Result<Value> {
    serde_json::from_str(&encode_batch(batch)).context("an encoded batch is not JSON")
}

/// How the product names what the batches hold: each kind's pattern fingerprint and the
/// dependency, learned from one line of each kind alone (a cold start).
struct Names {
    fingerprints: BTreeMap<Kind, PatternKey>,
    dependency: String,
}

fn learn(start: Timestamp) -> Result<Names> {
    let miner = PatternMiner::default();
    let sample = batches(1, start).remove(0);
    let mut fingerprints = BTreeMap::new();
    let mut dependency = None;
    for kind in Kind::ALL {
        let i = (0..LINES_PER_BATCH)
            .find(|&i| Kind::of_line(i) == kind)
            .context("every kind has a line")?;
        let one = LogsBatch {
            log_events: vec![sample.log_events[i].clone()],
            ..sample.clone()
        };
        let a = analyze(&one, &miner);
        let [p] = a.patterns.as_slice() else {
            bail!("a {kind:?} line makes {} patterns, not 1", a.patterns.len());
        };
        ensure!(
            p.key.service == SERVICE,
            "a {kind:?} line is of service {}",
            p.key.service
        );
        match (kind.names_dependency(), a.dependencies.as_slice()) {
            (true, [d]) => {
                ensure!(
                    dependency
                        .as_ref()
                        .is_none_or(|known| *known == d.dependency),
                    "the lines name two dependencies"
                );
                dependency = Some(d.dependency.clone());
            }
            (false, []) => {}
            (_, deps) => bail!("a {kind:?} line names {} dependencies", deps.len()),
        }
        fingerprints.insert(kind, p.key.clone());
    }
    let names = Names {
        fingerprints,
        dependency: dependency.context("no line names the dependency")?,
    };
    // The whole batch groups as its lines were written: the truth below holds for it.
    let a = analyze(&sample, &miner);
    for kind in Kind::ALL {
        let lines = (0..LINES_PER_BATCH)
            .filter(|&i| Kind::of_line(i) == kind)
            .count() as u64;
        let counted = a
            .patterns
            .iter()
            .find(|p| p.key == names.fingerprints[&kind])
            .map_or(0, |p| p.seen.count);
        ensure!(
            counted == lines,
            "the batch's {kind:?} pattern has {counted} lines, not {lines}"
        );
    }
    ensure!(
        a.error_lines == LINES_PER_BATCH as u64 && a.patterns.len() == Kind::ALL.len(),
        "a batch is {} error lines of {} patterns",
        a.error_lines,
        a.patterns.len()
    );
    Ok(names)
}

/// The final state `n` batches from `start` must leave, whatever the interleaving: every
/// line counted once in its minute's counters (service, pattern, dependency) and its
/// pattern's total; one `dependency-failure` incident counting the lines that name the
/// dependency (which take in the two patterns naming it), one `new-error` incident counting
/// the code error's lines.
pub fn truth(n: usize, start: Timestamp) -> Result<Figures> {
    let names = learn(start)?;
    let service = Series::Service {
        service: SERVICE.into(),
    };
    let dependency = Series::Dependency {
        service: SERVICE.into(),
        dependency: names.dependency.clone(),
    };
    let mut f = Figures::new();
    let per_batch = n as u64;
    for i in 0..LINES_PER_BATCH {
        let kind = Kind::of_line(i);
        let minute = Minute::of(line_time(start, i)).label();
        let key = &names.fingerprints[&kind];
        let pattern = Series::Pattern {
            service: SERVICE.into(),
            fingerprint: key.fingerprint,
        };
        add(&mut f, counter(&service, &minute), per_batch);
        add(&mut f, counter(&pattern, &minute), per_batch);
        add(&mut f, total(key), per_batch);
        if kind.names_dependency() {
            add(&mut f, counter(&dependency, &minute), per_batch);
            let dep = &names.dependency;
            add(
                &mut f,
                incident("dependency-failure", dep, "count"),
                per_batch,
            );
        } else {
            add(&mut f, incident("new-error", LOG_GROUP, "count"), per_batch);
        }
    }
    f.insert(
        incident("dependency-failure", &names.dependency, "incidents"),
        1,
    );
    f.insert(incident("new-error", LOG_GROUP, "incidents"), 1);
    Ok(f)
}

fn counter(series: &Series, minute: &str) -> String {
    format!("{} MIN#{minute} count", series_pk(series))
}

fn total(key: &PatternKey) -> String {
    format!("{} total", pattern_pk(key))
}

pub fn incident(kind: &str, resource: &str, what: &str) -> String {
    format!("incident {kind} {resource} {what}")
}

fn number(item: &apptrack_tests::Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The same figures, read from the tables with consistent scans: counters by item, a
/// pattern's total summed over its shards (and the record), incidents by kind and resource.
pub async fn actual(t: &TestTables) -> Result<Figures> {
    let mut f = Figures::new();
    for ((pk, sk), item) in t.items(&t.state).await? {
        if pk.starts_with("ERRCOUNT#") {
            add(
                &mut f,
                format!("{pk} {sk} count"),
                number(&item, "count").unwrap_or(0),
            );
        } else if pk.starts_with("ERRPATTERN#")
            && (sk == "PATTERN" || sk.starts_with("TOTAL#"))
            && let Some(n) = number(&item, "total")
        {
            add(&mut f, format!("{pk} total"), n);
        }
    }
    incidents(t, &mut f).await?;
    Ok(f)
}

/// Every incident's count and the number of incidents, by kind and resource.
pub async fn incidents(t: &TestTables, f: &mut Figures) -> Result<()> {
    for item in t.incidents().await? {
        let kind = apptrack_tests::attr(&item, "kind").unwrap_or("(no kind)");
        let resource = apptrack_tests::attr(&item, "resource").unwrap_or("(no resource)");
        add(
            f,
            incident(kind, resource, "count"),
            number(&item, "count").unwrap_or(0),
        );
        add(f, incident(kind, resource, "incidents"), 1);
    }
    Ok(())
}

/// One instance as `error_analyzer::Deployed` builds it, over its own client.
pub fn instance(client: aws_sdk_dynamodb::Client, t: &TestTables) -> Result<Deployed> {
    Ok(Deployed::from_client(
        client,
        Settings::from_lookup(t.lookup())?,
    ))
}

/// A response's `status`: `processed`, `duplicate`, ...
pub fn status(output: &Value) -> &str {
    output.get("status").and_then(Value::as_str).unwrap_or("")
}
