//! apptrack-aws: the adapters that implement apptrack-core's ports over AWS, translating SDK
//! types at this edge so the domain never sees them. One Cargo feature per SDK.

pub mod config;
#[cfg(any(
    feature = "dynamodb",
    feature = "cloudwatch",
    feature = "autoscaling",
    feature = "lambda",
    feature = "codedeploy",
    feature = "sns"
))]
pub mod sdk;

#[cfg(feature = "autoscaling")]
pub mod autoscaling;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
#[cfg(feature = "codedeploy")]
pub mod codedeploy;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "sns")]
pub mod sns;

pub use aws_config::SdkConfig;
pub use config::{https_client, load_sdk_config};
