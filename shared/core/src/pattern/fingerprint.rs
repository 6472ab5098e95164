//! The fingerprint of a pattern: a hash of its template text and nothing else.
//! Stable across batches, invocations, cold starts and releases that keep the rules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PatternError;

/// The fingerprint's namespace. Not bumped when the masking rules learn to mask
/// more (issue 19 kept `v1`): a message whose template text is unchanged keeps its
/// fingerprint, so a release does not open a `new-error` incident for every known
/// pattern; only messages whose template changed get a new one. Bump it if a rule
/// change would give one template text to messages that must not share history.
const DOMAIN: &[u8] = b"apptrack.pattern.v1\0";

/// Bytes of the SHA-256 digest kept: 128 bits, so accidental collisions are out
/// of the question even across millions of patterns.
const LEN: usize = 16;

/// Identity of a pattern: the first 128 bits of SHA-256 over the template.
///
/// Shown and stored as 32 lowercase hex digits. Because it depends on the
/// template alone, two Lambda invocations that share no memory give the same
/// message shape the same fingerprint, which is what lets it be a dedup key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Fingerprint([u8; LEN]);

impl Fingerprint {
    /// The fingerprint of a template as produced by [`super::PatternMiner`].
    pub fn of_template(template: &str) -> Self {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(template.as_bytes());
        let digest = h.finalize();
        let mut out = [0u8; LEN];
        out.copy_from_slice(&digest[..LEN]);
        Fingerprint(out)
    }

    /// The raw bytes, e.g. for a binary key.
    pub fn as_bytes(&self) -> &[u8; LEN] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = PatternError;

    /// Parses the 32 hex digits that `Display` writes (either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PatternError::InvalidFingerprint {
            value: s.chars().take(64).collect(),
        };
        let b = s.as_bytes();
        if b.len() != 2 * LEN {
            return Err(bad());
        }
        let mut out = [0u8; LEN];
        for (k, pair) in b.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out[k] = (hi * 16 + lo) as u8;
        }
        Ok(Fingerprint(out))
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.to_string()
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = PatternError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_32_hex_digits_and_round_trips() {
        let f = Fingerprint::of_template("Connection to <*> refused");
        let s = f.to_string();
        assert_eq!(s.len(), 32);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(s.parse::<Fingerprint>().unwrap(), f);
        assert_eq!(s.to_uppercase().parse::<Fingerprint>().unwrap(), f);
    }

    #[test]
    fn is_pinned_so_stored_keys_stay_valid() {
        // A change here means every stored fingerprint changes: bump DOMAIN on purpose.
        assert_eq!(
            Fingerprint::of_template("Connection to <*> refused").to_string(),
            PINNED
        );
    }
    const PINNED: &str = "ee8b8934c67baf138570c77bdc059cbd";

    #[test]
    fn rejects_what_it_did_not_write() {
        for s in [
            "",
            "abc",
            &"g".repeat(32),
            &"a".repeat(33),
            "é".repeat(16).as_str(),
        ] {
            assert!(matches!(
                s.parse::<Fingerprint>(),
                Err(PatternError::InvalidFingerprint { .. })
            ));
        }
    }

    #[test]
    fn serializes_as_its_hex_string() {
        let f = Fingerprint::of_template("x <*>");
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, format!("\"{f}\""));
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), f);
        assert!(serde_json::from_str::<Fingerprint>("\"zz\"").is_err());
    }
}
