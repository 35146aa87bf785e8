//! Files uploaded to an opportunity (`/opportunities/:id/files`): a strict
//! `multipart/form-data` upload as a `perform_as` user, the list (not
//! paged, as Lever's), one file, its download and its deletion, each
//! behind the scope Lever asks for. A file over [`MAX_FILE`] bytes is a
//! 413 (bodies over `api::MAX_BODY` never get here: `api` answers them 413).

use std::path::Path;

use serde_json::json;

use super::exec::Reply;
use super::multipart::{self, Part};
use super::ops::{ApiCall, epoch_ms, find};
use super::render;
use super::state::{Account, SimFile, new_id, now_ms};

const FILES_WRITE: &str = "files:write:admin";
const FILES_READ: &str = "files:read:admin";

/// Lever's "30MB" file limit, in its smaller reading.
pub(crate) const MAX_FILE: usize = 30_000_000;

/// `POST /opportunities/:id/files?perform_as=USER` with one `file` part →
/// 200 `{data: file}`.
pub(crate) fn upload(account: &mut Account, call: &ApiCall, opp: &str) -> Reply {
    if !call.has_scope(&[FILES_WRITE]) {
        return ApiCall::lacks_scope(FILES_WRITE);
    }
    let user = match call.required_user("the file is uploaded as") {
        Ok(user) => user.to_owned(),
        Err(reply) => return reply,
    };
    if !account.opportunities.contains_key(opp) {
        return Reply::not_found("opportunities", opp);
    }
    let file = match file_part(call) {
        Ok(file) => file,
        Err(message) => return Reply::bad_request(message),
    };
    if file.bytes.len() > MAX_FILE {
        return Reply::error(
            413,
            "RequestEntityTooLarge",
            format!("The file is larger than {MAX_FILE} bytes (30MB)"),
        );
    }
    let stored = SimFile {
        id: new_id(),
        ext: extension(&file.name),
        size: u64::try_from(file.bytes.len()).unwrap_or(u64::MAX),
        name: file.name,
        content_type: file.content_type,
        bytes: file.bytes,
        uploaded_at: now_ms(),
        user,
    };
    let rendered = render::file(&call.api_url, opp, &stored);
    account
        .files
        .entry(opp.to_owned())
        .or_default()
        .push(stored);
    Reply::json(200, json!({ "data": rendered }))
}

/// What the `file` part carried.
struct Upload {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// The one `file` part of the call's multipart body, with its filename
/// and its own Content-Type; the error is the message of the 400.
fn file_part(call: &ApiCall) -> Result<Upload, String> {
    let content_type = call
        .content_type
        .as_deref()
        .ok_or("Content-Type must be multipart/form-data")?;
    let boundary = multipart::boundary(content_type).map_err(|e| e.to_string())?;
    let parts = multipart::parse(&call.body, &boundary).map_err(|e| e.to_string())?;
    let mut files = parts.into_iter().filter(|p| p.name == "file");
    let (Some(part), None) = (files.next(), files.next()) else {
        return Err("the multipart body must have exactly one part named file".to_owned());
    };
    let Part {
        filename,
        content_type,
        body,
        ..
    } = part;
    let name = filename
        .filter(|f| !f.trim().is_empty())
        .ok_or("the file part has no filename in its Content-Disposition")?;
    let content_type = content_type
        .filter(|t| !t.trim().is_empty())
        .ok_or("the file part has no Content-Type")?;
    Ok(Upload {
        name,
        content_type,
        bytes: body.to_vec(),
    })
}

/// `résumé.PDF` → `.PDF`, with its dot as Lever shows it; none → `""`.
fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default()
}

/// `GET /opportunities/:id/files`: `{data: [...]}` (never the bytes), with
/// no paging (`limit`/`offset` are refused, as Lever does) and the
/// `uploaded_at_start`/`_end` filters (epoch ms, inclusive).
pub(crate) fn list(account: &Account, call: &ApiCall, opp: &str) -> Reply {
    if let Err(reply) = readable(account, call, opp) {
        return reply;
    }
    if call.query.get("limit").is_some() || call.query.get("offset").is_some() {
        return Reply::bad_request("pagination is not supported for this endpoint");
    }
    let (start, end) = match (
        epoch_ms(&call.query, "uploaded_at_start"),
        epoch_ms(&call.query, "uploaded_at_end"),
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let items: Vec<_> = account
        .files
        .get(opp)
        .into_iter()
        .flatten()
        .filter(|f| {
            start.is_none_or(|s| f.uploaded_at >= s) && end.is_none_or(|e| f.uploaded_at <= e)
        })
        .map(|f| render::file(&call.api_url, opp, f))
        .collect();
    Reply::json(200, json!({ "data": items }))
}

/// `DELETE /opportunities/:id/files/:file?perform_as=USER` → 204.
pub(crate) fn delete(account: &mut Account, call: &ApiCall, opp: &str, file: &str) -> Reply {
    if !call.has_scope(&[FILES_WRITE]) {
        return ApiCall::lacks_scope(FILES_WRITE);
    }
    if let Err(reply) = call.required_user("the file is deleted as") {
        return reply;
    }
    if !account.opportunities.contains_key(opp) {
        return Reply::not_found("opportunities", opp);
    }
    let files = account.files.entry(opp.to_owned()).or_default();
    let before = files.len();
    files.retain(|f| f.id != file);
    if files.len() == before {
        return Reply::not_found("files", file);
    }
    Reply::no_content()
}

/// `GET /opportunities/:id/files/:file`.
pub(crate) fn get(account: &Account, call: &ApiCall, opp: &str, file: &str) -> Reply {
    if let Err(reply) = readable(account, call, opp) {
        return reply;
    }
    let found = stored(account, opp, file).map(|f| render::file(&call.api_url, opp, f));
    find(found, "files", file)
}

/// `GET /opportunities/:id/files/:file/download`: the bytes as uploaded,
/// typed as uploaded.
pub(crate) fn download(account: &Account, call: &ApiCall, opp: &str, file: &str) -> Reply {
    if let Err(reply) = readable(account, call, opp) {
        return reply;
    }
    match stored(account, opp, file) {
        Some(f) => Reply::bytes(&f.content_type, f.bytes.clone()),
        None => Reply::not_found("files", file),
    }
}

/// The read scope (or the write one) and a known opportunity.
fn readable(account: &Account, call: &ApiCall, opp: &str) -> Result<(), Reply> {
    if !call.has_scope(&[FILES_READ, FILES_WRITE]) {
        return Err(ApiCall::lacks_scope(FILES_READ));
    }
    if !account.opportunities.contains_key(opp) {
        return Err(Reply::not_found("opportunities", opp));
    }
    Ok(())
}

fn stored<'a>(account: &'a Account, opp: &str, file: &str) -> Option<&'a SimFile> {
    account.files.get(opp)?.iter().find(|f| f.id == file)
}

#[cfg(test)]
mod tests {
    use super::extension;

    #[test]
    fn the_extension_is_the_filenames() {
        assert_eq!(extension("result.pdf"), ".pdf");
        assert_eq!(extension("a.b.PDF"), ".PDF");
        assert_eq!(extension("README"), "");
        assert_eq!(extension(".hidden"), "");
    }
}
