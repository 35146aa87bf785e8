//! The run itself: move every candidate into the stage (one recruiter action
//! in the simulator, which then sends real signed webhooks to our endpoint),
//! then watch our interviews list and complete each chosen interview as soon
//! as its link is posted, so link posting and completion share Lever's rate
//! limit instead of queueing behind each other.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::api::text;
use super::env::DemoEnv;
use super::fake;
use super::progress::{Counts, Progress};
use super::setup::{Candidate, Lever, Org};
use crate::domain::status::InterviewStatus;

/// How often the interviews list is read.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// An interview as our API lists it (the fields the demo shows).
#[derive(Debug, Clone)]
pub struct Interview {
    pub id: String,
    pub status: InterviewStatus,
    pub role_name: Option<String>,
    pub rule: String,
    pub live_url: String,
    pub results_url: Option<String>,
}

impl Interview {
    fn from_json(v: &Value) -> anyhow::Result<Self> {
        let opt = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            id: text(v, "id")?,
            status: serde_json::from_value(v["status"].clone())
                .context("an interview's `status`")?,
            role_name: opt("role_name"),
            rule: opt("rule").unwrap_or_default(),
            live_url: text(v, "live_url")?,
            results_url: opt("results_url"),
        })
    }

    fn link_visible(&self) -> bool {
        use InterviewStatus::*;
        matches!(self.status, LinkPosted | Completed | ResultsPosted)
    }

    fn settled(&self, to_complete: bool) -> bool {
        use InterviewStatus::*;
        matches!(self.status, Failed | Cancelled | ResultsPosted)
            || (!to_complete && self.link_visible())
    }
}

impl Default for Interview {
    /// A just-opened interview (the check's tests fill in what they need).
    fn default() -> Self {
        Self {
            id: String::new(),
            status: InterviewStatus::Creating,
            role_name: None,
            rule: String::new(),
            live_url: String::new(),
            results_url: None,
        }
    }
}

/// What the watch saw, per opportunity.
#[derive(Debug, Default)]
pub struct Watched {
    pub interviews: HashMap<String, Interview>,
    /// From the move to the first read that showed the link posted.
    pub link_seen_after: HashMap<String, Duration>,
    /// Completions our API refused (it should never), as failure lines.
    pub refused: Vec<String>,
    /// Their opportunities: nothing more will happen to them.
    refused_opps: HashSet<String>,
    /// From the move to the last result posted (or the deadline).
    pub elapsed: Duration,
    pub timed_out: bool,
}

/// Moves everyone, then completes and waits until every candidate settled
/// or `deadline` passed since the move.
pub async fn run(
    env: &DemoEnv,
    lever: &Lever,
    org: &Org,
    progress: &mut Progress,
    deadline: Duration,
) -> anyhow::Result<Watched> {
    let ids: Vec<&str> = lever
        .candidates
        .iter()
        .map(|c| c.opportunity_id.as_str())
        .collect();
    let url = env.control(&format!("/accounts/{}/move", lever.account));
    let body = json!({"opportunity_ids": ids, "stage_id": lever.live_stage});
    progress.start();
    let moved_at = Instant::now();
    env.http.post(200, &url, None, &body).await?;
    let mut seen = Watched::default();
    let mut sent: HashSet<String> = HashSet::new();
    loop {
        seen.interviews = list_interviews(env, org).await?;
        let now = moved_at.elapsed();
        for (opp, iv) in &seen.interviews {
            if iv.link_visible() {
                seen.link_seen_after.entry(opp.clone()).or_insert(now);
            }
        }
        complete_ready(env, org, lever, &mut seen, &mut sent).await;
        progress.update(counts(lever, &seen.interviews));
        let settled = all_settled(lever, &seen);
        if settled || now >= deadline {
            seen.timed_out = !settled;
            seen.elapsed = now;
            break;
        }
        actix_rt::time::sleep(POLL_EVERY).await;
    }
    progress.finish();
    Ok(seen)
}

/// The org's interviews by opportunity (the newest one of each), every page.
pub async fn list_interviews(
    env: &DemoEnv,
    org: &Org,
) -> anyhow::Result<HashMap<String, Interview>> {
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = env.api(&format!("/orgs/{}/interviews?limit=200", org.id));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = env.http.get(&url, Some(&org.admin_key)).await?;
        for item in page["items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let opp = text(item, "opportunity_id")?;
            // Lists are newest first: keep the first one of each candidate.
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(opp) {
                slot.insert(Interview::from_json(item)?);
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Sends the completion of every chosen interview whose link is posted.
async fn complete_ready(
    env: &DemoEnv,
    org: &Org,
    lever: &Lever,
    seen: &mut Watched,
    sent: &mut HashSet<String>,
) {
    let ready = lever
        .candidates
        .iter()
        .filter(|c| c.complete)
        .filter_map(|c| {
            let iv = seen.interviews.get(&c.opportunity_id)?;
            (iv.status == InterviewStatus::LinkPosted && !sent.contains(&iv.id))
                .then(|| (c, iv.clone()))
        });
    for (candidate, iv) in ready.collect::<Vec<_>>() {
        sent.insert(iv.id.clone());
        if let Err(e) = complete(env, org, candidate, &iv).await {
            let why = format!("{}: completion refused: {e:#}", candidate.name);
            seen.refused.push(why);
            seen.refused_opps.insert(candidate.opportunity_id.clone());
        }
    }
}

async fn complete(
    env: &DemoEnv,
    org: &Org,
    candidate: &Candidate,
    iv: &Interview,
) -> anyhow::Result<()> {
    let url = env.api(&format!("/orgs/{}/interviews/{}/complete", org.id, iv.id));
    let body = fake::result(candidate.index);
    env.http
        .post(202, &url, Some(&org.admin_key), &body)
        .await?;
    Ok(())
}

fn counts(lever: &Lever, interviews: &HashMap<String, Interview>) -> Counts {
    let of = |c: &Candidate| interviews.get(&c.opportunity_id);
    Counts {
        links: lever
            .candidates
            .iter()
            .filter(|c| of(c).is_some_and(Interview::link_visible))
            .count(),
        links_goal: lever.candidates.len(),
        results: lever
            .candidates
            .iter()
            .filter(|c| {
                c.complete && of(c).is_some_and(|i| i.status == InterviewStatus::ResultsPosted)
            })
            .count(),
        results_goal: lever.candidates.iter().filter(|c| c.complete).count(),
    }
}

fn all_settled(lever: &Lever, seen: &Watched) -> bool {
    lever.candidates.iter().all(|c| {
        seen.refused_opps.contains(&c.opportunity_id)
            || seen
                .interviews
                .get(&c.opportunity_id)
                .is_some_and(|iv| iv.settled(c.complete))
    })
}
