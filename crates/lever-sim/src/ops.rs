//! The Data API's resource handlers: pure functions of the state and the
//! request, returning a [`Reply`] (and planned webhook deliveries).

use lever_api::wire::{LinksBody, NoteCreate, TagsBody, WebhookCreate, events};
use serde_json::{Value, json};

use super::delivery;
use super::exec::Reply;
use super::state::{
    Account, SimArchived, SimNote, SimOpportunity, SimState, SimWebhook, StageChange, new_id,
    now_ms, random_hex,
};
use super::{feedback, files, render};

const OPPORTUNITIES_WRITE: &str = "opportunities:write:admin";
const ARCHIVE_REASONS_READ: &str = "archive_reasons:read:admin";
const POSTINGS_READ: &str = "postings:read:admin";
const POSTINGS_WRITE: &str = "postings:write:admin";

/// Events the simulator lets you subscribe to through the API (Lever's list
/// also has the interview and contact events, which nothing here sends).
const API_EVENTS: [&str; 5] = [
    events::APPLICATION_CREATED,
    events::CANDIDATE_ARCHIVE_CHANGE,
    events::CANDIDATE_HIRED,
    events::CANDIDATE_STAGE_CHANGE,
    events::CANDIDATE_DELETED,
];

/// Of those, the events that take `configuration.conditions`.
const CONDITIONED_EVENTS: [&str; 4] = [
    events::APPLICATION_CREATED,
    events::CANDIDATE_ARCHIVE_CHANGE,
    events::CANDIDATE_HIRED,
    events::CANDIDATE_STAGE_CHANGE,
];

/// Decoded query string (parameters may repeat, e.g. `expand`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str) -> Self {
        Self(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && v == value)
    }

    /// Every value of a repeatable parameter (`tag=a&tag=b`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub(crate) struct ApiCall {
    pub account_id: String,
    /// The token's scopes, space-separated.
    pub scope: String,
    pub method: String,
    pub path: Vec<String>,
    pub query: Query,
    /// The request's `Content-Type` header, if any.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub perform_as: Option<String>,
    pub double_data: bool,
    /// The simulator's `/v1` base URL (for `downloadUrl`s).
    pub api_url: String,
}

impl ApiCall {
    /// Whether the token was granted any of `scopes`.
    pub fn has_scope(&self, scopes: &[&str]) -> bool {
        self.scope
            .split_whitespace()
            .any(|granted| scopes.contains(&granted))
    }

    /// The 403 of a call `has_scope` refuses, naming the scope asked for.
    pub fn lacks_scope(scope: &str) -> Reply {
        Reply::error(
            403,
            "ForbiddenError",
            format!("This token lacks the {scope} scope"),
        )
    }

    /// The `perform_as` user a write must name (`route` has already checked
    /// that a given one is a user of the account); 400 without one.
    pub fn required_user(&self, what: &str) -> Result<&str, Reply> {
        self.perform_as.as_deref().ok_or_else(|| {
            Reply::bad_request(format!(
                "perform_as is required: the id of the Lever user {what}"
            ))
        })
    }
}

pub(crate) fn route(state: &mut SimState, call: &ApiCall) -> Reply {
    let Some(account) = state.accounts.get_mut(&call.account_id) else {
        return Reply::error(401, "UnauthorizedError", "A valid API key was not provided");
    };
    if let Some(user) = &call.perform_as
        && !account.users.iter().any(|u| &u.id == user)
    {
        return Reply::bad_request(format!("perform_as user {user} was not found"));
    }
    let p: Vec<&str> = call.path.iter().map(String::as_str).collect();
    let confidential_access = call.has_scope(&["confidential:access:admin"]);
    // A confidential opportunity, named in the path, without access: the
    // access error Lever documents (its status is UNCONFIRMED; 403 here).
    if let ["opportunities", id, ..] = p.as_slice()
        && !confidential_access
        && account
            .opportunities
            .get(*id)
            .is_some_and(|o| o.confidential)
    {
        return Reply::error(
            403,
            "ForbiddenError",
            "This token has no access to confidential data",
        );
    }
    match (call.method.as_str(), p.as_slice()) {
        ("GET", ["stages"]) => paginate(
            account.stages.iter().map(render::stage).collect(),
            &call.query,
        ),
        ("GET", ["stages", id]) => find(
            account
                .stages
                .iter()
                .find(|s| s.id == *id)
                .map(render::stage),
            "stages",
            id,
        ),
        ("GET", ["postings", ..]) if !call.has_scope(&[POSTINGS_READ, POSTINGS_WRITE]) => {
            ApiCall::lacks_scope(POSTINGS_READ)
        }
        ("GET", ["postings"]) => paginate(
            account.postings.iter().map(render::posting).collect(),
            &call.query,
        ),
        ("GET", ["postings", id]) => find(
            account
                .postings
                .iter()
                .find(|s| s.id == *id)
                .map(render::posting),
            "postings",
            id,
        ),
        ("GET", ["users"]) => list_users(account, &call.query),
        ("GET", ["users", id]) => find(
            account.users.iter().find(|u| u.id == *id).map(render::user),
            "users",
            id,
        ),
        ("GET", ["opportunities"]) => list_opportunities(account, &call.query, confidential_access),
        ("GET", ["opportunities", "deleted"]) => list_deleted(account, &call.query),
        ("GET", ["opportunities", id]) => {
            let expand = call.query.has("expand", "applications");
            let found = account
                .opportunities
                .get(*id)
                .map(|o| render::opportunity(account, o, expand));
            find(found, "opportunities", id)
        }
        ("PUT", ["opportunities", _, "stage"]) if !call.has_scope(&[OPPORTUNITIES_WRITE]) => {
            ApiCall::lacks_scope(OPPORTUNITIES_WRITE)
        }
        ("PUT", ["opportunities", id, "stage"]) => put_stage(state, call, id),
        ("PUT", ["opportunities", id, "archived"]) => put_archived(state, call, id),
        // "View all archived reasons" needs its own scope, as do postings
        // and the stage move (above), and feedback templates, feedback and
        // files (in their handlers); the other core calls are not checked
        // by scope (the core seven are always asked for).
        ("GET", ["archive_reasons", ..]) if !call.has_scope(&[ARCHIVE_REASONS_READ]) => {
            ApiCall::lacks_scope(ARCHIVE_REASONS_READ)
        }
        ("GET", ["archive_reasons"]) => {
            let wanted = call.query.get("type");
            paginate(
                account
                    .archive_reasons
                    .iter()
                    .filter(|r| wanted.is_none_or(|t| r.kind == t))
                    .map(render::archive_reason)
                    .collect(),
                &call.query,
            )
        }
        ("GET", ["archive_reasons", id]) => find(
            account
                .archive_reasons
                .iter()
                .find(|r| r.id == *id)
                .map(render::archive_reason),
            "archive_reasons",
            id,
        ),
        (
            "POST",
            [
                "opportunities",
                id,
                action @ ("addTags" | "removeTags" | "addLinks" | "removeLinks"),
            ],
        ) => change_tags_or_links(account, id, action, &call.body),
        ("POST", ["opportunities", id, "notes"]) => create_note(account, id, call),
        ("GET", ["opportunities", id, "notes"]) => match account.notes.get(*id) {
            Some(notes) => paginate(notes.iter().map(render::note).collect(), &call.query),
            None if account.opportunities.contains_key(*id) => paginate(Vec::new(), &call.query),
            None => Reply::not_found("opportunities", id),
        },
        ("GET", ["feedback_templates"]) => feedback::list_templates(account, call),
        ("GET", ["feedback_templates", id]) => feedback::get_template(account, call, id),
        ("POST", ["feedback_templates"]) => feedback::create_template(account, call),
        ("POST", ["opportunities", id, "feedback"]) => feedback::create_form(account, call, id),
        ("GET", ["opportunities", id, "feedback"]) => feedback::list_forms(account, call, id),
        ("POST", ["opportunities", id, "files"]) => files::upload(account, call, id),
        ("GET", ["opportunities", id, "files"]) => files::list(account, call, id),
        ("GET", ["opportunities", id, "files", file]) => files::get(account, call, id, file),
        ("GET", ["opportunities", id, "files", file, "download"]) => {
            files::download(account, call, id, file)
        }
        ("DELETE", ["opportunities", id, "files", file]) => files::delete(account, call, id, file),
        ("GET", ["webhooks"]) => paginate(
            account
                .webhooks
                .iter()
                .map(|w| render::webhook(w, false))
                .collect(),
            &call.query,
        ),
        ("POST", ["webhooks"]) => create_webhook(account, call),
        ("DELETE", ["webhooks", id]) => delete_webhook(account, id),
        _ => Reply::error(
            404,
            "ResourceNotFound",
            format!("{} /v1/{} was not found", call.method, call.path.join("/")),
        ),
    }
}

pub(crate) fn find(found: Option<Value>, kind: &str, id: &str) -> Reply {
    found.map_or_else(|| Reply::not_found(kind, id), Reply::data)
}

/// Lever's list envelope with `limit` (1-100) and the opaque `offset`.
pub(crate) fn paginate(items: Vec<Value>, query: &Query) -> Reply {
    let limit = match query.get("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Reply::bad_request("limit must be between 1 and 100"),
    };
    // Offsets look like Lever's ("0.<number>.<uuid>"); the number is ours.
    let start = match query.get("offset") {
        None => 0,
        Some(offset) => match offset
            .split('.')
            .nth(1)
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n.min(items.len()),
            None => return Reply::bad_request("invalid offset"),
        },
    };
    let end = (start + limit).min(items.len());
    let has_next = end < items.len();
    let page: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut body = json!({ "data": page, "hasNext": has_next });
    if has_next && let Some(obj) = body.as_object_mut() {
        obj.insert("next".to_owned(), format!("0.{end}.{}", new_id()).into());
    }
    Reply::json(200, body)
}

fn list_users(account: &Account, query: &Query) -> Reply {
    let email = query.get("email");
    let users = account
        .users
        .iter()
        .filter(|u| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
        .map(render::user)
        .collect();
    paginate(users, query)
}

/// `GET /opportunities` with Lever's filters (docs/contract/lever-facts.md): `tag`,
/// `stage_id`, `posting_id`, `contact_id` and `email` (each repeatable: a
/// union), and the time ranges `created_at_*`, `updated_at_*` and
/// `advanced_at_*` (`_start`/`_end`, epoch ms, inclusive), paged as every list.
fn list_opportunities(account: &Account, query: &Query, access: bool) -> Reply {
    let filter = match OpportunityFilter::parse(query) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    // `non-confidential` by default; asking for more needs the access.
    let shown = query.get("confidentiality").unwrap_or("non-confidential");
    let (public, hidden) = match shown {
        "non-confidential" => (true, false),
        "confidential" => (false, true),
        "all" => (true, true),
        _ => {
            return Reply::bad_request(
                "confidentiality must be confidential, non-confidential or all",
            );
        }
    };
    if hidden && !access {
        return Reply::error(
            403,
            "ForbiddenError",
            "This token has no access to confidential data",
        );
    }
    let expand = query.has("expand", "applications");
    let items = account
        .opportunity_order
        .iter()
        .filter_map(|id| account.opportunities.get(id))
        .filter(|o| filter.matches(o))
        .filter(|o| if o.confidential { hidden } else { public })
        .map(|o| render::opportunity(account, o, expand))
        .collect();
    paginate(items, query)
}

/// The parsed filters of an opportunities list.
struct OpportunityFilter<'q> {
    tags: Vec<&'q str>,
    stages: Vec<&'q str>,
    postings: Vec<&'q str>,
    contacts: Vec<&'q str>,
    emails: Vec<&'q str>,
    /// `archived=true` only archived, `false` only active, unset both.
    archived: Option<bool>,
    /// (field, start, end) in epoch ms.
    ranges: Vec<(TimeField, Option<i64>, Option<i64>)>,
}

#[derive(Clone, Copy)]
enum TimeField {
    Created,
    Updated,
    Advanced,
    /// Only archived opportunities have one: an active one never matches.
    Archived,
}

impl TimeField {
    fn of(self, o: &SimOpportunity) -> Option<i64> {
        match self {
            Self::Created => Some(o.created_at),
            Self::Updated => Some(o.updated_at),
            Self::Advanced => Some(
                o.stage_changes
                    .last()
                    .map_or(o.created_at, |c| c.updated_at),
            ),
            Self::Archived => o.archived.as_ref().map(|a| a.archived_at),
        }
    }
}

impl<'q> OpportunityFilter<'q> {
    fn parse(query: &'q Query) -> Result<Self, Reply> {
        let mut ranges = Vec::new();
        for (field, name) in [
            (TimeField::Created, "created_at"),
            (TimeField::Updated, "updated_at"),
            (TimeField::Advanced, "advanced_at"),
            (TimeField::Archived, "archived_at"),
        ] {
            let start = epoch_ms(query, &format!("{name}_start"))?;
            let end = epoch_ms(query, &format!("{name}_end"))?;
            if start.is_some() || end.is_some() {
                ranges.push((field, start, end));
            }
        }
        Ok(Self {
            tags: query.all("tag"),
            stages: query.all("stage_id"),
            postings: query.all("posting_id"),
            contacts: query.all("contact_id"),
            emails: query.all("email"),
            archived: match query.get("archived") {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => return Err(Reply::bad_request("archived must be true or false")),
            },
            ranges,
        })
    }

    fn matches(&self, o: &SimOpportunity) -> bool {
        let any = |wanted: &[&str], has: &dyn Fn(&str) -> bool| {
            wanted.is_empty() || wanted.iter().any(|w| has(w))
        };
        any(&self.tags, &|t| o.tags.iter().any(|x| x == t))
            && any(&self.stages, &|s| o.stage == s)
            && any(&self.contacts, &|c| o.contact == c)
            && any(&self.emails, &|e| {
                o.emails.iter().any(|x| x.eq_ignore_ascii_case(e))
            })
            && any(&self.postings, &|p| {
                o.applications
                    .iter()
                    .any(|a| a.posting.as_deref() == Some(p))
            })
            && self.archived.is_none_or(|a| a == o.archived.is_some())
            && self.ranges.iter().all(|(field, start, end)| {
                field
                    .of(o)
                    .is_some_and(|t| start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e))
            })
    }
}

pub(crate) fn epoch_ms(query: &Query, key: &str) -> Result<Option<i64>, Reply> {
    query
        .get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Reply::bad_request(format!("{key} must be a timestamp in milliseconds"))
            })
        })
        .transpose()
}

fn put_stage(state: &mut SimState, call: &ApiCall, id: &str) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&call.body) else {
        return Reply::bad_request("body must be JSON");
    };
    let Some(stage) = body.get("stage").and_then(Value::as_str) else {
        return Reply::bad_request("stage is required");
    };
    let planned = move_opportunity(
        state,
        &call.account_id,
        id,
        stage,
        call.perform_as.as_deref(),
    );
    changed(state, call, id, planned)
}

/// The answer to a write that changed opportunity `id`: the opportunity as
/// it is now, with the deliveries the change planned (sent once answered).
fn changed(
    state: &SimState,
    call: &ApiCall,
    id: &str,
    planned: Result<Vec<delivery::PendingDelivery>, Reply>,
) -> Reply {
    match planned {
        Ok(deliveries) => {
            let mut reply = state
                .accounts
                .get(&call.account_id)
                .and_then(|a| {
                    a.opportunities
                        .get(id)
                        .map(|o| render::opportunity(a, o, false))
                })
                .map_or_else(|| Reply::not_found("opportunities", id), Reply::data);
            reply.deliveries = deliveries;
            reply
        }
        Err(reply) => reply,
    }
}

/// `PUT /opportunities/:id/archived`: `{"reason": id}` archives (or changes
/// the reason), `{"reason": null}` unarchives; `cleanInterviews` and
/// `requisitionId` are accepted and have nothing to act on here.
fn put_archived(state: &mut SimState, call: &ApiCall, id: &str) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&call.body) else {
        return Reply::bad_request("body must be JSON");
    };
    let reason = match body.get("reason") {
        Some(Value::String(r)) => Some(r.as_str()),
        Some(Value::Null) => None,
        _ => return Reply::bad_request("reason is required (an archive reason id, or null)"),
    };
    let planned = archive_opportunity(state, &call.account_id, id, reason);
    changed(state, call, id, planned)
}

/// Archives (`Some(reason)`) or unarchives (`None`) one opportunity and
/// plans `candidateArchiveChange`, plus `candidateHired` when the reason is
/// of the hired type. Shared by the API and the control API.
pub(crate) fn archive_opportunity(
    state: &mut SimState,
    account_id: &str,
    opp_id: &str,
    reason: Option<&str>,
) -> Result<Vec<delivery::PendingDelivery>, Reply> {
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or_else(|| Reply::not_found("accounts", account_id))?;
    let hired = match reason {
        None => false,
        Some(r) => match account.archive_reasons.iter().find(|a| a.id == r) {
            Some(found) => found.is_hired(),
            None => {
                return Err(Reply::bad_request(format!(
                    "archive reason {r} was not found"
                )));
            }
        },
    };
    let opp = account
        .opportunities
        .get_mut(opp_id)
        .ok_or_else(|| Reply::not_found("opportunities", opp_id))?;
    let now = now_ms().max(opp.updated_at + 1);
    let from = opp.archived.clone();
    opp.archived = reason.map(|r| SimArchived {
        archived_at: now,
        reason: r.to_owned(),
    });
    opp.updated_at = now;
    let to = opp.archived.clone();
    let contact = opp.contact.clone();
    let mut planned = delivery::plan_archive_change(
        state,
        account_id,
        opp_id,
        &contact,
        from.as_ref(),
        to.as_ref(),
    );
    if hired {
        planned.extend(delivery::plan_candidate_event(
            state,
            account_id,
            events::CANDIDATE_HIRED,
            opp_id,
            &contact,
        ));
    }
    Ok(planned)
}

/// `GET /opportunities/deleted`: `{id, deletedAt}` of each deleted
/// opportunity, filtered by `deleted_at_start` / `deleted_at_end` (epoch
/// ms, inclusive), paged as every list.
fn list_deleted(account: &Account, query: &Query) -> Reply {
    let (start, end) = match (
        epoch_ms(query, "deleted_at_start"),
        epoch_ms(query, "deleted_at_end"),
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let items = account
        .deleted
        .iter()
        .filter(|(_, at)| start.is_none_or(|s| *at >= s) && end.is_none_or(|e| *at <= e))
        .map(|(id, at)| json!({"id": id, "deletedAt": at, "deletedBy": null}))
        .collect();
    paginate(items, query)
}

/// Deletes one opportunity (its notes, feedback and files too) and plans
/// `candidateDeleted`.
pub(crate) fn delete_opportunity(
    state: &mut SimState,
    account_id: &str,
    opp_id: &str,
) -> Result<Vec<delivery::PendingDelivery>, Reply> {
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or_else(|| Reply::not_found("accounts", account_id))?;
    let opp = account
        .opportunities
        .remove(opp_id)
        .ok_or_else(|| Reply::not_found("opportunities", opp_id))?;
    account.opportunity_order.retain(|o| o != opp_id);
    account.notes.remove(opp_id);
    account.feedback.remove(opp_id);
    account.files.remove(opp_id);
    account
        .deleted
        .push((opp_id.to_owned(), now_ms().max(opp.updated_at + 1)));
    Ok(delivery::plan_candidate_event(
        state,
        account_id,
        events::CANDIDATE_DELETED,
        opp_id,
        &opp.contact,
    ))
}

/// Moves one opportunity and plans the stage-change deliveries. Shared by
/// `PUT /opportunities/:id/stage` and the control API's moves.
pub(crate) fn move_opportunity(
    state: &mut SimState,
    account_id: &str,
    opp_id: &str,
    stage: &str,
    user: Option<&str>,
) -> Result<Vec<delivery::PendingDelivery>, Reply> {
    let (contact, from) = apply_move(state, account_id, opp_id, stage, user)?;
    Ok(delivery::plan_stage_change(
        state, account_id, opp_id, &contact, &from, stage,
    ))
}

/// Moves one opportunity (a new `stageChanges` entry) without planning any
/// delivery; returns its contact and the stage it left.
pub(crate) fn apply_move(
    state: &mut SimState,
    account_id: &str,
    opp_id: &str,
    stage: &str,
    user: Option<&str>,
) -> Result<(String, String), Reply> {
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or_else(|| Reply::not_found("accounts", account_id))?;
    if !account.stages.iter().any(|s| s.id == stage) {
        return Err(Reply::bad_request(format!("stage {stage} was not found")));
    }
    let opp = account
        .opportunities
        .get_mut(opp_id)
        .ok_or_else(|| Reply::not_found("opportunities", opp_id))?;
    let from = std::mem::replace(&mut opp.stage, stage.to_owned());
    // Strictly later than the previous entry, so two moves within one
    // millisecond still order (a test moving out and back in at once).
    let now = opp
        .stage_changes
        .last()
        .map_or(now_ms(), |c| now_ms().max(c.updated_at + 1));
    opp.updated_at = now;
    opp.stage_changes.push(StageChange {
        to_stage_id: stage.to_owned(),
        user_id: user.map(str::to_owned),
        updated_at: now,
    });
    Ok((opp.contact.clone(), from))
}

fn change_tags_or_links(account: &mut Account, id: &str, action: &str, body: &[u8]) -> Reply {
    let Some(opp) = account.opportunities.get_mut(id) else {
        return Reply::not_found("opportunities", id);
    };
    let now = now_ms();
    match action {
        "addTags" | "removeTags" => {
            let Ok(TagsBody { tags }) = serde_json::from_slice(body) else {
                return Reply::bad_request("body must be {\"tags\": [string]}");
            };
            if action == "addTags" {
                for tag in tags {
                    if !opp.tags.contains(&tag) {
                        opp.tags.push(tag);
                    }
                }
            } else {
                opp.tags.retain(|t| !tags.contains(t));
            }
        }
        _ => {
            let Ok(LinksBody { links }) = serde_json::from_slice(body) else {
                return Reply::bad_request("body must be {\"links\": [string]}");
            };
            // Links live on the contact, as a list: a duplicate add shows.
            let stored = account
                .contact_links
                .entry(opp.contact.clone())
                .or_default();
            if action == "addLinks" {
                stored.extend(links);
            } else {
                stored.retain(|l| !links.contains(l));
            }
        }
    }
    opp.updated_at = now;
    let Some(opp) = account.opportunities.get(id) else {
        return Reply::not_found("opportunities", id);
    };
    Reply::data(render::opportunity(account, opp, false))
}

fn create_note(account: &mut Account, id: &str, call: &ApiCall) -> Reply {
    if !account.opportunities.contains_key(id) {
        return Reply::not_found("opportunities", id);
    }
    let note: NoteCreate = match serde_json::from_slice(&call.body) {
        Ok(note) => note,
        Err(e) => return Reply::bad_request(format!("invalid note: {e}")),
    };
    if note.value.trim().is_empty() {
        return Reply::bad_request("value is required");
    }
    let stored = SimNote {
        id: new_id(),
        value: note.value,
        user: call.perform_as.clone(),
        secret: note.secret.unwrap_or(false),
        score: note.score,
        created_at: note.created_at.unwrap_or_else(now_ms),
    };
    let note_id = stored.id.clone();
    account.notes.entry(id.to_owned()).or_default().push(stored);
    Reply::json(201, json!({ "data": { "noteId": note_id } }))
}

fn create_webhook(account: &mut Account, call: &ApiCall) -> Reply {
    if !account.webhooks_api {
        return Reply::error(
            403,
            "ForbiddenError",
            "The webhooks API is not enabled for this account",
        );
    }
    let req: WebhookCreate = match serde_json::from_slice(&call.body) {
        Ok(req) => req,
        Err(e) => return Reply::bad_request(format!("invalid webhook: {e}")),
    };
    if url::Url::parse(&req.url).is_err() {
        return Reply::bad_request("url must be an absolute URL");
    }
    if !API_EVENTS.contains(&req.event.as_str()) {
        return Reply::bad_request(format!("event {} cannot be configured", req.event));
    }
    let conditions = req.configuration.and_then(|c| c.conditions);
    if conditions.is_some() && !CONDITIONED_EVENTS.contains(&req.event.as_str()) {
        return Reply::bad_request(format!(
            "event {} can not currently be configured with conditions",
            req.event
        ));
    }
    let now = now_ms();
    let hook = SimWebhook {
        id: new_id(),
        url: req.url,
        event: req.event,
        signature_token: Some(random_hex(24)),
        conditions,
        via_api: true,
        created_at: now,
        updated_at: now,
    };
    let rendered = render::webhook(&hook, true);
    account.webhooks.push(hook);
    let body = if call.double_data {
        json!({ "data": { "data": rendered } })
    } else {
        json!({ "data": rendered })
    };
    Reply::json(201, body)
}

fn delete_webhook(account: &mut Account, id: &str) -> Reply {
    let Some(pos) = account.webhooks.iter().position(|w| w.id == id) else {
        return Reply::not_found("webhooks", id);
    };
    if account.webhooks.get(pos).is_some_and(|w| !w.via_api) {
        return Reply::error(
            403,
            "ForbiddenError",
            "Only webhooks created via the API can be deleted via the API",
        );
    }
    account.webhooks.remove(pos);
    Reply::no_content()
}
