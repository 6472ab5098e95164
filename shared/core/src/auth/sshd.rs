//! OpenSSH and PAM authentication lines (`Failed password for ...`, `Invalid user ...`,
//! `Accepted publickey for ...`, `pam_unix(...): authentication failure; ...`).
//!
//! Hand-written rather than regex: the message is matched only at its start (after an
//! optional syslog header), and the address is taken after the *last* ` from `, because
//! the user name is attacker-chosen and may itself contain `from 6.6.6.6` (the log
//! injection that once let fail2ban be pointed at arbitrary addresses).

use std::net::IpAddr;

use super::attempt::{Outcome, parse_source};

/// What an sshd or PAM line says, with the account still raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshdLine<'a> {
    pub account: &'a str,
    pub source: Option<IpAddr>,
    pub outcome: Outcome,
}

const MESSAGE_STARTS: [&str; 6] = [
    "Failed ",
    "Accepted ",
    "Invalid user ",
    "Illegal user ",
    "pam_unix(",
    "message repeated ",
];

/// Recognizes an sshd/PAM authentication line, with or without a syslog header
/// (`Nov 24 02:50:13 host sshd[123]: `, `2024-11-24T02:50:13.123Z host sshd-session[9]: `).
///
/// `count_sshd_pam`: with `UsePAM yes` every failed sshd password produces both a
/// `pam_unix(sshd:auth)` line and a `Failed password` line for the same attempt; counting
/// both would lock after half the configured failures, so the PAM line for sshd is skipped
/// unless asked for. PAM lines of other services (`login`, `su`, `vsftpd`) always count.
pub(crate) fn parse(line: &str, count_sshd_pam: bool) -> Option<SshdLine<'_>> {
    let msg = message(line)?;
    // rsyslog folds repeats into `message repeated 3 times: [ Failed password for ...]`.
    // It is one event, so it counts once; the repeat count is not trusted as a multiplier.
    let msg = match msg.strip_prefix("message repeated ") {
        Some(rest) => {
            let (_, inner) = rest.split_once(": [")?;
            inner
                .trim_end()
                .strip_suffix(']')
                .unwrap_or(inner)
                .trim_start()
        }
        None => msg,
    };
    if let Some(rest) = msg.strip_prefix("Failed ") {
        method_line(rest, Outcome::Failure)
    } else if let Some(rest) = msg.strip_prefix("Accepted ") {
        method_line(rest, Outcome::Success)
    } else if let Some(rest) = msg
        .strip_prefix("Invalid user ")
        .or_else(|| msg.strip_prefix("Illegal user "))
    {
        let (account, tail) = rest.rsplit_once(" from ")?;
        Some(SshdLine {
            account,
            source: address(tail),
            outcome: Outcome::Failure,
        })
    } else if let Some(rest) = msg.strip_prefix("pam_unix(") {
        pam_line(rest, count_sshd_pam)
    } else {
        None
    }
}

/// The message part of a line: the line itself when it already starts with a known
/// message, else what follows the syslog header's first `": "`. Looking only there means
/// text inside an attacker's user name is never taken for the message.
fn message(line: &str) -> Option<&str> {
    let line = line.trim();
    if MESSAGE_STARTS.iter().any(|s| line.starts_with(s)) {
        return Some(line);
    }
    let (header, msg) = line.split_once(": ")?;
    // A syslog header names the program; a JSON or free-text line that happens to hold
    // ": " is not an sshd line.
    if !(header.contains("sshd") || header.contains("pam") || header.ends_with(']')) {
        return None;
    }
    Some(msg.trim_start())
}

/// `<method> for [invalid user ]NAME from IP port N ssh2[: key]`
fn method_line(rest: &str, outcome: Outcome) -> Option<SshdLine<'_>> {
    let (method, rest) = rest.split_once(' ')?;
    // `none` is the probe every client sends first, not a credential; it would count
    // every connection of a legitimate key user as a failure.
    if method == "none" || method.is_empty() {
        return None;
    }
    let rest = rest.strip_prefix("for ")?;
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let (account, tail) = rest.rsplit_once(" from ")?;
    // The tail must be sshd's own `IP port N ...`; anything else is not this message.
    if !tail.contains(" port ") && tail.split_whitespace().count() > 1 {
        return None;
    }
    Some(SshdLine {
        account,
        source: address(tail),
        outcome,
    })
}

/// `sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=IP  user=NAME`
fn pam_line(rest: &str, count_sshd_pam: bool) -> Option<SshdLine<'_>> {
    let (service, rest) = rest.split_once(':')?;
    if service == "sshd" && !count_sshd_pam {
        return None;
    }
    let fields = rest
        .strip_prefix("auth): authentication failure;")?
        .trim_start();
    // `user=` is last and runs to the end of the line (PAM does not escape it);
    // without it the user was unknown to PAM and there is no account to count.
    let (before_user, account) = match fields.rsplit_once(" user=") {
        Some(split) => split,
        None => (fields, fields.strip_prefix("user=")?),
    };
    let source = before_user
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("rhost="))
        .and_then(parse_source);
    Some(SshdLine {
        account,
        source,
        outcome: Outcome::Failure,
    })
}

fn address(tail: &str) -> Option<IpAddr> {
    tail.split_whitespace().next().and_then(parse_source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("test address"))
    }

    fn fail(account: &str, source: &str) -> Option<SshdLine<'static>> {
        let account: &'static str = Box::leak(account.to_owned().into_boxed_str());
        Some(SshdLine {
            account,
            source: ip(source),
            outcome: Outcome::Failure,
        })
    }

    #[test]
    fn failed_password_behind_a_syslog_header() {
        let line = "Nov 24 02:50:13 ip-10-0-1-17 sshd[4123]: Failed password for root from 203.0.113.9 port 52811 ssh2";
        assert_eq!(parse(line, false), fail("root", "203.0.113.9"));
    }

    #[test]
    fn failed_password_for_invalid_user_with_iso_header() {
        let line = "2024-11-24T02:50:13.812+00:00 web-1 sshd-session[88]: Failed password for invalid user oracle from 198.51.100.23 port 40022 ssh2";
        assert_eq!(parse(line, false), fail("oracle", "198.51.100.23"));
    }

    #[test]
    fn failed_publickey_with_key_fingerprint_and_ipv6() {
        let line = "sshd[77]: Failed publickey for deploy from 2001:db8::42 port 50022 ssh2: ED25519 SHA256:Zx1nq4s7b8Yv0M";
        assert_eq!(parse(line, false), fail("deploy", "2001:db8::42"));
    }

    #[test]
    fn invalid_user_without_header_and_with_old_wording() {
        let line = "Invalid user admin from 192.0.2.14 port 33490";
        assert_eq!(parse(line, false), fail("admin", "192.0.2.14"));
        let line = "Nov  3 11:02:01 bastion sshd[901]: Illegal user test from 192.0.2.15";
        assert_eq!(parse(line, false), fail("test", "192.0.2.15"));
    }

    #[test]
    fn accepted_password_and_publickey_are_successes() {
        let line = "Nov 24 03:01:44 ip-10-0-1-17 sshd[5120]: Accepted password for alice from 198.51.100.4 port 60122 ssh2";
        let got = parse(line, false).expect("accepted");
        assert_eq!((got.account, got.outcome), ("alice", Outcome::Success));
        let line = "Nov 24 03:01:44 h sshd[5121]: Accepted publickey for ec2-user from 198.51.100.4 port 60124 ssh2: RSA SHA256:abc";
        let got = parse(line, false).expect("accepted");
        assert_eq!((got.account, got.source), ("ec2-user", ip("198.51.100.4")));
    }

    #[test]
    fn pam_unix_for_sshd_counts_only_when_asked_other_services_always() {
        let line = "Nov 24 02:50:11 ip-10-0-1-17 sshd[4123]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root";
        assert_eq!(parse(line, false), None);
        assert_eq!(parse(line, true), fail("root", "203.0.113.9"));
        let line = "Nov 24 09:12:00 h login[311]: pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=tty1 ruser= rhost=  user=bob";
        let got = parse(line, false).expect("login service");
        assert_eq!((got.account, got.source), ("bob", None));
    }

    #[test]
    fn pam_unix_without_user_has_no_account() {
        let line = "sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9";
        assert_eq!(parse(line, true), None);
    }

    #[test]
    fn repeated_message_counts_once() {
        let line = "Nov 24 02:51:00 h sshd[4123]: message repeated 3 times: [ Failed password for root from 203.0.113.9 port 52811 ssh2]";
        assert_eq!(parse(line, false), fail("root", "203.0.113.9"));
    }

    #[test]
    fn injected_address_in_user_name_is_not_believed() {
        let line = "Nov 24 02:50:13 h sshd[1]: Failed password for invalid user x from 6.6.6.6 port 1 ssh2 from 203.0.113.9 port 52811 ssh2";
        let got = parse(line, false).expect("still a failure");
        assert_eq!(got.source, ip("203.0.113.9"));
        assert_eq!(got.account, "x from 6.6.6.6 port 1 ssh2");
        // A user name that looks like a whole message is not read as the message.
        let line = "Nov 24 02:50:13 h sshd[1]: Invalid user Accepted password for root from 6.6.6.6 port 1 ssh2 from 203.0.113.9 port 2";
        let got = parse(line, false).expect("invalid user");
        assert_eq!(
            (got.outcome, got.source),
            (Outcome::Failure, ip("203.0.113.9"))
        );
    }

    #[test]
    fn hostnames_leave_the_source_empty() {
        let line = "sshd[1]: Failed password for root from scanner.example.net port 22 ssh2";
        let got = parse(line, false).expect("failure");
        assert_eq!(got.source, None);
    }

    #[test]
    fn other_sshd_lines_and_none_method_are_not_attempts() {
        for line in [
            "Nov 24 02:50:14 h sshd[4123]: Connection closed by authenticating user root 203.0.113.9 port 52811 [preauth]",
            "Nov 24 02:50:14 h sshd[4123]: Disconnected from invalid user admin 192.0.2.14 port 33490 [preauth]",
            "Nov 24 02:50:14 h sshd[4123]: pam_unix(sshd:session): session opened for user alice by (uid=0)",
            "Nov 24 02:50:14 h sshd[4123]: Failed none for invalid user admin from 192.0.2.14 port 33490 ssh2",
            "Nov 24 02:50:14 h CRON[4123]: Failed to run job",
            "{\"msg\": \"Failed password for root from 1.2.3.4\"}",
            "",
        ] {
            assert_eq!(parse(line, true), None, "{line}");
        }
    }
}
