//! The debounce, as a pure function of the problems that hold now and the
//! evaluator's memory (docs/contract/alerts.md): a problem opens once it has
//! held for `open_after`, resolves once clear for `resolve_after`, and
//! `problem.opened` is sent at most once per `renotify_after` per problem
//! code and connection (a problem that opens again sooner opens silently,
//! and then resolves silently too, so receivers see pairs).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::db::models::alert::ProblemState;

/// The timings of the debounce.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub open_after: Duration,
    pub resolve_after: Duration,
    pub renotify_after: Duration,
}

/// A problem that holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub connection_id: Uuid,
    pub code: String,
    pub message: String,
}

/// What to tell: a problem opened or resolved (notified ones only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub opened: bool,
    pub connection_id: Uuid,
    pub code: String,
    pub message: String,
}

/// The memory after this evaluation at `now`, and what to tell.
pub fn step(
    now: DateTime<Utc>,
    held: &[Held],
    states: Vec<ProblemState>,
    rules: &Rules,
) -> (Vec<ProblemState>, Vec<Transition>) {
    let mut by_key: HashMap<(Uuid, String), ProblemState> = states
        .into_iter()
        .map(|s| ((s.connection_id, s.code.clone()), s))
        .collect();
    let mut told = Vec::new();
    let mut holding = HashSet::new();
    for h in held {
        let key = (h.connection_id, h.code.clone());
        holding.insert(key.clone());
        let s = by_key.entry(key).or_insert_with(|| ProblemState {
            connection_id: h.connection_id,
            code: h.code.clone(),
            message: h.message.clone(),
            held_since: None,
            clear_since: None,
            opened_at: None,
            notified: false,
            last_opened_notice_at: None,
        });
        // The words are those of the moment it opened, so a count or an
        // age that grows while it is open does not rewrite the memory at
        // every evaluation, and `problem.resolved` repeats what was opened.
        if s.opened_at.is_none() {
            s.message = h.message.clone();
        }
        s.clear_since = None;
        let since = *s.held_since.get_or_insert(now);
        if s.opened_at.is_none() && now - since >= rules.open_after {
            s.opened_at = Some(now);
            s.notified = s
                .last_opened_notice_at
                .is_none_or(|last| now - last >= rules.renotify_after);
            if s.notified {
                s.last_opened_notice_at = Some(now);
                told.push(transition(true, s));
            }
        }
    }
    let mut kept = Vec::new();
    for (key, mut s) in by_key {
        if holding.contains(&key) {
            kept.push(s);
            continue;
        }
        s.held_since = None;
        if s.opened_at.is_some() {
            let clear = *s.clear_since.get_or_insert(now);
            if now - clear >= rules.resolve_after {
                if s.notified {
                    told.push(transition(false, &s));
                }
                s.opened_at = None;
                s.clear_since = None;
                s.notified = false;
            }
        }
        // A closed problem is remembered only for the renotify limit.
        let remembered = s.opened_at.is_some()
            || s.last_opened_notice_at
                .is_some_and(|last| now - last < rules.renotify_after);
        if remembered {
            kept.push(s);
        }
    }
    kept.sort_by(|a, b| (a.connection_id, &a.code).cmp(&(b.connection_id, &b.code)));
    (kept, told)
}

fn transition(opened: bool, s: &ProblemState) -> Transition {
    Transition {
        opened,
        connection_id: s.connection_id,
        code: s.code.clone(),
        message: s.message.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            open_after: Duration::seconds(60),
            resolve_after: Duration::seconds(300),
            renotify_after: Duration::seconds(900),
        }
    }

    /// Runs the evaluator every 15 s for `secs`, the problem held or not.
    fn run(
        from: DateTime<Utc>,
        secs: i64,
        holds: bool,
        states: &mut Vec<ProblemState>,
        told: &mut Vec<Transition>,
    ) -> DateTime<Utc> {
        let conn = Uuid::nil();
        let held = vec![Held {
            connection_id: conn,
            code: "token_revoked".into(),
            message: "m".into(),
        }];
        let mut now = from;
        for _ in 0..secs / 15 {
            now += Duration::seconds(15);
            let (s, t) = step(
                now,
                if holds { &held } else { &[] },
                std::mem::take(states),
                &rules(),
            );
            *states = s;
            told.extend(t);
        }
        now
    }

    fn count(told: &[Transition], opened: bool) -> usize {
        told.iter().filter(|t| t.opened == opened).count()
    }

    #[test]
    fn a_problem_opens_after_60_s_held_and_resolves_after_5_minutes_clear() {
        let (mut s, mut t) = (Vec::new(), Vec::new());
        let t0 = Utc::now();
        let now = run(t0, 45, true, &mut s, &mut t);
        assert!(t.is_empty(), "not yet");
        let now = run(now, 30, true, &mut s, &mut t);
        assert_eq!((count(&t, true), count(&t, false)), (1, 0));
        let now = run(now, 285, false, &mut s, &mut t);
        assert_eq!(count(&t, false), 0, "not yet resolved");
        run(now, 30, false, &mut s, &mut t);
        assert_eq!((count(&t, true), count(&t, false)), (1, 1));
    }

    #[test]
    fn words_that_change_while_open_leave_the_memory_as_it_opened() {
        let conn = Uuid::nil();
        let says = |m: &str| {
            vec![Held {
                connection_id: conn,
                code: "dead_jobs".into(),
                message: m.into(),
            }]
        };
        let t0 = Utc::now();
        let (s, _) = step(t0, &says("1 piece"), Vec::new(), &rules());
        let (s, _) = step(t0 + Duration::seconds(30), &says("2 pieces"), s, &rules());
        let (s, told) = step(t0 + Duration::seconds(60), &says("3 pieces"), s, &rules());
        assert_eq!(
            told[0].message, "3 pieces",
            "the words of the moment it opened"
        );
        let (after, _) = step(
            t0 + Duration::seconds(75),
            &says("4 pieces"),
            s.clone(),
            &rules(),
        );
        assert_eq!(after, s, "nothing to write while it stays open");
        let (clear, told) = step(t0 + Duration::seconds(90), &[], after, &rules());
        assert!(told.is_empty());
        let (_, told) = step(t0 + Duration::seconds(390), &[], clear, &rules());
        assert!(!told[0].opened);
        assert_eq!(
            told[0].message, "3 pieces",
            "resolved repeats what was opened"
        );
    }

    #[test]
    fn flapping_gives_one_opened_and_no_resolved() {
        let (mut s, mut t) = (Vec::new(), Vec::new());
        let now = run(Utc::now(), 75, true, &mut s, &mut t);
        let now = run(now, 30, false, &mut s, &mut t);
        run(now, 75, true, &mut s, &mut t);
        assert_eq!((count(&t, true), count(&t, false)), (1, 0), "{t:?}");
    }

    #[test]
    fn a_short_blip_never_opens_and_a_reopen_within_15_minutes_is_silent() {
        let (mut s, mut t) = (Vec::new(), Vec::new());
        let now = run(Utc::now(), 45, true, &mut s, &mut t);
        let now = run(now, 30, false, &mut s, &mut t);
        assert!(t.is_empty() && s.is_empty(), "{s:?}");
        // Open, resolve, open again 7 minutes later: the second is silent.
        let now = run(now, 75, true, &mut s, &mut t);
        let now = run(now, 315, false, &mut s, &mut t);
        assert_eq!((count(&t, true), count(&t, false)), (1, 1));
        let now = run(now, 75, true, &mut s, &mut t);
        let now = run(now, 315, false, &mut s, &mut t);
        assert_eq!((count(&t, true), count(&t, false)), (1, 1), "silent pair");
        // Past the 15 minutes, it is told again.
        let now = run(now, 300, false, &mut s, &mut t);
        run(now, 75, true, &mut s, &mut t);
        assert_eq!(count(&t, true), 2);
    }
}
