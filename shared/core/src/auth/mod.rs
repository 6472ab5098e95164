//! Login-guard domain: recognize login outcomes in log lines, count them per account and
//! per source, and decide locks and credential-stuffing incidents from stored counters.
//!
//! Everything here is pure: no AWS types, no I/O, no clock. Time is passed in as
//! [`Timestamp`](crate::clock::Timestamp) (milliseconds since the Unix epoch, UTC), the unit CloudWatch Logs uses
//! for event timestamps, so a handler can hand event times straight through.
//!
//! The flow a handler follows for one subscription batch:
//! 1. [`AuthParser::parse`] each log event into a [`LoginAttempt`] (`None` = not a login line).
//! 2. [`BatchAggregate::from_attempts`] folds the batch into one [`AccountAggregate`] per
//!    account and one [`SourceAggregate`] per source IP, skipping the [`AllowList`] and
//!    duplicate event ids: one DynamoDB `UpdateItem` per key per batch.
//! 3. The store adds the batch's per-minute buckets atomically and returns the item; the
//!    handler rebuilds an [`AccountState`] / [`SourceState`] from it and asks
//!    [`GuardPolicy::decide_lock`] and [`GuardPolicy::decide_stuffing`].
//!
//! A successful login teaches the account a familiar source (`familiar`: its address and
//! /24 or /64 prefix, for 30 days), so a lock holds against unfamiliar sources only, and a
//! success from a source of the burst is an account takeover (`takeover`). It erases
//! nothing: the owner logging in from home must not hand an attacker hammering the same
//! account from elsewhere a fresh budget, and fail2ban does not reset on success either.
//! Failures age out of the window instead, and a lock makes the failures before it stop
//! counting towards the next one.

mod aggregate;
mod allow;
mod attempt;
mod familiar;
pub mod incident;
mod investigation;
mod lock;
mod parse;
mod policy;
mod sshd;
mod state;
mod stuffing;
mod takeover;
mod window;

pub use aggregate::{
    AccountAggregate, AggregateLimits, BatchAggregate, Counted, SourceAggregate, fingerprint,
};
pub use allow::AllowList;
pub use attempt::{
    AccountCase, LoginAttempt, MAX_ACCOUNT_CHARS, MAX_USER_AGENT_CHARS, Outcome, normalize_account,
    parse_source,
};
pub use familiar::{
    DAY_MILLIS, FamiliarPolicy, FamiliarSources, FamiliarUpdate, LockScope, SourcePrefix, day_of,
    lock_holds,
};
pub use investigation::{SourceSummary, summarize};
pub use lock::{LockDecision, LockPolicy};
pub use parse::{AuthParser, AuthParserConfig, CustomPattern};
pub use policy::{AccountState, GuardPolicy, SourceState};
pub use state::{
    CounterKey, CounterUpdate, Counters, GuardStore, LockMirror, LockMode, LockRecord, LockWrite,
};
pub use stuffing::{StuffingDecision, StuffingPolicy};
pub use takeover::{TakeoverCause, judge_success};
pub use window::{
    BUCKET_MILLIS, CLOCK_SKEW_MINUTES, WindowPolicy, account_bucket_attribute,
    failure_bucket_attribute, merge_buckets, minute_of, parse_bucket_attribute,
};
