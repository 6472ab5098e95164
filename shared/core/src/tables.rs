//! The DynamoDB table definitions, read from the SAM template that deploys them.
//! The local stack and the tests create tables from these, so local and deployed never drift.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The SAM template, compiled in so every binary carries the definitions it was built with.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// Logical id of the incidents table in the template.
pub const INCIDENTS_TABLE_ID: &str = "IncidentsTable";
/// Logical id of the state table in the template.
pub const STATE_TABLE_ID: &str = "StateTable";

/// Why the template's table definitions could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid YAML: {0}")]
    Yaml(String),
    #[error("template has no resource {0:?}")]
    MissingResource(String),
    #[error("resource {id} is a {found}, not an AWS::DynamoDB::Table")]
    NotATable { id: String, found: String },
    #[error("table {id}: {reason}")]
    Invalid { id: String, reason: String },
}

/// A key attribute's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    Hash,
    Range,
}

/// A key attribute's scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AttributeType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: AttributeType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    pub enabled: bool,
}

/// One table's definition as the template gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    #[serde(skip)]
    pub logical_id: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlSpec>,
    #[serde(default)]
    pub billing_mode: Option<String>,
    /// The table's stream (the incident table's feeds the notifier).
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpec {
    /// `NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE` or `KEYS_ONLY`.
    pub stream_view_type: String,
}

impl TableSpec {
    /// The TTL attribute, when TTL is enabled.
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.time_to_live_specification
            .as_ref()
            .filter(|t| t.enabled)
            .map(|t| t.attribute_name.as_str())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    #[serde(default)]
    resources: BTreeMap<String, serde_yaml_ng::Value>,
}

/// The table with logical id `id` from `template` (YAML).
pub fn table_spec(template: &str, id: &str) -> Result<TableSpec, TemplateError> {
    let t: Template =
        serde_yaml_ng::from_str(template).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    let res = t
        .resources
        .get(id)
        .ok_or_else(|| TemplateError::MissingResource(id.to_string()))?;
    let ty = res
        .get("Type")
        .and_then(|v| v.as_str())
        .unwrap_or("(no Type)");
    if ty != "AWS::DynamoDB::Table" {
        return Err(TemplateError::NotATable {
            id: id.to_string(),
            found: ty.to_string(),
        });
    }
    let props = res
        .get("Properties")
        .cloned()
        .ok_or_else(|| TemplateError::Invalid {
            id: id.to_string(),
            reason: "no Properties".to_string(),
        })?;
    let mut spec: TableSpec =
        serde_yaml_ng::from_value(props).map_err(|e| TemplateError::Invalid {
            id: id.to_string(),
            reason: e.to_string(),
        })?;
    spec.logical_id = id.to_string();
    validate(&spec)?;
    Ok(spec)
}

/// Both apptrack tables from the compiled-in template: (incidents, state).
pub fn apptrack_tables() -> Result<(TableSpec, TableSpec), TemplateError> {
    Ok((
        table_spec(TEMPLATE, INCIDENTS_TABLE_ID)?,
        table_spec(TEMPLATE, STATE_TABLE_ID)?,
    ))
}

fn validate(spec: &TableSpec) -> Result<(), TemplateError> {
    let defined = |name: &str| {
        spec.attribute_definitions
            .iter()
            .any(|a| a.attribute_name == name)
    };
    let keys = spec.key_schema.iter().chain(
        spec.global_secondary_indexes
            .iter()
            .flat_map(|i| &i.key_schema),
    );
    for k in keys {
        if !defined(&k.attribute_name) {
            return Err(TemplateError::Invalid {
                id: spec.logical_id.clone(),
                reason: format!(
                    "key attribute {} has no AttributeDefinition",
                    k.attribute_name
                ),
            });
        }
    }
    if !spec.key_schema.iter().any(|k| k.key_type == KeyType::Hash) {
        return Err(TemplateError::Invalid {
            id: spec.logical_id.clone(),
            reason: "no HASH key".to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_tables_from_the_template() {
        let (inc, state) = apptrack_tables().unwrap();
        assert_eq!(inc.key_schema.len(), 2);
        let names: Vec<_> = inc
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(names, ["by-status", "by-service", "by-resource"]);
        assert_eq!(inc.ttl_attribute(), Some("expires_at"));
        assert_eq!(state.ttl_attribute(), Some("expires_at"));
        assert_eq!(inc.billing_mode.as_deref(), Some("PAY_PER_REQUEST"));
    }

    #[test]
    fn names_what_is_wrong() {
        let err = table_spec("Resources:\n  X:\n    Type: AWS::SQS::Queue\n", "X").unwrap_err();
        assert_eq!(
            err.to_string(),
            "resource X is a AWS::SQS::Queue, not an AWS::DynamoDB::Table"
        );
        let err = table_spec("Resources: {}\n", "IncidentsTable").unwrap_err();
        assert!(err.to_string().contains("no resource"));
        let bad = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: []\n      KeySchema:\n        - {AttributeName: pk, KeyType: HASH}\n";
        assert!(
            table_spec(bad, "T")
                .unwrap_err()
                .to_string()
                .contains("pk has no AttributeDefinition")
        );
        assert!(matches!(
            table_spec(": : :", "T"),
            Err(TemplateError::Yaml(_))
        ));
    }
}
