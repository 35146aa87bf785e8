//! The database-backed token store of one connection: implements the Lever
//! client's [`TokenSource`].
//!
//! The access token is cached in memory until a minute before it expires.
//! A refresh runs one at a time in this process (an async mutex) and one at a
//! time across instances: under `SELECT ... FOR UPDATE` on the connection row,
//! re-reading it first in case another refresh just finished, and storing the
//! rotated refresh token in the same transaction (never dropping the stored
//! one when Lever's answer omits it). `invalid_grant` turns the connection
//! `needs_reauth`.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::env::LeverEnv;
use crate::db::models::connection::Connection;
use crate::db::{DbError, HeldConnection, Pool};
use crate::domain::ids::ConnectionId;
use crate::domain::secrets::SecretBox;
use crate::lever::{LeverError, TokenSource, oauth};

/// Refresh this long before expiry so no request leaves with a dying token.
const EARLY: Duration = Duration::seconds(60);

#[derive(Clone)]
struct Cached {
    token: SecretString,
    expires_at: DateTime<Utc>,
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

    fn open(&self, sealed: &Option<Vec<u8>>) -> Option<SecretString> {
        sealed
            .as_deref()
            .and_then(|b| self.secrets.open(b).ok())
            .map(SecretString::from)
    }

    /// The stored access token, if the connection holds a usable grant.
    fn usable(&self, row: &Connection) -> Result<Cached, LeverError> {
        if matches!(row.status.as_str(), "disconnected" | "needs_reauth") {
            return Err(LeverError::NeedsReauth(format!(
                "the connection is {}",
                row.status
            )));
        }
        let token = self
            .open(&row.access_token_enc)
            .ok_or_else(|| LeverError::NeedsReauth("no access token is stored".into()))?;
        Ok(Cached {
            token,
            expires_at: row.token_expires_at.unwrap_or_else(Utc::now),
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
        match &out {
            Ok(_) | Err(LeverError::NeedsReauth(_)) => held.commit().await.map_err(db_err)?,
            Err(_) => held.rollback().await.map_err(db_err)?,
        }
        out
    }

    async fn refresh_locked(
        &self,
        held: &mut HeldConnection,
        stale: Option<&SecretString>,
    ) -> Result<SecretString, LeverError> {
        let id = self.id.0;
        let row = held
            .run(move |c| Ok(Connection::lock(c, id)?))
            .await
            .map_err(db_err)?;
        let current = self.usable(&row)?;
        if is_newer(&current, stale) {
            self.remember(Some(current.clone()));
            return Ok(current.token);
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
            Ok(grant) => {
                let access = self.secrets.seal(grant.access_token.expose_secret());
                let rotated = grant
                    .refresh_token
                    .as_ref()
                    .map(|r| self.secrets.seal(r.expose_secret()));
                let expires_at = grant.expires_at;
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
                .map_err(db_err)?;
                tracing::info!(connection_id = %self.id, "Lever token refreshed");
                self.remember(Some(Cached {
                    token: grant.access_token.clone(),
                    expires_at,
                }));
                Ok(grant.access_token)
            }
            Err(LeverError::NeedsReauth(reason)) => self.give_up(held, &reason).await,
            Err(other) => Err(other),
        }
    }

    async fn give_up(
        &self,
        held: &mut HeldConnection,
        reason: &str,
    ) -> Result<SecretString, LeverError> {
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
