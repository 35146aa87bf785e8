//! Where a Lever connection's access token comes from.
//!
//! [`TokenSource`] is implemented by the app against the database (refresh
//! under a row lock, rotated refresh token stored in the same transaction).
//! [`InMemoryTokenSource`] is the simple version used by tests and usable by
//! the demo: tokens in memory, refresh through [`super::oauth`], one refresh
//! at a time (a `tokio::sync::Mutex` held across the refresh), and every
//! rotated grant handed to a caller callback so the caller's store keeps the
//! newest refresh token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret as _, SecretString};

use super::errors::LeverError;
use super::http::HttpSettings;
use super::oauth::{self, OAuthConfig, TokenGrant};

/// Gives the client a bearer token and refreshes it after a 401.
/// Futures need not be `Send` (awc is not); the source itself is shared.
pub trait TokenSource: Send + Sync {
    /// The current access token (refreshing first if it is about to expire).
    fn access_token(&self) -> LocalBoxFuture<'_, Result<SecretString, LeverError>>;

    /// The API answered 401 to `rejected`: refresh (one refresh at a time;
    /// if another caller already replaced `rejected`, return the newer token
    /// without refreshing again) or answer `NeedsReauth`.
    fn refresh_after_unauthorized<'a>(
        &'a self,
        rejected: &'a SecretString,
    ) -> LocalBoxFuture<'a, Result<SecretString, LeverError>>;
}

/// Called with every grant a refresh produced (rotated refresh token included).
pub type RotationCallback = Arc<dyn Fn(&TokenGrant) + Send + Sync>;

struct State {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_at: DateTime<Utc>,
    /// Set once Lever said the grant is gone; no further refresh is tried.
    dead: Option<String>,
}

/// An in-memory [`TokenSource`].
pub struct InMemoryTokenSource {
    http: Arc<HttpSettings>,
    oauth: OAuthConfig,
    state: tokio::sync::Mutex<State>,
    on_rotate: Option<RotationCallback>,
    refreshes: AtomicU32,
}

/// Refresh this long before `expires_at` so a request never leaves with a
/// token that dies in flight.
const EARLY_REFRESH: chrono::Duration = chrono::Duration::seconds(60);

impl InMemoryTokenSource {
    pub fn new(
        http: Arc<HttpSettings>,
        oauth: OAuthConfig,
        grant: &TokenGrant,
        on_rotate: Option<RotationCallback>,
    ) -> Self {
        Self {
            http,
            oauth,
            state: tokio::sync::Mutex::new(State {
                access: grant.access_token.clone(),
                refresh: grant.refresh_token.clone(),
                expires_at: grant.expires_at,
                dead: None,
            }),
            on_rotate,
            refreshes: AtomicU32::new(0),
        }
    }

    /// How many refreshes were sent to Lever (for tests and health).
    pub fn refresh_count(&self) -> u32 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The refresh token currently held.
    pub async fn current_refresh_token(&self) -> Option<SecretString> {
        self.state.lock().await.refresh.clone()
    }

    async fn refresh_locked(&self, state: &mut State) -> Result<SecretString, LeverError> {
        if let Some(reason) = &state.dead {
            return Err(LeverError::NeedsReauth(reason.clone()));
        }
        let Some(refresh) = state.refresh.clone() else {
            let reason = "no refresh token is stored".to_owned();
            state.dead = Some(reason.clone());
            return Err(LeverError::NeedsReauth(reason));
        };
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        match oauth::refresh(&self.http, &self.oauth, &refresh).await {
            Ok(grant) => {
                state.access = grant.access_token.clone();
                // `oauth::refresh` already keeps the old token when the
                // response omits one.
                state.refresh = grant.refresh_token.clone();
                state.expires_at = grant.expires_at;
                if let Some(cb) = &self.on_rotate {
                    cb(&grant);
                }
                Ok(grant.access_token)
            }
            Err(LeverError::NeedsReauth(reason)) => {
                state.dead = Some(reason.clone());
                Err(LeverError::NeedsReauth(reason))
            }
            Err(other) => Err(other),
        }
    }
}

impl TokenSource for InMemoryTokenSource {
    fn access_token(&self) -> LocalBoxFuture<'_, Result<SecretString, LeverError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if let Some(reason) = &state.dead {
                return Err(LeverError::NeedsReauth(reason.clone()));
            }
            if state.expires_at - EARLY_REFRESH <= Utc::now() && state.refresh.is_some() {
                return self.refresh_locked(&mut state).await;
            }
            Ok(state.access.clone())
        })
    }

    fn refresh_after_unauthorized<'a>(
        &'a self,
        rejected: &'a SecretString,
    ) -> LocalBoxFuture<'a, Result<SecretString, LeverError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if state.dead.is_none() && state.access.expose_secret() != rejected.expose_secret() {
                // Someone refreshed while we waited for the lock.
                return Ok(state.access.clone());
            }
            self.refresh_locked(&mut state).await
        })
    }
}

/// A fixed token that never refreshes (API keys, tests): a 401 means
/// re-authorisation.
pub struct StaticToken(pub SecretString);

impl TokenSource for StaticToken {
    fn access_token(&self) -> LocalBoxFuture<'_, Result<SecretString, LeverError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn refresh_after_unauthorized<'a>(
        &'a self,
        _rejected: &'a SecretString,
    ) -> LocalBoxFuture<'a, Result<SecretString, LeverError>> {
        Box::pin(async move {
            Err(LeverError::NeedsReauth(
                "the static token was refused".to_owned(),
            ))
        })
    }
}
