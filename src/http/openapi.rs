//! The OpenAPI 3 document of the admin API, generated from the handlers'
//! annotations and served at `/api/v1/openapi.json`.

use actix_web::{HttpResponse, get, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{alerts, audit, candidates, interview_actions, keys, lever, orgs, roles};

#[derive(OpenApi)]
#[openapi(
    info(title = "arkiter-lever admin API", description = "Connect Lever accounts, map Arkiter roles to Lever jobs, follow interviews."),
    paths(
        orgs::create_org, orgs::list_orgs, orgs::get_org,
        keys::list_keys, keys::create_key, keys::delete_key,
        roles::create_role, roles::list_roles, roles::get_role, roles::patch_role,
        roles::delete_role, roles::resolve_role,
        lever::connect::connect, lever::view::get_connection, lever::settings::patch_connection,
        lever::settings::put_webhook_secret, lever::sweep::request_sweep, lever::disconnect::disconnect,
        interview_actions::complete, interview_actions::cancel, interview_actions::reinvite,
        candidates::export_candidate, candidates::candidate_story, candidates::erase_candidate,
        interview_actions::replay,
        interview_actions::bulk_replay,
        super::events::list_events, audit::list_audit,
        alerts::list_org_alerts, alerts::create_org_alert, alerts::delete_org_alert,
        alerts::test_org_alert, alerts::org_alert_deliveries, alerts::list_operator_alerts,
        alerts::create_operator_alert, alerts::delete_operator_alert, alerts::test_operator_alert,
        alerts::operator_alert_deliveries, super::usage::get_usage,
        super::interviews::list_interviews, super::interviews::get_interview, super::pages::live_lookup, super::health_report::get_health,
    ),
    modifiers(&BearerAuth, &CommonResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The methods a route pattern answers, for `Allow` on a 405: the admin API's
/// from this document, the few public routes from their one method.
pub fn methods_of(pattern: &str) -> Vec<String> {
    static DOC: std::sync::LazyLock<utoipa::openapi::OpenApi> =
        std::sync::LazyLock::new(ApiDoc::openapi);
    let documented: Vec<String> = DOC
        .paths
        .paths
        .get(pattern)
        .map(|item| {
            let ops = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ];
            ops.iter()
                .filter(|(_, op)| op.is_some())
                .map(|(m, _)| (*m).to_owned())
                .collect()
        })
        .unwrap_or_default();
    if !documented.is_empty() {
        return documented;
    }
    let public = if pattern.starts_with("/webhooks/") {
        "POST"
    } else {
        "GET"
    };
    vec![public.to_owned()]
}

/// The statuses every route can answer whatever its handler does
/// (docs/contract/http-api.md), added where an annotation left them out, so the document lists
/// every status a route can return: 401 (no or bad key) and 503 (database
/// down, super-admin token unset) everywhere; 404 with a path parameter; 400
/// with query parameters (malformed, or a NUL); with a body, 400, 408 (body
/// deadline), 413, 415 and 422. Optional bodies are marked so.
struct CommonResponses;

/// Routes whose body may be left out entirely.
const OPTIONAL_BODIES: [&str; 1] = ["/api/v1/orgs/{org}/lever/connect"];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                complete_operation(path, op);
            }
        }
    }
}

fn complete_operation(path: &str, op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    for p in op.parameters.iter_mut().flatten() {
        if p.name == "limit" && p.parameter_in == ParameterIn::Query {
            p.schema = Some(any_integer());
        }
    }
    let mut statuses = vec![
        ("401", "No or bad credentials"),
        ("503", "Not ready: the database is not answering"),
    ];
    if path.contains('{') {
        statuses.push(("404", "Unknown id, or another org's"));
    }
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if has_query {
        statuses.push(("400", "Malformed query parameters"));
    }
    let has_limit = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.name == "limit" && p.parameter_in == ParameterIn::Query);
    if has_limit {
        statuses.push(("422", "A `limit` below 1"));
    }
    if let Some(body) = op.request_body.as_mut() {
        statuses.extend([
            ("400", "The body is not valid JSON, or not of this shape"),
            ("408", "The body did not arrive in time"),
            ("413", "The body is too large"),
            ("415", "The body is not sent as JSON"),
            ("422", "Well-formed but invalid values"),
        ]);
        if OPTIONAL_BODIES.contains(&path) {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
    for (status, description) in statuses {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

/// `limit` takes an integer of any size and clamps large ones
/// (docs/contract/http-api.md), so it is documented without the `int64`
/// format that would call them invalid.
fn any_integer() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .description(Some(
            "default 50; values above 200 are clamped to 200; below 1 is refused (422)",
        ))
        .build()
        .into()
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_json);
}

#[get("/api/v1/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
