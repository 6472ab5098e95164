//! `apptrack incidents ...`: list, show (with a sparkline of its numbers), acknowledge,
//! resolve, and the HTML report. Every listing goes through an index query (status or
//! service); nothing scans.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use apptrack_core::clock::{Clock, SystemClock, Timestamp};
use apptrack_core::incident::{Incident, IncidentId, Status, TimelineEntry, truncate_chars};
use apptrack_core::settings::StoreSettings;
use apptrack_core::store::{IncidentStore, PageRequest, TimeRange};
use apptrack_core::view::html::duration;
use apptrack_core::view::series::{self, Glyphs, number};
use apptrack_core::view::{ReportRange, render_report};
use clap::Subcommand;

use crate::output;

#[derive(Debug, Subcommand)]
pub enum IncidentsCmd {
    /// Incidents, newest first (default: open and acknowledged ones).
    List {
        /// open, acknowledged or resolved.
        #[arg(long)]
        status: Option<Status>,
        /// Only this service (first seen within --since).
        #[arg(long)]
        service: Option<String>,
        /// Only incidents first seen within this long ago: 30m, 1h, 7d ...
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<Duration>,
        /// At most this many incidents.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One incident with its evidence, its numbers as a sparkline (Unicode blocks in a
    /// terminal, plain numbers otherwise) and its timeline.
    Show {
        id: IncidentId,
        #[arg(long)]
        json: bool,
    },
    /// A self-contained HTML page of the incident history (per day by kind, mean time to
    /// resolve, every incident), for a weekly review.
    Report {
        /// Incidents first seen within this long ago: 7d, 30d, 24h ...
        #[arg(long, value_parser = humantime::parse_duration, default_value = "7d")]
        since: Duration,
        /// Where to write the page.
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
        /// At most this many incidents per status.
        #[arg(long, default_value_t = 5_000)]
        limit: usize,
    },
    /// Mark an open incident as acknowledged.
    Ack {
        id: IncidentId,
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve an open or acknowledged incident.
    Resolve {
        id: IncidentId,
        #[arg(long)]
        note: Option<String>,
    },
}

/// How far back `--service` looks when `--since` is not given.
const DEFAULT_SERVICE_WINDOW: Duration = Duration::from_secs(30 * 86_400);

fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_string());
    format!("cli:{user}")
}

pub async fn run(cmd: IncidentsCmd, store: &impl IncidentStore) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        IncidentsCmd::List {
            status,
            service,
            since,
            limit,
            json,
        } => {
            let found = list(store, now, status, service.as_deref(), since, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else if found.is_empty() {
                println!("no incidents");
            } else {
                print!("{}", incident_table(&found));
            }
        }
        IncidentsCmd::Show { id, json } => {
            let inc = store.get(&id, now).await?;
            let timeline = store.timeline(&id, now).await?;
            if json {
                let mut v = serde_json::to_value(&inc)?;
                v["timeline"] = serde_json::to_value(&timeline)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let glyphs = if std::io::stdout().is_terminal() {
                    Glyphs::Blocks
                } else {
                    Glyphs::Plain
                };
                print!("{}", describe(&inc, &timeline, glyphs));
            }
        }
        IncidentsCmd::Report { since, html, limit } => {
            let mut found = Vec::new();
            for status in Status::ALL {
                found.extend(list(store, now, Some(*status), None, Some(since), limit).await?);
            }
            let range = ReportRange {
                from: now.saturating_sub(since),
                to: now.saturating_add(Duration::from_millis(1)),
            };
            std::fs::write(&html, render_report(&found, range, now))
                .with_context(|| format!("writing {}", html.display()))?;
            println!(
                "wrote {}: {} incidents first seen since {}",
                html.display(),
                found.len(),
                range.from
            );
        }
        IncidentsCmd::Ack { id, note } => {
            let entry =
                TimelineEntry::new(now, &actor(), "acknowledged", note.as_deref().unwrap_or(""));
            let inc = store.acknowledge(&id, &entry).await?;
            println!("acknowledged {} ({})", inc.id, inc.title);
        }
        IncidentsCmd::Resolve { id, note } => {
            let settings = StoreSettings::from_lookup(|k| match k {
                // Table names are already known; only the retention matters here.
                "INCIDENTS_TABLE" | "STATE_TABLE" => Some("-".to_string()),
                _ => std::env::var(k).ok(),
            })
            .context("reading APPTRACK_INCIDENT_RETENTION_DAYS")?;
            let entry =
                TimelineEntry::new(now, &actor(), "resolved", note.as_deref().unwrap_or(""));
            let inc = store.resolve(&id, &entry, settings.retention).await?;
            println!("resolved {} ({})", inc.id, inc.title);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Collects up to `limit` incidents, following pages, newest first.
async fn list(
    store: &impl IncidentStore,
    now: Timestamp,
    status: Option<Status>,
    service: Option<&str>,
    since: Option<Duration>,
    limit: usize,
) -> Result<Vec<Incident>> {
    let limit = limit.max(1);
    let cutoff = since.map(|d| now.saturating_sub(d));
    let mut out = Vec::new();
    if let Some(service) = service {
        let range = TimeRange {
            from: cutoff.unwrap_or_else(|| now.saturating_sub(DEFAULT_SERVICE_WINDOW)),
            to: now.saturating_add(Duration::from_millis(1)),
        };
        let mut cursor = None;
        loop {
            let req = PageRequest {
                limit: 100,
                cursor,
                now,
            };
            let page = store.list_by_service(service, range, &req).await?;
            out.extend(
                page.items
                    .into_iter()
                    .filter(|i| status.is_none_or(|s| i.status == s)),
            );
            cursor = page.next;
            if cursor.is_none() || out.len() >= limit {
                break;
            }
        }
    } else {
        let statuses = match status {
            Some(s) => vec![s],
            None => vec![Status::Open, Status::Acknowledged],
        };
        for s in statuses {
            let mut cursor = None;
            let mut taken = 0;
            'pages: loop {
                let req = PageRequest {
                    limit: limit.min(100),
                    cursor,
                    now,
                };
                let page = store.list_by_status(s, &req).await?;
                for inc in page.items {
                    // Sorted newest first: past the cutoff nothing later qualifies.
                    if cutoff.is_some_and(|c| inc.first_seen < c) || taken >= limit {
                        break 'pages;
                    }
                    out.push(inc);
                    taken += 1;
                }
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
    }
    out.sort_by(|a, b| (b.first_seen, &b.id).cmp(&(a.first_seen, &a.id)));
    out.truncate(limit);
    Ok(out)
}

fn incident_table(incidents: &[Incident]) -> String {
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            let mut status = i.status.to_string();
            if i.is_regression() {
                status.push_str(" (regression)");
            }
            vec![
                i.id.to_string(),
                status,
                i.severity.to_string(),
                i.kind.to_string(),
                i.service.clone(),
                i.count.to_string(),
                i.last_seen.to_string(),
                i.title.to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "KIND",
            "SERVICE",
            "COUNT",
            "LAST SEEN",
            "TITLE",
        ],
        &rows,
    )
}

fn describe(inc: &Incident, timeline: &[TimelineEntry], glyphs: Glyphs) -> String {
    let mut out = String::new();
    let mut field = |k: &str, v: &str| out.push_str(&format!("{k:<13}{v}\n"));
    field("id", inc.id.as_str());
    field("title", inc.title.as_str());
    field("kind", inc.kind.as_str());
    field("severity", inc.severity.as_str());
    field("status", inc.status.as_str());
    field("service", &inc.service);
    field("resource", &inc.resource);
    field("source", &inc.source);
    field("count", &inc.count.to_string());
    field("first seen", &inc.first_seen.to_string());
    field("last seen", &inc.last_seen.to_string());
    field("dedup key", inc.dedup_key.as_str());
    if let Some(prev) = &inc.regression_of {
        field("regression", &format!("of resolved incident {prev}"));
    }
    if let Some(t) = inc.expires_at {
        field("expires", &t.to_string());
    }
    if !inc.summary.is_empty() {
        out.push_str(&format!("\n{}\n", inc.summary));
    }
    if !inc.evidence.is_empty() {
        out.push_str("\nevidence\n");
        for e in &inc.evidence {
            out.push_str(&format!("  {}  {}\n", e.at, e.text));
            if !e.data.is_null() {
                // The full data is in `--json`; a terminal gets its start.
                let data = truncate_chars(&e.data.to_string(), 240);
                out.push_str(&format!("      {data}\n"));
            }
        }
    }
    if let Some(s) = series::of_incident(inc) {
        out.push_str(&sparkline_section(&s, glyphs));
    }
    out.push_str(&timeline_list(timeline));
    if inc.timeline_dropped > 0 {
        out.push_str(&format!(
            "  ({} earlier entries not kept)\n",
            inc.timeline_dropped
        ));
    }
    out
}

/// The incident's numbers over time: what they are, their span and range, and the line.
fn sparkline_section(s: &series::Series, glyphs: Glyphs) -> String {
    let (lo, hi) = s.range().unwrap_or((0.0, 0.0));
    let (first, last) = (s.points[0].0, s.points[s.points.len() - 1].0);
    let threshold = s
        .threshold
        .map(|t| format!(", threshold {}", number(t)))
        .unwrap_or_default();
    format!(
        "\n{}: {} points from {first} to {last} (min {}, max {}{threshold})\n  {}\n",
        s.label,
        s.points.len(),
        number(lo),
        number(hi),
        series::sparkline(&s.values(), glyphs)
    )
}

/// The timeline as a numbered list: when, how long after the first entry, what and who,
/// and the detail on its own line.
fn timeline_list(timeline: &[TimelineEntry]) -> String {
    let mut out = String::from("\ntimeline\n");
    let start = timeline.first().map(|e| e.at);
    for (n, e) in timeline.iter().enumerate() {
        let after = start.map(|s| e.at.since(s)).unwrap_or_default();
        out.push_str(&format!(
            "  {:>2}. {}  +{:<8} {} by {}\n",
            n + 1,
            e.at,
            duration(after),
            e.action,
            e.actor
        ));
        if !e.detail.is_empty() {
            out.push_str(&format!("      {}\n", e.detail));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use apptrack_core::incident::{DedupKey, Evidence, IncidentKind, Occurrence, Severity, Title};

    fn spike() -> (Incident, Vec<TimelineEntry>) {
        let at = Timestamp::from_secs(1_795_000_000);
        let key = DedupKey::new("error-analyzer", IncidentKind::ErrorSpike, "svc", "f").unwrap();
        let occ = Occurrence {
            evidence: vec![Evidence::new(
                at,
                "spike",
                serde_json::json!({"per_minute": [[60_000, 1], [120_000, 2], [180_000, 30]]}),
            )],
            ..Occurrence::new(
                key,
                IncidentKind::ErrorSpike,
                Severity::High,
                "error-analyzer",
                "checkout",
                "/aws/lambda/checkout",
                Title::truncated("Errors rose"),
                at,
            )
        };
        let inc = Incident::open(IncidentId::new(at), &occ, None);
        let timeline = vec![
            inc.opening_entry(),
            TimelineEntry::new(
                at.saturating_add(Duration::from_secs(300)),
                "cli:ann",
                "acknowledged",
                "",
            ),
        ];
        (inc, timeline)
    }

    #[test]
    fn show_draws_the_numbers_and_lists_the_timeline() {
        let (inc, timeline) = spike();
        let tty = describe(&inc, &timeline, Glyphs::Blocks);
        assert!(tty.contains("errors per minute: 3 points"), "{tty}");
        assert!(tty.contains("  ▁▁█\n"), "{tty}");
        assert!(
            tty.contains(" 1. ") && tty.contains("opened by error-analyzer"),
            "{tty}"
        );
        assert!(
            tty.contains(" 2. ") && tty.contains("+5m       acknowledged by cli:ann"),
            "{tty}"
        );
        let piped = describe(&inc, &timeline, Glyphs::Plain);
        assert!(
            piped.contains("  1 2 30\n") && !piped.contains('▁'),
            "{piped}"
        );
    }
}
