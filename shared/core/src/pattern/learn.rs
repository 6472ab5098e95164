//! Learns, from the distinct templates of a batch, the positions where plain words are values:
//! templates of one length equal but for one word, seen with many different words there, merge.
//!
//! The message-local mask cannot tell `authenticated via ldap` from `authenticated via
//! oidc` as one event; a clustering parser (Drain, Brain) can, because it sees both. This
//! does the same on the set of distinct templates, never per line: a template of `n` tokens
//! is indexed under `n` keys, one per position with that position left out, and a key whose
//! templates show at least [`LearnRules::min_values`] different words at the left-out
//! position becomes one template with `<*>` there. The outcome depends on the set of
//! templates only (not on the order of lines or templates).
//!
//! What keeps two real events apart:
//! * a pair (or three) of alternatives is not enough: `connection opened` / `closed`,
//!   `started` / `stopped` are language; four different words at one place rarely are;
//! * a position holding a function word (`is`, `for`, `via`, `not`...) is never learned, and
//!   one where two of the words are past tenses (`opened`, `closed`, `refused`) neither:
//!   those say what happened, values name things;
//! * the rest of the template must hold at least two words that are not function words,
//!   so short messages (`connection refused`, `disk full`, `tickTime set to <*>`) keep
//!   their identity: the fewer the words around, the likelier the one that differs is the
//!   event's name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::mask::{NOT_NAMES, VAR, is_past_tense};
use super::set::FxHasher;

/// How eagerly positions are learned. The defaults are not tuned to any log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnRules {
    /// Different words needed at one position, the rest of the template equal.
    pub min_values: usize,
    /// Positions one template may learn (each one a round over the templates).
    pub max_positions: usize,
    /// Positions of one template considered (the first ones holding a word).
    pub max_candidates: usize,
}

impl Default for LearnRules {
    fn default() -> Self {
        LearnRules {
            min_values: 4,
            max_positions: 3,
            max_candidates: 32,
        }
    }
}

/// A learned template: tokens with `<*>` at the learned positions, and those positions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Merge {
    /// The tokens joined by one space; a learned position keeps the punctuation around
    /// the word (`(<*>)`, `<*>:`).
    pub form: String,
    /// Token positions (from 0) that hold a learned `<*>`.
    pub learned: Vec<u16>,
}

impl Merge {
    /// The template the merged lines share: the form with each run of `<*>` tokens made
    /// one, as the mask writes a run of values.
    pub fn template(&self) -> String {
        let mut out = String::with_capacity(self.form.len());
        let mut last_var = false;
        for tok in self.form.split(' ') {
            if tok == VAR && last_var {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(tok);
            last_var = tok == VAR;
        }
        out
    }

    /// The fingerprint of [`Merge::template`].
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_template(&self.template())
    }

    /// Whether a (mask's) template is one of this merge's: the same tokens, but for a
    /// word with the same punctuation around it at a learned position.
    pub fn covers(&self, template: &str) -> bool {
        let mut learned = self.learned.iter().copied().peekable();
        let mut theirs = template.split(' ');
        for (k, ours) in self.form.split(' ').enumerate() {
            let Some(t) = theirs.next() else {
                return false;
            };
            if learned.peek() == Some(&(k as u16)) {
                learned.next();
                if t == ours {
                    continue;
                }
                match word(t) {
                    Some(w) if shape_matches(ours, t, w) => {}
                    _ => return false,
                }
            } else if t != ours {
                return false;
            }
        }
        theirs.next().is_none()
    }
}

/// What [`learn`] found: the merges, and for each input template the merge it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learning {
    pub merges: Vec<Merge>,
    /// One entry per input template, in input order.
    pub of: Vec<Option<usize>>,
}

/// A token of a form being learned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    text: String,
    learned: bool,
}

#[derive(Debug, Clone)]
struct Form {
    toks: Vec<Tok>,
    /// Input templates that became this form.
    members: Vec<usize>,
}

impl Form {
    fn text(&self) -> String {
        let mut s = String::new();
        for (k, t) in self.toks.iter().enumerate() {
            if k > 0 {
                s.push(' ');
            }
            s.push_str(&t.text);
        }
        s
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The word a token holds, without the punctuation around it, if the token is a plain
/// word that could be a value: letters first, then letters, digits or `- _ . :`, and not a
/// function word.
pub(crate) fn word(tok: &str) -> Option<&str> {
    if tok.contains(VAR) {
        return None;
    }
    let start = tok
        .find(|c: char| !matches!(c, '(' | '[' | '{' | '<' | '\'' | '"' | '`'))
        .unwrap_or(tok.len());
    let core = tok[start..].trim_end_matches([
        ')', ']', '}', '>', ':', ',', ';', '.', '!', '?', '\'', '"', '`',
    ]);
    let first = core.chars().next()?;
    if core.len() < 2 || !(first.is_alphabetic()) {
        return None;
    }
    if !core
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return None;
    }
    let lower = core.to_ascii_lowercase();
    if NOT_NAMES.contains(&lower.as_bytes()) || FUNCTION_WORDS.contains(&lower.as_str()) {
        return None;
    }
    Some(core)
}

/// Words of the language that `NOT_NAMES` (the mask's) does not hold.
const FUNCTION_WORDS: [&str; 14] = [
    "via", "into", "onto", "over", "under", "after", "before", "but", "than", "then", "when",
    "while", "out", "off",
];

/// The token with its word replaced by `<*>`: `(java)` → `(<*>)`.
pub(crate) fn shape(tok: &str, word: &str) -> String {
    let at = tok.find(word).unwrap_or(0);
    format!("{}{VAR}{}", &tok[..at], &tok[at + word.len()..])
}

fn shape_matches(shape: &str, tok: &str, word: &str) -> bool {
    let at = tok.find(word).unwrap_or(0);
    let (before, after) = (&tok[..at], &tok[at + word.len()..]);
    shape.len() == before.len() + VAR.len() + after.len()
        && shape.starts_with(before)
        && shape.ends_with(after)
        && &shape[before.len()..before.len() + VAR.len()] == VAR
}

fn hash_at(k: usize, text: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write_usize(k);
    h.write(text.as_bytes());
    h.write_u8(0xff);
    // One more round so that summing per-token hashes mixes well.
    let x = h.finish();
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// Learns merges over a set of templates (as [`super::PatternMiner`] writes them).
/// Duplicates and order do not matter; the work is linear in the total length of the
/// templates, times [`LearnRules::max_positions`].
pub fn learn(templates: &[&str], rules: &LearnRules) -> Learning {
    let mut by_text: FxMap<&str, usize> = FxMap::default();
    let mut forms: Vec<Form> = Vec::new();
    let mut sorted: Vec<usize> = (0..templates.len()).collect();
    sorted.sort_by_key(|&i| templates[i]);
    for i in sorted {
        let t = templates[i];
        if let Some(&f) = by_text.get(t) {
            forms[f].members.push(i);
            continue;
        }
        by_text.insert(t, forms.len());
        forms.push(Form {
            toks: t
                .split(' ')
                .map(|s| Tok {
                    text: s.to_owned(),
                    learned: false,
                })
                .collect(),
            members: vec![i],
        });
    }
    drop(by_text);
    let min_values = rules.min_values.max(2);
    for _ in 0..rules.max_positions {
        if !learn_one_position(&mut forms, min_values, rules.max_candidates) {
            break;
        }
    }
    let mut out = Learning {
        merges: Vec::new(),
        of: vec![None; templates.len()],
    };
    for f in forms {
        if !f.toks.iter().any(|t| t.learned) {
            continue;
        }
        let m = out.merges.len();
        for &i in &f.members {
            out.of[i] = Some(m);
        }
        out.merges.push(Merge {
            form: f.text(),
            learned: f
                .toks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.learned)
                .map(|(k, _)| k as u16)
                .collect(),
        });
    }
    out
}

/// One round: every form indexed under each of its word positions left out; keys with
/// enough different words merge. Returns whether anything merged. `forms` stays sorted by
/// text, so the outcome does not depend on the input order.
fn learn_one_position(forms: &mut Vec<Form>, min_values: usize, max_candidates: usize) -> bool {
    // (form, position, word) per key.
    let mut buckets: FxMap<u64, Vec<(usize, usize)>> = FxMap::default();
    for (f, form) in forms.iter().enumerate() {
        let n = form.toks.len();
        if n < 3 {
            continue;
        }
        let words: Vec<(usize, &str)> = form
            .toks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.learned)
            .filter_map(|(k, t)| word(&t.text).map(|w| (k, w)))
            .take(max_candidates)
            .collect();
        // Two words that are not function words must stay besides the one left out.
        let content_words = form
            .toks
            .iter()
            .filter(|t| !t.learned && word(&t.text).is_some())
            .count();
        if words.is_empty() || content_words < 3 {
            continue;
        }
        let hashes: Vec<u64> = form
            .toks
            .iter()
            .enumerate()
            .map(|(k, t)| hash_at(k, &t.text))
            .collect();
        let total = hashes
            .iter()
            .fold(hash_at(usize::MAX, &n.to_string()), |a, h| {
                a.wrapping_add(*h)
            });
        for (k, w) in words {
            let key = total
                .wrapping_sub(hashes[k])
                .wrapping_add(hash_at(k, &shape(&form.toks[k].text, w)));
            buckets.entry(key).or_default().push((f, k));
        }
    }
    let mut candidates: Vec<Vec<(usize, usize)>> = buckets
        .into_values()
        .filter(|b| b.len() >= min_values)
        .collect();
    // Most values first, then by the first form's text (forms are sorted): a fixed order.
    candidates.sort_by_key(|b| (std::cmp::Reverse(b.len()), b[0]));
    let mut taken = vec![false; forms.len()];
    let mut merged_any = false;
    let mut new_forms: Vec<Form> = Vec::new();
    for b in candidates {
        let (f0, k) = b[0];
        let members: Vec<usize> = b
            .iter()
            .filter(|&&(f, kk)| kk == k && !taken[f] && same_but(&forms[f0], &forms[f], k))
            .map(|&(f, _)| f)
            .collect();
        if members.len() < min_values || members.iter().any(|&f| taken[f]) {
            continue;
        }
        let words: Vec<&str> = members
            .iter()
            .filter_map(|&f| word(&forms[f].toks[k].text))
            .collect();
        // Past tenses say what happened (`opened`, `closed`): language, not values.
        if words.iter().filter(|w| is_past_tense(w.as_bytes())).count() >= 2 {
            continue;
        }
        let mut toks = forms[f0].toks.clone();
        toks[k] = Tok {
            text: shape(&toks[k].text, words[0]),
            learned: true,
        };
        let mut all = Vec::new();
        for &f in &members {
            taken[f] = true;
            all.extend_from_slice(&forms[f].members);
        }
        new_forms.push(Form { toks, members: all });
        merged_any = true;
    }
    if !merged_any {
        return false;
    }
    let old = std::mem::take(forms);
    new_forms.extend(
        old.into_iter()
            .zip(taken)
            .filter(|(_, t)| !t)
            .map(|(f, _)| f),
    );
    // Two merges can reach one text: they are one form.
    let mut keyed: Vec<(String, Form)> = new_forms.into_iter().map(|f| (f.text(), f)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    for (text, f) in keyed {
        match forms.last_mut() {
            Some(last) if last.text() == text => {
                last.members.extend(f.members);
                for (a, b) in last.toks.iter_mut().zip(f.toks) {
                    a.learned |= b.learned;
                }
            }
            _ => forms.push(f),
        }
    }
    true
}

/// Whether two forms have equal tokens everywhere but at `k`.
fn same_but(a: &Form, b: &Form, k: usize) -> bool {
    a.toks.len() == b.toks.len()
        && a.toks
            .iter()
            .zip(&b.toks)
            .enumerate()
            .all(|(j, (x, y))| j == k || x.text == y.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(templates: &[&str]) -> Vec<Option<String>> {
        let l = learn(templates, &LearnRules::default());
        l.of.iter()
            .map(|m| m.map(|m| l.merges[m].template()))
            .collect()
    }

    #[test]
    fn many_words_at_one_place_are_a_value() {
        let t = [
            "user <*> authenticated via ldap",
            "user <*> authenticated via oidc",
            "user <*> authenticated via password",
            "user <*> authenticated via api-key",
            "user <*> locked out",
        ];
        let m = merged(&t);
        assert!(
            m[..4]
                .iter()
                .all(|x| x.as_deref() == Some("user <*> authenticated via <*>"))
        );
        assert_eq!(m[4], None);
        let l = learn(&t, &LearnRules::default());
        let merge = &l.merges[0];
        assert!(merge.covers("user <*> authenticated via kerberos"));
        assert!(!merge.covers("user <*> authenticated by kerberos"));
        assert!(!merge.covers("user <*> authenticated via <*> now"));
    }

    #[test]
    fn punctuation_around_the_word_stays() {
        let t = [
            "Killed process <*> (java) total-vm:<*>",
            "Killed process <*> (node) total-vm:<*>",
            "Killed process <*> (chrome) total-vm:<*>",
            "Killed process <*> (mysqld) total-vm:<*>",
        ];
        assert!(
            merged(&t)
                .iter()
                .all(|x| x.as_deref() == Some("Killed process <*> (<*>) total-vm:<*>"))
        );
    }

    #[test]
    fn few_alternatives_or_language_stay_apart() {
        // Three words only.
        assert!(
            merged(&[
                "session <*> opened for admin",
                "session <*> closed for admin",
                "session <*> renewed for admin"
            ])
            .iter()
            .all(Option::is_none)
        );
        // Past tenses: what happened, not a name.
        assert!(
            merged(&[
                "job <*> started on worker pool",
                "job <*> stopped on worker pool",
                "job <*> failed on worker pool",
                "job <*> paused on worker pool",
                "job <*> resumed on worker pool",
            ])
            .iter()
            .all(Option::is_none)
        );
        // Too little else to go on.
        assert!(
            merged(&[
                "connection refused",
                "connection reset",
                "connection lost",
                "connection dropped"
            ])
            .iter()
            .all(Option::is_none)
        );
    }

    #[test]
    fn two_positions_are_learned_in_two_rounds() {
        let mut t = Vec::new();
        for a in ["billing", "checkout", "catalog", "auth"] {
            for b in ["eu", "us", "ap", "sa"] {
                t.push(format!("upstream {a} is unhealthy in region {b}"));
            }
        }
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        assert!(
            merged(&refs)
                .iter()
                .all(|x| x.as_deref() == Some("upstream <*> is unhealthy in region <*>"))
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let mut t = vec![
            "upstream billing is unhealthy",
            "upstream checkout is unhealthy",
            "upstream catalog is unhealthy",
            "upstream auth is unhealthy",
            "upstream auth is slow",
        ];
        let a = merged(&t);
        t.reverse();
        let mut b = merged(&t);
        b.reverse();
        assert_eq!(a, b);
        assert_eq!(a[0].as_deref(), Some("upstream <*> is unhealthy"));
    }

    #[test]
    fn a_learned_value_next_to_a_value_is_one_run() {
        let t = [
            "<*> eth0 link is flapping again",
            "<*> eth1 link is flapping again",
            "<*> wlan0 link is flapping again",
            "<*> br-lan link is flapping again",
        ];
        assert!(
            merged(&t)
                .iter()
                .all(|x| x.as_deref() == Some("<*> link is flapping again"))
        );
    }
}
