//! The schedule's `{"apptrack": "resolve-quiet"}`: resolve this function's incidents that have
//! had no occurrence for `APPTRACK_QUIET_RESOLVE_SECS`, by index, a bounded number of pages.

use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::errors::{ErrorCountStore, SOURCE};
use apptrack_core::failure::during;
use apptrack_core::incident::{IncidentError, IncidentId, Status, TimelineEntry};
use apptrack_core::store::{IncidentStore, PageRequest, StoreError};

use crate::handler::{Analyzer, HandlerError, Outcome};

/// Incidents looked at per status by one quiet sweep (pages of 100).
const SWEEP_PAGES: usize = 10;

impl<C: ErrorCountStore, S: IncidentStore, K: Clock> Analyzer<C, S, K> {
    /// Resolves this function's active incidents with no occurrence for the quiet time.
    pub async fn resolve_quiet(&self) -> Result<Outcome, HandlerError> {
        let now = self.clock.now();
        let policy = &self.settings.policy;
        let mut quiet: Vec<(IncidentId, Timestamp)> = Vec::new();
        for status in [Status::Open, Status::Acknowledged] {
            let mut cursor = None;
            for _ in 0..SWEEP_PAGES {
                let page = self
                    .incidents
                    .list_by_status(
                        status,
                        &PageRequest {
                            limit: 100,
                            cursor: cursor.take(),
                            now,
                        },
                    )
                    .await
                    .map_err(during("listing active incidents"))?;
                quiet.extend(
                    page.items
                        .iter()
                        .filter(|i| policy.is_quiet(i, now))
                        .map(|i| (i.id.clone(), i.last_seen)),
                );
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        let mut out = Outcome {
            status: "resolve-quiet",
            ..Outcome::default()
        };
        for (id, last_seen) in quiet {
            let detail = format!(
                "no occurrence since {last_seen} (quiet for more than {} s)",
                policy.quiet_resolve.as_secs()
            );
            let entry = TimelineEntry::new(now, SOURCE, "resolved", &detail);
            match self
                .incidents
                .resolve(&id, &entry, self.settings.store.retention)
                .await
            {
                Ok(_) => out.resolved.push(id.to_string()),
                // Resolved by someone else in between: nothing left to do.
                Err(StoreError::Invalid(IncidentError::InvalidTransition { .. }))
                | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(during(format!("resolving {id}"))(e).into()),
            }
        }
        tracing::info!(resolved = out.resolved.len(), "quiet sweep");
        Ok(out)
    }
}
