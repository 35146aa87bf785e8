//! One handle per connection: its governor limiter and token store. The
//! [`Handles`] map keeps them for the life of the process, so a restarted
//! supervisor or a one-off admin request gets the same limiter back (never a
//! fresh burst), and drops a handle on disconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use governor::DefaultDirectRateLimiter;
use secrecy::SecretString;

use super::env::LeverEnv;
use super::token_store::DbTokenSource;
use crate::db::Pool;
use crate::db::models::connection::Connection;
use crate::domain::ids::ConnectionId;
use crate::domain::secrets::SecretBox;
use crate::lever::{LeverClient, LeverClientConfig, LeverError, StaticToken, new_limiter};

/// Everything a Lever call of one connection goes through.
pub struct ConnectionHandle {
    pub id: ConnectionId,
    env: LeverEnv,
    limiter: Arc<DefaultDirectRateLimiter>,
    tokens: Arc<DbTokenSource>,
}

impl ConnectionHandle {
    /// Drops a token cached from an older state of the connection, seen in
    /// `row` as just read: refreshed or reconnected elsewhere.
    pub fn observe(&self, row: &Connection) {
        self.tokens.observe(row);
    }

    fn config(&self, perform_as: Option<String>) -> LeverClientConfig {
        LeverClientConfig {
            api_url: self.env.api_url.clone(),
            retry: self.env.retry.clone(),
            perform_as,
            http: self.env.http.clone(),
            observer: None,
            fence: None,
            recorder: None,
        }
    }

    /// A client using the connection's stored tokens (refreshed as needed).
    pub fn client(&self, perform_as: Option<String>) -> LeverClient {
        LeverClient::new(
            self.config(perform_as),
            self.limiter.clone(),
            self.tokens.clone(),
        )
    }

    /// A client using a token not yet stored (the OAuth callback's fresh
    /// grant), still within the connection's rate limit.
    pub fn client_with_token(&self, token: SecretString) -> LeverClient {
        LeverClient::new(
            self.config(None),
            self.limiter.clone(),
            Arc::new(StaticToken(token)),
        )
    }

    pub fn tokens(&self) -> &Arc<DbTokenSource> {
        &self.tokens
    }

    pub fn limiter(&self) -> &Arc<DefaultDirectRateLimiter> {
        &self.limiter
    }
}

/// The process's handles, by connection.
pub struct Handles {
    env: LeverEnv,
    db: Pool,
    secrets: SecretBox,
    map: Mutex<HashMap<ConnectionId, Arc<ConnectionHandle>>>,
}

impl Handles {
    pub fn new(env: LeverEnv, db: Pool, secrets: SecretBox) -> Self {
        Self {
            env,
            db,
            secrets,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn env(&self) -> &LeverEnv {
        &self.env
    }

    /// The connection's handle, created on first use.
    pub fn get(&self, id: ConnectionId) -> Result<Arc<ConnectionHandle>, LeverError> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = map.get(&id) {
            return Ok(h.clone());
        }
        let handle = Arc::new(ConnectionHandle {
            id,
            env: self.env.clone(),
            limiter: new_limiter(self.env.rate_per_sec, self.env.burst)?,
            tokens: Arc::new(DbTokenSource::new(
                id,
                self.db.clone(),
                self.secrets.clone(),
                self.env.clone(),
            )),
        });
        map.insert(id, handle.clone());
        Ok(handle)
    }

    /// Forgets a disconnected connection's handle (and its cached token).
    pub fn remove(&self, id: ConnectionId) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&id);
    }
}
