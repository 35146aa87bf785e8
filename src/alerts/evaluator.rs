//! The evaluator (docs/contract/alerts.md): every `evaluate_every`, on one
//! instance at a time (a transaction-level advisory lock), one query reads
//! every connection's stored problems and status, and one more the figures
//! behind the problems health computes, for all connections at once; the debounce
//! ([`super::evaluate`]) decides what opened and resolved; the new memory
//! and the notifications it calls for are written in the same transaction,
//! to the outbox the sender works.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use uuid::Uuid;

use super::body;
use super::evaluate::{Held, Rules, step};
use crate::config::AlertSettings;
use crate::db::models::alert::{self, Notice};
use crate::db::models::alert_history::{self, AlertMoment};
use crate::health;

/// Arbitrary constant naming "arkiter-lever alert evaluator" among advisory locks.
pub const LOCK_KEY: i64 = 0x4152_4b4c_414c_5254;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

fn duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// One evaluation; returns how many notifications it queued (0 as well
/// when another instance holds the lock).
pub fn evaluate(c: &mut PgConnection, settings: &AlertSettings) -> QueryResult<usize> {
    c.transaction(|c| {
        let locked: Locked = diesel::sql_query(format!(
            "SELECT pg_try_advisory_xact_lock({LOCK_KEY}) AS locked"
        ))
        .get_result(c)?;
        if !locked.locked {
            return Ok(0);
        }
        let now: DateTime<Utc> =
            diesel::select(diesel::dsl::now.into_sql::<diesel::sql_types::Timestamptz>())
                .get_result(c)?;
        let standing = alert::standing(c)?;
        let mut org_of = HashMap::new();
        let mut status_of = BTreeMap::new();
        let mut held = Vec::new();
        for s in &standing {
            org_of.insert(s.connection_id, s.org_id);
            status_of.insert(s.connection_id, s.status.clone());
            if let Some(code) = &s.code {
                held.push(Held {
                    connection_id: s.connection_id,
                    code: code.clone(),
                    message: s.message.clone().unwrap_or_default(),
                });
            }
        }
        held.extend(computed(c, now, settings, &held)?);
        let rules = Rules {
            open_after: duration(settings.open_after),
            resolve_after: duration(settings.resolve_after),
            renotify_after: duration(settings.renotify_after),
        };
        let before = alert::problem_states(c)?;
        let (after, told) = step(now, &held, before.clone(), &rules);
        if after != sorted(before) {
            alert::store_problem_states(c, &after)?;
        }
        let mut notices = Vec::new();
        let mut newly: BTreeMap<String, BTreeSet<Uuid>> = BTreeMap::new();
        for t in &told {
            let Some(org) = org_of.get(&t.connection_id).copied() else {
                continue;
            };
            let kind = if t.opened {
                body::PROBLEM_OPENED
            } else {
                body::PROBLEM_RESOLVED
            };
            if t.opened {
                newly.entry(t.code.clone()).or_default().insert(org);
            }
            notices.push(Notice {
                org: Some(org),
                kind,
                body: body::connection(kind, now, org, t.connection_id, &t.code, &t.message),
            });
        }
        notices.extend(status_changes(c, now, &status_of, &org_of)?);
        alert_history::record(c, &moments(now, &notices))?;
        notices.extend(summaries(c, now, newly, duration(settings.summary_every))?);
        alert::enqueue(c, &notices, now + duration(settings.retry_for))
    })
}

/// The problems the figures show for every running connection (as its
/// health page computes them), leaving out a code already stored on it.
fn computed(
    c: &mut PgConnection,
    now: DateTime<Utc>,
    settings: &AlertSettings,
    stored: &[Held],
) -> QueryResult<Vec<Held>> {
    let stored: HashSet<(Uuid, &str)> = stored
        .iter()
        .map(|h| (h.connection_id, h.code.as_str()))
        .collect();
    let policy = health::Policy {
        no_deliveries_after: settings.no_deliveries_after,
        supervisor_stale_after: health::SUPERVISOR_STALE_AFTER,
        asked_scopes: String::new(),
        alert_failing_after: settings.failing_after,
    };
    let mut held = Vec::new();
    for rows in health::query::figures_of_running(c)? {
        for p in health::problems::computed(&rows, now, &policy) {
            if !stored.contains(&(rows.connection_id, p.code.as_str())) {
                held.push(Held {
                    connection_id: rows.connection_id,
                    code: p.code,
                    message: p.message,
                });
            }
        }
    }
    Ok(held)
}

/// The connections' notices as moments of their history (the candidates'
/// stories show them), told to a destination or not.
fn moments(now: DateTime<Utc>, notices: &[Notice]) -> Vec<AlertMoment> {
    notices
        .iter()
        .filter_map(|n| {
            let data = &n.body["data"];
            Some(AlertMoment {
                connection_id: data["connection_id"].as_str()?.parse().ok()?,
                at: now,
                kind: n.kind.to_owned(),
                code: data["code"].as_str()?.to_owned(),
                message: data["message"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

fn sorted(mut states: Vec<alert::ProblemState>) -> Vec<alert::ProblemState> {
    states.sort_by(|a, b| (a.connection_id, &a.code).cmp(&(b.connection_id, &b.code)));
    states
}

/// `connection.status_changed` for each connection whose status is not
/// the one seen last time (a connection seen for the first time is not a
/// change); the statuses seen are remembered.
fn status_changes(
    c: &mut PgConnection,
    now: DateTime<Utc>,
    status_of: &BTreeMap<Uuid, String>,
    org_of: &HashMap<Uuid, Uuid>,
) -> QueryResult<Vec<Notice>> {
    let seen: HashMap<Uuid, String> = alert::seen_statuses(c)?.into_iter().collect();
    let mut changed = Vec::new();
    let mut notices = Vec::new();
    for (id, status) in status_of {
        match seen.get(id) {
            Some(old) if old == status => continue,
            Some(old) => {
                let org = org_of.get(id).copied().unwrap_or_default();
                let message = format!("the Lever connection is now {status} (it was {old})");
                notices.push(Notice {
                    org: Some(org),
                    kind: body::STATUS_CHANGED,
                    body: body::connection(body::STATUS_CHANGED, now, org, *id, status, &message),
                });
            }
            None => {}
        }
        changed.push((*id, status.clone()));
    }
    alert::store_statuses(c, &changed)?;
    Ok(notices)
}

/// The operator's summaries: the orgs newly affected by each code gather
/// until the code's last summary is `every` old, then go in one.
fn summaries(
    c: &mut PgConnection,
    now: DateTime<Utc>,
    newly: BTreeMap<String, BTreeSet<Uuid>>,
    every: chrono::Duration,
) -> QueryResult<Vec<Notice>> {
    let mut state: BTreeMap<String, (BTreeSet<Uuid>, Option<DateTime<Utc>>)> = alert::summaries(c)?
        .into_iter()
        .map(|(code, orgs, last)| (code, (orgs.into_iter().collect(), last)))
        .collect();
    let mut touched = BTreeSet::new();
    for (code, orgs) in newly {
        state.entry(code.clone()).or_default().0.extend(orgs);
        touched.insert(code);
    }
    let mut notices = Vec::new();
    for (code, (pending, last)) in &mut state {
        let due = last.is_none_or(|l| now - l >= every);
        if pending.is_empty() || !due {
            if touched.contains(code) {
                let orgs: Vec<Uuid> = pending.iter().copied().collect();
                alert::store_summary(c, code, &orgs, *last)?;
            }
            continue;
        }
        let orgs: Vec<Uuid> = std::mem::take(pending).into_iter().collect();
        notices.push(Notice {
            org: None,
            kind: body::PROBLEM_OPENED,
            body: body::summary(now, code, &orgs),
        });
        alert::store_summary(c, code, &[], Some(now))?;
    }
    Ok(notices)
}
