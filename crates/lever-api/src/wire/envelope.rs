//! Envelopes around Lever resources: `{data}`, `{data,next,hasNext}` lists,
//! the `{code,message}` error body, and the tiny `{tags}` / `{links}` bodies.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `{"data": T}`: every single-resource success body (200 and 201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataEnvelope<T> {
    pub data: T,
}

/// `{"data":[...], "next":"...", "hasNext":true}`. `next` is an opaque
/// offset to pass back as `offset=`; both pagination fields may be absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEnvelope<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(rename = "hasNext", default, skip_serializing_if = "Option::is_none")]
    pub has_next: Option<bool>,
}

impl<T> ListEnvelope<T> {
    /// The offset of the next page, if Lever says there is one. A `next`
    /// without `hasNext` counts as "more" only when non-empty (tolerant of
    /// both spellings of "no more pages").
    pub fn next_offset(&self) -> Option<&str> {
        let next = self.next.as_deref().filter(|n| !n.is_empty())?;
        match self.has_next {
            Some(false) => None,
            _ => Some(next),
        }
    }
}

/// Lever's error body, `{"code":"ResourceNotFound","message":"..."}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: Some(code.to_owned()),
            message: Some(message.into()),
        }
    }
}

/// Body of `addTags` / `removeTags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagsBody {
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Body of `addLinks` / `removeLinks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinksBody {
    #[serde(default)]
    pub links: Vec<String>,
}

/// Parses `{"data": T}`.
pub fn parse_data<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice::<DataEnvelope<T>>(body).map(|e| e.data)
}

/// Parses `{"data":[T], "next", "hasNext"}`.
pub fn parse_list<T: DeserializeOwned>(body: &[u8]) -> Result<ListEnvelope<T>, serde_json::Error> {
    serde_json::from_slice(body)
}
