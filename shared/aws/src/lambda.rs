//! Lambda adapter: an alias and its revision (GetAlias), whether a version exists
//! (GetFunction with a qualifier), a function's tags (ListTags), and moving an alias only if
//! it has not moved meanwhile (UpdateAlias with RevisionId).

use std::collections::BTreeMap;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::types::AliasRoutingConfiguration;

use crate::sdk::scaling_error as sdk_error;
use apptrack_core::deploy::{AliasControl, AliasState};
use apptrack_core::scaling::ScalingError;

/// Lambda functions and aliases. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct LambdaAliases {
    client: Client,
}

impl LambdaAliases {
    pub fn new(client: Client) -> Self {
        LambdaAliases { client }
    }
}

fn not_found<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ResourceNotFoundException"))
}

impl AliasControl for LambdaAliases {
    async fn alias(&self, function: &str, alias: &str) -> Result<Option<AliasState>, ScalingError> {
        match self
            .client
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
        {
            Ok(out) => Ok(out.function_version().map(|v| AliasState {
                version: v.to_owned(),
                revision_id: out.revision_id().map(str::to_owned),
                weights: out
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default(),
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn version_exists(&self, function: &str, version: &str) -> Result<bool, ScalingError> {
        match self
            .client
            .get_function()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// No tags for a function that no longer exists: it is not opted in to anything.
    async fn tags(&self, function: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        let found = match self
            .client
            .get_function()
            .function_name(function)
            .send()
            .await
        {
            Ok(found) => found,
            Err(e) if not_found(&e) => return Ok(BTreeMap::new()),
            Err(e) => return Err(sdk_error(e)),
        };
        let arn = found
            .configuration()
            .and_then(|c| c.function_arn())
            .map(str::to_owned)
            .ok_or_else(|| ScalingError::Rejected(format!("function {function} has no ARN")))?;
        let out = self
            .client
            .list_tags()
            .resource(arn)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    async fn point(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        revision_id: Option<&str>,
    ) -> Result<(), ScalingError> {
        self.client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            // Every invocation to `version`: a canary's weights go with the rollback.
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(std::collections::HashMap::new()))
                    .build(),
            )
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .map(drop)
            .map_err(sdk_error)
    }
}
