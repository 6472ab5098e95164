//! `apptrack silence ...`: hold the notifications of a service (of one kind) for a while,
//! list the silences, end one early. Silences live in `STATE_TABLE` (partition `SILENCE`);
//! the notifier reads them.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use apptrack_core::clock::{Clock, SystemClock};
use apptrack_core::incident::IncidentKind;
use apptrack_core::notify::{Silence, SilenceBook};
use clap::Subcommand;

use crate::output;

#[derive(Debug, Subcommand)]
pub enum SilenceCmd {
    /// Hold a service's notifications (its incidents are still recorded, with a timeline note).
    Add {
        #[arg(long)]
        service: String,
        /// Only this kind of incident (e.g. new-error); every kind by default.
        #[arg(long)]
        kind: Option<String>,
        /// How long (e.g. 30m, 2h, 1d; at most 7d).
        #[arg(long = "for", value_parser = humantime::parse_duration)]
        length: Duration,
        /// Why (shown on the incidents it holds).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Silences, newest first (add --all for those that ended in the last day).
    List {
        #[arg(long)]
        all: bool,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End a silence now; what it held notifies at the notifier's next run if still open.
    Expire { id: String },
}

pub async fn run(cmd: SilenceCmd, book: &impl SilenceBook) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        SilenceCmd::Add {
            service,
            kind,
            length,
            note,
        } => {
            let kind = kind
                .map(|k| IncidentKind::parse(&k))
                .transpose()
                .context("--kind")?;
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let silence = Silence::new(
                ulid::Ulid::new().to_string(),
                &service,
                kind,
                length,
                &note,
                &format!("cli:{user}"),
                now,
            )?;
            book.add(&silence).await.context("recording the silence")?;
            println!(
                "{} silences {} until {}",
                silence.id,
                scope(&silence),
                silence.ends_at
            );
            Ok(ExitCode::SUCCESS)
        }
        SilenceCmd::List { all, json } => {
            let mut found: Vec<Silence> = book
                .list()
                .await
                .context("listing silences")?
                .into_iter()
                .filter(|s| all || s.is_active(now))
                .collect();
            found.sort_by(|a, b| b.id.cmp(&a.id));
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else if found.is_empty() {
                println!("no silences");
            } else {
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.clone(),
                            scope(s),
                            s.starts_at.to_rfc3339(),
                            s.ends_at.to_rfc3339(),
                            if s.is_active(now) { "active" } else { "ended" }.to_owned(),
                            s.created_by.clone(),
                            s.note.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(
                        &["ID", "SILENCES", "FROM", "UNTIL", "STATE", "BY", "NOTE"],
                        &rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        SilenceCmd::Expire { id } => {
            if book.expire(&id, now).await.context("ending the silence")? {
                println!("{id} ended");
            } else {
                println!("{id} had already ended");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scope(s: &Silence) -> String {
    match &s.kind {
        Some(k) => format!("{} ({k})", s.service),
        None => s.service.clone(),
    }
}
