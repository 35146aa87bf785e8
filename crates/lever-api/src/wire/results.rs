//! Feedback templates, feedback forms and files: what the service writes
//! when a connection's `results` ask for more than a note
//! (docs/contract/lever-facts-results.md). Lever's docs disagree with
//! themselves on several of these shapes, so every field the service does
//! not need is optional, and answers are read with or without the `data`
//! wrapper.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::JsonMap;

/// One field of a feedback template, as Lever answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateField {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A feedback template (`GET /feedback_templates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTemplate {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub fields: Vec<TemplateField>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// One field of a template to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTemplateField {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub description: String,
    pub required: bool,
}

/// `POST /feedback_templates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTemplateCreate {
    pub text: String,
    pub instructions: String,
    pub fields: Vec<NewTemplateField>,
}

/// One answer of a feedback form: the template field's id and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    pub id: String,
    pub value: serde_json::Value,
}

/// `POST /opportunities/:id/feedback` (with `perform_as`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackCreate {
    #[serde(rename = "baseTemplateId")]
    pub base_template_id: String,
    #[serde(rename = "fieldValues")]
    pub field_values: Vec<FieldValue>,
    #[serde(rename = "completedAt", skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
}

/// A field of a written form, with its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A feedback form on an opportunity (`GET /opportunities/:id/feedback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackForm {
    pub id: String,
    #[serde(rename = "baseTemplateId", default)]
    pub base_template_id: Option<String>,
    #[serde(default)]
    pub fields: Vec<FormField>,
    #[serde(rename = "deletedAt", default)]
    pub deleted_at: Option<serde_json::Value>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl FeedbackForm {
    /// Whether a live (not deleted) field holds exactly `text`.
    pub fn holds(&self, text: &str) -> bool {
        let live = self
            .deleted_at
            .as_ref()
            .is_none_or(serde_json::Value::is_null);
        live && self.fields.iter().any(|f| f.value.as_str() == Some(text))
    }
}

/// A file on an opportunity. `size` is a number or a string in Lever's
/// examples, so it is kept as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityFile {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub size: serde_json::Value,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl OpportunityFile {
    /// The size in bytes, however Lever spelled it.
    pub fn bytes(&self) -> Option<u64> {
        match &self.size {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// A body that is `{"data": T}` or just `T` (the docs show both).
pub fn parse_data_or_bare<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        Wrapped { data: T },
        Bare(T),
    }
    serde_json::from_slice::<Either<T>>(body).map(|e| match e {
        Either::Wrapped { data } | Either::Bare(data) => data,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn files_read_with_or_without_data_and_with_string_sizes() {
        let wrapped: Vec<OpportunityFile> =
            parse_data_or_bare(br#"{"data":[{"id":"f1","name":"a.pdf","size":"1204"}]}"#).unwrap();
        let bare: Vec<OpportunityFile> =
            parse_data_or_bare(br#"[{"id":"f1","name":"a.pdf","size":1204}]"#).unwrap();
        assert_eq!(wrapped[0].bytes(), Some(1204));
        assert_eq!(bare[0].bytes(), Some(1204));
    }

    #[test]
    fn a_deleted_form_holds_nothing() {
        let live: FeedbackForm =
            serde_json::from_str(r#"{"id":"x","fields":[{"id":"a","value":"https://r/1"}]}"#)
                .unwrap();
        let gone: FeedbackForm = serde_json::from_str(
            r#"{"id":"x","deletedAt":1,"fields":[{"id":"a","value":"https://r/1"}]}"#,
        )
        .unwrap();
        assert!(live.holds("https://r/1") && !live.holds("https://r/2"));
        assert!(!gone.holds("https://r/1"));
    }
}
