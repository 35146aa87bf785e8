//! Database access: connection pools, the one helper that runs Diesel off the
//! async threads, migrations, and the embedded cluster used when `DATABASE_URL`
//! is unset (the `pg-embedded` crate, kept at its old path as [`embedded`]).

pub mod conn;
pub mod errlog;
pub mod metrics;
pub mod migrate;
pub mod models;
pub mod notify;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, Pool as R2d2Pool, PooledConnection};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use crate::config::PoolOptions;
use crate::domain::errors::Chain;
pub use conn::PgConn;
use conn::{Manager, is_connection_lost};
pub use pg_embedded as embedded;

pub type PgPooled = PooledConnection<Manager>;

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time: the database is down or saturated.
    #[error("database unavailable: {0}")]
    Unavailable(#[from] diesel::r2d2::PoolError),
    /// Every connection stayed in use past the checkout deadline.
    #[error("database unavailable: every connection stayed in use for {0:?}")]
    Saturated(Duration),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

/// An r2d2 pool of Postgres connections.
///
/// Async callers first take one of the pool's slots (as many as it has
/// connections), waiting for it without a thread, and only then go to a
/// blocking thread for the checkout, which is then immediate. Waiting for a
/// connection on a blocking thread instead would need a thread per waiter:
/// 10,000 accounts grew the runtime to 530 threads, and with fewer threads
/// than waiters a held connection could not get the thread it needs to be
/// released ([`PoolSettings::blocking_threads`] relies on this).
///
/// [`PoolSettings::blocking_threads`]: crate::config::PoolSettings::blocking_threads
#[derive(Clone)]
pub struct Pool {
    inner: R2d2Pool<Manager>,
    slots: Arc<Semaphore>,
    checkout_timeout: Duration,
}

#[derive(Debug)]
struct SessionSettings {
    statement_timeout_ms: u128,
    lock_timeout_ms: Option<u128>,
}

impl CustomizeConnection<PgConn, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConn) -> Result<(), diesel::r2d2::Error> {
        // A runaway query must not hold a pooled connection forever.
        let lock = self
            .lock_timeout_ms
            .map_or_else(String::new, |ms| format!("; SET lock_timeout = {ms}"));
        diesel::connection::SimpleConnection::batch_execute(
            &mut **conn,
            &format!(
                "SET statement_timeout = {}{lock}",
                self.statement_timeout_ms
            ),
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// r2d2 logs every failed connection attempt at error level, which while
/// the database is down is several lines a second: counted and logged
/// sparingly instead ([`errlog`]).
#[derive(Debug)]
struct SparseErrorLog;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for SparseErrorLog {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        if let Some(suppressed) = errlog::allow("pool_connect") {
            tracing::error!(%error, suppressed, "database connection failed");
        }
    }
}

impl Pool {
    /// Builds the pool without connecting, so the service can start (and report
    /// itself not ready) while the database is down.
    pub fn new(url: &SecretString, opts: PoolOptions) -> Self {
        let manager = Manager::new(url.expose_secret(), opts.test_on_check_out, opts.label);
        let inner = R2d2Pool::builder()
            .max_size(opts.max_size)
            .min_idle(Some(0))
            // The manager decides how much testing a checkout needs.
            .test_on_check_out(true)
            .connection_timeout(opts.checkout_timeout)
            .error_handler(Box::new(SparseErrorLog))
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout_ms: opts.statement_timeout.as_millis(),
                lock_timeout_ms: opts.lock_timeout.map(|t| t.as_millis()),
            }))
            .build_unchecked(manager);
        Self {
            inner,
            slots: Arc::new(Semaphore::new(opts.max_size as usize)),
            checkout_timeout: opts.checkout_timeout,
        }
    }

    /// One of the pool's slots, within `within` (see [`Pool`]).
    async fn slot(&self, within: Duration) -> Result<OwnedSemaphorePermit, DbError> {
        match tokio::time::timeout(within, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one would mean no slots.
            Ok(Err(_)) | Err(_) => Err(DbError::Saturated(within)),
        }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, carrying
    /// the caller's tracing span. Checkout blocks too, so it happens inside.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, DbError> + Send + 'static,
    {
        let slot = self.slot(self.checkout_timeout).await?;
        let pool = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _slot = slot;
            pool.run_here(f)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Takes `n` connections out of the async callers' slots, for threads
    /// of the caller's own that check out with [`Pool::run_here`] (ingest's
    /// writers). Without it such threads could hold connections that the
    /// slots promise, and a caller holding a slot would then wait in the
    /// checkout on a blocking thread after all.
    pub fn reserve_for_threads(&self, n: usize) {
        self.slots.forget_permits(n);
    }

    /// Like [`Pool::run`], on the calling thread, which must be one allowed
    /// to block and hold no slot (inside [`Pool::run`], or a thread whose
    /// connection was set aside with [`Pool::reserve_for_threads`]):
    /// checkout waits up to the pool's deadline.
    pub fn run_here<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.inner.get()?;
        let out = f(&mut conn);
        conn.after_use(out.is_ok());
        out
    }

    /// Like [`Pool::run`], inside one transaction; `f`'s own error type is kept
    /// (it rolls the transaction back).
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    {
        let slot = self.slot(self.checkout_timeout).await?;
        let pool = self.inner.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _slot = slot;
            let mut conn = pool.get().map_err(DbError::from)?;
            let out = diesel::Connection::transaction(&mut **conn, f);
            conn.after_use(out.is_ok());
            out
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Checks out a connection to hold across awaits (a row lock held while
    /// Lever answers a token refresh).
    pub async fn hold(&self) -> Result<HeldConnection, DbError> {
        let slot = self.slot(self.checkout_timeout).await?;
        let pool = self.inner.clone();
        let conn = tokio::task::spawn_blocking(move || pool.get())
            .await
            .map_err(|e| DbError::Task(e.to_string()))??;
        Ok(HeldConnection {
            conn: Some(conn),
            in_tx: false,
            _slot: slot,
        })
    }

    /// `SELECT 1` with a short checkout deadline, for readiness checks. A
    /// connection the server dropped is discarded and another tried, so the
    /// answer is about the database, not about one stale connection.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let deadline = std::time::Instant::now() + timeout;
        let slot = self.slot(timeout).await?;
        let pool = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let mut conn = pool.get_timeout(left.max(Duration::from_millis(1)))?;
                let out = diesel::sql_query("SELECT 1").execute(&mut **conn);
                conn.after_use(out.is_ok());
                match out {
                    Err(e) if is_connection_lost(&e) && left > Duration::ZERO => continue,
                    other => return other.map(|_| ()).map_err(DbError::from),
                }
            }
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

/// A pooled connection kept across awaits, with an explicit transaction that
/// is rolled back if the holder is dropped before committing.
pub struct HeldConnection {
    conn: Option<PgPooled>,
    in_tx: bool,
    /// Dropped after `conn` has gone back to the pool (fields drop in order).
    _slot: OwnedSemaphorePermit,
}

impl HeldConnection {
    /// Runs `f` on the blocking pool with this connection.
    pub async fn run<T, F>(&mut self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, DbError> + Send + 'static,
    {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| DbError::Task("held connection was lost".into()))?;
        let span = tracing::Span::current();
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let out = f(&mut conn);
            conn.after_use(out.is_ok());
            (conn, out)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?;
        self.conn = Some(conn);
        out
    }

    pub async fn begin(&mut self) -> Result<(), DbError> {
        self.run(|c| Ok(AnsiTransactionManager::begin_transaction(c)?))
            .await?;
        self.in_tx = true;
        Ok(())
    }

    pub async fn commit(&mut self) -> Result<(), DbError> {
        self.in_tx = false;
        self.run(|c| Ok(AnsiTransactionManager::commit_transaction(c)?))
            .await
    }

    pub async fn rollback(&mut self) -> Result<(), DbError> {
        self.in_tx = false;
        self.run(|c| Ok(AnsiTransactionManager::rollback_transaction(c)?))
            .await
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        // Never hand a connection back to the pool inside a transaction.
        if self.in_tx
            && let Some(conn) = self.conn.as_mut()
        {
            let _ = AnsiTransactionManager::rollback_transaction(&mut ***conn);
        }
    }
}

/// Watches the embedded cluster and restarts it if it dies
/// ([`embedded::supervise`]); each failed restart attempt is counted in
/// `arkiter_db_errors_total{site="embedded_restart"}` and logged sparingly
/// ([`errlog`]).
pub fn supervise_embedded(
    pg: embedded::EmbeddedPostgres,
) -> std::io::Result<embedded::supervise::Supervised> {
    embedded::supervise::supervise(pg, |e| {
        if let Some(suppressed) = errlog::allow("embedded_restart") {
            tracing::warn!(error = %Chain(e), suppressed, "embedded PostgreSQL did not start yet; retrying");
        }
    })
}
