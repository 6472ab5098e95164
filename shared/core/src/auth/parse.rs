//! Turning one log line into a [`LoginAttempt`]: JSON logs with configurable field names,
//! sshd/PAM lines, and one operator-supplied regex, tried in that order.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::attempt::{
    AccountCase, LoginAttempt, Outcome, clean_user_agent, normalize_account, parse_source,
};
use super::sshd;
use crate::clock::Timestamp;
use crate::settings::{self, SettingsError};

const DEFAULT_ACCOUNT_FIELDS: &[&str] = &[
    "user",
    "username",
    "user_name",
    "userName",
    "account",
    "email",
    "user_id",
    "login",
    "user.name",
    "userIdentity.userName",
];
const DEFAULT_SOURCE_FIELDS: &[&str] = &[
    "ip",
    "source_ip",
    "client_ip",
    "remote_addr",
    "remote_ip",
    "sourceIPAddress",
    "source.ip",
    "client.ip",
];
/// Order is priority: the first field holding a known word decides, so a specific field
/// (`event: login_failed`) beats a generic one that may describe something else.
const DEFAULT_OUTCOME_FIELDS: &[&str] = &[
    "event",
    "action",
    "outcome",
    "result",
    "status",
    "success",
    "event.outcome",
    "responseElements.ConsoleLogin",
];
const DEFAULT_USER_AGENT_FIELDS: &[&str] = &[
    "user_agent",
    "userAgent",
    "http_user_agent",
    "user_agent.original",
];
const DEFAULT_FAILURE_WORDS: &[&str] = &[
    "login_failed",
    "failed_login",
    "login_failure",
    "login_fail",
    "failure",
    "fail",
    "failed",
    "denied",
    "access_denied",
    "rejected",
    "invalid_password",
    "invalid_credentials",
    "bad_password",
    "wrong_password",
    "bad_credentials",
    "authentication_failed",
    "authentication_failure",
    "auth_failed",
    "auth_failure",
    "unauthorized",
];
const DEFAULT_SUCCESS_WORDS: &[&str] = &[
    "success",
    "succeeded",
    "successful",
    "login_success",
    "login_succeeded",
    "login_successful",
    "logged_in",
    "authenticated",
    "accepted",
    "allowed",
    "granted",
    "ok",
];
/// Keys looked for inside an account field that holds an object (`{"user": {"name": ..}}`).
const NESTED_ACCOUNT_KEYS: &[&str] = &["name", "username", "email", "login", "id"];

/// An operator's regex for one custom log format.
///
/// Named groups: `account` (required), `ip`, `outcome`, `user_agent` (optional). Without
/// an `outcome` group every match is a failure, as with a fail2ban `failregex`; with one,
/// its text is mapped through the success/failure word lists and an unknown word means
/// the line is not an attempt.
#[derive(Debug, Clone)]
pub struct CustomPattern {
    regex: Regex,
    has_outcome: bool,
    has_ip: bool,
    has_user_agent: bool,
}

impl CustomPattern {
    /// The error's text says what is wrong; the caller names the setting.
    pub fn new(pattern: &str) -> Result<Self, String> {
        // Bounded so an operator's pattern cannot make a cold start compile for seconds.
        let regex = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| e.to_string())?;
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        if !names.contains(&"account") {
            return Err("the regex needs a named group `account`: (?P<account>...)".to_owned());
        }
        Ok(Self {
            has_outcome: names.contains(&"outcome"),
            has_ip: names.contains(&"ip"),
            has_user_agent: names.contains(&"user_agent"),
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

impl PartialEq for CustomPattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// What the parser recognizes and how it normalizes accounts.
///
/// Field names are JSON keys; a dotted name (`user.name`) is tried first as a literal key
/// (ECS-style flattened logs) and then as a path into nested objects.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthParserConfig {
    pub account_fields: Vec<String>,
    pub source_fields: Vec<String>,
    pub outcome_fields: Vec<String>,
    pub user_agent_fields: Vec<String>,
    pub success_words: Vec<String>,
    pub failure_words: Vec<String>,
    pub custom: Option<CustomPattern>,
    pub account_case: AccountCase,
    /// Count `pam_unix(sshd:auth)` failures too (see the sshd module: off by default
    /// because sshd logs its own `Failed password` line for the same attempt).
    pub count_sshd_pam: bool,
}

impl Default for AuthParserConfig {
    fn default() -> Self {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Self {
            account_fields: own(DEFAULT_ACCOUNT_FIELDS),
            source_fields: own(DEFAULT_SOURCE_FIELDS),
            outcome_fields: own(DEFAULT_OUTCOME_FIELDS),
            user_agent_fields: own(DEFAULT_USER_AGENT_FIELDS),
            success_words: own(DEFAULT_SUCCESS_WORDS),
            failure_words: own(DEFAULT_FAILURE_WORDS),
            custom: None,
            account_case: AccountCase::default(),
            count_sshd_pam: false,
        }
    }
}

impl AuthParserConfig {
    pub const ACCOUNT_FIELDS_VAR: &'static str = "APPTRACK_AUTH_ACCOUNT_FIELDS";
    pub const SOURCE_FIELDS_VAR: &'static str = "APPTRACK_AUTH_SOURCE_FIELDS";
    pub const OUTCOME_FIELDS_VAR: &'static str = "APPTRACK_AUTH_OUTCOME_FIELDS";
    pub const USER_AGENT_FIELDS_VAR: &'static str = "APPTRACK_AUTH_USER_AGENT_FIELDS";
    pub const SUCCESS_WORDS_VAR: &'static str = "APPTRACK_AUTH_SUCCESS_WORDS";
    pub const FAILURE_WORDS_VAR: &'static str = "APPTRACK_AUTH_FAILURE_WORDS";
    pub const REGEX_VAR: &'static str = "APPTRACK_AUTH_REGEX";
    pub const ACCOUNT_CASE_VAR: &'static str = "APPTRACK_AUTH_ACCOUNT_CASE";
    pub const COUNT_SSHD_PAM_VAR: &'static str = "APPTRACK_AUTH_COUNT_SSHD_PAM";

    /// Reads the parser settings; unset or blank variables keep the defaults. A list
    /// replaces the default list (it does not add to it), so the operator sees exactly
    /// which fields are read.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let d = Self::default();
        let or_default = |name, default: &Vec<String>| -> Result<Vec<String>, SettingsError> {
            let defaults: Vec<&str> = default.iter().map(String::as_str).collect();
            settings::list(get, name, &defaults)
        };
        let custom = match settings::lookup(get, Self::REGEX_VAR) {
            Some(raw) => Some(
                CustomPattern::new(&raw)
                    .map_err(|reason| SettingsError::invalid(Self::REGEX_VAR, &raw, reason))?,
            ),
            None => None,
        };
        let account_case = match settings::lookup(get, Self::ACCOUNT_CASE_VAR) {
            Some(raw) => AccountCase::parse(&raw).ok_or_else(|| {
                SettingsError::invalid(
                    Self::ACCOUNT_CASE_VAR,
                    &raw,
                    "expected preserve, lower-emails or lower",
                )
            })?,
            None => d.account_case,
        };
        let count_sshd_pam = match settings::lookup(get, Self::COUNT_SSHD_PAM_VAR) {
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(SettingsError::invalid(
                        Self::COUNT_SSHD_PAM_VAR,
                        &raw,
                        "expected true or false",
                    ));
                }
            },
            None => d.count_sshd_pam,
        };
        Ok(Self {
            account_fields: or_default(Self::ACCOUNT_FIELDS_VAR, &d.account_fields)?,
            source_fields: or_default(Self::SOURCE_FIELDS_VAR, &d.source_fields)?,
            outcome_fields: or_default(Self::OUTCOME_FIELDS_VAR, &d.outcome_fields)?,
            user_agent_fields: or_default(Self::USER_AGENT_FIELDS_VAR, &d.user_agent_fields)?,
            success_words: or_default(Self::SUCCESS_WORDS_VAR, &d.success_words)?,
            failure_words: or_default(Self::FAILURE_WORDS_VAR, &d.failure_words)?,
            custom,
            account_case,
            count_sshd_pam,
        })
    }
}

/// A field name split once at start-up: the literal key and its path segments.
#[derive(Debug, Clone)]
struct FieldPath {
    literal: String,
    segments: Vec<String>,
}

impl FieldPath {
    fn new(name: &str) -> Self {
        Self {
            literal: name.to_owned(),
            segments: name.split('.').map(str::to_owned).collect(),
        }
    }

    fn lookup<'v>(&self, obj: &'v Map<String, Value>) -> Option<&'v Value> {
        if let Some(v) = obj.get(&self.literal) {
            return Some(v);
        }
        if self.segments.len() < 2 {
            return None;
        }
        let (last, parents) = self.segments.split_last()?;
        let mut cur = obj;
        for seg in parents {
            cur = cur.get(seg)?.as_object()?;
        }
        cur.get(last)
    }
}

/// A ready-to-use parser built once per cold start from an [`AuthParserConfig`].
#[derive(Debug, Clone)]
pub struct AuthParser {
    account: Vec<FieldPath>,
    source: Vec<FieldPath>,
    outcome: Vec<FieldPath>,
    user_agent: Vec<FieldPath>,
    words: HashMap<String, Outcome>,
    custom: Option<CustomPattern>,
    account_case: AccountCase,
    count_sshd_pam: bool,
}

impl Default for AuthParser {
    fn default() -> Self {
        Self::new(AuthParserConfig::default())
    }
}

/// Fields recognized before normalization.
struct Raw<'a> {
    account: Cow<'a, str>,
    source: Option<std::net::IpAddr>,
    user_agent: Option<Cow<'a, str>>,
    outcome: Outcome,
}

impl AuthParser {
    pub fn new(config: AuthParserConfig) -> Self {
        let paths = |l: &[String]| l.iter().map(|s| FieldPath::new(s)).collect();
        let mut words = HashMap::new();
        // Failure words win a clash: a word an operator listed as both is more safely
        // counted than ignored.
        for w in &config.success_words {
            words.insert(word_key(w), Outcome::Success);
        }
        for w in &config.failure_words {
            words.insert(word_key(w), Outcome::Failure);
        }
        Self {
            account: paths(&config.account_fields),
            source: paths(&config.source_fields),
            outcome: paths(&config.outcome_fields),
            user_agent: paths(&config.user_agent_fields),
            words,
            custom: config.custom,
            account_case: config.account_case,
            count_sshd_pam: config.count_sshd_pam,
        }
    }

    /// Recognizes a login attempt in one log event's message; `None` when the line is not
    /// one (the caller counts those). Never panics, whatever the input.
    pub fn parse(&self, message: &str, event_id: &str, at: Timestamp) -> Option<LoginAttempt> {
        let raw = self
            .json(message)
            .or_else(|| self.sshd(message))
            .or_else(|| self.custom(message))?;
        Some(LoginAttempt {
            account: normalize_account(&raw.account, self.account_case)?,
            source: raw.source,
            user_agent: raw.user_agent.as_deref().and_then(clean_user_agent),
            outcome: raw.outcome,
            at,
            event_id: event_id.to_owned(),
        })
    }

    /// Maps an outcome word (`Login-Failed`, `login failed`, `LOGIN_FAILED`) to an outcome.
    pub fn classify(&self, word: &str) -> Option<Outcome> {
        self.words.get(&word_key(word)).copied()
    }

    fn json<'a>(&self, line: &'a str) -> Option<Raw<'a>> {
        // JSON may follow a prefix (Lambda's `time\trequest-id\tLEVEL\t{...}`).
        let start = line.find('{')?;
        let body = line[start..].trim_end();
        if !body.ends_with('}') {
            return None;
        }
        let value: Value = serde_json::from_str(body).ok()?;
        let obj = value.as_object()?;
        let outcome = self.outcome.iter().find_map(|p| match p.lookup(obj)? {
            Value::String(s) => self.classify(s),
            Value::Bool(true) => Some(Outcome::Success),
            Value::Bool(false) => Some(Outcome::Failure),
            _ => None,
        })?;
        let account = self
            .account
            .iter()
            .find_map(|p| account_text(p.lookup(obj)?))?;
        let source = self
            .source
            .iter()
            .find_map(|p| p.lookup(obj)?.as_str().and_then(parse_source));
        let user_agent = self
            .user_agent
            .iter()
            .find_map(|p| p.lookup(obj)?.as_str().map(str::to_owned));
        Some(Raw {
            account: Cow::Owned(account),
            source,
            user_agent: user_agent.map(Cow::Owned),
            outcome,
        })
    }

    fn sshd<'a>(&self, line: &'a str) -> Option<Raw<'a>> {
        let l = sshd::parse(line, self.count_sshd_pam)?;
        Some(Raw {
            account: Cow::Borrowed(l.account),
            source: l.source,
            user_agent: None,
            outcome: l.outcome,
        })
    }

    fn custom<'a>(&self, line: &'a str) -> Option<Raw<'a>> {
        let p = self.custom.as_ref()?;
        let caps = p.regex.captures(line)?;
        let outcome = if p.has_outcome {
            self.classify(caps.name("outcome")?.as_str())?
        } else {
            Outcome::Failure
        };
        Some(Raw {
            account: Cow::Borrowed(caps.name("account")?.as_str()),
            source: if p.has_ip {
                caps.name("ip").and_then(|m| parse_source(m.as_str()))
            } else {
                None
            },
            user_agent: if p.has_user_agent {
                caps.name("user_agent").map(|m| Cow::Borrowed(m.as_str()))
            } else {
                None
            },
            outcome,
        })
    }
}

/// Lowercase, with `-`, ` ` and `.` read as `_`, so `Login-Failed` matches `login_failed`.
fn word_key(word: &str) -> String {
    word.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// An account from a JSON value: a string, a number (`user_id: 42`), or one level of
/// object (`{"user": {"name": "bob"}}`).
fn account_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => NESTED_ACCOUNT_KEYS.iter().find_map(|k| match o.get(*k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::IpAddr;

    const T0: Timestamp = Timestamp::from_millis(1_732_416_613_000);

    fn parse(line: &str) -> Option<LoginAttempt> {
        AuthParser::default().parse(line, "37d1c5b6a1a1e5d3c2b1", T0)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("test address"))
    }

    #[test]
    fn json_login_failed_with_email_ip_and_user_agent() {
        let a = parse(r#"{"level":"warn","time":"2024-11-24T02:50:13Z","event":"login_failed","email":" Alice@Example.COM ","ip":"203.0.113.9","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","reason":"bad password"}"#)
            .expect("recognized");
        assert_eq!(
            a,
            LoginAttempt {
                account: "alice@example.com".to_owned(),
                source: ip("203.0.113.9"),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
                outcome: Outcome::Failure,
                at: T0,
                event_id: "37d1c5b6a1a1e5d3c2b1".to_owned(),
            }
        );
    }

    #[test]
    fn json_outcome_words_in_their_many_spellings() {
        for (word, outcome) in [
            ("login_failed", Outcome::Failure),
            ("failed_login", Outcome::Failure),
            ("Failure", Outcome::Failure),
            ("fail", Outcome::Failure),
            ("DENIED", Outcome::Failure),
            ("invalid-password", Outcome::Failure),
            ("success", Outcome::Success),
            ("login_success", Outcome::Success),
            ("Succeeded", Outcome::Success),
            ("ok", Outcome::Success),
        ] {
            let line =
                format!(r#"{{"action":"{word}","username":"bob","source_ip":"198.51.100.4"}}"#);
            assert_eq!(parse(&line).map(|a| a.outcome), Some(outcome), "{word}");
        }
    }

    #[test]
    fn json_first_outcome_field_with_a_known_word_decides() {
        let a = parse(r#"{"event":"user_login","outcome":"failure","user":"bob"}"#)
            .expect("outcome field");
        assert_eq!(a.outcome, Outcome::Failure);
        let a =
            parse(r#"{"event":"login_failed","status":"ok","user":"bob"}"#).expect("event field");
        assert_eq!(a.outcome, Outcome::Failure);
        let a = parse(r#"{"success":false,"user_id":4211,"client_ip":"198.51.100.4:60311"}"#)
            .expect("bool");
        assert_eq!(
            (a.outcome, a.account.as_str(), a.source),
            (Outcome::Failure, "4211", ip("198.51.100.4"))
        );
    }

    #[test]
    fn json_nested_and_flattened_fields() {
        // ECS, nested.
        let a = parse(r#"{"@timestamp":"2024-11-24T02:50:13Z","event":{"action":"user_login","outcome":"failure"},"user":{"name":"svc-deploy"},"source":{"ip":"2001:db8::9"},"user_agent":{"original":"okhttp/4.12"}}"#)
            .expect("ecs nested");
        assert_eq!(
            (a.account.as_str(), a.source, a.user_agent.as_deref()),
            ("svc-deploy", ip("2001:db8::9"), Some("okhttp/4.12"))
        );
        // ECS, flattened.
        let a = parse(
            r#"{"event.outcome":"success","user.name":"svc-deploy","source.ip":"192.0.2.8"}"#,
        )
        .expect("flat");
        assert_eq!((a.outcome, a.source), (Outcome::Success, ip("192.0.2.8")));
        // CloudTrail console sign-in.
        let a = parse(r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"ops-admin"},"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.23","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"}}"#)
            .expect("cloudtrail");
        assert_eq!(
            (a.account.as_str(), a.outcome, a.source),
            ("ops-admin", Outcome::Failure, ip("198.51.100.23"))
        );
    }

    #[test]
    fn json_behind_a_lambda_prefix() {
        let line = "2024-11-24T02:50:13.123Z\t6f1c2a8e-3b7d-4c1e-9f0a-1b2c3d4e5f60\tINFO\t{\"event\":\"login_failed\",\"login\":\"mallory\",\"remote_addr\":\"203.0.113.5\"}";
        assert_eq!(parse(line).map(|a| a.account), Some("mallory".to_owned()));
    }

    #[test]
    fn json_bad_ip_is_no_source_and_missing_parts_are_no_attempt() {
        let a = parse(r#"{"event":"login_failed","user":"bob","ip":"not-an-ip"}"#)
            .expect("still an attempt");
        assert_eq!(a.source, None);
        assert_eq!(
            parse(r#"{"event":"login_failed","ip":"203.0.113.9"}"#),
            None,
            "no account"
        );
        assert_eq!(
            parse(r#"{"event":"login_failed","user":"   "}"#),
            None,
            "blank account"
        );
        assert_eq!(
            parse(r#"{"event":"order_created","user":"bob"}"#),
            None,
            "not a login"
        );
        assert_eq!(
            parse(r#"{"msg":"GET /health 200","user":"bob"}"#),
            None,
            "no outcome"
        );
        assert_eq!(
            parse(r#"{"event":"login_failed","user":"bob""#),
            None,
            "truncated"
        );
        assert_eq!(parse(r#"[1,2,3]"#), None);
    }

    #[test]
    fn sshd_lines_through_the_parser() {
        let a = parse("Nov 24 02:50:13 ip-10-0-1-17 sshd[4123]: Failed password for invalid user oracle from 198.51.100.23 port 40022 ssh2")
            .expect("sshd");
        assert_eq!(
            (a.account.as_str(), a.outcome, a.source, a.user_agent),
            ("oracle", Outcome::Failure, ip("198.51.100.23"), None)
        );
        let a = parse("Nov 24 03:01:44 ip-10-0-1-17 sshd[5120]: Accepted publickey for ec2-user from 198.51.100.4 port 60122 ssh2: ED25519 SHA256:q1w2e3")
            .expect("sshd accepted");
        assert_eq!(a.outcome, Outcome::Success);
        assert_eq!(
            parse("Invalid user  from 192.0.2.14 port 33490"),
            None,
            "empty user name"
        );
    }

    #[test]
    fn custom_regex_with_and_without_outcome_group() {
        let pattern = r#"^\S+ auth\[\d+\]: (?P<outcome>\w+) login for (?P<account>\S+) from (?P<ip>\S+) agent="(?P<user_agent>[^"]*)""#;
        let p = AuthParser::new(AuthParserConfig {
            custom: Some(CustomPattern::new(pattern).expect("valid regex")),
            ..AuthParserConfig::default()
        });
        let a = p
            .parse(r#"gw-2 auth[77]: REJECTED login for Dave from 203.0.113.44 agent="python-requests/2.31""#, "e", T0)
            .expect("custom");
        assert_eq!(
            (
                a.account.as_str(),
                a.outcome,
                a.source,
                a.user_agent.as_deref()
            ),
            (
                "Dave",
                Outcome::Failure,
                ip("203.0.113.44"),
                Some("python-requests/2.31")
            )
        );
        assert_eq!(
            p.parse(
                r#"gw-2 auth[77]: MAYBE login for Dave from 203.0.113.44 agent="x""#,
                "e",
                T0
            ),
            None,
            "unknown word"
        );

        let pattern = r"authentication failure for '(?P<account>[^']+)'";
        let p = AuthParser::new(AuthParserConfig {
            custom: Some(CustomPattern::new(pattern).expect("valid regex")),
            ..AuthParserConfig::default()
        });
        let a = p
            .parse("vault: authentication failure for 'approle-ci'", "e", T0)
            .expect("failregex");
        assert_eq!((a.outcome, a.source), (Outcome::Failure, None));
    }

    #[test]
    fn custom_regex_must_name_an_account_group() {
        assert!(CustomPattern::new(r"from (?P<ip>\S+)").is_err());
        assert!(CustomPattern::new(r"(?P<account>").is_err());
    }

    #[test]
    fn unrelated_lines_are_not_attempts() {
        for line in [
            "",
            "START RequestId: 6f1c2a8e-3b7d-4c1e-9f0a-1b2c3d4e5f60 Version: $LATEST",
            "REPORT RequestId: 6f1c2a8e Duration: 12.3 ms Billed Duration: 13 ms",
            "Nov 24 02:50:14 h systemd[1]: Started Session 42 of user alice.",
            "{}",
            "{",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    const SAMPLES: &[&str] = &[
        r#"{"event":"login_failed","email":"a@b.c","ip":"203.0.113.9","user_agent":"x"}"#,
        r#"{"event":{"outcome":"failure"},"user":{"name":"n"},"source":{"ip":"::1"}}"#,
        "Nov 24 02:50:13 h sshd[1]: Failed password for invalid user x from 203.0.113.9 port 1 ssh2",
        "sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=r",
        "Nov 24 02:51:00 h sshd[4123]: message repeated 3 times: [ Failed password for root from 203.0.113.9 port 52811 ssh2]",
    ];

    proptest! {
        #[test]
        fn parsing_any_string_never_panics(line in ".{0,300}") {
            let config = AuthParserConfig {
                count_sshd_pam: true,
                custom: CustomPattern::new(r"(?P<outcome>\w+) (?P<account>\S+) (?P<ip>\S+)").ok(),
                ..AuthParserConfig::default()
            };
            let _ = AuthParser::new(config).parse(&line, "e", T0);
        }

        #[test]
        fn mangled_real_lines_never_panic(
            which in 0..SAMPLES.len(),
            cut in 0usize..200,
            insert in "[\\{}\"\\[\\]: \u{0}-\u{1f}\u{80}-\u{10ffff}]{0,8}",
        ) {
            let base = SAMPLES[which];
            let at = crate::text::prefix_within(base, cut).len();
            let line = format!("{}{}{}", &base[..at], insert, &base[at..]);
            if let Some(a) = AuthParser::default().parse(&line, "e", T0) {
                prop_assert!(!a.account.is_empty());
                prop_assert!(a.account.chars().count() <= crate::auth::MAX_ACCOUNT_CHARS);
                prop_assert!(!a.account.chars().any(char::is_control));
            }
        }
    }
}
