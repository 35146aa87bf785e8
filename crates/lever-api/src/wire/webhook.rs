//! The body Lever POSTs to a webhook URL (docs/contract/lever-facts.md).

use serde::{Deserialize, Serialize};

use super::JsonMap;

/// Event names (the API spelling).
pub mod events {
    pub const CANDIDATE_STAGE_CHANGE: &str = "candidateStageChange";
    pub const CANDIDATE_HIRED: &str = "candidateHired";
    pub const APPLICATION_CREATED: &str = "applicationCreated";
    pub const CANDIDATE_ARCHIVE_CHANGE: &str = "candidateArchiveChange";
    pub const CANDIDATE_DELETED: &str = "candidateDeleted";
}

/// A webhook delivery. `id` is documented but absent from every example;
/// `signature` is present only when the webhook has a signing token. `data`
/// stays raw JSON because its shape depends on `event` (mostly UNCONFIRMED).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub event: String,
    /// Epoch milliseconds; signed as its decimal string.
    #[serde(rename = "triggeredAt")]
    pub triggered_at: i64,
    /// 48 random characters, one per delivery.
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default = "empty_object")]
    pub data: serde_json::Value,
    #[serde(flatten)]
    pub extra: JsonMap,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(JsonMap::new())
}

/// `data` of `candidateStageChange`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChangeData {
    #[serde(rename = "opportunityId")]
    pub opportunity_id: String,
    /// Deprecated alias of the opportunity id.
    #[serde(
        rename = "candidateId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub candidate_id: Option<String>,
    #[serde(rename = "contactId", default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(rename = "toStageId", default, skip_serializing_if = "Option::is_none")]
    pub to_stage_id: Option<String>,
    #[serde(
        rename = "fromStageId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_stage_id: Option<String>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl WebhookBody {
    /// Lever's "Test" / "Verify connection" ping: `candidateHired` with `{}`.
    pub fn is_test_ping(&self) -> bool {
        self.event == events::CANDIDATE_HIRED && self.data_is_empty()
    }

    fn data_is_empty(&self) -> bool {
        match &self.data {
            serde_json::Value::Null => true,
            serde_json::Value::Object(map) => map.is_empty(),
            _ => false,
        }
    }

    /// The typed `data` of a `candidateStageChange`; `None` for other events
    /// or when `opportunityId` is missing.
    pub fn stage_change(&self) -> Option<StageChangeData> {
        if self.event != events::CANDIDATE_STAGE_CHANGE {
            return None;
        }
        serde_json::from_value(self.data.clone()).ok()
    }

    /// `data.opportunityId`, which every documented event carries.
    pub fn opportunity_id(&self) -> Option<&str> {
        self.data.get("opportunityId").and_then(|v| v.as_str())
    }
}
