//! Feedback templates (`/feedback_templates`) and the feedback forms written
//! from one on an opportunity (`/opportunities/:id/feedback`), each behind
//! the scope Lever asks for, with the strict readings of
//! docs/contract/lever-facts-results.md: a template has exactly one
//! `score-system` field; a form needs a `perform_as` user, a template of the
//! account, only that template's field ids, a value of the right shape for
//! each field, and every required field.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::exec::Reply;
use super::ops::{ApiCall, find, paginate};
use super::render;
use super::state::{
    Account, FEEDBACK_FIELD_TYPES, SimFeedbackField, SimFeedbackForm, SimFeedbackTemplate,
    SimFeedbackValue, new_id, now_ms,
};

const TEMPLATES_WRITE: &str = "feedback_templates:write:admin";
const TEMPLATES_READ: &str = "feedback_templates:read:admin";
const FEEDBACK_WRITE: &str = "feedback:write:admin";
const FEEDBACK_READ: &str = "feedback:read:admin";

/// The overall rating every form has once: its type, default prompt and
/// Lever's four options.
const SCORE_SYSTEM: &str = "score-system";
const SCORE_PROMPT: &str = "Select one";
const SCORE_OPTIONS: [&str; 4] = [
    "4 - Strong Hire",
    "3 - Hire",
    "2 - No Hire",
    "1 - Strong No Hire",
];

/// A feedback template to create: the body of `POST /feedback_templates`
/// (and of the control API's seed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewFeedbackTemplate {
    pub text: String,
    #[serde(default)]
    pub instructions: Option<String>,
    /// The owning team (group) id.
    #[serde(default)]
    pub group: Option<String>,
    pub fields: Vec<NewFeedbackField>,
}

/// One field of a [`NewFeedbackTemplate`]; `kind` is Lever's `type`, one of
/// [`FEEDBACK_FIELD_TYPES`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewFeedbackField {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// `[{"text": ...}]`, for the choice types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Value>>,
}

impl NewFeedbackField {
    /// A field of `kind` asking `text`, optional, with no options.
    pub fn new(kind: &str, text: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            text: text.to_owned(),
            ..Self::default()
        }
    }

    /// The same field, required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same field, with these option texts.
    pub fn options(mut self, texts: &[&str]) -> Self {
        self.options = Some(texts.iter().map(|t| json!({ "text": t })).collect());
        self
    }
}

/// The "No Feedback" template every account lists (Lever's default).
pub(crate) fn no_feedback_template() -> SimFeedbackTemplate {
    SimFeedbackTemplate {
        id: "feedback-template-no-feedback".to_owned(),
        text: "No Feedback".to_owned(),
        instructions: String::new(),
        group: None,
        fields: vec![SimFeedbackField {
            id: "feedback-field-no-feedback-rating".to_owned(),
            kind: SCORE_SYSTEM.to_owned(),
            text: "Rating".to_owned(),
            description: String::new(),
            required: false,
            prompt: Some(SCORE_PROMPT.to_owned()),
            options: Some(score_options()),
        }],
        via_api: false,
        created_at: 0,
        updated_at: 0,
    }
}

fn score_options() -> Vec<Value> {
    SCORE_OPTIONS.iter().map(|t| json!({ "text": t })).collect()
}

const TEXT_REQUIRED: &str = "text must be a non-empty string";
const FIELDS_REQUIRED: &str = "fields must be a non-empty array";

fn field_type_error(index: usize, kind: &Value) -> String {
    format!(
        "fields[{index}].type {kind} is not one of {}",
        FEEDBACK_FIELD_TYPES.join(", ")
    )
}

fn field_text_error(index: usize) -> String {
    format!("fields[{index}].text must be a non-empty string")
}

/// Parses the body of `POST /feedback_templates`, naming the key that is
/// missing or of the wrong type (serde's own message names only a column).
fn parse_template(body: &[u8]) -> Result<NewFeedbackTemplate, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body must be JSON: {e}"))?;
    if !value.get("text").is_some_and(Value::is_string) {
        return Err(TEXT_REQUIRED.to_owned());
    }
    let Some(fields) = value.get("fields").and_then(Value::as_array) else {
        return Err(FIELDS_REQUIRED.to_owned());
    };
    for (i, field) in fields.iter().enumerate() {
        let kind = field.get("type").unwrap_or(&Value::Null);
        if !kind.is_string() {
            return Err(field_type_error(i, kind));
        }
        if !field.get("text").is_some_and(Value::is_string) {
            return Err(field_text_error(i));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("invalid feedback template: {e}"))
}

/// Checks a template as Lever would and gives each field an id; the error
/// is the message of the 400.
pub(crate) fn build_template(
    new: NewFeedbackTemplate,
    via_api: bool,
) -> Result<SimFeedbackTemplate, String> {
    if new.text.trim().is_empty() {
        return Err(TEXT_REQUIRED.to_owned());
    }
    if new.fields.is_empty() {
        return Err(FIELDS_REQUIRED.to_owned());
    }
    let ratings = new.fields.iter().filter(|f| f.kind == SCORE_SYSTEM).count();
    if ratings != 1 {
        return Err(format!(
            "fields must hold exactly one {SCORE_SYSTEM} field (found {ratings})"
        ));
    }
    let fields = new
        .fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| build_field(i, f))
        .collect::<Result<Vec<_>, _>>()?;
    let now = now_ms();
    Ok(SimFeedbackTemplate {
        id: new_id(),
        text: new.text,
        instructions: new.instructions.unwrap_or_default(),
        group: new.group,
        fields,
        via_api,
        created_at: now,
        updated_at: now,
    })
}

fn build_field(index: usize, f: NewFeedbackField) -> Result<SimFeedbackField, String> {
    if !FEEDBACK_FIELD_TYPES.contains(&f.kind.as_str()) {
        return Err(field_type_error(index, &Value::String(f.kind)));
    }
    if f.text.trim().is_empty() {
        return Err(field_text_error(index));
    }
    let well_formed = f
        .options
        .iter()
        .flatten()
        .all(|o| o.get("text").is_some_and(Value::is_string));
    if !well_formed {
        return Err(format!(
            "fields[{index}].options must be an array of {{\"text\": string}}"
        ));
    }
    let rating = f.kind == SCORE_SYSTEM;
    Ok(SimFeedbackField {
        id: new_id(),
        prompt: f.prompt.or_else(|| rating.then(|| SCORE_PROMPT.to_owned())),
        options: f.options.or_else(|| rating.then(score_options)),
        kind: f.kind,
        text: f.text,
        description: f.description.unwrap_or_default(),
        required: f.required,
    })
}

/// `GET /feedback_templates`, paged.
pub(crate) fn list_templates(account: &Account, call: &ApiCall) -> Reply {
    if !call.has_scope(&[TEMPLATES_READ, TEMPLATES_WRITE]) {
        return ApiCall::lacks_scope(TEMPLATES_READ);
    }
    let items = account
        .feedback_templates
        .iter()
        .map(render::feedback_template)
        .collect();
    paginate(items, &call.query)
}

/// `GET /feedback_templates/:id`.
pub(crate) fn get_template(account: &Account, call: &ApiCall, id: &str) -> Reply {
    if !call.has_scope(&[TEMPLATES_READ, TEMPLATES_WRITE]) {
        return ApiCall::lacks_scope(TEMPLATES_READ);
    }
    let found = account
        .feedback_templates
        .iter()
        .find(|t| t.id == id)
        .map(render::feedback_template);
    find(found, "feedback_templates", id)
}

/// `POST /feedback_templates` → 201 `{data: template}`.
pub(crate) fn create_template(account: &mut Account, call: &ApiCall) -> Reply {
    if !call.has_scope(&[TEMPLATES_WRITE]) {
        return ApiCall::lacks_scope(TEMPLATES_WRITE);
    }
    match parse_template(&call.body).and_then(|new| build_template(new, true)) {
        Ok(template) => {
            let rendered = render::feedback_template(&template);
            account.feedback_templates.push(template);
            Reply::json(201, json!({ "data": rendered }))
        }
        Err(message) => Reply::bad_request(message),
    }
}

/// The body of `POST /opportunities/:id/feedback`.
struct FormCreate {
    base_template_id: String,
    field_values: Vec<FieldValue>,
    created_at: Option<i64>,
    completed_at: Option<i64>,
}

struct FieldValue {
    id: String,
    value: Value,
}

/// Parses a form's body, naming the key that is missing or of the wrong
/// type.
fn parse_form(body: &[u8]) -> Result<FormCreate, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body must be JSON: {e}"))?;
    let base_template_id = value
        .get("baseTemplateId")
        .and_then(Value::as_str)
        .ok_or("baseTemplateId must be a feedback template id (a string)")?
        .to_owned();
    check_panel(&value)?;
    let field_values = match value.get("fieldValues") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(given)) => given
            .iter()
            .enumerate()
            .map(|(i, v)| field_value(i, v))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("fieldValues must be an array of {id, value}".to_owned()),
    };
    Ok(FormCreate {
        base_template_id,
        field_values,
        created_at: timestamp(&value, "createdAt")?,
        completed_at: timestamp(&value, "completedAt")?,
    })
}

/// `panel` and `interview` go together, and the simulator has neither.
fn check_panel(body: &Value) -> Result<(), String> {
    let given = |key: &str| body.get(key).is_some_and(|v| !v.is_null());
    match (given("panel"), given("interview")) {
        (false, false) => Ok(()),
        (true, true) => Err("panel was not found (the simulator has no panels)".to_owned()),
        _ => Err("panel and interview must be given together".to_owned()),
    }
}

fn field_value(index: usize, v: &Value) -> Result<FieldValue, String> {
    match (v.get("id").and_then(Value::as_str), v.get("value")) {
        (Some(id), Some(value)) => Ok(FieldValue {
            id: id.to_owned(),
            value: value.clone(),
        }),
        _ => Err(format!(
            "fieldValues[{index}] must be {{id, value}} with a string id"
        )),
    }
}

fn timestamp(body: &Value, key: &str) -> Result<Option<i64>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(at) => at
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be a timestamp in milliseconds")),
    }
}

/// `POST /opportunities/:id/feedback?perform_as=USER` → 201 `{data: form}`.
pub(crate) fn create_form(account: &mut Account, call: &ApiCall, opp: &str) -> Reply {
    if !call.has_scope(&[FEEDBACK_WRITE]) {
        return ApiCall::lacks_scope(FEEDBACK_WRITE);
    }
    let user = match call.required_user("the feedback is written as") {
        Ok(user) => user.to_owned(),
        Err(reply) => return reply,
    };
    if !account.opportunities.contains_key(opp) {
        return Reply::not_found("opportunities", opp);
    }
    let body = match parse_form(&call.body) {
        Ok(body) => body,
        Err(message) => return Reply::bad_request(message),
    };
    let Some(template) = account
        .feedback_templates
        .iter()
        .find(|t| t.id == body.base_template_id)
    else {
        return Reply::bad_request(format!(
            "baseTemplateId {} is not a feedback template of this account",
            body.base_template_id
        ));
    };
    let fields = match answered_fields(template, body.field_values) {
        Ok(fields) => fields,
        Err(message) => return Reply::bad_request(message),
    };
    let now = now_ms();
    let created_at = body.created_at.unwrap_or(now);
    let form = SimFeedbackForm {
        id: new_id(),
        text: template.text.clone(),
        instructions: template.instructions.clone(),
        base_template_id: template.id.clone(),
        user,
        fields,
        created_at,
        completed_at: body.completed_at.unwrap_or(now),
    };
    let rendered = render::feedback_form(&form);
    account
        .feedback
        .entry(opp.to_owned())
        .or_default()
        .push(form);
    Reply::json(201, json!({ "data": rendered }))
}

/// Every field of `template`, in its order, with its given value (`null`
/// when not given). Refused: a value for no field of the template, two for
/// one, a value of the wrong shape, a required field without a value.
fn answered_fields(
    template: &SimFeedbackTemplate,
    given: Vec<FieldValue>,
) -> Result<Vec<SimFeedbackValue>, String> {
    let mut seen = HashSet::new();
    for v in &given {
        let Some(field) = template.fields.iter().find(|f| f.id == v.id) else {
            return Err(format!(
                "fieldValues: {} is not a field of feedback template {}",
                v.id, template.id
            ));
        };
        if !seen.insert(v.id.as_str()) {
            return Err(format!("fieldValues: field {} is given twice", v.id));
        }
        if !v.value.is_null() && !value_fits(field, &v.value) {
            return Err(format!(
                "fieldValues: {} is not a valid value for {} field {} ({})",
                v.value, field.kind, field.id, field.text
            ));
        }
    }
    template
        .fields
        .iter()
        .map(|f| {
            let value = given
                .iter()
                .find(|v| v.id == f.id)
                .map_or(Value::Null, |v| v.value.clone());
            if f.required && value.is_null() {
                return Err(format!(
                    "fieldValues: required field {} ({}) has no value",
                    f.id, f.text
                ));
            }
            Ok(SimFeedbackValue {
                field: f.clone(),
                value,
            })
        })
        .collect()
}

/// Whether a (non-null) value has the shape Lever's field type takes;
/// option texts match exactly, case included.
fn value_fits(field: &SimFeedbackField, value: &Value) -> bool {
    let options = field.option_texts();
    let is_option = |v: &Value| v.as_str().is_some_and(|s| options.contains(&s));
    match field.kind.as_str() {
        "text" | "textarea" | "code" => value.is_string(),
        "score-system" | "dropdown" | "multiple-choice" => is_option(value),
        "multiple-select" => value
            .as_array()
            .is_some_and(|chosen| chosen.iter().all(is_option)),
        "yes-no" => matches!(value.as_str(), Some("yes" | "no")),
        "date" => value.is_i64(),
        "score" => value.as_i64().is_some_and(|n| (1..=4).contains(&n)),
        "scorecard" => value
            .as_array()
            .is_some_and(|skills| skills.iter().all(scorecard_entry)),
        _ => false,
    }
}

/// `{score, comment?}`: an integer score, a string comment.
fn scorecard_entry(entry: &Value) -> bool {
    let Some(obj) = entry.as_object() else {
        return false;
    };
    obj.get("score").is_some_and(Value::is_i64)
        && obj.get("comment").is_none_or(Value::is_string)
        && obj.keys().all(|k| k == "score" || k == "comment")
}

/// `GET /opportunities/:id/feedback`, paged.
pub(crate) fn list_forms(account: &Account, call: &ApiCall, opp: &str) -> Reply {
    if !call.has_scope(&[FEEDBACK_READ, FEEDBACK_WRITE]) {
        return ApiCall::lacks_scope(FEEDBACK_READ);
    }
    if !account.opportunities.contains_key(opp) {
        return Reply::not_found("opportunities", opp);
    }
    let items = account
        .feedback
        .get(opp)
        .map(|forms| forms.iter().map(render::feedback_form).collect())
        .unwrap_or_default();
    paginate(items, &call.query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str, options: &[&str]) -> SimFeedbackField {
        let mut new = NewFeedbackField::new(kind, "Q");
        if !options.is_empty() {
            new = new.options(options);
        }
        build_field(0, new).expect("a valid field")
    }

    #[test]
    fn values_must_fit_their_field_type() {
        let fits =
            |kind: &str, options: &[&str], value: Value| value_fits(&field(kind, options), &value);
        assert!(fits("text", &[], json!("a")));
        assert!(!fits("textarea", &[], json!(1)));
        assert!(fits("score-system", &[], json!("3 - Hire")));
        assert!(!fits("score-system", &[], json!("3 - hire")));
        assert!(fits("dropdown", &["A", "B"], json!("B")));
        assert!(!fits("multiple-choice", &["A"], json!(["A"])));
        assert!(fits("multiple-select", &["A", "B"], json!(["A", "B"])));
        assert!(!fits("multiple-select", &["A"], json!("A")));
        assert!(fits("yes-no", &[], json!("no")));
        assert!(!fits("yes-no", &[], json!(true)));
        assert!(fits("date", &[], json!(1_700_000_000_000_i64)));
        assert!(!fits("date", &[], json!("2024-01-01")));
        assert!(fits("score", &[], json!(4)));
        assert!(!fits("score", &[], json!(5)));
        assert!(fits(
            "scorecard",
            &[],
            json!([{"score": 3, "comment": "ok"}])
        ));
        assert!(!fits("scorecard", &[], json!([{"comment": "no score"}])));
    }

    #[test]
    fn a_template_has_exactly_one_score_system_field() {
        let template = |fields: Vec<NewFeedbackField>| NewFeedbackTemplate {
            text: "T".to_owned(),
            fields,
            ..NewFeedbackTemplate::default()
        };
        let none = template(vec![NewFeedbackField::new("text", "a")]);
        assert!(build_template(none, true).is_err());
        let two = template(vec![
            NewFeedbackField::new(SCORE_SYSTEM, "a"),
            NewFeedbackField::new(SCORE_SYSTEM, "b"),
        ]);
        assert!(build_template(two, true).is_err());
        let one = template(vec![NewFeedbackField::new(SCORE_SYSTEM, "Rating")]);
        let built = build_template(one, true).expect("valid");
        let rating = &built.fields[0];
        assert_eq!(rating.prompt.as_deref(), Some(SCORE_PROMPT));
        assert_eq!(rating.option_texts(), SCORE_OPTIONS);
        assert_eq!(rating.description, "");
        assert!(!rating.required);
    }

    #[test]
    fn options_must_be_text_objects() {
        let mut bad = NewFeedbackField::new("dropdown", "Q");
        bad.options = Some(vec![json!("A")]);
        assert!(build_field(0, bad).is_err());
    }
}
