//! Browser tests of the console: real headless Chromium driven over WebDriver
//! (chromedriver) with fantoccini, against the service and the in-process
//! Lever simulator. A separate target that `cargo test` leaves out
//! (`test = false`), built and run on request with the same build:
//!
//! ```text
//! apt-get install -y chromium chromium-driver
//! cargo test --test browser -- --test-threads=1
//! ```
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths. Each test
//! saves a screenshot when it fails (under the target's tmp dir,
//! `browser-failures/`); the journey saves one of each page under the
//! target's tmp dir, `console-screenshots/`. To refresh the README's
//! pictures: `CONSOLE_SCREENSHOTS=docs/console cargo test --test browser --
//! --test-threads=1`.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/lever_flow.rs"]
mod lever_flow;
#[path = "../api/lever_support.rs"]
mod lever_support;
#[path = "../api/proxy.rs"]
mod proxy;
#[path = "../api/support/mod.rs"]
mod support;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arkiter_lever::lever::sim::NewOpportunity;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use helpers::{TestApp, spawn_app};
use lever_flow::spawn_with_sim;

/// One headless Chromium session and its chromedriver, for one test.
struct Browser {
    name: &'static str,
    base: String,
    driver: Child,
    client: Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leaves its Chromium processes behind when killed, so
        // the whole process group it leads goes (about 50 processes a run
        // were left over before). Its pid is the group's id.
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // SAFETY: kill only sends a signal, to a group this test started.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.driver.wait();
    }
}

fn capabilities() -> fantoccini::wd::Capabilities {
    let mut chrome = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1280,1000"],
    });
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&binary).exists() {
        chrome["binary"] = json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    caps
}

/// The port of chromedriver's "started successfully on port N." line; the
/// rest of its output is read (and dropped) on a thread of its own.
fn driver_port(stdout: std::process::ChildStdout) -> u16 {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let port = line
                .split("on port ")
                .nth(1)
                .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok())
                .filter(|p| *p != 0);
            if let Some(port) = port {
                let _ = tx.send(port);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("chromedriver says its port")
}

impl Browser {
    async fn start(name: &'static str, app: &TestApp) -> Self {
        // Port 0: chromedriver binds a free port itself and says which.
        let mut driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg("--port=0")
                // A group of its own, with its Chromium: see `Drop`.
                .process_group(0)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver runs (apt-get install -y chromium chromium-driver)");
        let port = driver_port(driver.stdout.take().expect("chromedriver's stdout"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "chromedriver did not start: {e}");
                    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Self {
            name,
            base: app.address.clone(),
            driver,
            client,
        }
    }

    /// Saves a screenshot for the failure, then panics with `msg`.
    async fn fail<T>(&self, msg: &str) -> T {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{}.png", self.name));
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(&path, png);
        }
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        panic!(
            "{}: {msg} (at {url}; screenshot {})",
            self.name,
            path.display()
        );
    }

    async fn ok<T, E: std::fmt::Debug>(&self, r: Result<T, E>, what: &str) -> T {
        match r {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{what}: {e:?}")).await,
        }
    }

    async fn check(&self, cond: bool, what: &str) {
        if !cond {
            self.fail::<()>(what).await;
        }
    }

    async fn goto(&self, path: &str) {
        let r = self.client.goto(&format!("{}{path}", self.base)).await;
        self.ok(r, &format!("open {path}")).await;
    }

    async fn path(&self) -> String {
        let r = self.client.current_url().await;
        let u = self.ok(r, "current url").await;
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let r = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        self.ok(r, &format!("find {css}")).await
    }

    async fn exists(&self, css: &str) -> bool {
        self.client
            .find_all(Locator::Css(css))
            .await
            .is_ok_and(|v| !v.is_empty())
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        let r = el.text().await;
        self.ok(r, &format!("text of {css}")).await
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        let r = el.send_keys(text).await;
        self.ok(r, &format!("type into {css}")).await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        let r = el.click().await;
        self.ok(r, &format!("click {css}")).await;
    }

    async fn click_button(&self, label: &str) {
        let xpath = format!("//button[normalize-space()='{label}']");
        let r = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await;
        let el = self.ok(r, &format!("button {label}")).await;
        let r = el.click().await;
        self.ok(r, &format!("click {label}")).await;
    }

    /// The page's visible text (read by script: no element to go stale
    /// while a navigation is under way).
    async fn body(&self) -> String {
        self.client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Reloads `path` until an element matches `css` (or fails after `secs`).
    async fn wait_for_css(&self, path: &str, css: &str, secs: u64) {
        assert!(secs >= helpers::LEAST_DEADLINE_SECS, "a {secs} s deadline");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.goto(path).await;
            if self.exists(css).await {
                return;
            }
            if Instant::now() > deadline {
                self.fail::<()>(&format!("{path} never showed {css}")).await;
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Reloads `path` until its text contains `want` (or fails after `secs`).
    async fn wait_for_text(&self, path: &str, want: &str, secs: u64) {
        assert!(secs >= helpers::LEAST_DEADLINE_SECS, "a {secs} s deadline");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.goto(path).await;
            if self.body().await.contains(want) {
                return;
            }
            if Instant::now() > deadline {
                self.fail::<()>(&format!("{path} never showed {want:?}"))
                    .await;
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits (without reloading) until the page's text contains `want`.
    /// Waits, without reloading, until the page shows `css`.
    async fn wait_for_here(&self, css: &str, secs: u64) {
        assert!(secs >= helpers::LEAST_DEADLINE_SECS, "a {secs} s deadline");
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.exists(css).await {
            if Instant::now() > deadline {
                self.fail::<()>(&format!("the page never showed {css}"))
                    .await;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_here(&self, want: &str, secs: u64) {
        assert!(secs >= helpers::LEAST_DEADLINE_SECS, "a {secs} s deadline");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.body().await.contains(want) {
                return;
            }
            if Instant::now() > deadline {
                self.fail::<()>(&format!("the page never showed {want:?}"))
                    .await;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves the page as `{file}.png` in the screenshots folder: the
    /// target's tmp dir, or `CONSOLE_SCREENSHOTS` (relative to the package)
    /// when set, which is how `docs/console/` is refreshed.
    async fn shot(&self, file: &str) {
        let dir = match std::env::var_os("CONSOLE_SCREENSHOTS") {
            Some(d) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d),
            None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"),
        };
        let _ = std::fs::create_dir_all(&dir);
        let r = self.client.screenshot().await;
        let png = self.ok(r, "screenshot").await;
        let _ = std::fs::write(dir.join(format!("{file}.png")), png);
    }

    async fn sign_in(&self, key: &str) {
        self.goto("/console/sign-in").await;
        self.type_into("#key", key).await;
        self.click_button("Sign in").await;
        self.find("header.top").await;
    }

    async fn sign_out(&self) {
        self.click_button("Sign out").await;
        self.find("#key").await;
    }

    /// POSTs a form from the page with `fetch`, as a forger with the page's
    /// cookies would; returns the status.
    async fn forge_post(&self, action: &str, body: &str) -> u64 {
        let script = "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], {method: 'POST', headers: {'Content-Type': \
             'application/x-www-form-urlencoded'}, body: arguments[1], redirect: 'manual'})\
             .then(r => done(r.status), e => done(String(e)));";
        let r = self
            .client
            .execute_async(script, vec![json!(action), json!(body)])
            .await;
        let v: Value = self.ok(r, "forged POST").await;
        v.as_u64().unwrap_or(0)
    }

    /// The first CSRF token on the page.
    async fn csrf(&self) -> String {
        let el = self.find("input[name=csrf]").await;
        let r = el.attr("value").await;
        self.ok(r, "csrf").await.unwrap_or_default()
    }
}

/// The help article's journey, end to end.
#[actix_web::test]
async fn the_help_article_journey() {
    let (app, sim) = spawn_with_sim().await;
    let account = sim.create_account("Acme Lever");
    let start_stage = sim.add_stage(&account, "New applicant").unwrap().id;
    let live_stage = sim.add_stage(&account, "Arkiter Live").unwrap().id;
    let posting = sim.add_posting(&account, "Backend Engineer").unwrap().id;
    sim.login(&account).unwrap();
    let (org, key) = app.new_org("Acme").await;
    let base = format!("/console/orgs/{org}");
    let b = Browser::start("the_help_article_journey", &app).await;

    // 1. Sign in with the new org's admin key.
    b.goto("/console/sign-in").await;
    b.shot("sign-in").await;
    b.sign_in(&key).await;
    let at = b.path().await;
    b.check(at == format!("{base}/lever"), &format!("landed on {at}"))
        .await;
    b.check(!b.body().await.contains(&key), "the key is on the page")
        .await;

    // 2. Lever · Live → Connect → the simulator's consent → back with success, active.
    b.click_button("Connect").await;
    b.find("p.notice").await;
    b.wait_here("Lever is connected.", 30).await;
    let status = b.text("#status").await;
    b.check(status == "active", &format!("status {status}"))
        .await;
    b.shot("lever").await;

    // 3. A role, a job title typed into its tag list with Enter, Update role.
    b.goto(&format!("{base}/roles")).await;
    b.type_into("#new-name", "Backend").await;
    b.click_button("Create role").await;
    b.wait_here("Role created.", 30).await;
    b.click("a.role-name").await;
    b.type_into(
        "#role-jobs-input",
        &format!("Backend Engineer{}", Key::Enter),
    )
    .await;
    let tag = b.text("li.tag span").await;
    b.check(tag == "Backend Engineer", &format!("tag {tag}"))
        .await;
    b.shot("role-edit").await;
    b.click_button("Update role").await;
    b.wait_here("Role updated.", 30).await;
    let tag = b.text("li.tag span").await;
    b.check(tag == "Backend Engineer", &format!("saved tag {tag}"))
        .await;
    b.goto(&format!("{base}/roles")).await;
    b.shot("roles").await;

    // 4. A candidate moves in Lever: the interview appears with its link.
    let opp = sim
        .add_opportunity(
            &account,
            NewOpportunity {
                id: None,
                name: Some("Ada Lovelace".into()),
                contact: None,
                emails: vec!["ada@example.com".into()],
                stage_id: start_stage.clone(),
                posting_id: Some(posting.clone()),
                tags: vec![],
            },
        )
        .unwrap()
        .id;
    sim.move_opportunities(&account, std::slice::from_ref(&opp), &live_stage)
        .unwrap();
    b.wait_for_css(&format!("{base}/interviews"), "a.live-link", 30)
        .await;
    let href = b
        .find("a.live-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    b.check(href.contains("/live/"), &format!("live link {href}"))
        .await;

    // 5. Completed through the API: Interviews shows results posted.
    let list = app
        .get(&format!("/api/v1/orgs/{org}/interviews"), Some(&key))
        .await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{org}/interviews/{id}/complete"),
            Some(&key),
            &json!({"score": 91, "recommendation": "hire", "summary": "Clear and precise"}),
        )
        .await;
    b.check(r.status == 202, &format!("complete: {}", r.body))
        .await;
    b.wait_for_css(&format!("{base}/interviews"), "span.s-results_posted", 30)
        .await;
    b.check(b.exists("a.results-link").await, "no results link")
        .await;
    b.shot("interviews").await;

    // 6. Health: healthy, with a latency figure.
    b.wait_for_css(&format!("{base}/health"), "#health-status.s-healthy", 30)
        .await;
    let p50 = b.text("#latency-p50").await;
    b.check(p50.ends_with(" ms"), &format!("latency {p50}"))
        .await;
    b.shot("health").await;

    b.goto(&format!("{base}/events")).await;
    b.shot("events").await;
    b.goto(&format!("{base}/keys")).await;
    b.shot("keys").await;

    // The operator's view.
    b.sign_out().await;
    b.sign_in(&app.admin()).await;
    b.find("#orgs").await;
    b.shot("operator").await;

    // At 375 px wide.
    let r = b.client.set_window_size(375, 812).await;
    b.ok(r, "resize").await;
    b.goto(&format!("{base}/roles")).await;
    b.shot("roles-375px").await;
    b.goto(&format!("{base}/lever")).await;
    b.shot("lever-375px").await;
}

#[actix_web::test]
async fn a_member_sees_no_write_controls_and_a_forged_post_is_refused() {
    let app = spawn_app().await;
    let (org, admin) = app.new_org("Acme").await;
    let member = app
        .create_key(&org, Some(&admin), &json!({"role": "member"}))
        .await;
    let member_key = member.body["key"].as_str().unwrap().to_owned();
    let b = Browser::start("member_read_only", &app).await;
    b.sign_in(&member_key).await;
    b.goto(&format!("/console/orgs/{org}/roles")).await;
    b.check(
        !b.exists("#new-name").await,
        "a member sees the create form",
    )
    .await;
    b.check(!b.body().await.contains("Create role"), "Create role shown")
        .await;
    b.goto(&format!("/console/orgs/{org}/lever")).await;
    b.check(
        !b.exists("form[action$='/lever/connect']").await,
        "a member sees Connect",
    )
    .await;
    let csrf = b.csrf().await;
    let status = b
        .forge_post(
            &format!("/console/orgs/{org}/roles"),
            &format!("csrf={csrf}&name=Sneaky"),
        )
        .await;
    b.check(status == 403, &format!("forged POST answered {status}"))
        .await;
}

#[actix_web::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let b = Browser::start("csrf_refused", &app).await;
    b.sign_in(&key).await;
    let status = b
        .forge_post(&format!("/console/orgs/{org}/roles"), "name=NoToken")
        .await;
    b.check(
        status == 403,
        &format!("POST without token answered {status}"),
    )
    .await;
    let roles = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&key))
        .await;
    b.check(roles.body["items"] == json!([]), "a role was created")
        .await;
}

#[actix_web::test]
async fn a_role_name_with_a_script_renders_as_text() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let b = Browser::start("script_as_text", &app).await;
    b.sign_in(&key).await;
    b.goto(&format!("/console/orgs/{org}/roles")).await;
    let name = "<script>window.pwned = 1</script>";
    b.type_into("#new-name", name).await;
    b.click_button("Create role").await;
    b.wait_here("Role created.", 30).await;
    let shown = b.text("a.role-name").await;
    b.check(shown == name, &format!("shown as {shown:?}")).await;
    let r = b
        .client
        .execute("return typeof window.pwned;", vec![])
        .await;
    let pwned = b.ok(r, "pwned").await;
    b.check(pwned == json!("undefined"), "the script ran").await;
}

#[actix_web::test]
async fn deleting_the_key_ends_its_session_on_the_next_request() {
    let app = spawn_app().await;
    let (org, admin) = app.new_org("Acme").await;
    let second = app
        .create_key(&org, Some(&admin), &json!({"role": "admin"}))
        .await;
    let b = Browser::start("key_deleted", &app).await;
    b.sign_in(second.body["key"].as_str().unwrap()).await;
    b.goto(&format!("/console/orgs/{org}/roles")).await;
    b.find("#new-name").await;
    let r = app
        .delete_key(&org, second.body["id"].as_str().unwrap(), Some(&admin))
        .await;
    b.check(r.status == 204, "key deleted").await;
    let r = b.client.refresh().await;
    b.ok(r, "refresh").await;
    let at = b.path().await;
    b.check(
        at == "/console/sign-in",
        &format!("still signed in at {at}"),
    )
    .await;
}

#[actix_web::test]
async fn the_operator_page_lists_two_orgs_worst_first() {
    let app = spawn_app().await;
    let (_, _) = app.new_org("Aardvark").await;
    let (broken, _) = app.new_org("Zebra").await;
    app.insert_connection(&broken, "needs_reauth", Some("stage-1"), &["tok-1234567"]);
    let b = Browser::start("operator_worst_first", &app).await;
    b.sign_in(&app.admin()).await;
    b.find("#orgs").await;
    let r = b.client.find_all(Locator::Css("#orgs tbody tr")).await;
    let rows = b.ok(r, "rows").await;
    b.check(rows.len() == 2, &format!("{} rows", rows.len()))
        .await;
    let first = rows[0].text().await.unwrap_or_default();
    let second = rows[1].text().await.unwrap_or_default();
    b.check(
        first.contains("Zebra") && first.contains("needs_reauth"),
        &format!("first row {first}"),
    )
    .await;
    b.check(second.contains("Aardvark"), &format!("second row {second}"))
        .await;
}

#[actix_web::test]
async fn an_archived_candidate_shows_closed_on_the_interviews_page() {
    let (app, sim) = spawn_with_sim().await;
    let s = lever_flow::scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1).remove(0);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(&opp), 1).await;
    let base = format!("/console/orgs/{}", s.org);
    let b = Browser::start("archived_closes", &app).await;
    b.sign_in(&s.key).await;

    // Lever · Live: archives close the interview, with a tag of our own.
    b.goto(&format!("{base}/lever")).await;
    let r = b.find("#on_archive").await.select_by_value("close").await;
    b.ok(r, "choose on_archive").await;
    let r = b.find("#on_hired").await.select_by_value("keep").await;
    b.ok(r, "choose on_hired").await;
    let r = b.find("#closed").await.clear().await;
    b.ok(r, "clear the closed tag").await;
    b.type_into("#closed", "Interview closed").await;
    b.click_button("Save").await;
    b.wait_here("Saved.", 30).await;
    let listed = b.text("#webhooks").await;
    b.check(
        listed.contains("candidateArchiveChange") && listed.contains("candidateHired"),
        &format!("webhooks listed: {listed}"),
    )
    .await;
    b.shot("lever-lifecycle").await;

    // A recruiter archives the candidate in Lever.
    sim.archive(&s.account, &opp, Some("archive-withdrew"))
        .unwrap();
    b.wait_for_css(&format!("{base}/interviews"), "span.s-cancelled", 30)
        .await;
    let reason = b.text("small.close-reason").await;
    b.check(reason == "closed: archived", &format!("reason {reason}"))
        .await;
    b.shot("interviews-closed").await;
    let view = sim.opportunity(&s.account, &opp).unwrap();
    b.check(
        view.tags.iter().any(|t| t == "Interview closed"),
        &format!("tags {:?}", view.tags),
    )
    .await;
    b.check(
        !view.links.iter().any(|l| l.contains("/live/")),
        &format!("links {:?}", view.links),
    )
    .await;
}

#[actix_web::test]
async fn an_ats_tag_and_a_pass_score_set_in_the_role_editor_give_the_outcome_on_interviews() {
    let (app, sim) = spawn_with_sim().await;
    let s = lever_flow::scenario(&app, &sim).await;
    // A posting Lever tags `arkiter-backend`; no title or id maps it.
    let posting = sim.add_posting(&s.account, "Platform Engineer").unwrap().id;
    sim.set_posting_tags(&s.account, &posting, ["arkiter-backend"])
        .unwrap();
    let base = format!("/console/orgs/{}", s.org);
    let b = Browser::start("ats_tags_and_pass_score", &app).await;
    b.sign_in(&s.key).await;

    // The role editor: an ATS tag added with Enter, a pass score, Update role.
    b.goto(&format!("{base}/roles")).await;
    b.click("a.role-name").await;
    b.type_into(
        "#role-tags-input",
        &format!("arkiter-backend{}", Key::Enter),
    )
    .await;
    b.type_into("#pass-score", "70").await;
    b.shot("role-edit-tags").await;
    b.click_button("Update role").await;
    b.wait_here("Role updated.", 30).await;
    let role = app
        .get(&format!("/api/v1/orgs/{}/roles", s.org), Some(&s.key))
        .await
        .body["items"][0]
        .clone();
    b.check(
        role["ats_tags"] == json!(["arkiter-backend"]) && role["pass_score"] == 70,
        &format!("role saved as {role}"),
    )
    .await;

    // A candidate on the tagged posting is linked by the tag, completes
    // with 82, and Interviews shows it passed.
    let opp = s.candidate_on(&sim, &posting, "grace@example.com");
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(&opp), 1).await;
    let list = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
            Some(&s.key),
        )
        .await;
    let iv = list.body["items"][0].clone();
    b.check(iv["rule"] == "posting_tag", &format!("resolved as {iv}"))
        .await;
    let r = app
        .post_json(
            &format!(
                "/api/v1/orgs/{}/interviews/{}/complete",
                s.org,
                iv["id"].as_str().unwrap()
            ),
            Some(&s.key),
            &json!({"score": 82}),
        )
        .await;
    b.check(r.status == 202, &format!("complete: {}", r.body))
        .await;
    b.wait_for_css(
        &format!("{base}/interviews"),
        "td.outcome span.o-passed",
        30,
    )
    .await;
    let shown = b.text("td.outcome").await;
    b.check(shown == "passed", &format!("outcome {shown}"))
        .await;
    b.shot("interviews-outcome").await;
    let tags = sim.opportunity(&s.account, &opp).unwrap().tags;
    b.check(
        tags.iter().any(|t| t == "Arkiter Live: Passed"),
        &format!("tags {tags:?}"),
    )
    .await;
}

#[actix_web::test]
async fn the_console_says_what_is_true_after_a_disconnect_a_denial_and_a_completion() {
    use arkiter_lever::lever::sim::{AccountPatch, AuthorizeMode};
    let (app, sim) = spawn_with_sim().await;
    let s = lever_flow::scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1).remove(0);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(&opp), 1).await;
    let base = format!("/console/orgs/{}", s.org);
    let b = Browser::start("console_details", &app).await;
    b.sign_in(&s.key).await;

    // A completed interview's row offers its results, not the dead live link.
    let list = app
        .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
        .await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/complete", s.org),
            Some(&s.key),
            &json!({"score": 60}),
        )
        .await;
    b.check(r.status == 202, &format!("complete: {}", r.body))
        .await;
    b.wait_for_css(&format!("{base}/interviews"), "span.s-results_posted", 30)
        .await;
    b.check(b.exists("a.results-link").await, "no results link")
        .await;
    b.check(
        !b.exists("a.live-link").await,
        "a completed row offers the live link",
    )
    .await;

    // Lever refuses consent: the page says to choose Accept, as Lever's screen does.
    sim.patch_account(
        &s.account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::Deny),
            ..Default::default()
        },
    )
    .unwrap();
    b.goto(&format!("{base}/lever")).await;
    b.click_button("Connect").await;
    b.wait_here("choose Accept", 30).await;

    // Disconnected: the bookmarked return URL no longer says connected.
    let r = app
        .delete(&format!("/api/v1/orgs/{}/lever", s.org), Some(&s.key))
        .await;
    b.check(r.status == 204, &format!("disconnect: {}", r.status))
        .await;
    b.goto(&format!("{base}/lever?connected=1")).await;
    b.find("#status").await;
    let body = b.body().await;
    b.check(
        !body.contains("Lever is connected."),
        "a disconnected org's page says Lever is connected",
    )
    .await;
}

#[actix_web::test]
async fn the_setup_checklist_turns_green_on_lever_live_without_a_reload() {
    let (app, sim) = spawn_with_sim().await;
    let s = lever_flow::scenario(&app, &sim).await;
    let base = format!("/console/orgs/{}", s.org);
    let b = Browser::start("checklist", &app).await;
    b.sign_in(&s.key).await;
    b.goto(&format!("{base}/lever")).await;
    let pending = "#checklist li[data-step='delivery_received'].todo";
    b.check(b.exists(pending).await, "delivery_received starts not done")
        .await;
    // The page stays open: only the checklist changes under it.
    b.type_into("#stage_name", "typed, not lost").await;
    let hook = sim
        .webhooks(&s.account)
        .unwrap()
        .into_iter()
        .find(|w| w.event == "candidateStageChange")
        .unwrap();
    sim.test_ping(&s.account, &hook.id).unwrap();
    b.wait_for_here("#checklist li[data-step='delivery_received'].done", 30)
        .await;
    let typed = b.find("#stage_name").await.prop("value").await;
    let typed = b.ok(typed, "read the typed stage name").await;
    b.check(
        typed.as_deref() == Some("typed, not lost"),
        &format!("the form lost what was typed: {typed:?}"),
    )
    .await;
    b.shot("lever-checklist").await;
}
