//! AWS SDK configuration shared by every function and the CLI.
//! The standard chain (profile, region, `AWS_ENDPOINT_URL*`) decides where requests go.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Loads the SDK configuration from the environment, with a rustls + ring HTTPS client.
///
/// Endpoints come from the SDK's own variables (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_DYNAMODB`, ...), so pointing apptrack at the local emulators needs no
/// project-specific setting.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// The HTTPS client every apptrack SDK client uses (rustls + ring).
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
