//! The console's page frame and small shared pieces: navigation, CSRF field,
//! errors next to their field, notices, pagination links.

use maud::{DOCTYPE, Markup, html};

use super::session::User;
use crate::domain::ids::OrgId;
use crate::service::{Kind, ServiceError};

/// The org a page is about.
#[derive(Debug, Clone)]
pub struct OrgCtx {
    pub id: OrgId,
    pub name: String,
}

impl OrgCtx {
    pub fn base(&self) -> String {
        format!("/console/orgs/{}", self.id.0)
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) " · Arkiter Live for Lever" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main.narrow { (body) }
            }
        }
    }
}

pub fn error_page(title: &str, message: &str) -> Markup {
    bare(
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p { a href="/console" { "Back to the console" } }
        },
    )
}

const ORG_TABS: [(&str, &str); 8] = [
    ("lever", "Lever · Live"),
    ("roles", "Roles"),
    ("interviews", "Interviews"),
    ("events", "Events"),
    ("candidates", "Candidate"),
    ("health", "Health"),
    ("keys", "Keys"),
    ("alerts", "Alerts"),
];

/// A signed-in page; `org` adds the org's tabs, `active` marks the current one.
pub fn page(user: &User, org: Option<&OrgCtx>, active: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/console" { "Arkiter Live · Lever" }
                    nav aria-label="Account" {
                        @if user.is_super() {
                            a href="/console/orgs" aria-current=[(active == "orgs").then_some("page")] { "All orgs" }
                            a href="/console/operator/alerts" aria-current=[(active == "operator-alerts").then_some("page")] { "Alerts" }
                            a href="/console/operator/usage" aria-current=[(active == "usage").then_some("page")] { "Usage" }
                        }
                        span.who { "Signed in as " (user.role_label()) }
                        form.inline method="post" action="/console/sign-out" {
                            (csrf(user))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                @if let Some(org) = org {
                    nav.tabs aria-label="Org" {
                        span.org-name { (org.name) }
                        @for (slug, label) in ORG_TABS {
                            @if !matches!(slug, "keys" | "alerts") || user.can_write(org.id) {
                                a href={ (org.base()) "/" (slug) }
                                    aria-current=[(active == slug).then_some("page")] { (label) }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(user: &User) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// An error shown right under its field (nothing when `message` is None).
pub fn field_error(field: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.error id={ (field) "-error" } role="alert" { (m) }
        }
    }
}

/// A success or information line at the top of a page.
pub fn notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.notice role="status" { (m) }
        }
    }
}

/// A form's error: the field it concerns (when the API's message names one of
/// the form's fields) and the API's words.
#[derive(Debug, Clone)]
pub struct FormError {
    pub form: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    /// Places `e` on the field it names, if that is one of the form's
    /// `fields`; else on the form as a whole.
    pub fn from_service(form: &'static str, e: &ServiceError, fields: &[&str]) -> Self {
        let field = e.field().filter(|f| fields.contains(f)).map(str::to_owned);
        Self {
            form,
            field,
            message: e.message().to_owned(),
        }
    }

    /// The message for `field` of `form`, if it is this error's.
    pub fn on(err: Option<&FormError>, form: &str, field: &str) -> Option<String> {
        err.filter(|e| e.form == form && e.field.as_deref() == Some(field))
            .map(|e| e.message.clone())
    }

    /// The message for `form` as a whole (not tied to one of its fields).
    pub fn general(err: Option<&FormError>, form: &str) -> Option<String> {
        err.filter(|e| e.form == form && e.field.is_none())
            .map(|e| e.message.clone())
    }
}

/// Whether an error is about what the user typed or asked for (shown on the
/// form, with what they typed kept) rather than a failure to show as an
/// error page.
pub fn is_form_error(e: &ServiceError) -> bool {
    matches!(
        e.kind(),
        Kind::Invalid | Kind::Conflict | Kind::BadRequest | Kind::Upstream
    ) || matches!(
        e.code(),
        "not_connected" | "lever_not_configured" | "lever_unavailable"
    )
}

/// "Next page" (and "First page") links for a cursor-paginated list.
pub fn pager(base: &str, params: &[(&str, &str)], at_start: bool, next: Option<&str>) -> Markup {
    let with = |cursor: Option<&str>| {
        let mut q: Vec<(&str, &str)> = params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .copied()
            .collect();
        if let Some(c) = cursor {
            q.push(("cursor", c));
        }
        let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
        if qs.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{qs}")
        }
    };
    html! {
        nav.pager aria-label="Pages" {
            @if !at_start { a href=(with(None)) { "← First page" } }
            @if let Some(n) = next { a href=(with(Some(n))) { "Next page →" } }
        }
    }
}

/// A compact timestamp, or "—".
pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}
