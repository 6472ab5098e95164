//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use login_guard::handler::{Guard, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let guard = Guard::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!(mode = %guard.mode(), "login-guard ready");
    apptrack_lambda::serve(&guard).await
}
