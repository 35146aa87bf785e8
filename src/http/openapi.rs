//! The OpenAPI 3 document of the admin API, generated from the handlers'
//! annotations and served at `/api/v1/openapi.json`.

use actix_web::{HttpResponse, get, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{interview_actions, keys, lever, orgs, roles};

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
        interview_actions::complete, interview_actions::cancel, interview_actions::replay,
        super::webhooks::events::list_events,
        super::interviews::list_interviews, super::interviews::get_interview, super::pages::live_lookup, super::health_report::get_health,
    ),
    modifiers(&BearerAuth)
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

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_json);
}

#[get("/api/v1/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
