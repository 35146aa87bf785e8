//! `--keep-running`: what to try against the demo once it reported. The
//! commands are data ([`Tour`], [`Tryout`]) so that what is printed as
//! `curl` is the very request a test sends. They use shell variables set by
//! printed `export` lines, which keeps them short enough to read.

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
    /// With `$ARKITER`, `$SIM`, `$ORG` in it, as printed.
    pub url: String,
    /// Sends the org's admin key (`$KEY`).
    pub auth: bool,
    pub body: Option<Value>,
}

impl Tryout {
    fn get(what: &str, url: String, auth: bool) -> Self {
        Self {
            what: what.to_owned(),
            method: Method::GET,
            url,
            auth,
            body: None,
        }
    }

    /// The command line: variables in double quotes, the body in single ones.
    pub fn curl(&self) -> String {
        let mut cmd = String::from("curl -s");
        if self.method != Method::GET {
            let _ = write!(cmd, " -X {}", self.method);
        }
        if self.auth {
            cmd.push_str(r#" -H "Authorization: Bearer $KEY""#);
        }
        if let Some(body) = &self.body {
            let quoted = body.to_string().replace('\'', r"'\''");
            let _ = write!(cmd, " -H 'Content-Type: application/json' -d '{quoted}'");
        }
        let _ = write!(cmd, " \"{}\"", self.url);
        cmd
    }
}

/// The variables and the commands that use them.
#[derive(Debug, Clone)]
pub struct Tour {
    /// (name, value, what it is), printed as `export` lines.
    pub vars: Vec<(&'static str, String, &'static str)>,
    pub tryouts: Vec<Tryout>,
}

impl Tour {
    /// The connection, its health, the interviews, the OpenAPI document,
    /// and (when a spare candidate was seeded) moving one more candidate
    /// into the stage, then finding its new interview.
    pub fn new(env: &DemoEnv, report: &Report) -> Self {
        let vars = vec![
            ("ARKITER", env.service_url.clone(), "the service"),
            ("SIM", env.sim_url.clone(), "the Lever simulator"),
            ("ORG", report.org.id.clone(), "the demo org"),
            ("KEY", report.org.admin_key.clone(), "its admin API key"),
        ];
        let org = |path: &str| format!("$ARKITER/api/v1/orgs/$ORG{path}");
        let mut tryouts = vec![
            Tryout::get("the Lever connection", org("/lever"), true),
            Tryout::get("its health", org("/lever/health"), true),
            Tryout::get("the latest interviews", org("/interviews?limit=3"), true),
            Tryout::get(
                "the API description (OpenAPI)",
                "$ARKITER/api/v1/openapi.json".to_owned(),
                false,
            ),
        ];
        if let Some(spare) = &report.lever.spare {
            let lever = &report.lever;
            tryouts.push(Tryout {
                what: format!("move {} into the stage, as a recruiter would", spare.name),
                method: Method::POST,
                url: format!("$SIM/_sim/accounts/{}/move", lever.account),
                auth: false,
                body: Some(json!({
                    "opportunity_ids": [spare.opportunity_id],
                    "stage_id": lever.live_stage,
                })),
            });
            let path = format!("/interviews?opportunity_id={}", spare.opportunity_id);
            tryouts.push(Tryout::get("then see its new interview", org(&path), true));
        }
        Self { vars, tryouts }
    }

    /// `export NAME='value'  # what` lines.
    pub fn exports(&self) -> String {
        let mut out = String::new();
        for (name, value, what) in &self.vars {
            let _ = writeln!(out, "export {name}='{value}'  # {what}");
        }
        out
    }

    /// The block printed after the report.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "\nStill running; Ctrl-C stops everything. To look around, in another shell:\n",
        );
        for line in self.exports().lines().chain(self.commands().lines()) {
            let _ = writeln!(out, "  {line}");
        }
        let var = |name: &str| {
            self.vars
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, v, _)| v.as_str())
                .unwrap_or("")
        };
        let _ = writeln!(
            out,
            "\nThe console: open {}/console in a browser and sign in with the key {}",
            var("ARKITER"),
            var("KEY")
        );
        out
    }

    fn commands(&self) -> String {
        let mut out = String::new();
        for t in &self.tryouts {
            let _ = writeln!(out, "# {}\n{}", t.what, t.curl());
        }
        out
    }

    /// The variables replaced by their values.
    pub fn resolve(&self, s: &str) -> String {
        self.vars.iter().fold(s.to_owned(), |s, (name, value, _)| {
            s.replace(&format!("${name}"), value)
        })
    }

    /// Sends a tryout as `curl` would.
    pub async fn send(&self, t: &Tryout, http: &Http) -> anyhow::Result<Answer> {
        let key = self.resolve("$KEY");
        let bearer = t.auth.then_some(key.as_str());
        http.send(
            t.method.clone(),
            &self.resolve(&t.url),
            bearer,
            t.body.as_ref(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_uses_the_variables_and_quotes_the_body() {
        let t = Tryout {
            what: "x".into(),
            method: Method::POST,
            url: "$SIM/a?b=1&c=2".into(),
            auth: true,
            body: Some(json!({"n": "it's"})),
        };
        assert_eq!(
            t.curl(),
            r#"curl -s -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"n":"it'\''s"}' "$SIM/a?b=1&c=2""#
        );
    }

    #[test]
    fn variables_resolve_without_touching_the_rest() {
        let tour = Tour {
            vars: vec![("ORG", "o1".into(), ""), ("KEY", "k".into(), "")],
            tryouts: Vec::new(),
        };
        assert_eq!(
            tour.resolve("$ARKITER/orgs/$ORG?x=$KEY"),
            "$ARKITER/orgs/o1?x=k"
        );
        assert!(tour.exports().contains("export ORG='o1'"));
    }
}
