//! What a notifier invocation did, as returned and logged. For a stream batch the answer
//! carries `batchItemFailures` (the event source mapping reports them with
//! `ReportBatchItemFailures`): the record that failed and every one after it, so Lambda
//! retries from there and the shard keeps its order.

use serde::Serialize;

/// What became of one notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Published now; the SNS message id.
    Published(String),
    /// Held by a silence (a timeline note says so).
    Silenced(String),
    /// An earlier delivery did it (a redelivered record or run).
    AlreadyDone(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notified {
    /// The notice id (what a subscriber dedupes on).
    pub id: String,
    pub fate: Fate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub notified: Vec<Notified>,
    /// Records that told nothing (other items, writes that changed nothing people need).
    pub quiet: usize,
    /// Records that could not be read, with why (logged; retrying cannot help).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// Records Lambda must deliver again.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}
