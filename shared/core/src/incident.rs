//! Incidents: one record per problem, with its identity, lifecycle and bounded history.
//! Pure values and rules; the stores in `store` persist them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// Longest title an incident may have, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest summary kept, in characters; longer ones are cut.
pub const MAX_SUMMARY_CHARS: usize = 2_000;
/// Evidence items kept per incident: the first ones, which show how the problem began.
pub const MAX_EVIDENCE: usize = 10;
/// Size cap of one evidence item's text and data, in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 2_048;
/// Timeline entries kept per incident; past this the last slot is overwritten.
pub const MAX_TIMELINE: usize = 50;
/// Size cap of one timeline entry's detail, in characters.
pub const MAX_TIMELINE_DETAIL_CHARS: usize = 1_000;

/// What was wrong with a value offered to the incident domain.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IncidentError {
    #[error("dedup key needs a non-empty {0}")]
    EmptyKeyPart(&'static str),
    #[error("title is {len} characters; at most {max} allowed", max = MAX_TITLE_CHARS)]
    TitleTooLong { len: usize },
    #[error("title is empty")]
    EmptyTitle,
    #[error("unknown {what} {value:?}; expected one of: {expected}")]
    UnknownValue {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "invalid kind {value:?}: {reason}; a kind is lowercase kebab-case (words of a-z and \
         0-9 joined by single hyphens), 1 to {max} characters",
        max = MAX_KIND_LEN
    )]
    InvalidKind { value: String, reason: String },
    #[error("{0} must not be empty")]
    EmptyField(&'static str),
    #[error("invalid incident id {0:?}: expected a 26-character ULID")]
    InvalidId(String),
    #[error("cannot {action} incident {id}: it is {status}")]
    InvalidTransition {
        id: String,
        action: &'static str,
        status: Status,
    },
}

/// Time-sortable incident id (a ULID: 48 bits of milliseconds, 80 random bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(String);

impl IncidentId {
    /// A new id for an incident opened at `at`.
    pub fn new(at: Timestamp) -> Self {
        let ms = u64::try_from(at.as_millis()).unwrap_or(0);
        IncidentId(ulid::Ulid::from_parts(ms, rand_u128()).to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn rand_u128() -> u128 {
    // ulid's generator is seeded from the OS; only the random part is used here.
    ulid::Ulid::new().random()
}

impl FromStr for IncidentId {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        ulid::Ulid::from_string(trimmed)
            .map(|u| IncidentId(u.to_string()))
            .map_err(|_| IncidentError::InvalidId(s.to_string()))
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identity of a problem: the same source, kind, resource and fingerprint is the same problem.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(String);

impl DedupKey {
    /// Hashes the four parts; each must be non-empty, so distinct problems never share a
    /// constant fallback key.
    pub fn new(
        source: &str,
        kind: IncidentKind,
        resource: &str,
        fingerprint: &str,
    ) -> Result<Self, IncidentError> {
        for (name, value) in [
            ("source", source),
            ("resource", resource),
            ("fingerprint", fingerprint),
        ] {
            if value.trim().is_empty() {
                return Err(IncidentError::EmptyKeyPart(name));
            }
        }
        let mut h = Sha256::new();
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        for part in [source, kind.as_str(), resource, fingerprint] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(DedupKey(format!("{}-{hex}", kind.as_str())))
    }

    /// A key read back from storage, trusted as is.
    pub fn from_stored(s: impl Into<String>) -> Self {
        DedupKey(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = IncidentError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(IncidentError::UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

/// Longest incident kind, in characters (a kind is ASCII, so also in bytes).
pub const MAX_KIND_LEN: usize = 48;

macro_rules! incident_kinds {
    ($(#[$meta:meta])* { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum IncidentKind {
            $($(#[$vmeta])* $variant,)+
            /// A well-formed kind this build has no variant for, such as one a newer
            /// function raises. Never the name of a kind that has a variant.
            Other(OtherKind),
        }

        impl IncidentKind {
            /// The kinds this build raises (others are read as [`IncidentKind::Other`]).
            pub const KNOWN: &'static [IncidentKind] = &[$(IncidentKind::$variant),+];

            /// The kind's name, as stored.
            pub fn as_str(&self) -> &str {
                match self {
                    $(IncidentKind::$variant => $text,)+
                    IncidentKind::Other(k) => k.as_str(),
                }
            }

            fn known(name: &str) -> Option<IncidentKind> {
                match name {
                    $($text => Some(IncidentKind::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

incident_kinds!(
    /// What sort of problem an incident is.
    ///
    /// Kinds are open: those this build raises have a variant, and any other well-formed
    /// kind is carried, unchanged, as [`IncidentKind::Other`], so an incident written by a
    /// newer function (a `deployment-regression`, a `cost-anomaly`) is read, listed and
    /// shown like any other. A well-formed kind is lowercase kebab-case: words of `a-z` and
    /// `0-9` joined by single hyphens, 1 to [`MAX_KIND_LEN`] characters. Every build accepts
    /// exactly this grammar, so whatever one build writes, every other one can read.
    {
        Saturation => "saturation",
        Performance => "performance",
        Availability => "availability",
        NewError => "new-error",
        ErrorSpike => "error-spike",
        DependencyFailure => "dependency-failure",
        BruteForce => "brute-force",
        CredentialStuffing => "credential-stuffing",
        /// A login succeeded right after a burst of failed ones, from a source of the burst
        /// or one the account's lock held against (login-guard).
        AccountTakeover => "account-takeover",
        /// One instance of a group runs hot while the group as a whole does not.
        HotInstance => "hot-instance",
        /// A deployment made its service worse (deploy-guard's regression verdict).
        DeployRegression => "deploy-regression",
        /// A metric is forecast to reach its alarm's threshold (capacity-forecast).
        CapacityForecast => "capacity-forecast",
    }
);

impl IncidentKind {
    /// The kind named exactly `name` (as stored, no normalizing): its variant when this
    /// build knows it, [`IncidentKind::Other`] when it is well-formed but unknown, and
    /// [`IncidentError::InvalidKind`] when it is not a kind at all.
    pub fn parse(name: &str) -> Result<Self, IncidentError> {
        if let Some(kind) = IncidentKind::known(name) {
            return Ok(kind);
        }
        match kind_problem(name) {
            None => Ok(IncidentKind::Other(OtherKind::new(name))),
            Some(reason) => Err(IncidentError::InvalidKind {
                value: truncate_chars(name, MAX_KIND_LEN + 12),
                reason,
            }),
        }
    }

    /// Whether this build has a variant for the kind.
    pub fn is_known(&self) -> bool {
        !matches!(self, IncidentKind::Other(_))
    }
}

/// Why `name` is not a well-formed kind, or `None` when it is.
fn kind_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Some(format!("{c:?} is not allowed"));
    }
    if name.len() > MAX_KIND_LEN {
        return Some(format!("it is {} characters long", name.len()));
    }
    if name.split('-').any(str::is_empty) {
        return Some("a hyphen must join two words".into());
    }
    None
}

/// The name of an [`IncidentKind::Other`]: a well-formed kind this build does not know.
/// Only [`IncidentKind::parse`] makes one. Held inline, so `IncidentKind` stays `Copy`.
#[derive(Clone, Copy)]
pub struct OtherKind {
    len: u8,
    bytes: [u8; MAX_KIND_LEN],
}

impl OtherKind {
    /// `name` must be well-formed (so ASCII and at most [`MAX_KIND_LEN`] bytes).
    fn new(name: &str) -> Self {
        let mut bytes = [0; MAX_KIND_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        OtherKind {
            len: name.len() as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII: only a well-formed kind is ever copied in.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl PartialEq for OtherKind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for OtherKind {}

impl std::hash::Hash for OtherKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for OtherKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OtherKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for OtherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for IncidentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a kind as typed (a command-line filter, a setting): trimmed and lowercased first,
/// then as [`IncidentKind::parse`]. A well-formed kind this build does not know is accepted.
impl FromStr for IncidentKind {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentKind::parse(&s.trim().to_ascii_lowercase()).map_err(|e| match e {
            IncidentError::InvalidKind { reason, .. } => IncidentError::InvalidKind {
                value: truncate_chars(s, MAX_KIND_LEN + 12),
                reason,
            },
            other => other,
        })
    }
}

impl Serialize for IncidentKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Reads a kind exactly as stored: any well-formed kind, known or not.
impl<'de> Deserialize<'de> for IncidentKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl serde::de::Visitor<'_> for KindVisitor {
            type Value = IncidentKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an incident kind (lowercase kebab-case)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IncidentKind, E> {
                IncidentKind::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

string_enum!(
    /// How urgent an incident is; ordered from most to least urgent.
    Severity, "severity", {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
        Info => "info",
    }
);

string_enum!(
    /// Where an incident is in its lifecycle.
    Status, "status", {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
);

impl Status {
    /// Open and acknowledged incidents still absorb new occurrences of their problem.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Resolved)
    }

    /// The status after `action`, or the reason the move is not allowed.
    pub fn after(self, action: Transition, id: &IncidentId) -> Result<Status, IncidentError> {
        let next = match (self, action) {
            (Status::Open, Transition::Acknowledge) => Status::Acknowledged,
            (Status::Open | Status::Acknowledged, Transition::Resolve) => Status::Resolved,
            _ => {
                return Err(IncidentError::InvalidTransition {
                    id: id.to_string(),
                    action: action.verb(),
                    status: self,
                });
            }
        };
        Ok(next)
    }
}

/// A change of status requested by a person or a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    Resolve,
}

impl Transition {
    pub fn verb(self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::Resolve => "resolve",
        }
    }
}

/// An incident title: non-empty, at most [`MAX_TITLE_CHARS`] characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    /// Rejects an empty or oversize title.
    pub fn new(s: impl Into<String>) -> Result<Self, IncidentError> {
        let s = one_line(&s.into());
        let len = s.chars().count();
        if s.trim().is_empty() {
            return Err(IncidentError::EmptyTitle);
        }
        if len > MAX_TITLE_CHARS {
            return Err(IncidentError::TitleTooLong { len });
        }
        Ok(Title(s))
    }

    /// Builds a title from text of any length (log lines, alarm names), cutting it to fit.
    pub fn truncated(s: &str) -> Self {
        let s = one_line(s);
        let s = if s.trim().is_empty() {
            "(untitled)".to_string()
        } else {
            s
        };
        Title(truncate_chars(&s, MAX_TITLE_CHARS))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Cuts `s` to at most `max` characters, ending with `…` when something was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let kept = crate::text::prefix_within(s, max.saturating_sub('…'.len_utf8()));
    format!("{kept}…")
}

/// One piece of evidence: what was seen, when, with structured detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub at: Timestamp,
    pub text: String,
    /// Structured detail (metric values, counts, samples); kept small.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Evidence {
    /// Evidence whose text and data together fit [`MAX_EVIDENCE_BYTES`]; data that does not
    /// fit is replaced by a note saying so.
    pub fn new(at: Timestamp, text: &str, data: serde_json::Value) -> Self {
        let text = truncate_bytes(text, MAX_EVIDENCE_BYTES / 2);
        let budget = MAX_EVIDENCE_BYTES.saturating_sub(text.len());
        let data = match serde_json::to_string(&data) {
            Ok(s) if s.len() <= budget => data,
            Ok(s) => {
                serde_json::json!({ "truncated": truncate_bytes(&s, budget.saturating_sub(32)) })
            }
            Err(_) => serde_json::Value::Null,
        };
        Evidence { at, text, data }
    }
}

/// One thing apptrack (or a person) did about an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    /// Who acted: a function name, `cli:<user>`, or `apptrack`.
    pub actor: String,
    /// A short verb phrase: `opened`, `scaled`, `acknowledged`, `resolved`, `locked` ...
    pub action: String,
    pub detail: String,
}

impl TimelineEntry {
    pub fn new(at: Timestamp, actor: &str, action: &str, detail: &str) -> Self {
        TimelineEntry {
            at,
            actor: truncate_chars(actor, 100),
            action: truncate_chars(action, 100),
            detail: truncate_chars(detail, MAX_TIMELINE_DETAIL_CHARS),
        }
    }
}

/// A report that a problem happened (again): what `raise` takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub dedup_key: DedupKey,
    pub kind: IncidentKind,
    pub severity: Severity,
    /// The function that saw it (`alarm-scaler`, `error-analyzer`, `login-guard`, ...).
    pub source: String,
    pub service: String,
    pub resource: String,
    pub title: Title,
    pub summary: String,
    pub at: Timestamp,
    /// How many occurrences this report stands for (at least 1).
    pub count: u64,
    pub evidence: Vec<Evidence>,
    /// A unique id of the triggering delivery (a log event id, an alarm transition); a
    /// report carrying an id already recorded changes nothing.
    pub idempotency_key: Option<String>,
    /// The problem's running total, reported instead of a count of this delivery's own:
    /// the incident counts what the total adds to the tally it has already taken in. Reports
    /// of one total are idempotent by themselves, in any order and from any number of
    /// concurrent writers, so a tallied report needs no idempotency key.
    pub tally: Option<Tally>,
}

/// A running total of a problem's occurrences since a counter started (`since`: a pattern
/// record's first sighting). Totals of one counter only grow; a new `since` is a new counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub since: Timestamp,
    pub total: u64,
}

impl Tally {
    /// The occurrences this total adds to an incident that has taken in `seen`: the
    /// difference on the same counter, everything on a new one.
    pub fn news_since(&self, seen: Option<&Tally>) -> u64 {
        match seen {
            Some(s) if s.since == self.since => self.total.saturating_sub(s.total),
            _ => self.total,
        }
    }
}

impl Occurrence {
    /// A single occurrence with no evidence; fill the rest with the struct update syntax.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dedup_key: DedupKey,
        kind: IncidentKind,
        severity: Severity,
        source: &str,
        service: &str,
        resource: &str,
        title: Title,
        at: Timestamp,
    ) -> Self {
        Occurrence {
            dedup_key,
            kind,
            severity,
            source: source.to_string(),
            service: service.to_string(),
            resource: resource.to_string(),
            title,
            summary: String::new(),
            at,
            count: 1,
            evidence: Vec::new(),
            idempotency_key: None,
            tally: None,
        }
    }

    /// The occurrences this report adds to an incident that has taken in `seen`: its
    /// tally's news, or its own count (at least 1).
    pub fn news(&self, seen: Option<&Tally>) -> u64 {
        match &self.tally {
            Some(t) => t.news_since(seen),
            None => self.count.max(1),
        }
    }
}

impl Occurrence {
    /// Checks what storage relies on: the names an index is keyed on are non-empty.
    pub fn validate(&self) -> Result<(), IncidentError> {
        for (name, value) in [
            ("source", &self.source),
            ("service", &self.service),
            ("resource", &self.resource),
        ] {
            if value.trim().is_empty() {
                return Err(IncidentError::EmptyField(name));
            }
        }
        Ok(())
    }
}

/// What `raise` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RaiseKind {
    /// A new incident: the problem had no active incident.
    Opened,
    /// A new incident for a problem whose last incident had been resolved.
    Regressed,
    /// Added to the active incident.
    Updated,
    /// The idempotency key was already recorded; nothing changed.
    Duplicate,
}

/// The result of `raise`: which incident, and how it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub id: IncidentId,
    pub kind: RaiseKind,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub dedup_key: DedupKey,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub status: Status,
    pub source: String,
    pub service: String,
    pub resource: String,
    pub title: Title,
    pub summary: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
    pub evidence: Vec<Evidence>,
    /// The resolved incident this one is a recurrence of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression_of: Option<IncidentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// When a resolved incident is deleted (DynamoDB TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Timeline entries that did not fit in [`MAX_TIMELINE`].
    #[serde(default)]
    pub timeline_dropped: u64,
    /// The running total taken in so far, for problems reported by tally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<Tally>,
}

impl Incident {
    /// The incident a first occurrence opens. A regression's count starts from what the
    /// tally adds to the resolved incident's (`previous`); `None` when it adds nothing, that
    /// is when the report is one the resolved incident has already taken in.
    pub fn reopen(
        id: IncidentId,
        occ: &Occurrence,
        regression_of: IncidentId,
        previous: Option<&Tally>,
    ) -> Option<Self> {
        let news = occ.news(previous);
        (news > 0).then(|| Incident {
            count: news,
            ..Incident::open(id, occ, Some(regression_of))
        })
    }

    /// The incident a first occurrence opens.
    pub fn open(id: IncidentId, occ: &Occurrence, regression_of: Option<IncidentId>) -> Self {
        Incident {
            id,
            dedup_key: occ.dedup_key.clone(),
            kind: occ.kind,
            severity: occ.severity,
            status: Status::Open,
            source: occ.source.clone(),
            service: occ.service.clone(),
            resource: occ.resource.clone(),
            title: occ.title.clone(),
            summary: truncate_chars(&occ.summary, MAX_SUMMARY_CHARS),
            first_seen: occ.at,
            last_seen: occ.at,
            count: occ.news(None).max(1),
            evidence: occ.evidence.iter().take(MAX_EVIDENCE).cloned().collect(),
            regression_of,
            acknowledged_at: None,
            resolved_at: None,
            expires_at: None,
            timeline_dropped: 0,
            tally: occ.tally,
        }
    }

    /// The timeline entry written when the incident opens.
    pub fn opening_entry(&self) -> TimelineEntry {
        let detail = match &self.regression_of {
            Some(prev) => format!("{} (regression of resolved incident {prev})", self.title),
            None => self.title.to_string(),
        };
        TimelineEntry::new(self.first_seen, &self.source, "opened", &detail)
    }

    pub fn is_regression(&self) -> bool {
        self.regression_of.is_some()
    }

    /// Whether a resolved incident's retention has run out at `now` (DynamoDB deletes
    /// expired items lazily, so readers must not show them).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Adds an occurrence to an active incident, as the store does atomically. `false`
    /// (and nothing changed) when it adds nothing: a tally the incident has taken in already.
    pub fn absorb(&mut self, occ: &Occurrence) -> bool {
        let news = occ.news(self.tally.as_ref());
        if news == 0 {
            return false;
        }
        // News means the report's tally is the later one.
        if occ.tally.is_some() {
            self.tally = occ.tally;
        }
        self.count = self.count.saturating_add(news);
        self.last_seen = self.last_seen.max(occ.at);
        self.first_seen = self.first_seen.min(occ.at);
        let room = MAX_EVIDENCE.saturating_sub(self.evidence.len());
        self.evidence
            .extend(occ.evidence.iter().take(room).cloned());
        true
    }
}

/// Appends to a bounded timeline: past [`MAX_TIMELINE`] the last slot is overwritten, so
/// the beginning and the latest entry are always kept. Returns whether an entry was dropped.
pub fn push_bounded(timeline: &mut Vec<TimelineEntry>, entry: TimelineEntry) -> bool {
    if timeline.len() < MAX_TIMELINE {
        timeline.push(entry);
        false
    } else {
        if let Some(last) = timeline.last_mut() {
            *last = entry;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn dedup_key_is_stable_and_distinct() {
        let a =
            DedupKey::new("error-analyzer", IncidentKind::NewError, "checkout", "ab12").unwrap();
        let b =
            DedupKey::new("error-analyzer", IncidentKind::NewError, "checkout", "ab12").unwrap();
        let c =
            DedupKey::new("error-analyzer", IncidentKind::NewError, "checkou", "tab12").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.as_str().starts_with("new-error-"));
    }

    #[test]
    fn dedup_key_refuses_empty_fingerprint() {
        let err = DedupKey::new("login-guard", IncidentKind::BruteForce, "alice", " ").unwrap_err();
        assert_eq!(err, IncidentError::EmptyKeyPart("fingerprint"));
        assert_eq!(err.to_string(), "dedup key needs a non-empty fingerprint");
    }

    #[test]
    fn ids_sort_by_time() {
        let early = IncidentId::new(at(1_000));
        let late = IncidentId::new(at(2_000));
        assert!(early < late);
        assert_eq!(early.as_str().len(), 26);
        assert_eq!(early.as_str().parse::<IncidentId>().unwrap(), early);
        assert!("nope".parse::<IncidentId>().is_err());
    }

    #[test]
    fn title_bounds() {
        assert!(Title::new("x".repeat(200)).is_ok());
        assert_eq!(
            Title::new("x".repeat(201)).unwrap_err(),
            IncidentError::TitleTooLong { len: 201 }
        );
        assert_eq!(Title::new("  ").unwrap_err(), IncidentError::EmptyTitle);
        assert_eq!(
            Title::truncated(&"é".repeat(500)).as_str().chars().count(),
            200
        );
        assert_eq!(Title::new("a\nb").unwrap().as_str(), "a b");
    }

    #[test]
    fn lifecycle_transitions() {
        let id = IncidentId::new(at(1));
        assert_eq!(
            Status::Open.after(Transition::Acknowledge, &id),
            Ok(Status::Acknowledged)
        );
        assert_eq!(
            Status::Acknowledged.after(Transition::Resolve, &id),
            Ok(Status::Resolved)
        );
        let err = Status::Resolved
            .after(Transition::Acknowledge, &id)
            .unwrap_err();
        assert!(err.to_string().contains("cannot acknowledge"), "{err}");
        assert!(
            Status::Acknowledged
                .after(Transition::Acknowledge, &id)
                .is_err()
        );
        assert_eq!("Resolved".parse::<Status>(), Ok(Status::Resolved));
        assert!(
            "closed"
                .parse::<Status>()
                .unwrap_err()
                .to_string()
                .contains("open acknowledged resolved")
        );
    }

    #[test]
    fn known_kinds_keep_their_names_and_round_trip() {
        let names: Vec<&str> = IncidentKind::KNOWN.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "saturation",
                "performance",
                "availability",
                "new-error",
                "error-spike",
                "dependency-failure",
                "brute-force",
                "credential-stuffing",
                "account-takeover",
                "hot-instance",
                "deploy-regression",
                "capacity-forecast",
            ]
        );
        for &kind in IncidentKind::KNOWN {
            assert!(kind.is_known());
            assert_eq!(IncidentKind::parse(kind.as_str()), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<IncidentKind>(&json).unwrap(), kind);
        }
        assert_eq!(
            " Brute-Force ".parse::<IncidentKind>(),
            Ok(IncidentKind::BruteForce)
        );
    }

    #[test]
    fn unknown_kinds_are_carried_unchanged() {
        let kind = IncidentKind::parse("deployment-regression").unwrap();
        assert!(!kind.is_known());
        assert!(matches!(kind, IncidentKind::Other(k) if k.as_str() == "deployment-regression"));
        assert_eq!(kind.to_string(), "deployment-regression");
        assert_eq!(format!("{kind:?}"), "Other(\"deployment-regression\")");
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, "\"deployment-regression\"");
        assert_eq!(serde_json::from_str::<IncidentKind>(&json).unwrap(), kind);
        assert_eq!("Cost-Anomaly".parse(), IncidentKind::parse("cost-anomaly"));
        // A known name is always its variant, never an `Other`.
        assert_eq!(
            IncidentKind::parse("saturation"),
            Ok(IncidentKind::Saturation)
        );
        let longest = "a".repeat(MAX_KIND_LEN);
        assert_eq!(IncidentKind::parse(&longest).unwrap().as_str(), longest);

        // Kinds still work as everywhere else: in dedup keys and in incidents read back.
        let key = DedupKey::new("deploy-guard", kind, "checkout", "v42").unwrap();
        assert!(key.as_str().starts_with("deployment-regression-"));
        let occ = Occurrence::new(
            key,
            kind,
            Severity::High,
            "deploy-guard",
            "checkout",
            "checkout",
            Title::truncated("p99 latency up 40 % after v42"),
            at(1),
        );
        let inc = Incident::open(IncidentId::new(at(1)), &occ, None);
        let back: Incident = serde_json::from_value(serde_json::to_value(&inc).unwrap()).unwrap();
        assert_eq!(back, inc);
        assert_eq!(back.kind.as_str(), "deployment-regression");
    }

    #[test]
    fn invalid_kinds_are_rejected_with_a_clear_error() {
        let cases = [
            ("", "it is empty"),
            ("Saturation", "'S' is not allowed"),
            ("new_error", "'_' is not allowed"),
            ("new error", "' ' is not allowed"),
            ("kind/x", "'/' is not allowed"),
            ("café", "'é' is not allowed"),
            ("-lead", "a hyphen must join two words"),
            ("trail-", "a hyphen must join two words"),
            ("two--hyphens", "a hyphen must join two words"),
            ("-", "a hyphen must join two words"),
        ];
        for (name, reason) in cases {
            assert_eq!(
                IncidentKind::parse(name),
                Err(IncidentError::InvalidKind {
                    value: name.to_string(),
                    reason: reason.to_string(),
                }),
                "{name:?}"
            );
        }
        let long = "a".repeat(MAX_KIND_LEN + 1);
        let err = IncidentKind::parse(&long).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid kind {long:?}: it is 49 characters long; a kind is lowercase \
                 kebab-case (words of a-z and 0-9 joined by single hyphens), 1 to 48 characters"
            )
        );
        // Typed input is trimmed and lowercased first; the error shows it as typed.
        let err = " new_error ".parse::<IncidentKind>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid kind \" new_error \": '_'"),
            "{err}"
        );
        // Reading a stored kind does not normalize: junk is an error there too.
        for stored in ["\"Saturation\"", "\"\"", "\"a--b\"", "42"] {
            let err = serde_json::from_str::<IncidentKind>(stored).unwrap_err();
            assert!(err.to_string().contains("kind"), "{stored}: {err}");
        }
        // A huge value is cut in the message.
        let err = IncidentKind::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
    }

    #[test]
    fn evidence_is_capped() {
        let e = Evidence::new(
            at(1),
            &"a".repeat(5_000),
            serde_json::json!({"s": "b".repeat(5_000)}),
        );
        let size = e.text.len() + serde_json::to_string(&e.data).unwrap().len();
        assert!(size <= MAX_EVIDENCE_BYTES + 64, "{size}");
    }

    #[test]
    fn timeline_keeps_first_and_latest() {
        let mut tl = Vec::new();
        for i in 0..(MAX_TIMELINE as i64 + 5) {
            push_bounded(
                &mut tl,
                TimelineEntry::new(at(i), "t", "step", &i.to_string()),
            );
        }
        assert_eq!(tl.len(), MAX_TIMELINE);
        assert_eq!(tl[0].detail, "0");
        assert_eq!(
            tl[MAX_TIMELINE - 1].detail,
            (MAX_TIMELINE as i64 + 4).to_string()
        );
    }

    proptest! {
        #[test]
        fn absorb_counts_every_occurrence(counts in proptest::collection::vec(1u64..1000, 1..20)) {
            let key = DedupKey::new("s", IncidentKind::ErrorSpike, "r", "f").unwrap();
            let occ = |c: u64, t: i64| Occurrence { count: c, ..Occurrence::new(
                key.clone(), IncidentKind::ErrorSpike, Severity::High, "s", "svc", "r",
                Title::truncated("t"), at(t)) };
            let mut inc = Incident::open(IncidentId::new(at(0)), &occ(counts[0], 0), None);
            for (i, c) in counts.iter().enumerate().skip(1) {
                inc.absorb(&occ(*c, i as i64));
            }
            prop_assert_eq!(inc.count, counts.iter().sum::<u64>());
            prop_assert!(inc.evidence.len() <= MAX_EVIDENCE);
        }

        #[test]
        fn any_well_formed_kind_round_trips(name in "[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,5}") {
            let kind = IncidentKind::parse(&name);
            if name.len() > MAX_KIND_LEN {
                prop_assert!(kind.is_err());
                return Ok(());
            }
            let kind = kind.unwrap();
            prop_assert_eq!(kind.as_str(), name.as_str());
            prop_assert_eq!(kind.to_string(), name.as_str());
            prop_assert_eq!(
                kind.is_known(),
                IncidentKind::KNOWN.iter().any(|k| k.as_str() == name)
            );
            prop_assert_eq!(name.to_ascii_uppercase().parse::<IncidentKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            prop_assert_eq!(serde_json::from_str::<IncidentKind>(&json).unwrap(), kind);
        }

        #[test]
        fn any_text_is_a_kind_unchanged_or_an_invalid_kind(s in "[a-zA-Z0-9 _é-]{0,60}") {
            match IncidentKind::parse(&s) {
                Ok(kind) => prop_assert_eq!(kind.as_str(), s.as_str()),
                Err(e) => prop_assert!(matches!(e, IncidentError::InvalidKind { .. }), "{e}"),
            }
        }

        #[test]
        fn kinds_order_and_compare_by_name(a in "[a-z]{1,6}(-[a-z]{1,6})?", b in "[a-z]{1,6}(-[a-z]{1,6})?") {
            let (ka, kb) = (IncidentKind::parse(&a).unwrap(), IncidentKind::parse(&b).unwrap());
            prop_assert_eq!(ka == kb, a == b);
            if let (IncidentKind::Other(x), IncidentKind::Other(y)) = (ka, kb) {
                prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            }
        }

        #[test]
        fn any_text_makes_a_valid_title(s in ".*") {
            let t = Title::truncated(&s);
            prop_assert!(Title::new(t.as_str()).is_ok());
        }
    }
}
