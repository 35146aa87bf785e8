//! The operator's usage page (super-admin): per org, what it used over the
//! last 24 hours and 30 days (`service::usage`).

use actix_web::{HttpResponse, web};
use maud::html;
use serde::Deserialize;

use super::layout::{self, pager};
use super::session::User;
use super::{ConsoleError, html};
use crate::service::list::ListQuery;
use crate::service::usage;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/operator/usage", web::get().to(page));
}

#[derive(Debug, Deserialize, Default)]
pub struct UsageQuery {
    cursor: Option<String>,
}

async fn page(
    user: User,
    state: web::Data<AppState>,
    query: web::Query<UsageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let list = usage::list(
        &state,
        &user.caller,
        &ListQuery::after(query.cursor.clone()),
    )
    .await?;
    let body = html! {
        p { "Per org, oldest first: the last 24 hours, then the last 30 days." }
        div.table-wrap {
            table #usage {
                thead { tr {
                    th { "Org" } th { "Connections" } th { "Deliveries" } th { "Linked" }
                    th { "Completed" } th { "Lever calls" }
                } }
                tbody {
                    @for u in &list.items {
                        tr.usage {
                            td { a href={ "/console/orgs/" (u.org_id) "/lever" } { (u.name) } }
                            td { (u.connections) }
                            td { (u.last_24_hours.deliveries) " / " (u.last_30_days.deliveries) }
                            td { (u.last_24_hours.interviews_linked) " / " (u.last_30_days.interviews_linked) }
                            td { (u.last_24_hours.interviews_completed) " / " (u.last_30_days.interviews_completed) }
                            td { (u.last_24_hours.lever_calls) " / " (u.last_30_days.lever_calls) }
                        }
                    }
                }
            }
        }
        (pager("/console/operator/usage", &[], query.cursor.is_none(), list.next_cursor.as_deref()))
    };
    Ok(html(layout::page(&user, None, "usage", "Usage", body)))
}
