//! Hostile clients and a database that goes away: input Postgres
//! cannot hold, stalled connections, and pools that heal.

mod contract;
mod embedded;
mod fuzz;
mod headers;
mod nul;
mod oauth_binding;
mod pg_restart;
mod restart;
mod slow;

use std::cell::Cell;

use diesel::RunQueryDsl;

use crate::helpers::{TestApp, poll_until};

/// The ingest pool's size (`Application::build`): after Postgres went away,
/// each of its dead connections fails at most one batch, then is dropped.
pub const INGEST_POOL: usize = 8;

/// Sends `delivery()` to `conn` one at a time until one gets 200 and
/// `/readyz` is 200 again; returns how many were refused before.
pub async fn refused_until_accepted(
    app: &TestApp,
    conn: &str,
    delivery: impl Fn() -> serde_json::Value,
) -> usize {
    let refused = Cell::new(0);
    poll_until(30, "a delivery accepted after the restart", || async {
        let accepted = app.post_webhook(conn, &delivery()).await.status == 200;
        refused.set(refused.get() + usize::from(!accepted));
        accepted.then_some(())
    })
    .await;
    poll_until(30, "readyz 200", || async {
        (app.readyz().await.status == 200).then_some(())
    })
    .await;
    refused.get()
}

/// Checks every answer is 200 or 503 and every 200 is stored exactly once
/// (read over one connection); returns how many got 200.
pub fn assert_acknowledged_stored_once(app: &TestApp, answers: &[(String, u16)]) -> usize {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut db = app.db();
    let mut accepted = 0;
    for (token, status) in answers {
        assert!([200, 503].contains(status), "{status}");
        if *status == 200 {
            accepted += 1;
            let rows: N =
                diesel::sql_query("SELECT count(*) AS n FROM lever_events WHERE token = $1")
                    .bind::<diesel::sql_types::Text, _>(token)
                    .get_result(&mut db)
                    .expect("count");
            assert_eq!(rows.n, 1, "an acknowledged delivery was lost or doubled");
        }
    }
    accepted
}
