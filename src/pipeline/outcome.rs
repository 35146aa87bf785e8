//! How a unit of work ended, and how a failure is charged: to the job (it
//! retries on the long schedule and may go `dead`) or to the account (it
//! pauses and retries later without using up any job's attempts).

use crate::db::DbError;
use crate::lever::LeverError;

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
    /// The unit panicked: a bug, not Lever's fault. It retries like a job
    /// failure, and its worker counts a restart.
    Panicked(String),
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
