//! Liveness and readiness: `/healthz` answers while the process runs; `/readyz`
//! answers 200 only while the database answers and the pipeline registry
//! completed a lease cycle recently (so its actors run and can reach the
//! database through their own pool).

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::app::AppState;

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
    let db = state.db.ping(DB_PROBE_TIMEOUT).await;
    let registry = state.pulse.problem();
    let actors = actix::System::try_current().is_some() && registry.is_none();
    match (&db, actors) {
        (Ok(()), true) => HttpResponse::Ok().json(json!({
            "status": "ready", "database": "ok", "actors": "ok"
        })),
        _ => {
            let reason = match &db {
                Err(e) => format!("database: {e}"),
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
