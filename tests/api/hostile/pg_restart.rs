//! A real Postgres restart, `-m fast` and `-m immediate`, under 64 concurrent
//! deliveries, on a private cluster (the shared test cluster keeps running
//! for the other tests): every 2xx is a row, and new deliveries get 2xx
//! again once Postgres is back, after at most one refusal per dead pooled
//! connection.

use arkiter_lever::db::embedded::EmbeddedPostgres;
use arkiter_lever::db::migrate;
use diesel::{Connection, PgConnection, RunQueryDsl};
use futures_util::future::join_all;
use serde_json::Value;

use super::{INGEST_POOL, assert_acknowledged_stored_once, refused_until_accepted};
use crate::helpers::{TestApp, test_settings};
use crate::support::server::InProcess;
use crate::webhooks::{KEY, stage_change};

fn delivery() -> Value {
    let opp = format!("opp-{}", uuid::Uuid::new_v4());
    stage_change(KEY, &opp, "stage-elsewhere")
}

/// A private cluster with a migrated database; `(cluster, db name, url)`.
fn private_cluster() -> (EmbeddedPostgres, String, String) {
    let pg = EmbeddedPostgres::start_temporary().unwrap();
    let name = format!("restart_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&pg.database_url("postgres")).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    // Temporary clusters run with synchronous_commit=off for speed, which an
    // immediate shutdown may legitimately cost recent commits: not here.
    diesel::sql_query(format!("ALTER DATABASE {name} SET synchronous_commit = on"))
        .execute(&mut admin)
        .unwrap();
    let url = pg.database_url(&name);
    migrate::run_pending_on(&mut PgConnection::establish(&url).unwrap()).unwrap();
    (pg, name, url)
}

#[actix_web::test]
async fn deliveries_survive_fast_and_immediate_restarts() {
    let (pg, name, url) = actix_web::rt::task::spawn_blocking(private_cluster)
        .await
        .unwrap();
    let settings = test_settings(&url);
    let admin = settings.admin_token.clone().unwrap();
    let key = settings.encryption_key.clone().unwrap();
    let admin = secrecy::ExposeSecret::expose_secret(&admin).to_owned();
    let app = TestApp::serving(InProcess::start(settings), &admin, &name, &url, key);
    let (org, _) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some("stage-live"), &[KEY]);
    let mut pg = Some(pg);
    let mut answers = Vec::new();
    for immediate in [false, true] {
        let bodies: Vec<Value> = (0..64).map(|_| delivery()).collect();
        let mut cluster = pg.take().unwrap();
        let restart = actix_web::rt::task::spawn_blocking(move || {
            cluster.restart(immediate).unwrap();
            cluster
        });
        let sends = join_all(bodies.iter().map(|b| app.post_webhook(&conn, b)));
        let (sent, cluster) = futures_util::join!(sends, restart);
        pg = Some(cluster.unwrap());
        let refused = refused_until_accepted(&app, &conn, delivery).await;
        assert!(
            refused <= INGEST_POOL,
            "immediate={immediate}: {refused} deliveries refused after the restart"
        );
        for (b, r) in bodies.iter().zip(sent) {
            answers.push((b["token"].as_str().unwrap().to_owned(), r.status));
        }
    }
    let accepted = assert_acknowledged_stored_once(&app, &answers);
    eprintln!(
        "{accepted} of {} deliveries in flight across the restarts got 200",
        answers.len()
    );
    let mut cluster = pg.take().unwrap();
    actix_web::rt::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();
}
