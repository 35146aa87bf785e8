//! How a unit of work ended, and how a failure is charged: to the job (it
//! retries on the long schedule and may go `dead`) or to the account (it
//! pauses and retries later without using up any job's attempts).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::PipelineSettings;
use crate::db::DbError;
use crate::db::models::work::Settle;
use crate::lever::LeverError;

/// How soon a unit waiting for another step (`NotYet`) looks again.
pub const NOT_YET_DELAY: Duration = Duration::from_millis(500);
/// How soon work of an account that needs re-authorisation looks again (at
/// once when the admin reconnects, which resumes the account).
pub const REAUTH_RECHECK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub enum Outcome {
    Done,
    Ignored(&'static str),
    /// This job failed on its own (404, 403 on one opportunity, no role).
    JobFailed(String),
    /// The whole account cannot work now.
    AccountPaused {
        error: String,
        reauth: bool,
    },
    /// Waits for another step (a completion before its link was posted).
    NotYet,
    /// This instance lost the account's lease: another one carries on.
    Fenced,
    /// Can never succeed (a completion for an interview whose link step
    /// failed): ends `dead` at once with this reason, without retries.
    Abandoned(String),
    /// The candidate is confidential and the grant lacks confidential
    /// access: `dead` at once, with reason `confidential`.
    Hidden(String),
    /// The unit panicked: a bug, not Lever's fault. It retries like a job
    /// failure, and its worker counts a restart.
    Panicked(String),
}

/// What a settle plan follows: the retry schedule and the account's pause now.
pub struct SettleRules<'a> {
    pub settings: &'a PipelineSettings,
    /// How long the account pauses on a Lever-wide failure (it doubles).
    pub pause: Duration,
}

impl Outcome {
    /// What to store for a unit that ended so after `attempts` earlier
    /// attempts; `None` when this instance must store nothing (`Fenced`:
    /// another instance carries on).
    pub fn plan(
        &self,
        attempts: i32,
        now: DateTime<Utc>,
        rules: &SettleRules<'_>,
    ) -> Option<Settle> {
        let after = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or_default();
        let attempt = attempts + 1;
        Some(match self {
            Outcome::Done => Settle::Done,
            Outcome::Ignored(r) => Settle::Ignored(r),
            Outcome::NotYet => Settle::Defer {
                error: None,
                at: after(NOT_YET_DELAY),
            },
            Outcome::Abandoned(e) => Settle::Dead {
                error: e.clone(),
                reason: None,
            },
            Outcome::Hidden(e) => Settle::Dead {
                error: e.clone(),
                reason: Some(crate::domain::status::reasons::CONFIDENTIAL),
            },
            Outcome::JobFailed(e) | Outcome::Panicked(e)
                if attempt >= rules.settings.job_max_attempts =>
            {
                Settle::Dead {
                    error: e.clone(),
                    reason: None,
                }
            }
            Outcome::JobFailed(e) | Outcome::Panicked(e) => Settle::Retry {
                error: e.clone(),
                at: after(rules.settings.retry_delay(attempt)),
            },
            // Re-authorisation takes a person: no point in the short pause.
            Outcome::AccountPaused {
                error,
                reauth: true,
            } => Settle::Defer {
                error: Some(error.clone()),
                at: after(REAUTH_RECHECK),
            },
            Outcome::AccountPaused { error, .. } => Settle::Defer {
                error: Some(error.clone()),
                at: after(rules.pause),
            },
            Outcome::Fenced => return None,
        })
    }
}

/// An error inside a worker step.
#[derive(Debug)]
pub enum StepError {
    Lever(LeverError),
    Job(String),
    Db(DbError),
    /// The lease moved on: stop without writing anything more.
    Fenced,
}

impl From<diesel::result::Error> for StepError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<LeverError> for StepError {
    fn from(e: LeverError) -> Self {
        Self::Lever(e)
    }
}

impl From<DbError> for StepError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

impl From<StepError> for Outcome {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Lever(LeverError::Fenced) | StepError::Fenced => Outcome::Fenced,
            StepError::Lever(e) if e.is_needs_reauth() => Outcome::AccountPaused {
                error: e.to_string(),
                reauth: true,
            },
            // A write that may or may not have landed, still unknown after the
            // check: Lever is misbehaving; the next attempt reads first.
            StepError::Lever(e) if e.is_account_wide() || e.is_outcome_unknown() => {
                Outcome::AccountPaused {
                    error: e.to_string(),
                    reauth: false,
                }
            }
            StepError::Lever(LeverError::Config(msg)) => Outcome::AccountPaused {
                error: msg,
                reauth: false,
            },
            StepError::Lever(e) => Outcome::JobFailed(e.to_string()),
            StepError::Job(msg) => Outcome::JobFailed(msg),
            // Our own database hiccup: nothing wrong with the job or Lever.
            StepError::Db(e) => Outcome::AccountPaused {
                error: format!("database: {e}"),
                reauth: false,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod plan_tests {
    use super::*;

    fn rules(settings: &PipelineSettings) -> SettleRules<'_> {
        SettleRules {
            settings,
            pause: Duration::from_secs(8),
        }
    }

    fn at(s: Option<Settle>) -> Option<DateTime<Utc>> {
        match s? {
            Settle::Retry { at, .. } | Settle::Defer { at, .. } => Some(at),
            Settle::Done | Settle::Ignored(_) | Settle::Dead { .. } => None,
        }
    }

    #[test]
    fn a_job_failure_retries_on_the_schedule_then_goes_dead() {
        let settings = PipelineSettings::default();
        let now = Utc::now();
        let failed = Outcome::JobFailed("404".into());
        let first = failed.plan(0, now, &rules(&settings));
        assert!(matches!(first, Some(Settle::Retry { .. })), "{first:?}");
        let delay = chrono::Duration::from_std(settings.retry_delay(1)).unwrap();
        assert_eq!(at(first), Some(now + delay));
        let last = failed.plan(settings.job_max_attempts - 1, now, &rules(&settings));
        assert!(matches!(last, Some(Settle::Dead { .. })), "{last:?}");
    }

    #[test]
    fn a_panic_is_charged_like_a_job_failure() {
        let settings = PipelineSettings::default();
        let now = Utc::now();
        let panicked = Outcome::Panicked("boom".into());
        assert!(matches!(
            panicked.plan(0, now, &rules(&settings)),
            Some(Settle::Retry { .. })
        ));
        assert!(matches!(
            panicked.plan(settings.job_max_attempts, now, &rules(&settings)),
            Some(Settle::Dead { .. })
        ));
    }

    #[test]
    fn account_pauses_use_no_attempt_and_wait_by_cause() {
        let settings = PipelineSettings::default();
        let now = Utc::now();
        let paused = |reauth| Outcome::AccountPaused {
            error: "503".into(),
            reauth,
        };
        let lever_down = paused(false).plan(5, now, &rules(&settings));
        assert_eq!(at(lever_down), Some(now + chrono::Duration::seconds(8)));
        let reauth = paused(true).plan(5, now, &rules(&settings));
        assert_eq!(at(reauth), Some(now + chrono::Duration::seconds(60)));
        let not_yet = Outcome::NotYet.plan(0, now, &rules(&settings));
        assert_eq!(at(not_yet), Some(now + chrono::Duration::milliseconds(500)));
    }

    #[test]
    fn abandoned_ends_at_once_and_fenced_stores_nothing() {
        let settings = PipelineSettings::default();
        let now = Utc::now();
        let abandoned = Outcome::Abandoned("failed interview".into());
        assert!(matches!(
            abandoned.plan(0, now, &rules(&settings)),
            Some(Settle::Dead { .. })
        ));
        assert!(Outcome::Fenced.plan(0, now, &rules(&settings)).is_none());
        assert!(matches!(
            Outcome::Done.plan(3, now, &rules(&settings)),
            Some(Settle::Done)
        ));
    }
}
