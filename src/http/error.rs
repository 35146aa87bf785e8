//! The one error shape of the HTTP interface (docs/contract/http-api.md):
//! `{"error": {"code": "snake_case_code", "message": "..."}}`.
//!
//! Policy: handlers return [`ApiError`]; each variant maps to one status and a
//! stable code. The application functions' [`ServiceError`] comes in through
//! one `From`, which gives each kind its status (database failures were
//! already sorted there: unknown ids, unavailable, internal); anything
//! unexpected is logged with its cause chain and answered with an opaque 500. actix's own extractor
//! errors (bad JSON, wrong content type, bad path) are routed through the same
//! shape by the configs in [`extractor_configs`].

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;
use crate::service::{Kind, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("this org has not connected a Lever account")]
    NotConnected,
    #[error("ARKITER_ADMIN_TOKEN is not set on this service, so super-admin endpoints are off")]
    AdminTokenUnset,
    #[error("{0}")]
    Unavailable(String),
    /// Any other status with its own code, for the rare one-off case.
    #[error("{message}")]
    Other {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `not_found`.
    pub code: String,
    /// What happened, in words a person can act on.
    pub message: String,
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidQuery(_) => "invalid_query",
            Self::Validation(_) => "validation_failed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::NotConnected => "not_connected",
            Self::AdminTokenUnset => "admin_token_unset",
            Self::Unavailable(_) => "unavailable",
            Self::Other { code, .. } => code,
            Self::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NotConnected => StatusCode::NOT_FOUND,
            Self::InvalidJson(_) | Self::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::AdminTokenUnset | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Other { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        })
    }
}

impl From<ServiceError> for ApiError {
    /// An application function's error, as the API answers it: each kind
    /// has its status, and the code travels with it.
    fn from(e: ServiceError) -> Self {
        let (code, message) = (e.code(), e.message().to_owned());
        let other = |status| Self::Other {
            status,
            code,
            message: message.clone(),
        };
        match (e.kind(), code) {
            (Kind::Unauthorized, _) => Self::Unauthorized(message),
            (Kind::Forbidden, "forbidden") => Self::Forbidden(message),
            (Kind::Forbidden, _) => other(StatusCode::FORBIDDEN),
            (Kind::NotFound, "not_connected") => Self::NotConnected,
            (Kind::NotFound, "not_found") => Self::NotFound(message),
            (Kind::NotFound, _) => other(StatusCode::NOT_FOUND),
            (Kind::BadRequest, "invalid_query") => Self::InvalidQuery(message),
            (Kind::BadRequest, _) => other(StatusCode::BAD_REQUEST),
            (Kind::Invalid, _) => Self::Validation(message),
            (Kind::Conflict, "conflict") => Self::Conflict(message),
            (Kind::Conflict, _) => other(StatusCode::CONFLICT),
            (Kind::Unavailable, "admin_token_unset") => Self::AdminTokenUnset,
            (Kind::Unavailable, "unavailable") => Self::Unavailable(message),
            (Kind::Unavailable, _) => other(StatusCode::SERVICE_UNAVAILABLE),
            (Kind::Upstream, _) => other(StatusCode::BAD_GATEWAY),
            (Kind::Internal, _) => Self::Internal(match e.into_cause() {
                Some(cause) => cause,
                None => anyhow::anyhow!(message),
            }),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

/// Maximum admin-API JSON body.
pub const MAX_JSON_BODY: usize = 64 * 1024;

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
        }
        JsonPayloadError::Payload(e) if super::limits::is_body_timeout(e) => {
            super::limits::body_timeout()
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::InvalidJson(format!("the JSON does not fit this endpoint: {e}"))
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::InvalidJson(format!("the body is not valid JSON: {e}"))
        }
        other => ApiError::InvalidJson(format!("the body could not be read: {other}")),
    };
    api.into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    // A malformed id can name nothing that exists: 404, as docs/contract/http-api.md asks.
    ApiError::not_found("resource").into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidQuery(format!("bad query parameters: {err}")).into()
}

/// Extractor configs that send actix's own errors through [`ApiError`].
pub fn extractor_configs(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.app_data(
        actix_web::web::JsonConfig::default()
            .limit(MAX_JSON_BODY)
            .error_handler(json_error),
    )
    .app_data(actix_web::web::PathConfig::default().error_handler(path_error))
    .app_data(actix_web::web::QueryConfig::default().error_handler(query_error));
}
