//! Nothing accepted is lost: the service killed with SIGKILL mid-burst and
//! started again, and the database cut away mid-burst and given back.

use std::time::Duration;

use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::lever::sim::{SimConfig, SimHandle};

use crate::helpers::{TestApp, poll_until, spawn_app_behind_proxy_with, test_db};
use crate::lever_flow::{Scenario, point_at, wait_for_tag};
use crate::lever_support::start_sim_with;
use crate::proxy::LoadBalancer;
use crate::support::child::{ServiceChild, env_for_sim};

const ADMIN: &str = "crash-test-admin";

const LINK_TAG: &str = "Arkiter Live: Link Created";

/// A simulator that retries deliveries quickly (0.4 s, doubling) and long
/// enough, 8 attempts over about 51 s, for a delivery to outlive a restart
/// that is slow on a loaded machine (6 attempts gave up after about 12 s).
/// What Lever stops retrying is the sweep's job, which these tests do not
/// wait for.
async fn patient_sim() -> SimHandle {
    start_sim_with(SimConfig {
        workers: 1,
        delivery_retry_base: Duration::from_millis(400),
        delivery_attempts: 8,
        ..SimConfig::default()
    })
    .await
}

/// The service as a child behind `lb` (its public URL, so Lever's
/// deliveries reach whichever child serves now).
async fn start_service(
    db_url: &str,
    key: &EncryptionKey,
    sim: &SimHandle,
    lb: &LoadBalancer,
) -> ServiceChild {
    let mut env = env_for_sim(sim, db_url, ADMIN, key);
    env.push(("ARKITER_PUBLIC_URL", lb.address()));
    let child = ServiceChild::start(&env).await;
    lb.set_backends(&[child.port()]);
    child.wait_ready().await;
    child
}

#[actix_web::test]
async fn sigkill_mid_burst_loses_nothing() {
    let sim = patient_sim().await;
    let db = test_db();
    let name = db.create_database();
    let url = db.url(&name);
    let enc = EncryptionKey::generate();
    let lb = LoadBalancer::start();
    let mut child = start_service(&url, &enc, &sim, &lb).await;
    // Drive the child through the same public API the tests use in-process.
    let app = TestApp::attached(&lb.address(), ADMIN, &name, &url, enc.clone());
    let s = crate::lever_flow::scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 30);
    s.move_to(&sim, &opps, &s.stage);
    s.wait_for_links(&sim, &opps, 5).await;
    child.kill(); // SIGKILL
    let child = start_service(&url, &enc, &sim, &lb).await;
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    for o in &opps {
        let v = sim.opportunity(&s.account, o).unwrap();
        assert_eq!(s.live_link_count(&sim, o), 1, "{v:?}");
        assert_eq!(v.tags.iter().filter(|t| *t == LINK_TAG).count(), 1, "{v:?}");
    }
    drop(child);
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
    poll_until(30, "readyz down", || async {
        (app.readyz().await.status == 503).then_some(())
    })
    .await;
    proxy.restore();
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    for o in &opps {
        assert_eq!(s.live_link_count(&sim, o), 1, "{o}");
    }
    let dead = app.events(&s.org, &s.key, "?status=dead").await;
    assert_eq!(dead, Vec::<serde_json::Value>::new());
}
