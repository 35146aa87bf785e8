//! A typed client of the simulator's control API (`/_sim`, JSON over HTTP),
//! what a process other than the simulator's own uses: one method per route,
//! the simulator's own types as bodies. Answers keep the status and the JSON
//! so a test can check either.

use arkiter_lever::lever::sim::{AccountPatch, FaultRule, NewOpportunity, SimHandle};
use serde::Serialize;
use serde_json::{Value, json};

/// Status and JSON body (Null when empty) of one control call.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `id` of what the call made.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {} ({})", self.body, self.status))
            .to_owned()
    }
}

pub struct SimControl {
    base: String,
    http: awc::Client,
}

impl SimControl {
    pub fn new(sim: &SimHandle) -> Self {
        Self {
            base: format!("{}/_sim", sim.base_url()),
            http: awc::Client::default(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let req = self.http.request(method, format!("{}{path}", self.base));
        let mut res = match body {
            Some(body) => req.send_json(&body).await,
            None => req.send().await,
        }
        .expect("the control API answers");
        let bytes = res.body().await.expect("control body");
        Answer {
            status: res.status().as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn post(&self, path: &str, body: impl Serialize) -> Answer {
        let body = serde_json::to_value(body).expect("json");
        self.send("POST", path, Some(body)).await
    }

    pub async fn reset(&self) -> Answer {
        self.send("POST", "/reset", None).await
    }

    /// The call log of one account.
    pub async fn calls(&self, account: &str) -> Answer {
        self.send("GET", &format!("/calls?account={account}"), None)
            .await
    }

    pub async fn create_account(&self, name: &str) -> Answer {
        self.post("/accounts", json!({ "name": name })).await
    }

    pub async fn account(&self, a: &str) -> Answer {
        self.send("GET", &format!("/accounts/{a}"), None).await
    }

    pub async fn patch_account(&self, a: &str, patch: &AccountPatch) -> Answer {
        let body = serde_json::to_value(patch).expect("json");
        self.send("PATCH", &format!("/accounts/{a}"), Some(body))
            .await
    }

    pub async fn login(&self, a: &str) -> Answer {
        self.send("POST", &format!("/accounts/{a}/login"), None)
            .await
    }

    /// A stage named `text`, with the given id or one the simulator picks.
    pub async fn add_stage(&self, a: &str, id: Option<&str>, text: &str) -> Answer {
        self.post(
            &format!("/accounts/{a}/stages"),
            json!({ "id": id, "text": text }),
        )
        .await
    }

    pub async fn add_posting(&self, a: &str, text: &str) -> Answer {
        self.post(&format!("/accounts/{a}/postings"), json!({ "text": text }))
            .await
    }

    pub async fn add_user(&self, a: &str, name: &str, email: &str) -> Answer {
        self.post(
            &format!("/accounts/{a}/users"),
            json!({ "name": name, "email": email }),
        )
        .await
    }

    pub async fn add_opportunity(&self, a: &str, new: &NewOpportunity) -> Answer {
        self.post(&format!("/accounts/{a}/opportunities"), new)
            .await
    }

    pub async fn opportunity(&self, a: &str, o: &str) -> Answer {
        self.send("GET", &format!("/accounts/{a}/opportunities/{o}"), None)
            .await
    }

    /// Moves `ids` to `stage`; `deliver: false` sends no webhook at all.
    pub async fn move_opportunities(
        &self,
        a: &str,
        ids: &[String],
        stage: &str,
        deliver: bool,
    ) -> Answer {
        let body = json!({ "opportunity_ids": ids, "stage_id": stage, "deliver": deliver });
        self.post(&format!("/accounts/{a}/move"), body).await
    }

    pub async fn revoke(&self, a: &str) -> Answer {
        self.send("POST", &format!("/accounts/{a}/revoke"), None)
            .await
    }

    pub async fn add_fault(&self, a: &str, rule: &FaultRule) -> Answer {
        self.post(&format!("/accounts/{a}/faults"), rule).await
    }

    /// Deletes every webhook of the account.
    pub async fn delete_webhooks(&self, a: &str) -> Answer {
        self.send("DELETE", &format!("/accounts/{a}/webhooks"), None)
            .await
    }

    /// The Super Admin's toggle of the webhook group, off.
    pub async fn disable_webhooks(&self, a: &str) -> Answer {
        self.send("POST", &format!("/accounts/{a}/webhooks/disable"), None)
            .await
    }
}
