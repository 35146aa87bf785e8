//! The sender (docs/contract/alerts.md): on every instance, claims due
//! notifications from the outbox (`FOR UPDATE SKIP LOCKED`, pushed forward
//! while being sent, so two instances never send one at once), sends each
//! with its signature, and records the attempt: sent on a 2xx, else
//! retried with doubling waits until a day after it was queued. The
//! address rules are checked again at every send, and the send connects to
//! the address checked. Redirects are not followed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;

use super::address::{self, Kind, Resolver, Unfit};
use super::{body, signing};
use crate::config::AlertSettings;
use crate::db::Pool;
use crate::db::models::alert::{self, DueSend, SendResult};
use crate::domain::errors::Chain;
use crate::domain::secrets::SecretBox;

/// Notifications one claim takes.
const BATCH: i64 = 16;
/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// What the sender works with.
pub struct SenderParts {
    pub db: Pool,
    pub secrets: SecretBox,
    pub settings: AlertSettings,
    pub resolver: Resolver,
    pub wake: Arc<Notify>,
}

/// Sends due notifications for as long as the process lives.
pub async fn run(parts: SenderParts) {
    let client = client(&parts.settings);
    loop {
        tokio::select! {
            _ = actix_rt::time::sleep(parts.settings.send_poll) => {}
            _ = parts.wake.notified() => {}
        }
        loop {
            let hold = (parts.settings.send_timeout * 2 + Duration::from_secs(30)).as_secs_f64();
            let due = match parts
                .db
                .run(move |c| Ok(alert::claim_due(c, BATCH, hold)?))
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "claiming alert notifications failed");
                    break;
                }
            };
            if due.is_empty() {
                break;
            }
            let sends = due.iter().map(|d| send(&client, &parts, d));
            let results = futures_util::future::join_all(sends).await;
            for (d, r) in due.into_iter().zip(results) {
                let wait = parts
                    .settings
                    .retry_base
                    .saturating_mul(
                        2u32.saturating_pow(u32::try_from(d.attempts).unwrap_or(30).min(30)),
                    )
                    .min(MAX_WAIT);
                let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                super::metrics::sent(&r);
                if let Err(e) = parts
                    .db
                    .run(move |c| Ok(alert::record_send(c, &d, &r, retry_at)?))
                    .await
                {
                    tracing::warn!(error = %Chain(&e), "recording an alert send failed; it will be sent again");
                }
            }
        }
    }
}

fn client(settings: &AlertSettings) -> awc::Client {
    let mut connector = awc::Connector::new()
        .timeout(settings.send_timeout)
        .handshake_timeout(settings.send_timeout);
    if let Ok(tls) = crate::lever::http::tls_config(None) {
        connector = connector.rustls_0_23(tls);
    }
    awc::Client::builder()
        .connector(connector)
        .timeout(settings.send_timeout)
        .disable_redirects()
        .add_default_header(("User-Agent", "arkiter-lever-alerts"))
        .finish()
}

fn failed(error: impl Into<String>) -> SendResult {
    SendResult {
        status: None,
        error: Some(error.into()),
        ok: false,
    }
}

/// One send of one notification.
async fn send(client: &awc::Client, parts: &SenderParts, due: &DueSend) -> SendResult {
    let allow = parts.settings.allow_private;
    let kind = match due.destination_kind.as_str() {
        "slack" => Kind::Slack,
        _ => Kind::Webhook,
    };
    let url = match address::check_url(&due.url, kind, allow) {
        Ok(u) => u,
        Err(Unfit(why)) => return failed(why),
    };
    let addr = match address::resolve_public(&url, &parts.resolver, allow).await {
        Ok(a) => a,
        Err(Unfit(why)) => return failed(format!("not sent: {why}")),
    };
    let payload = match kind {
        Kind::Slack => body::slack(&due.body),
        Kind::Webhook => due.body.clone(),
    };
    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
    let mut req = client
        .post(url.as_str())
        .insert_header(("Content-Type", "application/json"));
    if let Some(a) = addr {
        req = req.address(a);
    }
    if kind == Kind::Webhook {
        let Some(secret) = due
            .secret_enc
            .as_deref()
            .and_then(|s| parts.secrets.open(s).ok())
        else {
            return failed("the destination's secret cannot be read");
        };
        let id = due.id.to_string();
        let ts = Utc::now().timestamp();
        let Some(sig) = signing::signature(&secret, &id, ts, &bytes) else {
            return failed("the destination's secret is not valid");
        };
        req = req
            .insert_header(("webhook-id", id))
            .insert_header(("webhook-timestamp", ts.to_string()))
            .insert_header(("webhook-signature", sig));
    }
    match req.send_body(bytes).await {
        Ok(mut resp) => {
            let status = resp.status();
            // Read (a little of) the answer so the connection can be reused.
            let _ = resp.body().limit(64 * 1024).await;
            SendResult {
                status: Some(i16::try_from(status.as_u16()).unwrap_or(i16::MAX)),
                error: (!status.is_success()).then(|| format!("answered HTTP {}", status.as_u16())),
                ok: status.is_success(),
            }
        }
        Err(e) => failed(format!("not delivered: {e}")),
    }
}
