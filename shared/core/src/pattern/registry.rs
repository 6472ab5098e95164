//! The template registry: what learning found, kept per service so that every later batch
//! maps a merged template's lines to the same fingerprint, after any cold start.
//!
//! Records are keyed by a template's *frame*: the template with every word that learning
//! could take for a value written `<*>` (`user <*> authenticated via ldap` has the frame
//! `<*> <*> <*> via <*>`). The templates a merge joins differ only at such words, so they
//! share a frame, and a template never seen before finds the merges that cover it with the
//! one read of its frame's record. A record holds the templates seen in that frame (so that
//! values seen in different batches add up) and the merges learned, each with its
//! *canonical* fingerprint: the fingerprint of the earliest recorded template it joined, so
//! an open incident keyed by that template keeps its key; a merge of templates never
//! recorded gets its merged template's fingerprint, as learning in one batch gives.
//!
//! Per batch: one read per touched frame, at most one conditional write per touched frame
//! (only when the batch adds a template or a merge; none in the steady state), and the
//! batch's decision kept once under the batch's id, so a retry of a half-done batch maps
//! every template as the first attempt did, whatever other batches learned in between.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::learn::{LearnRules, Merge, learn, word};
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Templates a frame's record keeps: beyond it a new template is still learned from within
/// its batch but not remembered. Bounds a record (with [`MAX_RECORD_BYTES`]).
pub const MAX_TEMPLATES: usize = 64;
/// Merges a frame's record keeps; past it, a batch learns no new merge in that frame
/// (learning one it cannot record would map its lines differently in the next batch).
pub const MAX_MERGES: usize = 32;
/// Bytes of template text a record keeps (DynamoDB items stop at 400 KB, and are read
/// in 4 KB units).
pub const MAX_RECORD_BYTES: usize = 32 * 1024;
/// Conditional writes of one frame tried against concurrent batches before giving up with a
/// retryable error.
const ATTEMPTS: usize = 8;

/// Key of a registry record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameKey {
    pub service: String,
    /// Hash of the frame text.
    pub frame: Fingerprint,
}

/// A merge as recorded, with the fingerprint its lines get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedMerge {
    pub merge: Merge,
    pub canonical: Fingerprint,
}

/// What the registry knows of one frame of one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// 0 for a record never written; each write adds one (the condition of the next).
    pub version: u64,
    /// Templates seen in this frame and not covered by a merge, oldest first.
    pub templates: Vec<String>,
    /// Merges learned, oldest first; a template takes the first that covers it.
    pub merges: Vec<RecordedMerge>,
}

/// What a batch decided for one of its patterns: the template and fingerprint its lines get.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rename {
    pub service: String,
    /// The template as mined.
    pub from: String,
    pub template: String,
    pub fingerprint: Fingerprint,
}

/// The registry port: frame records read and written under a condition, and each batch's
/// decision kept once.
pub trait TemplateRegistry: Send + Sync {
    /// The record of a frame; the default (version 0) when none was written. A record in
    /// use lives on: an adapter that expires records refreshes one read at `now` before it
    /// goes (a batch that only reads must not let what it reads expire).
    fn read_frame(
        &self,
        key: &FrameKey,
        now: Timestamp,
    ) -> impl Future<Output = Result<FrameRecord, StoreError>> + Send;

    /// Writes `next` if the stored record's version is still `expected` (0: none stored).
    /// `Ok(false)` when another batch wrote first.
    fn write_frame(
        &self,
        key: &FrameKey,
        expected: u64,
        next: &FrameRecord,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The decision kept for a batch, if any.
    fn read_decision(
        &self,
        batch: &str,
    ) -> impl Future<Output = Result<Option<Vec<Rename>>, StoreError>> + Send;

    /// Keeps a batch's decision unless one is kept already; returns the kept one.
    fn keep_decision(
        &self,
        batch: &str,
        renames: &[Rename],
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<Rename>, StoreError>> + Send;
}

/// A store that keeps the template registry beside its own items (the error counts in
/// `STATE_TABLE`): the handler reaches the registry through it, with no second client.
pub trait WithTemplates {
    type Templates: TemplateRegistry;
    fn templates(&self) -> &Self::Templates;
}

/// The frame of a template: each word that learning could take for a value as `<*>`.
pub fn frame(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for (k, tok) in template.split(' ').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        match word(tok) {
            Some(w) => out.push_str(&super::learn::shape(tok, w)),
            None => out.push_str(tok),
        }
    }
    out
}

/// The key of a template's frame in a service.
pub fn frame_key(service: &str, template: &str) -> FrameKey {
    FrameKey {
        service: service.to_owned(),
        frame: Fingerprint::of_template(&format!("frame\0{}", frame(template))),
    }
}

/// Decides one frame: the batch's templates of that frame against its record. Returns the
/// renames (index into `batch`, template, fingerprint) and the record to write, if it
/// changed. A pure function of the record and the set of templates.
pub fn decide_frame(
    record: &FrameRecord,
    batch: &[&str],
    rules: &LearnRules,
) -> (Vec<(usize, String, Fingerprint)>, Option<FrameRecord>) {
    let mut renames = Vec::new();
    let covering = |t: &str| record.merges.iter().find(|m| m.merge.covers(t));
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in batch.iter().enumerate() {
        match covering(t) {
            Some(m) => renames.push((i, m.merge.template(), m.canonical)),
            None => open.push(i),
        }
    }
    let known: Vec<&str> = record
        .templates
        .iter()
        .map(String::as_str)
        .filter(|t| covering(t).is_none())
        .collect();
    let known_set: HashSet<&str> = known.iter().copied().collect();
    let mut input: Vec<&str> = known.clone();
    for &i in &open {
        if !known_set.contains(batch[i]) {
            input.push(batch[i]);
        }
    }
    input.sort_unstable();
    input.dedup();
    let learned = learn(&input, rules);
    let room = MAX_MERGES.saturating_sub(record.merges.len());
    let usable = learned.merges.len() <= room;
    let mut next = record.clone();
    let mut joined: HashSet<&str> = HashSet::new();
    if usable && !learned.merges.is_empty() {
        // The canonical fingerprint: the earliest recorded member's, else the merge's own.
        let mut canonical: Vec<Option<Fingerprint>> = vec![None; learned.merges.len()];
        for t in &known {
            let at = input.binary_search(t).ok();
            if let Some(m) = at.and_then(|k| learned.of[k]) {
                canonical[m].get_or_insert_with(|| Fingerprint::of_template(t));
            }
        }
        for (k, t) in input.iter().enumerate() {
            if learned.of[k].is_some() {
                joined.insert(t);
            }
        }
        let recorded: Vec<RecordedMerge> = learned
            .merges
            .iter()
            .zip(&canonical)
            .map(|(m, c)| RecordedMerge {
                merge: m.clone(),
                canonical: c.unwrap_or_else(|| m.fingerprint()),
            })
            .collect();
        for &i in &open {
            let k = input.binary_search(&batch[i]).ok();
            if let Some(m) = k.and_then(|k| learned.of[k]) {
                renames.push((i, recorded[m].merge.template(), recorded[m].canonical));
            }
        }
        next.templates.retain(|t| !joined.contains(t.as_str()));
        next.merges.extend(recorded);
    }
    let mut bytes: usize = next.templates.iter().map(String::len).sum();
    let mut fresh: Vec<&str> = open
        .iter()
        .map(|&i| batch[i])
        .filter(|t| !known_set.contains(t) && !joined.contains(t))
        .collect();
    fresh.sort_unstable();
    fresh.dedup();
    for t in fresh {
        if next.templates.len() >= MAX_TEMPLATES || bytes + t.len() > MAX_RECORD_BYTES {
            break;
        }
        bytes += t.len();
        next.templates.push(t.to_owned());
    }
    renames.sort();
    if next == *record {
        (renames, None)
    } else {
        next.version = record.version + 1;
        (renames, Some(next))
    }
}

/// The renames of a batch's patterns (`templates` per service, as mined): the decision kept
/// for `batch` if there is one, else each touched frame decided against its record (and the
/// record updated under a condition, re-read when another batch wrote first), then kept.
///
/// # Errors
/// The registry's; [`StoreError::Unavailable`] when a frame kept changing under
/// [`ATTEMPTS`] writes.
pub async fn renames_for_batch<R: TemplateRegistry>(
    registry: &R,
    batch: &str,
    templates: &BTreeMap<String, Vec<&str>>,
    rules: &LearnRules,
    now: Timestamp,
) -> Result<Vec<Rename>, StoreError> {
    if let Some(kept) = registry.read_decision(batch).await? {
        return Ok(kept);
    }
    let mut frames: BTreeMap<FrameKey, Vec<&str>> = BTreeMap::new();
    for (service, ts) in templates {
        for t in ts {
            frames.entry(frame_key(service, t)).or_default().push(t);
        }
    }
    let mut renames = Vec::new();
    for (key, ts) in &frames {
        let mut decided = None;
        for _ in 0..ATTEMPTS {
            let record = registry.read_frame(key, now).await?;
            let (r, next) = decide_frame(&record, ts, rules);
            match next {
                None => {
                    decided = Some(r);
                    break;
                }
                Some(next) => {
                    if registry
                        .write_frame(key, record.version, &next, now)
                        .await?
                    {
                        decided = Some(r);
                        break;
                    }
                }
            }
        }
        let Some(r) = decided else {
            return Err(StoreError::Unavailable(format!(
                "template registry frame {} of {} kept changing",
                key.frame, key.service
            )));
        };
        renames.extend(r.into_iter().map(|(i, template, fingerprint)| Rename {
            service: key.service.clone(),
            from: ts[i].to_owned(),
            template,
            fingerprint,
        }));
    }
    renames.sort();
    registry.keep_decision(batch, &renames, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::memory::MemoryTemplateRegistry;

    fn t0() -> Timestamp {
        Timestamp::from_secs(1_795_000_000)
    }

    async fn run(r: &MemoryTemplateRegistry, batch: &str, ts: &[&str]) -> Vec<Rename> {
        let mut m = BTreeMap::new();
        m.insert("svc".to_owned(), ts.to_vec());
        renames_for_batch(r, batch, &m, &LearnRules::default(), t0())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn values_seen_across_batches_merge_under_the_first_templates_fingerprint() {
        let r = MemoryTemplateRegistry::default();
        let ldap = "user <*> authenticated via ldap";
        assert!(run(&r, "b1", &[ldap]).await.is_empty());
        assert!(
            run(&r, "b2", &["user <*> authenticated via oidc"])
                .await
                .is_empty()
        );
        assert!(
            run(&r, "b3", &["user <*> authenticated via saml"])
                .await
                .is_empty()
        );
        let fourth = run(&r, "b4", &["user <*> authenticated via password"]).await;
        assert_eq!(fourth.len(), 1);
        assert_eq!(fourth[0].template, "user <*> authenticated via <*>");
        // The incident opened for the first template keeps its key.
        assert_eq!(fourth[0].fingerprint, Fingerprint::of_template(ldap));
        // Later batches map a new value and an old one alike.
        let later = run(&r, "b5", &[ldap, "user <*> authenticated via kerberos"]).await;
        assert_eq!(later.len(), 2);
        assert!(
            later
                .iter()
                .all(|x| x.fingerprint == Fingerprint::of_template(ldap))
        );
        // Other shapes of the frame stay apart.
        assert!(
            run(&r, "b6", &["user <*> authenticated by ldap"])
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_retried_batch_keeps_its_first_decision() {
        let r = MemoryTemplateRegistry::default();
        let ts = [
            "upstream billing is unhealthy",
            "upstream auth is unhealthy",
        ];
        let first = run(&r, "b1", &ts).await;
        // Other batches teach a merge meanwhile...
        run(
            &r,
            "b2",
            &[
                "upstream catalog is unhealthy",
                "upstream search is unhealthy",
            ],
        )
        .await;
        assert_eq!(run(&r, "b9", &ts).await.len(), 2);
        // ...but the retry of b1 maps as its first attempt did.
        assert_eq!(run(&r, "b1", &ts).await, first);
        assert!(first.is_empty());
    }

    #[test]
    fn a_merge_is_decided_once_per_record() {
        let batch = [
            "upstream billing is unhealthy",
            "upstream auth is unhealthy",
            "upstream catalog is unhealthy",
            "upstream search is unhealthy",
        ];
        let (r1, next) = decide_frame(&FrameRecord::default(), &batch, &LearnRules::default());
        let next = next.unwrap();
        assert_eq!(next.merges.len(), 1);
        assert!(next.templates.is_empty());
        let (r2, again) = decide_frame(&next, &batch, &LearnRules::default());
        assert_eq!(r1, r2);
        assert_eq!(again, None, "nothing new: no write");
    }
}
