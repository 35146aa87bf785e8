//! The pages whose URL holds a secret (live and results links, the OAuth
//! callback) forbid framing, sniffing, referrers and caching on every answer.

use crate::helpers::spawn_app;

#[actix_web::test]
async fn secret_pages_send_strict_headers_on_every_answer() {
    let app = spawn_app().await;
    for (path, accept) in [
        ("/live/unknown-token", "text/html"),
        ("/live/unknown-token", "application/json"),
        ("/results/unknown-token", "text/html"),
        ("/oauth/lever/callback?state=nope&code=nope", "text/html"),
        ("/oauth/lever/callback", "application/json"),
        ("/live/a%00b", "text/html"),
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .insert_header(("Accept", accept))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
        let h = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(h("cache-control"), "no-store", "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
    }
}
