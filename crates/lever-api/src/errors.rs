//! The typed errors of every Lever call (client and OAuth).
//!
//! The worker decides what to do from the variant alone: `NeedsReauth` pauses
//! the connection, `OutcomeUnknown` makes it read before writing again,
//! `Exhausted` with a throttle/outage counts against the account (not the
//! job), `Api` with 404/403 counts against the job.

/// What the last attempt of a call that was given up on ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429 from Lever.
    Throttled,
    /// A 5xx status.
    Status(u16),
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be made or was cut.
    Connection(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Throttled => write!(f, "throttled (429)"),
            Failure::Status(s) => write!(f, "HTTP {s}"),
            Failure::Timeout => write!(f, "timed out"),
            Failure::Connection(d) => write!(f, "connection failed: {d}"),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LeverError {
    /// The grant is gone (revoked, expired, `invalid_grant`, 401 after a
    /// refresh): an admin must connect again.
    #[error("Lever needs re-authorisation: {0}")]
    NeedsReauth(String),
    /// A write was sent but its answer was a 5xx, a timeout or a cut
    /// connection: it may or may not have been applied. Not resent.
    #[error("the outcome of {endpoint} is unknown: {detail}")]
    OutcomeUnknown {
        endpoint: &'static str,
        detail: String,
        /// Cut (a timeout, a dropped connection) rather than answered with a
        /// 5xx: the write may still land for a while
        /// ([`crate::LATE_LANDING`]).
        cut: bool,
    },
    /// A 4xx other than 401/429, with Lever's `{code,message}`. Not retried.
    #[error("Lever answered {status} to {endpoint}: {}: {}", code.as_deref().unwrap_or("-"), message.as_deref().unwrap_or("-"))]
    Api {
        endpoint: &'static str,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// Retries ran out (count or time budget).
    #[error("{endpoint} gave up after {attempts} attempts: {last}")]
    Exhausted {
        endpoint: &'static str,
        attempts: u32,
        last: Failure,
    },
    /// A 2xx whose body is not what Lever documents.
    #[error("unexpected response body from {endpoint}: {detail}")]
    Decode {
        endpoint: &'static str,
        detail: String,
    },
    /// The OAuth server refused (other than `invalid_grant`).
    #[error("Lever OAuth answered {status}: {}: {}", error.as_deref().unwrap_or("-"), description.as_deref().unwrap_or("-"))]
    OAuth {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
    /// A transport failure that is not retried (OAuth calls, bad URLs).
    #[error("could not reach Lever: {0}")]
    Transport(String),
    #[error("invalid Lever configuration: {0}")]
    Config(String),
    /// A write was not sent because this instance no longer holds the
    /// connection's lease (docs/contract/guarantees.md: writes are fenced end to end).
    #[error("not sent: this instance no longer holds the connection's lease")]
    Fenced,
}

impl LeverError {
    pub fn status(&self) -> Option<u16> {
        match self {
            LeverError::Api { status, .. } | LeverError::OAuth { status, .. } => Some(*status),
            LeverError::Exhausted {
                last: Failure::Status(s),
                ..
            } => Some(*s),
            LeverError::Exhausted {
                last: Failure::Throttled,
                ..
            } => Some(429),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, LeverError::Api { status: 404, .. })
    }

    pub fn is_needs_reauth(&self) -> bool {
        matches!(self, LeverError::NeedsReauth(_))
    }

    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, LeverError::OutcomeUnknown { .. })
    }

    /// A write whose outcome is unknown because it was cut, not answered:
    /// it may land later, so a checking read must wait first.
    pub fn is_cut_write(&self) -> bool {
        matches!(self, LeverError::OutcomeUnknown { cut: true, .. })
    }

    /// True when the failure says nothing about this one request but about
    /// Lever or the account as a whole (outage, throttling, re-auth): the
    /// caller should pause the account rather than charge the job.
    pub fn is_account_wide(&self) -> bool {
        matches!(
            self,
            LeverError::NeedsReauth(_) | LeverError::Exhausted { .. } | LeverError::Transport(_)
        )
    }
}
