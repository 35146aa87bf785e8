//! The database-backed token store of one connection: implements the Lever
//! client's [`TokenSource`].
//!
//! The access token is cached in memory until a minute before it expires.
//! A refresh runs one at a time in this process (an async mutex) and one at a
//! time across instances: under `SELECT ... FOR NO KEY UPDATE` on the
//! connection row (which leaves inserts referencing the connection free),
//! re-reading it first in case another refresh just finished, and storing the
//! rotated refresh token in the same transaction (never dropping the stored
//! one when Lever's answer omits it). If that store fails, the rotated token
//! is stored again on fresh connections, or the connection says
//! `needs_reauth` at once. `invalid_grant` turns the connection `needs_reauth`.
//!
//! The cache remembers which sealed token it holds: [`DbTokenSource::observe`]
//! drops it when the row (read by every unit of work) stores another one,
//! so a reconnect or refresh on another instance is seen at the next unit.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::env::LeverEnv;
use crate::db::models::connection::Connection;
use crate::db::{DbError, HeldConnection, Pool};
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::secrets::SecretBox;
use crate::domain::status::ConnectionStatus;
use crate::lever::{LeverError, TokenSource, oauth};

/// Refresh this long before expiry so no request leaves with a dying token.
const EARLY: Duration = Duration::seconds(60);
/// Waits before each new try at storing a rotated token whose first store failed.
const STORE_RETRIES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(500),
    std::time::Duration::from_secs(2),
];

/// What a refresh under the row lock found.
enum Refreshed {
    /// Another caller or instance already refreshed: this token is current.
    Current(SecretString),
    /// Lever issued a new grant, not stored yet.
    New(SealedGrant),
}

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

pub struct DbTokenSource {
    id: ConnectionId,
    db: Pool,
    secrets: SecretBox,
    env: LeverEnv,
    cache: std::sync::Mutex<Option<Cached>>,
    refreshing: Mutex<()>,
}

fn db_err(e: DbError) -> LeverError {
    LeverError::Transport(format!("token store: {e}"))
}

impl DbTokenSource {
    pub fn new(id: ConnectionId, db: Pool, secrets: SecretBox, env: LeverEnv) -> Self {
        Self {
            id,
            db,
            secrets,
            env,
            cache: std::sync::Mutex::new(None),
            refreshing: Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<Cached> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn remember(&self, c: Option<Cached>) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = c;
    }

    /// Forgets the cached token (after a disconnect or reconnect).
    pub fn forget(&self) {
        self.remember(None);
    }

    /// Forgets the cached token if `row` (just read) stores another one:
    /// another instance refreshed it, or the org disconnected and connected
    /// again, perhaps to another Lever account. Costs no query: callers pass
    /// the row they read anyway.
    pub fn observe(&self, row: &Connection) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache
            .as_ref()
            .is_some_and(|c| row.access_token_enc.as_deref() != Some(c.sealed.as_slice()))
        {
            *cache = None;
        }
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

    /// Refreshes unless the stored token already differs from `stale` and is
    /// fresh (another caller or instance refreshed meanwhile).
    async fn refresh(&self, stale: Option<&SecretString>) -> Result<SecretString, LeverError> {
        let _one = self.refreshing.lock().await;
        if let Some(c) = self.cached()
            && is_newer(&c, stale)
        {
            return Ok(c.token);
        }
        let mut held = self.db.hold().await.map_err(db_err)?;
        held.begin().await.map_err(db_err)?;
        let out = self.refresh_locked(&mut held, stale).await;
        match out {
            Ok(Refreshed::Current(token)) => held.commit().await.map(|()| token).map_err(db_err),
            Ok(Refreshed::New(grant)) => {
                let stored = self.store(&mut held, &grant).await;
                let committed = match stored {
                    Ok(()) => held.commit().await,
                    Err(e) => Err(e),
                };
                match committed {
                    Ok(()) => Ok(self.use_grant(grant)),
                    Err(e) => {
                        let _ = held.rollback().await;
                        self.store_after_failure(grant, e).await
                    }
                }
            }
            Err(e @ LeverError::NeedsReauth(_)) => held.commit().await.map_err(db_err).and(Err(e)),
            Err(e) => {
                let _ = held.rollback().await;
                Err(e)
            }
        }
    }

    /// Under the row lock (`FOR NO KEY UPDATE`: inserts that reference the
    /// connection, such as a completion's job, are not blocked while Lever
    /// answers), re-reads the row and refreshes unless another refresh
    /// already did.
    async fn refresh_locked(
        &self,
        held: &mut HeldConnection,
        stale: Option<&SecretString>,
    ) -> Result<Refreshed, LeverError> {
        let id = self.id.0;
        let row = held
            .run(move |c| Ok(Connection::lock(c, id)?))
            .await
            .map_err(db_err)?;
        let current = self.usable(&row)?;
        if is_newer(&current, stale) {
            let token = current.token.clone();
            self.remember(Some(current));
            return Ok(Refreshed::Current(token));
        }
        let oauth_cfg = self
            .env
            .oauth
            .as_ref()
            .ok_or_else(|| LeverError::Config("LEVER_CLIENT_ID/SECRET are not set".into()))?;
        let Some(refresh) = self.open(&row.refresh_token_enc) else {
            return self.give_up(held, "no refresh token is stored").await;
        };
        match oauth::refresh(&self.env.http, oauth_cfg, &refresh).await {
            Ok(grant) => Ok(Refreshed::New(SealedGrant {
                access_enc: self.secrets.seal(grant.access_token.expose_secret()),
                refresh_enc: grant
                    .refresh_token
                    .as_ref()
                    .map(|r| self.secrets.seal(r.expose_secret())),
                expires_at: grant.expires_at,
                token: grant.access_token,
            })),
            Err(LeverError::NeedsReauth(reason)) => self.give_up(held, &reason).await,
            Err(other) => Err(other),
        }
    }

    async fn store(&self, held: &mut HeldConnection, g: &SealedGrant) -> Result<(), DbError> {
        let (id, access, rotated, expires_at) = (
            self.id.0,
            g.access_enc.clone(),
            g.refresh_enc.clone(),
            g.expires_at,
        );
        held.run(move |c| {
            Ok(Connection::store_tokens(
                c,
                id,
                &access,
                rotated.as_deref(),
                expires_at,
            )?)
        })
        .await
        .map(|_| ())
    }

    /// Lever rotated the refresh token but storing it failed: the used one
    /// is dead, so the new one must not be lost. Store it again on fresh
    /// connections; if that keeps failing, say `needs_reauth` at once rather
    /// than leave a connection that fails later for no visible reason.
    async fn store_after_failure(
        &self,
        grant: SealedGrant,
        first: DbError,
    ) -> Result<SecretString, LeverError> {
        tracing::warn!(connection_id = %self.id, error = %first, "storing a refreshed Lever token failed; storing it again");
        for wait in STORE_RETRIES {
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
        self.forget();
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

    async fn give_up<T>(&self, held: &mut HeldConnection, reason: &str) -> Result<T, LeverError> {
        let id = self.id.0;
        let why = reason.to_owned();
        held.run(move |c| Ok(Connection::mark_needs_reauth(c, id, &why)?))
            .await
            .map_err(db_err)?;
        tracing::warn!(connection_id = %self.id, "Lever refused the grant; connection needs re-authorisation");
        self.forget();
        Err(LeverError::NeedsReauth(reason.to_owned()))
    }

    /// Refreshes when the token expires within `ahead`, or was last refreshed
    /// longer than `every` ago (Lever refresh tokens die after 90 days unused).
    pub async fn refresh_if_stale(
        &self,
        ahead: Duration,
        every: Duration,
    ) -> Result<(), LeverError> {
        let id = self.id.0;
        let row = self
            .db
            .run(move |c| Ok(Connection::find(c, id)?))
            .await
            .map_err(db_err)?;
        let current = self.usable(&row)?;
        let now = Utc::now();
        let old = row.last_refreshed_at.is_none_or(|t| t + every <= now);
        if current.expires_at - ahead <= now || old {
            self.remember(None);
            self.refresh(Some(&current.token)).await?;
        }
        Ok(())
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
            if let Some(c) = self.cached().filter(|c| c.expires_at - EARLY > Utc::now()) {
                return Ok(c.token);
            }
            let stored = self.load().await?;
            if stored.expires_at - EARLY > Utc::now() {
                self.remember(Some(stored.clone()));
                return Ok(stored.token);
            }
            self.refresh(Some(&stored.token)).await
        })
    }

    fn refresh_after_unauthorized<'a>(
        &'a self,
        rejected: &'a SecretString,
    ) -> LocalBoxFuture<'a, Result<SecretString, LeverError>> {
        Box::pin(async move {
            // The rejected token is stale whatever its expiry says.
            self.remember(None);
            self.refresh(Some(rejected)).await
        })
    }
}
