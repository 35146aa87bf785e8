//! What the demo reports, read back after the run through public paths only:
//! each candidate as Lever shows it (the simulator's control API), the role
//! and rule from our interviews list, the Lever call log, and our health
//! endpoint. [`Report::failures`] says which candidates did not end right.

use std::time::Duration;

use serde_json::Value;

use super::check::{self, Tags};
use super::env::DemoEnv;
use super::setup::{Lever, Org};
use super::watch::{Interview, Watched};
use crate::lever::sim::{CallRecord, OpportunityView};

/// One candidate: what Lever shows, and what our API says about it.
#[derive(Debug, Clone)]
pub struct Row {
    pub candidate: String,
    pub opportunity_id: String,
    pub posting: String,
    /// The stage's name.
    pub stage: String,
    pub tags: Vec<String>,
    pub links: Vec<String>,
    pub notes: usize,
    /// The demo completed this interview.
    pub completed: bool,
    pub interview: Option<Interview>,
}

/// Link latency in milliseconds and where the numbers come from.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub source: &'static str,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub org: Org,
    pub lever: Lever,
    pub rows: Vec<Row>,
    pub latency: Latency,
    /// Calls the service made to (simulated) Lever for this account.
    pub lever_calls: usize,
    /// How many of them Lever answered 429.
    pub throttled: usize,
    /// The account's rate limit in the simulator, calls per second.
    pub rate_per_sec: Option<f64>,
    pub health_status: String,
    pub problems: Vec<String>,
    /// One line per thing that did not end right; empty on success.
    pub failures: Vec<String>,
    /// From the move to the last result posted.
    pub elapsed: Duration,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Reads everything back and checks every candidate.
pub async fn collect(
    env: &DemoEnv,
    lever: &Lever,
    org: &Org,
    watched: &Watched,
) -> anyhow::Result<Report> {
    let key = Some(org.admin_key.as_str());
    let connection = env
        .http
        .get(&env.api(&format!("/orgs/{}/lever", org.id)), key)
        .await?;
    let tags = Tags::from_connection(&connection)?;
    let mut rows = Vec::new();
    for c in &lever.candidates {
        let url = env.control(&format!(
            "/accounts/{}/opportunities/{}",
            lever.account, c.opportunity_id
        ));
        let view: OpportunityView = serde_json::from_value(env.http.get(&url, None).await?)?;
        rows.push(Row {
            candidate: c.name.clone(),
            opportunity_id: c.opportunity_id.clone(),
            posting: lever.postings[c.posting].title.clone(),
            stage: lever.stage_name(&view.stage).to_owned(),
            tags: view.tags,
            links: view.links,
            notes: view.notes.len(),
            completed: c.complete,
            interview: watched.interviews.get(&c.opportunity_id).cloned(),
        });
    }
    let calls_url = env.control(&format!("/calls?account={}", lever.account));
    let calls: Vec<CallRecord> = serde_json::from_value(env.http.get(&calls_url, None).await?)?;
    let account = env
        .http
        .get(&env.control(&format!("/accounts/{}", lever.account)), None)
        .await?;
    let health = env
        .http
        .get(&env.api(&format!("/orgs/{}/lever/health", org.id)), key)
        .await?;
    let mut failures: Vec<String> = rows.iter().flat_map(|r| check::row(r, &tags)).collect();
    failures.extend(watched.refused.iter().cloned());
    if watched.timed_out {
        failures.push(format!(
            "gave up waiting after {:.0} s",
            watched.elapsed.as_secs_f64()
        ));
    }
    Ok(Report {
        org: org.clone(),
        lever: lever.clone(),
        rows,
        latency: latency(&health, watched),
        lever_calls: calls.len(),
        throttled: calls.iter().filter(|c| c.status == 429).count(),
        rate_per_sec: account["rate_per_sec"].as_f64(),
        health_status: health["status"].as_str().unwrap_or("unknown").to_owned(),
        problems: problems(&health),
        failures,
        elapsed: watched.elapsed,
    })
}

fn problems(health: &Value) -> Vec<String> {
    let items = health["problems"].as_array().map(Vec::as_slice);
    items
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let code = p["code"].as_str().unwrap_or("problem");
            let message = p["message"].as_str().unwrap_or("");
            format!("{code}: {message}")
        })
        .collect()
}

/// The service's own figures (webhook received → link on the opportunity);
/// without them, what the demo saw (move → link listed as posted).
fn latency(health: &Value, watched: &Watched) -> Latency {
    let l = &health["latency_ms"];
    if let (Some(p50), Some(p95)) = (l["link_p50"].as_i64(), l["link_p95"].as_i64()) {
        return Latency {
            p50_ms: Some(p50),
            p95_ms: Some(p95),
            source: "webhook received → link in Lever, from /lever/health",
        };
    }
    let mut ms: Vec<i64> = watched
        .link_seen_after
        .values()
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .collect();
    ms.sort_unstable();
    Latency {
        p50_ms: percentile(&ms, 50),
        p95_ms: percentile(&ms, 95),
        source: "move → link seen by the demo (polled every 100 ms)",
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
