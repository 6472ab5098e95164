//! The incident-widget handler: decodes the dashboard's call, reads the incidents it asks for
//! (the status index, page by page, timelines included; or one incident by id) and renders
//! them with `core::view`. Nothing here writes.

use apptrack_core::clock::Clock;
use apptrack_core::failure::during;
use apptrack_core::incident::{IncidentId, Status};
use apptrack_core::store::{Listed, PageRequest, ReadIncidents, StoreError};
use apptrack_core::view::request::{DESCRIPTION, Shown as Statuses};
use apptrack_core::view::{BoardOptions, WidgetRequest, html, render_board, render_detail};
use apptrack_lambda::Function;
use serde_json::Value;

pub use crate::error::HandlerError;
pub use crate::outcome::Shown;
pub use crate::settings::Settings;

/// Items per Query: DynamoDB stops a page at 1 MB first, so larger pages only add items the
/// list may drop.
const PAGE: usize = 250;

/// The handler's store, clock and settings.
pub struct Widget<S, K> {
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
}

impl<S: ReadIncidents, K: Clock> Function for Widget<S, K> {
    type Output = Shown;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Shown, HandlerError> {
        Widget::handle(self, event).await
    }
}

impl<S: ReadIncidents, K: Clock> Widget<S, K> {
    pub async fn handle(&self, event: &Value) -> Result<Shown, HandlerError> {
        match WidgetRequest::decode(event)? {
            WidgetRequest::Describe => Ok(Shown(DESCRIPTION.to_string())),
            WidgetRequest::Board {
                shown,
                limit,
                endpoint,
            } => {
                let limit = limit
                    .unwrap_or(self.settings.max_incidents)
                    .min(self.settings.max_incidents);
                self.board(shown, limit, endpoint).await
            }
            WidgetRequest::Detail { id, .. } => self.detail(&id).await,
        }
    }

    async fn board(
        &self,
        shown: Statuses,
        limit: usize,
        endpoint: Option<String>,
    ) -> Result<Shown, HandlerError> {
        let now = self.clock.now();
        let mut items = Vec::new();
        let mut more = false;
        for status in shown.statuses() {
            let (found, rest) = self.newest(status, limit, now).await?;
            items.extend(found);
            more |= rest;
        }
        // Newest first across statuses, then the limit.
        items.sort_by(|a: &Listed, b: &Listed| {
            (b.incident.first_seen, &b.incident.id).cmp(&(a.incident.first_seen, &a.incident.id))
        });
        more |= items.len() > limit;
        items.truncate(limit);
        Ok(Shown(render_board(
            &items,
            now,
            &BoardOptions { endpoint, more },
        )))
    }

    /// Up to `limit` incidents of one status, newest first, and whether more exist.
    async fn newest(
        &self,
        status: Status,
        limit: usize,
        now: apptrack_core::clock::Timestamp,
    ) -> Result<(Vec<Listed>, bool), HandlerError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = PageRequest {
                limit: PAGE.min(limit - out.len()),
                cursor,
                now,
            };
            let found = self
                .incidents
                .list_with_timelines(status, &page)
                .await
                .map_err(during(format!("listing {status} incidents")))?;
            out.extend(found.items);
            cursor = found.next;
            if cursor.is_none() {
                return Ok((out, false));
            }
            if out.len() >= limit {
                return Ok((out, true));
            }
        }
    }

    async fn detail(&self, id: &IncidentId) -> Result<Shown, HandlerError> {
        let now = self.clock.now();
        let found = self.incidents.get(id, now).await;
        let inc = match found {
            Ok(inc) => inc,
            // Resolved and expired, or a stale row: the popup says so.
            Err(StoreError::NotFound(_)) => {
                return Ok(Shown(format!(
                    "<p>Incident {} is not in the table any more (resolved incidents expire).</p>",
                    html::escape(id.as_str())
                )));
            }
            Err(e) => return Err(during(format!("reading incident {id}"))(e).into()),
        };
        let timeline = self
            .incidents
            .timeline(id, now)
            .await
            .map_err(during(format!("reading the timeline of {id}")))?;
        Ok(Shown(render_detail(&inc, &timeline, now)))
    }
}
