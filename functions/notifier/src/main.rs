//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use notifier::handler::{Notifier, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let notifier = Notifier::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!("notifier ready");
    apptrack_lambda::serve(&notifier).await
}
