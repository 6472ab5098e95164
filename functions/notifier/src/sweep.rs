//! The schedule's run: a reminder for each open incident per repeat interval, and a notice
//! for each active incident a silence held once that silence has ended. Every notice has its
//! claim, so a redelivered run (or two runs in one interval) sends nothing twice.

use apptrack_core::clock::Clock;
use apptrack_core::failure::{Failure, during};
use apptrack_core::incident::{Incident, Status};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::notify::{Notice, Publisher, SilenceBook, reminder, silence_ended};
use apptrack_core::store::{IncidentStore, PageRequest};

use crate::handler::{HandlerError, Notifier};
use crate::outcome::Outcome;

const PAGE: usize = 100;

impl<P: Publisher, S: IncidentStore, B: SilenceBook, L: ActionLedger, K: Clock>
    Notifier<P, S, B, L, K>
{
    /// The incidents in `statuses`, every page.
    async fn listed(&self, statuses: &[Status]) -> Result<Vec<Incident>, HandlerError> {
        let now = self.clock.now();
        let mut all = Vec::new();
        for &status in statuses {
            let mut cursor = None;
            loop {
                let page = self
                    .incidents
                    .list_by_status(
                        status,
                        &PageRequest {
                            limit: PAGE,
                            cursor,
                            now,
                        },
                    )
                    .await
                    .map_err(during(format!("listing {status} incidents")))?;
                all.extend(page.items);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(all)
    }

    pub(crate) async fn sweep(&self) -> Result<Outcome, HandlerError> {
        let now = self.clock.now();
        let policy = &self.settings.policy;
        let silences = self
            .silences
            .list()
            .await
            .map_err(during("reading the silences"))?;
        let ended: Vec<_> = silences.iter().filter(|s| s.ends_at <= now).collect();
        let mut outcome = Outcome::default();
        let mut first_error = None;
        // Reminders are for open incidents only; acknowledged ones matter only to a silence
        // that ended, so they are not read when none did.
        let statuses: &[Status] = if ended.is_empty() {
            &[Status::Open]
        } else {
            &[Status::Open, Status::Acknowledged]
        };
        for inc in self.listed(statuses).await? {
            let mut notices: Vec<Notice> = reminder(&inc, now, policy).into_iter().collect();
            notices.extend(
                ended
                    .iter()
                    .filter_map(|s| silence_ended(&inc, s, &silences, now, policy)),
            );
            if notices.is_empty() {
                outcome.quiet += 1;
            }
            for notice in notices {
                match self.deliver(&notice, &silences).await {
                    Ok(n) => outcome.notified.push(n),
                    // The others still go out; the run's retry sends what is left.
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(error = %e, "notice left for the retry");
                        first_error.get_or_insert(e);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "not notified");
                        outcome.unreadable.push(e.to_string());
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outcome),
        }
    }
}
