//! The console, a front door beside the HTTP API: server-rendered pages
//! under `/console` for an org's admins and members and for the operator,
//! over the same application functions the API uses (`service`). An error
//! from them is shown in its own words next to the field it names, or as an
//! error page (`docs/contract/console.md`). Every page
//! works as plain HTML with forms; `console.js` only enhances (the tag-list
//! input). Templates are maud (escaping by default); the CSS and JS are
//! embedded in the binary.
//!
//! Hygiene: every response under `/console` carries a strict CSP with no
//! inline script and `frame-ancestors 'none'`, `nosniff`, `no-referrer` and
//! `no-store`. Every POST goes through [`session::Post`], which refuses a
//! missing or wrong CSRF token with 403 before the handler runs.

pub mod activity;
pub mod alerts;
pub mod bulk_replay;
pub mod candidates;
pub mod form;
pub mod health;
pub mod keys;
pub mod layout;
pub mod lever;
pub mod operator;
pub mod roles;
pub mod session;
pub mod throttle;
pub mod usage;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, ResponseError, web};

use crate::service::{Kind, ServiceError};

/// The CSP of every console response: scripts and styles only from our own
/// files, no framing, no plugins, no base-URI tricks. No `form-action`:
/// browsers apply it to redirects too, and Connect's form is answered with a
/// redirect to Lever's consent screen, whose origin depends on the settings.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The console's routes, all under `/console`, with its headers.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "no-referrer"))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .route("", web::get().to(session::home))
            .route("/", web::get().to(session::home))
            .route("/assets/console.css", web::get().to(css))
            .route("/assets/console.js", web::get().to(js))
            .route("/sign-in", web::get().to(session::sign_in_page))
            .route("/sign-in", web::post().to(session::sign_in))
            .route("/sign-out", web::post().to(session::sign_out))
            .configure(operator::config)
            .configure(lever::config)
            .configure(roles::config)
            .configure(activity::config)
            .configure(candidates::config)
            .configure(health::config)
            .configure(keys::config)
            .configure(alerts::config)
            .configure(bulk_replay::config)
            .configure(usage::config)
            .default_service(web::to(not_found)),
    );
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(JS)
}

async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::Service(ServiceError::new(
        Kind::NotFound,
        "not_found",
        "no such page",
    )))
}

/// What a console handler can fail with, shown as a page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session (or an expired one): go and sign in.
    #[error("sign in first")]
    SignIn,
    /// The form came without the session's CSRF token.
    #[error(
        "this form is out of date or did not come from this console (no valid CSRF token); reload the page and try again"
    )]
    Csrf,
    /// Too many failed sign-ins from this address.
    #[error("too many failed sign-ins from this address; wait {0} seconds and try again")]
    Throttled(u64),
    /// The form could not be read: not a form, or text that is not UTF-8.
    #[error("{0}")]
    BadForm(String),
    #[error("the form is larger than {} bytes", form::MAX_FORM)]
    FormTooLarge,
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl From<crate::db::DbError> for ConsoleError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Service(e.into())
    }
}

/// The status a failure of an application function shows with.
pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Upstream => StatusCode::BAD_GATEWAY,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadForm(_) => StatusCode::BAD_REQUEST,
            Self::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Service(e) => status_of(e.kind()),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Service(e) = self
            && e.kind() == Kind::Internal
        {
            tracing::error!(error = ?e.cause(), "console request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        // ResponseError bypasses the scope's middleware on some paths: set
        // the headers here too.
        resp.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Self::SignIn = self {
            resp.insert_header((
                header::LOCATION,
                HeaderValue::from_static("/console/sign-in"),
            ));
            return resp.finish();
        }
        let title = match self.status_code() {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::TOO_MANY_REQUESTS => "Slow down",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let message = match self {
            Self::Service(e) if e.kind() == Kind::Internal => "internal error".to_owned(),
            other => other.to_string(),
        };
        resp.content_type("text/html; charset=utf-8")
            .body(layout::error_page(title, &message).into_string())
    }
}

/// A 303 to `to` (after a POST: the browser GETs the page).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// An HTML page.
pub fn html(markup: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// An HTML page with a status other than 200 (a form shown again with its error).
pub fn html_status(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// The org a page is about, as `user` may see it (404 for another org's key).
pub async fn org_ctx(
    state: &crate::state::AppState,
    user: &session::User,
    org: uuid::Uuid,
) -> Result<layout::OrgCtx, ConsoleError> {
    let id = crate::domain::ids::OrgId(org);
    let view = crate::service::orgs::get(state, &user.caller, id).await?;
    Ok(layout::OrgCtx {
        id,
        name: view.name,
    })
}
