//! What a login-guard invocation did, as returned and logged.

use serde::Serialize;

/// A lock set (or, in audit mode, one that would have been set) by this invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedAccount {
    pub account: String,
    pub until: String,
    pub offence: u32,
    pub incident_id: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub log_group: String,
    pub mode: String,
    pub control_message: bool,
    pub events: usize,
    pub recognized: usize,
    /// Lines that are not login attempts (counted and skipped).
    pub unparsed: usize,
    pub failures: u32,
    pub successes: u32,
    pub allow_listed: u32,
    pub duplicates: u32,
    /// Counter updates sent (one per distinct account and source).
    pub counter_writes: usize,
    /// Keys whose share of this batch was already counted (a redelivery).
    pub already_counted: usize,
    pub locked: Vec<LockedAccount>,
    /// Accounts with a likely takeover (a success after the burst) in this batch.
    pub takeovers: Vec<String>,
    /// Sources found stuffing credentials.
    pub stuffing: Vec<String>,
    /// Incidents opened or added to.
    pub incidents: Vec<String>,
}
