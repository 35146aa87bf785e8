//! How the simulator renders its records as Lever JSON. Every key used here
//! appears in the golden fixtures (tests/fixtures/lever), which the tests
//! check, so the simulator cannot invent a shape Lever does not use; the
//! feedback template, feedback form and file shapes (no fixture yet) use
//! only keys of Lever's API reference for those objects.

use serde_json::{Value, json};

use super::state::{
    Account, SimArchiveReason, SimFeedbackField, SimFeedbackForm, SimFeedbackTemplate, SimFile,
    SimNote, SimOpportunity, SimPosting, SimStage, SimUser, SimWebhook,
};

pub(crate) fn stage(s: &SimStage) -> Value {
    json!({ "id": s.id, "text": s.text })
}

pub(crate) fn posting(p: &SimPosting) -> Value {
    json!({
        "id": p.id,
        "text": p.text,
        "state": p.state,
        "createdAt": p.created_at,
        "updatedAt": p.created_at,
        "confidentiality": "non-confidential",
        "categories": {
            "team": p.team,
            "department": null,
            "location": null,
            "commitment": null,
            "level": null,
            "allLocations": [],
        },
        "tags": p.tags,
        "urls": {
            "list": "https://jobs.lever.co/sim",
            "show": format!("https://jobs.lever.co/sim/{}", p.id),
            "apply": format!("https://jobs.lever.co/sim/{}/apply", p.id),
        },
    })
}

pub(crate) fn user(u: &SimUser) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "accessRole": u.access_role,
        "createdAt": 0,
        "deactivatedAt": null,
    })
}

/// `GET /opportunities/:id`; `expand_applications` inlines the applications.
pub(crate) fn opportunity(
    account: &Account,
    o: &SimOpportunity,
    expand_applications: bool,
) -> Value {
    let links = account
        .contact_links
        .get(&o.contact)
        .cloned()
        .unwrap_or_default();
    let applications: Vec<Value> = o
        .applications
        .iter()
        .map(|a| {
            if expand_applications {
                json!({
                    "id": a.id,
                    "opportunityId": o.id,
                    "candidateId": o.id,
                    "createdAt": a.created_at,
                    "type": a.kind,
                    "posting": a.posting,
                })
            } else {
                Value::String(a.id.clone())
            }
        })
        .collect();
    let stage_changes: Vec<Value> = o
        .stage_changes
        .iter()
        .map(|c| {
            let index = account.stages.iter().position(|s| s.id == c.to_stage_id);
            json!({
                "toStageId": c.to_stage_id,
                "toStageIndex": index,
                "userId": c.user_id,
                "updatedAt": c.updated_at,
            })
        })
        .collect();
    let last_advanced = o
        .stage_changes
        .last()
        .map_or(o.created_at, |c| c.updated_at);
    let archived = o.archived.as_ref().map(|a| {
        json!({
            "archivedAt": a.archived_at,
            "reason": a.reason,
        })
    });
    json!({
        "id": o.id,
        "name": o.name,
        "contact": o.contact,
        "emails": o.emails,
        "links": links,
        "stage": o.stage,
        "stageChanges": stage_changes,
        "tags": o.tags,
        "sources": [],
        "origin": "applied",
        "applications": applications,
        "archived": archived,
        "createdAt": o.created_at,
        "updatedAt": o.updated_at,
        "lastAdvancedAt": last_advanced,
        "urls": {
            "list": "https://hire.lever.co/candidates",
            "show": format!("https://hire.lever.co/candidates/{}", o.id),
        },
        "confidentiality": if o.confidential { "confidential" } else { "non-confidential" },
    })
}

/// `GET /archive_reasons` items.
pub(crate) fn archive_reason(r: &SimArchiveReason) -> Value {
    json!({
        "id": r.id,
        "text": r.text,
        "status": r.status,
        "type": r.kind,
    })
}

pub(crate) fn note(n: &SimNote) -> Value {
    json!({
        "id": n.id,
        "text": "Note",
        "fields": [ { "type": "note", "text": "Comment", "value": n.value } ],
        "user": n.user,
        "secret": n.secret,
        "createdAt": n.created_at,
        "completedAt": n.created_at,
        "deletedAt": null,
    })
}

/// A webhook as listed; the signature token is shown only on create.
pub(crate) fn webhook(w: &SimWebhook, with_token: bool) -> Value {
    let mut configuration = serde_json::Map::new();
    if with_token && let Some(token) = &w.signature_token {
        configuration.insert("signatureToken".to_owned(), token.clone().into());
    }
    if let Some(conditions) = &w.conditions {
        configuration.insert("conditions".to_owned(), conditions.clone());
    }
    json!({
        "id": w.id,
        "event": w.event,
        "url": w.url,
        "configuration": configuration,
        "createdAt": w.created_at,
        "updatedAt": w.updated_at,
    })
}

/// `GET /feedback_templates` items (`group` as Lever's `{id, name}`; the
/// simulator has no groups, so the name is the id; `stage` always null).
pub(crate) fn feedback_template(t: &SimFeedbackTemplate) -> Value {
    json!({
        "id": t.id,
        "text": t.text,
        "instructions": t.instructions,
        "group": t.group.as_ref().map(|g| json!({ "id": g, "name": g })),
        "stage": null,
        "fields": t.fields.iter().map(feedback_field).collect::<Vec<_>>(),
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
    })
}

/// A template's field; `prompt` and `options` only when it has them.
fn feedback_field(f: &SimFeedbackField) -> Value {
    let mut field = json!({
        "id": f.id,
        "type": f.kind,
        "text": f.text,
        "description": f.description,
        "required": f.required,
    });
    if let Some(obj) = field.as_object_mut() {
        if let Some(prompt) = &f.prompt {
            obj.insert("prompt".to_owned(), prompt.clone().into());
        }
        if let Some(options) = &f.options {
            obj.insert("options".to_owned(), Value::Array(options.clone()));
        }
    }
    field
}

/// `GET /opportunities/:id/feedback` items: each template field with its
/// `value`.
pub(crate) fn feedback_form(f: &SimFeedbackForm) -> Value {
    let fields: Vec<Value> = f
        .fields
        .iter()
        .map(|v| {
            let mut field = feedback_field(&v.field);
            if let Some(obj) = field.as_object_mut() {
                obj.insert("value".to_owned(), v.value.clone());
            }
            field
        })
        .collect();
    json!({
        "id": f.id,
        "type": "interview",
        "text": f.text,
        "instructions": f.instructions,
        "baseTemplateId": f.base_template_id,
        "user": f.user,
        "panel": null,
        "interview": null,
        "fields": fields,
        "createdAt": f.created_at,
        "updatedAt": f.created_at,
        "completedAt": f.completed_at,
        "deletedAt": null,
    })
}

/// `GET /opportunities/:id/files` items (never the bytes), with
/// `uploadedAt` and `size` as strings as in Lever's examples: `api_url` is
/// the simulator's `/v1` base, for `downloadUrl`.
pub(crate) fn file(api_url: &str, opportunity: &str, f: &SimFile) -> Value {
    json!({
        "id": f.id,
        "downloadUrl": format!("{api_url}/opportunities/{opportunity}/files/{}/download", f.id),
        "ext": f.ext,
        "name": f.name,
        "uploadedAt": f.uploaded_at.to_string(),
        "status": "processed",
        "size": f.size.to_string(),
    })
}
