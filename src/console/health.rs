//! Health: the docs/contract/health.md figures of the org's connection, and link latency and
//! volume over the last 24 hours as an SVG chart drawn on the server.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::layout::{self, when};
use super::session::User;
use super::{ConsoleError, html, org_ctx};
use crate::domain::status::TokenState;
use crate::health::report::HealthStatus;
use crate::health::series::{HourPoint, link_series};
use crate::service::access::KeyRole;
use crate::service::health;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/health", web::get().to(page));
}

/// The status as the API spells it (`healthy`, `needs_reauth`, ...).
pub fn status_word(s: HealthStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let r = health::report(&state, &user.caller, org.id).await?;
    user.caller.require_org(org.id, KeyRole::Member)?;
    let org_id = org.id.0;
    let series = state.db.run(move |c| Ok(link_series(c, org_id)?)).await?;
    let ms = |v: Option<i64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "—".into());
    let body = html! {
        div #auto-refresh data-refresh-seconds="30" hidden {}
        p { "Overall: " span #health-status class={ "badge s-" (status_word(r.status)) } { (status_word(r.status)) }
            " " small { "checked " (when(Some(r.checked_at))) } }
        @if !r.problems.is_empty() {
            section.problems aria-labelledby="hp-h" {
                h2 #hp-h { "Problems to fix" }
                ul { @for p in &r.problems { li { strong { (p.code) } ": " (p.message) } } }
            }
        }
        section.card aria-labelledby="lat-h" {
            h2 #lat-h { "Link latency and volume, last 24 hours" }
            p { "Latency p50 " strong #latency-p50 { (ms(r.latency_ms.link_p50)) } ", p95 " strong #latency-p95 { (ms(r.latency_ms.link_p95)) } }
            (chart(&series))
        }
        div.grid {
            section.card { h2 { "Token" } dl.facts {
                dt { "State" } dd { (r.token.state.map_or("—", TokenState::as_str)) }
                dt { "Expires" } dd { (when(r.token.expires_at)) }
                dt { "Last refreshed" } dd { (when(r.token.last_refreshed_at)) }
            } }
            section.card { h2 { "Webhook" } dl.facts {
                dt { "Mode" } dd { @if r.webhook.managed { "managed" } @else { "manual" } }
                dt { "Last delivery" } dd { (when(r.webhook.last_received_at)) }
                dt { "Rejected, last hour" } dd { (r.webhook.rejected_last_hour) }
            } }
            section.card { h2 { "Stage" } dl.facts {
                dt { "Name" } dd { (r.stage.name.as_deref().unwrap_or("—")) }
                dt { "Id" } dd { (r.stage.id.as_deref().unwrap_or("—")) }
                dt { "Found in Lever" } dd { @if r.stage.found { "yes" } @else { "no" } }
            } }
            section.card { h2 { "Queue" } dl.facts {
                dt { "Pending" } dd { (r.queue.pending) }
                dt { "Retrying" } dd { (r.queue.retrying) }
                dt { "Dead" } dd #queue-dead { (r.queue.dead) }
                dt { "Oldest pending" } dd { (r.queue.oldest_pending_age_s) " s" }
            } }
            section.card { h2 { "Lever API" } dl.facts {
                dt { "Last success" } dd { (when(r.lever_api.last_success_at)) }
                dt { "Errors, last hour" } dd { (r.lever_api.errors_last_hour) }
                dt { "Last error" } dd { (r.lever_api.last_error.as_deref().unwrap_or("—")) }
                dt { "Throttled until" } dd { (when(r.lever_api.throttled_until)) }
            } }
            section.card { h2 { "Supervisor" } dl.facts {
                dt { "Running" } dd { @if r.supervisor.running { "yes" } @else { "no" } }
                dt { "Instance" } dd { (r.supervisor.instance.as_deref().unwrap_or("—")) }
                dt { "Heartbeat" } dd { (when(r.supervisor.heartbeat_at)) }
                dt { "Restarts" } dd { (r.supervisor.restarts) }
            } }
            section.card { h2 { "Sweep" } dl.facts {
                dt { "Last" } dd { (when(r.sweep.last_at)) }
                dt { "Next" } dd { (when(r.sweep.next_at)) }
                dt { "Found last / in all" } dd { (r.sweep.found_last) " / " (r.sweep.found_total) }
            } }
        }
        @if !r.unmapped_postings.is_empty() {
            section.card {
                h2 { "Unmapped postings" }
                ul { @for u in &r.unmapped_postings { li { (u.title.as_deref().unwrap_or("(no title)")) " " small { (u.posting_id) " · " (u.rule) } } } }
                p { a href={ (org.base()) "/roles" } { "Add them to roles →" } }
            }
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "health",
        "Health",
        body,
    )))
}

const W: f64 = 600.0;
const H: f64 = 180.0;
const PAD: f64 = 30.0;

/// Bars: links posted per hour (left axis); line: p95 latency (right axis).
/// Oldest hour on the left.
fn chart(points: &[HourPoint]) -> Markup {
    let mut links = [0i64; 24];
    let mut p95: [Option<f64>; 24] = [None; 24];
    for p in points {
        let i = 23 - (p.hours_ago.clamp(0, 23) as usize);
        links[i] = p.links;
        p95[i] = p.p95_ms;
    }
    let max_links = links.iter().copied().max().unwrap_or(0).max(1) as f64;
    let max_ms = p95.iter().flatten().copied().fold(0.0, f64::max).max(1.0);
    let slot = (W - 2.0 * PAD) / 24.0;
    let plot_h = H - 2.0 * PAD;
    let x = |i: usize| PAD + slot * i as f64;
    let line: Vec<String> = p95
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| {
                format!(
                    "{:.1},{:.1}",
                    x(i) + slot / 2.0,
                    H - PAD - plot_h * v / max_ms
                )
            })
        })
        .collect();
    let total: i64 = links.iter().sum();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-labelledby="chart-desc" {
                title #chart-desc { (total) " links in the last 24 hours; p95 latency up to " (max_ms.round()) " ms" }
                line.axis x1=(PAD) y1=(H - PAD) x2=(W - PAD) y2=(H - PAD) {}
                @for (i, n) in links.iter().enumerate() {
                    @if *n > 0 {
                        @let h = plot_h * (*n as f64) / max_links;
                        rect.bar x=(format!("{:.1}", x(i) + 2.0)) y=(format!("{:.1}", H - PAD - h))
                            width=(format!("{:.1}", slot - 4.0)) height=(format!("{:.1}", h)) {
                            title { (n) " links, " (24 - i) " h ago" }
                        }
                    }
                }
                @if line.len() > 1 {
                    polyline.latency points=(line.join(" ")) {}
                }
                @for (i, v) in p95.iter().enumerate() {
                    @if let Some(v) = v {
                        circle.latency cx=(format!("{:.1}", x(i) + slot / 2.0)) cy=(format!("{:.1}", H - PAD - plot_h * v / max_ms)) r="3" {
                            title { "p95 " (v.round()) " ms" }
                        }
                    }
                }
                text.label x=(PAD) y=(H - 8.0) { "24 h ago" }
                text.label x=(W - PAD) y=(H - 8.0) text-anchor="end" { "now" }
                text.label x=(PAD) y="16" { "links (bars), max " (max_links) }
                text.label x=(W - PAD) y="16" text-anchor="end" { "p95 ms (line), max " (max_ms.round()) }
            }
            figcaption { (total) " links posted in the last 24 hours." }
        }
    }
}
