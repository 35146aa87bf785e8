//! The endpoints results beyond a note need: feedback templates and forms,
//! and files (docs/contract/lever-facts-results.md). awc has no multipart
//! builder, so an upload's `multipart/form-data` body is written here: one
//! part named `file`, with a boundary that cannot occur in the bytes.

use awc::http::Method;
use rand::RngCore;

use super::LeverClient;
use super::call::Request;
use super::endpoints::{get, opp_path, post_json};
use crate::errors::LeverError;
use crate::wire::{
    FeedbackCreate, FeedbackForm, FeedbackTemplate, FeedbackTemplateCreate, OpportunityFile,
    parse_data_or_bare,
};

impl LeverClient {
    /// Every feedback template of the account.
    pub async fn list_feedback_templates(&self) -> Result<Vec<FeedbackTemplate>, LeverError> {
        self.fetch_all("list_feedback_templates", "/feedback_templates", &[])
            .await
    }

    /// `POST /feedback_templates`; the answer carries the fields' ids.
    pub async fn create_feedback_template(
        &self,
        template: &FeedbackTemplateCreate,
    ) -> Result<FeedbackTemplate, LeverError> {
        let req = post_json(
            "create_feedback_template",
            "/feedback_templates".to_owned(),
            template,
        )?;
        let (_, body) = self.call(req).await?;
        decode("create_feedback_template", &body)
    }

    /// Every feedback form of an opportunity.
    pub async fn list_feedback(&self, opp: &str) -> Result<Vec<FeedbackForm>, LeverError> {
        self.fetch_all("list_feedback", &opp_path(opp, "feedback"), &[])
            .await
    }

    /// `POST /opportunities/:id/feedback` (Lever requires `perform_as`);
    /// returns the form's id.
    pub async fn create_feedback(
        &self,
        opp: &str,
        form: &FeedbackCreate,
    ) -> Result<String, LeverError> {
        let req = post_json("create_feedback", opp_path(opp, "feedback"), form)?;
        let (_, body) = self.call(req).await?;
        decode::<FeedbackForm>("create_feedback", &body).map(|f| f.id)
    }

    /// The opportunity's files. Lever does not page this list, and refuses
    /// `limit`/`offset` on it, so it is one read.
    pub async fn list_files(&self, opp: &str) -> Result<Vec<OpportunityFile>, LeverError> {
        let (_, body) = self.call(get("list_files", opp_path(opp, "files"))).await?;
        decode("list_files", &body)
    }

    /// Uploads `bytes` as a file named `name` (Lever requires `perform_as`);
    /// returns the file's id.
    pub async fn upload_file(
        &self,
        opp: &str,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<String, LeverError> {
        let (boundary, body) = multipart(name, content_type, bytes);
        let req = Request {
            endpoint: "upload_file",
            method: Method::POST,
            path: opp_path(opp, "files"),
            query: Vec::new(),
            body: Some(body),
            content_type: Some(format!("multipart/form-data; boundary={boundary}")),
        };
        let (_, body) = self.call(req).await?;
        decode::<OpportunityFile>("upload_file", &body).map(|f| f.id)
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    body: &[u8],
) -> Result<T, LeverError> {
    parse_data_or_bare(body).map_err(|e| LeverError::Decode {
        endpoint,
        detail: e.to_string(),
    })
}

/// A `multipart/form-data` body with one part, `file`, and its boundary:
/// random, and redrawn in the (vanishing) case the bytes contain it.
fn multipart(name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = loop {
        let mut r = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut r);
        let b = format!("arkiter-{}", hex::encode(r));
        if !contains(bytes, b.as_bytes()) {
            break b;
        }
    };
    // A quote or line break would end the header early: the name is ours,
    // but is kept safe all the same.
    let safe: String = name
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"file\"; filename=\"{safe}\"\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_body_is_one_file_part_around_the_bytes() {
        let (boundary, body) = multipart(
            "Arkiter Live - \"Backend\".pdf",
            "application/pdf",
            b"%PDF-1.7 x",
        );
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"file\"; filename=\"Arkiter Live - _Backend_.pdf\"\r\n"));
        assert!(text.contains("Content-Type: application/pdf\r\n\r\n%PDF-1.7 x\r\n"));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
    }
}
