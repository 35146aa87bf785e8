//! Lever · Live: the connection's status, trigger stages (with the ones
//! Lever has marked), webhook mode and URL, the signature-token form for
//! manual mode, tags, results, perform_as, what happens when
//! candidates move on, the webhooks per event, problems, Connect
//! (the real OAuth flow, back here with its outcome), Sweep now, and
//! Disconnect behind a confirmation.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::layout::{self, FormError, OrgCtx, csrf, field_error, notice};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status, org_ctx, see_other};
use crate::connections::setup;
use crate::domain::status::LifecyclePolicy;
use crate::service::ServiceError;
use crate::service::access::KeyRole;
use crate::service::connection::connect::{self as connecting, ConnectRequest};
use crate::service::connection::settings::{
    self as changing, ConnectionPatch, LifecyclePatch, ResultsPatch, StagePatch, TagsPatch,
    WebhookSecret,
};
use crate::service::connection::view::{self as viewing, ConnectionView};
use crate::service::connection::{disconnect as disconnecting, sweep as sweeping};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}", web::get().to(org_home))
        .route("/orgs/{org}/lever", web::get().to(page))
        .route("/orgs/{org}/lever/connect", web::post().to(connect))
        .route("/orgs/{org}/lever/settings", web::post().to(settings))
        .route("/orgs/{org}/lever/stages", web::post().to(stages))
        .route("/orgs/{org}/lever/lifecycle", web::post().to(lifecycle))
        .route(
            "/orgs/{org}/lever/webhook-secret",
            web::post().to(webhook_secret),
        )
        .route("/orgs/{org}/lever/sweep", web::post().to(sweep))
        .route(
            "/orgs/{org}/lever/disconnect",
            web::get().to(confirm_disconnect),
        )
        .route("/orgs/{org}/lever/disconnect", web::post().to(disconnect));
}

async fn org_home(_user: User, path: web::Path<Uuid>) -> HttpResponse {
    see_other(&format!("/console/orgs/{}/lever", path.into_inner()))
}

#[derive(Debug, Deserialize)]
pub struct LeverQuery {
    connected: Option<String>,
    connect_error: Option<String>,
    done: Option<String>,
}

/// What an OAuth outcome code means, in the words the API and Lever use.
fn connect_error_text(code: &str) -> &'static str {
    match code {
        "access_denied" => {
            "Lever's consent was refused, so Arkiter Live was not connected. Click Connect again and choose Accept."
        }
        "not_super_admin" => {
            "Only a Lever Super Admin can connect Arkiter Live. Ask a Super Admin of your Lever account to click Connect and approve the request."
        }
        "code_exchange_failed" => {
            "Lever did not accept the authorisation code (it may have expired); start connecting again."
        }
        "conflict" => {
            "This Lever account is already connected to another Arkiter organisation; disconnect it there first."
        }
        "invalid_state" => {
            "This authorisation link is unknown, used or expired; start connecting again."
        }
        _ => {
            "Lever was not connected. Start connecting again; if it keeps failing, contact support."
        }
    }
}

fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "settings" => "Settings saved.",
        "stages" => "Trigger stages saved. Each was looked up in Lever: see which were found.",
        "lifecycle" => {
            "Saved. It applies to Lever's deliveries from now on; open interviews are not closed in bulk."
        }
        "webhook_secret" => {
            "Signature token saved. Lever's deliveries to this webhook are now accepted."
        }
        "sweep" => {
            "A sweep was asked for: the stage is checked for candidates Lever did not deliver."
        }
        "disconnected" => {
            "Lever is disconnected. Received events and unfinished work are kept for when you connect again."
        }
        _ => return None,
    })
}

/// "Lever is connected." while the connection is connected (active, or
/// waiting for its stage or webhook); nothing otherwise.
async fn connected_note(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
) -> Result<Option<String>, ConsoleError> {
    use crate::domain::status::ConnectionStatus::{Active, NeedsSetup};
    Ok(match viewing::get(state, &user.caller, org.id).await {
        Ok(c) if matches!(c.status, Active | NeedsSetup) => Some("Lever is connected.".to_owned()),
        Ok(_) => None,
        Err(e) if e.code() == "not_connected" => None,
        Err(e) => return Err(e.into()),
    })
}

/// `GET /console/orgs/{org}/lever`.
async fn page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<LeverQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let (note, err) = match (&query.connected, &query.connect_error) {
        (_, Some(code)) => (
            None,
            Some(FormError {
                form: "connect",
                field: None,
                message: connect_error_text(code).to_owned(),
            }),
        ),
        // Said from the connection's state, not the URL alone: a bookmarked
        // return URL says nothing once the org has disconnected.
        (Some(_), None) => (connected_note(&state, &user, &org).await?, None),
        (None, None) => (
            query.done.as_deref().and_then(done_text).map(str::to_owned),
            None,
        ),
    };
    let body = view(&state, &user, &org, note.as_deref(), err.as_ref(), None).await?;
    Ok(html(body))
}

async fn view(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
    note: Option<&str>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let conn = match viewing::get(state, &user.caller, org.id).await {
        Ok(c) => Some(c),
        Err(e) if e.code() == "not_connected" => None,
        Err(e) => return Err(e.into()),
    };
    let write = user.can_write(org.id);
    let base = org.base();
    let typed_or = |name: &str, current: &str| -> String {
        match typed {
            Some(f) if f.has(name) => f.get(name).to_owned(),
            _ => current.to_owned(),
        }
    };
    let body = html! {
        (notice(note))
        @if let Some(c) = &conn {
            (checklist_block(c))
            (status_block(c))
        } @else {
            p { "This org has not connected a Lever account yet. A Lever Super Admin clicks "
                strong { "Connect" } ", approves Arkiter Live on Lever's consent screen, and comes back here." }
        }
        @if write {
            section.card aria-labelledby="connect-h" {
                h2 #connect-h { @if conn.is_some() { "Connect again" } @else { "Connect" } }
                (field_error("connect", FormError::general(err, "connect").as_deref()))
                form method="post" action={ (base) "/lever/connect" } {
                    (csrf(user))
                    label for="stage_name" { "Stage name in Lever (optional)" }
                    input #stage_name type="text" name="stage_name" placeholder="Arkiter Live"
                        value=(typed_or("stage_name", ""));
                    (field_error("stage_name", FormError::on(err, "connect", "stage_name").as_deref()))
                    button type="submit" { "Connect" }
                }
            }
        }
        @if let Some(c) = &conn {
            (stages_card(c, write, &base, user, err, typed))
            section.card aria-labelledby="settings-h" {
                h2 #settings-h { "Tags, results and perform_as" }
                @if write {
                    (field_error("settings", FormError::general(err, "settings").as_deref()))
                    form method="post" action={ (base) "/lever/settings" } {
                        (csrf(user))
                        label for="link_created" { "Tag when the link is posted" }
                        input #link_created type="text" name="link_created" required
                            value=(typed_or("link_created", &c.tags.link_created));
                        (field_error("link_created", FormError::on(err, "settings", "tags.link_created").as_deref()))
                        label for="completed" { "Tag when the interview is completed" }
                        input #completed type="text" name="completed" required
                            value=(typed_or("completed", &c.tags.completed));
                        (field_error("completed", FormError::on(err, "settings", "tags.completed").as_deref()))
                        label for="passed" { "Tag when the score reaches the role's pass score (empty for none)" }
                        input #passed type="text" name="passed"
                            value=(typed_or("passed", c.tags.passed.as_deref().unwrap_or("")));
                        (field_error("passed", FormError::on(err, "settings", "tags.passed").as_deref()))
                        label for="not_passed" { "Tag when the score is below it (empty for none)" }
                        input #not_passed type="text" name="not_passed"
                            value=(typed_or("not_passed", c.tags.not_passed.as_deref().unwrap_or("")));
                        (field_error("not_passed", FormError::on(err, "settings", "tags.not_passed").as_deref()))
                        label for="needs_attention" { "Tag on a candidate an admin must look at (empty for none)" }
                        input #needs_attention type="text" name="needs_attention"
                            value=(typed_or("needs_attention", c.tags.needs_attention.as_deref().unwrap_or("")));
                        (field_error("needs_attention", FormError::on(err, "settings", "tags.needs_attention").as_deref()))
                        fieldset {
                            legend { "Results written on completion" }
                            @for (name, label, on) in [
                                ("note", "A note (score, summary, results link)", c.results.note),
                                ("feedback", "A Lever feedback form (needs perform_as)", c.results.feedback),
                                ("pdf", "A one-page PDF file on the candidate (needs perform_as)", c.results.pdf),
                            ] {
                                label.check { input type="checkbox" name={ "results_" (name) } value="true"
                                    checked[typed.map(|f| f.has(&format!("results_{name}"))).unwrap_or(on)]; " " (label) }
                            }
                            (field_error("results", FormError::on(err, "settings", "results").as_deref()))
                        }
                        label for="perform_as" { "perform_as (Lever user id; empty for none)" }
                        input #perform_as type="text" name="perform_as"
                            value=(typed_or("perform_as", c.perform_as.as_deref().unwrap_or("")));
                        (field_error("perform_as", FormError::on(err, "settings", "perform_as").as_deref()))
                        button type="submit" { "Save settings" }
                    }
                } @else {
                    dl {
                        dt { "Tag when the link is posted" } dd { (c.tags.link_created) }
                        dt { "Tag when completed" } dd { (c.tags.completed) }
                        dt { "Results" } dd { (results_text(c)) }
                        dt { "perform_as" } dd { (c.perform_as.as_deref().unwrap_or("—")) }
                    }
                }
            }
            (lifecycle_card(c, write, &base, user, err, &typed_or))
            @if write && !c.webhook.managed {
                section.card aria-labelledby="manual-h" {
                    h2 #manual-h { "Manual webhook" }
                    p { "Lever did not let Arkiter register its webhook. In Lever, under Settings › Integrations and API › Webhooks, add a "
                        strong { "Candidate Stage Change" } " webhook with this URL, then paste its signature token here:" }
                    p { code.url { (c.webhook.url) } }
                    (field_error("webhook_secret", FormError::general(err, "webhook_secret").as_deref()))
                    form method="post" action={ (base) "/lever/webhook-secret" } {
                        (csrf(user))
                        label for="signature_token" { "Signature token" }
                        input #signature_token type="password" name="signature_token" autocomplete="off" required;
                        (field_error("signature_token", FormError::on(err, "webhook_secret", "signature_token").as_deref()))
                        button type="submit" { "Save signature token" }
                    }
                }
            }
            @if write {
                section.card aria-labelledby="sweep-h" {
                    h2 #sweep-h { "Sweep now" }
                    p { "Checks the stage for candidates Lever did not deliver." }
                    (field_error("sweep", FormError::general(err, "sweep").as_deref()))
                    form method="post" action={ (base) "/lever/sweep" } {
                        (csrf(user))
                        button type="submit" { "Sweep now" }
                    }
                }
                @if c.status != crate::domain::status::ConnectionStatus::Disconnected {
                    section.card.danger aria-labelledby="disc-h" {
                        h2 #disc-h { "Disconnect" }
                        p { "Stops calling Lever and removes Arkiter's webhook there." }
                        a.button.danger href={ (base) "/lever/disconnect" } { "Disconnect…" }
                    }
                }
            }
        }
    };
    Ok(layout::page(user, Some(org), "lever", "Lever · Live", body))
}

/// The trigger stages, one name per line, each marked found or missing in
/// Lever (a form for admins).
fn stages_card(
    c: &ConnectionView,
    write: bool,
    base: &str,
    user: &User,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Markup {
    let names: Vec<String> = match typed {
        Some(f) if f.has("stages") => f.get("stages").lines().map(str::to_owned).collect(),
        _ => c.stages.iter().map(|s| s.name.clone()).collect(),
    };
    html! {
        section.card aria-labelledby="stages-h" {
            h2 #stages-h { "Trigger stages" }
            ul #stages {
                @for s in &c.stages {
                    li { (s.name) " " @if s.found { span.badge.s-active { "found" } } @else { span.badge.s-needs_setup { "missing in Lever" } } }
                }
            }
            @if write {
                (field_error("stages", FormError::general(err, "stages").as_deref()))
                form method="post" action={ (base) "/lever/stages" } {
                    (csrf(user))
                    label for="stages-input" { "Stage names in Lever, one per line (1 to 10)" }
                    textarea #stages-input name="stages" rows="3" { (names.join("\n")) }
                    (field_error("stages", FormError::on(err, "stages", "stages").as_deref()))
                    button type="submit" { "Save stages" }
                }
            }
        }
    }
}

/// What a completion writes, in words.
fn results_text(c: &ConnectionView) -> String {
    let kinds: Vec<&str> = [
        (c.results.note, "note"),
        (c.results.feedback, "feedback form"),
        (c.results.pdf, "PDF file"),
    ]
    .into_iter()
    .filter_map(|(on, k)| on.then_some(k))
    .collect();
    kinds.join(", ")
}

/// The lifecycle settings (a form for admins) and the webhooks per event,
/// with how to add by hand one that Lever would not take over the API.
fn lifecycle_card(
    c: &ConnectionView,
    write: bool,
    base: &str,
    user: &User,
    err: Option<&FormError>,
    typed_or: &dyn Fn(&str, &str) -> String,
) -> Markup {
    let policy = |name: &str, now: LifecyclePolicy| -> Markup {
        let chosen = typed_or(name, now.as_str());
        html! {
            select #(name) name=(name) {
                @for p in LifecyclePolicy::ALL {
                    option value=(p.as_str()) selected[chosen == p.as_str()] {
                        @match p { LifecyclePolicy::Close => "Close the interview", LifecyclePolicy::Keep => "Keep it open" }
                    }
                }
            }
        }
    };
    let missing: Vec<&str> = setup::MANAGED_EVENTS
        .iter()
        .copied()
        .filter(|e| !c.webhooks.iter().any(|w| w.event == *e))
        .collect();
    html! {
        section.card aria-labelledby="lifecycle-h" {
            h2 #lifecycle-h { "When candidates move on" }
            @if write {
                (field_error("lifecycle", FormError::general(err, "lifecycle").as_deref()))
                form method="post" action={ (base) "/lever/lifecycle" } {
                    (csrf(user))
                    label for="on_archive" { "When Lever archives the candidate" }
                    (policy("on_archive", c.lifecycle.on_archive))
                    (field_error("on_archive", FormError::on(err, "lifecycle", "lifecycle.on_archive").as_deref()))
                    label for="on_hired" { "When Lever hires the candidate" }
                    (policy("on_hired", c.lifecycle.on_hired))
                    (field_error("on_hired", FormError::on(err, "lifecycle", "lifecycle.on_hired").as_deref()))
                    label for="closed" { "Tag when an interview closes (empty for none)" }
                    input #closed type="text" name="closed"
                        value=(typed_or("closed", c.tags.closed.as_deref().unwrap_or("")));
                    (field_error("closed", FormError::on(err, "lifecycle", "tags.closed").as_deref()))
                    button type="submit" { "Save" }
                }
            } @else {
                dl {
                    dt { "When archived" } dd { (c.lifecycle.on_archive) }
                    dt { "When hired" } dd { (c.lifecycle.on_hired) }
                    dt { "Tag when closed" } dd { (c.tags.closed.as_deref().unwrap_or("—")) }
                }
            }
            h3 { "Webhooks" }
            ul #webhooks {
                @for w in &c.webhooks {
                    li { code { (w.event) } " — " @if w.managed { "registered by Arkiter" } @else { "added by hand" } }
                }
            }
            @if c.webhook.managed && !missing.is_empty() {
                p { "Lever did not let Arkiter register these events over its API: "
                    @for (i, e) in missing.iter().enumerate() { @if i > 0 { ", " } code { (e) } }
                    ". In Lever, under Settings › Integrations and API › Webhooks, add each with this URL, then paste its signature token under Manual webhook:" }
                p { code.url { (c.webhook.url) } }
                p { "Until then the sweep finds what they would have said." }
            }
            p { "A Lever Super Admin must also turn each event's webhook group on in Lever." }
        }
    }
}

/// The setup steps, green as they are done; kept current while the page is
/// open by `console.js`.
fn checklist_block(c: &ConnectionView) -> Markup {
    let done = c.checklist.iter().filter(|s| s.done).count();
    html! {
        section.card #checklist data-live-seconds="2" aria-labelledby="checklist-h" {
            h2 #checklist-h { "Setup: " (done) " of " (c.checklist.len()) " done" }
            ol.checklist {
                @for s in &c.checklist {
                    li data-step=(s.step) class=(if s.done { "done" } else { "todo" }) {
                        span.mark aria-hidden="true" { @if s.done { "✓" } @else { "○" } }
                        " " strong { (s.step.replace('_', " ")) } ": " (s.message)
                    }
                }
            }
        }
    }
}

fn status_block(c: &ConnectionView) -> Markup {
    let problems: Vec<(String, String)> = c
        .problems
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["code"].as_str().unwrap_or("").to_owned(),
                        p["message"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        dl.facts {
            dt { "Status" } dd { span class={ "badge s-" (c.status) } #status { (c.status) } }
            dt { "Stages" } dd { @for (i, s) in c.stages.iter().enumerate() { @if i > 0 { ", " } (s.name) @if !s.found { " (missing)" } } }
            dt { "Webhook" } dd { @if c.webhook.managed { "managed by Arkiter" } @else { "manual" } }
            dt { "Webhook URL" } dd { code.url { (c.webhook.url) } }
            dt { "Tags" } dd { (c.tags.link_created) ", " (c.tags.completed) }
            dt { "Results" } dd { (results_text(c)) }
            dt { "perform_as" } dd { (c.perform_as.as_deref().unwrap_or("—")) }
            dt { "Connected" } dd { (layout::when(c.connected_at)) }
        }
        @if !problems.is_empty() {
            section.problems aria-labelledby="problems-h" {
                h2 #problems-h { "Problems to fix" }
                ul { @for (code, message) in &problems { li { strong { (code) } ": " (message) } } }
            }
        }
    }
}

/// Shows the Lever page again with `e` next to its field, or as an error page.
async fn again(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
    form: &'static str,
    fields: &[&str],
    typed: &Fields,
    e: ServiceError,
) -> Result<HttpResponse, ConsoleError> {
    if !layout::is_form_error(&e) {
        return Err(e.into());
    }
    let status = super::status_of(e.kind());
    let err = FormError::from_service(form, &e, fields);
    let body = view(state, user, org, None, Some(&err), Some(typed)).await?;
    Ok(html_status(status, body))
}

async fn connect(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let stage_name = post.fields.get("stage_name").trim();
    let body = ConnectRequest {
        stage_id: None,
        stage_name: (!stage_name.is_empty()).then(|| stage_name.to_owned()),
    };
    match connecting::start(&state, &post.user.caller, org.id, body, true).await {
        Ok(started) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, started.authorize_url))
            .finish()),
        Err(e) => {
            again(
                &state,
                &post.user,
                &org,
                "connect",
                &["stage_name"],
                &post.fields,
                e,
            )
            .await
        }
    }
}

async fn settings(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let perform_as = f.get("perform_as").trim();
    let optional = |name: &str| {
        let v = f.get(name).trim();
        Some((!v.is_empty()).then(|| v.to_owned()))
    };
    let patch = ConnectionPatch {
        tags: Some(TagsPatch {
            link_created: Some(f.get("link_created").to_owned()),
            completed: Some(f.get("completed").to_owned()),
            passed: optional("passed"),
            not_passed: optional("not_passed"),
            needs_attention: optional("needs_attention"),
            ..TagsPatch::default()
        }),
        results: Some(ResultsPatch {
            note: Some(f.has("results_note")),
            feedback: Some(f.has("results_feedback")),
            pdf: Some(f.has("results_pdf")),
        }),
        perform_as: Some((!perform_as.is_empty()).then(|| perform_as.to_owned())),
        ..ConnectionPatch::default()
    };
    match changing::update(&state, &post.user.caller, org.id, patch).await {
        Ok(_) => Ok(see_other(&format!("{}/lever?done=settings", org.base()))),
        Err(e) => {
            let fields = [
                "tags.link_created",
                "tags.completed",
                "tags.passed",
                "tags.not_passed",
                "tags.needs_attention",
                "results",
                "perform_as",
            ];
            again(&state, &post.user, &org, "settings", &fields, f, e).await
        }
    }
}

async fn stages(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let wanted: Vec<StagePatch> = f
        .get("stages")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|name| StagePatch {
            id: None,
            name: Some(name.to_owned()),
        })
        .collect();
    let patch = ConnectionPatch {
        stages: Some(wanted),
        ..ConnectionPatch::default()
    };
    match changing::update(&state, &post.user.caller, org.id, patch).await {
        Ok(_) => Ok(see_other(&format!("{}/lever?done=stages", org.base()))),
        Err(e) => again(&state, &post.user, &org, "stages", &["stages"], f, e).await,
    }
}

async fn lifecycle(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let closed = f.get("closed").trim();
    let patch = ConnectionPatch {
        tags: Some(TagsPatch {
            closed: Some((!closed.is_empty()).then(|| closed.to_owned())),
            ..TagsPatch::default()
        }),
        lifecycle: Some(LifecyclePatch {
            on_archive: Some(f.get("on_archive").to_owned()),
            on_hired: Some(f.get("on_hired").to_owned()),
            ..LifecyclePatch::default()
        }),
        ..ConnectionPatch::default()
    };
    match changing::update(&state, &post.user.caller, org.id, patch).await {
        Ok(_) => Ok(see_other(&format!("{}/lever?done=lifecycle", org.base()))),
        Err(e) => {
            let fields = ["lifecycle.on_archive", "lifecycle.on_hired", "tags.closed"];
            again(&state, &post.user, &org, "lifecycle", &fields, f, e).await
        }
    }
}

async fn webhook_secret(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let body = WebhookSecret {
        signature_token: post.fields.get("signature_token").to_owned(),
    };
    match changing::set_webhook_secret(&state, &post.user.caller, org.id, &body).await {
        Ok(_) => Ok(see_other(&format!(
            "{}/lever?done=webhook_secret",
            org.base()
        ))),
        Err(e) => {
            // The token is a secret: it is not typed back into the page.
            let typed = Fields::default();
            again(
                &state,
                &post.user,
                &org,
                "webhook_secret",
                &["signature_token"],
                &typed,
                e,
            )
            .await
        }
    }
}

async fn sweep(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    match sweeping::request(&state, &post.user.caller, org.id).await {
        Ok(_) => Ok(see_other(&format!("{}/lever?done=sweep", org.base()))),
        Err(e) => again(&state, &post.user, &org, "sweep", &[], &post.fields, e).await,
    }
}

async fn confirm_disconnect(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    // Members never see the button; the page itself says so too.
    user.caller.require_org(org.id, KeyRole::Admin)?;
    let base = org.base();
    let body = html! {
        section.card.danger {
            p { "Disconnect " strong { (org.name) } " from Lever? Arkiter stops calling Lever and removes its webhook there. "
                "Received events and unfinished work are kept for when you connect again." }
            form method="post" action={ (base) "/lever/disconnect" } {
                (csrf(&user))
                button.danger type="submit" { "Yes, disconnect" }
                " "
                a href={ (base) "/lever" } { "Cancel" }
            }
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "lever",
        "Disconnect Lever?",
        body,
    )))
}

async fn disconnect(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    match disconnecting::disconnect(&state, &post.user.caller, org.id).await {
        Ok(()) => Ok(see_other(&format!(
            "{}/lever?done=disconnected",
            org.base()
        ))),
        Err(e) => again(&state, &post.user, &org, "disconnect", &[], &post.fields, e).await,
    }
}
