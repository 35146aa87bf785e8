//! Managing webhooks through the API: `GET/POST /webhooks`,
//! `DELETE /webhooks/:id` (docs/contract/lever-facts.md).

use serde::{Deserialize, Serialize};

use super::JsonMap;

/// `configuration` on a create request (only `conditions` is documented).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookCreateConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
}

/// Body of `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCreate {
    pub url: String,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<WebhookCreateConfiguration>,
}

/// `configuration` on a webhook as Lever returns it.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookConfiguration {
    /// Returned on create (public clients treat it as optional).
    #[serde(
        rename = "signatureToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl std::fmt::Debug for WebhookConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfiguration")
            .field(
                "signature_token",
                &self.signature_token.as_ref().map(|_| "[redacted]"),
            )
            .field("conditions", &self.conditions)
            .finish_non_exhaustive()
    }
}

/// A webhook subscription (list entry and create result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    pub id: String,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<WebhookConfiguration>,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl WebhookSubscription {
    /// Lever documents no per-webhook on/off field (the Super Admin's toggle
    /// is per event group and not in the API); should a list ever carry
    /// `"enabled": false` or `"disabled": true`, it is read as off.
    pub fn is_disabled(&self) -> bool {
        self.extra.get("enabled").and_then(|v| v.as_bool()) == Some(false)
            || self.extra.get("disabled").and_then(|v| v.as_bool()) == Some(true)
    }

    pub fn signature_token(&self) -> Option<&str> {
        self.configuration
            .as_ref()
            .and_then(|c| c.signature_token.as_deref())
    }
}

/// Parses the create response, which Lever's doc shows double-wrapped
/// (`{"data":{"data":{..}}}`) while public clients read it single-wrapped
/// (`{"data":{..}}`): both are accepted.
pub fn parse_webhook_created(body: &[u8]) -> Result<WebhookSubscription, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(body)?;
    let mut data = value
        .get_mut("data")
        .map(serde_json::Value::take)
        .unwrap_or(serde_json::Value::Null);
    // Double wrapper: the inner object has `data` but no `id` of its own.
    if data.get("id").is_none() && data.get("data").is_some_and(|d| d.is_object()) {
        data = data
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null);
    }
    serde_json::from_value(data)
}
