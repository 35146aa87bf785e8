//! The control API under `/_sim/` (JSON over HTTP), for the demo and for
//! anything outside this process. Same operations as [`super::SimHandle`].
//!
//! | route | body → answer |
//! |---|---|
//! | `POST /_sim/reset` | → 204 |
//! | `POST /_sim/accounts` | `{id?, name?}` → account |
//! | `GET/PATCH /_sim/accounts/{a}` | `{webhooks_enabled?, webhooks_api?, authorize_mode?, rate_per_sec?, rate_capacity?, withheld_scopes?}` → account |
//! | `POST /_sim/accounts/{a}/login` | → 204 |
//! | `POST /_sim/accounts/{a}/stages` | `{id?, text}` → stage |
//! | `POST /_sim/accounts/{a}/postings` | `{id?, text, tags?}` → posting |
//! | `PATCH /_sim/accounts/{a}/postings/{p}` | `{tags}` → posting (its tags replaced) |
//! | `POST /_sim/accounts/{a}/users` | `{id?, name, email}` → user |
//! | `POST /_sim/accounts/{a}/opportunities` | `{id?, name?, contact?, emails?, stage_id, posting_id?, tags?}` → opportunity |
//! | `GET /_sim/accounts/{a}/opportunities/{o}` | → `{id, contact, stage, tags, links, notes}` |
//! | `GET /_sim/accounts/{a}/opportunities/{o}/feedback` | → the feedback forms written on it |
//! | `GET /_sim/accounts/{a}/opportunities/{o}/files` | → the files uploaded to it (`bytes` in base64) |
//! | `GET/POST /_sim/accounts/{a}/feedback_templates` | `{text, instructions?, group?, fields: [{type, text, description?, required?, prompt?, options?}]}` (a customer-made template, checked as the API checks one: exactly one `score-system` field) → template(s), "No Feedback" first |
//! | `POST /_sim/accounts/{a}/opportunities/{o}/archive` | `{reason}` (an archive reason id, or `null` to unarchive) → 204; the archive (and hired) webhooks follow |
//! | `DELETE /_sim/accounts/{a}/opportunities/{o}` | → 204; `candidateDeleted` follows |
//! | `POST /_sim/accounts/{a}/move` | `{opportunity_ids, stage_id, deliver?}` → `{moved}`; `deliver: false` moves with no webhook at all |
//! | `POST /_sim/accounts/{a}/revoke`, `/expire-tokens` | → 204 |
//! | `POST/DELETE /_sim/accounts/{a}/faults` | a fault rule (see faults.rs) → 204 |
//! | `GET/POST /_sim/accounts/{a}/webhooks` | `{url, event}` (a UI-made webhook) → webhook(s) |
//! | `DELETE /_sim/accounts/{a}/webhooks[/{w}]` | → `{deleted}`: all of the account's webhooks, or one |
//! | `POST /_sim/accounts/{a}/webhooks/disable`, `/enable` | the Super Admin's webhook-group toggle → 204 |
//! | `POST /_sim/accounts/{a}/webhooks/{w}/test` | → 202 |
//! | `GET /_sim/accounts/{a}/deliveries` | → deliveries |
//! | `GET/DELETE /_sim/calls?account=` | → calls / 204 |

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Sim;
use super::faults::FaultRule;
use super::feedback::NewFeedbackTemplate;
use super::manage::{AccountPatch, NewOpportunity, SimError};

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim")
            .route("/reset", web::post().to(reset))
            .route("/calls", web::get().to(calls))
            .route("/calls", web::delete().to(clear_calls))
            .route("/accounts", web::post().to(create_account))
            .route("/accounts/{a}", web::get().to(get_account))
            .route("/accounts/{a}", web::patch().to(patch_account))
            .route("/accounts/{a}/login", web::post().to(login))
            .route("/accounts/{a}/stages", web::post().to(add_stage))
            .route("/accounts/{a}/postings", web::post().to(add_posting))
            .route("/accounts/{a}/postings/{p}", web::patch().to(patch_posting))
            .route(
                "/accounts/{a}/feedback_templates",
                web::get().to(feedback_templates),
            )
            .route(
                "/accounts/{a}/feedback_templates",
                web::post().to(add_feedback_template),
            )
            .route("/accounts/{a}/users", web::post().to(add_user))
            .route(
                "/accounts/{a}/opportunities",
                web::post().to(add_opportunity),
            )
            .route(
                "/accounts/{a}/opportunities/{o}",
                web::get().to(get_opportunity),
            )
            .route(
                "/accounts/{a}/opportunities/{o}",
                web::delete().to(delete_opportunity),
            )
            .route(
                "/accounts/{a}/opportunities/{o}/feedback",
                web::get().to(feedback),
            )
            .route(
                "/accounts/{a}/opportunities/{o}/files",
                web::get().to(files),
            )
            .route(
                "/accounts/{a}/opportunities/{o}/archive",
                web::post().to(archive_opportunity),
            )
            .route("/accounts/{a}/move", web::post().to(move_opportunities))
            .route("/accounts/{a}/revoke", web::post().to(revoke))
            .route("/accounts/{a}/expire-tokens", web::post().to(expire_tokens))
            .route("/accounts/{a}/faults", web::post().to(add_fault))
            .route("/accounts/{a}/faults", web::delete().to(clear_faults))
            .route("/accounts/{a}/webhooks", web::get().to(webhooks))
            .route("/accounts/{a}/webhooks", web::post().to(add_ui_webhook))
            .route("/accounts/{a}/webhooks", web::delete().to(delete_webhooks))
            .route(
                "/accounts/{a}/webhooks/disable",
                web::post().to(disable_webhooks),
            )
            .route(
                "/accounts/{a}/webhooks/enable",
                web::post().to(enable_webhooks),
            )
            .route(
                "/accounts/{a}/webhooks/{w}",
                web::delete().to(delete_webhook),
            )
            .route("/accounts/{a}/webhooks/{w}/test", web::post().to(test_ping))
            .route("/accounts/{a}/deliveries", web::get().to(deliveries)),
    );
}

type Data = web::Data<Sim>;

fn answer<T: Serialize>(result: Result<T, SimError>) -> HttpResponse {
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(e) => error(e),
    }
}

fn done(result: Result<(), SimError>, ok: HttpResponse) -> HttpResponse {
    match result {
        Ok(()) => ok,
        Err(e) => error(e),
    }
}

fn error(e: SimError) -> HttpResponse {
    let body = json!({ "error": e.to_string() });
    match e {
        SimError::NotFound(_) => HttpResponse::NotFound().json(body),
        SimError::BadRequest(_) => HttpResponse::BadRequest().json(body),
    }
}

async fn reset(sim: Data) -> HttpResponse {
    sim.reset();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct CallsQuery {
    account: Option<String>,
}

async fn calls(sim: Data, q: web::Query<CallsQuery>) -> HttpResponse {
    HttpResponse::Ok().json(sim.calls(q.account.as_deref()))
}

async fn clear_calls(sim: Data) -> HttpResponse {
    sim.clear_calls();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize, Default)]
struct NewAccount {
    id: Option<String>,
    name: Option<String>,
}

async fn create_account(sim: Data, body: Option<web::Json<NewAccount>>) -> HttpResponse {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    HttpResponse::Created().json(sim.create_account(body.id, body.name))
}

async fn get_account(sim: Data, a: web::Path<String>) -> HttpResponse {
    answer(sim.account(&a))
}

async fn patch_account(
    sim: Data,
    a: web::Path<String>,
    body: web::Json<AccountPatch>,
) -> HttpResponse {
    answer(sim.patch_account(&a, body.into_inner()))
}

async fn login(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(sim.login(&a), HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct Named {
    id: Option<String>,
    text: String,
}

async fn add_stage(sim: Data, a: web::Path<String>, body: web::Json<Named>) -> HttpResponse {
    let Named { id, text } = body.into_inner();
    answer(sim.add_stage(&a, id, &text))
}

#[derive(Deserialize)]
struct NewPosting {
    id: Option<String>,
    text: String,
    #[serde(default)]
    tags: Vec<String>,
}

async fn add_posting(sim: Data, a: web::Path<String>, body: web::Json<NewPosting>) -> HttpResponse {
    let NewPosting { id, text, tags } = body.into_inner();
    answer(sim.add_posting(&a, id, &text, tags))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostingPatch {
    tags: Vec<String>,
}

async fn patch_posting(
    sim: Data,
    path: web::Path<(String, String)>,
    body: web::Json<PostingPatch>,
) -> HttpResponse {
    let (a, p) = path.into_inner();
    answer(sim.set_posting_tags(&a, &p, body.into_inner().tags))
}

async fn feedback_templates(sim: Data, a: web::Path<String>) -> HttpResponse {
    answer(sim.feedback_templates(&a))
}

async fn add_feedback_template(
    sim: Data,
    a: web::Path<String>,
    body: web::Json<NewFeedbackTemplate>,
) -> HttpResponse {
    answer(sim.add_feedback_template(&a, body.into_inner()))
}

async fn feedback(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (a, o) = path.into_inner();
    answer(sim.feedback(&a, &o))
}

async fn files(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (a, o) = path.into_inner();
    answer(sim.files(&a, &o))
}

#[derive(Deserialize)]
struct NewUser {
    id: Option<String>,
    name: String,
    email: String,
}

async fn add_user(sim: Data, a: web::Path<String>, body: web::Json<NewUser>) -> HttpResponse {
    let NewUser { id, name, email } = body.into_inner();
    answer(sim.add_user(&a, id, &name, &email))
}

async fn add_opportunity(
    sim: Data,
    a: web::Path<String>,
    body: web::Json<NewOpportunity>,
) -> HttpResponse {
    answer(sim.add_opportunity(&a, body.into_inner()))
}

async fn get_opportunity(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (a, o) = path.into_inner();
    answer(sim.opportunity_view(&a, &o))
}

#[derive(Deserialize)]
struct Move {
    opportunity_ids: Vec<String>,
    stage_id: String,
    /// `false`: move with no webhook delivery at all.
    #[serde(default = "yes")]
    deliver: bool,
}

fn yes() -> bool {
    true
}

async fn move_opportunities(
    sim: Data,
    a: web::Path<String>,
    body: web::Json<Move>,
) -> HttpResponse {
    let sim: Arc<Sim> = sim.into_inner();
    let moved = if body.deliver {
        sim.move_opportunities(&a, &body.opportunity_ids, &body.stage_id)
    } else {
        sim.move_without_delivery(&a, &body.opportunity_ids, &body.stage_id)
    };
    answer(moved.map(|moved| json!({ "moved": moved })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Archive {
    reason: Option<String>,
}

async fn archive_opportunity(
    sim: Data,
    path: web::Path<(String, String)>,
    body: web::Json<Archive>,
) -> HttpResponse {
    let sim: Arc<Sim> = sim.into_inner();
    let (a, o) = path.into_inner();
    done(
        sim.archive_opportunity(&a, &o, body.reason.as_deref()),
        HttpResponse::NoContent().finish(),
    )
}

async fn delete_opportunity(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let sim: Arc<Sim> = sim.into_inner();
    let (a, o) = path.into_inner();
    done(
        sim.delete_opportunity(&a, &o),
        HttpResponse::NoContent().finish(),
    )
}

async fn revoke(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(sim.revoke(&a), HttpResponse::NoContent().finish())
}

async fn expire_tokens(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(
        sim.expire_access_tokens(&a),
        HttpResponse::NoContent().finish(),
    )
}

async fn add_fault(sim: Data, a: web::Path<String>, body: web::Json<FaultRule>) -> HttpResponse {
    done(
        sim.add_fault(&a, body.into_inner()),
        HttpResponse::NoContent().finish(),
    )
}

async fn clear_faults(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(sim.clear_faults(&a), HttpResponse::NoContent().finish())
}

async fn webhooks(sim: Data, a: web::Path<String>) -> HttpResponse {
    answer(sim.webhooks(&a))
}

#[derive(Deserialize)]
struct UiWebhook {
    url: String,
    #[serde(default = "default_event")]
    event: String,
}

fn default_event() -> String {
    lever_api::wire::events::CANDIDATE_STAGE_CHANGE.to_owned()
}

async fn add_ui_webhook(
    sim: Data,
    a: web::Path<String>,
    body: web::Json<UiWebhook>,
) -> HttpResponse {
    answer(sim.add_ui_webhook(&a, &body.url, &body.event))
}

async fn delete_webhooks(sim: Data, a: web::Path<String>) -> HttpResponse {
    answer(
        sim.delete_webhooks(&a, None)
            .map(|n| json!({ "deleted": n })),
    )
}

async fn delete_webhook(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (a, w) = path.into_inner();
    answer(
        sim.delete_webhooks(&a, Some(&w))
            .map(|n| json!({ "deleted": n })),
    )
}

async fn disable_webhooks(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(
        sim.set_webhooks_enabled(&a, false),
        HttpResponse::NoContent().finish(),
    )
}

async fn enable_webhooks(sim: Data, a: web::Path<String>) -> HttpResponse {
    done(
        sim.set_webhooks_enabled(&a, true),
        HttpResponse::NoContent().finish(),
    )
}

async fn test_ping(sim: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (a, w) = path.into_inner();
    let sim: Arc<Sim> = sim.into_inner();
    done(sim.test_ping(&a, &w), HttpResponse::Accepted().finish())
}

async fn deliveries(sim: Data, a: web::Path<String>) -> HttpResponse {
    answer(sim.deliveries(&a))
}
