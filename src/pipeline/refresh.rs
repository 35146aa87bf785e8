//! Keeping idle connections' Lever tokens alive. Lever refresh tokens die
//! after 90 days unused, and access tokens expire: every [`CHECK_EVERY`] the
//! registry asks, in one query, which of its connections hold a token that
//! expires within [`REFRESH_AHEAD`] or that has gone unrefreshed for its
//! period, and this refresher refreshes those, at most `concurrency` at once
//! per instance (an internal setting, `PipelineSettings::refresh_concurrency`,
//! documented in docs/contract/lever-calls.md).
//!
//! Each connection's period is between 12 and 24 hours, fixed by its id, so
//! connections made together (an import, a restore) spread their refreshes
//! over half a day instead of all coming due in the same minute.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Text, Uuid as SqlUuid};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::connections::Handles;
use crate::db::Pool;
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;

/// Tokens are refreshed when they have less than this left.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);
/// The longest period of an idle connection's refresh; the shortest is half.
pub const REFRESH_PERIOD: Duration = Duration::from_secs(24 * 3600);
/// How often the registry's connections are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// One per process: the refreshes in flight and their bound.
pub struct Refresher {
    handles: Arc<Handles>,
    slots: Arc<Semaphore>,
    busy: Arc<Mutex<HashSet<Uuid>>>,
    last_check: Mutex<Option<Instant>>,
}

impl Refresher {
    pub fn new(handles: Arc<Handles>, concurrency: usize) -> Self {
        Self {
            handles,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            busy: Arc::default(),
            last_check: Mutex::new(None),
        }
    }

    /// At most every [`CHECK_EVERY`]: finds which of `ids` need a refresh
    /// and starts them (those already refreshing are left alone).
    pub fn check(&self, db: &Pool, ids: Vec<ConnectionId>) {
        {
            let mut last = self.last_check.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < CHECK_EVERY) || ids.is_empty() {
                return;
            }
            *last = Some(Instant::now());
        }
        let (db, handles) = (db.clone(), self.handles.clone());
        let (slots, busy) = (self.slots.clone(), self.busy.clone());
        let ids: Vec<Uuid> = ids.into_iter().map(|id| id.0).collect();
        actix::spawn(async move {
            let stale = match db.run(move |c| Ok(stale_tokens(c, &ids)?)).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "token freshness check failed");
                    return;
                }
            };
            for id in stale {
                if !busy.lock().unwrap_or_else(|p| p.into_inner()).insert(id) {
                    continue;
                }
                let Ok(handle) = handles.get(ConnectionId(id)) else {
                    busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    continue;
                };
                let (slots, busy) = (slots.clone(), busy.clone());
                actix::spawn(async move {
                    if let Ok(_slot) = slots.acquire().await {
                        // Failures surface through the work itself and health.
                        let _ = handle.tokens().refresh_now().await;
                    }
                    busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                });
            }
        });
    }
}

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Which of `ids` hold a token that expires within [`REFRESH_AHEAD`], or was
/// last refreshed longer ago than its period (12 to 24 hours, by its id).
fn stale_tokens(c: &mut diesel::PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Stale> = diesel::sql_query(
        "SELECT id FROM connections WHERE id = ANY($1) AND status = ANY($4) \
         AND refresh_token_enc IS NOT NULL \
         AND (token_expires_at IS NULL OR token_expires_at < now() + make_interval(secs => $2) \
              OR last_refreshed_at IS NULL \
              OR last_refreshed_at < now() - make_interval(secs => \
                   $3 / 2 + $3 / 2 * ((('x' || substr(md5(id::text), 1, 8))::bit(32)::bigint) \
                                      / 4294967296.0)))",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Double, _>(REFRESH_AHEAD.as_secs_f64())
    .bind::<Double, _>(REFRESH_PERIOD.as_secs_f64())
    .bind::<Array<Text>, _>(ConnectionStatus::RUNNING)
    .load(c)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
