//! A connected org's webhook as Lever would call it: where to post, how to
//! sign, and signed stage-change deliveries to it.

use arkiter_lever::lever::signature;
use serde_json::{Value, json};

use super::bed::Bed;
use super::org::Org;

/// One connection's webhook: where to post and how to sign.
pub struct Hook {
    pub path: String,
    pub key: String,
    pub org: Org,
}

impl Hook {
    /// Connects an org named `name` and reads its webhook off the simulator.
    pub async fn connect(bed: &Bed, name: &str) -> Self {
        let org = Org::connect(&bed.api, &bed.sim, name).await;
        let hook = bed.sim.webhooks(&org.account).expect("webhooks").remove(0);
        let id = hook
            .url
            .rsplit('/')
            .next()
            .expect("connection id")
            .to_owned();
        Self {
            path: format!("/webhooks/lever/{id}"),
            key: hook.signature_token.expect("signature token"),
            org,
        }
    }

    /// The connection id in the webhook's path.
    pub fn connection_id(&self) -> &str {
        self.path.rsplit('/').next().expect("connection id")
    }

    /// A signed `candidateStageChange` numbered `seq` (its token and
    /// opportunity are unique per `seq`), into the live stage or another.
    pub fn delivery(&self, seq: usize, now: i64, live: bool) -> Value {
        self.delivery_for(seq, now, live, &format!("bench-opp-{seq:08}"))
    }

    /// [`Self::delivery`] for the opportunity `opp`.
    pub fn delivery_for(&self, seq: usize, now: i64, live: bool, opp: &str) -> Value {
        let token = format!("{:048x}", seq as u128 * 0x9e37_79b9_7f4a_7c15 + 1);
        let signature = signature::sign(&self.key, &token, now);
        let to = if live {
            &self.org.stage
        } else {
            &self.org.other_stage
        };
        json!({
            "event": "candidateStageChange", "triggeredAt": now, "token": token,
            "signature": signature,
            "data": {"opportunityId": opp, "candidateId": opp, "contactId": format!("bench-contact-{seq:08}"),
                     "toStageId": to, "fromStageId": self.org.start_stage},
        })
    }
}
