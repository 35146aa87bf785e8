//! Helpers for tests that connect an org's Lever account: the app wired to an
//! in-process Lever simulator, and the OAuth dance through the real endpoints.

use arkiter_lever::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimHandle};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app_with};
use crate::lever_support::start_sim;

/// The app pointed at a fresh simulator.
pub async fn spawn_with_sim() -> (TestApp, SimHandle) {
    let sim = start_sim().await;
    let app = spawn_app_with(|s| {
        s.lever.client_id = Some(DEFAULT_CLIENT_ID.to_owned());
        s.lever.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET));
        s.lever.auth_url = sim.auth_url();
        s.lever.api_url = sim.api_url();
    })
    .await;
    (app, sim)
}

/// A simulator account with the "Arkiter Live" stage, logged in for /authorize.
pub fn seed_account(sim: &SimHandle, name: &str) -> (String, String) {
    let account = sim.create_account(name);
    sim.add_stage(&account, "New applicant").unwrap();
    let stage = sim.add_stage(&account, "Arkiter Live").unwrap();
    sim.login(&account).unwrap();
    (account, stage.id)
}

pub fn no_redirects() -> awc::Client {
    awc::Client::builder().disable_redirects().finish()
}

impl TestApp {
    pub async fn start_connect(&self, org: &str, key: &str, body: Value) -> Resp {
        self.post_json(
            &format!("/api/v1/orgs/{org}/lever/connect"),
            Some(key),
            &body,
        )
        .await
    }

    /// Follows an authorize URL to the simulator and returns where it redirects.
    pub async fn authorize(&self, authorize_url: &str) -> String {
        let resp = no_redirects().get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
        resp.headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Calls our callback URL (as the browser would), asking for JSON.
    pub async fn callback(&self, location: &str) -> Resp {
        let mut res = self
            .client
            .get(location)
            .insert_header(("Accept", "application/json"))
            .send()
            .await
            .unwrap();
        let bytes = res.body().await.unwrap();
        Resp {
            status: res.status().as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// The whole flow: connect, authorize at the simulator, callback.
    pub async fn connect_lever(&self, org: &str, key: &str) -> Resp {
        let start = self.start_connect(org, key, json!({})).await;
        assert_eq!(start.status, 200, "{}", start.body);
        let location = self
            .authorize(start.body["authorize_url"].as_str().unwrap())
            .await;
        self.callback(&location).await
    }

    pub async fn get_lever(&self, org: &str, key: &str) -> Resp {
        self.get(&format!("/api/v1/orgs/{org}/lever"), Some(key))
            .await
    }

    pub async fn patch_lever(&self, org: &str, key: &str, body: Value) -> Resp {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.request(
            "PATCH",
            &format!("/api/v1/orgs/{org}/lever"),
            Some(key),
            Some(("application/json", bytes)),
        )
        .await
    }
}
