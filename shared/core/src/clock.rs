//! Points in time and the clock that supplies them.
//! Domain code takes a `Timestamp` as an argument and never reads the system time itself.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC.
///
/// Stored in DynamoDB as a fixed-width RFC 3339 string (`2026-11-24T02:50:13.123Z`) so that
/// lexical order is time order and a plain `aws dynamodb query` can use `BETWEEN` on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Timestamp(i64);

/// A string that is not an RFC 3339 time, or a time outside the supported range.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid timestamp {value:?}: {reason}")]
pub struct TimestampError {
    pub value: String,
    pub reason: String,
}

// Years 0000..=9999 keep the RFC 3339 form fixed-width, which the sort keys rely on.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from epoch milliseconds, clamped to years 0000..=9999.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(if ms < MIN_MS {
            MIN_MS
        } else if ms > MAX_MS {
            MAX_MS
        } else {
            ms
        })
    }

    /// `ms` milliseconds later (earlier when negative), saturating: event times in
    /// CloudWatch Logs are epoch milliseconds, and offsets between them are too.
    pub fn plus_millis(self, ms: i64) -> Self {
        Self::from_millis(self.0.saturating_add(ms))
    }

    pub fn from_secs(secs: i64) -> Self {
        Self::from_millis(secs.saturating_mul(1000))
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self::from_millis(self.0.saturating_add(ms))
    }

    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self::from_millis(self.0.saturating_sub(ms))
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Fixed-width RFC 3339 with milliseconds and `Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            // Unreachable for clamped values; keep a sortable answer rather than panic.
            Err(_) => "0000-01-01T00:00:00.000Z".to_string(),
        }
    }

    /// Parses any RFC 3339 time (offsets allowed), or plain epoch milliseconds.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let trimmed = s.trim();
        if let Ok(ms) = trimmed.parse::<i64>() {
            return Ok(Self::from_millis(ms));
        }
        let t = OffsetDateTime::parse(trimmed, &Rfc3339).map_err(|e| TimestampError {
            value: s.to_string(),
            reason: e.to_string(),
        })?;
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Self::from_millis)
            .map_err(|_| TimestampError {
                value: s.to_string(),
                reason: "out of range".to_string(),
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_rfc3339()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Timestamp::parse(&s)
    }
}

/// Where "now" comes from: the system in production, a hand-set value in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}

/// A clock that only moves when told to; shared safely between tasks.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(AtomicI64::new(at.as_millis()))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.as_millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_fixed_width_utc() {
        let t = Timestamp::from_millis(1_795_920_613_123);
        assert_eq!(t.to_rfc3339(), "2026-11-29T02:50:13.123Z");
        assert_eq!(Timestamp::parse("2026-11-29T02:50:13.123Z"), Ok(t));
    }

    #[test]
    fn parses_offsets_and_millis() {
        let a = Timestamp::parse("2026-11-24T03:00:00+01:00").unwrap();
        let b = Timestamp::parse("2026-11-24T02:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(Timestamp::parse("1000").unwrap().as_millis(), 1000);
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp::from_secs(10));
        assert_eq!(c.now(), Timestamp::from_secs(10));
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), Timestamp::from_secs(15));
    }

    proptest! {
        #[test]
        fn text_order_is_time_order(a in MIN_MS..MAX_MS, b in MIN_MS..MAX_MS) {
            let (ta, tb) = (Timestamp::from_millis(a), Timestamp::from_millis(b));
            prop_assert_eq!(ta.cmp(&tb), ta.to_rfc3339().cmp(&tb.to_rfc3339()));
            prop_assert_eq!(Timestamp::parse(&ta.to_rfc3339()), Ok(ta));
        }
    }
}
