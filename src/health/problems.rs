//! What an admin should fix, in plain words: the problems setup and the
//! pipeline stored on the connection, plus those the figures show. A computed
//! problem never repeats a code already stored. The alert evaluator watches
//! both, with the same texts.

use chrono::{DateTime, Utc};

use super::Policy;
use super::report::{Problem, UnmappedPosting};
use super::rows::ConnectionRows;

/// How many unmapped postings a message names before "and N more".
const NAMED_POSTINGS: usize = 5;

/// Stored problems first, then the computed ones not already among them.
pub fn problems(c: &ConnectionRows, now: DateTime<Utc>, policy: &Policy) -> Vec<Problem> {
    let mut out = stored(&c.stored_problems);
    for p in computed(c, now, policy) {
        if !out.iter().any(|o| o.code == p.code) {
            out.push(p);
        }
    }
    out
}

/// The problems the figures show (the alert evaluator watches these too,
/// from [`super::query::figures_of_running`]).
pub fn computed(c: &ConnectionRows, now: DateTime<Utc>, policy: &Policy) -> Vec<Problem> {
    [
        dead_jobs(c),
        confidential_hidden(c),
        scope_missing(c, policy),
        perform_as_missing(c),
        results_refused(c),
        role_overlap(c),
        unmapped_postings(&c.unmapped),
        signature_failures(c.rejected_last_hour),
        no_deliveries_yet(c, now, policy),
        supervisor_stale(c, now, policy),
        missed_deliveries(c),
        sweep_failing(c),
        webhook_repaired(c, now),
        webhook_missing(c),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `connections.problems` as written: objects with a string `code` (others skipped).
pub fn stored(value: &serde_json::Value) -> Vec<Problem> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .filter_map(|p| {
            let code = p.get("code")?.as_str()?;
            let message = p.get("message").and_then(|m| m.as_str()).unwrap_or("");
            Some(Problem::new(code, message))
        })
        .collect()
}

/// A setting needs a scope the grant lacks: connecting again grants it when
/// connect asks for it (`LEVER_SCOPES`), else only the operator can add it.
fn scope_missing(c: &ConnectionRows, policy: &Policy) -> Option<Problem> {
    let granted = c.granted_scopes.as_deref()?;
    let has = |list: &str, scope: &str| list.split_whitespace().any(|s| s == scope);
    let missing: Vec<String> = c
        .needed_scopes
        .iter()
        .filter(|(scope, _)| !has(granted, scope))
        .map(|(scope, why)| {
            let fix = if has(&policy.asked_scopes, scope) {
                "a Lever Super Admin can grant it by connecting again (Lever · Live)"
            } else {
                "ask the operator to add it to LEVER_SCOPES (and to the registered Lever \
                 app), then connect again"
            };
            format!("{scope} is needed because {why}: {fix}")
        })
        .collect();
    (!missing.is_empty()).then(|| {
        Problem::new(
            "scope_missing",
            format!(
                "A setting needs a Lever scope this connection was not granted. {}.",
                missing.join("; ")
            ),
        )
    })
}

fn perform_as_missing(c: &ConnectionRows) -> Option<Problem> {
    c.perform_as_missing.then(|| {
        Problem::new(
            "perform_as_missing",
            "The results ask for a Lever feedback form or a PDF file, and Lever writes those \
             only on behalf of a Lever user: set perform_as (Lever · Live). Until then the \
             note is written instead.",
        )
    })
}

fn results_refused(c: &ConnectionRows) -> Option<Problem> {
    let r = c.results_refused.as_ref()?;
    let what = r.get("what")?.as_str()?;
    let why = r.get("why").and_then(|w| w.as_str()).unwrap_or("");
    Some(Problem::new(
        "results_refused",
        format!("Lever refused a {what}, so the note was written instead. {why}"),
    ))
}

/// Postings two roles matched at one rule: the oldest role took them, and
/// the admin should map each posting to one role only.
fn role_overlap(c: &ConnectionRows) -> Option<Problem> {
    if c.overlaps.is_empty() {
        return None;
    }
    let named: Vec<String> = c
        .overlaps
        .iter()
        .take(NAMED_POSTINGS)
        .map(|o| {
            format!(
                "posting {} (rule {}: {})",
                o.posting_id,
                o.rule,
                o.roles.join(", ")
            )
        })
        .collect();
    let more = c.overlaps.len().saturating_sub(NAMED_POSTINGS);
    let tail = if more > 0 { " and more" } else { "" };
    Some(Problem::new(
        "role_overlap",
        format!(
            "More than one role maps the same posting; the oldest role (named first) gets it: {}{tail}. \
             Keep each job title, posting id or tag in one role only.",
            named.join("; ")
        ),
    ))
}

fn confidential_hidden(c: &ConnectionRows) -> Option<Problem> {
    let n = c.queue.hidden;
    (n > 0).then(|| {
        Problem::new(
            "confidential_hidden",
            format!(
                "Lever would not show {} (most likely confidential). A Lever Super Admin can \
                 grant Arkiter confidential access (the confidential:access:admin scope) by \
                 connecting again; then replay the dead events.",
                plural(n, "candidate", "candidates"),
            ),
        )
    })
}

fn dead_jobs(c: &ConnectionRows) -> Option<Problem> {
    let (events, jobs) = (c.queue.dead_events, c.queue.dead_jobs);
    (events + jobs > 0).then(|| {
        Problem::new(
            "dead_jobs",
            format!(
                "{} stopped after repeated failures ({} Lever {}, {} follow-up {}). \
                 Fix the cause shown in their last error, then replay them from the events list.",
                plural(events + jobs, "piece of work", "pieces of work"),
                events,
                noun(events, "event", "events"),
                jobs,
                noun(jobs, "job", "jobs"),
            ),
        )
    })
}

fn unmapped_postings(unmapped: &[UnmappedPosting]) -> Option<Problem> {
    if unmapped.is_empty() {
        return None;
    }
    let mut named: Vec<String> = unmapped
        .iter()
        .take(NAMED_POSTINGS)
        .map(|p| match &p.title {
            Some(t) => format!("\"{t}\" (posting {})", p.posting_id),
            None => format!("posting {}", p.posting_id),
        })
        .collect();
    if unmapped.len() > NAMED_POSTINGS {
        named.push(format!("and {} more", unmapped.len() - NAMED_POSTINGS));
    }
    Some(Problem::new(
        "unmapped_postings",
        format!(
            "{} no role of its own and got the fallback or oldest role: {}. \
             Add the job title or posting id to a role.",
            plural(
                unmapped.len() as i64,
                "Lever posting has",
                "Lever postings have"
            ),
            named.join(", "),
        ),
    ))
}

fn signature_failures(rejected: i64) -> Option<Problem> {
    (rejected > 0).then(|| {
        Problem::new(
            "signature_failures",
            format!(
                "{} to the webhook URL {} rejected in the last hour because the signature \
                 or timestamp did not check out. Check the signature token: paste the Lever \
                 webhook's token again (webhook-secret) or connect Lever again.",
                plural(rejected, "delivery", "deliveries"),
                noun(rejected, "was", "were"),
            ),
        )
    })
}

fn no_deliveries_yet(c: &ConnectionRows, now: DateTime<Utc>, policy: &Policy) -> Option<Problem> {
    let connected = c.connected_at?;
    let waited = age_s(now, connected);
    let quiet = c.status == crate::domain::status::ConnectionStatus::Active
        && c.record.last_received_at.is_none()
        && waited > policy.no_deliveries_after.as_secs() as i64;
    quiet.then(|| {
        Problem::new(
            "no_deliveries_yet",
            format!(
                "Connected {} ago and Lever has sent no webhook delivery yet. A Lever Super \
                 Admin must turn on the Candidate Stage Change webhook group under Settings > \
                 Integrations and API > Webhooks.",
                duration_text(waited)
            ),
        )
    })
}

fn supervisor_stale(c: &ConnectionRows, now: DateTime<Utc>, policy: &Policy) -> Option<Problem> {
    if !crate::domain::status::ConnectionStatus::RUNNING.contains(&c.status) {
        return None;
    }
    let limit = policy.supervisor_stale_after.as_secs() as i64;
    let message = match c.record.heartbeat_at {
        Some(beat) if age_s(now, beat) > limit => format!(
            "The worker for this Lever account (instance {}) last reported {} ago, so new \
             events may wait. Another instance takes over within a minute or two; if this \
             stays, check the service's instances.",
            c.record.instance.as_deref().unwrap_or("unknown"),
            duration_text(age_s(now, beat)),
        ),
        None if c.connected_at.is_some_and(|t| age_s(now, t) > limit) => {
            "No worker has picked up this Lever account since it connected, so events wait. \
             Check that the service is running; restart it if this stays."
                .to_owned()
        }
        _ => return None,
    };
    Some(Problem::new("supervisor_stale", message))
}

/// How long `webhook_repaired` stays on the page after the repair.
pub const WEBHOOK_REPAIRED_SHOWN_SECS: i64 = 86_400;

fn missed_deliveries(c: &ConnectionRows) -> Option<Problem> {
    let found = i64::from(c.sweep.found_last);
    let at = c.sweep.last_at.filter(|_| found > 0)?;
    Some(Problem::new(
        "missed_deliveries",
        format!(
            "The sweep at {} found {} in the Arkiter Live stage that Lever did not deliver \
             to Arkiter; {} now handled like a delivery. If this repeats, check in Lever \
             under Settings > Integrations and API > Webhooks that the Candidate Stage Change \
             webhook group is turned on and Arkiter's webhook is there.",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            plural(found, "candidate", "candidates"),
            noun(found, "it is", "they are"),
        ),
    ))
}

fn sweep_failing(c: &ConnectionRows) -> Option<Problem> {
    let since = c.sweep.failing_since?;
    let why = c.sweep.last_error.as_deref().unwrap_or("unknown error");
    Some(Problem::new(
        "sweep_failing",
        format!(
            "The sweep for candidates Lever did not deliver has been failing since {}: {why}. \
             It is retried automatically and runs as soon as Lever answers again; candidates \
             it would find are linked then.",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ))
}

fn webhook_repaired(c: &ConnectionRows, now: DateTime<Utc>) -> Option<Problem> {
    let at = c.sweep.webhook_repaired_at?;
    (age_s(now, at) < WEBHOOK_REPAIRED_SHOWN_SECS).then(|| {
        Problem::new(
            "webhook_repaired",
            format!(
                "Arkiter's Candidate Stage Change webhook was missing or disabled in Lever and \
                 was registered again at {}. Candidates moved meanwhile are found by the sweep. \
                 If it keeps disappearing, ask your Lever Super Admins not to remove it under \
                 Settings > Integrations and API > Webhooks.",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        )
    })
}

fn webhook_missing(c: &ConnectionRows) -> Option<Problem> {
    let url = c.sweep.webhook_missing_url.as_deref()?;
    Some(Problem::new(
        "webhook_missing",
        webhook_missing_message(url, c.org_id),
    ))
}

/// What an admin of a manual-mode connection must paste where.
pub fn webhook_missing_message(url: &str, org_id: uuid::Uuid) -> String {
    format!(
        "Lever has no webhook delivering to Arkiter, so moved candidates reach Arkiter only \
         through the sweep. In Lever, go to Settings > Integrations and API > Webhooks, add \
         {url} under Candidate Stage Change and turn the group on; then paste that webhook's \
         signature token into Arkiter: PUT /api/v1/orgs/{org_id}/lever/webhook-secret with \
         {{\"signature_token\": \"...\"}}."
    )
}

/// Whole seconds from `then` to `now`, never negative.
pub fn age_s(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (now - then).num_seconds().max(0)
}

fn duration_text(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7_200 => format!("{} minutes", s / 60),
        s if s < 172_800 => format!("{} hours", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", noun(n, one, many))
}

fn noun<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::health::tests::{active, policy};

    fn codes(p: &[Problem]) -> Vec<&str> {
        p.iter().map(|p| p.code.as_str()).collect()
    }

    #[test]
    fn a_fresh_active_connection_has_none() {
        let now = Utc::now();
        assert!(problems(&active(now), now, &policy()).is_empty());
    }

    #[test]
    fn stored_come_first_and_are_not_repeated() {
        let now = Utc::now();
        let mut c = active(now);
        c.stored_problems = json!([{"code": "dead_jobs", "message": "stored"}, {"nope": 1}]);
        c.queue.dead_jobs = 2;
        c.rejected_last_hour = 1;
        let p = problems(&c, now, &policy());
        assert_eq!(codes(&p), ["dead_jobs", "signature_failures"]);
        assert_eq!(p[0].message, "stored");
        assert!(
            p[1].message
                .starts_with("1 delivery to the webhook URL was rejected")
        );
    }

    #[test]
    fn dead_work_is_counted_by_kind() {
        let now = Utc::now();
        let mut c = active(now);
        c.queue.dead_events = 2;
        c.queue.dead_jobs = 1;
        let p = problems(&c, now, &policy());
        assert!(
            p[0].message.starts_with("3 pieces of work stopped"),
            "{}",
            p[0].message
        );
        assert!(p[0].message.contains("(2 Lever events, 1 follow-up job)"));
        assert!(p[0].message.contains("replay"));
    }

    #[test]
    fn unmapped_postings_are_named() {
        let now = Utc::now();
        let mut c = active(now);
        for i in 0..7 {
            c.unmapped.push(UnmappedPosting {
                posting_id: format!("p{i}"),
                title: (i == 0).then(|| "Backend Engineer".to_owned()),
                rule: crate::domain::status::Rule::Any,
            });
        }
        let p = problems(&c, now, &policy());
        let m = &p[0].message;
        assert!(m.starts_with("7 Lever postings have no role"), "{m}");
        assert!(
            m.contains("\"Backend Engineer\" (posting p0), posting p1"),
            "{m}"
        );
        assert!(m.contains("posting p4, and 2 more."), "{m}");
    }

    #[test]
    fn no_deliveries_only_after_the_setting() {
        let now = Utc::now();
        let mut c = active(now);
        c.record.last_received_at = None;
        c.connected_at = Some(now - Duration::hours(23));
        assert!(problems(&c, now, &policy()).is_empty());
        c.connected_at = Some(now - Duration::hours(25));
        c.record.heartbeat_at = Some(now);
        let p = problems(&c, now, &policy());
        assert_eq!(codes(&p), ["no_deliveries_yet"]);
        assert!(
            p[0].message
                .contains("Candidate Stage Change webhook group")
        );
        assert!(
            p[0].message
                .contains("Settings > Integrations and API > Webhooks")
        );
        c.record.last_received_at = Some(now - Duration::hours(1));
        assert!(problems(&c, now, &policy()).is_empty());
    }

    #[test]
    fn a_stale_heartbeat_names_the_instance() {
        let now = Utc::now();
        let mut c = active(now);
        c.record.heartbeat_at = Some(now - Duration::seconds(61));
        c.record.instance = Some("host-a:42".into());
        let p = problems(&c, now, &policy());
        assert_eq!(codes(&p), ["supervisor_stale"]);
        assert!(p[0].message.contains("host-a:42"));
        c.status = crate::domain::status::ConnectionStatus::Disconnected;
        assert!(problems(&c, now, &policy()).is_empty());
    }

    #[test]
    fn no_heartbeat_is_stale_only_a_minute_after_connecting() {
        let now = Utc::now();
        let mut c = active(now);
        c.record.heartbeat_at = None;
        c.connected_at = Some(now - Duration::seconds(30));
        assert!(problems(&c, now, &policy()).is_empty());
        c.connected_at = Some(now - Duration::seconds(90));
        assert_eq!(codes(&problems(&c, now, &policy())), ["supervisor_stale"]);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(59), "59 seconds");
        assert_eq!(duration_text(600), "10 minutes");
        assert_eq!(duration_text(3 * 3_600), "3 hours");
        assert_eq!(duration_text(3 * 86_400), "3 days");
    }

    #[test]
    fn a_sweep_that_found_candidates_says_how_many_and_when() {
        let now = Utc::now();
        let mut c = active(now);
        c.sweep.last_at = Some(now - Duration::minutes(3));
        c.sweep.found_last = 3;
        let p = problems(&c, now, &policy());
        assert_eq!(codes(&p), ["missed_deliveries"]);
        assert!(
            p[0].message.contains("found 3 candidates"),
            "{}",
            p[0].message
        );
        let when = (now - Duration::minutes(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert!(p[0].message.contains(&when), "{}", p[0].message);
        c.sweep.found_last = 0;
        assert!(problems(&c, now, &policy()).is_empty());
    }

    #[test]
    fn a_repaired_webhook_shows_for_a_day() {
        let now = Utc::now();
        let mut c = active(now);
        c.sweep.webhook_repaired_at = Some(now - Duration::hours(23));
        assert_eq!(codes(&problems(&c, now, &policy())), ["webhook_repaired"]);
        c.sweep.webhook_repaired_at = Some(now - Duration::hours(25));
        assert!(problems(&c, now, &policy()).is_empty());
    }

    #[test]
    fn a_missing_manual_webhook_says_what_to_paste_where() {
        let now = Utc::now();
        let mut c = active(now);
        c.org_id = uuid::Uuid::new_v4();
        c.sweep.webhook_missing_url = Some("https://arkiter.example/webhooks/lever/c1".into());
        let p = problems(&c, now, &policy());
        assert_eq!(codes(&p), ["webhook_missing"]);
        let m = &p[0].message;
        assert!(
            m.contains("https://arkiter.example/webhooks/lever/c1"),
            "{m}"
        );
        assert!(
            m.contains("Settings > Integrations and API > Webhooks"),
            "{m}"
        );
        assert!(m.contains("Candidate Stage Change"), "{m}");
        assert!(
            m.contains(&format!(
                "PUT /api/v1/orgs/{}/lever/webhook-secret",
                c.org_id
            )),
            "{m}"
        );
        // Setup's stored problem of the same code is not repeated.
        c.stored_problems = json!([{"code": "webhook_missing", "message": "stored"}]);
        assert_eq!(codes(&problems(&c, now, &policy())), ["webhook_missing"]);
    }
}
