//! Lever OAuth (docs/contract/lever-facts.md, docs/contract/lever-calls.md): the authorize URL, the code
//! exchange, refresh with rotation, and the error Lever puts on the callback.
//!
//! Settings used (converted by the app): `LEVER_CLIENT_ID`,
//! `LEVER_CLIENT_SECRET`, `LEVER_AUTH_URL`, `LEVER_API_URL` (the audience is
//! it plus `/`), and the service's redirect URI.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use super::errors::LeverError;
use super::http::HttpSettings;
use super::wire::{TokenResponse, decode_access_token_claims};

/// The scopes docs/contract/lever-calls.md requests by default
/// (`LEVER_SCOPES` may name fewer, never fewer than [`CORE_SCOPES`]).
pub const SCOPES: &str = "offline_access opportunities:write:admin notes:write:admin \
stages:read:admin postings:read:admin webhooks:read:admin webhooks:write:admin \
confidential:access:admin archive_reasons:read:admin feedback:write:admin \
feedback_templates:write:admin files:write:admin";

/// The scopes without which the service cannot link a candidate at all.
pub const CORE_SCOPES: [&str; 7] = [
    "offline_access",
    "opportunities:write:admin",
    "notes:write:admin",
    "stages:read:admin",
    "postings:read:admin",
    "webhooks:read:admin",
    "webhooks:write:admin",
];

/// The registered OAuth app and the Lever hosts it talks to.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `LEVER_AUTH_URL`, e.g. `https://auth.lever.co`.
    pub auth_url: String,
    /// `LEVER_API_URL`, e.g. `https://api.lever.co/v1`.
    pub api_url: String,
    pub redirect_uri: String,
    /// The scopes the authorize URL asks for, space-separated.
    pub scopes: String,
}

impl OAuthConfig {
    /// `LEVER_API_URL` with exactly one trailing slash.
    pub fn audience(&self) -> String {
        format!("{}/", self.api_url.trim_end_matches('/'))
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.auth_url.trim_end_matches('/'))
    }

    /// The URL to send the admin to. `state` must be checked on return.
    /// The code Lever returns is bound to `state` by PKCE: see [`pkce`].
    pub fn authorize_url(&self, state: &str) -> Result<String, LeverError> {
        let base = format!("{}/authorize", self.auth_url.trim_end_matches('/'));
        let audience = self.audience();
        let challenge = pkce::challenge(&pkce::verifier(&self.client_secret, state));
        let url = url::Url::parse_with_params(
            &base,
            [
                ("client_id", self.client_id.as_str()),
                ("redirect_uri", self.redirect_uri.as_str()),
                ("response_type", "code"),
                ("state", state),
                ("audience", audience.as_str()),
                ("scope", self.scopes.as_str()),
                ("prompt", "consent"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .map_err(|e| LeverError::Config(format!("LEVER_AUTH_URL: {e}")))?;
        Ok(url.into())
    }
}

/// Tokens from one exchange or refresh.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: SecretString,
    /// The newest refresh token: the response's, or the one used to refresh
    /// when the response omitted it (never dropped).
    pub refresh_token: Option<SecretString>,
    pub expires_at: DateTime<Utc>,
    pub scope: Option<String>,
    /// The `accountId` claim, for identification only.
    pub account_id: Option<String>,
}

impl TokenGrant {
    fn from_response(resp: TokenResponse, previous_refresh: Option<&SecretString>) -> Self {
        let account_id = decode_access_token_claims(&resp.access_token)
            .ok()
            .and_then(|c| c.account_id);
        let expires_in = i64::try_from(resp.expires_in.unwrap_or(3600)).unwrap_or(3600);
        Self {
            refresh_token: resp
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from)
                .or_else(|| previous_refresh.cloned()),
            access_token: SecretString::from(resp.access_token),
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in),
            scope: resp.scope,
            account_id,
        }
    }
}

/// `{error, error_description}` as the token endpoint returns it.
#[derive(Debug, Default, Deserialize)]
struct OAuthErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Exchanges the callback's `code` for tokens; `state` is the callback's
/// (already checked) state, from which the PKCE verifier is derived, so a code
/// issued to another flow is refused by Lever.
pub async fn exchange_code(
    http: &HttpSettings,
    cfg: &OAuthConfig,
    code: &str,
    state: &str,
) -> Result<TokenGrant, LeverError> {
    let verifier = pkce::verifier(&cfg.client_secret, state);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.expose_secret()),
        ("code", code),
        ("redirect_uri", cfg.redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let resp = post_token(http, cfg, &form, false).await?;
    Ok(TokenGrant::from_response(resp, None))
}

/// Refreshes; `invalid_grant`, 401 and 403 mean the grant is gone.
pub async fn refresh(
    http: &HttpSettings,
    cfg: &OAuthConfig,
    refresh_token: &SecretString,
) -> Result<TokenGrant, LeverError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.expose_secret()),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    let resp = post_token(http, cfg, &form, true).await?;
    Ok(TokenGrant::from_response(resp, Some(refresh_token)))
}

async fn post_token(
    http: &HttpSettings,
    cfg: &OAuthConfig,
    form: &[(&str, &str)],
    is_refresh: bool,
) -> Result<TokenResponse, LeverError> {
    let mut resp = http
        .client()
        .post(cfg.token_url())
        .insert_header(("Accept", "application/json"))
        .send_form(&form)
        .await
        .map_err(|e| LeverError::Transport(format!("token endpoint: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .body()
        .limit(256 * 1024)
        .await
        .map_err(|e| LeverError::Transport(format!("token endpoint body: {e}")))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| LeverError::Decode {
            endpoint: "oauth_token",
            detail: e.to_string(),
        });
    }
    let err: OAuthErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let invalid_grant = err.error.as_deref() == Some("invalid_grant");
    if invalid_grant || (is_refresh && (status == 401 || status == 403)) {
        return Err(LeverError::NeedsReauth(
            err.error_description
                .unwrap_or_else(|| "Lever refused the stored grant".to_owned()),
        ));
    }
    Err(LeverError::OAuth {
        status,
        error: err.error,
        description: err.error_description,
    })
}

/// The query Lever appends to the redirect URI.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthorizeCallback {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl AuthorizeCallback {
    /// `Ok(code)` or the error Lever reported (a missing code counts as one).
    pub fn into_code(self) -> Result<String, CallbackError> {
        match (self.error, self.code) {
            (None, Some(code)) if !code.is_empty() => Ok(code),
            (error, _) => Err(CallbackError {
                error: error.unwrap_or_else(|| "missing_code".to_owned()),
                description: self.error_description,
            }),
        }
    }
}

/// Lever's `error` / `error_description` from the callback, kept so the
/// admin sees a plain-words reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.plain_message())]
pub struct CallbackError {
    pub error: String,
    pub description: Option<String>,
}

impl CallbackError {
    /// Lever only lets Super Admins authorise; Auth0 reports that as an
    /// `access_denied`/`unauthorized` whose description names the role.
    pub fn is_not_super_admin(&self) -> bool {
        let desc = self.description.as_deref().unwrap_or("").to_lowercase();
        desc.contains("super admin") || desc.contains("superadmin") || desc.contains("super_admin")
    }

    pub fn plain_message(&self) -> String {
        if self.is_not_super_admin() {
            return "Only a Lever Super Admin can connect Arkiter Live. Ask a Super Admin \
                    of your Lever account to click Connect and approve the request."
                .to_owned();
        }
        match self.error.as_str() {
            "access_denied" => "The Lever user declined the request, so Arkiter Live was not \
                                connected. Click Connect again and choose Allow."
                .to_owned(),
            "missing_code" => "Lever returned without an authorisation code. Start the \
                               connection again."
                .to_owned(),
            other => format!(
                "Lever could not authorise Arkiter Live ({other}{}). Start the connection again \
                 or contact support.",
                self.description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// PKCE (RFC 7636, S256) keyed to the flow's `state`: the verifier is an HMAC
/// of the state under the client secret, so nothing more is stored, only this
/// service can compute it, and a code obtained in one org's flow cannot be
/// redeemed with another org's state.
///
/// docs/contract/lever-facts.md does not list PKCE among Lever's authorize parameters
/// (UNCONFIRMED with Lever). Lever's authorization server is Auth0
/// (`auth.lever.co`, `sandbox-lever.auth0.com`), which implements RFC 7636
/// for every application type; the simulator enforces it.
pub mod pkce {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use secrecy::{ExposeSecret, SecretString};
    use sha2::{Digest, Sha256};

    /// 43 characters of base64url: the shortest verifier RFC 7636 allows.
    pub fn verifier(client_secret: &SecretString, state: &str) -> String {
        let key = client_secret.expose_secret().as_bytes();
        let mac = Hmac::<Sha256>::new_from_slice(key).map(|mut m| {
            m.update(b"arkiter-lever pkce verifier\0");
            m.update(state.as_bytes());
            m.finalize().into_bytes()
        });
        match mac {
            Ok(bytes) => URL_SAFE_NO_PAD.encode(bytes),
            // HMAC takes keys of any length; unreachable, but never panic.
            Err(_) => URL_SAFE_NO_PAD.encode(Sha256::digest(state.as_bytes())),
        }
    }

    /// `BASE64URL(SHA256(verifier))`.
    pub fn challenge(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rfc_7636_appendix_b_and_binding() {
            assert_eq!(
                challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            );
            let secret = SecretString::from("s".to_owned());
            let v = verifier(&secret, "state-a");
            assert_eq!(v.len(), 43);
            assert_eq!(v, verifier(&secret, "state-a"));
            assert_ne!(v, verifier(&secret, "state-b"));
        }
    }
}
