//! `--keep-running`: what to try against the demo once it reported. The
//! commands are data ([`Tryout`]) so that what is printed as `curl` is the
//! very request a test sends.

use std::fmt::Write as _;

use actix_web::http::Method;
use serde_json::{Value, json};

use super::api::{Answer, Http};
use super::env::DemoEnv;
use super::report::Report;

/// One request to try, printable as a `curl` command.
#[derive(Debug, Clone)]
pub struct Tryout {
    /// What it shows, in a few words.
    pub what: String,
    pub method: Method,
    pub url: String,
    pub bearer: Option<String>,
    pub body: Option<Value>,
}

impl Tryout {
    fn get(what: &str, url: String, bearer: Option<&str>) -> Self {
        Self {
            what: what.to_owned(),
            method: Method::GET,
            url,
            bearer: bearer.map(str::to_owned),
            body: None,
        }
    }

    /// The command line, with every argument single-quoted for a POSIX shell.
    pub fn curl(&self) -> String {
        let mut cmd = String::from("curl -s");
        if self.method != Method::GET {
            let _ = write!(cmd, " -X {}", self.method);
        }
        if let Some(token) = &self.bearer {
            let _ = write!(
                cmd,
                " -H {}",
                quote(&format!("Authorization: Bearer {token}"))
            );
        }
        if let Some(body) = &self.body {
            let _ = write!(
                cmd,
                " -H 'Content-Type: application/json' -d {}",
                quote(&body.to_string())
            );
        }
        let _ = write!(cmd, " {}", quote(&self.url));
        cmd
    }

    /// Sends the request as `curl` would.
    pub async fn send(&self, http: &Http) -> anyhow::Result<Answer> {
        http.send(
            self.method.clone(),
            &self.url,
            self.bearer.as_deref(),
            self.body.as_ref(),
        )
        .await
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The tour: the connection, its health, the interviews, the OpenAPI
/// document, and (when a spare candidate was seeded) moving one more
/// candidate into the stage, then finding its new interview.
pub fn tryouts(env: &DemoEnv, report: &Report) -> Vec<Tryout> {
    let org = &report.org;
    let key = Some(org.admin_key.as_str());
    let api = |path: &str| env.api(&format!("/orgs/{}{path}", org.id));
    let mut out = vec![
        Tryout::get("the Lever connection", api("/lever"), key),
        Tryout::get("its health", api("/lever/health"), key),
        Tryout::get("the latest interviews", api("/interviews?limit=3"), key),
        Tryout::get("the API description", env.api("/openapi.json"), None),
    ];
    if let Some(spare) = &report.lever.spare {
        out.push(Tryout {
            what: format!("move {} into the stage, in the simulated Lever", spare.name),
            method: Method::POST,
            url: env.control(&format!("/accounts/{}/move", report.lever.account)),
            bearer: None,
            body: Some(json!({
                "opportunity_ids": [spare.opportunity_id],
                "stage_id": report.lever.live_stage,
            })),
        });
        let path = format!("/interviews?opportunity_id={}", spare.opportunity_id);
        out.push(Tryout::get(
            "then see the interview made for it",
            api(&path),
            key,
        ));
    }
    out
}

/// The block printed after the report in `--keep-running` mode.
pub fn render(env: &DemoEnv, report: &Report, tryouts: &[Tryout]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nStill running (Ctrl-C stops everything):");
    let _ = writeln!(out, "  service          {}", env.service_url);
    let _ = writeln!(out, "  Lever simulator  {}", env.sim_url);
    let _ = writeln!(out, "  org id           {}", report.org.id);
    let _ = writeln!(out, "  org admin key    {}", report.org.admin_key);
    let _ = writeln!(out, "Try:");
    for t in tryouts {
        let _ = writeln!(out, "  # {}\n  {}", t.what, t.curl());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_quotes_everything() {
        let t = Tryout {
            what: "x".into(),
            method: Method::POST,
            url: "http://h/a?b=1&c=2".into(),
            bearer: Some("k".into()),
            body: Some(json!({"n": "it's"})),
        };
        assert_eq!(
            t.curl(),
            r#"curl -s -X POST -H 'Authorization: Bearer k' -H 'Content-Type: application/json' -d '{"n":"it'\''s"}' 'http://h/a?b=1&c=2'"#
        );
    }
}
