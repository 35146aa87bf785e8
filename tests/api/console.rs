//! The console over HTTP, as a browser without JavaScript uses it: awc with a
//! cookie jar of its own, no redirects followed, forms posted urlencoded.

use std::collections::HashMap;

use arkiter_lever::lever::sim::{AccountPatch, AuthorizeMode};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};
use crate::lever_flow::{seed_account, spawn_with_sim};

/// A page as the browser got it.
pub struct Page {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: String,
    pub set_cookies: Vec<String>,
}

impl Page {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The first CSRF field's value on the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

/// A cookie-keeping client for one user of the console.
pub struct Browser {
    base: String,
    client: awc::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: awc::Client::builder().disable_redirects().finish(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Reloads `path` with this user's cookies until its HTML contains
    /// `want`; returns that HTML.
    async fn page_when(&self, path: &str, want: &str) -> String {
        let url = format!("{}{path}", self.base);
        let cookie = self.cookie_header();
        crate::helpers::poll_until(30, want, || {
            let (client, url, cookie) = (self.client.clone(), url.clone(), cookie.clone());
            async move {
                let mut res = client
                    .get(url)
                    .insert_header(("Cookie", cookie))
                    .send()
                    .await
                    .ok()?;
                let body = String::from_utf8(res.body().await.ok()?.to_vec()).ok()?;
                body.contains(want).then_some(body)
            }
        })
        .await
    }

    async fn read<S>(&mut self, mut res: awc::ClientResponse<S>) -> Page
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
            + Unpin,
    {
        let mut set_cookies = Vec::new();
        for v in res.headers().get_all("set-cookie") {
            let text = v.to_str().unwrap().to_owned();
            let c = awc::cookie::Cookie::parse(text.clone()).unwrap();
            let gone = c.max_age().is_some_and(|a| a.is_zero() || a.is_negative());
            if gone {
                self.cookies.remove(c.name());
            } else {
                self.cookies
                    .insert(c.name().to_owned(), c.value().to_owned());
            }
            set_cookies.push(text);
        }
        let body = res.body().limit(8 * 1024 * 1024).await.unwrap();
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            set_cookies,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let res = self
            .client
            .get(url)
            .insert_header(("Cookie", self.cookie_header()))
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Posts an urlencoded body exactly as given (it may hold any bytes).
    pub async fn post_raw(&mut self, path: &str, body: String) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .send_body(body)
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send_form(&fields)
            .await
            .unwrap();
        self.read(res).await
    }

    /// Signs in with `key`; returns the sign-in POST's answer.
    pub async fn sign_in(&mut self, key: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post("/console/sign-in", &[("csrf", &csrf), ("key", key)])
            .await
    }

    /// Loads `path` and posts `fields` plus its CSRF token to `action`.
    async fn submit(&mut self, path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }
}

fn assert_strict_headers(p: &Page) {
    let csp = p.header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(p.header("x-content-type-options"), "nosniff");
    assert_eq!(p.header("referrer-policy"), "no-referrer");
}

#[actix_web::test]
async fn sign_in_sets_a_strict_session_cookie_and_hides_the_key() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    // Not signed in: to the sign-in page.
    let p = b.get(&format!("/console/orgs/{org}/lever")).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location(), "/console/sign-in");

    let form = b.get("/console/sign-in").await;
    assert_strict_headers(&form);
    assert!(form.body.contains("<label for=\"key\""), "{}", form.body);

    let p = b.sign_in(&key).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location(), format!("/console/orgs/{org}/lever"));
    let session = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("arkiter_console="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    assert!(session.contains("Max-Age=43200"), "{session}");
    assert!(!session.contains("Secure"), "plain-HTTP service: {session}");
    assert!(!session.contains(&key));
    // The session id is not stored, only its digest.
    let raw = b.cookies["arkiter_console"].clone();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM console_sessions WHERE id_sha256 = sha256('{raw}'::bytea)"
        )),
        1
    );

    for tab in ["lever", "roles", "interviews", "events", "health", "keys"] {
        let p = b.get(&format!("/console/orgs/{org}/{tab}")).await;
        assert_eq!(p.status, 200, "{tab}: {}", p.body);
        assert_strict_headers(&p);
        assert!(p.body.contains("Acme"), "{tab}");
        assert!(!p.body.contains(&key), "{tab} shows the key");
        assert!(!p.body.contains("<script>"), "{tab} has inline script");
    }
    // Health draws its chart on the server.
    let h = b.get(&format!("/console/orgs/{org}/health")).await;
    assert!(h.body.contains("<svg"), "{}", h.body);

    // Sign-out ends the session: the same cookie no longer works.
    let p = b
        .submit(
            &format!("/console/orgs/{org}/lever"),
            "/console/sign-out",
            &[],
        )
        .await;
    assert_eq!(p.status, 303);
    b.cookies.insert("arkiter_console".into(), raw);
    let p = b.get(&format!("/console/orgs/{org}/lever")).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location(), "/console/sign-in");
}

#[actix_web::test]
async fn session_cookie_is_secure_when_the_public_url_is_https() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.public_url = Some("https://arkiter.example".into());
    })
    .await;
    let (_, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    let p = b.sign_in(&key).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let session = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("arkiter_console="))
        .expect("session cookie");
    assert!(session.contains("Secure"), "{session}");
}

#[actix_web::test]
async fn wrong_keys_are_refused_then_throttled_per_address() {
    let app = spawn_app().await;
    let (_, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    for _ in 0..arkiter_lever::console::throttle::BURST {
        let p = b.sign_in("ak_00000000000000000000000000000000_nope").await;
        assert_eq!(p.status, 401, "{}", p.body);
        assert!(p.body.contains("the key is not valid"), "{}", p.body);
        assert!(p.body.contains("id=\"key-error\""), "next to the field");
    }
    let p = b.sign_in("wrong").await;
    assert_eq!(p.status, 429, "{}", p.body);
    // While throttled even the right key is refused: guessing learns nothing.
    let p = b.sign_in(&key).await;
    assert_eq!(p.status, 429, "{}", p.body);
    // The super-admin token works like a key once the wait is over; a new app
    // (its own limiter) shows it.
    let app2 = spawn_app().await;
    let mut op = Browser::new(&app2);
    let p = op.sign_in(&app2.admin()).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location(), "/console/orgs");
}

#[actix_web::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    b.sign_in(&key).await;
    let action = format!("/console/orgs/{org}/roles");
    let p = b.post(&action, &[("name", "Backend")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_strict_headers(&p);
    let p = b
        .post(&action, &[("csrf", "not-the-token"), ("name", "Backend")])
        .await;
    assert_eq!(p.status, 403);
    // The sign-in form has its own token too.
    let mut fresh = Browser::new(&app);
    let p = fresh.post("/console/sign-in", &[("key", &key)]).await;
    assert_eq!(p.status, 403);
    let roles = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&key))
        .await;
    assert_eq!(roles.body["items"].as_array().unwrap().len(), 0);
    // With the token it works.
    let p = b
        .submit(
            &action,
            &action,
            &[
                ("name", "Backend"),
                ("ats_jobs", "Backend Engineer\nbe-123"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let roles = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&key))
        .await;
    assert_eq!(
        roles.body["items"][0]["ats_jobs"],
        json!(["Backend Engineer", "be-123"])
    );
}

#[actix_web::test]
async fn a_member_sees_no_write_controls_and_a_forged_post_is_refused() {
    let app = spawn_app().await;
    let (org, admin) = app.new_org("Acme").await;
    let (member_key, _) = app.new_key(&org, &admin, "member", "viewer").await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&member_key).await.status, 303);
    let roles = b.get(&format!("/console/orgs/{org}/roles")).await;
    assert_eq!(roles.status, 200);
    assert!(!roles.body.contains("Create role"), "{}", roles.body);
    let lever = b.get(&format!("/console/orgs/{org}/lever")).await;
    assert!(!lever.body.contains("/lever/connect\""), "{}", lever.body);
    assert!(!lever.body.contains("Keys"), "no Keys tab for members");
    // A forged POST with the member's own valid CSRF token: refused by the server.
    let csrf = roles.csrf(); // the sign-out form's token
    let p = b
        .post(
            &format!("/console/orgs/{org}/roles"),
            &[("csrf", &csrf), ("name", "Sneaky")],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = b
        .post(
            &format!("/console/orgs/{org}/keys"),
            &[("csrf", &csrf), ("role", "admin")],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = b.get(&format!("/console/orgs/{org}/keys")).await;
    assert_eq!(p.status, 403);
    let roles = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&admin))
        .await;
    assert_eq!(roles.body["items"].as_array().unwrap().len(), 0);
    // Another org's pages are not found for this key.
    let (other, _) = app.new_org("Other").await;
    assert_eq!(
        b.get(&format!("/console/orgs/{other}/roles")).await.status,
        404
    );
    // Nor are the operator's.
    assert_eq!(b.get("/console/orgs").await.status, 403);
}

#[actix_web::test]
async fn a_script_in_a_role_name_renders_as_text_and_errors_keep_what_was_typed() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    b.sign_in(&key).await;
    let roles = format!("/console/orgs/{org}/roles");
    let name = "<script>alert(1)</script>";
    let p = b.submit(&roles, &roles, &[("name", name)]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&roles).await;
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(name));

    // A second role claiming the same title: the API's 409 words, next to the
    // form, with what was typed kept.
    let p = b
        .submit(
            &roles,
            &roles,
            &[("name", "Backend"), ("ats_jobs", "Data Engineer")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b
        .submit(
            &roles,
            &roles,
            &[("name", "Data"), ("ats_jobs", "data engineer")],
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body
            .contains("is already mapped to role `Backend`; remove it there first"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("value=\"Data\""),
        "typed name kept: {}",
        p.body
    );
    assert!(
        p.body.contains(">data engineer</textarea>"),
        "typed jobs kept"
    );
    // An empty name: the error sits next to the name field.
    let p = b.submit(&roles, &roles, &[("name", "  ")]).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("id=\"name-error\""), "{}", p.body);
    assert!(p.body.contains("`name` must not be empty"));

    // "Which role would this posting get?"
    let p = b.get(&format!("{roles}?title=DATA+ENGINEER")).await;
    assert!(
        p.body
            .contains("It would get role <strong>Backend</strong>"),
        "{}",
        p.body
    );
}

#[actix_web::test]
async fn deleting_the_key_ends_its_session_on_the_next_request() {
    let app = spawn_app().await;
    let (org, admin) = app.new_org("Acme").await;
    let (second_key, second_id) = app.new_key(&org, &admin, "admin", "laptop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&second_key).await;
    assert_eq!(
        b.get(&format!("/console/orgs/{org}/roles")).await.status,
        200
    );
    assert_eq!(
        app.delete_key(&org, &second_id, Some(&admin)).await.status,
        204
    );
    let p = b.get(&format!("/console/orgs/{org}/roles")).await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location(), "/console/sign-in");

    // Through the console's own Keys page too: create shown once, delete.
    let mut a = Browser::new(&app);
    a.sign_in(&admin).await;
    let keys = format!("/console/orgs/{org}/keys");
    let p = a
        .submit(&keys, &keys, &[("role", "member"), ("label", "tv")])
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(p.body.contains("shown only this once"));
    assert!(p.body.contains("ak_"), "the new key is on the page once");
    let listed = a.get(&keys).await;
    assert!(!listed.body.contains("id=\"new-key\""), "not shown again");
}

#[actix_web::test]
async fn the_operator_list_shows_every_org_worst_first() {
    let app = spawn_app().await;
    let (calm, _) = app.new_org("Aardvark").await;
    let (broken, _) = app.new_org("Zebra").await;
    app.insert_connection(&broken, "needs_reauth", Some("stage-1"), &["tok-1234567"]);
    let mut b = Browser::new(&app);
    let p = b.sign_in(&app.admin()).await;
    assert_eq!(p.location(), "/console/orgs");
    let p = b.get("/console/orgs").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let zebra = p.body.find(&broken).expect("Zebra listed");
    let aardvark = p.body.find(&calm).expect("Aardvark listed");
    assert!(zebra < aardvark, "worst first: {}", p.body);
    assert!(p.body.contains("needs_reauth"));
    assert!(p.body.contains("not_connected"));

    // Create an org: its admin key shown once; the operator opens any org.
    let p = b
        .submit("/console/orgs", "/console/orgs", &[("name", "Newco")])
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(p.body.contains("id=\"new-key\""));
    assert_eq!(
        b.get(&format!("/console/orgs/{calm}/roles")).await.status,
        200
    );
}

#[actix_web::test]
async fn connect_goes_through_lever_consent_and_back_to_the_lever_page() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    let mut b = Browser::new(&app);
    b.sign_in(&key).await;
    let lever = format!("/console/orgs/{org}/lever");

    // Refused consent: back on the page with a clear error.
    sim.patch_account(
        &account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::Deny),
            ..Default::default()
        },
    )
    .unwrap();
    let p = b.submit(&lever, &format!("{lever}/connect"), &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let callback = app.authorize(&p.location()).await;
    let hop = b.get(&callback).await;
    assert_eq!(hop.status, 200);
    assert!(
        hop.body.contains(&format!(
            "url=/console/orgs/{org}/lever?connect_error=access_denied"
        )),
        "{}",
        hop.body
    );
    let p = b.get(&format!("{lever}?connect_error=access_denied")).await;
    assert!(p.body.contains("consent was refused"), "{}", p.body);

    // Consent: back with the success message, status active.
    sim.patch_account(
        &account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::Consent),
            ..Default::default()
        },
    )
    .unwrap();
    let p = b.submit(&lever, &format!("{lever}/connect"), &[]).await;
    let callback = app.authorize(&p.location()).await;
    let hop = b.get(&callback).await;
    let to = format!("/console/orgs/{org}/lever?connected=1");
    assert!(hop.body.contains(&format!("url={to}")), "{}", hop.body);
    let p = b.get(&to).await;
    assert!(p.body.contains("Lever is connected."), "{}", p.body);
    assert!(p.body.contains(">active<"), "{}", p.body);

    // Sweep now reuses the API's function.
    let p = b.submit(&lever, &format!("{lever}/sweep"), &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location(), format!("{lever}?done=sweep"));
}

#[actix_web::test]
async fn the_help_article_journey_over_http() {
    let (app, sim) = spawn_with_sim().await;
    let s = crate::lever_flow::scenario(&app, &sim).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&s.key).await.status, 303);
    let base = format!("/console/orgs/{}", s.org);

    // A role's ATS tag list: one title per line without JavaScript, then Update role.
    let roles = b.get(&format!("{base}/roles")).await;
    let edit = {
        let at = roles.body.find(&format!("href=\"{base}/roles/")).unwrap();
        let rest = &roles.body[at + "href=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    let p = b
        .submit(
            &edit,
            &edit,
            &[
                ("name", "Backend"),
                ("ats_jobs", "backend engineer\nPlatform Engineer"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get(&p.location()).await;
    assert!(p.body.contains("Role updated."), "{}", p.body);
    assert!(
        p.body.contains(">Platform Engineer\n") || p.body.contains("Platform Engineer</textarea>")
    );

    // A candidate moves into the stage: the interview shows up with its link.
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    let page = b
        .page_when(
            &format!("{base}/interviews?status=link_posted"),
            "class=\"live-link\"",
        )
        .await;
    assert!(page.contains("/live/"), "{page}");

    // Completed through the API: the page shows results posted with the results link.
    let list = app
        .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
        .await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/complete", s.org),
            Some(&s.key),
            &json!({"score": 88, "summary": "Strong"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let page = b
        .page_when(&format!("{base}/interviews"), ">results_posted<")
        .await;
    assert!(page.contains("class=\"results-link\""), "{page}");

    // Health: healthy, with a latency figure and a bar in the chart.
    let h = b.get(&format!("{base}/health")).await;
    assert!(
        h.body
            .contains("id=\"health-status\" class=\"badge s-healthy\""),
        "{}",
        h.body
    );
    assert!(!h.body.contains("id=\"latency-p50\">—"), "{}", h.body);
    assert!(h.body.contains("class=\"bar\""), "{}", h.body);

    // Events list the delivery.
    let e = b.get(&format!("{base}/events")).await;
    assert!(e.body.contains("candidateStageChange"), "{}", e.body);
}

/// Console pages at scale (docs/BENCHMARKS.md): with 10,000 interviews and
/// 100,000 events in the org (spread over 89 days: about 110 links a day),
/// each page's p95 over 40 requests, measured by the client on loopback (so
/// an upper bound of the server-side time).
/// Run on request: `cargo test --test api -- --ignored console_pages_at_scale --nocapture`.
#[actix_web::test]
#[ignore = "a benchmark: seeds 110,000 rows"]
async fn console_pages_at_scale() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Bigco").await;
    let conn = app.insert_connection(&org, "active", Some("stage-1"), &["tok-12345678"]);
    // `CONSOLE_BENCH_DENSE=1`: everything in the last 28 hours instead (about
    // 8,600 links in the last 24 hours), the worst case for Health.
    let (ev_step, iv_step) = match std::env::var("CONSOLE_BENCH_DENSE") {
        Ok(_) => (1, 10),
        Err(_) => (77, 770),
    };
    let exec = |sql: String| {
        use diesel::RunQueryDsl;
        diesel::sql_query(&sql)
            .execute(&mut app.db())
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    };
    exec(format!(
        "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
           opportunity_id, to_stage_id, payload, status, reason, attempts, last_error, received_at) \
         SELECT md5('e' || g)::uuid, '{conn}', '{org}', 'candidateStageChange', 'tok' || g, \
           (extract(epoch FROM now()) * 1000)::bigint - g * 1000, 'opp-' || g, 'stage-1', '{{}}'::jsonb, \
           CASE WHEN g % 1000 = 0 THEN 'dead' WHEN g % 3 = 0 THEN 'ignored' ELSE 'done' END, \
           CASE WHEN g % 3 = 0 AND g % 1000 <> 0 THEN 'other_stage' END, \
           CASE WHEN g % 1000 = 0 THEN 6 ELSE 1 END, \
           CASE WHEN g % 1000 = 0 THEN 'Lever answered 404' END, \
           now() - g * interval '{ev_step} seconds' \
         FROM generate_series(1, 100000) g"
    ));
    exec(format!(
        "INSERT INTO interviews (id, org_id, connection_id, event_id, opportunity_id, posting_id, \
           posting_title, role_name, rule, status, live_token, results_token, link_posted_at, \
           completed_at, results_posted_at, cancelled_at, result, created_at) \
         SELECT md5('i' || g)::uuid, '{org}', '{conn}', md5('e' || (g * 10))::uuid, \
           'opp-' || (g * 10), 'post-' || (g % 50), 'Engineer ' || (g % 50), 'Engineering', 'title', \
           CASE WHEN g % 500 = 0 THEN 'cancelled' WHEN g < 100 THEN 'link_posted' ELSE 'results_posted' END, \
           'lt' || g, 'rt' || g, now() - g * interval '{iv_step} seconds' + interval '2 seconds', \
           CASE WHEN g >= 100 THEN now() - g * interval '{iv_step} seconds' + interval '60 seconds' END, \
           CASE WHEN g >= 100 AND g % 500 <> 0 \
             THEN now() - g * interval '{iv_step} seconds' + interval '70 seconds' END, \
           CASE WHEN g % 500 = 0 THEN now() END, \
           CASE WHEN g >= 100 THEN '{{\"score\": 80}}'::jsonb END, \
           now() - g * interval '{iv_step} seconds' \
         FROM generate_series(1, 10000) g"
    ));
    exec("ANALYZE".to_owned());
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&key).await.status, 303);
    let base = format!("/console/orgs/{org}");
    let pages = [
        format!("{base}/lever"),
        format!("{base}/roles"),
        format!("{base}/interviews"),
        format!("{base}/interviews?status=cancelled"),
        format!("{base}/events"),
        format!("{base}/events?status=dead"),
        format!("{base}/health"),
        format!("{base}/keys"),
    ];
    let mut report = String::new();
    let mut worst = 0.0f64;
    for path in &pages {
        for _ in 0..3 {
            assert_eq!(b.get(path).await.status, 200, "{path}");
        }
        let mut ms: Vec<f64> = Vec::new();
        for _ in 0..40 {
            let t = std::time::Instant::now();
            let p = b.get(path).await;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(p.status, 200);
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        let p50 = ms[ms.len() / 2];
        let p95 = ms[(ms.len() * 95).div_ceil(100) - 1];
        worst = worst.max(p95);
        report.push_str(&format!(
            "| `{}` | {p50:.1} | {p95:.1} |\n",
            path.replace(&org, "{org}")
        ));
    }
    println!("| page | p50 ms | p95 ms |\n|---|---|---|\n{report}");
    assert!(worst < 50.0, "a page's p95 is {worst:.1} ms:\n{report}");
}

/// An admin exports a candidate from its row (a JSON file), then erases it
/// behind a confirmation page; a member sees neither.
#[actix_web::test]
async fn a_candidate_is_exported_and_erased_from_its_row() {
    let (app, sim) = spawn_with_sim().await;
    let s = crate::lever_flow::scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    crate::lever_flow::wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Link Created", 30).await;
    crate::one_candidate::settled(&app).await;
    let base = format!("/console/orgs/{}", s.org);
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&s.key).await.status, 303);
    let page = b.get(&format!("{base}/interviews")).await;
    let export = format!("{base}/candidates/{}/export", opp[0]);
    let erase = format!("{base}/candidates/{}/erase", opp[0]);
    assert!(page.body.contains(&export), "{}", page.body);
    assert!(page.body.contains(&erase), "{}", page.body);

    let file = b.get(&export).await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.header("content-disposition").contains("attachment"));
    let doc: serde_json::Value = serde_json::from_str(&file.body).unwrap();
    assert_eq!(doc["opportunity_id"], opp[0].as_str());
    assert_eq!(doc["interviews"].as_array().unwrap().len(), 1);

    // The link asks first; nothing is erased until the button is pressed.
    let confirm = b.get(&erase).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Erase this candidate"),
        "{}",
        confirm.body
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM erased_candidates"), 0);
    let done = b.submit(&erase, &erase, &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location().ends_with("/interviews?done=erased"),
        "{}",
        done.location()
    );
    crate::helpers::poll_until(30, "the candidate erased", || async {
        let n = app.count("SELECT count(*) AS n FROM interviews WHERE status = 'erased'");
        (n == 1).then_some(())
    })
    .await;
    let page = b.get(&format!("{base}/interviews")).await;
    assert!(!page.body.contains(&export), "no export of an erased row");

    // A member: no links, and the confirmation page is refused.
    let (member, _) = app.new_key(&s.org, &s.key, "member", "reader").await;
    let mut m = Browser::new(&app);
    assert_eq!(m.sign_in(&member).await.status, 303);
    let other = s.candidates(&sim, 1);
    s.move_to(&sim, &other, &s.stage);
    crate::lever_flow::wait_for_tag(&sim, &s.account, &other, "Arkiter Live: Link Created", 30)
        .await;
    let page = m.get(&format!("{base}/interviews")).await;
    assert!(!page.body.contains("/export\""), "{}", page.body);
    let refused = m
        .get(&format!("{base}/candidates/{}/erase", other[0]))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[actix_web::test]
async fn the_candidate_page_is_reached_from_rows_and_by_a_pasted_lever_address() {
    let (app, sim) = spawn_with_sim().await;
    let s = crate::lever_flow::scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    crate::lever_flow::wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Link Created", 30).await;
    crate::one_candidate::settled(&app).await;
    let base = format!("/console/orgs/{}", s.org);
    let (member, _) = app.new_key(&s.org, &s.key, "member", "reader").await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&member).await.status, 303);
    let page_of = format!("{base}/candidates/{}", opp[0]);
    for list in ["interviews", "events"] {
        let page = b.get(&format!("{base}/{list}")).await;
        assert!(
            page.body.contains(&format!("href=\"{page_of}\"")),
            "{list}: {}",
            page.body
        );
    }
    // A pasted Lever address (any of Lever's app hosts) or the id itself.
    for pasted in [
        format!("https://hire.lever.co/candidates/{}", opp[0]),
        format!(
            "https://hire.eu.lever.co/candidates/{}?tab=feedback",
            opp[0]
        ),
        format!("https://hire.sandbox.lever.co/candidates/{}", opp[0]),
        opp[0].clone(),
    ] {
        let q: String = url::form_urlencoded::byte_serialize(pasted.as_bytes()).collect();
        let found = b.get(&format!("{base}/candidates?q={q}")).await;
        assert_eq!(found.status, 303, "{pasted}: {}", found.body);
        assert!(found.location().ends_with(&page_of), "{}", found.location());
    }
    // Another host: said next to the field, with what was typed kept.
    let q = "https%3A%2F%2Fevil.example%2Fcandidates%2Fx";
    let refused = b.get(&format!("{base}/candidates?q={q}")).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert!(refused.body.contains("id=\"q-error\""), "{}", refused.body);
    assert!(
        refused
            .body
            .contains("value=\"https://evil.example/candidates/x\"")
    );

    // The page: its story with the Lever calls, nothing about the person,
    // and no write control for a member.
    let story = format!("/api/v1/orgs/{}/candidates/{}", s.org, opp[0]);
    crate::helpers::poll_until(30, "the link step's calls recorded", || async {
        let r = app.get(&story, Some(&s.key)).await;
        r.body.to_string().contains("addLinks").then_some(())
    })
    .await;
    let page = b.get(&page_of).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for want in ["entry k-delivery", "entry k-decision", "/addLinks"] {
        assert!(page.body.contains(want), "{want}: {}", page.body);
    }
    assert!(!page.body.contains("Candidate 0") && !page.body.contains("@example.com"));
    assert!(!page.body.contains("/erase\""), "{}", page.body);
    assert_eq!(
        b.get(&format!("{base}/candidates/never-seen")).await.status,
        404
    );
}

#[actix_web::test]
async fn alert_destinations_are_added_tested_and_removed_from_the_alerts_page() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.alerts.allow_private = true;
        s.alerts.send_poll = std::time::Duration::from_millis(200);
    })
    .await;
    let (org, key) = app.new_org("Acme").await;
    let base = format!("/console/orgs/{org}/alerts");
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&key).await.status, 303);
    // A URL the rules refuse: said next to the field, what was typed kept.
    let refused = b
        .submit(
            &base,
            &base,
            &[("url", "ftp://example.com/x"), ("kind", "webhook")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"url-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"ftp://example.com/x\""));
    // Added: the secret once, then never again.
    let url = "http://127.0.0.1:9/hook";
    let added = b
        .submit(&base, &base, &[("url", url), ("kind", "webhook")])
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let secret = added
        .body
        .split("id=\"new-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret shown")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = b.get(&base).await;
    assert!(listed.body.contains("127.0.0.1"), "{}", listed.body);
    assert!(!listed.body.contains(&secret));
    // A test send (to a port nobody listens on) shows up among the sends.
    let dest = listed
        .body
        .split(&format!("{base}/"))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a destination link")
        .to_owned();
    let page = format!("{base}/{dest}");
    let tested = b.submit(&base, &format!("{page}/test"), &[]).await;
    assert_eq!(tested.status, 303, "{}", tested.body);
    crate::helpers::poll_until(30, "the failed test send listed", || async {
        let n = app.count("SELECT count(*) AS n FROM alert_deliveries");
        (n >= 1).then_some(())
    })
    .await;
    let sends = b.get(&page).await;
    assert!(sends.body.contains("tr class=\"send\""), "{}", sends.body);
    // A member sees no Alerts tab and may not open the page.
    let (member, _) = app.new_key(&org, &key, "member", "m").await;
    let mut m = Browser::new(&app);
    assert_eq!(m.sign_in(&member).await.status, 303);
    assert_eq!(m.get(&base).await.status, 403);
    assert!(
        !m.get(&format!("/console/orgs/{org}/events"))
            .await
            .body
            .contains(&base)
    );
    // Removed.
    let gone = b.submit(&base, &format!("{page}/delete"), &[]).await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(app.count("SELECT count(*) AS n FROM alert_destinations"), 0);
}

#[actix_web::test]
async fn the_operator_has_its_own_alerts_and_a_usage_page() {
    let app = crate::helpers::spawn_app_with(|s| s.alerts.allow_private = true).await;
    let (org, key) = app.new_org("Usage Org").await;
    let mut op = Browser::new(&app);
    assert_eq!(op.sign_in(&app.admin()).await.status, 303);
    let home = op.get("/console/orgs").await;
    assert!(
        home.body.contains("/console/operator/alerts"),
        "{}",
        home.body
    );
    let base = "/console/operator/alerts";
    let added = op
        .submit(
            base,
            base,
            &[("url", "http://127.0.0.1:9/ops"), ("kind", "slack")],
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alert_destinations WHERE org_id IS NULL"),
        1
    );
    let usage = op.get("/console/operator/usage").await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert!(usage.body.contains("Usage Org"), "{}", usage.body);
    assert!(usage.body.contains(&format!("/console/orgs/{org}/lever")));
    // An org's admin may open neither.
    let mut admin = Browser::new(&app);
    assert_eq!(admin.sign_in(&key).await.status, 303);
    assert_eq!(admin.get(base).await.status, 403);
    assert_eq!(admin.get("/console/operator/usage").await.status, 403);
}
