//! The demo's starting point, made the way a customer would make it: a
//! Lever account seeded through the simulator's control API, an org and its
//! roles through our admin API, and the connection through the real OAuth
//! flow (our connect endpoint → the simulator's `/authorize` → our callback).

use actix_web::http::Method;
use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::api::text;
use super::env::DemoEnv;
use super::fake;
use crate::domain::status::ConnectionStatus;

/// The stage the integration watches.
pub const LIVE_STAGE: &str = "Arkiter Live";
/// Where candidates start; and another ordinary stage.
const START_STAGE: &str = "New applicant";
const OTHER_STAGE: &str = "Phone screen";

/// The three postings: mapped by title, mapped by posting id, unmapped.
const POSTINGS: [&str; 3] = ["Backend Engineer", "Data Engineer", "Office Manager"];

#[derive(Debug, Clone)]
pub struct Posting {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub opportunity_id: String,
    pub name: String,
    /// Index into [`Lever::postings`].
    pub posting: usize,
    /// The demo completes this one's interview.
    pub complete: bool,
    /// Its position, which picks its made-up result.
    pub index: usize,
}

/// The simulated Lever account as seeded.
#[derive(Debug, Clone)]
pub struct Lever {
    pub account: String,
    pub start_stage: String,
    pub live_stage: String,
    /// Every stage as (id, name), to show names where Lever gives ids.
    pub stages: Vec<(String, String)>,
    pub postings: Vec<Posting>,
    pub candidates: Vec<Candidate>,
    /// One more candidate left in the first stage, to move by hand later.
    pub spare: Option<Candidate>,
}

/// The demo org as our API created it.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    /// The org's admin API key (shown once by our API, kept for the tour).
    pub admin_key: String,
}

/// Seeds the account: stages, postings, `n` candidates spread over the
/// postings (every other one to be completed), and the spare if asked.
pub async fn seed_lever(env: &DemoEnv, n: usize, spare: bool) -> anyhow::Result<Lever> {
    let http = &env.http;
    let account = http
        .post(
            201,
            &env.control("/accounts"),
            None,
            &json!({"name": "Demo Lever"}),
        )
        .await?;
    let account = text(&account, "id")?;
    let a = |path: &str| env.control(&format!("/accounts/{account}{path}"));
    let mut stage_ids = Vec::new();
    for stage in [START_STAGE, OTHER_STAGE, LIVE_STAGE] {
        let s = http
            .post(200, &a("/stages"), None, &json!({"text": stage}))
            .await?;
        stage_ids.push((text(&s, "id")?, stage.to_owned()));
    }
    let mut postings = Vec::new();
    for title in POSTINGS {
        let p = http
            .post(200, &a("/postings"), None, &json!({"text": title}))
            .await?;
        postings.push(Posting {
            id: text(&p, "id")?,
            title: title.to_owned(),
        });
    }
    let mut lever = Lever {
        start_stage: stage_ids[0].0.clone(),
        live_stage: stage_ids[2].0.clone(),
        stages: stage_ids,
        account: account.clone(),
        postings,
        candidates: Vec::new(),
        spare: None,
    };
    for i in 0..n {
        let c = add_candidate(env, &lever, i).await?;
        lever.candidates.push(c);
    }
    if spare {
        lever.spare = Some(add_candidate(env, &lever, n).await?);
    }
    // `/authorize` acts for whoever is logged in to Lever: this account's admin.
    http.expect(204, Method::POST, &a("/login"), None, None)
        .await?;
    Ok(lever)
}

async fn add_candidate(env: &DemoEnv, lever: &Lever, i: usize) -> anyhow::Result<Candidate> {
    let posting = i % lever.postings.len();
    let name = fake::name(i);
    let body = json!({
        "name": name,
        "emails": [fake::email(i)],
        "stage_id": lever.start_stage,
        "posting_id": lever.postings[posting].id,
    });
    let url = env.control(&format!("/accounts/{}/opportunities", lever.account));
    let opp = env.http.post(200, &url, None, &body).await?;
    Ok(Candidate {
        opportunity_id: text(&opp, "id")?,
        name,
        posting,
        complete: i % 2 == 1,
        index: i,
    })
}

/// Creates the org (with the super-admin token) and its three roles (with
/// the org's own admin key): by title, by posting id, and the fallback.
pub async fn create_org(env: &DemoEnv, lever: &Lever) -> anyhow::Result<Org> {
    let body = json!({"name": "Demo Recruiting"});
    let created = env
        .http
        .post(201, &env.api("/orgs"), Some(env.admin_token()), &body)
        .await
        .context("creating the demo org")?;
    let org = Org {
        id: text(&created, "id")?,
        name: text(&created, "name")?,
        admin_key: text(&created, "admin_key")?,
    };
    let roles = [
        json!({"name": "Backend Engineering", "ats_jobs": [lever.postings[0].title]}),
        json!({"name": "Data Platform", "ats_jobs": [lever.postings[1].id]}),
        json!({"name": "General Interview", "fallback": true}),
    ];
    let url = env.api(&format!("/orgs/{}/roles", org.id));
    for role in &roles {
        env.http
            .post(201, &url, Some(&org.admin_key), role)
            .await
            .context("creating a role")?;
    }
    Ok(org)
}

/// Connects the org's Lever account through the OAuth flow a browser would
/// follow; succeeds once our callback says the connection is active.
pub async fn connect(env: &DemoEnv, org: &Org) -> anyhow::Result<Value> {
    let http = &env.http;
    let key = Some(org.admin_key.as_str());
    let url = env.api(&format!("/orgs/{}/lever/connect", org.id));
    let started = http.post(200, &url, key, &json!({})).await?;
    let authorize = text(&started, "authorize_url")?;
    // The simulator consents at once and redirects to our callback.
    let consent = http
        .expect(302, Method::GET, &authorize, None, None)
        .await?;
    let callback = consent
        .location
        .context("the simulator's /authorize gave no redirect")?;
    let done = http
        .get(&callback, None)
        .await
        .context("our OAuth callback")?;
    if done["connection_status"] != ConnectionStatus::Active.as_str() {
        bail!("the Lever connection is not active after OAuth: {done}");
    }
    Ok(done)
}

/// Waits (up to `limit`) until our health endpoint says the account's
/// supervisor runs and its sweep after connecting has run, as they long have
/// in a real deployment by the time a recruiter moves anyone: otherwise the
/// first links' latency would be the worker's start-up, not the service's,
/// and the sweep's calls (made only once no candidate's work is waiting)
/// could land after the report counted Lever's calls. Returns whether they
/// did.
pub async fn wait_until_running(
    env: &DemoEnv,
    org: &Org,
    limit: std::time::Duration,
) -> anyhow::Result<bool> {
    let url = env.api(&format!("/orgs/{}/lever/health", org.id));
    let until = std::time::Instant::now() + limit;
    loop {
        let health = env.http.get(&url, Some(&org.admin_key)).await?;
        if health["supervisor"]["running"] == true && !health["sweep"]["last_at"].is_null() {
            return Ok(true);
        }
        if std::time::Instant::now() >= until {
            return Ok(false);
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

impl Lever {
    /// A stage's name, or its id when unknown.
    pub fn stage_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.stages
            .iter()
            .find(|(sid, _)| sid == id)
            .map_or(id, |(_, name)| name.as_str())
    }
}
