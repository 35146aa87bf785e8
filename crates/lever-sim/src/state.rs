//! The simulator's in-memory Lever: accounts and what they hold, OAuth
//! grants, and the call log. One `std::sync::Mutex` guards it all; it is
//! never held across an `.await`.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::faults::FaultRule;

/// How `/authorize` answers for an account (the Super Admin's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizeMode {
    /// Auto-consent: redirect with a code.
    #[default]
    Consent,
    /// The user clicks "Deny": `error=access_denied`.
    Deny,
    /// The user is not a Super Admin: refused with a description saying so.
    NotSuperAdmin,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimStage {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimPosting {
    pub id: String,
    pub text: String,
    pub state: String,
    pub team: Option<String>,
    /// Lever's posting `tags` (free text, set in the posting's settings).
    #[serde(default)]
    pub tags: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub access_role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimApplication {
    pub id: String,
    pub posting: Option<String>,
    pub kind: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageChange {
    pub to_stage_id: String,
    pub user_id: Option<String>,
    pub updated_at: i64,
}

/// An opportunity's archive state: when, and with which archive reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimArchived {
    pub archived_at: i64,
    pub reason: String,
}

/// One of the account's archive reasons; `kind` is Lever's `type`
/// (`hired` or `non-hired`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimArchiveReason {
    pub id: String,
    pub text: String,
    pub status: String,
    pub kind: String,
}

impl SimArchiveReason {
    /// Lever's hired type: an archive with it is a hire.
    pub fn is_hired(&self) -> bool {
        self.kind == "hired"
    }
}

/// The archive reasons every new account has, one of them of the hired type.
pub fn default_archive_reasons() -> Vec<SimArchiveReason> {
    [
        ("archive-hired", "Hired", "hired"),
        ("archive-underqualified", "Underqualified", "non-hired"),
        ("archive-withdrew", "Withdrew", "non-hired"),
    ]
    .into_iter()
    .map(|(id, text, kind)| SimArchiveReason {
        id: id.to_owned(),
        text: text.to_owned(),
        status: "active".to_owned(),
        kind: kind.to_owned(),
    })
    .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimOpportunity {
    pub id: String,
    pub name: String,
    pub contact: String,
    pub emails: Vec<String>,
    pub stage: String,
    pub stage_changes: Vec<StageChange>,
    pub tags: Vec<String>,
    pub applications: Vec<SimApplication>,
    /// `None` while active.
    #[serde(default)]
    pub archived: Option<SimArchived>,
    /// Tied to a confidential posting: hidden from lists without
    /// `confidentiality=all`, and unreadable without confidential access.
    #[serde(default)]
    pub confidential: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimNote {
    pub id: String,
    pub value: String,
    pub user: Option<String>,
    pub secret: bool,
    pub score: Option<i64>,
    pub created_at: i64,
}

/// Lever's feedback form field types (a template field's `type`).
pub const FEEDBACK_FIELD_TYPES: [&str; 11] = [
    "code",
    "date",
    "dropdown",
    "multiple-choice",
    "multiple-select",
    "score-system",
    "score",
    "scorecard",
    "text",
    "textarea",
    "yes-no",
];

/// One field of a feedback template; `kind` is Lever's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimFeedbackField {
    pub id: String,
    pub kind: String,
    pub text: String,
    pub description: String,
    pub required: bool,
    /// `Select one` on a `score-system` field unless another was given.
    pub prompt: Option<String>,
    /// `[{"text": ...}]` as given (Lever's four ratings on a `score-system`
    /// field given none); absent if none.
    pub options: Option<Vec<serde_json::Value>>,
}

impl SimFeedbackField {
    /// The `text` of each option, in order.
    pub fn option_texts(&self) -> Vec<&str> {
        self.options
            .iter()
            .flatten()
            .filter_map(|o| o.get("text").and_then(serde_json::Value::as_str))
            .collect()
    }
}

/// A feedback template of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimFeedbackTemplate {
    pub id: String,
    pub text: String,
    pub instructions: String,
    /// The owning team (group) id, if one was given.
    pub group: Option<String>,
    pub fields: Vec<SimFeedbackField>,
    /// Created through the API (a customer-made one is seeded).
    pub via_api: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One field of a feedback form: the template's field and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimFeedbackValue {
    pub field: SimFeedbackField,
    /// `null` for a field the form left unanswered.
    pub value: serde_json::Value,
}

/// A feedback form written on an opportunity (`POST .../feedback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimFeedbackForm {
    pub id: String,
    /// The template's `text` and `instructions` at the time of writing.
    pub text: String,
    pub instructions: String,
    pub base_template_id: String,
    /// The `perform_as` user who wrote it.
    pub user: String,
    /// Every field of the template, in its order.
    pub fields: Vec<SimFeedbackValue>,
    pub created_at: i64,
    pub completed_at: i64,
}

/// A file uploaded to an opportunity (`POST .../files`), bytes included
/// (base64 in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimFile {
    pub id: String,
    /// The part's filename.
    pub name: String,
    /// The filename's extension with its dot, as Lever shows it (`.pdf`;
    /// `""` when none).
    pub ext: String,
    pub size: u64,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
    pub uploaded_at: i64,
    /// The `perform_as` user who uploaded it.
    pub user: String,
}

/// `Vec<u8>` as standard base64 in JSON.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimWebhook {
    pub id: String,
    pub url: String,
    pub event: String,
    pub signature_token: Option<String>,
    pub conditions: Option<serde_json::Value>,
    /// Created through the API (only those can be changed through it).
    pub via_api: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One webhook delivery and how it went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: u64,
    pub webhook_id: String,
    pub url: String,
    pub event: String,
    pub opportunity_id: Option<String>,
    pub attempts: u32,
    /// Last HTTP status received, if any.
    pub status: Option<u16>,
    pub delivered: bool,
    /// True once no more attempts will be made.
    pub finished: bool,
    pub last_error: Option<String>,
}

/// Lever's token bucket (per account): `rate` per second, `capacity` deep.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub rate: f64,
    pub capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(rate: f64, capacity: f64) -> Self {
        Self {
            rate,
            capacity,
            tokens: capacity,
            last: Instant::now(),
        }
    }

    pub fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub stages: Vec<SimStage>,
    pub postings: Vec<SimPosting>,
    pub users: Vec<SimUser>,
    /// Insertion order, for stable listing.
    pub opportunity_order: Vec<String>,
    pub opportunities: HashMap<String, SimOpportunity>,
    /// Contact id → links (a list: a duplicate add shows twice).
    pub contact_links: HashMap<String, Vec<String>>,
    pub notes: HashMap<String, Vec<SimNote>>,
    pub feedback_templates: Vec<SimFeedbackTemplate>,
    /// Opportunity id → its feedback forms, oldest first.
    pub feedback: HashMap<String, Vec<SimFeedbackForm>>,
    /// Opportunity id → its uploaded files, oldest first.
    pub files: HashMap<String, Vec<SimFile>>,
    pub webhooks: Vec<SimWebhook>,
    pub archive_reasons: Vec<SimArchiveReason>,
    /// Deleted opportunities, oldest first: `(id, deletedAt)`.
    pub deleted: Vec<(String, i64)>,
    /// Scopes consent leaves out of every grant (see `AccountPatch`).
    pub withheld_scopes: Vec<String>,
    /// The Super Admin's toggle of the webhook group: off → nothing sent.
    pub webhooks_enabled: bool,
    /// Whether the account's package includes the webhooks API.
    pub webhooks_api: bool,
    pub authorize_mode: AuthorizeMode,
    pub faults: Vec<FaultRule>,
    pub bucket: Bucket,
    pub deliveries: Vec<DeliveryRecord>,
}

#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub account_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub expires_at_ms: i64,
    /// The PKCE `code_challenge` (S256) of the authorize request, if any.
    pub code_challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub account_id: String,
    /// The scopes granted, space-separated.
    pub scope: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub account_id: String,
    pub client_id: String,
    pub scope: String,
}

/// One request the simulator answered (OAuth and `/v1`; not `/_sim`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecord {
    pub seq: u64,
    /// Epoch milliseconds when the request arrived (before any held latency).
    pub received_ms: i64,
    /// Epoch milliseconds when the answer was decided.
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// HTTP status; 0 when the connection was dropped without one.
    pub status: u16,
    pub account_id: Option<String>,
    pub perform_as: Option<String>,
}

#[derive(Debug, Default)]
pub struct SimState {
    pub accounts: HashMap<String, Account>,
    pub last_created: Option<String>,
    /// The account whose Super Admin is "logged in" for `/authorize`.
    pub login: Option<String>,
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    /// Used or revoked refresh tokens → account, so a late use of one is
    /// still attributed to its account in the call log.
    pub dead_refresh: HashMap<String, String>,
    pub calls: Vec<CallRecord>,
    /// Calls held by a latency fault right now: (account, method, path).
    pub held: Vec<(Option<String>, String, String)>,
    pub next_seq: u64,
    pub next_delivery: u64,
}

impl SimState {
    pub fn log_call(&mut self, mut record: CallRecord) {
        self.next_seq += 1;
        record.seq = self.next_seq;
        self.calls.push(record);
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `n` random bytes as lowercase hex (2n characters).
pub fn random_hex(n: usize) -> String {
    use rand::RngCore as _;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
