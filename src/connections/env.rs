//! What every Lever call of this process shares, built once from the settings
//! (`LEVER_CLIENT_ID`, `LEVER_CLIENT_SECRET`, `LEVER_AUTH_URL`, `LEVER_API_URL`,
//! `LEVER_RATE_PER_SEC`, `LEVER_BURST`) and the public URL (OAuth redirect).

use std::sync::Arc;

use crate::config::LeverSettings;
use crate::lever::{HttpSettings, LeverError, OAuthConfig, RetryPolicy};

#[derive(Debug, Clone)]
pub struct LeverEnv {
    pub http: Arc<HttpSettings>,
    /// `None` while `LEVER_CLIENT_ID`/`LEVER_CLIENT_SECRET` are unset.
    pub oauth: Option<OAuthConfig>,
    pub api_url: String,
    pub retry: RetryPolicy,
    pub rate_per_sec: u32,
    pub burst: u32,
}

impl LeverEnv {
    pub fn new(lever: &LeverSettings, public_url: &str) -> Result<Self, LeverError> {
        let oauth = match (&lever.client_id, &lever.client_secret) {
            (Some(id), Some(secret)) => Some(OAuthConfig {
                client_id: id.clone(),
                client_secret: secret.clone(),
                auth_url: lever.auth_url.clone(),
                api_url: lever.api_url.clone(),
                redirect_uri: format!("{public_url}/oauth/lever/callback"),
                scopes: lever.scopes.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            http: HttpSettings::defaults()?,
            oauth,
            api_url: lever.api_url.clone(),
            retry: lever.retry.clone(),
            rate_per_sec: lever.rate_per_sec.get(),
            burst: lever.burst.get(),
        })
    }
}
