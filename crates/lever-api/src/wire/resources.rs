//! Lever resources the service reads or writes: stages, postings,
//! opportunities (with `expand=applications`), users and notes
//! (docs/contract/lever-facts.md). Only the fields docs/contract/lever-calls.md needs are typed; the rest are
//! kept verbatim in `extra`.

use serde::{Deserialize, Serialize};

use super::JsonMap;

/// A list Lever may send as `null`: read as empty.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A pipeline stage, `{id, text}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub id: String,
    #[serde(default)]
    pub text: String,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// An archive reason (`GET /archive_reasons`): `type` is `hired` or
/// `non-hired`; names are the account's own, so only `type` classifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveReason {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// One item of `GET /opportunities/deleted`. Its full shape is
/// UNCONFIRMED: only `id` is needed (an item without one is skipped), and
/// `deletedAt` is read when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedOpportunity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "deletedAt", default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl ArchiveReason {
    /// Lever's hired type: an archive with this reason is a hire.
    pub fn is_hired(&self) -> bool {
        self.kind.as_deref() == Some("hired")
    }
}

/// What an opportunity shows of its archive state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    /// The archive reason id, when Lever gives one.
    pub reason: Option<String>,
    /// When it was archived (epoch ms), when Lever gives it.
    pub archived_at: Option<i64>,
}

/// A job posting. `text` is the posting's title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posting {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The posting's Lever tags (case-sensitive; a `null` reads as none).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `stage` on an opportunity: a Stage UID, or `{id,text}` with `expand=stage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageRef {
    Id(String),
    Expanded(Stage),
}

impl StageRef {
    pub fn id(&self) -> &str {
        match self {
            StageRef::Id(id) => id,
            StageRef::Expanded(stage) => &stage.id,
        }
    }
}

/// An application as inlined by `expand=applications`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    /// Posting UID; absent for applications not tied to a posting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// An entry of `applications`: an id, or the object with `expand=applications`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ApplicationRef {
    Id(String),
    Expanded(Application),
}

impl ApplicationRef {
    pub fn id(&self) -> &str {
        match self {
            ApplicationRef::Id(id) => id,
            ApplicationRef::Expanded(app) => &app.id,
        }
    }

    /// The posting, known only when the application was expanded.
    pub fn posting(&self) -> Option<&str> {
        match self {
            ApplicationRef::Id(_) => None,
            ApplicationRef::Expanded(app) => app.posting.as_deref(),
        }
    }
}

/// An opportunity (`GET /opportunities/:id`). `links` live on the contact, so
/// they are the same on every opportunity of one person.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    pub id: String,
    /// Candidate name: never logged (Debug hides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Contact UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageRef>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub applications: Vec<ApplicationRef>,
    /// Every move between stages, oldest first as Lever lists them (absent
    /// when `include=` left it out).
    #[serde(
        rename = "stageChanges",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stage_changes: Option<Vec<StageChange>>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// One entry of an opportunity's `stageChanges`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChange {
    #[serde(rename = "toStageId", default)]
    pub to_stage_id: String,
    #[serde(
        rename = "toStageIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub to_stage_index: Option<i64>,
    #[serde(rename = "userId", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Epoch ms of the move.
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Opportunity {
    /// When the opportunity last entered `stage` (epoch ms): the latest
    /// `stageChanges` entry into it. Without one, `lastAdvancedAt` (the last
    /// stage move), then `createdAt` (created straight into the stage) stand
    /// in. `None` when it is not in `stage` now or no time is known.
    pub fn current_entry_at(&self, stage: &str) -> Option<i64> {
        if self.stage_id() != Some(stage) {
            return None;
        }
        let entered = self
            .stage_changes
            .iter()
            .flatten()
            .filter(|c| c.to_stage_id == stage)
            .filter_map(|c| c.updated_at)
            .max();
        // Without `stageChanges` (an account or fake that leaves it out),
        // `lastAdvancedAt` is the last stage move; `createdAt` the creation
        // straight into the stage. Never `updatedAt`: our own writes move it.
        let at = |field: &str| self.extra.get(field).and_then(|v| v.as_i64());
        entered
            .or_else(|| at("lastAdvancedAt"))
            .or_else(|| at("createdAt"))
    }

    pub fn stage_id(&self) -> Option<&str> {
        self.stage.as_ref().map(StageRef::id)
    }

    /// `Some` when archived: `archived` is an object (its `reason`, else
    /// `reasonId`), or, without one, the documented examples' top-level
    /// `archivedAt`/`archiveReason` are set. `None` while active.
    pub fn archived(&self) -> Option<Archived> {
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        let time = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_i64());
        match self.extra.get("archived") {
            Some(serde_json::Value::Object(a)) => Some(Archived {
                reason: text(a.get("reason")).or_else(|| text(a.get("reasonId"))),
                archived_at: time(a.get("archivedAt")),
            }),
            // Not the documented object, but not "active" either.
            Some(v) if !v.is_null() => Some(Archived {
                reason: None,
                archived_at: None,
            }),
            _ => {
                let reason = text(self.extra.get("archiveReason"));
                let archived_at = time(self.extra.get("archivedAt"));
                (archived_at.is_some() || reason.is_some()).then_some(Archived {
                    reason,
                    archived_at,
                })
            }
        }
    }

    /// The posting of the (at most one, per Lever) application.
    pub fn posting_id(&self) -> Option<&str> {
        self.applications.iter().find_map(ApplicationRef::posting)
    }
}

// Hand-written so candidate names and emails (in `extra`) never reach logs.
impl std::fmt::Debug for Opportunity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opportunity")
            .field("id", &self.id)
            .field("contact", &self.contact)
            .field("stage", &self.stage_id())
            .field("tags", &self.tags)
            .field("links", &self.links.len())
            .field("applications", &self.applications)
            .finish_non_exhaustive()
    }
}

/// A Lever user, used to choose `perform_as`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /opportunities/:id/notes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteCreate {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    #[serde(
        rename = "notifyFollowers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub notify_followers: Option<bool>,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

impl NoteCreate {
    pub fn text(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            secret: None,
            score: None,
            notify_followers: None,
            created_at: None,
        }
    }
}

/// `data` of the 201 answer to a note create: `{"noteId": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteCreated {
    #[serde(rename = "noteId")]
    pub note_id: String,
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// One field of a listed note, `{type, text, value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteField {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// A note as listed by `GET /opportunities/:id/notes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub fields: Vec<NoteField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl Note {
    /// The note's text: the first string field value, else `text`. Used by
    /// the worker to check whether an "outcome unknown" note landed.
    pub fn body(&self) -> Option<&str> {
        self.fields
            .iter()
            .find_map(|f| f.value.as_ref().and_then(|v| v.as_str()))
            .or(self.text.as_deref())
    }
}
