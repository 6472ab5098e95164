//! `apptrack locks ...`: list, check and lift login-guard's account locks.
//! Locks share the partition `LOCKS` of the state table, so listing is one `Query`.

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apptrack_core::auth::{GuardStore, LockMode, LockRecord, SourcePrefix, parse_source};
use apptrack_core::clock::{Clock, SystemClock};
use apptrack_core::incident::{IncidentId, TimelineEntry};
use apptrack_core::store::RecordIncidents;
use clap::Subcommand;
use serde::Serialize;

use crate::output;

#[derive(Debug, Subcommand)]
pub enum LocksCmd {
    /// Accounts locked now (add --all for expired and lifted locks still kept for history).
    List {
        #[arg(long)]
        all: bool,
        /// The locks audit mode (APPTRACK_DRY_RUN=true) would have set.
        #[arg(long)]
        audit: bool,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 if ACCOUNT is not locked, 1 if it is (printing until when and why). With
    /// --source, for a login from that address: a familiar source is not locked.
    Check {
        account: String,
        /// The client address of the login (IPv4 or IPv6, `host:port` accepted); a bad
        /// one is a usage error (exit 2), never taken for "locked".
        #[arg(long, value_parser = source_address)]
        source: Option<IpAddr>,
    },
    /// Lift ACCOUNT's lock; the note is recorded on the lock and on its incident's timeline.
    Unlock {
        account: String,
        #[arg(long)]
        note: String,
    },
}

/// A lock as printed with `--json`.
#[derive(Debug, Serialize)]
pub struct LockView<'a> {
    pub locked: bool,
    pub until: String,
    #[serde(flatten)]
    pub record: &'a LockRecord,
}

fn source_address(raw: &str) -> Result<IpAddr, String> {
    parse_source(raw).ok_or_else(|| format!("{raw:?} is not an IPv4 or IPv6 address"))
}

fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_string());
    format!("cli:{user}")
}

pub async fn run(
    cmd: LocksCmd,
    locks: &impl GuardStore,
    incidents: &impl RecordIncidents,
) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        LocksCmd::List { all, audit, json } => {
            let mode = if audit {
                LockMode::Audit
            } else {
                LockMode::Enforce
            };
            let mut found = locks.list_locks(mode).await.context("listing locks")?;
            found.retain(|l| all || l.is_locked(now));
            found.sort_by_key(|l| std::cmp::Reverse(l.locked_until));
            if json {
                let views: Vec<LockView> = found
                    .iter()
                    .map(|l| LockView {
                        locked: l.is_locked(now),
                        until: l.locked_until.to_rfc3339(),
                        record: l,
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else if found.is_empty() {
                println!("no {}locks", if all { "" } else { "current " });
            } else {
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|l| {
                        vec![
                            l.account.clone(),
                            if l.is_locked(now) {
                                "locked"
                            } else {
                                "expired"
                            }
                            .to_string(),
                            l.locked_until.to_rfc3339(),
                            l.offence_number.to_string(),
                            l.failures.to_string(),
                            l.sources.len().to_string(),
                            l.incident_id.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(
                        &[
                            "ACCOUNT", "STATE", "UNTIL", "OFFENCE", "FAILURES", "SOURCES",
                            "INCIDENT"
                        ],
                        &rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LocksCmd::Check { account, source } => {
            let lock = locks
                .get_lock(LockMode::Enforce, &account)
                .await
                .context("reading the lock")?;
            let from = source.map(|ip| format!(" for {ip}")).unwrap_or_default();
            match lock.filter(|l| l.is_locked(now)) {
                Some(l) if l.is_locked_for(now, source) => {
                    println!(
                        "{account} is locked{from} until {}: {}",
                        l.locked_until.to_rfc3339(),
                        l.reason
                    );
                    if let Some(id) = &l.incident_id {
                        println!("incident {id}");
                    }
                    Ok(ExitCode::from(1))
                }
                Some(l) => {
                    let prefix = source.map(SourcePrefix::of);
                    println!(
                        "{account} is not locked{from}: {} is a familiar source (the lock until {} holds against unfamiliar ones)",
                        prefix.map(|p| p.to_string()).unwrap_or_default(),
                        l.locked_until.to_rfc3339()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    println!("{account} is not locked");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        LocksCmd::Unlock { account, note } => {
            let by = actor();
            let Some(before) = locks
                .unlock(LockMode::Enforce, &account, now, &by, &note)
                .await
                .context("unlocking")?
            else {
                println!("{account} is not locked; nothing to do");
                return Ok(ExitCode::from(1));
            };
            println!(
                "{account} unlocked (was locked until {})",
                before.locked_until.to_rfc3339()
            );
            if let Some(id) = &before.incident_id {
                let id: IncidentId = id.parse().context("lock's incident id")?;
                let entry = TimelineEntry::new(
                    now,
                    &by,
                    "unlocked",
                    &format!("{account} unlocked by {by}: {note}"),
                );
                incidents
                    .append_timeline(&id, &entry)
                    .await
                    .context("recording the unlock on the incident")?;
                println!("recorded on incident {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
