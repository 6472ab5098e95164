//! The small HTML vocabulary the views share: escaping, ages, severity colours, a page shell.
//! Escaping is the one rule: everything that comes from data goes through [`escape`].

use std::fmt::Write as _;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::incident::Severity;

/// Text made safe for an HTML element or a quoted attribute: `& < > " '` become entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How long ago `then` was at `now`, in the two largest units: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    duration(now.since(then))
}

/// A duration in the two largest units (`45s`, `12m`, `3h 05m`, `2d 4h`).
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// The colour a severity is drawn in (the same in the widget and the report).
pub fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b0002f",
        Severity::High => "#d45b07",
        Severity::Medium => "#b38600",
        Severity::Low => "#2a6ebb",
        Severity::Info => "#687078",
    }
}

/// A severity as a coloured badge.
pub fn severity_badge(s: Severity) -> String {
    format!(
        "<span class=\"sev\" style=\"background:{}\">{}</span>",
        severity_colour(s),
        s.as_str()
    )
}

/// The style every view shares; small, inline, no fonts or images to fetch.
pub const STYLE: &str = "\
.apptrack{font:13px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#16191f}\
.apptrack table{border-collapse:collapse;width:100%}\
.apptrack th,.apptrack td{text-align:left;padding:3px 6px;border-bottom:1px solid #e9ebed;vertical-align:top}\
.apptrack th{font-weight:600;color:#414d5c;white-space:nowrap}\
.apptrack .sev{color:#fff;border-radius:3px;padding:0 5px;font-size:11px;text-transform:uppercase}\
.apptrack .num{text-align:right;font-variant-numeric:tabular-nums}\
.apptrack .muted{color:#5f6b7a}.apptrack .nw{white-space:nowrap}\
.apptrack cwdb-action{display:none}\
.apptrack .empty{padding:16px;color:#5f6b7a}\
.apptrack code{font:12px Menlo,Consolas,monospace;background:#f4f4f4;padding:0 3px}\
.apptrack ol.timeline{margin:4px 0;padding-left:20px}\
.apptrack h1{font-size:18px;margin:8px 0}.apptrack h2{font-size:15px;margin:14px 0 6px}";

/// A whole page: the shared style and `body`, nothing fetched from elsewhere.
pub fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + 256);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body><div class=\"apptrack\">{body}</div></body></html>",
        escape(title)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> it's"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; it&#39;s"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn ages_use_two_units() {
        let now = Timestamp::from_secs(1_000_000);
        let ago = |s: u64| age(now, now.saturating_sub(Duration::from_secs(s)));
        assert_eq!(ago(5), "5s");
        assert_eq!(ago(125), "2m");
        assert_eq!(ago(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(ago(2 * 86_400 + 4 * 3600 + 7), "2d 4h");
        // A clock behind the incident's time reads as no age, not a panic.
        assert_eq!(age(now, now.saturating_add(Duration::from_secs(60))), "0s");
    }
}
