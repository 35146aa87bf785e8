//! `LeverClient`: one logical client per Lever connection.
//!
//! It holds the connection's governor limiter (`LEVER_RATE_PER_SEC`,
//! `LEVER_BURST`), its [`TokenSource`] and the retry policy; the awc HTTP
//! client itself comes from [`HttpSettings::client`] per thread. The handle
//! is `Send + Sync + Clone`; its futures are not `Send` (awc), so await them
//! on an arbiter. See the private `call` module for the retry rules.

mod call;
mod endpoints;
mod results;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::errors::LeverError;
use super::http::HttpSettings;
use super::metrics::CallOutcome;
use super::retry::RetryPolicy;
use super::token::TokenSource;

/// Called with the outcome of every call (for the connection's health).
pub type OutcomeObserver = Arc<dyn Fn(&CallOutcome) + Send + Sync>;

/// Called after every attempt of every call (each HTTP request sent, a
/// retry being another attempt): the per-candidate call records.
pub type AttemptRecorder = Arc<dyn Fn(&AttemptRecord) + Send + Sync>;

/// One HTTP attempt of a call, as the call records keep it: never a body,
/// a query, a token or an id from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The method and the path with its ids replaced by `{id}`, e.g.
    /// `POST /opportunities/{id}/addLinks`.
    pub route: String,
    /// Lever's HTTP status; `None` when no answer came (a timeout, a cut
    /// connection).
    pub status: Option<u16>,
    /// 1 for the first attempt of the call, 2 for its first retry, ...
    pub attempt: u32,
    /// When the attempt was sent.
    pub sent_at: std::time::SystemTime,
    pub elapsed: Duration,
}

/// Asked before every send of a write, retries included: false means this
/// instance may no longer write for the connection (its lease or its claim
/// on the candidate moved on). It may ask a database, hence a future.
pub type WriteFence = Arc<dyn Fn() -> LocalBoxFuture<'static, bool> + Send + Sync>;

/// After a write was cut (a timeout, a dropped connection) it may still land
/// at Lever for this long: a request already accepted by Lever's servers is
/// not undone by the client giving up. A checking read waits this long.
pub const LATE_LANDING: Duration = Duration::from_secs(10);

/// The longest a write may take to land once it is sent: resends within
/// the write budget, each up to the request timeout, and a late landing.
pub fn write_lands_within(http: &HttpSettings) -> Duration {
    call::WRITE_RETRY_BUDGET + http.request_timeout + LATE_LANDING
}

/// What a connection's client needs; the app builds it from its settings.
#[derive(Clone)]
pub struct LeverClientConfig {
    /// `LEVER_API_URL`, e.g. `https://api.lever.co/v1`.
    pub api_url: String,
    pub retry: RetryPolicy,
    /// Lever user id passed as `perform_as` on writes.
    pub perform_as: Option<String>,
    pub http: Arc<HttpSettings>,
    pub observer: Option<OutcomeObserver>,
    /// `None`: writes are not fenced (admin requests, tools, tests).
    pub fence: Option<WriteFence>,
    /// `None`: attempts are not recorded.
    pub recorder: Option<AttemptRecorder>,
}

/// Builds the per-connection token bucket: `rate_per_sec` steady, `burst`
/// at once. Keep it with the connection so it outlives client rebuilds.
pub fn new_limiter(
    rate_per_sec: u32,
    burst: u32,
) -> Result<Arc<DefaultDirectRateLimiter>, LeverError> {
    let rate = NonZeroU32::new(rate_per_sec)
        .ok_or_else(|| LeverError::Config("LEVER_RATE_PER_SEC must be > 0".into()))?;
    let burst = NonZeroU32::new(burst)
        .ok_or_else(|| LeverError::Config("LEVER_BURST must be > 0".into()))?;
    Ok(Arc::new(RateLimiter::direct(
        Quota::per_second(rate).allow_burst(burst),
    )))
}

#[derive(Clone)]
pub struct LeverClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: LeverClientConfig,
    limiter: Arc<DefaultDirectRateLimiter>,
    tokens: Arc<dyn TokenSource>,
}

impl LeverClient {
    pub fn new(
        config: LeverClientConfig,
        limiter: Arc<DefaultDirectRateLimiter>,
        tokens: Arc<dyn TokenSource>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                limiter,
                tokens,
            }),
        }
    }

    /// The same connection (limiter, tokens) with another `perform_as`.
    pub fn with_perform_as(&self, perform_as: Option<String>) -> Self {
        let mut config = self.inner.config.clone();
        config.perform_as = perform_as;
        self.with_config(config)
    }

    /// The same connection whose every write send first asks `fence`.
    pub fn with_fence(&self, fence: WriteFence) -> Self {
        let mut config = self.inner.config.clone();
        config.fence = Some(fence);
        self.with_config(config)
    }

    /// The same connection whose every attempt is handed to `recorder`.
    pub fn with_recorder(&self, recorder: AttemptRecorder) -> Self {
        let mut config = self.inner.config.clone();
        config.recorder = Some(recorder);
        self.with_config(config)
    }

    fn with_config(&self, config: LeverClientConfig) -> Self {
        Self::new(
            config,
            self.inner.limiter.clone(),
            self.inner.tokens.clone(),
        )
    }

    pub fn limiter(&self) -> &Arc<DefaultDirectRateLimiter> {
        &self.inner.limiter
    }

    pub fn tokens(&self) -> &Arc<dyn TokenSource> {
        &self.inner.tokens
    }

    pub fn config(&self) -> &LeverClientConfig {
        &self.inner.config
    }
}
