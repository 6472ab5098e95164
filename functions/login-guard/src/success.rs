//! An account's successful logins in a batch: judged against the latest lock (a success
//! after the burst from a source of it, or one the lock held against, is an account
//! takeover, raised once per episode), and the others learned as familiar sources. And what
//! a new lock needs from familiarity: the prefixes it exempts and its investigation.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use apptrack_core::auth::incident;
use apptrack_core::auth::{
    AccountAggregate, CLOCK_SKEW_MINUTES, CounterKey, Counters, GuardStore, SourcePrefix,
    SourceSummary, judge_success, summarize,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::store::RecordIncidents;

use crate::handler::{Guard, HandlerError, Report};

impl<G: GuardStore, S: RecordIncidents, K: Clock> Guard<G, S, K> {
    /// `c`: the account's counters with this batch applied.
    pub(crate) async fn successes(
        &self,
        a: &AccountAggregate,
        c: &Counters,
        report: &mut Report,
        incidents: &mut BTreeSet<String>,
    ) -> Result<(), HandlerError> {
        let policy = &self.settings.policy;
        let now = self.decision_time(a.last_at);
        let account = &a.account;
        let familiar = self
            .state
            .familiar(account)
            .await
            .map_err(during(format!("reading the familiar sources of {account}")))?;
        // Only an account that failed recently, or was locked, can have a takeover.
        let lock = if c.lock.is_some() || !c.failure_buckets.is_empty() {
            self.state
                .get_lock(self.mode(), account)
                .await
                .map_err(during(format!("reading the lock of {account}")))?
        } else {
            None
        };
        let mut suspects = Vec::new();
        let mut learn = Vec::new();
        for (ip, at) in &a.success_sources {
            let cause = lock.as_ref().and_then(|l| {
                judge_success(&policy.window, &policy.familiar, l, c, &familiar, *ip, *at)
            });
            match cause {
                Some(cause) => suspects.push((*ip, *at, cause)),
                // A success the takeover rule does not suspect teaches a familiar source.
                None => learn.push((ip, at)),
            }
        }
        let expires = self
            .clock
            .now()
            .max(now)
            .saturating_add(policy.familiar.ttl());
        if let Some(u) = familiar.learn(account, learn, &policy.familiar, now, expires) {
            self.state.learn_familiar(&u).await.map_err(during(format!(
                "learning the familiar sources of {account}"
            )))?;
        }
        if let (Some(l), false) = (&lock, suspects.is_empty()) {
            let occ = incident::account_takeover(
                l,
                &suspects,
                a,
                c,
                &policy.window,
                &a.batch_fingerprint(),
            )?;
            let raised = self
                .incidents
                .raise(&occ)
                .await
                .map_err(during(format!("recording the takeover of {account}")))?;
            incidents.insert(raised.id.to_string());
            report.takeovers.push(account.clone());
        }
        Ok(())
    }

    /// The prefixes a new lock exempts: the account's familiar ones at `now`, and those of
    /// this batch's successes from sources that did not fail in the window (they will be
    /// learned right after the lock is written).
    pub(crate) async fn familiar_for_lock(
        &self,
        a: &AccountAggregate,
        c: &Counters,
        now: Timestamp,
    ) -> Result<BTreeSet<SourcePrefix>, HandlerError> {
        let policy = &self.settings.policy;
        let familiar = self
            .state
            .familiar(&a.account)
            .await
            .map_err(during(format!(
                "reading the familiar sources of {}",
                a.account
            )))?;
        let mut out: BTreeSet<SourcePrefix> = familiar
            .prefixes(&policy.familiar, now)
            .into_keys()
            .collect();
        let failing = c.members_from(policy.window.first_minute(now) - CLOCK_SKEW_MINUTES);
        for ip in a.success_sources.keys() {
            if !failing.contains(&ip.to_string()) && out.len() < policy.familiar.max_prefixes {
                out.insert(SourcePrefix::of(*ip));
            }
        }
        Ok(out)
    }

    /// The investigation of a lock's sources: from the counters this batch returned, else
    /// read (bounded by the lock's sample of sources), and each prefix's familiarity.
    pub(crate) async fn investigate(
        &self,
        sources: &[IpAddr],
        known: &BTreeMap<IpAddr, Counters>,
        now: Timestamp,
    ) -> Result<Vec<SourceSummary>, HandlerError> {
        let policy = &self.settings.policy;
        let first_day = policy.familiar.first_day(now);
        let mut familiar_to: BTreeMap<SourcePrefix, BTreeSet<String>> = BTreeMap::new();
        let prefixes: BTreeSet<SourcePrefix> =
            sources.iter().map(|ip| SourcePrefix::of(*ip)).collect();
        for prefix in prefixes {
            let accounts = self
                .state
                .familiar_to(prefix, first_day)
                .await
                .map_err(during(format!("reading the familiarity of {prefix}")))?;
            familiar_to.insert(prefix, accounts);
        }
        let mut out = Vec::new();
        for ip in sources {
            let read;
            let c = match known.get(ip) {
                Some(c) => c,
                None => {
                    read = self
                        .state
                        .read_counters(&CounterKey::Source(*ip))
                        .await
                        .map_err(during(format!("reading the counters of source {ip}")))?;
                    &read
                }
            };
            let prefix = SourcePrefix::of(*ip);
            let fam = familiar_to.get(&prefix).cloned().unwrap_or_default();
            out.push(summarize(*ip, c, &policy.window, now, &fam));
        }
        Ok(out)
    }
}
