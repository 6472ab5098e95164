//! `apptrack deploy ...`: mark a deployment from any CI system, and list the deployments
//! deploy-guard has recorded (`STATE_TABLE`, partition `DEPLOYS`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use apptrack_core::clock::{Clock, SystemClock};
use apptrack_core::deploy::{Announcement, CUSTOM_SOURCE, DeploymentLog, decode, previous_version};
use clap::Subcommand;
use serde_json::json;

use crate::output;

#[derive(Debug, Subcommand)]
pub enum DeployCmd {
    /// Record a deployment (the same marker as the `apptrack.deploy` event).
    Mark {
        #[arg(long)]
        service: String,
        /// The version deployed.
        #[arg(long)]
        version: String,
        /// What was changed (default: the service), e.g. `checkout:live`.
        #[arg(long)]
        target: Option<String>,
        /// The version it replaced (default: the target's previous marker).
        #[arg(long)]
        previous: Option<String>,
        /// Who deployed (default: cli:$USER).
        #[arg(long)]
        actor: Option<String>,
        /// The deployment's id in your CI (default: custom:<target>:<version>).
        #[arg(long)]
        id: Option<String>,
        /// in-progress, succeeded, failed or stopped.
        #[arg(long, default_value = "succeeded")]
        state: String,
    },
    /// Deployments, newest first.
    List {
        #[arg(long)]
        service: Option<String>,
        /// How far back (e.g. 24h, 7d).
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        since: Duration,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: DeployCmd, log: &impl DeploymentLog) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        DeployCmd::Mark {
            service,
            version,
            target,
            previous,
            actor,
            id,
            state,
        } => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let event = json!({
                "source": CUSTOM_SOURCE,
                "detail-type": "Deployment",
                "time": now.to_rfc3339(),
                "detail": {
                    "service": service,
                    "version": version,
                    "target": target,
                    "previous_version": previous,
                    "actor": actor.unwrap_or_else(|| format!("cli:{user}")),
                    "id": id,
                    "state": state,
                },
            });
            let Announcement::Deployment(mut marker) = decode(&event)? else {
                bail!("not a deployment");
            };
            if marker.from_version.is_none() {
                let recent = log
                    .list(
                        Some(&marker.service),
                        now.saturating_sub(Duration::from_secs(30 * 86_400)),
                    )
                    .await
                    .context("reading the previous deployments")?;
                marker.from_version = previous_version(&recent, &marker);
            }
            let (recorded, _) = log
                .record(&marker)
                .await
                .context("recording the deployment")?;
            println!("{} {}", recorded.id, recorded.describe());
            Ok(ExitCode::SUCCESS)
        }
        DeployCmd::List {
            service,
            since,
            json,
        } => {
            let found = log
                .list(service.as_deref(), now.saturating_sub(since))
                .await
                .context("listing deployments")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else if found.is_empty() {
                println!("no deployments");
            } else {
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|d| {
                        vec![
                            d.started_at.to_rfc3339(),
                            d.service.clone(),
                            d.target.clone(),
                            d.from_version.clone().unwrap_or_else(|| "?".into()),
                            d.to_version.clone().unwrap_or_else(|| "?".into()),
                            d.state.to_string(),
                            d.source.to_string(),
                            d.actor.clone().unwrap_or_default(),
                            d.id.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(
                        &[
                            "STARTED", "SERVICE", "TARGET", "FROM", "TO", "STATE", "SOURCE",
                            "ACTOR", "ID"
                        ],
                        &rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
