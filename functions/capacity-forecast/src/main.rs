//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use capacity_forecast::Deployed;
use capacity_forecast::handler::Settings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let forecaster = Deployed::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!("capacity-forecast ready");
    apptrack_lambda::serve(&forecaster).await
}
