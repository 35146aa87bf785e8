//! Arkiter roles and the Lever jobs and posting tags mapped to them, and
//! which role a posting resolves to (never calling Lever). The mapping
//! rules: entries are 1-200 characters, at most 500 per list, never twice
//! in one list, nor in two roles that share a trigger stage (titles
//! compared trimmed and case-insensitively, tags exactly); an org has at
//! most one fallback role (see `docs/contract/roles.md`). No index can say
//! "among roles that share a stage", so the checks run under a lock on the
//! org's row.

use crate::db::models::page::Page;
use crate::db::models::role::{self as model, Role, RoleSettings, RoleWithJobs};
use crate::domain::ids::OrgId;
use crate::domain::roles::{PostingFacts, RoleEntry, Rule, entry_key, resolve};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit, changed};
use crate::service::list::{List, ListQuery, org_page};
use crate::service::validate;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const MAX_ENTRIES: usize = 500;
/// A role is used for at most as many stages as a connection has.
const MAX_STAGES: usize = 10;

/// A Lever stage, by id or by name.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageName {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// 1-200 characters.
    pub name: String,
    /// Lever job titles and/or posting ids; at most 500, each 1-200 characters.
    #[serde(default)]
    pub ats_jobs: Vec<String>,
    /// Use this role for postings no other role maps (at most one per org).
    #[serde(default)]
    pub fallback: bool,
    /// Days an unopened link of this role lives (1-365), over the
    /// connection's `lifecycle.link_ttl_days`; absent or null: the
    /// connection's.
    pub link_ttl_days: Option<i64>,
    /// Lever posting tags (exact, case-sensitive); at most 500.
    #[serde(default)]
    pub ats_tags: Vec<String>,
    /// The trigger stage ids this role is used for; empty: every one.
    #[serde(default)]
    pub stages: Vec<String>,
    /// 0-100: a score at least this passes (the passed tag), below it does
    /// not (the not-passed tag).
    pub pass_score: Option<i64>,
    /// Where a passing candidate moves, if still in its trigger stage.
    pub on_pass_stage: Option<StageName>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRole {
    pub name: Option<String>,
    pub ats_jobs: Option<Vec<String>>,
    pub fallback: Option<bool>,
    /// 1-365, or null to use the connection's.
    #[serde(default, deserialize_with = "validate::present")]
    pub link_ttl_days: Option<Option<i64>>,
    pub ats_tags: Option<Vec<String>>,
    pub stages: Option<Vec<String>>,
    /// 0-100, or null for no outcome.
    #[serde(default, deserialize_with = "validate::present")]
    pub pass_score: Option<Option<i64>>,
    /// A stage, or null for no move.
    #[serde(default, deserialize_with = "validate::present")]
    pub on_pass_stage: Option<Option<StageName>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: Uuid,
    pub name: String,
    pub ats_jobs: Vec<String>,
    pub ats_tags: Vec<String>,
    pub stages: Vec<String>,
    pub fallback: bool,
    pub pass_score: Option<i16>,
    pub on_pass_stage: Option<StageName>,
    /// Days an unopened link of this role lives; null: the connection's.
    pub link_ttl_days: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RoleWithJobs> for RoleView {
    fn from(r: RoleWithJobs) -> Self {
        let on_pass_stage = (r.role.on_pass_stage_id.is_some()
            || r.role.on_pass_stage_name.is_some())
        .then(|| StageName {
            id: r.role.on_pass_stage_id.clone(),
            name: r.role.on_pass_stage_name.clone(),
        });
        Self {
            id: r.role.id,
            name: r.role.name,
            ats_jobs: r.ats_jobs,
            ats_tags: r.ats_tags,
            stages: r.role.stages,
            fallback: r.role.fallback,
            pass_score: r.role.pass_score,
            on_pass_stage,
            link_ttl_days: r.role.link_ttl_days,
            created_at: r.role.created_at,
            updated_at: r.role.updated_at,
        }
    }
}

/// `tag` may repeat: the HTTP layer collects every one.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveQuery {
    pub posting_id: Option<String>,
    pub title: Option<String>,
    /// The posting's Lever tags.
    #[serde(default)]
    pub tag: Vec<String>,
    /// The trigger stage the candidate entered.
    pub stage_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveView {
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
    pub rule: Rule,
}

/// Trims and checks one list of `field`: 1-200 characters each, at most
/// 500, none twice (by `key`).
fn clean_list(
    field: &str,
    entries: &[String],
    key: fn(&str) -> String,
) -> Result<Vec<String>, ServiceError> {
    if entries.len() > MAX_ENTRIES {
        return Err(ServiceError::invalid(
            field,
            format!(
                "`{field}` has {} entries; the most is {MAX_ENTRIES}",
                entries.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let e = validate::bounded_text(&format!("{field}[]"), e, 1, 200)?;
        if !seen.insert(key(&e)) {
            return Err(ServiceError::invalid(
                field,
                format!("`{field}` lists `{e}` twice"),
            ));
        }
        out.push(e);
    }
    Ok(out)
}

fn clean_jobs(entries: &[String]) -> Result<Vec<String>, ServiceError> {
    clean_list("ats_jobs", entries, entry_key)
}

fn clean_tags(tags: &[String]) -> Result<Vec<String>, ServiceError> {
    clean_list("ats_tags", tags, str::to_owned)
}

fn clean_stages(stages: &[String]) -> Result<Vec<String>, ServiceError> {
    if stages.len() > MAX_STAGES {
        return Err(ServiceError::invalid(
            "stages",
            format!("`stages` lists at most {MAX_STAGES} stage ids"),
        ));
    }
    clean_list("stages", stages, str::to_owned)
}

fn clean_pass_score(score: Option<i64>) -> Result<Option<i16>, ServiceError> {
    match score {
        None => Ok(None),
        Some(s) if (0..=100).contains(&s) => Ok(i16::try_from(s).ok()),
        Some(_) => Err(ServiceError::invalid(
            "pass_score",
            "`pass_score` must be from 0 to 100, or null",
        )),
    }
}

/// The next stage as named: an id, or a name (looked up in Lever when a
/// candidate first passes).
fn clean_next_stage(
    stage: Option<&StageName>,
) -> Result<(Option<String>, Option<String>), ServiceError> {
    let Some(stage) = stage else {
        return Ok((None, None));
    };
    let id = stage
        .id
        .as_deref()
        .map(|i| validate::bounded_text("on_pass_stage.id", i, 1, 200))
        .transpose()?;
    let name = stage
        .name
        .as_deref()
        .map(|n| validate::name("on_pass_stage.name", n))
        .transpose()?;
    if id.is_none() && name.is_none() {
        return Err(ServiceError::invalid(
            "on_pass_stage",
            "`on_pass_stage` needs an `id` or a `name`",
        ));
    }
    Ok((id, name))
}

/// A role as it will be stored, for the conflict checks.
struct Proposed<'a> {
    id: Option<Uuid>,
    ats_jobs: &'a [String],
    ats_tags: &'a [String],
    settings: &'a RoleSettings,
}

/// Conflict checks inside the write transaction, under the org's row lock:
/// an entry or tag mapped by another role that shares a trigger stage, or a
/// second fallback role, is a 409 naming the other role.
fn check_conflicts(
    conn: &mut diesel::PgConnection,
    org: Uuid,
    p: &Proposed<'_>,
) -> Result<(), ServiceError> {
    Role::lock_org(conn, org)?;
    crate::db::models::role_overlap::clear_org(conn, org)?;
    let mine = RoleEntry {
        id: p.id.unwrap_or_else(Uuid::nil),
        name: String::new(),
        fallback: p.settings.fallback,
        created_at: Utc::now(),
        ats_jobs: p.ats_jobs.to_vec(),
        ats_tags: p.ats_tags.to_vec(),
        stages: p.settings.stages.clone(),
    };
    let keys: std::collections::HashSet<String> = p.ats_jobs.iter().map(|e| entry_key(e)).collect();
    for other in Role::all_with_jobs(conn, org)?
        .into_iter()
        .map(RoleEntry::from)
        .filter(|o| Some(o.id) != p.id)
    {
        if let Some(entry) = other.ats_jobs.iter().find(|e| keys.contains(&entry_key(e)))
            && mine.shares_stage_with(&other)
        {
            return Err(ServiceError::conflict(format!(
                "`{entry}` is already mapped to role `{}`; remove it there first",
                other.name
            ))
            .on_field("ats_jobs"));
        }
        if let Some(tag) = other.ats_tags.iter().find(|t| p.ats_tags.contains(t))
            && mine.shares_stage_with(&other)
        {
            return Err(ServiceError::conflict(format!(
                "the tag `{tag}` is already mapped to role `{}`; remove it there first",
                other.name
            ))
            .on_field("ats_tags"));
        }
        if p.settings.fallback && other.fallback {
            return Err(ServiceError::conflict(format!(
                "role `{}` is already the fallback role; an org has at most one",
                other.name
            ))
            .on_field("fallback"));
        }
    }
    Ok(())
}

/// Creates a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &CreateRole,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = validate::name("name", &body.name)?;
    let entries = clean_jobs(&body.ats_jobs)?;
    let tags = clean_tags(&body.ats_tags)?;
    let (on_pass_stage_id, on_pass_stage_name) = clean_next_stage(body.on_pass_stage.as_ref())?;
    let settings = RoleSettings {
        fallback: body.fallback,
        link_ttl_days: validate::ttl_days("link_ttl_days", body.link_ttl_days)?,
        pass_score: clean_pass_score(body.pass_score)?,
        on_pass_stage_id,
        on_pass_stage_name,
        stages: clean_stages(&body.stages)?,
    };
    let caller = caller.clone();
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ServiceError> {
            check_conflicts(
                conn,
                org.0,
                &Proposed {
                    id: None,
                    ats_jobs: &entries,
                    ats_tags: &tags,
                    settings: &settings,
                },
            )?;
            let role = Role::insert(conn, org.0, &name, &settings)?;
            model::replace_jobs(conn, org.0, role.id, &entries)?;
            model::replace_tags(conn, org.0, role.id, &tags)?;
            Audit::new(
                &caller,
                org,
                Action::RoleCreated,
                format!("role \"{name}\""),
            )
            .on(role.id)
            .write(conn)?;
            Ok(RoleWithJobs {
                role,
                ats_jobs: entries,
                ats_tags: tags,
            })
        })
        .await?;
    Ok(RoleView::from(role))
}

/// One page of `org`'s roles.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<RoleView>, ServiceError> {
    let load = move |conn: &mut diesel::PgConnection, page| {
        let page = Role::list(conn, org.0, page)?;
        Ok(Page {
            items: model::with_jobs(conn, page.items)?,
            next: page.next,
        })
    };
    org_page(
        state,
        caller,
        org,
        KeyRole::Member,
        query,
        load,
        RoleView::from,
    )
    .await
}

async fn load_role(state: &AppState, org: OrgId, id: Uuid) -> Result<RoleWithJobs, ServiceError> {
    state
        .db
        .run(move |conn| {
            let role = Role::find(conn, org.0, id)?;
            Ok(model::with_jobs(conn, vec![role])?)
        })
        .await
        .map_err(|e| ServiceError::from(e).naming("role"))?
        .pop()
        .ok_or_else(|| ServiceError::not_found("role"))
}

/// One role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    Ok(load_role(state, org, id).await?.into())
}

/// Changes a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
    body: &PatchRole,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = body
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let entries = body.ats_jobs.as_deref().map(clean_jobs).transpose()?;
    let tags = body.ats_tags.as_deref().map(clean_tags).transpose()?;
    let stages = body.stages.as_deref().map(clean_stages).transpose()?;
    let ttl = body
        .link_ttl_days
        .map(|d| validate::ttl_days("link_ttl_days", d))
        .transpose()?;
    let pass_score = body.pass_score.map(clean_pass_score).transpose()?;
    let next_stage = body
        .on_pass_stage
        .as_ref()
        .map(|s| clean_next_stage(s.as_ref()))
        .transpose()?;
    let fallback = body.fallback;
    let audit = Audit::new(
        caller,
        org,
        Action::RoleUpdated,
        changed(&[
            ("name", name.is_some()),
            ("ats_jobs", entries.is_some()),
            ("ats_tags", tags.is_some()),
            ("stages", stages.is_some()),
            ("fallback", fallback.is_some()),
            ("pass_score", pass_score.is_some()),
            ("on_pass_stage", next_stage.is_some()),
            ("link_ttl_days", ttl.is_some()),
        ]),
    )
    .on(id);
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ServiceError> {
            let now =
                Role::find(conn, org.0, id).map_err(|e| ServiceError::from(e).naming("role"))?;
            let current = model::with_jobs(conn, vec![now.clone()])?
                .pop()
                .ok_or_else(|| ServiceError::not_found("role"))?;
            let mut settings = now.settings();
            settings.fallback = fallback.unwrap_or(settings.fallback);
            if let Some(d) = ttl {
                settings.link_ttl_days = d;
            }
            if let Some(p) = pass_score {
                settings.pass_score = p;
            }
            if let Some((sid, sname)) = next_stage {
                (settings.on_pass_stage_id, settings.on_pass_stage_name) = (sid, sname);
            }
            if let Some(s) = stages {
                settings.stages = s;
            }
            let jobs = entries.unwrap_or(current.ats_jobs);
            let tags = tags.unwrap_or(current.ats_tags);
            check_conflicts(
                conn,
                org.0,
                &Proposed {
                    id: Some(id),
                    ats_jobs: &jobs,
                    ats_tags: &tags,
                    settings: &settings,
                },
            )?;
            let role = Role::update(conn, id, name.as_deref(), &settings)?;
            model::replace_jobs(conn, org.0, id, &jobs)?;
            model::replace_tags(conn, org.0, id, &tags)?;
            audit.write(conn)?;
            Ok(RoleWithJobs {
                role,
                ats_jobs: jobs,
                ats_tags: tags,
            })
        })
        .await?;
    Ok(role.into())
}

/// Deletes a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let audit = Audit::new(caller, org, Action::RoleDeleted, "role deleted").on(id);
    state
        .db
        .transaction(move |conn| {
            crate::db::models::role_overlap::clear_org(conn, org.0)?;
            if Role::delete(conn, org.0, id)? == 0 {
                return Err(ServiceError::not_found("role"));
            }
            Ok(audit.write(conn)?)
        })
        .await
}

/// Which role a posting of `org` would get.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn resolve_posting(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ResolveQuery,
) -> Result<ResolveView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let roles = state
        .db
        .run(move |conn| Ok(Role::all_with_jobs(conn, org.0)?))
        .await?;
    let entries: Vec<RoleEntry> = roles.into_iter().map(RoleEntry::from).collect();
    let r = resolve(
        &entries,
        &PostingFacts {
            posting_id: query.posting_id.as_deref(),
            title: query.title.as_deref(),
            tags: &query.tag,
            stage_id: query.stage_id.as_deref(),
        },
    );
    Ok(ResolveView {
        role_id: r.role.as_ref().map(|(id, _)| *id),
        role_name: r.role.map(|(_, n)| n),
        rule: r.rule,
    })
}
