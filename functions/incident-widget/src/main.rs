//! Wiring only: logging, settings (failing fast), the DynamoDB client built once, the Lambda loop.

use incident_widget::handler::{Settings, Widget};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    apptrack_lambda::init_json_logs();
    let settings = Settings::from_env()?;
    let widget = Widget::from_sdk(&apptrack_aws::load_sdk_config().await, settings);
    tracing::info!("incident-widget ready");
    apptrack_lambda::serve(&widget).await
}
