//! The OAuth token response and the access token's claims (docs/contract/lever-facts.md).
//!
//! The claims are read WITHOUT verifying the JWT signature: they are used only
//! to identify which Lever account a token belongs to (docs/contract/lever-calls.md), never to grant anything.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::JsonMap;

/// `{access_token, refresh_token, token_type, scope, expires_in}` from
/// `POST /oauth/token` (both grants). `refresh_token` is absent when
/// `offline_access` was not granted or the server chose not to rotate.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

// Tokens must never reach a log line, so Debug is written by hand.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Claims of Lever's access-token JWT that we care about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    #[serde(
        rename = "https://oauth.lever.co/accountId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_id: Option<String>,
    #[serde(
        rename = "https://oauth.lever.co/userId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    #[serde(
        rename = "https://oauth.lever.co/clientId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// A string or an array of strings in JWTs; kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(flatten)]
    pub extra: JsonMap,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtDecodeError {
    #[error("the access token is not a three-part JWT")]
    NotAJwt,
    #[error("the access token payload is not base64url")]
    NotBase64,
    #[error("the access token payload is not a JSON object: {0}")]
    NotJson(String),
}

/// Decodes the payload of `header.payload.signature` without checking the
/// signature (see the module doc for why that is acceptable here).
pub fn decode_access_token_claims(token: &str) -> Result<AccessTokenClaims, JwtDecodeError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtDecodeError::NotAJwt);
    };
    // Some encoders keep the `=` padding; base64url proper has none.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| JwtDecodeError::NotBase64)?;
    serde_json::from_slice(&bytes).map_err(|e| JwtDecodeError::NotJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_account_id_claim() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"https://oauth.lever.co/accountId":"acc-1","exp":12,"iss":"https://auth.lever.co/","aud":["x"]}"#,
        );
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        let claims = decode_access_token_claims(&token).expect("decodes");
        assert_eq!(claims.account_id.as_deref(), Some("acc-1"));
        assert_eq!(claims.exp, Some(12));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            decode_access_token_claims("abc"),
            Err(JwtDecodeError::NotAJwt)
        );
        assert_eq!(
            decode_access_token_claims("a.$$$.c"),
            Err(JwtDecodeError::NotBase64)
        );
        assert!(matches!(
            decode_access_token_claims("a.YWJj.c"),
            Err(JwtDecodeError::NotJson(_))
        ));
    }
}
