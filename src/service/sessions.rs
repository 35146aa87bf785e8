//! Console sessions: signing in with an org key or the super-admin token
//! starts one, a cookie value finds it again, signing out ends it. Only the
//! SHA-256 of the cookie's random value is stored, with the key it signed in
//! with (never the key itself), its role and the session's CSRF token. A
//! session ends after [`LIFETIME_HOURS`], on sign-out, or at once when its
//! key is deleted (its row goes with the key).

use chrono::Utc;
use rand::RngCore;

use super::ServiceError;
use super::access::{Caller, KeyRole, authenticate};
use crate::db::models::console_session::{self as table, NewSession};
use crate::domain::api_keys::digest;
use crate::domain::ids::OrgId;
use crate::state::AppState;

/// A session's lifetime.
pub const LIFETIME_HOURS: i64 = 12;

/// A session just started: the cookie value to hand the browser (its only
/// copy) and who signed in.
#[derive(Debug)]
pub struct Started {
    pub cookie: String,
    pub caller: Caller,
}

/// A live session: who it acts as and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
}

/// 32 random bytes as hex: cookie values and CSRF tokens.
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// Signs in with `key` (an org key or the super-admin token). A wrong key is
/// `unauthorized`.
#[tracing::instrument(skip_all)]
pub async fn sign_in(state: &AppState, key: &str) -> Result<Started, ServiceError> {
    let caller = authenticate(state, key.trim()).await?;
    let cookie = random_token();
    let csrf = random_token();
    let id = digest(&cookie);
    let expires_at = Utc::now() + chrono::Duration::hours(LIFETIME_HOURS);
    let (key_id, org_id, role) = match &caller {
        Caller::Super => (None, None, "super"),
        Caller::Key {
            key_id,
            org_id,
            role,
        } => (Some(*key_id), Some(org_id.0), role.as_str()),
    };
    state
        .db
        .run(move |c| {
            let row = NewSession {
                id_sha256: &id,
                key_id,
                org_id,
                role,
                csrf_token: &csrf,
                expires_at,
            };
            Ok(table::insert(c, &row)?)
        })
        .await?;
    Ok(Started { cookie, caller })
}

/// The live session behind a cookie value, if any. A super-admin session
/// no longer counts once the super-admin token is unset.
#[tracing::instrument(skip_all)]
pub async fn find(state: &AppState, cookie: &str) -> Result<Option<Session>, ServiceError> {
    let id = digest(cookie);
    let Some(row) = state.db.run(move |c| Ok(table::find_live(c, &id)?)).await? else {
        return Ok(None);
    };
    let caller = match (row.role.as_str(), row.key_id, row.org_id) {
        ("super", None, _) if state.settings.admin_token.is_some() => Caller::Super,
        (role, Some(key_id), Some(org_id)) => match KeyRole::parse(role) {
            Some(role) => Caller::Key {
                key_id,
                org_id: OrgId(org_id),
                role,
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(Session {
        caller,
        csrf: row.csrf_token,
    }))
}

/// Ends the session behind a cookie value now.
#[tracing::instrument(skip_all)]
pub async fn sign_out(state: &AppState, cookie: &str) -> Result<(), ServiceError> {
    let id = digest(cookie);
    state.db.run(move |c| Ok(table::delete(c, &id)?)).await?;
    Ok(())
}
