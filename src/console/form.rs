//! The console's forms, read strictly: `application/x-www-form-urlencoded`
//! only, at most [`MAX_FORM`] bytes, and text that is valid UTF-8 once
//! percent-decoded. A form that is none of these is refused with 400 (413
//! when too large) before any handler runs; actix's own form extractor
//! would instead have turned broken UTF-8 into U+FFFD and stored it. What
//! the fields may hold is the application functions' to check.

use std::borrow::Cow;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use percent_encoding::percent_decode;

use super::ConsoleError;

/// Largest form the console reads (a role's 500 entries of 200 characters).
pub const MAX_FORM: usize = 512 * 1024;

/// The fields of a submitted form, in order (a field may repeat).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The last value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Reads the request's form.
    pub async fn read(req: &HttpRequest, payload: &mut Payload) -> Result<Self, ConsoleError> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ConsoleError::BadForm(
                "send the form as application/x-www-form-urlencoded".into(),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ConsoleError::BadForm(format!("the form could not be read: {e}")))?;
            if body.len() + chunk.len() > MAX_FORM {
                return Err(ConsoleError::FormTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body).map(Self)
    }
}

impl FromRequest for Fields {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move { Self::read(&req, &mut payload).await })
    }
}

/// `a=1&b=x+y&c=%C3%A9` into its pairs; broken UTF-8 is refused.
fn parse(body: &[u8]) -> Result<Vec<(String, String)>, ConsoleError> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn decode(part: &[u8]) -> Result<String, ConsoleError> {
    let spaced: Cow<'_, [u8]> = if part.contains(&b'+') {
        Cow::Owned(
            part.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(part)
    };
    percent_decode(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| {
            ConsoleError::BadForm(
                "the form holds text that is not valid UTF-8; type it again".into(),
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_in_order_and_keeps_repeats() {
        let f = parse(b"a=1&b=x+y&a=%C3%A9&flag&&c=").unwrap();
        assert_eq!(
            f,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("a".into(), "é".into()),
                ("flag".into(), String::new()),
                ("c".into(), String::new()),
            ]
        );
    }

    #[test]
    fn refuses_broken_utf8_instead_of_replacing_it() {
        assert!(parse(b"name=%FF%FE").is_err());
        assert!(parse(b"%FF=x").is_err());
        // A NUL is valid UTF-8: the application functions refuse it per field.
        assert_eq!(parse(b"name=%00").unwrap()[0].1, "\0");
    }
}
