//! The markup side of the public pages: escaping, the page frame, the
//! headers a page whose URL holds a secret token needs, and how result
//! values print.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use serde_json::Value;

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

/// HTML-escapes text for element content and quoted attributes alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page; `body` is already-escaped HTML, `title` is plain text.
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
         <h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            crate::http::secure_headers::PAGE_CSP,
        ))
        .body(page)
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
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">R&D's</a>"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn scores_print_as_people_write_them() {
        assert_eq!(score_text(&json!(87)), "87");
        assert_eq!(score_text(&json!(87.0)), "87");
        assert_eq!(score_text(&json!(87.5)), "87.5");
        assert_eq!(score_text(&Value::Null), "—");
    }
}
