//! A completion's Lever feedback form (docs/contract/results.md): made from
//! the "Arkiter Live interview" feedback template, which is found in (or
//! made in) the connection's Lever account once and kept, and written at
//! most once per completion. A customer's own template of that name with
//! other fields is left alone: the service then uses (or makes) "Arkiter
//! Live interview (API)".

use serde_json::{Value, json};

use super::context::{AccountCtx, Work};
use super::outcome::StepError;
use super::written::{Written, refused_or};
use crate::db::models::interview::Interview;
use crate::db::models::interview::outcome::{self as outcomes, ResultStep};
use crate::db::models::results_settings as store;
use crate::lever::wire::{
    FeedbackCreate, FeedbackTemplate, FeedbackTemplateCreate, FieldValue, NewTemplateField,
};
use crate::lever::{LeverClient, LeverError};

pub const TEMPLATE_NAME: &str = "Arkiter Live interview";
pub const TEMPLATE_NAME_API: &str = "Arkiter Live interview (API)";

/// The scopes a form needs.
pub const SCOPES: [&str; 2] = ["feedback:write:admin", "feedback_templates:write:admin"];

/// The template's fields, by key: (key, Lever type, text, required). Lever
/// asks for exactly one `score-system` field per template.
const FIELDS: [(&str, &str, &str, bool); 5] = [
    ("rating", "score-system", "Overall rating", false),
    ("score", "text", "Score", false),
    ("recommendation", "text", "Recommendation", false),
    ("summary", "textarea", "Summary", false),
    ("results", "text", "Results link", true),
];

/// The kept template: its id and each field's id by key.
struct Kept {
    id: String,
    fields: serde_json::Map<String, Value>,
}

/// Writes the form unless one of ours is there; `Instead` says why the
/// note stands in for it.
pub async fn write(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    results: &str,
    sent_before: bool,
) -> Result<Written, StepError> {
    if work.conn.perform_as.is_none() {
        return Ok(Written::Instead(
            "Lever requires perform_as for feedback forms: set a Lever user on Lever · Live".into(),
        ));
    }
    if let Some(missing) = super::written::missing_scope(work, &SCOPES) {
        return Ok(Written::Instead(format!(
            "the grant lacks {missing}: connect again to grant it"
        )));
    }
    let c = &work.client;
    let kept = match template(ctx, work).await {
        Ok(k) => k,
        Err(StepError::Lever(e)) => return refused_or(ctx, work, "feedback form", e).await,
        Err(e) => return Err(e),
    };
    // Sent by an earlier attempt and not recorded: it may be there.
    if sent_before && let Some(id) = find(c, &iv.opportunity_id, &kept.id, results).await? {
        return Ok(Written::Done(id));
    }
    let id = iv.id;
    ctx.write(move |d| outcomes::record_result(d, id, ResultStep::FeedbackSending))
        .await?;
    let form = FeedbackCreate {
        base_template_id: kept.id.clone(),
        field_values: values(&kept, iv, results),
        completed_at: iv.completed_at.map(|t| t.timestamp_millis()),
    };
    ctx.may_write()?;
    match c.create_feedback(&iv.opportunity_id, &form).await {
        Ok(id) => Ok(Written::Done(id)),
        Err(e) if e.is_outcome_unknown() => {
            if e.is_cut_write() {
                actix_rt::time::sleep(ctx.late_landing).await;
            }
            if let Some(id) = find(c, &iv.opportunity_id, &kept.id, results).await? {
                return Ok(Written::Done(id));
            }
            ctx.may_write()?;
            Ok(Written::Done(
                c.create_feedback(&iv.opportunity_id, &form).await?,
            ))
        }
        Err(e) => refused_or(ctx, work, "feedback form", e).await,
    }
}

/// Our form on the opportunity, recognised by its template and the
/// results link it holds.
async fn find(
    c: &LeverClient,
    opp: &str,
    template: &str,
    results: &str,
) -> Result<Option<String>, StepError> {
    Ok(c.list_feedback(opp)
        .await?
        .into_iter()
        .find(|f| f.base_template_id.as_deref() == Some(template) && f.holds(results))
        .map(|f| f.id))
}

/// The form's answers from the interview's result.
fn values(kept: &Kept, iv: &Interview, results: &str) -> Vec<FieldValue> {
    let r = iv.result.clone().unwrap_or_default();
    let score = r.get("score").and_then(Value::as_f64);
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    let answers = [
        ("rating", score.map(rating).map(Value::from)),
        ("score", score.map(|s| Value::from(format!("{s}/100")))),
        ("recommendation", text("recommendation").map(Value::from)),
        ("summary", text("summary").map(Value::from)),
        ("results", Some(Value::from(results))),
    ];
    answers
        .into_iter()
        .filter_map(|(key, value)| {
            let id = kept.fields.get(key)?.as_str()?.to_owned();
            Some(FieldValue { id, value: value? })
        })
        .collect()
}

/// Lever's four default ratings of a `score-system` field, from the score.
fn rating(score: f64) -> &'static str {
    match score {
        s if s >= 85.0 => "4 - Strong Hire",
        s if s >= 70.0 => "3 - Hire",
        s if s >= 50.0 => "2 - No Hire",
        _ => "1 - Strong No Hire",
    }
}

/// Whether a template holds exactly our fields (types and texts, in order).
fn ours(t: &FeedbackTemplate) -> bool {
    t.fields.len() == FIELDS.len()
        && t.fields.iter().zip(FIELDS).all(|(f, (_, kind, text, _))| {
            f.kind.as_deref() == Some(kind) && f.text.as_deref() == Some(text)
        })
}

fn keep(t: &FeedbackTemplate) -> Kept {
    let fields = t
        .fields
        .iter()
        .zip(FIELDS)
        .filter_map(|(f, (key, ..))| Some((key.to_owned(), Value::from(f.id.clone()?))))
        .collect();
    Kept {
        id: t.id.clone(),
        fields,
    }
}

/// The connection's template: kept for its Lever account, else found by
/// name and field set, else made (once; then kept).
async fn template(ctx: &AccountCtx, work: &Work) -> Result<Kept, StepError> {
    if let Some(kept) = stored_template(ctx, work).await? {
        return Ok(kept);
    }
    // Completions worked side by side all miss at once: one finds or makes
    // the template, the others then find it kept.
    let _setup = ctx.template_setup.lock().await;
    if let Some(kept) = stored_template(ctx, work).await? {
        return Ok(kept);
    }
    let conn_id = work.conn.id;
    let all = work.client.list_feedback_templates().await?;
    let taken = all
        .iter()
        .any(|t| t.text.as_deref() == Some(TEMPLATE_NAME) && !ours(t));
    let name = if taken {
        TEMPLATE_NAME_API
    } else {
        TEMPLATE_NAME
    };
    let found = match all
        .iter()
        .find(|t| t.text.as_deref() == Some(name) && ours(t))
    {
        Some(t) => t.clone(),
        None => create(&work.client, name).await?,
    };
    let kept = keep(&found);
    let value =
        json!({"account": work.conn.lever_account_id, "id": kept.id, "fields": kept.fields});
    ctx.write(move |c| store::keep_feedback_template(c, conn_id, &value))
        .await?;
    Ok(kept)
}

/// The template kept for the connection's current Lever account, if any.
async fn stored_template(ctx: &AccountCtx, work: &Work) -> Result<Option<Kept>, StepError> {
    let account = work.conn.lever_account_id.clone();
    let conn_id = work.conn.id;
    let stored = ctx
        .db
        .run(move |c| Ok(store::feedback_template(c, conn_id)?))
        .await?;
    Ok(stored
        .filter(|v| v["account"].as_str() == account.as_deref())
        .and_then(|v| {
            Some(Kept {
                id: v["id"].as_str()?.to_owned(),
                fields: v["fields"].as_object()?.clone(),
            })
        }))
}

/// Makes the template. A cut answer is not resent here: the next attempt
/// lists the templates first and finds it if it landed.
async fn create(c: &LeverClient, name: &str) -> Result<FeedbackTemplate, LeverError> {
    let body = FeedbackTemplateCreate {
        text: name.to_owned(),
        instructions: "Written by Arkiter Live when an interview completes.".to_owned(),
        fields: FIELDS
            .iter()
            .map(|(_, kind, text, required)| NewTemplateField {
                kind: (*kind).to_owned(),
                text: (*text).to_owned(),
                description: String::new(),
                required: *required,
            })
            .collect(),
    };
    c.create_feedback_template(&body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_follow_the_score() {
        assert_eq!(rating(90.0), "4 - Strong Hire");
        assert_eq!(rating(70.0), "3 - Hire");
        assert_eq!(rating(69.9), "2 - No Hire");
        assert_eq!(rating(10.0), "1 - Strong No Hire");
    }
}
