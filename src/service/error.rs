//! The one error of the application functions. It says what went wrong in
//! words a person can act on, with a stable snake_case `code` and a
//! [`Kind`]; it knows nothing of HTTP or HTML. Each front door maps it to its
//! own shape: the API to a status and its JSON envelope, the console to a
//! message next to the field it names (a validation failure carries the
//! field) or an error page.
//!
//! Policy: diesel's `NotFound` becomes `not_found` here and nowhere else; a
//! pool that cannot hand out a connection, or a connection lost under the
//! request, is `unavailable` (try again); a unique or foreign-key violation
//! is a conflict or an unknown id; anything unexpected is `internal`, keeps
//! its cause chain for the log and shows no detail.

use crate::db::DbError;
use crate::lever::LeverError;

/// What kind of failure, for the front doors to choose their answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No or bad credentials.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// Unknown id, an id of another org, or a resource never created.
    NotFound,
    /// A request the service cannot read (a cursor it did not give out, an
    /// unknown filter value, an OAuth return it did not start).
    BadRequest,
    /// A well-formed value that breaks a rule (empty, too long, out of range).
    Invalid,
    /// The request conflicts with what is stored.
    Conflict,
    /// Not now: the database is not answering, a setting is missing.
    Unavailable,
    /// Lever refused or did not answer.
    Upstream,
    /// A bug or an unexpected failure.
    Internal,
}

/// Why an application function refused or failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    kind: Kind,
    code: &'static str,
    message: String,
    /// The input field a validation failure is about (`name`, `ats_jobs`).
    field: Option<String>,
    #[source]
    cause: Option<anyhow::Error>,
}

impl ServiceError {
    /// An error of `kind` with its stable `code`.
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            field: None,
            cause: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", message)
    }

    /// `{what} not found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, "not_found", format!("{what} not found"))
    }

    /// The org never connected a Lever account.
    pub fn not_connected() -> Self {
        Self::new(
            Kind::NotFound,
            "not_connected",
            "this org has not connected a Lever account",
        )
    }

    /// A query parameter the service cannot read.
    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, "invalid_query", message)
    }

    /// `field` breaks a rule; the message says which and how to fix it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(Kind::Invalid, "validation_failed", message);
        e.field = Some(field.trim_end_matches("[]").to_owned());
        e
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, "conflict", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, "unavailable", message)
    }

    /// `ARKITER_ADMIN_TOKEN` is not set, so super-admin actions are off.
    pub fn admin_token_unset() -> Self {
        Self::new(
            Kind::Unavailable,
            "admin_token_unset",
            "ARKITER_ADMIN_TOKEN is not set on this service, so super-admin endpoints are off",
        )
    }

    /// `LEVER_CLIENT_ID`/`LEVER_CLIENT_SECRET` are not set.
    pub fn lever_not_configured() -> Self {
        Self::new(
            Kind::Unavailable,
            "lever_not_configured",
            "LEVER_CLIENT_ID and LEVER_CLIENT_SECRET are not set on this service",
        )
    }

    /// An unexpected failure; `cause` goes to the log, never to the caller.
    pub fn internal(cause: anyhow::Error) -> Self {
        let mut e = Self::new(Kind::Internal, "internal", "internal error");
        e.cause = Some(cause);
        e
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field a validation failure is about, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The cause of an internal error, for the log.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.cause.as_ref()
    }

    /// The cause of an internal error, taken.
    pub fn into_cause(self) -> Option<anyhow::Error> {
        self.cause
    }

    /// The same error, about `field` (a conflict over one entry, say), so a
    /// form can show it next to that field.
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// `not_found` named after what was missing; other errors unchanged.
    pub fn naming(self, what: &str) -> Self {
        if self.kind == Kind::NotFound && self.code == "not_found" {
            Self::not_found(what)
        } else {
            self
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as Q};
        match e {
            DbError::Query(Q::NotFound) => Self::not_found("resource"),
            // A unique index caught a race the function's own checks could not see.
            DbError::Query(Q::DatabaseError(K::UniqueViolation, _)) => {
                Self::conflict("a concurrent request changed the same thing; retry")
            }
            // What the row points at is gone or never was (the super-admin
            // acting on an org id that does not exist, a role deleted
            // meanwhile): an unknown id.
            DbError::Query(Q::DatabaseError(K::ForeignKeyViolation, _)) => Self::new(
                Kind::NotFound,
                "not_found",
                "the org or a resource this refers to does not exist",
            ),
            // A connection the server dropped under the request (a restart):
            // the pool has discarded it, so the next try gets a fresh one.
            DbError::Unavailable(_) | DbError::Saturated(_) => {
                Self::unavailable("the database is not answering; try again shortly")
            }
            DbError::Query(ref q) if crate::db::conn::is_connection_lost(q) => {
                Self::unavailable("the database connection was lost; try again")
            }
            other => Self::internal(other.into()),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(e)
    }
}

impl From<LeverError> for ServiceError {
    fn from(e: LeverError) -> Self {
        use LeverError as L;
        let (kind, code) = match &e {
            L::NeedsReauth(_) => (
                Kind::Conflict,
                crate::domain::status::ConnectionStatus::NeedsReauth.as_str(),
            ),
            L::Config(_) => (Kind::Unavailable, "lever_not_configured"),
            L::Api { .. } | L::Decode { .. } | L::OAuth { .. } => (Kind::Upstream, "lever_error"),
            L::Exhausted { .. } | L::Transport(_) | L::OutcomeUnknown { .. } => {
                (Kind::Upstream, "lever_unavailable")
            }
            L::Fenced => (Kind::Unavailable, "lever_unavailable"),
        };
        let message = match &e {
            L::NeedsReauth(_) => {
                "Lever no longer accepts this connection's authorisation; connect again".to_owned()
            }
            L::Exhausted { .. } | L::Transport(_) => {
                format!("Lever did not answer in time; nothing was changed, try again: {e}")
            }
            _ => e.to_string(),
        };
        Self::new(kind, code, message)
    }
}
