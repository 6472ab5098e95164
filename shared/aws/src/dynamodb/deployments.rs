//! Deployment markers in `STATE_TABLE`: one item per deployment in the partition `DEPLOYS`,
//! `sk = <service>#<id>`, so one `Query` lists every service's (or, with `begins_with`, one
//! service's) deployments. Attributes: `id`, `service`, `target`, `from_version`,
//! `to_version`, `started_at` and `ended_at` (S, RFC 3339), `state`, `actor`, `source`,
//! `rev` (N, the revision an update is conditioned on) and `expires_at` (TTL, epoch s).
//!
//! An announcement is merged into the stored marker (read, [`Deployment::merge`], write
//! conditioned on the revision read), so deliveries in any order and number make one
//! marker; a redelivery that adds nothing writes nothing.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Expr, Item, n, number, s, text};
use super::{condition_held, sdk_error};
use apptrack_core::clock::Timestamp;
use apptrack_core::deploy::{DeploySource, DeployState, Deployment, DeploymentLog, coalesce};
use apptrack_core::retry::Retry;
use apptrack_core::store::StoreError;

/// The partition every marker lives in.
pub const PARTITION: &str = "DEPLOYS";

/// How long a marker is kept after the deployment started.
pub const RETENTION: Duration = Duration::from_secs(90 * 86_400);

const RETRY: Retry = Retry::CONTENTION;

/// The deployment log over DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoDeploymentLog {
    client: Client,
    table: String,
}

impl DynamoDeploymentLog {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoDeploymentLog {
            client,
            table: state_table.into(),
        }
    }

    fn key(d: &Deployment) -> Item {
        super::item::key(PARTITION, format!("{}#{}", d.service, d.id))
    }

    async fn read(&self, d: &Deployment) -> Result<Option<(Deployment, i64)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(d)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        out.item
            .map(|i| decode(&i).map(|d| (d, number(&i, "rev").unwrap_or(0))))
            .transpose()
    }

    /// Writes `d` as revision `rev + 1` if the stored one is still `rev` (0: none stored).
    async fn write(&self, d: &Deployment, rev: i64) -> Result<bool, StoreError> {
        let mut e = Expr::default();
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut field = |e: &mut Expr, name: &str, v: Option<AttributeValue>| match v {
            Some(v) => sets.push(format!("{} = {}", e.name(name), e.value(v))),
            None => removes.push(e.name(name)),
        };
        field(&mut e, "id", Some(s(&d.id)));
        field(&mut e, "service", Some(s(&d.service)));
        field(&mut e, "target", Some(s(&d.target)));
        field(&mut e, "from_version", d.from_version.as_deref().map(s));
        field(&mut e, "to_version", d.to_version.as_deref().map(s));
        field(&mut e, "started_at", Some(s(d.started_at.to_rfc3339())));
        field(&mut e, "ended_at", d.ended_at.map(|t| s(t.to_rfc3339())));
        field(&mut e, "state", Some(s(d.state.as_str())));
        field(&mut e, "actor", d.actor.as_deref().map(s));
        field(&mut e, "source", Some(s(d.source.as_str())));
        let expires = d.started_at.saturating_add(RETENTION).as_secs();
        field(&mut e, "expires_at", Some(n(expires)));
        field(&mut e, "rev", Some(n(rev + 1)));
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let condition = if rev == 0 {
            "attribute_not_exists(pk)".to_owned()
        } else {
            let stored = e.name("rev");
            format!("{stored} = {}", e.value(n(rev)))
        };
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(d)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        condition_held(res, &self.table)
    }
}

fn decode(item: &Item) -> Result<Deployment, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("deployment marker: bad {what}"));
    let time = |name: &str| text(item, name).and_then(|t| Timestamp::parse(t).ok());
    let owned = |name: &str| text(item, name).map(str::to_owned);
    Ok(Deployment {
        id: owned("id").ok_or_else(|| corrupt("id"))?,
        service: owned("service").ok_or_else(|| corrupt("service"))?,
        target: owned("target").ok_or_else(|| corrupt("target"))?,
        from_version: owned("from_version"),
        to_version: owned("to_version"),
        started_at: time("started_at").ok_or_else(|| corrupt("started_at"))?,
        ended_at: time("ended_at"),
        state: text(item, "state")
            .and_then(DeployState::parse)
            .ok_or_else(|| corrupt("state"))?,
        actor: owned("actor"),
        source: text(item, "source")
            .and_then(DeploySource::parse)
            .ok_or_else(|| corrupt("source"))?,
    })
}

impl DeploymentLog for DynamoDeploymentLog {
    async fn record(&self, announced: &Deployment) -> Result<(Deployment, bool), StoreError> {
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let (merged, rev) = match self.read(announced).await? {
                Some((mut stored, rev)) => {
                    let before = stored.clone();
                    stored.merge(announced);
                    if stored == before {
                        return Ok((stored, false));
                    }
                    (stored, rev)
                }
                None => (announced.clone(), 0),
            };
            if self.write(&merged, rev).await? {
                return Ok((merged, true));
            }
        }
        Err(StoreError::Unavailable(format!(
            "deployment {} kept changing under {} attempts",
            announced.id, RETRY.attempts
        )))
    }

    async fn list(
        &self,
        service: Option<&str>,
        since: Timestamp,
    ) -> Result<Vec<Deployment>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(PARTITION))
                .set_exclusive_start_key(start.take());
            q = match service {
                Some(svc) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :svc)")
                    .expression_attribute_values(":svc", s(format!("{svc}#"))),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.map_err(|e| sdk_error(e, &self.table))?;
            for item in out.items() {
                let d = decode(item)?;
                if d.started_at >= since && service.is_none_or(|svc| d.service == svc) {
                    found.push(d);
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(coalesce(found))
    }
}
