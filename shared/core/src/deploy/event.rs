//! Deployment announcements as EventBridge delivers them, decoded into markers:
//! CodeDeploy and ECS deployment state changes, CloudFormation stack status changes, Lambda
//! API calls seen through CloudTrail, and the custom `apptrack.deploy` event.
//!
//! Each decoder derives an id every announcement of one deployment shares (CodeDeploy's and
//! ECS's deployment ids; a stack's client request token; a Lambda call's revision), so that
//! the start, the end and their redeliveries all land on one marker.

use serde_json::Value;

use super::{DeploySource, DeployState, Deployment};
use crate::clock::Timestamp;

/// The `source` of the custom event any CI system can send (`aws events put-events`).
pub const CUSTOM_SOURCE: &str = "apptrack.deploy";

/// Why an event is not a deployment announcement apptrack reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployEventError {
    #[error("event is not a JSON object")]
    NotAnObject,
    #[error("not a deployment event: source {event_source:?}, detail-type {detail_type:?}")]
    Unrecognized {
        event_source: String,
        detail_type: String,
    },
    #[error("missing field {0}")]
    MissingField(String),
    #[error("field {field} is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
}

impl crate::failure::Failure for DeployEventError {
    fn kind(&self) -> &'static str {
        match self {
            DeployEventError::MissingField(_) => "MissingField",
            DeployEventError::WrongType { .. } => "WrongType",
            _ => "BadEvent",
        }
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

/// What an event announced: a deployment, or a Lambda call that is not one (a
/// PublishVersion by itself changes nothing that serves traffic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    Deployment(Deployment),
    Ignored(String),
}

type Result<T> = std::result::Result<T, DeployEventError>;

/// Decodes one EventBridge event.
pub fn decode(event: &Value) -> Result<Announcement> {
    let obj = event.as_object().ok_or(DeployEventError::NotAnObject)?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    let (source, detail_type) = (text("source"), text("detail-type"));
    let kind = match (source, detail_type) {
        (CUSTOM_SOURCE, _) => DeploySource::Custom,
        ("aws.codedeploy", "CodeDeploy Deployment State-change Notification") => {
            DeploySource::CodeDeploy
        }
        ("aws.ecs", "ECS Deployment State Change") => DeploySource::Ecs,
        ("aws.cloudformation", "CloudFormation Stack Status Change") => {
            DeploySource::CloudFormation
        }
        ("aws.lambda", "AWS API Call via CloudTrail") => DeploySource::Lambda,
        _ => {
            return Err(DeployEventError::Unrecognized {
                event_source: source.to_owned(),
                detail_type: detail_type.to_owned(),
            });
        }
    };
    let time = match obj.get("time") {
        Some(t) => time_of(t, "time")?,
        None => return Err(DeployEventError::MissingField("time".into())),
    };
    let detail = match obj.get("detail") {
        Some(Value::Object(_)) => &obj["detail"],
        Some(_) => return Err(wrong("detail", "an object")),
        None => return Err(DeployEventError::MissingField("detail".into())),
    };
    let resources: Vec<&str> = obj
        .get("resources")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let deployment = match kind {
        DeploySource::Custom | DeploySource::Apptrack => custom(detail, time)?,
        DeploySource::CodeDeploy => codedeploy(detail, time)?,
        DeploySource::Ecs => ecs(detail, &resources, time)?,
        DeploySource::CloudFormation => cloudformation(detail, &resources, time)?,
        DeploySource::Lambda => return lambda(detail, time),
    };
    Ok(Announcement::Deployment(deployment))
}

fn wrong(field: &str, expected: &'static str) -> DeployEventError {
    DeployEventError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

fn time_of(v: &Value, field: &str) -> Result<Timestamp> {
    v.as_str()
        .and_then(|s| Timestamp::parse(s).ok())
        .ok_or_else(|| wrong(field, "an RFC 3339 time"))
}

/// A required non-empty string at `path` (`detail.deploymentId`).
fn required<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    let key = path.rsplit('.').next().unwrap_or(path);
    match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(DeployEventError::MissingField(path.to_owned()))
        }
        Some(_) => Err(wrong(path, "a string")),
    }
}

fn optional(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The last `/`- or `:`-separated part of an ARN (`...:service/cluster/web` → `web`).
fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn marker(
    id: String,
    service: &str,
    target: &str,
    state: DeployState,
    at: Timestamp,
    source: DeploySource,
) -> Deployment {
    Deployment {
        id,
        service: service.to_owned(),
        target: target.to_owned(),
        from_version: None,
        to_version: None,
        started_at: at,
        ended_at: state.is_terminal().then_some(at),
        state,
        actor: None,
        source,
    }
}

/// `{"service", "version", "previous_version"?, "target"?, "actor"?, "state"?, "id"?}`.
fn custom(d: &Value, time: Timestamp) -> Result<Deployment> {
    let service = required(d, "detail.service")?;
    let version = required(d, "detail.version")?;
    let target = optional(d, "target").unwrap_or_else(|| service.to_owned());
    let state = match optional(d, "state") {
        None => DeployState::Succeeded,
        Some(s) => DeployState::parse(&s.to_ascii_lowercase())
            .ok_or_else(|| wrong("detail.state", "in-progress, succeeded, failed or stopped"))?,
    };
    let at = match d.get("started_at") {
        Some(t) => time_of(t, "detail.started_at")?,
        None => time,
    };
    let id = optional(d, "id").unwrap_or_else(|| format!("custom:{target}:{version}"));
    let mut m = marker(id, service, &target, state, at, DeploySource::Custom);
    m.ended_at = state.is_terminal().then_some(time.max(at));
    m.to_version = Some(version.to_owned());
    m.from_version = optional(d, "previous_version");
    m.actor = optional(d, "actor");
    Ok(m)
}

fn codedeploy(d: &Value, time: Timestamp) -> Result<Deployment> {
    let id = required(d, "detail.deploymentId")?;
    let app = required(d, "detail.application")?;
    let group = optional(d, "deploymentGroup").unwrap_or_else(|| app.to_owned());
    let state = match required(d, "detail.state")? {
        "START" | "READY" | "CREATED" | "QUEUED" | "IN_PROGRESS" => DeployState::InProgress,
        "SUCCESS" => DeployState::Succeeded,
        "STOP" => DeployState::Stopped,
        _ => DeployState::Failed,
    };
    let mut m = marker(
        id.to_owned(),
        app,
        &format!("{app}/{group}"),
        state,
        time,
        DeploySource::CodeDeploy,
    );
    m.to_version = Some(id.to_owned());
    Ok(m)
}

fn ecs(d: &Value, resources: &[&str], time: Timestamp) -> Result<Deployment> {
    let id = required(d, "detail.deploymentId")?;
    let service_arn = resources
        .first()
        .ok_or_else(|| DeployEventError::MissingField("resources[0]".into()))?;
    let service = arn_name(service_arn);
    let state = match required(d, "detail.eventName")? {
        "SERVICE_DEPLOYMENT_COMPLETED" => DeployState::Succeeded,
        "SERVICE_DEPLOYMENT_FAILED" => DeployState::Failed,
        _ => DeployState::InProgress,
    };
    let at = match d.get("updatedAt") {
        Some(t) => time_of(t, "detail.updatedAt")?,
        None => time,
    };
    let mut m = marker(
        id.to_owned(),
        service,
        service,
        state,
        at,
        DeploySource::Ecs,
    );
    m.to_version = Some(id.to_owned());
    Ok(m)
}

fn cloudformation(d: &Value, resources: &[&str], time: Timestamp) -> Result<Deployment> {
    let stack_id = optional(d, "stack-id")
        .or_else(|| resources.first().map(|s| (*s).to_owned()))
        .ok_or_else(|| DeployEventError::MissingField("detail.stack-id".into()))?;
    // arn:aws:cloudformation:region:account:stack/<name>/<uuid>
    let name = stack_id.split('/').nth(1).unwrap_or(&stack_id).to_owned();
    let status = d
        .get("status-details")
        .ok_or_else(|| DeployEventError::MissingField("detail.status-details".into()))?;
    let status = required(status, "detail.status-details.status")?;
    let state = if status.ends_with("_IN_PROGRESS") {
        DeployState::InProgress
    } else if status.contains("ROLLBACK") || status.ends_with("_FAILED") {
        DeployState::Failed
    } else {
        DeployState::Succeeded
    };
    // One stack operation's events share its client request token; without one, the
    // operation is told apart by its kind (CREATE, UPDATE, ...) and its day.
    let op = status.split('_').next().unwrap_or(status);
    let id = match optional(d, "client-request-token") {
        Some(token) => format!("cfn:{name}:{token}"),
        None => format!("cfn:{name}:{op}:{}", &time.to_rfc3339()[..10]),
    };
    Ok(marker(
        id,
        &name,
        &name,
        state,
        time,
        DeploySource::CloudFormation,
    ))
}

/// UpdateAlias moves traffic (a deployment of `function:alias`); UpdateFunctionCode changes
/// `$LATEST` (a deployment of the function when callers use it unqualified); PublishVersion
/// alone serves nothing new and is ignored.
fn lambda(d: &Value, time: Timestamp) -> Result<Announcement> {
    let name = required(d, "detail.eventName")?;
    if d.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Ok(Announcement::Ignored(format!("{name} failed")));
    }
    let request = d.get("requestParameters").unwrap_or(&Value::Null);
    let response = d.get("responseElements").unwrap_or(&Value::Null);
    let at = match d.get("eventTime") {
        Some(t) => time_of(t, "detail.eventTime")?,
        None => time,
    };
    let actor = d
        .get("userIdentity")
        .and_then(|u| optional(u, "arn").or_else(|| optional(u, "principalId")));
    let function = optional(request, "functionName")
        .map(|f| arn_name(&f).to_owned())
        .ok_or_else(|| {
            DeployEventError::MissingField("detail.requestParameters.functionName".into())
        })?;
    let call_id = optional(response, "revisionId")
        .or_else(|| optional(d, "eventID"))
        .ok_or_else(|| DeployEventError::MissingField("detail.eventID".into()))?;
    let (target, to) = if name.starts_with("UpdateAlias") {
        let alias = required(request, "detail.requestParameters.name")?;
        let to =
            optional(response, "functionVersion").or_else(|| optional(request, "functionVersion"));
        (format!("{function}:{alias}"), to)
    } else if name.starts_with("UpdateFunctionCode") {
        let to = optional(response, "codeSha256").or_else(|| optional(response, "version"));
        (format!("{function}:$LATEST"), to)
    } else {
        return Ok(Announcement::Ignored(format!("{name} changes no traffic")));
    };
    let mut m = marker(
        format!("lambda:{target}:{call_id}"),
        &function,
        &target,
        DeployState::Succeeded,
        at,
        DeploySource::Lambda,
    );
    m.to_version = to;
    m.actor = actor;
    Ok(Announcement::Deployment(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/deploy/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("sample");
        serde_json::from_str(&text).expect("JSON")
    }

    fn deployment(name: &str) -> Deployment {
        match decode(&sample(name)).expect("decodes") {
            Announcement::Deployment(d) => d,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn every_sample_is_one_marker_with_a_stable_id() {
        let cases = [
            ("codedeploy-start.json", DeployState::InProgress, "checkout"),
            (
                "codedeploy-success.json",
                DeployState::Succeeded,
                "checkout",
            ),
            (
                "ecs-deployment-completed.json",
                DeployState::Succeeded,
                "checkout",
            ),
            (
                "cloudformation-update-complete.json",
                DeployState::Succeeded,
                "checkout-stack",
            ),
            (
                "lambda-update-alias.json",
                DeployState::Succeeded,
                "checkout",
            ),
            ("custom.json", DeployState::Succeeded, "checkout"),
        ];
        for (file, state, service) in cases {
            let d = deployment(file);
            assert_eq!(
                (d.state, d.service.as_str()),
                (state, service),
                "{file}: {d:?}"
            );
            assert!(!d.id.is_empty());
        }
        let start = deployment("codedeploy-start.json");
        let end = deployment("codedeploy-success.json");
        assert_eq!(start.id, end.id, "start and end are one deployment");
    }

    #[test]
    fn a_lambda_alias_update_names_the_alias_the_version_and_the_caller() {
        let d = deployment("lambda-update-alias.json");
        assert_eq!(d.target, "checkout:live");
        assert_eq!(d.to_version.as_deref(), Some("42"));
        assert!(
            d.actor.as_deref().is_some_and(|a| a.contains("ci")),
            "{d:?}"
        );
    }

    #[test]
    fn the_custom_event_carries_both_versions() {
        let d = deployment("custom.json");
        assert_eq!(d.from_version.as_deref(), Some("41"));
        assert_eq!(d.to_version.as_deref(), Some("42"));
        assert_eq!(d.actor.as_deref(), Some("ci@example.com"));
    }

    #[test]
    fn broken_events_name_what_is_wrong() {
        let no_service = serde_json::json!({
            "source": "apptrack.deploy", "detail-type": "Deployment",
            "time": "2026-11-24T02:00:00Z", "detail": {"version": "42"}
        });
        assert_eq!(
            decode(&no_service),
            Err(DeployEventError::MissingField("detail.service".into()))
        );
        let other = serde_json::json!({
            "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
            "time": "2026-11-24T02:00:00Z", "detail": {}
        });
        assert!(matches!(
            decode(&other),
            Err(DeployEventError::Unrecognized { .. })
        ));
        assert_eq!(
            decode(&serde_json::json!([1])),
            Err(DeployEventError::NotAnObject)
        );
        let bad_time = serde_json::json!({
            "source": "apptrack.deploy", "time": "yesterday", "detail": {}
        });
        assert!(matches!(
            decode(&bad_time),
            Err(DeployEventError::WrongType { .. })
        ));
    }

    #[test]
    fn publish_version_alone_is_not_a_deployment() {
        let mut ev = sample("lambda-update-alias.json");
        ev["detail"]["eventName"] = "PublishVersion20150331".into();
        assert!(matches!(decode(&ev), Ok(Announcement::Ignored(_))));
    }
}
