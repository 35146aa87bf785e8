//! Console sessions: sign-in with an org key or the super-admin token, the
//! session cookie, CSRF tokens and sign-out.
//!
//! - The cookie (`arkiter_console`) carries 32 random bytes; the session
//!   behind it is `service::sessions`' (only their SHA-256 is stored). It is
//!   `HttpOnly`, `SameSite=Strict`, `Secure` when the public URL is HTTPS,
//!   and ends after 12 hours, on sign-out, or at once when its key is
//!   deleted.
//! - Every POST is read through [`Post`], which refuses a missing or wrong
//!   CSRF token with 403. The sign-in form, before any session exists, uses a
//!   double-submit cookie (`arkiter_console_pre`) instead.
//! - Failed sign-ins are throttled per client address ([`super::throttle`]).

use std::net::{IpAddr, Ipv4Addr};

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use maud::html;
use subtle::ConstantTimeEq;

use super::form::Fields;
use super::layout::{self, field_error};
use super::throttle::SignInThrottle;
use super::{ConsoleError, html_status, see_other};
use crate::domain::ids::OrgId;
use crate::service::access::{Caller, KeyRole};
use crate::service::sessions::{self, LIFETIME_HOURS, random_token};
use crate::service::{Kind, ServiceError};
use crate::state::AppState;

pub const COOKIE: &str = "arkiter_console";
const PRE_COOKIE: &str = "arkiter_console_pre";

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("app state missing")).into())
}

/// Whether cookies must be `Secure`: the service is reached over HTTPS.
fn secure(state: &AppState) -> bool {
    state.urls.public.starts_with("https://")
}

fn cookie<'a>(
    state: &AppState,
    name: &'a str,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .max_age(max_age)
        .finish()
}

// --- extractors ----------------------------------------------------------------

/// A signed-in console user: who they act as, and their session's CSRF token.
#[derive(Debug, Clone)]
pub struct User {
    pub caller: Caller,
    pub csrf: String,
}

impl User {
    pub fn is_super(&self) -> bool {
        matches!(self.caller, Caller::Super)
    }

    /// May change things in `org` (an admin key of it, or the super-admin).
    pub fn can_write(&self, org: OrgId) -> bool {
        self.caller.require_org(org, KeyRole::Admin).is_ok()
    }

    /// The org the key belongs to; none for the super-admin.
    pub fn own_org(&self) -> Option<OrgId> {
        match self.caller {
            Caller::Key { org_id, .. } => Some(org_id),
            Caller::Super => None,
        }
    }

    pub fn role_label(&self) -> &'static str {
        match self.caller {
            Caller::Super => "operator (super-admin)",
            Caller::Key {
                role: KeyRole::Admin,
                ..
            } => "admin",
            Caller::Key {
                role: KeyRole::Member,
                ..
            } => "member (read-only)",
        }
    }
}

async fn load_user(
    state: web::Data<AppState>,
    cookie: Option<String>,
) -> Result<User, ConsoleError> {
    let value = cookie.ok_or(ConsoleError::SignIn)?;
    let session = sessions::find(&state, &value)
        .await?
        .ok_or(ConsoleError::SignIn)?;
    Ok(User {
        caller: session.caller,
        csrf: session.csrf,
    })
}

impl FromRequest for User {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state_of(req);
        let cookie = req.cookie(COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move { load_user(state?, cookie).await })
    }
}

fn tokens_match(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// A state-changing request: a signed-in user and their form, whose `csrf`
/// field matched the session's token (else 403 before any handler runs).
pub struct Post {
    pub user: User,
    pub fields: Fields,
}

impl FromRequest for Post {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let user = User::from_request(&req, &mut Payload::None).await?;
            let fields = Fields::read(&req, &mut payload).await?;
            if !tokens_match(fields.get("csrf"), &user.csrf) {
                return Err(ConsoleError::Csrf);
            }
            Ok(Post { user, fields })
        })
    }
}

// --- pages -------------------------------------------------------------------

fn home_of(user: &User) -> String {
    match user.own_org() {
        Some(org) => format!("/console/orgs/{}/lever", org.0),
        None => "/console/orgs".to_owned(),
    }
}

/// `GET /console`: the user's start page, or sign-in.
pub async fn home(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let user = User::from_request(&req, &mut Payload::None).await?;
    Ok(see_other(&home_of(&user)))
}

fn sign_in_form(pre: &str, error: Option<&str>) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Arkiter Live for Lever" }
            p { "Sign in with your organisation's API key (it starts with " code { "ak_" } ") or, as the operator, with the super-admin token." }
            form.card method="post" action="/console/sign-in" {
                input type="hidden" name="csrf" value=(pre);
                label for="key" { "Key" }
                input #key type="password" name="key" autocomplete="off" required
                    aria-describedby=[error.map(|_| "key-error")];
                (field_error("key", error))
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(state: web::Data<AppState>) -> HttpResponse {
    let pre = random_token();
    let c = cookie(&state, PRE_COOKIE, pre.clone(), CookieDuration::hours(1));
    let mut resp = super::html(sign_in_form(&pre, None));
    // A cookie of our own making always encodes.
    let _ = resp.add_cookie(&c);
    resp
}

fn client_ip(req: &HttpRequest) -> IpAddr {
    // The peer, not a forwarded-for header anyone can write.
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    req: HttpRequest,
    fields: Fields,
    state: web::Data<AppState>,
    throttle: web::Data<SignInThrottle>,
) -> Result<HttpResponse, ConsoleError> {
    let pre = req.cookie(PRE_COOKIE).map(|c| c.value().to_owned());
    if !pre.is_some_and(|p| tokens_match(fields.get("csrf"), &p)) {
        return Err(ConsoleError::Csrf);
    }
    let ip = client_ip(&req);
    if let Some(wait) = throttle.wait(ip) {
        return Err(ConsoleError::Throttled(wait));
    }
    let started = match sessions::sign_in(&state, fields.get("key")).await {
        Ok(started) => started,
        Err(e) if e.kind() == Kind::Unauthorized => {
            if let Some(wait) = throttle.failed(ip) {
                return Err(ConsoleError::Throttled(wait));
            }
            tracing::info!(client = %ip, "console sign-in refused");
            // The typed key is not shown again: it is a secret.
            let pre = fields.get("csrf");
            return Ok(html_status(
                StatusCode::UNAUTHORIZED,
                sign_in_form(pre, Some(e.message())),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let user = User {
        caller: started.caller,
        csrf: String::new(),
    };
    tracing::info!(client = %ip, role = user.role_label(), "console sign-in");
    let mut resp = see_other(&home_of(&user));
    let session = cookie(
        &state,
        COOKIE,
        started.cookie,
        CookieDuration::hours(LIFETIME_HOURS),
    );
    let _ = resp.add_cookie(&session);
    let _ = resp.add_removal_cookie(&cookie(
        &state,
        PRE_COOKIE,
        String::new(),
        CookieDuration::ZERO,
    ));
    Ok(resp)
}

/// `POST /console/sign-out`: ends the session now.
pub async fn sign_out(
    req: HttpRequest,
    _post: Post,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    if let Some(c) = req.cookie(COOKIE) {
        sessions::sign_out(&state, c.value()).await?;
    }
    let mut resp = see_other("/console/sign-in");
    let _ = resp.add_removal_cookie(&cookie(&state, COOKIE, String::new(), CookieDuration::ZERO));
    Ok(resp)
}
