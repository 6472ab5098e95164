//! The action ledger over a map, for unit tests of the handlers that use it; intents are kept
//! as JSON, as the DynamoDB adapter keeps them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ActionLedger, Claim, Completion, DEFAULT_LEASE, LedgerError};
use crate::clock::Timestamp;
use crate::store::StoreError;

#[derive(Debug, Clone)]
enum State {
    Claimed { token: String, lease_until: i64 },
    Released,
    Done(String),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Record {
    state: State,
    intent: Option<Value>,
}

/// The ledger's semantics over a map.
#[derive(Debug)]
pub struct MemoryLedger {
    lease: Duration,
    records: Mutex<HashMap<String, Record>>,
    fail_next_completion: Mutex<bool>,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        MemoryLedger {
            lease: DEFAULT_LEASE,
            records: Mutex::default(),
            fail_next_completion: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryLedger {
    /// The recorded outcome of an action: `Some(Ok(outcome))` when done, `Some(Err(error))`
    /// when failed, `None` otherwise.
    pub fn outcome(&self, key: &str) -> Option<Result<String, String>> {
        match lock(&self.records).get(key).map(|r| r.state.clone()) {
            Some(State::Done(o)) => Some(Ok(o)),
            Some(State::Failed(e)) => Some(Err(e)),
            _ => None,
        }
    }

    /// Whether a delivery holds a live or expired claim on the action.
    pub fn is_claimed(&self, key: &str) -> bool {
        matches!(
            lock(&self.records).get(key).map(|r| &r.state),
            Some(State::Claimed { .. })
        )
    }

    /// Makes the next `complete` fail as an unreachable table would.
    pub fn fail_next_completion(&self) {
        *lock(&self.fail_next_completion) = true;
    }

    fn holds(rec: Option<&Record>, token: &str) -> bool {
        matches!(rec, Some(Record { state: State::Claimed { token: t, .. }, .. }) if t == token)
    }
}

fn decode<I: DeserializeOwned>(v: Option<Value>) -> Result<Option<I>, LedgerError> {
    v.map(serde_json::from_value)
        .transpose()
        .map_err(|e| LedgerError::Store(StoreError::Corrupt(format!("recorded intent: {e}"))))
}

impl ActionLedger for MemoryLedger {
    async fn claim<I: DeserializeOwned + Send>(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Claim<I>, LedgerError> {
        let mut records = lock(&self.records);
        let prior_intent = match records.get(key) {
            None => None,
            Some(r) => match &r.state {
                State::Released => r.intent.clone(),
                State::Claimed { lease_until, .. } if *lease_until < now.as_millis() => {
                    r.intent.clone()
                }
                State::Claimed { .. } => return Ok(Claim::HeldElsewhere),
                State::Done(o) => return Ok(Claim::Done { outcome: o.clone() }),
                State::Failed(e) => return Ok(Claim::Failed { error: e.clone() }),
            },
        };
        let token = ulid::Ulid::new().to_string();
        records.insert(
            key.to_owned(),
            Record {
                state: State::Claimed {
                    token: token.clone(),
                    lease_until: now.saturating_add(self.lease).as_millis(),
                },
                intent: prior_intent.clone(),
            },
        );
        Ok(Claim::Acquired {
            token,
            prior_intent: decode(prior_intent)?,
        })
    }

    async fn record_intent<I: Serialize + Sync>(
        &self,
        key: &str,
        token: &str,
        intent: &I,
    ) -> Result<(), LedgerError> {
        let value = serde_json::to_value(intent)
            .map_err(|e| LedgerError::Store(StoreError::Rejected(format!("intent: {e}"))))?;
        let mut records = lock(&self.records);
        if !Self::holds(records.get(key), token) {
            return Err(LedgerError::TakenOver(key.to_owned()));
        }
        if let Some(r) = records.get_mut(key) {
            r.intent = Some(value);
        }
        Ok(())
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        completion: &Completion,
        _now: Timestamp,
    ) -> Result<(), LedgerError> {
        if std::mem::take(&mut *lock(&self.fail_next_completion)) {
            return Err(LedgerError::Store(StoreError::Unavailable(format!(
                "injected failure closing the claim on {key}"
            ))));
        }
        let mut records = lock(&self.records);
        if Self::holds(records.get(key), token)
            && let Some(r) = records.get_mut(key)
        {
            r.state = match completion {
                Completion::Done(o) => State::Done(o.clone()),
                Completion::Failed(e) => State::Failed(e.clone()),
            };
        }
        Ok(())
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), LedgerError> {
        let mut records = lock(&self.records);
        if Self::holds(records.get(key), token)
            && let Some(r) = records.get_mut(key)
        {
            r.state = State::Released;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::EPOCH;

    #[tokio::test]
    async fn one_delivery_acts_and_the_others_see_how_it_ended() {
        let l = MemoryLedger::default();
        let Claim::Acquired {
            token,
            prior_intent,
        } = l.claim::<u32>("a", T).await.unwrap()
        else {
            panic!("first claim");
        };
        assert_eq!(prior_intent, None);
        assert_eq!(l.claim::<u32>("a", T).await.unwrap(), Claim::HeldElsewhere);
        l.record_intent("a", &token, &7u32).await.unwrap();
        l.complete("a", &token, &Completion::Done("did 7".into()), T)
            .await
            .unwrap();
        assert_eq!(
            l.claim::<u32>("a", T).await.unwrap(),
            Claim::Done {
                outcome: "did 7".into()
            }
        );
    }

    #[tokio::test]
    async fn a_released_or_expired_claim_is_taken_over_with_its_intent() {
        let l = MemoryLedger::default();
        let Claim::Acquired { token, .. } = l.claim::<u32>("a", T).await.unwrap() else {
            panic!("claim");
        };
        l.record_intent("a", &token, &3u32).await.unwrap();
        let later = T.saturating_add(DEFAULT_LEASE + Duration::from_secs(1));
        let Claim::Acquired {
            token: second,
            prior_intent,
        } = l.claim::<u32>("a", later).await.unwrap()
        else {
            panic!("takeover");
        };
        assert_eq!(prior_intent, Some(3));
        assert!(matches!(
            l.record_intent("a", &token, &4u32).await,
            Err(LedgerError::TakenOver(_))
        ));
        l.release("a", &second).await.unwrap();
        assert!(!l.is_claimed("a"));
    }
}
