//! The database-backed token store of one connection: implements the Lever
//! client's [`TokenSource`].
//!
//! The access token is cached in memory until a minute before it expires.
//! A refresh is one flight per connection in this process: a task of its
//! own, not a future owned by whichever caller came first, so a caller that
//! goes away (a request cancelled, a unit stopped) cannot drop a rotated
//! refresh token between Lever's answer and its storing; every caller waits
//! for the flight's answer. Across instances it is one at a time too: the
//! flight marks the row (`refreshing_until`, `token_state = refreshing`) in
//! a short statement, calls Lever holding no database connection, then
//! stores the new grant and clears the mark. A row marked by another
//! instance is re-read until the mark clears or runs out, and its new token
//! used. The stored refresh token is never dropped when Lever's answer omits
//! it. If storing fails, the rotated token is stored again on fresh
//! connections, or the connection says `needs_reauth` at once.
//! `invalid_grant` turns the connection `needs_reauth`.
//!
//! The cache remembers which sealed token it holds: [`DbTokenSource::observe`]
//! drops it when the row (read by every unit of work) stores another one,
//! so a reconnect or refresh on another instance is seen at the next unit.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use super::env::LeverEnv;
use crate::db::models::connection::Connection;
use crate::db::{DbError, Pool};
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::secrets::SecretBox;
use crate::domain::status::ConnectionStatus;
use crate::lever::{LeverError, TokenSource, oauth};

/// Refresh this long before expiry so no request leaves with a dying token.
const EARLY: Duration = Duration::seconds(60);
/// How long a refresh's mark on the row holds off other instances: longer
/// than Lever's answer may take (its request timeout).
const MARK_FOR: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a row marked by another instance is read again.
const MARKED_RECHECK: std::time::Duration = std::time::Duration::from_millis(200);
/// Waits before each new try at storing a rotated token whose first store failed.
const STORE_RETRIES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(500),
    std::time::Duration::from_secs(2),
];

/// A new grant, sealed for storage.
#[derive(Clone)]
struct SealedGrant {
    token: SecretString,
    access_enc: Vec<u8>,
    refresh_enc: Option<Vec<u8>>,
    expires_at: DateTime<Utc>,
}

#[derive(Clone)]
struct Cached {
    token: SecretString,
    expires_at: DateTime<Utc>,
    /// The sealed bytes stored for this token: a row holding other bytes
    /// holds another token (refreshed or reconnected elsewhere).
    sealed: Vec<u8>,
}

/// A refresh in flight: its answer, once there.
type Flight = watch::Receiver<Option<Result<SecretString, LeverError>>>;

pub struct DbTokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    id: ConnectionId,
    db: Pool,
    secrets: SecretBox,
    env: LeverEnv,
    cache: Mutex<Option<Cached>>,
    flight: Mutex<Option<Flight>>,
}

fn db_err(e: DbError) -> LeverError {
    LeverError::Transport(format!("token store: {e}"))
}

impl DbTokenSource {
    pub fn new(id: ConnectionId, db: Pool, secrets: SecretBox, env: LeverEnv) -> Self {
        Self {
            inner: Arc::new(Inner {
                id,
                db,
                secrets,
                env,
                cache: Mutex::new(None),
                flight: Mutex::new(None),
            }),
        }
    }

    /// Forgets the cached token (after a disconnect or reconnect).
    pub fn forget(&self) {
        self.inner.remember(None);
    }

    /// Forgets the cached token if `row` (just read) stores another one:
    /// another instance refreshed it, or the org disconnected and connected
    /// again, perhaps to another Lever account. Costs no query: callers pass
    /// the row they read anyway.
    pub fn observe(&self, row: &Connection) {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache
            .as_ref()
            .is_some_and(|c| row.access_token_enc.as_deref() != Some(c.sealed.as_slice()))
        {
            *cache = None;
        }
    }

    /// Refreshes the token now, unless another refresh just did (the daily
    /// refresh of idle connections, and one about to expire).
    pub async fn refresh_now(&self) -> Result<SecretString, LeverError> {
        let current = self.inner.load().await?;
        self.inner.remember(None);
        self.refresh(Some(current.token)).await
    }

    /// Joins the connection's refresh in flight, or starts one, and waits
    /// for its answer.
    async fn refresh(&self, stale: Option<SecretString>) -> Result<SecretString, LeverError> {
        let mut flight = self.join_or_start(stale);
        let answer = flight
            .wait_for(Option::is_some)
            .await
            .map_err(|_| LeverError::Transport("the token refresh ended without an answer".into()))?
            .clone();
        answer.unwrap_or_else(|| Err(LeverError::Transport("no refresh answer".into())))
    }

    fn join_or_start(&self, stale: Option<SecretString>) -> Flight {
        let mut slot = self.inner.flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = slot.as_ref().filter(|f| f.borrow().is_none()) {
            return running.clone();
        }
        let (tx, rx) = watch::channel(None);
        *slot = Some(rx.clone());
        let inner = self.inner.clone();
        actix_rt::spawn(async move {
            let answer = inner.fly(stale.as_ref()).await;
            let _ = tx.send(Some(answer));
        });
        rx
    }
}

impl Inner {
    fn cached(&self) -> Option<Cached> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn remember(&self, c: Option<Cached>) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = c;
    }

    fn open(&self, sealed: &Option<Vec<u8>>) -> Option<SecretString> {
        sealed
            .as_deref()
            .and_then(|b| self.secrets.open(b).ok())
            .map(SecretString::from)
    }

    /// The stored access token, if the connection holds a usable grant.
    fn usable(&self, row: &Connection) -> Result<Cached, LeverError> {
        if matches!(
            row.status,
            ConnectionStatus::Disconnected | ConnectionStatus::NeedsReauth
        ) {
            return Err(LeverError::NeedsReauth(format!(
                "the connection is {}",
                row.status
            )));
        }
        let sealed = row
            .access_token_enc
            .clone()
            .ok_or_else(|| LeverError::NeedsReauth("no access token is stored".into()))?;
        let token = self.open(&row.access_token_enc).ok_or_else(|| {
            LeverError::NeedsReauth("the stored access token cannot be opened".into())
        })?;
        Ok(Cached {
            token,
            expires_at: row.token_expires_at.unwrap_or_else(Utc::now),
            sealed,
        })
    }

    async fn load(&self) -> Result<Cached, LeverError> {
        let id = self.id.0;
        let row = self
            .db
            .run(move |c| Ok(Connection::find(c, id)?))
            .await
            .map_err(db_err)?;
        self.usable(&row)
    }

    /// One refresh flight: unless the stored token already differs from
    /// `stale` and is fresh (another caller or instance refreshed meanwhile),
    /// marks the row, asks Lever, and stores the new grant.
    async fn fly(&self, stale: Option<&SecretString>) -> Result<SecretString, LeverError> {
        if let Some(c) = self.cached()
            && is_newer(&c, stale)
        {
            return Ok(c.token);
        }
        let row = loop {
            let id = self.id.0;
            let marked = self
                .db
                .run(move |c| Ok(Connection::mark_refreshing(c, id, MARK_FOR)?))
                .await
                .map_err(db_err)?;
            let row = match marked {
                Ok(row) => row,
                // Another instance is refreshing: its token is used once stored.
                Err(row) => {
                    let current = self.usable(&row)?;
                    if is_newer(&current, stale) {
                        let token = current.token.clone();
                        self.remember(Some(current));
                        return Ok(token);
                    }
                    actix_rt::time::sleep(MARKED_RECHECK).await;
                    continue;
                }
            };
            let current = match self.usable(&row) {
                Ok(current) => current,
                Err(e) => {
                    self.unmark().await;
                    return Err(e);
                }
            };
            if is_newer(&current, stale) {
                self.unmark().await;
                let token = current.token.clone();
                self.remember(Some(current));
                return Ok(token);
            }
            break row;
        };
        match self.ask_lever(&row).await {
            Ok(grant) => self.store(grant).await,
            Err(LeverError::NeedsReauth(reason)) => self.give_up(&reason).await,
            Err(other) => {
                self.unmark().await;
                Err(other)
            }
        }
    }

    /// Lever's new grant for the row's refresh token, sealed for storage.
    async fn ask_lever(&self, row: &Connection) -> Result<SealedGrant, LeverError> {
        let oauth_cfg = self
            .env
            .oauth
            .as_ref()
            .ok_or_else(|| LeverError::Config("LEVER_CLIENT_ID/SECRET are not set".into()))?;
        let refresh = self
            .open(&row.refresh_token_enc)
            .ok_or_else(|| LeverError::NeedsReauth("no refresh token is stored".into()))?;
        let grant = oauth::refresh(&self.env.http, oauth_cfg, &refresh).await?;
        Ok(SealedGrant {
            access_enc: self.secrets.seal(grant.access_token.expose_secret()),
            refresh_enc: grant
                .refresh_token
                .as_ref()
                .map(|r| self.secrets.seal(r.expose_secret())),
            expires_at: grant.expires_at,
            token: grant.access_token,
        })
    }

    /// Clears this flight's mark when it ends without a new grant.
    async fn unmark(&self) {
        let id = self.id.0;
        if let Err(e) = self
            .db
            .run(move |c| Ok(Connection::unmark_refreshing(c, id)?))
            .await
        {
            tracing::warn!(connection_id = %self.id, error = %Chain(&e), "clearing a refresh mark failed; it runs out by itself");
        }
    }

    /// Stores a rotated grant (and clears the mark). Lever has already
    /// retired the refresh token it replaced, so the new one must not be
    /// lost: a failed store is tried again on fresh connections, and if that
    /// keeps failing the connection says `needs_reauth` at once rather than
    /// fail later for no visible reason.
    async fn store(&self, grant: SealedGrant) -> Result<SecretString, LeverError> {
        let waits = std::iter::once(std::time::Duration::ZERO).chain(STORE_RETRIES);
        for (n, wait) in waits.enumerate() {
            actix_rt::time::sleep(wait).await;
            let g = grant.clone();
            let id = self.id.0;
            let stored = self
                .db
                .run(move |c| {
                    Ok(Connection::store_tokens(
                        c,
                        id,
                        &g.access_enc,
                        g.refresh_enc.as_deref(),
                        g.expires_at,
                    )?)
                })
                .await;
            match stored {
                Ok(_) => return Ok(self.use_grant(grant)),
                Err(e) if n == 0 => {
                    tracing::warn!(connection_id = %self.id, error = %Chain(&e), "storing a refreshed Lever token failed; storing it again")
                }
                Err(e) => {
                    tracing::warn!(connection_id = %self.id, error = %Chain(&e), "storing a refreshed Lever token failed again")
                }
            }
        }
        let id = self.id.0;
        let why = "a refreshed Lever token could not be stored: connect again";
        let marked = self
            .db
            .run(move |c| Ok(Connection::mark_needs_reauth(c, id, why)?))
            .await;
        tracing::error!(connection_id = %self.id, marked = marked.is_ok(), "a refreshed Lever token was lost; the connection needs re-authorisation");
        self.remember(None);
        Err(LeverError::NeedsReauth(why.to_owned()))
    }

    /// Caches a stored grant's access token and hands it out.
    fn use_grant(&self, g: SealedGrant) -> SecretString {
        tracing::info!(connection_id = %self.id, "Lever token refreshed");
        self.remember(Some(Cached {
            token: g.token.clone(),
            expires_at: g.expires_at,
            sealed: g.access_enc,
        }));
        g.token
    }

    async fn give_up<T>(&self, reason: &str) -> Result<T, LeverError> {
        let id = self.id.0;
        let why = reason.to_owned();
        self.db
            .run(move |c| Ok(Connection::mark_needs_reauth(c, id, &why)?))
            .await
            .map_err(db_err)?;
        tracing::warn!(connection_id = %self.id, "Lever refused the grant; connection needs re-authorisation");
        self.remember(None);
        Err(LeverError::NeedsReauth(reason.to_owned()))
    }
}

/// A token that is not `stale` and not about to expire.
fn is_newer(c: &Cached, stale: Option<&SecretString>) -> bool {
    let differs = stale.is_none_or(|s| s.expose_secret() != c.token.expose_secret());
    differs && c.expires_at - EARLY > Utc::now()
}

impl TokenSource for DbTokenSource {
    fn access_token(&self) -> LocalBoxFuture<'_, Result<SecretString, LeverError>> {
        Box::pin(async move {
            if let Some(c) = self
                .inner
                .cached()
                .filter(|c| c.expires_at - EARLY > Utc::now())
            {
                return Ok(c.token);
            }
            let stored = self.inner.load().await?;
            if stored.expires_at - EARLY > Utc::now() {
                self.inner.remember(Some(stored.clone()));
                return Ok(stored.token);
            }
            self.refresh(Some(stored.token)).await
        })
    }

    fn refresh_after_unauthorized<'a>(
        &'a self,
        rejected: &'a SecretString,
    ) -> LocalBoxFuture<'a, Result<SecretString, LeverError>> {
        Box::pin(async move {
            // The rejected token is stale whatever its expiry says.
            self.inner.remember(None);
            self.refresh(Some(rejected.clone())).await
        })
    }
}
