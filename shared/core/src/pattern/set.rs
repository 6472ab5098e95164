//! Groups many messages by pattern: a count and a few samples per fingerprint.
//! Memory is bounded: patterns, samples per pattern and bytes per sample are capped.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::learn::{LearnRules, Learning, learn};
use super::mask::{Masked, cap_bytes};
use super::{PatternError, PatternMiner};

/// One pattern seen in a batch, with how often and a few of its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternGroup {
    /// The masked message shape, e.g. `Connection to <*> refused`.
    pub template: String,
    /// Hash of `template`; the key to count and deduplicate on.
    pub fingerprint: Fingerprint,
    /// Messages of this shape added so far.
    pub count: u64,
    /// The first messages of this shape (at most `max_samples`, each capped at
    /// the miner's byte limit), raw: sanitizing them is the caller's job.
    pub samples: Vec<String>,
}

/// Groups messages by fingerprint, in the order patterns first appear.
///
/// Until [`PatternSet::learn`], the grouping is exactly the one [`PatternMiner::mine`]
/// gives message by message. `learn` then merges the groups whose templates differ only
/// where many words were seen (`learn.rs`), as error-analyzer does with each batch; the
/// outcome depends on the set of templates, never on the order of the messages.
#[derive(Debug, Clone)]
pub struct PatternSet {
    miner: PatternMiner,
    max_patterns: usize,
    max_samples: usize,
    groups: Vec<PatternGroup>,
    // Keyed by template (not fingerprint) so the SHA-256 runs once per new
    // pattern, not once per message.
    index: HashMap<Box<str>, usize, BuildHasherDefault<FxHasher>>,
    scratch: Masked,
    total: u64,
    overflow: u64,
    /// Fingerprints of the templates that learning merged, to the merged one.
    renamed: HashMap<Fingerprint, Fingerprint, BuildHasherDefault<FxHasher>>,
}

impl PatternSet {
    /// Default limit on distinct patterns kept by one set.
    pub const DEFAULT_MAX_PATTERNS: usize = 10_000;
    /// Default number of sample messages kept per pattern.
    pub const DEFAULT_MAX_SAMPLES: usize = 5;

    /// An empty set with the default limits.
    pub fn new(miner: PatternMiner) -> Self {
        Self::with_limits(miner, Self::DEFAULT_MAX_PATTERNS, Self::DEFAULT_MAX_SAMPLES)
    }

    /// An empty set keeping at most `max_patterns` patterns and `max_samples`
    /// samples per pattern.
    pub fn with_limits(miner: PatternMiner, max_patterns: usize, max_samples: usize) -> Self {
        PatternSet {
            miner,
            max_patterns,
            max_samples,
            groups: Vec::new(),
            index: HashMap::default(),
            scratch: Masked::default(),
            total: 0,
            overflow: 0,
            renamed: HashMap::default(),
        }
    }

    /// Adds one message and returns its pattern's fingerprint.
    ///
    /// # Errors
    /// [`PatternError::TooManyPatterns`] when the message has a new pattern and
    /// the set already holds `max_patterns`; the message is then only counted in
    /// [`PatternSet::overflow`].
    pub fn add(&mut self, message: &str) -> Result<Fingerprint, PatternError> {
        self.total += 1;
        let limits = self.miner.limits();
        self.scratch.fill(message, limits);
        if let Some(&g) = self.index.get(self.scratch.template.as_str()) {
            let group = &mut self.groups[g];
            group.count += 1;
            if group.samples.len() < self.max_samples {
                group
                    .samples
                    .push(cap_bytes(message, limits.max_bytes).to_owned());
            }
            return Ok(group.fingerprint);
        }
        if self.groups.len() >= self.max_patterns {
            self.overflow += 1;
            return Err(PatternError::TooManyPatterns {
                limit: self.max_patterns,
            });
        }
        let template = self.scratch.template.clone();
        let fingerprint = Fingerprint::of_template(&template);
        let mut samples = Vec::new();
        if self.max_samples > 0 {
            samples.push(cap_bytes(message, limits.max_bytes).to_owned());
        }
        self.index
            .insert(template.clone().into_boxed_str(), self.groups.len());
        self.groups.push(PatternGroup {
            template,
            fingerprint,
            count: 1,
            samples,
        });
        Ok(fingerprint)
    }

    /// Merges the groups whose templates [`learn`] joins into one group each, with the
    /// merged template and its fingerprint, in the place of its first group; later
    /// messages of a merged template count in the merged group. Returns how many groups
    /// were merged away. The work is per group, not per message.
    pub fn learn(&mut self, rules: &LearnRules) -> usize {
        let templates: Vec<&str> = self.groups.iter().map(|g| g.template.as_str()).collect();
        let Learning { merges, of } = learn(&templates, rules);
        if merges.is_empty() {
            return 0;
        }
        let mut target: Vec<Option<usize>> = vec![None; merges.len()];
        let mut kept: Vec<PatternGroup> = Vec::with_capacity(self.groups.len());
        let mut slot_of: Vec<usize> = Vec::with_capacity(self.groups.len());
        for (g, m) in std::mem::take(&mut self.groups).into_iter().zip(of) {
            let Some(m) = m else {
                slot_of.push(kept.len());
                kept.push(g);
                continue;
            };
            let fingerprint = merges[m].fingerprint();
            if fingerprint != g.fingerprint {
                self.renamed.insert(g.fingerprint, fingerprint);
            }
            match target[m] {
                Some(t) => {
                    let into: &mut PatternGroup = &mut kept[t];
                    into.count += g.count;
                    let room = self.max_samples.saturating_sub(into.samples.len());
                    into.samples.extend(g.samples.into_iter().take(room));
                    slot_of.push(t);
                }
                None => {
                    target[m] = Some(kept.len());
                    slot_of.push(kept.len());
                    kept.push(PatternGroup {
                        template: merges[m].template(),
                        fingerprint,
                        ..g
                    });
                }
            }
        }
        // A merged template can equal another group's: those are one group too.
        let mut by_fp: HashMap<Fingerprint, usize, BuildHasherDefault<FxHasher>> =
            HashMap::default();
        let mut groups: Vec<PatternGroup> = Vec::with_capacity(kept.len());
        let mut final_of: Vec<usize> = Vec::with_capacity(kept.len());
        for g in kept {
            match by_fp.get(&g.fingerprint) {
                Some(&t) => {
                    let into = &mut groups[t];
                    into.count += g.count;
                    let room = self.max_samples.saturating_sub(into.samples.len());
                    into.samples.extend(g.samples.into_iter().take(room));
                    final_of.push(t);
                }
                None => {
                    by_fp.insert(g.fingerprint, groups.len());
                    final_of.push(groups.len());
                    groups.push(g);
                }
            }
        }
        let before = slot_of.len();
        for v in self.index.values_mut() {
            *v = final_of[slot_of[*v]];
        }
        self.groups = groups;
        before - self.groups.len()
    }

    /// The fingerprint a message's pattern has now: the merged one if [`PatternSet::learn`]
    /// merged it, else the one [`PatternSet::add`] returned.
    pub fn canonical(&self, fingerprint: Fingerprint) -> Fingerprint {
        // A second `learn` can merge a merged group again: follow the chain (each step
        // learns one more position, so it is short).
        let mut f = fingerprint;
        for _ in 0..16 {
            match self.renamed.get(&f) {
                Some(&next) => f = next,
                None => break,
            }
        }
        f
    }

    /// The patterns seen, in order of first appearance.
    pub fn groups(&self) -> &[PatternGroup] {
        &self.groups
    }

    /// Takes the patterns out, in order of first appearance.
    pub fn into_groups(self) -> Vec<PatternGroup> {
        self.groups
    }

    /// Number of distinct patterns held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no pattern is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Messages added, including those that overflowed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Messages dropped because their pattern was new and the set was full.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }
}

/// The multiply-rotate hash used by rustc (FxHash), written out here because the
/// crate takes no hashing dependency. Several times faster than SipHash on short
/// keys; the map it serves is capped at `max_patterns` entries, which bounds the
/// cost of any deliberately colliding input.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_per_pattern_with_samples() {
        let mut set = PatternSet::with_limits(PatternMiner::default(), 10, 2);
        let a = set.add("Connection to 10.0.0.1:5432 refused").unwrap();
        set.add("Timeout after 30 s").unwrap();
        let b = set.add("Connection to 10.0.0.2:5432 refused").unwrap();
        set.add("Connection to 10.0.0.3:6379 refused").unwrap();
        assert_eq!(a, b);
        assert_eq!(set.len(), 2);
        let g = &set.groups()[0];
        assert_eq!(g.template, "Connection to <*> refused");
        assert_eq!(g.count, 3);
        assert_eq!(
            g.samples,
            [
                "Connection to 10.0.0.1:5432 refused",
                "Connection to 10.0.0.2:5432 refused"
            ]
        );
        assert_eq!(set.total(), 4);
    }

    #[test]
    fn fingerprints_do_not_depend_on_order_or_history() {
        let msgs = ["disk 1 full", "user 7 locked out", "disk 3 full", "x"];
        let mut forward = PatternSet::new(PatternMiner::default());
        let mut backward = PatternSet::new(PatternMiner::default());
        let f: Vec<_> = msgs.iter().map(|m| forward.add(m).unwrap()).collect();
        let mut b: Vec<_> = msgs
            .iter()
            .rev()
            .map(|m| backward.add(m).unwrap())
            .collect();
        b.reverse();
        assert_eq!(f, b);
        assert_eq!(
            f[0],
            PatternMiner::default().mine("disk 99 full").fingerprint
        );
    }

    #[test]
    fn is_bounded_and_says_so() {
        let mut set = PatternSet::with_limits(PatternMiner::default(), 1, 0);
        set.add("a").unwrap();
        assert!(matches!(
            set.add("b"),
            Err(PatternError::TooManyPatterns { limit: 1 })
        ));
        set.add("a").unwrap();
        assert_eq!((set.len(), set.overflow(), set.total()), (1, 1, 3));
        assert!(set.groups()[0].samples.is_empty());
    }
}
