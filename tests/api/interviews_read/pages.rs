//! `GET /live/{token}`, `GET /results/{token}` and the super-admin lookup
//! `GET /api/v1/live/{token}`.

use serde_json::{Value, json};

use super::seed::{self, Conn, Iv, Seeded};
use crate::helpers::{TestApp, spawn_app_without_pipeline};

/// A page as a browser (or, with `json`, a program) gets it.
struct Page {
    status: u16,
    content_type: String,
    cache_control: String,
    text: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn page(app: &TestApp, path: &str, json: bool) -> Page {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if json {
        req = req.insert_header(("Accept", "application/json"));
    }
    let mut res = req.send().await.unwrap();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, cache_control) = (header("content-type"), header("cache-control"));
    let bytes = res.body().await.unwrap();
    Page {
        status: res.status().as_u16(),
        content_type,
        cache_control,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

struct World {
    app: TestApp,
    org: String,
    conn: String,
}

async fn world(org_name: &str) -> World {
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org(org_name).await;
    let conn = seed::connection(&app, &org, Conn::default());
    World { app, org, conn }
}

fn seeded(w: &World, status: &str, role: &str, result: Option<Value>) -> Seeded {
    let opportunity = format!("opp-{status}");
    let iv = Iv {
        status,
        opportunity: &opportunity,
        role_name: Some(role),
        result,
        ..Iv::default()
    };
    seed::interview(&w.app, &w.org, &w.conn, iv)
}

#[actix_web::test]
async fn the_live_page_names_org_role_and_status() {
    let w = world("Acme & Co").await;
    let i = seeded(&w, "link_posted", "Backend <Senior>", None);
    let p = page(&w.app, &format!("/live/{}", i.live_token), false).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(
        p.content_type.starts_with("text/html"),
        "{}",
        p.content_type
    );
    assert_eq!(p.cache_control, "no-store");
    assert!(p.text.contains("Acme &amp; Co"), "{}", p.text);
    assert!(p.text.contains("Backend &lt;Senior&gt;"), "{}", p.text);
    assert!(!p.text.contains("<Senior>"));
    assert!(p.text.contains("link_posted"));
    assert!(
        !p.text.contains(&i.results_token),
        "never the results token"
    );

    let j = page(&w.app, &format!("/live/{}", i.live_token), true).await;
    assert_eq!(
        j.json(),
        json!({"org_name": "Acme & Co", "role_name": "Backend <Senior>", "status": "link_posted"})
    );
}

#[actix_web::test]
async fn the_live_page_is_404_unknown_and_410_once_over() {
    let w = world("Acme").await;
    let unknown = page(&w.app, "/live/no-such-token", false).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.content_type.starts_with("text/html"));
    let unknown = page(&w.app, "/live/no-such-token", true).await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["code"].clone()),
        (404, json!("not_found"))
    );

    let result = json!({"score": 90});
    for status in ["completed", "results_posted", "cancelled"] {
        let r = (status != "cancelled").then(|| result.clone());
        let i = seeded(&w, status, "Backend", r);
        let p = page(&w.app, &format!("/live/{}", i.live_token), false).await;
        assert_eq!(p.status, 410, "{status}: {}", p.text);
        assert!(!p.text.contains(&i.results_token));
        let j = page(&w.app, &format!("/live/{}", i.live_token), true).await;
        assert_eq!(j.status, 410);
        assert_eq!(j.json()["error"]["code"], "gone", "{status}");
    }
    for status in ["creating", "failed"] {
        let i = seeded(&w, status, "Backend", None);
        let p = page(&w.app, &format!("/live/{}", i.live_token), false).await;
        assert_eq!(p.status, 200, "{status}");
    }
}

#[actix_web::test]
async fn the_results_page_shows_the_stored_result_only_after_completion() {
    let w = world("Acme").await;
    let result =
        json!({"score": 87, "recommendation": "Strong hire", "summary": "Fast & <careful>."});
    let done = seeded(&w, "results_posted", "Backend", Some(result.clone()));
    let p = page(&w.app, &format!("/results/{}", done.results_token), false).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.cache_control, "no-store");
    for shown in [
        "Backend",
        "87",
        "Strong hire",
        "Fast &amp; &lt;careful&gt;.",
        "Acme",
    ] {
        assert!(p.text.contains(shown), "{shown} in {}", p.text);
    }
    let j = page(&w.app, &format!("/results/{}", done.results_token), true)
        .await
        .json();
    assert_eq!(
        (
            &j["role_name"],
            &j["score"],
            &j["recommendation"],
            &j["summary"]
        ),
        (
            &json!("Backend"),
            &json!(87),
            &json!("Strong hire"),
            &result["summary"]
        )
    );
    // The live token is not a results token.
    let crossed = page(&w.app, &format!("/results/{}", done.live_token), false).await;
    assert_eq!(crossed.status, 404);

    for status in ["creating", "link_posted", "cancelled", "failed"] {
        let i = seeded(&w, status, "Backend", None);
        let p = page(&w.app, &format!("/results/{}", i.results_token), false).await;
        assert_eq!(p.status, 404, "{status}");
        let j = page(&w.app, &format!("/results/{}", i.results_token), true).await;
        assert_eq!(j.json()["error"]["code"], "not_found", "{status}");
    }
    assert_eq!(page(&w.app, "/results/unknown", false).await.status, 404);
}

#[actix_web::test]
async fn the_platform_lookup_is_for_the_super_admin_only() {
    let w = world("Acme").await;
    let (_, org_key) = w.app.new_org("Other").await;
    let i = seeded(&w, "link_posted", "Backend", None);
    let path = format!("/api/v1/live/{}", i.live_token);

    let r = w.app.get(&path, Some(&w.app.admin())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body;
    assert_eq!(v["interview_id"], i.id);
    assert_eq!(v["org_id"], w.org);
    assert_eq!(v["org_name"], "Acme");
    assert_eq!(v["role_id"], Value::Null);
    assert_eq!(v["role_name"], "Backend");
    assert_eq!(v["status"], "link_posted");
    assert_eq!(v["opportunity_id"], "opp-link_posted");
    assert!(v["created_at"].is_string());
    assert_eq!(v.as_object().unwrap().len(), 8, "{v}");

    w.app
        .get(&path, Some(&org_key))
        .await
        .assert_error(403, "forbidden");
    w.app
        .get(&path, None)
        .await
        .assert_error(401, "unauthorized");
    w.app
        .get("/api/v1/live/unknown", Some(&w.app.admin()))
        .await
        .assert_error(404, "not_found");
}
