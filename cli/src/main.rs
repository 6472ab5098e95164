//! `apptrack`: read and manage apptrack's incidents and locks, redrive what the functions
//! gave up on, and set up the local stack's tables. Talks to AWS through the standard AWS
//! configuration chain.

mod deploy;
mod dlq;
mod incidents;
mod locks;
mod output;
mod silence;

use std::process::ExitCode;

use anyhow::Result;
use apptrack_aws::dynamodb::incidents::{DynamoIncidentStore, bootstrap_tables};
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
    /// Deployments deploy-guard knows: mark one from CI, list them.
    #[command(subcommand)]
    Deploy(deploy::DeployCmd),
    /// The functions' on-failure queues: list and redrive the events they gave up on.
    #[command(subcommand)]
    Dlq(dlq::DlqCmd),
    /// The local emulator stack.
    #[command(subcommand)]
    Local(LocalCmd),
    /// login-guard's account locks: list, check, unlock.
    #[command(subcommand)]
    Locks(locks::LocksCmd),
    /// Hold a service's notifications for a while: add, list, expire.
    #[command(subcommand)]
    Silence(silence::SilenceCmd),
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

impl Tables {
    fn from_args(incidents: Option<String>, state: Option<String>) -> Result<Tables> {
        let need = |v: Option<String>, flag: &str, var: &str| {
            v.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                anyhow::anyhow!("no table name: pass {flag} or set {var} (source .local/env for the local stack)")
            })
        };
        Ok(Tables {
            incidents: need(incidents, "--incidents-table", "INCIDENTS_TABLE")?,
            state: need(state, "--state-table", "STATE_TABLE")?,
        })
    }
}

async fn sdk_config() -> Result<aws_config::SdkConfig> {
    let conf = apptrack_aws::load_sdk_config().await;
    if conf.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        anyhow::bail!("no AWS region: set AWS_REGION or a region in your AWS profile");
    }
    Ok(conf)
}

/// The DynamoDB client and the table names the table commands need.
async fn dynamodb(
    incidents: Option<String>,
    state: Option<String>,
) -> Result<(aws_sdk_dynamodb::Client, Tables)> {
    let tables = Tables::from_args(incidents, state)?;
    Ok((apptrack_aws::dynamodb::client(&sdk_config().await?), tables))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let Cli {
        incidents_table,
        state_table,
        command,
    } = cli;
    match command {
        Command::Incidents(cmd) => {
            let (client, tables) = dynamodb(incidents_table, state_table).await?;
            let store = DynamoIncidentStore::new(client, &tables.incidents, &tables.state);
            incidents::run(cmd, &store).await
        }
        Command::Locks(cmd) => {
            let (client, tables) = dynamodb(incidents_table, state_table).await?;
            let store = DynamoIncidentStore::new(client.clone(), &tables.incidents, &tables.state);
            let guard = apptrack_aws::dynamodb::guard::DynamoGuardStore::new(client, &tables.state);
            locks::run(cmd, &guard, &store).await
        }
        Command::Deploy(cmd) => {
            let (client, tables) = dynamodb(incidents_table, state_table).await?;
            let log = apptrack_aws::dynamodb::deployments::DynamoDeploymentLog::new(
                client,
                &tables.state,
            );
            deploy::run(cmd, &log).await
        }
        Command::Silence(cmd) => {
            let (client, tables) = dynamodb(incidents_table, state_table).await?;
            let book = apptrack_aws::dynamodb::silences::DynamoSilences::new(client, &tables.state);
            silence::run(cmd, &book).await
        }
        Command::Dlq(cmd) => dlq::run(cmd, &sdk_config().await?).await,
        Command::Local(LocalCmd::Bootstrap) => {
            let (client, tables) = dynamodb(incidents_table, state_table).await?;
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
