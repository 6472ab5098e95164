//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use alarm_scaler::handler::{Scaler, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let scaler = Scaler::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!(dry_run = scaler.settings.dry_run, "alarm-scaler ready");
    apptrack_lambda::serve(&scaler).await
}
