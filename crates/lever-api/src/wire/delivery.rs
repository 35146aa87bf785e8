//! The body Lever POSTs to a webhook URL, read the fast way: a borrowed
//! envelope whose strings point into the request's bytes (copied only when
//! JSON escapes force it), whose unknown fields are skipped without being
//! built, and whose `data` yields just the five stage-change fields. It
//! accepts and refuses exactly what [`WebhookBody`](super::WebhookBody)
//! does, and reads `data` as its typed form would, at a fraction of the
//! allocations (a service runs it on every delivery).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::events;

/// The fields of a delivery ingest reads, borrowed from its bytes. Every
/// other field, `data`'s included, is accepted and skipped.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<'a> {
    /// Documented, never used: read only so that a non-string `id` is a
    /// 400, as it is for the full wire type.
    #[serde(default, borrow, rename = "id")]
    _id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    /// Epoch milliseconds; signed as its decimal string.
    #[serde(rename = "triggeredAt")]
    pub triggered_at: i64,
    #[serde(borrow)]
    pub token: Cow<'a, str>,
    #[serde(default, borrow)]
    pub signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Data<'a>,
}

/// What `data` held: its shape, and the stage-change fields.
#[derive(Debug, Clone, Default)]
pub struct Data<'a> {
    shape: Shape,
    pub opportunity_id: Field<'a>,
    pub to_stage_id: Field<'a>,
    pub from_stage_id: Field<'a>,
    candidate_id: Field<'a>,
    contact_id: Field<'a>,
}

/// `data` absent or `null`, an object (empty or not), or anything else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Shape {
    #[default]
    Null,
    Object {
        empty: bool,
    },
    Other,
}

/// One field of `data`: absent or `null`, a string, or another JSON value.
#[derive(Debug, Clone, Default)]
pub enum Field<'a> {
    #[default]
    Null,
    Str(Cow<'a, str>),
    Other,
}

impl<'a> Field<'a> {
    /// The value if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Absent, `null` or a string: what an optional string field takes.
    fn optional_string(&self) -> bool {
        !matches!(self, Self::Other)
    }
}

impl<'a> Envelope<'a> {
    /// Lever's "Test" / "Verify connection" ping: `candidateHired` with `{}`.
    pub fn is_test_ping(&self) -> bool {
        self.event == events::CANDIDATE_HIRED
            && matches!(self.data.shape, Shape::Null | Shape::Object { empty: true })
    }

    /// `candidateArchiveChange`, `candidateHired` or `candidateDeleted`: the
    /// events about the candidate as a whole.
    pub fn is_lifecycle(&self) -> bool {
        [
            events::CANDIDATE_ARCHIVE_CHANGE,
            events::CANDIDATE_HIRED,
            events::CANDIDATE_DELETED,
        ]
        .contains(&self.event.as_ref())
    }

    /// For a lifecycle event ([`Self::is_lifecycle`]) whose `data` is an
    /// object: `opportunityId`, else the deprecated `candidateId` (the same
    /// id, per Lever). Their other fields are UNCONFIRMED and never read:
    /// what happened is learned by reading the opportunity again.
    pub fn lifecycle_opportunity(&self) -> Option<&str> {
        let d = &self.data;
        (self.is_lifecycle() && matches!(d.shape, Shape::Object { .. }))
            .then(|| d.opportunity_id.as_str().or(d.candidate_id.as_str()))
            .flatten()
    }

    /// For a `candidateStageChange` whose `data` is a stage change (an
    /// object with a string `opportunityId`, and its other documented fields
    /// strings or null): the stage it moved to, if given. `None` otherwise.
    pub fn stage_change(&self) -> Option<Option<&str>> {
        let d = &self.data;
        let typed = self.event == events::CANDIDATE_STAGE_CHANGE
            && matches!(d.shape, Shape::Object { .. })
            && d.opportunity_id.as_str().is_some()
            && [
                &d.to_stage_id,
                &d.from_stage_id,
                &d.candidate_id,
                &d.contact_id,
            ]
            .iter()
            .all(|f| f.optional_string());
        typed.then(|| d.to_stage_id.as_str())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

/// The keys of `data` that matter; any other is skipped.
#[derive(Deserialize)]
enum Key {
    #[serde(rename = "opportunityId")]
    OpportunityId,
    #[serde(rename = "toStageId")]
    ToStageId,
    #[serde(rename = "fromStageId")]
    FromStageId,
    #[serde(rename = "candidateId")]
    CandidateId,
    #[serde(rename = "contactId")]
    ContactId,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl DataVisitor {
    fn other<E: de::Error>() -> Result<Data<'static>, E> {
        Ok(Data {
            shape: Shape::Other,
            ..Data::default()
        })
    }
}

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Data::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Data::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Self::other()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Self::other()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Self::other()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Self::other()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Self::other()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::other()
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut data = Data {
            shape: Shape::Object { empty: true },
            ..Data::default()
        };
        while let Some(key) = map.next_key::<Key>()? {
            data.shape = Shape::Object { empty: false };
            // A repeated key keeps its last value, as a JSON object would.
            let slot = match key {
                Key::OpportunityId => &mut data.opportunity_id,
                Key::ToStageId => &mut data.to_stage_id,
                Key::FromStageId => &mut data.from_stage_id,
                Key::CandidateId => &mut data.candidate_id,
                Key::ContactId => &mut data.contact_id,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value()?;
        }
        Ok(data)
    }
}

impl<'a> Envelope<'a> {
    /// Reads a delivery's body: JSON with `token`, `triggeredAt` (integer
    /// epoch ms) and `event`; anything else is refused with a message naming
    /// what is wrong. (`signature` may be absent here: whether that is
    /// acceptable is the receiver's call.)
    pub fn parse(text: &'a str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                format!("the body is not JSON: {e}")
            } else {
                format!("the body is not a Lever webhook delivery: {e}")
            }
        })
    }
}
