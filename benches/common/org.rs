//! A connected org as a customer would have it: an Arkiter org with a role,
//! its Lever account in the simulator (stages, a posting), connected through
//! the real OAuth flow; candidates to move, and ways to see what Lever shows.

use std::time::{Duration, Instant};

use arkiter_lever::lever::sim::{NewOpportunity, SimHandle};
use serde_json::json;

use super::bed::Api;

pub const LINK_TAG: &str = "Arkiter Live: Link Created";

pub struct Org {
    pub org: String,
    pub key: String,
    pub account: String,
    pub stage: String,
    pub start_stage: String,
    pub other_stage: String,
    pub posting: String,
}

impl Org {
    /// Seeds the simulator account, creates the org and its role, connects.
    pub async fn connect(bed: &Api, sim: &SimHandle, name: &str) -> Self {
        let account = sim.create_account(name);
        let start_stage = sim.add_stage(&account, "New applicant").expect("stage").id;
        let other_stage = sim.add_stage(&account, "Phone screen").expect("stage").id;
        let stage = sim.add_stage(&account, "Arkiter Live").expect("stage").id;
        let posting = sim
            .add_posting(&account, "Backend Engineer")
            .expect("posting")
            .id;
        let (org, key) = new_org(bed, name).await;
        let role = json!({"name": "Backend", "ats_jobs": ["backend engineer"]});
        let (status, body) = bed
            .call(
                "POST",
                &format!("/api/v1/orgs/{org}/roles"),
                Some(&key),
                Some(&role),
            )
            .await;
        assert_eq!(status, 201, "role: {body}");
        sim.login(&account).expect("login");
        oauth(bed, &org, &key).await;
        Self {
            org,
            key,
            account,
            stage,
            start_stage,
            other_stage,
            posting,
        }
    }

    /// `n` new candidates for the posting, in the first stage.
    pub fn candidates(&self, sim: &SimHandle, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let new = NewOpportunity {
                    name: Some(format!("Candidate {i}")),
                    emails: vec![format!("c{i}@example.com")],
                    stage_id: self.start_stage.clone(),
                    posting_id: Some(self.posting.clone()),
                    ..NewOpportunity::default()
                };
                sim.add_opportunity(&self.account, new)
                    .expect("opportunity")
                    .id
            })
            .collect()
    }

    /// Moves candidates into the Arkiter Live stage (webhooks follow).
    pub fn move_in(&self, sim: &SimHandle, opps: &[String]) {
        sim.move_opportunities(&self.account, opps, &self.stage)
            .expect("move");
    }

    /// Whether Lever shows the live link and the link-created tag.
    pub fn linked(&self, sim: &SimHandle, opp: &str) -> bool {
        linked(sim, &self.account, opp)
    }

    /// Polls every `every` until `opp` is linked; the time it took from `since`.
    pub async fn wait_linked(
        &self,
        sim: &SimHandle,
        opp: &str,
        since: Instant,
        every: Duration,
        timeout: Duration,
    ) -> Option<Duration> {
        loop {
            if self.linked(sim, opp) {
                return Some(since.elapsed());
            }
            if since.elapsed() > timeout {
                return None;
            }
            actix_web::rt::time::sleep(every).await;
        }
    }
}

async fn new_org(bed: &Api, name: &str) -> (String, String) {
    let (status, body) = bed
        .call(
            "POST",
            "/api/v1/orgs",
            Some(&bed.admin),
            Some(&json!({ "name": name })),
        )
        .await;
    assert_eq!(status, 201, "org: {body}");
    let field = |k: &str| body[k].as_str().expect(k).to_owned();
    (field("id"), field("admin_key"))
}

/// connect → the simulator's /authorize (logged in) → our callback.
async fn oauth(bed: &Api, org: &str, key: &str) {
    let (status, body) = bed
        .call(
            "POST",
            &format!("/api/v1/orgs/{org}/lever/connect"),
            Some(key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 200, "connect: {body}");
    let authorize = body["authorize_url"].as_str().expect("authorize_url");
    let no_redirects = awc::Client::builder().disable_redirects().finish();
    let resp = no_redirects.get(authorize).send().await.expect("authorize");
    assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let mut res = bed
        .client
        .get(location)
        .insert_header(("Accept", "application/json"))
        .send()
        .await
        .expect("callback");
    let bytes = res.body().await.expect("callback body");
    let done: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    assert_eq!(done["connection_status"], "active", "callback: {done}");
}

/// Whether Lever shows the live link and the link-created tag on `opp`.
pub fn linked(sim: &SimHandle, account: &str, opp: &str) -> bool {
    let v = sim.opportunity(account, opp).expect("opportunity");
    v.tags.iter().any(|t| t == LINK_TAG) && v.links.iter().any(|l| l.contains("/live/"))
}

/// Successful calls to a path ending in `suffix` for the account.
pub fn count_calls(sim: &SimHandle, account: &str, suffix: &str) -> usize {
    sim.calls_for(account)
        .iter()
        .filter(|c| c.path.ends_with(suffix) && c.status / 100 == 2)
        .count()
}
