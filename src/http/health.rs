//! Liveness and readiness: `/healthz` answers while the process runs; `/readyz`
//! answers 200 only while both pools (admin/workers and webhook ingest) can
//! get a working database connection and the pipeline registry completed a
//! lease cycle recently (so its actors run and reach the database through
//! their own pool). A pool whose connections the server dropped discards
//! them and connects again, so `/readyz` turns 200 as soon as the database
//! is back.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

/// How long readiness waits for a database connection before calling it down.
const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (main, ingest) = futures_util::join!(
        state.db.ping(DB_PROBE_TIMEOUT),
        state.ingest.pool().ping(DB_PROBE_TIMEOUT)
    );
    let db = main
        .map_err(|e| format!("database: {e}"))
        .and_then(|()| ingest.map_err(|e| format!("database (webhook ingest pool): {e}")));
    let registry = state.pulse.problem();
    let actors = actix::System::try_current().is_some() && registry.is_none();
    match (&db, actors) {
        (Ok(()), true) => HttpResponse::Ok().json(json!({
            "status": "ready", "database": "ok", "actors": "ok"
        })),
        _ => {
            let reason = match &db {
                Err(e) => e.clone(),
                Ok(()) => registry.unwrap_or_else(|| "actor system is not running".to_owned()),
            };
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "not_ready",
                "database": if db.is_ok() { "ok" } else { "down" },
                "actors": if actors { "ok" } else { "down" },
                "reason": reason,
            }))
        }
    }
}
