//! Usage per org for the operator (`GET /api/v1/usage`).

use serde_json::Value;

use crate::helpers::poll_until;
use crate::lever_flow::{scenario, spawn_with_sim};
use crate::lifecycle::linked;

#[actix_web::test]
async fn the_operator_sees_each_orgs_deliveries_links_and_lever_calls() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (idle, idle_key) = app.new_org("Idle").await;
    linked(&app, &sim, &s).await;
    let of = |body: &Value, org: &str| -> Value {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["org_id"] == org)
            .cloned()
            .unwrap()
    };
    // Call records are written in batches: wait for them.
    let body = poll_until(30, "the link step's calls counted", || async {
        let r = app.get("/api/v1/usage", Some(&app.admin())).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (of(&r.body, &s.org)["last_24_hours"]["lever_calls"].as_i64() >= Some(3)).then_some(r.body)
    })
    .await;
    let busy = of(&body, &s.org);
    assert_eq!(busy["connections"], 1, "{busy}");
    for window in ["last_24_hours", "last_30_days"] {
        assert!(busy[window]["deliveries"].as_i64().unwrap() >= 1, "{busy}");
        assert_eq!(busy[window]["interviews_linked"], 1, "{busy}");
        assert_eq!(busy[window]["interviews_completed"], 0, "{busy}");
    }
    let quiet = of(&body, &idle);
    assert_eq!(quiet["connections"], 0);
    assert_eq!(quiet["last_30_days"]["deliveries"], 0);
    assert_eq!(quiet["name"], "Idle");
    // Org keys may not.
    assert_eq!(app.get("/api/v1/usage", Some(&idle_key)).await.status, 403);
    assert_eq!(app.get("/api/v1/usage", Some(&s.key)).await.status, 403);
}
