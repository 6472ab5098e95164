//! One pass over an SQS queue: receive every message once, delete some, and make the others
//! visible again when the pass ends.
//!
//! A received message stays hidden from other consumers (and from this pass's next receives)
//! for [`HOLD_SECS`]; a message that is left alone is made visible again by
//! [`Sweep::release`], so it is received once per pass and is there for the next one.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};

use super::aws_error::describe;

/// How long a received message stays hidden: long enough for a batch of ten replays at the
/// functions' longest timeout (60 s), with room to spare.
pub const HOLD_SECS: i32 = 900;
/// The long poll of each receive: an empty answer then means the queue has no visible message.
const WAIT_SECS: i32 = 2;
/// SQS's largest batch.
pub const BATCH: usize = 10;

/// A received message.
#[derive(Debug)]
pub struct Received {
    pub id: String,
    pub body: String,
    receipt: String,
}

/// The queue's URL: given, or resolved from its name.
pub async fn queue_url(
    sqs: &aws_sdk_sqs::Client,
    url: Option<String>,
    name: Option<String>,
) -> Result<String> {
    match (url, name) {
        (Some(url), _) => Ok(url),
        (None, Some(name)) => {
            let out = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))
                .with_context(|| format!("looking up the URL of queue {name}"))?;
            out.queue_url
                .with_context(|| format!("GetQueueUrl returned no URL for queue {name}"))
        }
        (None, None) => anyhow::bail!("no queue: pass --queue-url or --queue"),
    }
}

/// A pass over one queue.
pub struct Sweep<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    url: &'a str,
    /// Every message received in this pass.
    seen: HashSet<String>,
    /// Messages left in the queue: id -> latest receipt handle.
    held: HashMap<String, String>,
}

impl<'a> Sweep<'a> {
    pub fn new(sqs: &'a aws_sdk_sqs::Client, url: &'a str) -> Self {
        Sweep {
            sqs,
            url,
            seen: HashSet::new(),
            held: HashMap::new(),
        }
    }

    /// Up to `max` (at most [`BATCH`]) messages not yet received in this pass; empty when the
    /// queue has none left. A message seen before (back after [`HOLD_SECS`] in a long pass) is
    /// not returned again.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<Received>> {
        let n = max.clamp(1, BATCH) as i32;
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.url)
            .max_number_of_messages(n)
            .visibility_timeout(HOLD_SECS)
            .wait_time_seconds(WAIT_SECS)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(describe(&e)))
            .with_context(|| format!("receiving messages from {}", self.url))?;
        let mut fresh = Vec::new();
        for m in out.messages.unwrap_or_default() {
            let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
                anyhow::bail!("SQS returned a message without an id or a receipt handle");
            };
            if self.seen.contains(&id) {
                // Only the latest receipt handle can make it visible again.
                if let Some(held) = self.held.get_mut(&id) {
                    *held = receipt;
                }
                continue;
            }
            self.seen.insert(id.clone());
            fresh.push(Received {
                id,
                body: m.body.unwrap_or_default(),
                receipt,
            });
        }
        Ok(fresh)
    }

    /// Removes the message from the queue.
    pub async fn delete(&self, m: &Received) -> Result<()> {
        self.sqs
            .delete_message()
            .queue_url(self.url)
            .receipt_handle(&m.receipt)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(describe(&e)))
            .with_context(|| format!("deleting message {}", m.id))?;
        Ok(())
    }

    /// Leaves the message in the queue; [`Sweep::release`] makes it visible again.
    pub fn keep(&mut self, m: Received) {
        self.held.insert(m.id, m.receipt);
    }

    /// Makes every kept message visible again now. Returns the ones that could not be (they
    /// reappear by themselves when their [`HOLD_SECS`] end), each with why.
    pub async fn release(self) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        for (id, receipt) in self.held {
            let sent = self
                .sqs
                .change_message_visibility()
                .queue_url(self.url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
            if let Err(e) = sent {
                failed.push((id, describe(&e)));
            }
        }
        failed
    }
}
