//! The weekly review page: incidents per day by kind, mean time to resolve, and the table of
//! every incident in the range. One self-contained HTML file (inline CSS and SVG).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::html::{duration, escape, page, severity_badge};
use crate::clock::Timestamp;
use crate::incident::{Incident, Status};

const DAY_MS: i64 = 86_400_000;
/// Kinds get these colours in order of first appearance (then repeat).
const PALETTE: [&str; 8] = [
    "#0972d3", "#d45b07", "#037f0c", "#8456ce", "#b0002f", "#00819c", "#b38600", "#687078",
];

/// The first-seen range a report covers, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// How long an incident took to resolve; `None` while it is not resolved.
pub fn time_to_resolve(inc: &Incident) -> Option<Duration> {
    (inc.status == Status::Resolved)
        .then_some(inc.resolved_at)
        .flatten()
        .map(|r| r.since(inc.first_seen))
}

/// The mean of the resolved incidents' times to resolve; `None` when none is resolved.
pub fn mean_time_to_resolve<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
) -> Option<Duration> {
    let times: Vec<Duration> = incidents.into_iter().filter_map(time_to_resolve).collect();
    let n = u32::try_from(times.len()).ok().filter(|n| *n > 0)?;
    Some(times.iter().sum::<Duration>() / n)
}

/// The UTC day a time falls in, as `YYYY-MM-DD`.
fn day(t: Timestamp) -> String {
    let mut s = t.to_rfc3339();
    s.truncate(10);
    s
}

/// The days of the range, oldest first (a range inside one day is that day).
fn days(range: ReportRange) -> Vec<Timestamp> {
    let first = range.from.as_millis().div_euclid(DAY_MS) * DAY_MS;
    let last = range
        .to
        .as_millis()
        .saturating_sub(1)
        .max(range.from.as_millis());
    (0..)
        .map(|i| first + i * DAY_MS)
        .take_while(|d| *d <= last)
        .take(366)
        .map(Timestamp::from_millis)
        .collect()
}

/// The report page for `incidents` (those first seen in `range`; others are left out).
pub fn render_report(incidents: &[Incident], range: ReportRange, now: Timestamp) -> String {
    let mut shown: Vec<&Incident> = incidents
        .iter()
        .filter(|i| range.from <= i.first_seen && i.first_seen < range.to)
        .collect();
    shown.sort_by(|a, b| (b.first_seen, &b.id).cmp(&(a.first_seen, &a.id)));
    let title = format!(
        "apptrack incidents, {} to {}",
        day(range.from),
        day(range.to.plus_millis(-1))
    );
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p class=\"muted\">From {} to {}, made {}.</p>",
        escape(&title),
        range.from,
        range.to,
        now
    );
    if shown.is_empty() {
        body.push_str("<p class=\"empty\">No incidents in this period.</p>");
        return page(&title, &body);
    }
    let resolved = shown
        .iter()
        .filter(|i| i.status == Status::Resolved)
        .count();
    let mttr = mean_time_to_resolve(shown.iter().copied());
    let _ = write!(
        body,
        "<p>{} incidents: {} still open or acknowledged, {resolved} resolved; mean time to \
         resolve {}.</p>",
        shown.len(),
        shown.len() - resolved,
        mttr.map(duration)
            .unwrap_or_else(|| "not yet known (none resolved)".into())
    );

    let mut colour: BTreeMap<&str, &str> = BTreeMap::new();
    for i in shown.iter().rev() {
        let next = PALETTE[colour.len() % PALETTE.len()];
        colour.entry(i.kind.as_str()).or_insert(next);
    }
    body.push_str("<h2>Incidents per day, by kind</h2>");
    body.push_str(&per_day_chart(&shown, range, &colour));
    body.push_str("<div>");
    for (kind, c) in &colour {
        let _ = write!(
            body,
            "<span style=\"display:inline-block;margin-right:12px\"><span style=\"display:inline-block;\
             width:10px;height:10px;background:{c}\"></span> {}</span>",
            escape(kind)
        );
    }
    body.push_str("</div>");

    body.push_str("<h2>Mean time to resolve, by kind</h2>");
    body.push_str(&mttr_table(&shown));

    body.push_str(
        "<h2>Every incident</h2><table><tr><th>First seen</th><th>Severity</th><th>Kind</th>\
         <th>Service</th><th>Title</th><th>Status</th><th class=\"num\">Count</th>\
         <th>Resolved in</th><th>Id</th></tr>",
    );
    for i in &shown {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            i.first_seen,
            severity_badge(i.severity),
            escape(i.kind.as_str()),
            escape(&i.service),
            escape(i.title.as_str()),
            i.status,
            i.count,
            time_to_resolve(i).map(duration).unwrap_or_default(),
            i.id
        );
    }
    body.push_str("</table>");
    page(&title, &body)
}

/// Stacked bars: one per day, a segment per kind.
fn per_day_chart(shown: &[&Incident], range: ReportRange, colour: &BTreeMap<&str, &str>) -> String {
    let days = days(range);
    let mut counts: BTreeMap<(String, &str), u32> = BTreeMap::new();
    for i in shown {
        *counts
            .entry((day(i.first_seen), i.kind.as_str()))
            .or_default() += 1;
    }
    let totals: Vec<u32> = days
        .iter()
        .map(|d| {
            let d = day(*d);
            counts
                .iter()
                .filter(|((k, _), _)| *k == d)
                .map(|(_, n)| n)
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let (bar, gap, h, top) = (36u32, 10u32, 140u32, 16u32);
    let width = (bar + gap) * u32::try_from(days.len()).unwrap_or(1) + gap;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\">\
         <title>incidents per day by kind</title>",
        h + top + 18
    );
    for (n, d) in days.iter().enumerate() {
        let x = gap + (bar + gap) * u32::try_from(n).unwrap_or(0);
        let label = day(*d);
        let mut y = top + h;
        for (kind, c) in colour {
            let count = counts.get(&(label.clone(), *kind)).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let seg = (count * h).div_ceil(max);
            y -= seg;
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{seg}\" fill=\"{c}\">\
                 <title>{label} {}: {count}</title></rect>",
                escape(kind)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5f6b7a\">{}</text>",
            x + bar / 2,
            y.saturating_sub(3),
            totals[n],
            x + bar / 2,
            top + h + 14,
            &label[5..]
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Mean time to resolve per kind, with a bar to compare them.
fn mttr_table(shown: &[&Incident]) -> String {
    let mut by_kind: BTreeMap<&str, Vec<&Incident>> = BTreeMap::new();
    for i in shown {
        by_kind.entry(i.kind.as_str()).or_default().push(i);
    }
    let rows: Vec<(&str, usize, usize, Option<Duration>)> = by_kind
        .iter()
        .map(|(k, v)| {
            let resolved = v.iter().filter(|i| time_to_resolve(i).is_some()).count();
            (
                *k,
                v.len(),
                resolved,
                mean_time_to_resolve(v.iter().copied()),
            )
        })
        .collect();
    let longest = rows
        .iter()
        .filter_map(|r| r.3)
        .max()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        .max(1.0);
    let mut out = String::from(
        "<table><tr><th>Kind</th><th class=\"num\">Incidents</th><th class=\"num\">Resolved</th>\
         <th>Mean time to resolve</th><th></th></tr>",
    );
    for (kind, n, resolved, mttr) in rows {
        let bar = mttr
            .map(|d| {
                let w = (d.as_secs_f64() / longest * 160.0).round().max(1.0);
                format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"162\" height=\"10\">\
                     <rect width=\"{w}\" height=\"10\" fill=\"#0972d3\"/></svg>"
                )
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{resolved}</td><td>{}</td>\
             <td>{bar}</td></tr>",
            escape(kind),
            mttr.map(duration).unwrap_or_else(|| "none resolved".into())
        );
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{DedupKey, IncidentId, IncidentKind, Occurrence, Severity, Title};

    const DAY: i64 = 86_400;
    const T0: i64 = 1_795_046_400; // 2026-11-19T00:00:00Z

    fn incident(title: &str, kind: IncidentKind, at: i64, resolved_after: Option<i64>) -> Incident {
        let t = Timestamp::from_secs(at);
        let key = DedupKey::new("s", kind, "r", title).unwrap();
        let occ = Occurrence::new(
            key,
            kind,
            Severity::Medium,
            "s",
            "checkout",
            "r",
            Title::truncated(title),
            t,
        );
        let mut inc = Incident::open(IncidentId::new(t), &occ, None);
        if let Some(after) = resolved_after {
            inc.status = Status::Resolved;
            inc.resolved_at = Some(Timestamp::from_secs(at + after));
        }
        inc
    }

    fn week() -> ReportRange {
        ReportRange {
            from: Timestamp::from_secs(T0),
            to: Timestamp::from_secs(T0 + 7 * DAY),
        }
    }

    #[test]
    fn counts_per_day_and_means_the_resolve_times() {
        let incidents = vec![
            incident("a", IncidentKind::NewError, T0 + 60, Some(600)),
            incident("b", IncidentKind::NewError, T0 + 120, Some(1800)),
            incident("c", IncidentKind::BruteForce, T0 + DAY + 5, None),
            incident("outside", IncidentKind::BruteForce, T0 + 8 * DAY, None),
        ];
        assert_eq!(
            mean_time_to_resolve(&incidents),
            Some(Duration::from_secs(1200))
        );
        let html = render_report(&incidents, week(), Timestamp::from_secs(T0 + 7 * DAY));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            html.contains("3 incidents: 1 still open or acknowledged, 2 resolved"),
            "{html}"
        );
        assert!(html.contains("mean time to resolve 20m"), "{html}");
        assert!(html.contains("2026-11-19 new-error: 2"), "{html}");
        assert!(html.contains("2026-11-20 brute-force: 1"), "{html}");
        assert!(!html.contains("outside"));
        // Seven days, seven bars' labels.
        assert_eq!(html.matches("fill=\"#5f6b7a\">11-").count(), 7, "{html}");
        // Nothing fetched from elsewhere.
        for remote in ["src=", "href=", "@import", "url("] {
            assert!(!html.contains(remote), "{remote}");
        }
    }

    #[test]
    fn escapes_titles_and_says_when_empty() {
        let inc = incident("<script>x</script>", IncidentKind::NewError, T0 + 1, None);
        let html = render_report(&[inc], week(), Timestamp::from_secs(T0));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;x"));
        assert!(html.contains("not yet known (none resolved)"));
        let empty = render_report(&[], week(), Timestamp::from_secs(T0));
        assert!(empty.contains("No incidents in this period."));
    }
}
