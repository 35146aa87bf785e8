//! Connected accounts written straight into the database, as the connect
//! flow leaves them (an org, an active connection with sealed tokens), for
//! benchmarks that need thousands of them without running each one's OAuth
//! flow.

use arkiter_lever::domain::secrets::SecretBox;
use diesel::RunQueryDsl;
use diesel::sql_types::{Array, Bytea, Double, Text, Uuid as SqlUuid};

/// One account to seed: its Lever account id and its tokens in clear.
pub struct Account {
    pub lever_account_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Orgs named `{name} {i}`, each with one active connection in stage
/// `stage`, its access token valid for an hour and last refreshed (and
/// connected) `refreshed_hours_ago`; the org ids.
pub fn connected(
    db_url: &str,
    secrets: &SecretBox,
    name: &str,
    stage: &str,
    accounts: &[Account],
    refreshed_hours_ago: f64,
) -> Vec<uuid::Uuid> {
    let n = accounts.len();
    let mut c = super::bed::connect(db_url);
    let orgs: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::new_v4()).collect();
    let conns: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::new_v4()).collect();
    let names: Vec<String> = (0..n).map(|i| format!("{name} {i}")).collect();
    let lever: Vec<&str> = accounts
        .iter()
        .map(|a| a.lever_account_id.as_str())
        .collect();
    let access: Vec<Vec<u8>> = accounts
        .iter()
        .map(|a| secrets.seal(&a.access_token))
        .collect();
    let refresh: Vec<Vec<u8>> = accounts
        .iter()
        .map(|a| secrets.seal(&a.refresh_token))
        .collect();
    diesel::sql_query("INSERT INTO orgs (id, name) SELECT * FROM unnest($1::uuid[], $2::text[])")
        .bind::<Array<SqlUuid>, _>(&orgs)
        .bind::<Array<Text>, _>(&names)
        .execute(&mut c)
        .expect("orgs");
    diesel::sql_query(
        "INSERT INTO connections (id, org_id, status, lever_account_id, stage_id, stage_found, \
         access_token_enc, refresh_token_enc, token_expires_at, token_state, last_refreshed_at, \
         scopes, connected_at) \
         SELECT c, o, 'active', a, $6, true, t, r, now() + interval '1 hour', 'valid', \
                now() - make_interval(secs => $7 * 3600), $8, now() - make_interval(secs => $7 * 3600) \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bytea[], $5::bytea[]) AS x(c, o, a, t, r)",
    )
    .bind::<Array<SqlUuid>, _>(&conns)
    .bind::<Array<SqlUuid>, _>(&orgs)
    .bind::<Array<Text>, _>(&lever)
    .bind::<Array<Bytea>, _>(&access)
    .bind::<Array<Bytea>, _>(&refresh)
    .bind::<Text, _>(stage)
    .bind::<Double, _>(refreshed_hours_ago)
    .bind::<Text, _>(arkiter_lever::lever::SCOPES)
    .execute(&mut c)
    .expect("connections");
    orgs
}
