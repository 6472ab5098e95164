//! The incidents widget: the list of incidents being worked on, newest first, and one
//! incident's details (the popup a row opens). HTML fragments for a CloudWatch dashboard.

use std::fmt::Write as _;

use super::html::{age, escape, severity_badge};
use super::series;
use crate::clock::Timestamp;
use crate::incident::{Incident, Status, TimelineEntry, truncate_chars};
use crate::store::Listed;

/// How the list is drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardOptions {
    /// The widget function's ARN: each row then opens its details in a popup.
    pub endpoint: Option<String>,
    /// More incidents exist than the list shows.
    pub more: bool,
}

/// What apptrack (or a person) did about an incident, beyond opening it: its latest two
/// timeline entries, oldest first, as `action: detail`.
pub fn actions_taken(timeline: &[TimelineEntry]) -> Vec<String> {
    let done: Vec<&TimelineEntry> = timeline.iter().filter(|e| e.action != "opened").collect();
    done.iter()
        .skip(done.len().saturating_sub(2))
        .map(|e| {
            let what = if e.detail.is_empty() {
                e.action.clone()
            } else {
                format!("{}: {}", e.action, e.detail)
            };
            truncate_chars(&what, 140)
        })
        .collect()
}

/// The command that shows an incident in a terminal.
pub fn cli_command(inc: &Incident) -> String {
    format!("apptrack incidents show {}", inc.id)
}

/// The list: newest first, every field escaped; a sentence instead of an empty table.
pub fn render_board(items: &[Listed], now: Timestamp, opts: &BoardOptions) -> String {
    let mut rows: Vec<&Listed> = items.iter().collect();
    rows.sort_by(|a, b| {
        (b.incident.first_seen, &b.incident.id).cmp(&(a.incident.first_seen, &a.incident.id))
    });
    let mut out = String::with_capacity(512 + rows.len() * 900);
    let _ = write!(
        out,
        "<style>{}</style><div class=\"apptrack\">",
        super::html::STYLE
    );
    if rows.is_empty() {
        out.push_str(
            "<p class=\"empty\">No open incidents. apptrack is watching: new ones appear here, \
             newest first.</p></div>",
        );
        return out;
    }
    let acknowledged = rows
        .iter()
        .filter(|l| l.incident.status == Status::Acknowledged)
        .count();
    let _ = write!(
        out,
        "<p class=\"muted\">{} incident{} ({} open, {acknowledged} acknowledged){}, as of {}</p>",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        rows.len() - acknowledged,
        if opts.more {
            "; the newest shown, more exist"
        } else {
            ""
        },
        escape(&now.to_rfc3339()),
    );
    out.push_str(
        "<table><tr><th>Severity</th><th>Kind</th><th>Service</th><th>Title</th>\
         <th>Age</th><th class=\"num\">Count</th><th>What apptrack did</th><th>Details</th></tr>",
    );
    for l in rows {
        row(&mut out, l, now, opts);
    }
    out.push_str("</table></div>");
    out
}

fn row(out: &mut String, l: &Listed, now: Timestamp, opts: &BoardOptions) {
    let inc = &l.incident;
    let mut marks = String::new();
    if inc.status == Status::Acknowledged {
        marks.push_str(" <span class=\"muted\">(acknowledged)</span>");
    }
    if inc.is_regression() {
        marks.push_str(" <span class=\"muted\">(regression)</span>");
    }
    let did = actions_taken(&l.timeline);
    let did = if did.is_empty() {
        "<span class=\"muted\">recorded</span>".to_string()
    } else {
        did.iter()
            .map(|d| escape(d))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let _ = write!(
        out,
        "<tr><td>{}</td><td class=\"nw\">{}</td><td>{}</td><td title=\"{}\">{}{marks}</td>\
         <td class=\"nw\" title=\"first seen {}, last seen {}\">{}</td><td class=\"num\">{}</td><td>{did}</td><td>",
        severity_badge(inc.severity),
        escape(inc.kind.as_str()),
        escape(&inc.service),
        escape(&truncate_chars(&inc.summary, 300)),
        escape(inc.title.as_str()),
        inc.first_seen,
        inc.last_seen,
        age(now, inc.first_seen),
        inc.count,
    );
    if let Some(arn) = &opts.endpoint {
        // The popup calls this function again with the incident's id (a ULID: no markup).
        let _ = write!(
            out,
            "<a class=\"btn\">details</a><cwdb-action action=\"call\" display=\"popup\" \
             endpoint=\"{}\">{{\"incident\": \"{}\"}}</cwdb-action><br>",
            escape(arn),
            inc.id
        );
    }
    let _ = write!(out, "<code>{}</code></td></tr>", escape(&cli_command(inc)));
}

/// One incident: its fields, its numbers over time, its evidence and its timeline.
pub fn render_detail(inc: &Incident, timeline: &[TimelineEntry], now: Timestamp) -> String {
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<style>{}</style><div class=\"apptrack\"><h1>{} {}</h1><table>",
        super::html::STYLE,
        severity_badge(inc.severity),
        escape(inc.title.as_str())
    );
    let regression = inc
        .regression_of
        .as_ref()
        .map(|p| format!("yes, of resolved incident {p}"));
    let fields: [(&str, Option<String>); 11] = [
        ("id", Some(inc.id.to_string())),
        ("status", Some(inc.status.to_string())),
        ("kind", Some(inc.kind.to_string())),
        ("service", Some(inc.service.clone())),
        ("resource", Some(inc.resource.clone())),
        ("source", Some(inc.source.clone())),
        ("count", Some(inc.count.to_string())),
        (
            "first seen",
            Some(format!(
                "{} ({} ago)",
                inc.first_seen,
                age(now, inc.first_seen)
            )),
        ),
        (
            "last seen",
            Some(format!(
                "{} ({} ago)",
                inc.last_seen,
                age(now, inc.last_seen)
            )),
        ),
        ("regression", regression),
        ("in a terminal", Some(cli_command(inc))),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            let _ = write!(out, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
        }
    }
    out.push_str("</table>");
    if !inc.summary.is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(&inc.summary));
    }
    if let Some(s) = series::of_incident(inc) {
        let (lo, hi) = s.range().unwrap_or((0.0, 0.0));
        let _ = write!(
            out,
            "<h2>{}</h2>{}<div class=\"muted\">{} points, {} to {}{}</div>",
            escape(&s.label),
            series::svg(&s, 360, 60),
            s.points.len(),
            series::number(lo),
            series::number(hi),
            s.threshold
                .map(|t| format!(", threshold {}", series::number(t)))
                .unwrap_or_default()
        );
    }
    if !inc.evidence.is_empty() {
        out.push_str("<h2>Evidence</h2><ul>");
        for e in &inc.evidence {
            let _ = write!(
                out,
                "<li><span class=\"muted\">{}</span> {}</li>",
                e.at,
                escape(&e.text)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2>Timeline</h2><ol class=\"timeline\">");
    for e in timeline {
        let _ = write!(
            out,
            "<li><span class=\"muted\">{}</span> <b>{}</b> {} <span class=\"muted\">({})</span></li>",
            e.at,
            escape(&e.action),
            escape(&e.detail),
            escape(&e.actor)
        );
    }
    out.push_str("</ol>");
    if inc.timeline_dropped > 0 {
        let _ = write!(
            out,
            "<p class=\"muted\">{} later entries replaced the last one kept.</p>",
            inc.timeline_dropped
        );
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{DedupKey, IncidentId, IncidentKind, Occurrence, Severity, Title};
    use std::time::Duration;

    pub(crate) fn listed(title: &str, at: i64, kind: IncidentKind) -> Listed {
        let t = Timestamp::from_secs(at);
        let key = DedupKey::new("error-analyzer", kind, "checkout", title).unwrap();
        let occ = Occurrence {
            summary: "summary <b>bold</b>".into(),
            ..Occurrence::new(
                key,
                kind,
                Severity::High,
                "error-analyzer",
                "checkout",
                "/aws/lambda/checkout",
                Title::truncated(title),
                t,
            )
        };
        let incident = Incident::open(IncidentId::new(t), &occ, None);
        let timeline = vec![
            incident.opening_entry(),
            TimelineEntry::new(t, "alarm-scaler", "scaled", "web-asg 4 -> 8"),
        ];
        Listed { incident, timeline }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn lists_newest_first_with_what_apptrack_did() {
        let items = vec![
            listed("older", NOW - 7200, IncidentKind::NewError),
            listed("newer", NOW - 60, IncidentKind::ErrorSpike),
        ];
        let html = render_board(&items, Timestamp::from_secs(NOW), &BoardOptions::default());
        let (newer, older) = (html.find("newer").unwrap(), html.find("older").unwrap());
        assert!(newer < older, "{html}");
        assert!(html.contains("scaled: web-asg 4 -&gt; 8"), "{html}");
        assert!(html.contains("2 incidents (2 open, 0 acknowledged)"));
        assert!(html.contains(">1m<") && html.contains(">2h 00m<"), "{html}");
        assert!(html.contains("apptrack incidents show "));
        assert!(!html.contains("<cwdb-action"), "no endpoint, no popup");
    }

    #[test]
    fn escapes_everything_it_prints() {
        let mut item = listed("<script>alert(1)</script>", NOW - 5, IncidentKind::NewError);
        item.incident.service = "svc\"><img src=x>".into();
        item.timeline.push(TimelineEntry::new(
            Timestamp::from_secs(NOW),
            "cli:<me>",
            "noted",
            "<iframe>",
        ));
        let html = render_board(
            std::slice::from_ref(&item),
            Timestamp::from_secs(NOW),
            &BoardOptions {
                endpoint: Some("arn:aws:lambda:r:1:function:w".into()),
                more: true,
            },
        );
        for raw in ["<script>", "<img", "<iframe>", "<b>bold"] {
            assert!(!html.contains(raw), "{raw} in {html}");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<cwdb-action") && html.contains("more exist"));
        let detail = render_detail(&item.incident, &item.timeline, Timestamp::from_secs(NOW));
        for raw in ["<script>", "<img", "<iframe>", "<b>bold"] {
            assert!(!detail.contains(raw), "{raw} in {detail}");
        }
        assert!(detail.contains("<ol class=\"timeline\">") && detail.contains("noted"));
    }

    #[test]
    fn says_so_when_nothing_is_open() {
        let html = render_board(&[], Timestamp::from_secs(NOW), &BoardOptions::default());
        assert!(html.contains("No open incidents"));
        assert!(!html.contains("<table>"));
    }

    #[test]
    fn keeps_the_latest_two_actions() {
        let t = Timestamp::from_secs(NOW);
        let tl: Vec<TimelineEntry> = ["opened", "scaled", "noted", "resolved"]
            .iter()
            .map(|a| TimelineEntry::new(t.saturating_add(Duration::from_secs(1)), "x", a, ""))
            .collect();
        assert_eq!(actions_taken(&tl), ["noted", "resolved"]);
        assert!(actions_taken(&tl[..1]).is_empty());
    }
}
