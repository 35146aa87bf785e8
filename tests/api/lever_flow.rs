//! Helpers for tests that connect an org's Lever account: the app wired to an
//! in-process Lever simulator, and the OAuth dance through the real endpoints.

use arkiter_lever::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimHandle};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app_with};
use crate::lever_support::start_sim;

/// The app pointed at a fresh simulator.
pub async fn spawn_with_sim() -> (TestApp, SimHandle) {
    let sim = start_sim().await;
    let app = spawn_app_with(|s| point_at(s, &sim)).await;
    (app, sim)
}

/// Settings for an app talking to `sim`, with retries and schedules shortened.
pub fn point_at(s: &mut arkiter_lever::config::Settings, sim: &SimHandle) {
    s.lever.client_id = Some(DEFAULT_CLIENT_ID.to_owned());
    s.lever.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET));
    s.lever.auth_url = sim.auth_url();
    s.lever.api_url = sim.api_url();
    s.lever.retry = crate::lever_support::fast_retry();
    let p = &mut s.pipeline;
    p.job_retry_delays = vec![std::time::Duration::from_millis(200); 3];
    p.job_retry_every = std::time::Duration::from_millis(300);
    p.job_max_attempts = 6;
    p.account_pause_max = std::time::Duration::from_secs(1);
    p.poll_interval = std::time::Duration::from_millis(300);
}

/// A connected org with roles and postings, ready for candidates.
pub struct Scenario {
    pub org: String,
    pub key: String,
    pub account: String,
    pub stage: String,
    pub start_stage: String,
    pub other_stage: String,
    /// "Backend Engineer" (mapped by title to role "Backend").
    pub posting: String,
}

pub async fn scenario(app: &TestApp, sim: &SimHandle) -> Scenario {
    let account = sim.create_account("Acme Lever");
    scenario_on(app, sim, account).await
}

/// [`scenario`] on an account the test made (and set up) itself.
pub async fn scenario_on(app: &TestApp, sim: &SimHandle, account: String) -> Scenario {
    let start_stage = sim.add_stage(&account, "New applicant").unwrap().id;
    let other_stage = sim.add_stage(&account, "Phone screen").unwrap().id;
    let stage = sim.add_stage(&account, "Arkiter Live").unwrap().id;
    let posting = sim.add_posting(&account, "Backend Engineer").unwrap().id;
    sim.login(&account).unwrap();
    let (org, key) = app.new_org("Acme").await;
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{org}/roles"),
            Some(&key),
            &json!({"name": "Backend", "ats_jobs": ["backend engineer"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let done = app.connect_lever(&org, &key).await;
    assert_eq!(done.body["connection_status"], "active", "{}", done.body);
    // Connecting makes a sweep due at once (docs/contract/sweep.md): let it finish, so the
    // calls a test counts are the ones its own steps cause.
    crate::helpers::poll_until(30, "the sweep after connecting", || async {
        let h = app
            .get(&format!("/api/v1/orgs/{org}/lever/health"), Some(&key))
            .await;
        (!h.body["sweep"]["last_at"].is_null()).then_some(())
    })
    .await;
    Scenario {
        org,
        key,
        account,
        stage,
        start_stage,
        other_stage,
        posting,
    }
}

impl Scenario {
    /// `(org, key)`, as the list waits of `TestApp` take them.
    pub fn who(&self) -> (&str, &str) {
        (&self.org, &self.key)
    }

    /// New candidates for the posting, in the first stage.
    pub fn candidates(&self, sim: &SimHandle, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                sim.add_opportunity(
                    &self.account,
                    arkiter_lever::lever::sim::NewOpportunity {
                        id: None,
                        name: Some(format!("Candidate {i}")),
                        contact: None,
                        emails: vec![format!("c{i}@example.com")],
                        stage_id: self.start_stage.clone(),
                        posting_id: Some(self.posting.clone()),
                        tags: vec![],
                    },
                )
                .unwrap()
                .id
            })
            .collect()
    }

    /// Deletes the scenario's one role ("Backend"): the org has none.
    pub async fn remove_role(&self, app: &TestApp) {
        let roles = format!("/api/v1/orgs/{}/roles", self.org);
        let role = app.get(&roles, Some(&self.key)).await.body["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .delete(&format!("{roles}/{role}"), Some(&self.key))
            .await;
        assert_eq!(r.status, 204);
    }

    /// Creates role "Backend" again, mapping the posting's title.
    pub async fn add_backend_role(&self, app: &TestApp) {
        let r = app
            .post_json(
                &format!("/api/v1/orgs/{}/roles", self.org),
                Some(&self.key),
                &json!({"name": "Backend", "ats_jobs": ["backend engineer"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    /// One new candidate for `posting`, in the first stage.
    pub fn candidate_on(&self, sim: &SimHandle, posting: &str, email: &str) -> String {
        sim.add_opportunity(
            &self.account,
            arkiter_lever::lever::sim::NewOpportunity {
                name: Some("Candidate on a posting".into()),
                emails: vec![email.to_owned()],
                stage_id: self.start_stage.clone(),
                posting_id: Some(posting.to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
        .id
    }

    pub fn move_to(&self, sim: &SimHandle, opps: &[String], stage: &str) {
        sim.move_opportunities(&self.account, opps, stage).unwrap();
    }

    pub fn live_link_count(&self, sim: &SimHandle, opp: &str) -> usize {
        let v = sim.opportunity(&self.account, opp).unwrap();
        v.links.iter().filter(|l| l.contains("/live/")).count()
    }

    /// Waits until at least `n` of `opps` show a live link.
    pub async fn wait_for_links(&self, sim: &SimHandle, opps: &[String], n: usize) {
        crate::helpers::poll_until(30, "a few links posted", || async {
            let linked = opps
                .iter()
                .filter(|o| self.live_link_count(sim, o) > 0)
                .count();
            (linked >= n).then_some(())
        })
        .await;
    }
}

/// Waits until every opportunity shows `tag` (and returns their views).
pub async fn wait_for_tag(
    sim: &SimHandle,
    account: &str,
    opps: &[String],
    tag: &str,
    secs: u64,
) -> Vec<arkiter_lever::lever::sim::OpportunityView> {
    crate::helpers::poll_until(
        secs,
        &format!("tag {tag} on {} candidates", opps.len()),
        || async {
            let views: Vec<_> = opps
                .iter()
                .map(|o| sim.opportunity(account, o).unwrap())
                .collect();
            views
                .iter()
                .all(|v| v.tags.iter().any(|t| t == tag))
                .then_some(views)
        },
    )
    .await
}

/// A simulator account with the "Arkiter Live" stage, logged in for /authorize.
pub fn seed_account(sim: &SimHandle, name: &str) -> (String, String) {
    let account = sim.create_account(name);
    sim.add_stage(&account, "New applicant").unwrap();
    let stage = sim.add_stage(&account, "Arkiter Live").unwrap();
    sim.login(&account).unwrap();
    (account, stage.id)
}

pub fn no_redirects() -> awc::Client {
    awc::Client::builder().disable_redirects().finish()
}

impl TestApp {
    pub async fn start_connect(&self, org: &str, key: &str, body: Value) -> Resp {
        self.post_json(
            &format!("/api/v1/orgs/{org}/lever/connect"),
            Some(key),
            &body,
        )
        .await
    }

    /// Follows an authorize URL to the simulator and returns where it redirects.
    pub async fn authorize(&self, authorize_url: &str) -> String {
        let resp = no_redirects().get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
        resp.headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Calls our callback URL (as the browser would), asking for JSON.
    pub async fn callback(&self, location: &str) -> Resp {
        let mut res = self
            .client
            .get(location)
            .insert_header(("Accept", "application/json"))
            .send()
            .await
            .unwrap();
        let bytes = res.body().await.unwrap();
        Resp {
            status: res.status().as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// The whole flow: connect, authorize at the simulator, callback.
    pub async fn connect_lever(&self, org: &str, key: &str) -> Resp {
        let start = self.start_connect(org, key, json!({})).await;
        assert_eq!(start.status, 200, "{}", start.body);
        let location = self
            .authorize(start.body["authorize_url"].as_str().unwrap())
            .await;
        self.callback(&location).await
    }

    pub async fn get_lever(&self, org: &str, key: &str) -> Resp {
        self.get(&format!("/api/v1/orgs/{org}/lever"), Some(key))
            .await
    }

    pub async fn patch_lever(&self, org: &str, key: &str, body: Value) -> Resp {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.request(
            "PATCH",
            &format!("/api/v1/orgs/{org}/lever"),
            Some(key),
            Some(("application/json", bytes)),
        )
        .await
    }
}
