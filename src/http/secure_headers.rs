//! Headers for the pages whose URL holds a secret (the live and results
//! links, Lever's OAuth callback with its `code` and `state`), on every answer
//! they give, HTML, JSON or error: no framing (`frame-ancestors 'none'`), no
//! script, no content sniffing, no referrer, no caching, no indexing.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The pages' policy: inline `style` attributes are all they use.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", PAGE_CSP),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-robots-tag", "noindex"),
];

/// Whether `path` is one of the secret-bearing pages.
pub fn is_secret_page(path: &str) -> bool {
    path.starts_with("/live/") || path.starts_with("/results/") || path == "/oauth/lever/callback"
}

/// Middleware: the headers above on every answer of a secret-bearing page.
pub async fn secret_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let secret = is_secret_page(req.path());
    let mut res = next.call(req).await?;
    if secret {
        let h = res.headers_mut();
        for (name, value) in HEADERS {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
    Ok(res)
}
