//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use error_analyzer::handler::{Analyzer, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let analyzer = Analyzer::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!("error-analyzer ready");
    apptrack_lambda::serve(&analyzer).await
}
