//! A pool's waiters wait without a thread: with only as many blocking
//! threads as the pool has connections, many callers at once and callers
//! holding a connection across awaits all finish, none timing out. A
//! connection set aside for a thread of its own is not one the async
//! callers count on.

use std::time::Duration;

use arkiter_lever::db::{DbError, Pool, PoolOptions};
use diesel::RunQueryDsl;
use futures_util::future::join_all;
use secrecy::SecretString;

use crate::helpers::test_db;

const CONNECTIONS: u32 = 2;
const CALLERS: usize = 50;

fn select_one(c: &mut diesel::PgConnection) -> Result<(), DbError> {
    diesel::sql_query("SELECT 1").execute(c)?;
    Ok(())
}

#[test]
fn waiters_need_no_thread_and_held_connections_are_released() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(CONNECTIONS as usize)
        .build()
        .unwrap();
    let pool = Pool::new(
        &SecretString::from(test_db().url("postgres")),
        PoolOptions {
            label: "test",
            max_size: CONNECTIONS,
            checkout_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: None,
            test_on_check_out: true,
        },
    );
    runtime.block_on(async {
        // Every connection held across awaits...
        let mut held = Vec::new();
        for _ in 0..CONNECTIONS {
            held.push(pool.hold().await.unwrap());
        }
        // ...while many callers queue for one. Were they to wait on the
        // blocking threads, the holders below would get none until the
        // callers' checkouts timed out.
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run(select_one).await })
            })
            .collect();
        tokio::task::yield_now().await;
        for h in &mut held {
            for _ in 0..3 {
                h.run(select_one).await.unwrap();
            }
        }
        drop(held);
        let all = tokio::time::timeout(Duration::from_secs(30), join_all(callers))
            .await
            .expect("the callers finished");
        let failed: Vec<String> = all
            .into_iter()
            .map(|r| r.unwrap())
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        assert!(failed.is_empty(), "callers failed: {failed:?}");
    });
}

/// With one of two connections set aside for a thread and held there, a
/// second async caller waits for a slot (and is told the pool is
/// saturated), instead of taking a slot and then waiting in the checkout.
#[test]
fn a_connection_set_aside_for_a_thread_is_not_an_async_slot() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = Pool::new(
        &SecretString::from(test_db().url("postgres")),
        PoolOptions {
            label: "test",
            max_size: 2,
            checkout_timeout: Duration::from_millis(500),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: None,
            test_on_check_out: true,
        },
    );
    pool.reserve_for_threads(1);
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let writer = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.run_here(|_| {
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
        })
    };
    held_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    runtime.block_on(async {
        let first = pool.hold().await.unwrap();
        let second = pool.hold().await;
        assert!(
            matches!(second, Err(DbError::Saturated(_))),
            "{:?}",
            second.err()
        );
        drop(first);
    });
    release_tx.send(()).unwrap();
    writer.join().unwrap().unwrap();
}
