//! A pool's waiters wait without a thread: with only as many blocking
//! threads as the pool has connections, many callers at once and callers
//! holding a connection across awaits all finish, none timing out.

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
            max_size: CONNECTIONS,
            checkout_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
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
