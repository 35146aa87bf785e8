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
    /// Posting id → title: postings rarely change and every interview needs one.
    posting_titles: Mutex<HashMap<String, String>>,
    /// Held while a missing title is read from Lever, so units missing at
    /// once read it once (see [`ConnectionHandle::posting_read`]).
    posting_read: tokio::sync::Mutex<()>,
    /// The Lever account the cached titles came from.
    titles_account: Mutex<Option<String>>,
}

impl ConnectionHandle {
    /// Drops what is cached from an older state of the connection, seen in
    /// `row` as just read: a token refreshed or reconnected elsewhere, or
    /// postings of another Lever account.
    pub fn observe(&self, row: &Connection) {
        self.tokens.observe(row);
        let mut account = self
            .titles_account
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *account != row.lever_account_id {
            self.posting_titles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            account.clone_from(&row.lever_account_id);
        }
    }

    pub fn cached_posting_title(&self, posting: &str) -> Option<String> {
        let map = self
            .posting_titles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.get(posting).cloned()
    }

    /// Taken before reading a posting the cache misses; the holder reads,
    /// the others then find the title cached. Misses are rare (once per
    /// posting per connection), so one lock for all postings is enough.
    pub async fn posting_read(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.posting_read.lock().await
    }

    pub fn cache_posting_title(&self, posting: &str, title: &str) {
        let mut map = self
            .posting_titles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.insert(posting.to_owned(), title.to_owned());
    }

    fn config(&self, perform_as: Option<String>) -> LeverClientConfig {
        LeverClientConfig {
            api_url: self.env.api_url.clone(),
            retry: self.env.retry.clone(),
            perform_as,
            http: self.env.http.clone(),
            observer: None,
            fence: None,
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
            posting_titles: Mutex::new(HashMap::new()),
            posting_read: tokio::sync::Mutex::new(()),
            titles_account: Mutex::new(None),
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
