//! A small JSON-over-HTTP client for the demo: everything the demo does goes
//! through here, to our public API or to the simulator's `/_sim/` control
//! API, so it exercises exactly what a real deployment exposes.

use std::time::Duration;

use actix_web::http::Method;
use anyhow::{Context, anyhow, bail};
use serde_json::Value;

/// Large enough for the OpenAPI document, small enough to fail fast on junk.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A response read whole: status, `Location` header and JSON body (`Null`
/// when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Value,
}

/// The demo's HTTP client. Redirects are never followed: the OAuth step
/// must stop at the simulator's redirect to read our callback URL from it.
#[derive(Clone)]
pub struct Http {
    client: awc::Client,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        Self {
            client: awc::Client::builder()
                .disable_redirects()
                .timeout(Duration::from_secs(15))
                .finish(),
        }
    }

    /// Sends one request; any HTTP status is an `Ok` answer.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut req = self
            .client
            .request(method.clone(), url)
            .insert_header(("Accept", "application/json"));
        if let Some(token) = bearer {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let sent = match body {
            Some(json) => req.send_json(json).await,
            None => req.send().await,
        };
        // awc's errors are not `Send`, so they are turned into text here.
        let mut res = sent.map_err(|e| anyhow!("{method} {url}: {e}"))?;
        let bytes = res
            .body()
            .limit(BODY_LIMIT)
            .await
            .map_err(|e| anyhow!("{method} {url}: reading the answer: {e}"))?;
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Answer {
            status: res.status().as_u16(),
            location,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// Sends and insists on `want`, naming the call and its answer otherwise.
    pub async fn expect(
        &self,
        want: u16,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let answer = self.send(method.clone(), url, bearer, body).await?;
        if answer.status != want {
            bail!(
                "{method} {url} answered {} (expected {want}): {}",
                answer.status,
                answer.body
            );
        }
        Ok(answer)
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>) -> anyhow::Result<Value> {
        Ok(self.expect(200, Method::GET, url, bearer, None).await?.body)
    }

    pub async fn post(
        &self,
        want: u16,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        Ok(self
            .expect(want, Method::POST, url, bearer, Some(body))
            .await?
            .body)
    }
}

/// A string field of a JSON answer, or an error naming it.
pub fn text(v: &Value, field: &str) -> anyhow::Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the answer has no `{field}`: {v}"))
}
