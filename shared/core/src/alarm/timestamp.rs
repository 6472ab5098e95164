//! Converts the timestamps found in alarm events to epoch milliseconds and back.
//! EventBridge writes RFC 3339 (`...Z`); alarm states and reasonData write `+0000` offsets.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp, also accepting CloudWatch's offsets without a
/// colon (`2026-11-24T02:00:00.000+0000`) and stray spaces some forwarders insert.
/// Returns `None` for anything else: callers decide whether that is an error.
pub fn parse_epoch_ms(raw: &str) -> Option<i64> {
    let mut s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    // `+0000` → `+00:00`: RFC 3339 requires the colon, CloudWatch omits it.
    let bytes = s.as_bytes();
    if bytes.len() > 5 {
        let tail = &bytes[bytes.len() - 5..];
        if (tail[0] == b'+' || tail[0] == b'-') && tail[1..].iter().all(u8::is_ascii_digit) {
            s.insert(s.len() - 2, ':');
        }
    }
    let parsed = OffsetDateTime::parse(&s, &Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Formats epoch milliseconds as RFC 3339 UTC for human text; falls back to the
/// raw number when it is outside the representable range.
pub fn format_epoch_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("epoch-ms {ms}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_eventbridge_and_cloudwatch_forms() {
        assert_eq!(
            parse_epoch_ms("2026-11-24T02:00:00Z"),
            Some(1_795_485_600_000)
        );
        assert_eq!(
            parse_epoch_ms("2026-11-24T02:00:00.123+0000"),
            Some(1_795_485_600_123)
        );
        assert_eq!(
            parse_epoch_ms("2026-11-24T03:00:00.123+01:00"),
            Some(1_795_485_600_123)
        );
        assert_eq!(
            parse_epoch_ms("2023-08-04T12: 36: 15.490+0000"),
            parse_epoch_ms("2023-08-04T12:36:15.490Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "+0000",
            "1795485600",
        ] {
            assert_eq!(parse_epoch_ms(s), None, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_epoch_ms(1_795_485_600_000), "2026-11-24T02:00:00Z");
        assert!(format_epoch_ms(i64::MAX).starts_with("epoch-ms"));
    }
}
