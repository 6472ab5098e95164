//! `apptrack`: read and manage apptrack's incidents, and set up the local stack's tables.
//! Talks to DynamoDB through the standard AWS configuration chain.

mod incidents;
mod locks;
mod output;

use std::process::ExitCode;

use anyhow::Result;
use apptrack_core::store::dynamo::{DynamoIncidentStore, bootstrap_tables};
use clap::{Parser, Subcommand};

/// apptrack: application tracking on AWS.
#[derive(Debug, Parser)]
#[command(name = "apptrack", version, about)]
struct Cli {
    /// Incidents table name.
    #[arg(long, env = "INCIDENTS_TABLE", global = true, hide_env_values = true)]
    incidents_table: Option<String>,
    /// State table name (counters, locks, ledgers).
    #[arg(long, env = "STATE_TABLE", global = true, hide_env_values = true)]
    state_table: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, show, acknowledge and resolve incidents.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCmd),
    /// The local emulator stack.
    #[command(subcommand)]
    Local(LocalCmd),
    /// login-guard's account locks: list, check, unlock.
    #[command(subcommand)]
    Locks(locks::LocksCmd),
}

#[derive(Debug, Subcommand)]
enum LocalCmd {
    /// Create the template's two tables in the configured DynamoDB endpoint.
    Bootstrap,
}

/// The two table names, or an error naming the missing setting.
pub struct Tables {
    pub incidents: String,
    pub state: String,
}

impl Cli {
    fn tables(&self) -> Result<Tables> {
        let need = |v: &Option<String>, flag: &str, var: &str| {
            v.clone().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                anyhow::anyhow!("no table name: pass {flag} or set {var} (source .local/env for the local stack)")
            })
        };
        Ok(Tables {
            incidents: need(
                &self.incidents_table,
                "--incidents-table",
                "INCIDENTS_TABLE",
            )?,
            state: need(&self.state_table, "--state-table", "STATE_TABLE")?,
        })
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let tables = cli.tables()?;
    let conf = apptrack_core::aws::load_sdk_config().await;
    if conf.region().is_none() {
        anyhow::bail!("no AWS region: set AWS_REGION or a region in your AWS profile");
    }
    let client = aws_sdk_dynamodb::Client::new(&conf);
    match cli.command {
        Command::Incidents(cmd) => {
            let store = DynamoIncidentStore::new(client, &tables.incidents, &tables.state);
            incidents::run(cmd, &store).await
        }
        Command::Locks(cmd) => {
            let store = DynamoIncidentStore::new(client.clone(), &tables.incidents, &tables.state);
            let guard =
                apptrack_core::store::auth_state::DynamoGuardStore::new(client, &tables.state);
            locks::run(cmd, &guard, &store).await
        }
        Command::Local(LocalCmd::Bootstrap) => {
            for (name, created) in
                bootstrap_tables(&client, &tables.incidents, &tables.state).await?
            {
                let what = if created { "created" } else { "exists" };
                println!("{what:8} {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("apptrack: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
