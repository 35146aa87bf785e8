//! Pooled connections that notice when the server dropped them.
//!
//! Diesel's r2d2 manager calls a connection broken only when its transaction
//! manager is: a connection the server closed (Postgres restarted, the
//! backend was terminated, the TCP link cut) goes back to the pool looking
//! healthy and fails every later use. Here each connection carries a flag its
//! own instrumentation sets when a query fails for want of a connection
//! (`ClosedConnection`, `UnableToSendCommand`): the pool then discards it
//! instead of handing it out again.
//!
//! A server that went away usually took every idle connection with it, so the
//! first loss also bumps the pool's *epoch*. A pool that does not test every
//! checkout (the ingest pool, where a round trip per batch costs throughput)
//! still tests a connection that has not proved itself since the last loss,
//! or for [`TRUST_FOR`]: so after a restart only the requests already in
//! flight fail, and the next ones get fresh connections.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Error, ManageConnection};
use diesel::result::{DatabaseErrorKind as K, Error as Q};

/// How long a connection that just worked is trusted without a test.
pub const TRUST_FOR: Duration = Duration::from_secs(1);

/// A pooled Postgres connection with what the pool knows of its health.
pub struct PgConn {
    conn: PgConnection,
    lost: Arc<AtomicBool>,
    /// When it last proved to work (a test, or a statement that succeeded).
    proved_at: Instant,
    /// The pool's epoch at that moment.
    epoch: u64,
    /// The pool's epoch, bumped on every loss.
    pool_epoch: Arc<AtomicU64>,
}

impl PgConn {
    /// After a use: a success proves the connection; a loss marks it for
    /// discarding and makes every other connection of the pool suspect.
    pub fn after_use(&mut self, succeeded: bool) {
        if self.lost.load(Ordering::SeqCst) {
            self.pool_epoch.fetch_add(1, Ordering::SeqCst);
            crate::db::metrics::connection_lost();
        } else if succeeded {
            self.proved_at = Instant::now();
        }
    }
}

impl Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// Whether `e` is the database's state rather than the statement's data:
/// the connection is gone, a lock or statement timeout cancelled it, a
/// deadlock or serialization conflict, a read-only (recovering) server, or
/// a server shutting down. Trying the same rows again later may succeed;
/// trying them one by one now would only wait the same way for each.
pub fn is_transient(e: &Q) -> bool {
    if is_connection_lost(e) {
        return true;
    }
    match e {
        Q::DatabaseError(K::SerializationFailure | K::ReadOnlyTransaction, _)
        | Q::BrokenTransactionManager => true,
        // Postgres names these only by SQLSTATE, which diesel does not
        // pass on: 55P03 (lock timeout), 57014 (statement timeout or
        // cancel), 40P01 (deadlock).
        Q::DatabaseError(K::Unknown, info) => {
            let m = info.message();
            m.starts_with("canceling statement")
                || m.starts_with("could not obtain lock")
                || m.starts_with("deadlock detected")
        }
        _ => false,
    }
}

/// Whether `e` means the connection itself is gone: closed, or ended by
/// the server (`terminating connection ...`, 57P01 and its kin, which
/// arrive as the first statement's error before the socket closes).
pub fn is_connection_lost(e: &Q) -> bool {
    match e {
        Q::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => true,
        Q::DatabaseError(K::Unknown, info) => info.message().starts_with("terminating connection"),
        _ => false,
    }
}

/// Counts every statement (`arkiter_db_statements_total`: how busy a
/// process keeps the database when it has nothing new to do), and sets
/// `lost` when one fails for want of a connection.
struct StatementWatch {
    lost: Arc<AtomicBool>,
    statements: Option<prometheus::IntCounter>,
}

impl Instrumentation for StatementWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            if let Some(c) = &self.statements {
                c.inc();
            }
            if error.is_some_and(is_connection_lost) {
                self.lost.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// The r2d2 manager of [`PgConn`]s.
pub struct Manager {
    inner: ConnectionManager<PgConnection>,
    epoch: Arc<AtomicU64>,
    test_every_checkout: bool,
    /// The pool's name in metrics.
    label: &'static str,
}

impl Manager {
    pub fn new(url: &str, test_every_checkout: bool, label: &'static str) -> Self {
        Self {
            inner: ConnectionManager::new(url),
            epoch: Arc::new(AtomicU64::new(0)),
            test_every_checkout,
            label,
        }
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn trusted(&self, conn: &PgConn) -> bool {
        !self.test_every_checkout
            && conn.epoch == self.epoch()
            && conn.proved_at.elapsed() < TRUST_FOR
    }
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    fn connect(&self) -> Result<PgConn, Error> {
        let mut conn = self.inner.connect()?;
        let lost = Arc::new(AtomicBool::new(false));
        conn.set_instrumentation(StatementWatch {
            lost: lost.clone(),
            statements: super::metrics::statements(self.label),
        });
        Ok(PgConn {
            conn,
            lost,
            proved_at: Instant::now(),
            epoch: self.epoch(),
            pool_epoch: self.epoch.clone(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Error> {
        if conn.lost.load(Ordering::SeqCst) {
            return Err(Error::QueryError(Q::BrokenTransactionManager));
        }
        if self.trusted(conn) {
            return Ok(());
        }
        let epoch = self.epoch();
        if let Err(e) = self.inner.is_valid(&mut conn.conn) {
            // Whatever dropped this one probably dropped its siblings too.
            self.epoch.fetch_add(1, Ordering::SeqCst);
            crate::db::metrics::connection_lost();
            return Err(e);
        }
        conn.proved_at = Instant::now();
        conn.epoch = epoch;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.lost.load(Ordering::SeqCst) || self.inner.has_broken(&mut conn.conn)
    }
}
