//! Lever's wire format as typed serde structs (docs/contract/lever-facts.md).
//!
//! Everything here is shared by the client and the simulator, so the two can
//! only agree on shapes that Lever documents. Rules for every type:
//! - unknown fields are accepted (Lever adds fields without notice), never
//!   `deny_unknown_fields`;
//! - anything Lever may omit is an `Option` or `#[serde(default)]`;
//! - resource types keep unknown fields in `extra` so a parse/serialise round
//!   trip is lossless (the golden-fixture tests rely on that).

pub mod delivery;
mod envelope;
mod oauth;
mod resources;
mod results;
mod webhook;
mod webhooks_api;

pub use envelope::{
    DataEnvelope, ErrorBody, LinksBody, ListEnvelope, TagsBody, parse_data, parse_list,
};
pub use oauth::{AccessTokenClaims, JwtDecodeError, TokenResponse, decode_access_token_claims};
pub use resources::{
    Application, ApplicationRef, ArchiveReason, Archived, DeletedOpportunity, Note, NoteCreate,
    NoteCreated, NoteField, Opportunity, Posting, Stage, StageChange, StageRef, User,
};
pub use results::{
    FeedbackCreate, FeedbackForm, FeedbackTemplate, FeedbackTemplateCreate, FieldValue, FormField,
    NewTemplateField, OpportunityFile, TemplateField, parse_data_or_bare,
};
pub use webhook::{StageChangeData, WebhookBody, events};
pub use webhooks_api::{
    WebhookConfiguration, WebhookCreate, WebhookCreateConfiguration, WebhookSubscription,
    parse_webhook_created,
};

/// Free-form JSON object used for fields we carry but do not interpret.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;
