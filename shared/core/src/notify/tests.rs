use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::incident::{DedupKey, IncidentId, IncidentKind, Occurrence, Title};

fn t(min: i64) -> Timestamp {
    Timestamp::parse("2026-11-18T10:00:00Z")
        .expect("time")
        .plus_millis(min * 60_000)
}

fn incident(severity: Severity) -> Incident {
    let occ = Occurrence::new(
        DedupKey::new("error-analyzer", IncidentKind::NewError, "checkout", "abc").expect("key"),
        IncidentKind::NewError,
        severity,
        "error-analyzer",
        "checkout",
        "/aws/lambda/checkout",
        Title::new("New error: payment <*> declined").expect("title"),
        t(0),
    );
    Incident::open(IncidentId::new(t(0)), &occ, None)
}

fn policy() -> NotifyPolicy {
    NotifyPolicy::default()
}

#[test]
fn a_new_incident_notifies_once_under_a_stable_id() {
    let new = incident(Severity::High);
    let n = from_change(None, &new, t(0), &policy()).expect("notice");
    assert_eq!(n.change, Change::Opened);
    assert_eq!(n.id(), format!("{}:opened", new.id));
    let again = from_change(None, &new, t(3), &policy()).expect("notice");
    assert_eq!(again.id(), n.id(), "a redelivery names the same notice");
}

#[test]
fn a_regression_says_which_incident_it_repeats() {
    let mut new = incident(Severity::High);
    new.regression_of = Some(IncidentId::new(t(-100)));
    let n = from_change(None, &new, t(0), &policy()).expect("notice");
    assert_eq!(n.change, Change::Regression);
    assert!(n.detail.contains("again after"), "{}", n.detail);
}

#[test]
fn each_transition_is_its_own_notice() {
    let old = incident(Severity::High);
    let mut raised = old.clone();
    raised.severity = Severity::Critical;
    let n = from_change(Some(&old), &raised, t(1), &policy()).expect("escalated");
    assert_eq!(n.change, Change::SeverityRaised);
    assert!(n.id().ends_with(":severity-raised:critical"), "{}", n.id());

    let mut acked = old.clone();
    acked.status = Status::Acknowledged;
    let n = from_change(Some(&old), &acked, t(2), &policy()).expect("acked");
    assert_eq!(n.change, Change::Acknowledged);

    let mut resolved = acked.clone();
    resolved.status = Status::Resolved;
    let n = from_change(Some(&acked), &resolved, t(3), &policy()).expect("resolved");
    assert_eq!(n.change, Change::Resolved);
    assert_eq!(n.id(), format!("{}:resolved", old.id));
    assert_eq!(
        from_change(Some(&resolved), &resolved, t(4), &policy()),
        None,
        "a write to a resolved incident tells nothing"
    );
}

#[test]
fn count_updates_share_one_notice_per_group_interval() {
    let old = incident(Severity::Medium);
    let mut more = old.clone();
    more.count = 5;
    let a = from_change(Some(&old), &more, t(1), &policy()).expect("update");
    let mut even_more = more.clone();
    even_more.count = 9;
    let b = from_change(Some(&more), &even_more, t(3), &policy()).expect("update");
    let c = from_change(Some(&more), &even_more, t(6), &policy()).expect("update");
    assert_eq!(a.change, Change::Updated);
    assert_eq!(a.id(), b.id(), "minutes 1 and 3 are one 5-minute group");
    assert_ne!(b.id(), c.id(), "minute 6 is the next group");
    assert_eq!(
        from_change(Some(&more), &more, t(7), &policy()),
        None,
        "a timeline note alone is no news"
    );
}

#[test]
fn below_the_minimum_severity_nothing_is_told() {
    let quiet = NotifyPolicy {
        min_severity: Severity::High,
        ..policy()
    };
    let low = incident(Severity::Low);
    assert_eq!(from_change(None, &low, t(0), &quiet), None);
    let mut resolved = low.clone();
    resolved.status = Status::Resolved;
    assert_eq!(from_change(Some(&low), &resolved, t(1), &quiet), None);
    let mut raised = low.clone();
    raised.severity = Severity::Critical;
    let n = from_change(Some(&low), &raised, t(1), &quiet).expect("now urgent enough");
    assert_eq!(n.change, Change::SeverityRaised);
}

#[test]
fn reminders_are_numbered_by_repeat_intervals_and_stop_when_acknowledged() {
    let inc = incident(Severity::High);
    assert_eq!(reminder(&inc, t(239), &policy()), None);
    let first = reminder(&inc, t(240), &policy()).expect("after 4 h");
    let same = reminder(&inc, t(300), &policy()).expect("still the first");
    assert_eq!(first.id(), same.id());
    assert!(first.detail.contains("4h"), "{}", first.detail);
    let second = reminder(&inc, t(480), &policy()).expect("after 8 h");
    assert_ne!(first.id(), second.id());
    let mut acked = inc.clone();
    acked.status = Status::Acknowledged;
    assert_eq!(reminder(&acked, t(480), &policy()), None);
}

fn silence(service: &str, kind: Option<IncidentKind>, from: i64, minutes: u64) -> Silence {
    Silence::new(
        format!("S{from}"),
        service,
        kind,
        Duration::from_secs(minutes * 60),
        "deploy window",
        "ops@example.com",
        t(from),
    )
    .expect("silence")
}

#[test]
fn a_silence_holds_its_service_and_kind_only() {
    let inc = incident(Severity::High);
    assert!(silence("checkout", None, -5, 60).holds(&inc, t(0)));
    assert!(silence("checkout", Some(IncidentKind::NewError), -5, 60).holds(&inc, t(0)));
    assert!(!silence("checkout", Some(IncidentKind::ErrorSpike), -5, 60).holds(&inc, t(0)));
    assert!(!silence("billing", None, -5, 60).holds(&inc, t(0)));
    assert!(!silence("checkout", None, -5, 60).holds(&inc, t(55)));
}

#[test]
fn the_end_of_a_silence_tells_what_it_held_once() {
    let inc = incident(Severity::High);
    let ended = silence("checkout", None, -5, 30);
    assert_eq!(
        silence_ended(&inc, &ended, std::slice::from_ref(&ended), t(10), &policy()),
        None,
        "still running"
    );
    let n =
        silence_ended(&inc, &ended, std::slice::from_ref(&ended), t(26), &policy()).expect("ended");
    assert_eq!(n.change, Change::SilenceEnded);
    assert!(n.id().ends_with(":silence-ended:S-5"), "{}", n.id());
    let longer = silence("checkout", None, 20, 60);
    assert_eq!(
        silence_ended(&inc, &ended, &[ended.clone(), longer], t(26), &policy()),
        None,
        "another silence still holds it"
    );
    let mut later = inc.clone();
    later.first_seen = t(40);
    assert_eq!(
        silence_ended(
            &later,
            &ended,
            std::slice::from_ref(&ended),
            t(41),
            &policy()
        ),
        None,
        "it opened after the silence; it was told then"
    );
}

#[test]
fn a_silence_is_bounded_and_names_a_service() {
    let new = |service: &str, minutes: u64| {
        Silence::new(
            "S".into(),
            service,
            None,
            Duration::from_secs(minutes * 60),
            "",
            "",
            t(0),
        )
    };
    assert_eq!(new(" ", 60), Err(SilenceError::NoService));
    assert!(matches!(new("checkout", 0), Err(SilenceError::Duration(_))));
    assert!(matches!(
        new("checkout", 8 * 1440),
        Err(SilenceError::Duration(_))
    ));
    assert!(new("checkout", 7 * 1440).is_ok());
}

#[test]
fn the_message_is_a_custom_chat_notification_threaded_by_incident() {
    let inc = incident(Severity::Critical);
    let n = from_change(None, &inc, t(0), &policy()).expect("notice");
    let m = render(&n, "arn:aws:sns:us-east-1:123456789012:apptrack");
    let body: Value = serde_json::from_str(&m.body).expect("json");
    assert_eq!(body["version"], "1.0");
    assert_eq!(body["source"], "custom");
    assert_eq!(body["id"], n.id());
    assert_eq!(body["metadata"]["threadId"], inc.id.as_str());
    assert!(
        body["content"]["title"]
            .as_str()
            .expect("title")
            .starts_with("New [critical] checkout: New error")
    );
    assert!(
        body["content"]["nextSteps"][0]
            .as_str()
            .expect("step")
            .contains("apptrack incidents show")
    );
    let attr = |name: &str| {
        m.attributes
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attr("severity").as_deref(), Some("critical"));
    assert_eq!(attr("kind").as_deref(), Some("new-error"));
    assert_eq!(attr("service").as_deref(), Some("checkout"));
    assert_eq!(attr("status").as_deref(), Some("open"));
    assert_eq!(attr("change").as_deref(), Some("opened"));
    assert_eq!(attr("notification_id"), Some(n.id()));
    assert!(m.subject.is_ascii() && m.subject.len() < 100);
}
