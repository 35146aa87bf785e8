//! One change to a connection's webhooks at Lever at a time: a connect, a
//! disconnect and a sweep's repair each list, delete and create webhooks,
//! and two of them interleaved would leave two webhooks for one event (or
//! repair what a disconnect just removed). Each holds the connection's
//! webhook-setup mark while it works; a mark left by a crash runs out after
//! [`setup::SETUP_HOLD`].

use uuid::Uuid;

use crate::connections::setup;
use crate::db::models::connection::Connection;
use crate::service::ServiceError;
use crate::state::AppState;

/// Takes the mark, waiting for another holder to finish (at most one hold).
pub async fn hold(state: &AppState, conn_id: Uuid) -> Result<(), ServiceError> {
    let hold = setup::SETUP_HOLD;
    let waited_from = std::time::Instant::now();
    while !state
        .db
        .run(move |c| Ok(Connection::mark_webhook_setup(c, conn_id, hold)?))
        .await?
    {
        if waited_from.elapsed() > hold {
            return Err(ServiceError::unavailable(
                "Arkiter is still changing this connection's webhooks in Lever; try again",
            ));
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Gives the mark back. Best effort: a mark left behind runs out.
pub async fn release(state: &AppState, conn_id: Uuid) {
    let cleared = state
        .db
        .run(move |c| Ok(Connection::unmark_webhook_setup(c, conn_id)?))
        .await;
    if let Err(e) = cleared {
        tracing::warn!(connection_id = %conn_id, error = %e, "could not clear the webhook-setup mark; it runs out by itself");
    }
}
