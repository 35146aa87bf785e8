//! The list conventions every list shares: `limit` (default 50, values
//! above 200 clamped to 200, below 1 refused) and an opaque `cursor`; a list
//! is `{"items": [...], "next_cursor": ... | null}`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ServiceError;
use super::access::{Caller, KeyRole};
use crate::db::DbError;
use crate::db::models::org::Org;
use crate::db::models::page::{Cursor, Page, PageRequest};
use crate::domain::ids::OrgId;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size: default 50, values above 200 are clamped to 200.
    #[serde(default, deserialize_with = "saturating_limit")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The default page size, after `cursor` (the console's pages).
    pub fn after(cursor: Option<String>) -> Self {
        Self {
            limit: None,
            cursor,
        }
    }

    pub fn page(&self) -> Result<PageRequest, ServiceError> {
        if let Some(n) = self.limit
            && n < 1
        {
            return Err(ServiceError::invalid(
                "limit",
                format!("`limit` must be at least 1; got {n}"),
            ));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                ServiceError::bad_query("`cursor` is not a cursor this service gave out")
            })?),
        };
        Ok(PageRequest::new(self.limit, after))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn from_page<R>(page: Page<R>, f: impl Fn(R) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(f).collect(),
            next_cursor: page.next.map(|c| c.encode()),
        }
    }
}

/// One page of an org's list: the shape every list route and its console
/// page share. The caller must hold `role` in `org`; the page request must be
/// valid; an org that does not exist is a 404 (the super-admin may name any
/// org), never an empty list; `load` reads the page and `view` shapes each row.
pub async fn org_page<R, T, L>(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    role: KeyRole,
    query: &ListQuery,
    load: L,
    view: impl Fn(R) -> T,
) -> Result<List<T>, ServiceError>
where
    R: Send + 'static,
    L: FnOnce(&mut diesel::PgConnection, PageRequest) -> diesel::QueryResult<Page<R>>
        + Send
        + 'static,
{
    caller.require_org(org, role)?;
    let page = query.page()?;
    let rows = state
        .db
        .run(move |conn| {
            Org::find(conn, org.0)?;
            Ok(load(conn, page)?)
        })
        .await
        .map_err(|e| match e {
            DbError::Query(diesel::result::Error::NotFound) => ServiceError::not_found("org"),
            other => other.into(),
        })?;
    Ok(List::from_page(rows, view))
}

/// `limit` as an integer of any size: docs/contract/http-api.md clamps it, so a number past
/// `i64` (`9223372036854775808`) is "very large", not malformed. Anything
/// else that is not an integer is a 400.
pub fn saturating_limit<'de, D>(de: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let Some(text) = Option::<String>::deserialize(de)? else {
        return Ok(None);
    };
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom(format!(
            "`limit` must be an integer; got `{text}`"
        )));
    }
    let value = digits.parse::<i64>().unwrap_or(i64::MAX);
    Ok(Some(if negative { -value } else { value }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::ListQuery;

    fn limit(q: &str) -> Result<Option<i64>, String> {
        serde_urlencoded::from_str::<ListQuery>(q)
            .map(|l| l.limit)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn limits_saturate_and_clamp() {
        assert_eq!(limit("limit=9223372036854775808"), Ok(Some(i64::MAX)));
        assert_eq!(limit("limit=-99999999999999999999"), Ok(Some(-i64::MAX)));
        let refused = serde_urlencoded::from_str::<ListQuery>("limit=-1")
            .unwrap()
            .page()
            .unwrap_err();
        assert_eq!(refused.field(), Some("limit"));
        assert_eq!(limit("limit=7"), Ok(Some(7)));
        assert_eq!(limit(""), Ok(None));
        assert!(limit("limit=ten").is_err());
        let page = serde_urlencoded::from_str::<ListQuery>("limit=99999999999999999999")
            .unwrap()
            .page()
            .unwrap();
        assert_eq!(page.limit, 200);
    }
}
