//! The markup side of the public pages (the live and results links, the
//! OAuth return): the page frame, content negotiation, the headers a page
//! whose URL holds a secret token needs, and how result values print.
//! Templates are maud's, which escapes every value it is given.

use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

/// Whether the request asks for JSON instead of a page.
pub fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// A score as people write it: `87`, not `87.0`.
pub fn score_text(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => "—".into(),
    }
}

pub fn text_or_dash(v: &Value) -> String {
    v.as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("—")
        .to_owned()
}

/// A page with `title` as its heading and `body` under it.
pub fn page(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { (title) }
            }
            body style="font-family:sans-serif;max-width:40em;margin:4em auto" {
                h1 { (title) }
                (body)
            }
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            crate::http::secure_headers::PAGE_CSP,
        ))
        .body(page.into_string())
}

/// Adds the headers every page needs: the URL holds a secret token.
pub fn respond(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-robots-tag", "noindex"),
        ("x-content-type-options", "nosniff"),
    ] {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let resp = page(
            StatusCode::OK,
            "R&D's <b>",
            html! { p { "<a href=\"x\">" } },
        );
        let body = actix_web::body::MessageBody::try_into_bytes(resp.into_body())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        assert!(body.contains("R&amp;D's &lt;b&gt;"), "{body}");
        assert!(body.contains("&lt;a href=&quot;x&quot;&gt;"), "{body}");
    }

    #[test]
    fn scores_print_as_people_write_them() {
        assert_eq!(score_text(&json!(87)), "87");
        assert_eq!(score_text(&json!(87.0)), "87");
        assert_eq!(score_text(&json!(87.5)), "87.5");
        assert_eq!(score_text(&Value::Null), "—");
    }
}
