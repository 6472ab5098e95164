//! The message a notice becomes: the body is AWS's custom chat notification (`version`,
//! `source`, `content`, `metadata` with `threadId` = the incident id, so a chat channel
//! threads an incident's open, updates and resolve), plus an SNS `Subject` and message
//! attributes that subscribers filter on with SNS filter policies.

use serde_json::{Value, json};

use super::{Change, Notice};
use crate::incident::Incident;

/// SNS's limit on a subject is 100 ASCII characters, without line breaks.
const MAX_SUBJECT: usize = 99;
const MAX_DESCRIPTION_CHARS: usize = 3_000;

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub subject: String,
    /// The custom notification, as JSON text.
    pub body: String,
    /// Message attributes, each a String: `notification_id`, `change`, `kind`, `severity`,
    /// `service`, `status`, `incident_id`.
    pub attributes: Vec<(&'static str, String)>,
    /// The notice's id: what a subscriber dedupes on (also `id` in the body).
    pub id: String,
    /// The incident id: FIFO topics group by it, chat channels thread on it.
    pub thread: String,
}

fn headline(change: Change) -> &'static str {
    match change {
        Change::Opened => "New",
        Change::Regression => "Regression",
        Change::SeverityRaised => "Escalated",
        Change::Acknowledged => "Acknowledged",
        Change::Resolved => "Resolved",
        Change::Updated => "Update",
        Change::Reminder => "Still open",
        Change::SilenceEnded => "Silence ended",
    }
}

/// An SNS subject: printable ASCII only (others become `?`), one line, within the limit.
fn subject(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\n' | '\r' | '\t' => ' ',
            _ => '?',
        })
        .collect();
    if out.len() > MAX_SUBJECT {
        out.truncate(MAX_SUBJECT - 3);
        out.push_str("...");
    }
    out
}

fn next_steps(notice: &Notice) -> Vec<String> {
    let id = &notice.incident.id;
    let mut steps = vec![format!("apptrack incidents show {id}")];
    match notice.change {
        Change::Resolved => {}
        Change::Acknowledged => steps.push(format!("apptrack incidents resolve {id}")),
        _ => {
            steps.push(format!("apptrack incidents ack {id}"));
            steps.push(format!(
                "apptrack silence add --service {} --kind {} --for 2h --note \"...\"",
                notice.incident.service, notice.incident.kind
            ));
        }
    }
    steps
}

fn description(notice: &Notice) -> String {
    let inc = &notice.incident;
    let mut text = format!(
        "*{}* {} on `{}` ({}): {}.\nCount {}, first seen {}, last seen {}.",
        inc.severity,
        inc.kind,
        inc.service,
        inc.resource,
        notice.detail,
        inc.count,
        inc.first_seen,
        inc.last_seen
    );
    if !inc.summary.is_empty() {
        text.push_str("\n\n");
        text.push_str(&inc.summary);
    }
    crate::incident::truncate_chars(&text, MAX_DESCRIPTION_CHARS)
}

fn attributes(notice: &Notice, inc: &Incident, id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("notification_id", id.to_owned()),
        ("change", notice.change.as_str().to_owned()),
        ("kind", inc.kind.to_string()),
        ("severity", inc.severity.to_string()),
        ("service", inc.service.clone()),
        ("status", inc.status.to_string()),
        ("incident_id", inc.id.to_string()),
    ]
    .into_iter()
    // SNS refuses an attribute with an empty value.
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

/// The message of `notice`, to `topic`.
pub fn render(notice: &Notice, topic: &str) -> Message {
    let inc = &notice.incident;
    let id = notice.id();
    let title = format!(
        "{} [{}] {}: {}",
        headline(notice.change),
        inc.severity,
        inc.service,
        inc.title
    );
    let body: Value = json!({
        "version": "1.0",
        "source": "custom",
        "id": id,
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description(notice),
            "nextSteps": next_steps(notice),
            "keywords": [inc.severity.as_str(), inc.kind.as_str(), inc.service, notice.change.as_str()],
        },
        "metadata": {
            "threadId": inc.id.as_str(),
            "summary": title,
            "eventType": notice.change.as_str(),
            "relatedResources": [inc.resource],
            "additionalContext": {
                "incident_id": inc.id.as_str(),
                "kind": inc.kind.as_str(),
                "severity": inc.severity.as_str(),
                "status": inc.status.as_str(),
                "service": inc.service,
                "count": inc.count.to_string(),
                "at": notice.at.to_rfc3339(),
            },
        },
    });
    Message {
        topic: topic.to_owned(),
        subject: subject(&title),
        body: body.to_string(),
        attributes: attributes(notice, inc, &id),
        thread: inc.id.to_string(),
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_one_line_of_ascii_within_snss_limit() {
        let s = subject("Nouveau [critical] caf\u{e9}: line\nbreak");
        assert_eq!(s, "Nouveau [critical] caf?: line break");
        let long = subject(&"x".repeat(300));
        assert_eq!(long.len(), MAX_SUBJECT);
        assert!(long.ends_with("..."));
    }
}
