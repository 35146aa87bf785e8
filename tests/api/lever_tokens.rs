//! The connection's tokens: one refresh at a time across instances, secrets
//! sealed at rest, and tenant isolation of every connection and role route.

use arkiter_lever::config::Settings;
use arkiter_lever::connections::{Handles, LeverEnv};
use arkiter_lever::db::{Pool, PoolOptions};
use arkiter_lever::domain::ids::ConnectionId;
use arkiter_lever::domain::secrets::{EncryptionKey, SecretBox};
use arkiter_lever::lever::TokenSource;
use arkiter_lever::lever::sim::SimHandle;
use base64::Engine;
use diesel::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::lever_flow::{point_at, scenario, spawn_with_sim};

#[derive(diesel::QueryableByName)]
struct Sealed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    access_token_enc: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    refresh_token_enc: Vec<u8>,
}

fn sealed(app: &crate::helpers::TestApp) -> Sealed {
    diesel::sql_query("SELECT id, access_token_enc, refresh_token_enc FROM connections WHERE access_token_enc IS NOT NULL")
        .get_result(&mut app.db())
        .unwrap()
}

/// The connection's stored tokens, opened.
struct Stored {
    row: Sealed,
    sb: SecretBox,
    access: SecretString,
    refresh: String,
}

/// A connected scenario and its stored tokens.
async fn connected_with_tokens() -> (
    crate::helpers::TestApp,
    SimHandle,
    crate::lever_flow::Scenario,
    Stored,
) {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let tokens = stored(&app);
    (app, sim, s, tokens)
}

fn stored(app: &crate::helpers::TestApp) -> Stored {
    let row = sealed(app);
    let sb = SecretBox::new(&app.encryption_key);
    let access = SecretString::from(sb.open(&row.access_token_enc).unwrap());
    let refresh = sb.open(&row.refresh_token_enc).unwrap();
    Stored {
        row,
        sb,
        access,
        refresh,
    }
}

/// A second process's view of the same connection: its own handles (own
/// limiter, own token cache) over the same database.
fn other_instance(
    app: &crate::helpers::TestApp,
    sim: &arkiter_lever::lever::sim::SimHandle,
) -> Handles {
    let mut s = Settings::from_lookup(|_| None).unwrap();
    point_at(&mut s, sim);
    let env = LeverEnv::new(&s.lever, &app.address).unwrap();
    let pool = Pool::new(
        &SecretString::from(app.db_url.clone()),
        PoolOptions {
            label: "test",
            max_size: 4,
            checkout_timeout: std::time::Duration::from_secs(5),
            statement_timeout: std::time::Duration::from_secs(10),
            lock_timeout: None,
            test_on_check_out: true,
        },
    );
    Handles::new(env, pool, SecretBox::new(&app.encryption_key))
}

#[actix_web::test]
async fn concurrent_refreshes_from_two_instances_make_one_lever_call() {
    let (app, sim, s, tokens) = connected_with_tokens().await;
    let Stored {
        row,
        sb,
        access: old,
        refresh: old_refresh,
    } = tokens;
    let (a, b) = (other_instance(&app, &sim), other_instance(&app, &sim));
    let id = ConnectionId(row.id);
    let (ha, hb) = (a.get(id).unwrap(), b.get(id).unwrap());
    sim.clear_call_log();
    let (ra, rb) = futures_util::join!(
        ha.tokens().refresh_after_unauthorized(&old),
        hb.tokens().refresh_after_unauthorized(&old)
    );
    let (ta, tb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ta.expose_secret(),
        tb.expose_secret(),
        "both end with the new token"
    );
    assert_ne!(ta.expose_secret(), old.expose_secret());
    let refreshes = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.path == "/oauth/token")
        .count();
    assert_eq!(refreshes, 1, "{:#?}", sim.calls_for(&s.account));
    // The rotated refresh token was stored; the connection is still active.
    let now = sealed(&app);
    assert_ne!(sb.open(&now.refresh_token_enc).unwrap(), old_refresh);
    assert_eq!(app.get_lever(&s.org, &s.key).await.body["status"], "active");
    // And it works: a read through the app's own handle goes through.
    let third = other_instance(&app, &sim);
    let client = third.get(id).unwrap().client(None);
    assert!(client.list_stages().await.is_ok());
}

#[actix_web::test]
async fn secrets_at_rest_are_sealed() {
    let (app, sim) = spawn_with_sim().await;
    let _s = scenario(&app, &sim).await;
    let row = sealed(&app);
    let sb = SecretBox::new(&app.encryption_key);
    #[derive(diesel::QueryableByName)]
    struct Hook {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        signature_token_enc: Vec<u8>,
    }
    let hooks: Vec<Hook> = diesel::sql_query("SELECT signature_token_enc FROM lever_webhooks")
        .load(&mut app.db())
        .unwrap();
    // One per event: stage change, archive, hired, deleted.
    assert_eq!(hooks.len(), 4);
    let raw = [
        row.access_token_enc.clone(),
        row.refresh_token_enc.clone(),
        hooks[0].signature_token_enc.clone(),
    ];
    let other = SecretBox::new(&EncryptionKey::generate());
    for sealed_value in &raw {
        let plain = sb.open(sealed_value).unwrap();
        assert!(plain.len() >= 16);
        let encodings = [
            sealed_value.clone(),
            hex::encode(sealed_value).into_bytes(),
            base64::engine::general_purpose::STANDARD
                .encode(sealed_value)
                .into_bytes(),
        ];
        for enc in &encodings {
            assert!(
                !enc.windows(12)
                    .any(|w| plain.as_bytes().windows(12).any(|p| p == w))
            );
        }
        assert!(
            other.open(sealed_value).is_err(),
            "decrypts only under the service's key"
        );
    }
    // No text column holds a token either.
    let dump: String = diesel::sql_query("SELECT (SELECT string_agg(c::text, ' ') FROM connections c) || (SELECT string_agg(w::text, ' ') FROM lever_webhooks w) AS dump")
        .get_result::<Dump>(&mut app.db())
        .unwrap()
        .dump;
    for sealed_value in &raw {
        assert!(!dump.contains(&sb.open(sealed_value).unwrap()));
    }
}

#[derive(diesel::QueryableByName)]
struct Dump {
    #[diesel(sql_type = diesel::sql_types::Text)]
    dump: String,
}

#[actix_web::test]
async fn every_connection_and_role_route_is_tenant_isolated() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (_other_org, other_key) = app.new_org("Other").await;
    let member = app
        .create_key(&s.org, Some(&s.key), &json!({"role": "member"}))
        .await
        .body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = app
        .get(&format!("/api/v1/orgs/{}/roles", s.org), Some(&s.key))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = &s.org;
    let routes: Vec<(&str, String, Option<serde_json::Value>, bool)> = vec![
        ("GET", format!("/api/v1/orgs/{o}/lever"), None, false),
        ("GET", format!("/api/v1/orgs/{o}/lever/health"), None, false),
        (
            "POST",
            format!("/api/v1/orgs/{o}/lever/connect"),
            Some(json!({})),
            true,
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{o}/lever"),
            Some(json!({"tags": {"completed": "x"}})),
            true,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{o}/lever/webhook-secret"),
            Some(json!({"signature_token": "abcdefghijkl"})),
            true,
        ),
        ("DELETE", format!("/api/v1/orgs/{o}/lever"), None, true),
        ("GET", format!("/api/v1/orgs/{o}/roles"), None, false),
        (
            "POST",
            format!("/api/v1/orgs/{o}/roles"),
            Some(json!({"name": "N"})),
            true,
        ),
        ("GET", format!("/api/v1/orgs/{o}/roles/{role}"), None, false),
        (
            "PATCH",
            format!("/api/v1/orgs/{o}/roles/{role}"),
            Some(json!({"name": "M"})),
            true,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{o}/roles/{role}"),
            None,
            true,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{o}/roles/resolve?title=x"),
            None,
            false,
        ),
    ];
    for (method, path, body, write) in &routes {
        let send = |key: String| {
            let body = body
                .clone()
                .map(|b| ("application/json", serde_json::to_vec(&b).unwrap()));
            let app = &app;
            async move { app.request(method, path, Some(&key), body).await }
        };
        send(other_key.clone()).await.assert_error(404, "not_found");
        let as_member = send(member.clone()).await;
        if *write {
            as_member.assert_error(403, "forbidden");
        } else {
            assert_eq!(as_member.status, 200, "{method} {path}: {}", as_member.body);
        }
    }
    // Nothing changed through any refused request.
    let view = app.get_lever(&s.org, &s.key).await;
    assert_eq!(view.body["status"], "active");
    assert_eq!(view.body["tags"]["completed"], "Arkiter Live: Completed");
}

/// Waits until the refresh's call to Lever is in flight (held by the
/// simulator), then checks that it holds no database connection meanwhile:
/// nothing of this app sits idle in a transaction.
async fn refresh_is_at_lever(app: &crate::helpers::TestApp, sim: &SimHandle, account: &str) {
    crate::helpers::poll_until(30, "the refresh at Lever", || async {
        sim.in_flight(account)
            .iter()
            .any(|p| p == "/oauth/token")
            .then_some(())
    })
    .await;
    let idle = app.count(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'idle in transaction' \
         AND datname = current_database()",
    );
    assert_eq!(idle, 0, "a connection is held across the call to Lever");
}

#[actix_web::test]
async fn a_refresh_in_progress_does_not_block_a_completion() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    crate::lever_flow::wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Link Created", 30).await;
    let iv: String = app
        .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = sealed(&app);
    let old = SecretString::from(
        SecretBox::new(&app.encryption_key)
            .open(&row.access_token_enc)
            .unwrap(),
    );
    let hold = arkiter_lever::lever::sim::FaultRule::always(
        arkiter_lever::lever::sim::FaultAction::Latency { ms: 3000 },
    )
    .on("POST", "/oauth/token")
    .times(1);
    sim.add_fault(&s.account, hold).unwrap();
    let other = other_instance(&app, &sim);
    let handle = other.get(ConnectionId(row.id)).unwrap();
    let refreshed = AtomicBool::new(false);
    let refresh = async {
        let r = handle.tokens().refresh_after_unauthorized(&old).await;
        refreshed.store(true, Ordering::SeqCst);
        r
    };
    let complete = async {
        refresh_is_at_lever(&app, &sim, &s.account).await;
        let r = app
            .post_json(
                &format!("/api/v1/orgs/{}/interviews/{iv}/complete", s.org),
                Some(&s.key),
                &json!({"score": 80}),
            )
            .await;
        (r, refreshed.load(Ordering::SeqCst))
    };
    let (token, (completed, refresh_done_first)) = futures_util::join!(refresh, complete);
    assert_eq!(completed.status, 202, "{}", completed.body);
    assert!(!refresh_done_first, "the completion waited for the refresh");
    assert_ne!(token.unwrap().expose_secret(), old.expose_secret());
}

#[actix_web::test]
async fn a_rotated_refresh_token_survives_a_failed_store() {
    let (app, sim, s, tokens) = connected_with_tokens().await;
    let Stored {
        row,
        sb,
        access: old,
        refresh: old_refresh,
    } = tokens;
    // The first store of a rotated refresh token fails (once).
    let mut c = app.db();
    for sql in [
        "CREATE SEQUENCE fault_once",
        "CREATE FUNCTION fail_once() RETURNS trigger AS $$ BEGIN \
         IF NEW.refresh_token_enc IS DISTINCT FROM OLD.refresh_token_enc \
         AND nextval('fault_once') = 1 THEN RAISE EXCEPTION 'injected store failure'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_once BEFORE UPDATE ON connections FOR EACH ROW EXECUTE FUNCTION fail_once()",
    ] {
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
    let other = other_instance(&app, &sim);
    let handle = other.get(ConnectionId(row.id)).unwrap();
    let token = handle
        .tokens()
        .refresh_after_unauthorized(&old)
        .await
        .unwrap();
    assert_ne!(token.expose_secret(), old.expose_secret());
    let fired = app.count("SELECT last_value AS n FROM fault_once");
    assert!(fired >= 1, "the injected failure fired");
    // The rotated refresh token is stored and works: the next refresh (a
    // fresh instance, nothing cached) goes through Lever and the connection
    // stays active.
    let now = sealed(&app);
    assert_ne!(sb.open(&now.refresh_token_enc).unwrap(), old_refresh);
    let fresh = other_instance(&app, &sim);
    let again = fresh
        .get(ConnectionId(row.id))
        .unwrap()
        .tokens()
        .refresh_after_unauthorized(&token)
        .await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(app.get_lever(&s.org, &s.key).await.body["status"], "active");
}

#[actix_web::test]
async fn a_refresh_whose_caller_went_away_still_stores_the_rotated_token() {
    let (app, sim, s, tokens) = connected_with_tokens().await;
    let Stored {
        row,
        sb,
        access: old,
        refresh: old_refresh,
    } = tokens;
    let hold = arkiter_lever::lever::sim::FaultRule::always(
        arkiter_lever::lever::sim::FaultAction::Latency { ms: 2000 },
    )
    .on("POST", "/oauth/token")
    .times(1);
    sim.add_fault(&s.account, hold).unwrap();
    let token_calls = || {
        sim.calls_for(&s.account)
            .iter()
            .filter(|c| c.path == "/oauth/token" && c.status == 200)
            .count()
    };
    let before = token_calls();
    let other = other_instance(&app, &sim);
    let handle = other.get(ConnectionId(row.id)).unwrap();
    // The caller asks for a refresh and goes away while Lever answers.
    let caller = {
        let (handle, old) = (handle.clone(), old.clone());
        actix_rt::spawn(async move { handle.tokens().refresh_after_unauthorized(&old).await })
    };
    refresh_is_at_lever(&app, &sim, &s.account).await;
    caller.abort();
    assert!(caller.await.is_err(), "the caller was dropped");
    // Lever rotated the refresh token; the flight stores it anyway.
    let rotated = crate::helpers::poll_until(30, "the rotated token stored", || async {
        let now = sealed(&app);
        let refresh = sb.open(&now.refresh_token_enc).unwrap();
        (refresh != old_refresh)
            .then(|| SecretString::from(sb.open(&now.access_token_enc).unwrap()))
    })
    .await;
    assert_eq!(token_calls(), before + 1);
    // The next refresh (a fresh instance, nothing cached) uses it.
    let fresh = other_instance(&app, &sim);
    let again = fresh
        .get(ConnectionId(row.id))
        .unwrap()
        .tokens()
        .refresh_after_unauthorized(&rotated)
        .await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(token_calls(), before + 2);
    assert_eq!(app.get_lever(&s.org, &s.key).await.body["status"], "active");
}
