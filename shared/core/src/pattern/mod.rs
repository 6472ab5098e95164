//! Error-log pattern mining: masks the variable parts of a message into a template
//! (`Connection to <*> refused`) and fingerprints the template as a stable dedup key.
//!
//! Why no clustering of lines (Drain, Spell and the like): an online clusterer's groups
//! depend on what it saw before and in which order, so two Lambda invocations that
//! share no memory would disagree on a pattern's identity. Here a message's
//! template is a pure function of the message (`mask.rs` holds the rules) and the
//! [`Fingerprint`] a pure function of the template. What one message cannot show (a
//! plain word that is a value) is learned over the set of a batch's templates
//! (`learn.rs`) and kept per service by the template registry (`registry.rs`), so later
//! batches and cold starts map both shapes to one recorded fingerprint. The grouping the
//! LogHub benchmark measures is the one the product uses on a first batch.
//!
//! ```
//! use apptrack_core::pattern::PatternMiner;
//!
//! let miner = PatternMiner::default();
//! let a = miner.mine("Connection to 10.0.0.7:5432 refused after 3000 ms");
//! let b = miner.mine("Connection to db-2.internal:6432 refused after 12 ms");
//! assert_eq!(a.template, "Connection to <*> refused after <*>");
//! assert_eq!(a.params, ["10.0.0.7:5432", "3000 ms"]);
//! assert_eq!(a.fingerprint, b.fingerprint);
//! ```

mod fingerprint;
mod learn;
mod mask;
pub mod memory;
pub mod registry;
mod set;

#[cfg(test)]
mod proptests;

use serde::{Deserialize, Serialize};

pub use fingerprint::Fingerprint;
pub use learn::{LearnRules, Learning, Merge, learn};
pub use mask::VAR;
pub use memory::MemoryTemplateRegistry;
pub use registry::{
    FrameKey, FrameRecord, RecordedMerge, Rename, TemplateRegistry, WithTemplates,
    renames_for_batch,
};
pub use set::{PatternGroup, PatternSet};

use mask::{Limits, Masked};

/// What can go wrong in this module; masking itself cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A stored fingerprint that is not the 32 hex digits this module writes.
    #[error("invalid pattern fingerprint {value:?}: expected 32 hex digits")]
    InvalidFingerprint {
        /// The offending text (at most 64 characters of it).
        value: String,
    },
    /// A [`PatternSet`] is full and the message had a new pattern.
    #[error("pattern set holds its limit of {limit} patterns; message counted as overflow")]
    TooManyPatterns {
        /// The set's `max_patterns`.
        limit: usize,
    },
}

/// Bounds on the work done per message. The defaults suit error messages; they
/// are not tuned to any log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerConfig {
    /// Messages are cut to this many bytes (on a character boundary) before
    /// mining; the cut-off tail counts as one variable.
    pub max_message_bytes: usize,
    /// Whitespace-separated tokens mined; the rest counts as one variable.
    pub max_tokens: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            max_message_bytes: 2048,
            max_tokens: 256,
        }
    }
}

/// A message's pattern: its template, the template's fingerprint and the values
/// that were masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    /// The message with each variable run replaced by `<*>` and whitespace runs
    /// by one space.
    pub template: String,
    /// Hash of `template`: equal templates, equal fingerprints.
    pub fingerprint: Fingerprint,
    /// The original text behind each `<*>`, in order.
    pub params: Vec<String>,
}

/// Mines patterns from single messages. Cheap to copy and free of state, so one
/// miner can serve every invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternMiner {
    config: MinerConfig,
}

impl PatternMiner {
    /// A miner with the given limits.
    pub fn new(config: MinerConfig) -> Self {
        // A zero cap would turn every message into one pattern; keep one token.
        let config = MinerConfig {
            max_message_bytes: config.max_message_bytes.max(1),
            max_tokens: config.max_tokens.max(1),
        };
        PatternMiner { config }
    }

    /// The limits in use.
    pub fn config(&self) -> MinerConfig {
        self.config
    }

    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.config.max_message_bytes,
            max_tokens: self.config.max_tokens,
        }
    }

    /// The pattern of one message. Never panics, whatever the input.
    pub fn mine(&self, message: &str) -> Pattern {
        let mut m = Masked::default();
        let text = m.fill(message, self.limits());
        Pattern {
            fingerprint: Fingerprint::of_template(&m.template),
            params: m
                .params
                .iter()
                .map(|r| text[r.clone()].to_owned())
                .collect(),
            template: m.template,
        }
    }

    /// Only the template of one message (no params, no hash).
    pub fn template(&self, message: &str) -> String {
        let mut m = Masked::default();
        m.fill(message, self.limits());
        m.template
    }

    /// Only the fingerprint of one message.
    pub fn fingerprint(&self, message: &str) -> Fingerprint {
        Fingerprint::of_template(&self.template(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mines_template_params_and_fingerprint() {
        let p = PatternMiner::default().mine("User 42 not found in table 'accounts'");
        assert_eq!(p.template, "User <*> not found in table '<*>'");
        assert_eq!(p.params, ["42", "accounts"]);
        assert_eq!(p.fingerprint, Fingerprint::of_template(&p.template));
    }

    #[test]
    fn different_shapes_get_different_fingerprints() {
        let m = PatternMiner::default();
        assert_ne!(
            m.fingerprint("Connection to 10.0.0.1 refused"),
            m.fingerprint("Connection to 10.0.0.1 timed out")
        );
    }

    #[test]
    fn zero_limits_are_raised_to_one() {
        let m = PatternMiner::new(MinerConfig {
            max_message_bytes: 0,
            max_tokens: 0,
        });
        assert_eq!(m.config().max_tokens, 1);
        assert_eq!(m.template("ab cd"), "<*>");
    }

    #[test]
    fn huge_and_hostile_messages_stay_bounded() {
        let m = PatternMiner::default();
        for msg in [
            "'".repeat(1_000_000),
            "a ".repeat(1_000_000),
            "x=\"".repeat(300_000),
            "1".repeat(1_000_000),
            "é".repeat(1_000_000),
        ] {
            let p = m.mine(&msg);
            assert!(p.template.len() <= 2048 + 3 * p.params.len());
            assert!(p.params.iter().map(String::len).sum::<usize>() <= 2048);
        }
    }
}
