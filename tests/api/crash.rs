//! Nothing accepted is lost: the service killed with SIGKILL mid-burst and
//! started again, and the database cut away mid-burst and given back.

use std::process::{Child, Command};
use std::time::Duration;

use arkiter_lever::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimConfig, SimHandle};
use serde_json::json;

use crate::helpers::{TestApp, free_port, poll_until, spawn_app_behind_proxy_with, test_db};
use crate::lever_flow::{Scenario, point_at, wait_for_tag};
use crate::lever_support::start_sim_with;

const LINK_TAG: &str = "Arkiter Live: Link Created";

/// A simulator whose delivery retries span a few seconds, like Lever's.
async fn patient_sim() -> SimHandle {
    start_sim_with(SimConfig {
        workers: 1,
        delivery_retry_base: Duration::from_millis(400),
        delivery_attempts: 6,
        ..SimConfig::default()
    })
    .await
}

fn start_service(db_url: &str, key: &str, port: u16, sim: &SimHandle) -> Child {
    Command::new(env!("CARGO_BIN_EXE_arkiter-lever"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("ARKITER_ENCRYPTION_KEY", key)
        .env("ARKITER_ADMIN_TOKEN", "crash-test-admin")
        .env("ARKITER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LEVER_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("LEVER_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .env("LEVER_AUTH_URL", sim.auth_url())
        .env("LEVER_API_URL", sim.api_url())
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &awc::Client, base: &str) {
    poll_until(30, "service ready", || async {
        let r = client.get(format!("{base}/readyz")).send().await.ok()?;
        (r.status().as_u16() == 200).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn sigkill_mid_burst_loses_nothing() {
    let sim = patient_sim().await;
    let db = test_db();
    let name = db.create_database();
    let url = db.url(&name);
    let enc = arkiter_lever::domain::secrets::EncryptionKey::generate();
    let key = enc.to_base64();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_service(&url, &key, port, &sim);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    wait_ready(&client, &base).await;
    // Drive the child through the same public API the tests use in-process.
    let app = TestApp::attached(&base, "crash-test-admin", &name, &url, enc);
    let s = crate::lever_flow::scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 30);
    s.move_to(&sim, &opps, &s.stage);
    s.wait_for_links(&sim, &opps, 5).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut child = start_service(&url, &key, port, &sim);
    wait_ready(&client, &base).await;
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    for o in &opps {
        let v = sim.opportunity(&s.account, o).unwrap();
        assert_eq!(s.live_link_count(&sim, o), 1, "{v:?}");
        assert_eq!(v.tags.iter().filter(|t| *t == LINK_TAG).count(), 1, "{v:?}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(app);
}

#[actix_web::test]
async fn the_database_cut_mid_burst_recovers_by_itself() {
    let sim = patient_sim().await;
    let app = spawn_app_behind_proxy_with(|s| point_at(s, &sim)).await;
    let s: Scenario = crate::lever_flow::scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 20);
    s.move_to(&sim, &opps, &s.stage);
    s.wait_for_links(&sim, &opps, 3).await;
    let proxy = app.proxy.as_ref().unwrap();
    proxy.cut();
    poll_until(10, "readyz down", || async {
        (app.readyz().await.status == 503).then_some(())
    })
    .await;
    proxy.restore();
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    for o in &opps {
        assert_eq!(s.live_link_count(&sim, o), 1, "{o}");
    }
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/events?status=dead", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
}
