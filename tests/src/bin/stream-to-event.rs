//! Prints the incident table's stream, from its horizon, as the event Lambda's event source
//! mapping hands the notifier (`{"Records": [...]}`, incident items only): what
//! `scripts/demo-notify.sh` invokes the notifier with. The same reader the tests use.
//!
//! Usage: `stream-to-event` with `INCIDENTS_TABLE` and `AWS_ENDPOINT_URL_DYNAMODB` set
//! (`source .local/env`); the stream is read from the same endpoint as the table.

use anyhow::{Context, Result};
use apptrack_tests::stream::StreamReader;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let table = std::env::var("INCIDENTS_TABLE").context("INCIDENTS_TABLE is not set")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .context("AWS_ENDPOINT_URL_DYNAMODB is not set")?;
    let conf = apptrack_tests::sdk_config(&endpoint);
    let dynamodb = apptrack_aws::dynamodb::client(&conf);
    let streams = aws_sdk_dynamodbstreams::Client::new(&conf);
    let mut reader = StreamReader::of_table(&dynamodb, streams, &table).await?;
    let records = reader.next_batch().await?;
    eprintln!("{} incident writes on the stream", records.len());
    println!("{}", json!({ "Records": records }));
    Ok(())
}
