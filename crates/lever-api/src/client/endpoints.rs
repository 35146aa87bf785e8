//! The Lever endpoints the service uses (docs/contract/lever-calls.md hot path, connect and
//! disconnect), each a thin typed wrapper over [`LeverClient::call`].

use awc::http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LeverClient;
use super::call::Request;
use crate::errors::LeverError;
use crate::wire::{
    ArchiveReason, DeletedOpportunity, LinksBody, ListEnvelope, Note, NoteCreate, NoteCreated,
    Opportunity, Posting, Stage, TagsBody, User, WebhookCreate, WebhookSubscription, parse_data,
    parse_list, parse_webhook_created,
};

/// Lever's largest page size.
const PAGE_LIMIT: &str = "100";
/// A guard against a server that keeps saying `hasNext`.
const MAX_PAGES: usize = 1000;

impl LeverClient {
    /// `GET /opportunities/:id?expand=applications`.
    pub async fn get_opportunity(&self, id: &str) -> Result<Opportunity, LeverError> {
        let req = get("get_opportunity", format!("/opportunities/{}", seg(id)))
            .with_query("expand", "applications");
        self.fetch_data(req).await
    }

    /// `GET /postings/:id`.
    pub async fn get_posting(&self, id: &str) -> Result<Posting, LeverError> {
        self.fetch_data(get("get_posting", format!("/postings/{}", seg(id))))
            .await
    }

    /// All stages, following `next` while `hasNext`.
    pub async fn list_stages(&self) -> Result<Vec<Stage>, LeverError> {
        self.fetch_all("list_stages", "/stages", &[]).await
    }

    /// Every archive reason of the account (`GET /archive_reasons`), inactive
    /// ones included: old archives use them.
    pub async fn list_archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError> {
        self.fetch_all("list_archive_reasons", "/archive_reasons", &[])
            .await
    }

    /// The opportunities deleted since `start_ms` (`GET
    /// /opportunities/deleted?deleted_at_start=`, inclusive), every page.
    pub async fn list_deleted_opportunities(
        &self,
        start_ms: i64,
    ) -> Result<Vec<DeletedOpportunity>, LeverError> {
        let filter = [("deleted_at_start", start_ms.to_string())];
        self.fetch_all(
            "list_deleted_opportunities",
            "/opportunities/deleted",
            &filter,
        )
        .await
    }

    /// Users, optionally filtered by email (to pick `perform_as`).
    pub async fn list_users(&self, email: Option<&str>) -> Result<Vec<User>, LeverError> {
        let filter: Vec<(&'static str, String)> =
            email.map(|e| ("email", e.to_owned())).into_iter().collect();
        self.fetch_all("list_users", "/users", &filter).await
    }

    pub async fn add_links(&self, opp: &str, links: &[String]) -> Result<(), LeverError> {
        let body = LinksBody {
            links: links.to_vec(),
        };
        self.write("add_links", opp_path(opp, "addLinks"), &body)
            .await
    }

    pub async fn remove_links(&self, opp: &str, links: &[String]) -> Result<(), LeverError> {
        let body = LinksBody {
            links: links.to_vec(),
        };
        self.write("remove_links", opp_path(opp, "removeLinks"), &body)
            .await
    }

    pub async fn add_tags(&self, opp: &str, tags: &[String]) -> Result<(), LeverError> {
        let body = TagsBody {
            tags: tags.to_vec(),
        };
        self.write("add_tags", opp_path(opp, "addTags"), &body)
            .await
    }

    pub async fn remove_tags(&self, opp: &str, tags: &[String]) -> Result<(), LeverError> {
        let body = TagsBody {
            tags: tags.to_vec(),
        };
        self.write("remove_tags", opp_path(opp, "removeTags"), &body)
            .await
    }

    /// `PUT /opportunities/:id/stage` with `{"stage": stage}`: moves the
    /// candidate (the answer, the opportunity, is not needed).
    pub async fn move_to_stage(&self, opp: &str, stage: &str) -> Result<(), LeverError> {
        let mut req = post_json(
            "move_to_stage",
            opp_path(opp, "stage"),
            &serde_json::json!({ "stage": stage }),
        )?;
        req.method = Method::PUT;
        self.call(req).await.map(|_| ())
    }

    /// `POST /opportunities/:id/notes`; returns the note id.
    pub async fn create_note(&self, opp: &str, note: &NoteCreate) -> Result<String, LeverError> {
        let req = post_json("create_note", opp_path(opp, "notes"), note)?;
        let (_, body) = self.call(req).await?;
        decode::<NoteCreated>("create_note", &body).map(|n| n.note_id)
    }

    /// All notes of an opportunity.
    pub async fn list_notes(&self, opp: &str) -> Result<Vec<Note>, LeverError> {
        self.fetch_all("list_notes", &opp_path(opp, "notes"), &[])
            .await
    }

    /// Every opportunity now in `stage` (`GET /opportunities?stage_id=`),
    /// 100 a page, following `next` while `hasNext`.
    pub async fn list_stage_opportunities(
        &self,
        stage: &str,
    ) -> Result<Vec<Opportunity>, LeverError> {
        let filter = [("stage_id", stage.to_owned())];
        self.fetch_all("list_opportunities", "/opportunities", &filter)
            .await
    }

    /// One page of `GET /opportunities` with `filter` (Lever's names:
    /// `stage_id`, `posting_id`, `tag`, `updated_at_start`, ...; repeat a
    /// key for a union), 100 a page, from `offset` (the previous page's
    /// `next`; `None` for the first). For callers that pace themselves
    /// between pages; [`ListEnvelope::next_offset`] says whether to go on.
    pub async fn list_opportunities_page(
        &self,
        filter: &[(&'static str, String)],
        offset: Option<&str>,
    ) -> Result<ListEnvelope<Opportunity>, LeverError> {
        let mut req =
            get("list_opportunities", "/opportunities".to_owned()).with_query("limit", PAGE_LIMIT);
        req.query.extend(filter.iter().cloned());
        if let Some(offset) = offset {
            req = req.with_query("offset", offset);
        }
        let (_, body) = self.call(req).await?;
        parse_list(&body).map_err(|e| LeverError::Decode {
            endpoint: "list_opportunities",
            detail: e.to_string(),
        })
    }

    /// `POST /webhooks`; the result carries `configuration.signatureToken`.
    pub async fn create_webhook(
        &self,
        hook: &WebhookCreate,
    ) -> Result<WebhookSubscription, LeverError> {
        let req = post_json("create_webhook", "/webhooks".to_owned(), hook)?;
        let (_, body) = self.call(req).await?;
        parse_webhook_created(&body).map_err(|e| LeverError::Decode {
            endpoint: "create_webhook",
            detail: e.to_string(),
        })
    }

    /// Every webhook of the account (`GET /webhooks`), following `next`.
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookSubscription>, LeverError> {
        self.fetch_all("list_webhooks", "/webhooks", &[]).await
    }

    /// `DELETE /webhooks/:id` (204).
    pub async fn delete_webhook(&self, id: &str) -> Result<(), LeverError> {
        let req = Request {
            endpoint: "delete_webhook",
            method: Method::DELETE,
            path: format!("/webhooks/{}", seg(id)),
            query: Vec::new(),
            body: None,
            content_type: None,
        };
        self.call(req).await.map(|_| ())
    }

    async fn fetch_data<T: DeserializeOwned>(&self, req: Request) -> Result<T, LeverError> {
        let endpoint = req.endpoint;
        let (_, body) = self.call(req).await?;
        parse_data(&body).map_err(|e| LeverError::Decode {
            endpoint,
            detail: e.to_string(),
        })
    }

    pub(super) async fn fetch_all<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        filter: &[(&'static str, String)],
    ) -> Result<Vec<T>, LeverError> {
        let mut items = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut req = get(endpoint, path.to_owned()).with_query("limit", PAGE_LIMIT);
            req.query.extend(filter.iter().cloned());
            if let Some(offset) = &offset {
                req = req.with_query("offset", offset);
            }
            let (_, body) = self.call(req).await?;
            let page: ListEnvelope<T> = parse_list(&body).map_err(|e| LeverError::Decode {
                endpoint,
                detail: e.to_string(),
            })?;
            offset = page.next_offset().map(str::to_owned);
            items.extend(page.data);
            if offset.is_none() {
                return Ok(items);
            }
        }
        Err(LeverError::Decode {
            endpoint,
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// A write whose answer body is not needed (addTags and friends answer
    /// with the opportunity, which is UNCONFIRMED and therefore not parsed).
    async fn write<B: Serialize>(
        &self,
        endpoint: &'static str,
        path: String,
        body: &B,
    ) -> Result<(), LeverError> {
        self.call(post_json(endpoint, path, body)?)
            .await
            .map(|_| ())
    }
}

impl Request {
    pub(super) fn with_query(mut self, key: &'static str, value: &str) -> Self {
        self.query.push((key, value.to_owned()));
        self
    }
}

pub(super) fn get(endpoint: &'static str, path: String) -> Request {
    Request {
        endpoint,
        method: Method::GET,
        path,
        query: Vec::new(),
        body: None,
        content_type: None,
    }
}

pub(super) fn post_json<B: Serialize>(
    endpoint: &'static str,
    path: String,
    body: &B,
) -> Result<Request, LeverError> {
    let body = serde_json::to_vec(body).map_err(|e| LeverError::Decode {
        endpoint,
        detail: format!("encoding the request: {e}"),
    })?;
    Ok(Request {
        endpoint,
        method: Method::POST,
        path,
        query: Vec::new(),
        body: Some(body),
        content_type: None,
    })
}

fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, LeverError> {
    parse_data(body).map_err(|e| LeverError::Decode {
        endpoint,
        detail: e.to_string(),
    })
}

pub(super) fn opp_path(opp: &str, action: &str) -> String {
    format!("/opportunities/{}/{action}", seg(opp))
}

/// Percent-encodes an id used as one path segment (ids come from webhooks,
/// which the signature does not cover).
fn seg(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
