//! Several instances on one Postgres: each account owned by exactly one,
//! spread across them, taken over when one dies or stalls, and never worked
//! twice. The instances are child processes behind a load balancer
//! that sends each delivery to a random one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arkiter_lever::domain::secrets::EncryptionKey;
use arkiter_lever::lever::sim::{SimConfig, SimHandle};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::helpers::{TestApp, poll_until, test_db};
use crate::lever_flow::wait_for_tag;
use crate::lever_support::start_sim_with;
use crate::proxy::LoadBalancer;
use crate::support::child::{ServiceChild, env_for_sim};

pub(crate) const ADMIN: &str = "scale-out-admin";
pub(crate) const LINK_TAG: &str = "Arkiter Live: Link Created";

pub(crate) struct Fleet {
    pub sim: SimHandle,
    db_name: String,
    pub db_url: String,
    key: EncryptionKey,
    /// Instance `i` once started, on a port it bound itself.
    pub children: Vec<Option<ServiceChild>>,
    lb: LoadBalancer,
}

impl Fleet {
    pub async fn new(n: usize, migrated: bool) -> Self {
        let sim = start_sim_with(SimConfig {
            workers: 2,
            delivery_retry_base: Duration::from_millis(500),
            delivery_attempts: 6,
            ..SimConfig::default()
        })
        .await;
        let db = test_db();
        let db_name = if migrated {
            db.create_database()
        } else {
            db.create_empty_database()
        };
        let db_url = db.url(&db_name);
        Self {
            sim,
            db_name,
            db_url,
            key: EncryptionKey::generate(),
            children: (0..n).map(|_| None).collect(),
            lb: LoadBalancer::start(),
        }
    }

    pub fn public(&self) -> String {
        self.lb.address()
    }

    pub async fn start(&mut self, i: usize) {
        self.start_with(i, &[]).await;
    }

    /// Starts instance `i` (bound, behind the balancer; not yet ready).
    pub async fn start_with(&mut self, i: usize, extra: &[(&'static str, &str)]) {
        let mut env = env_for_sim(&self.sim, &self.db_url, ADMIN, &self.key);
        env.extend([
            ("ARKITER_PUBLIC_URL", self.public()),
            ("ARKITER_INSTANCE_ID", format!("inst-{i}")),
        ]);
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let child = ServiceChild::start(&env).await;
        self.lb.add_backend(child.port());
        self.children[i] = Some(child);
    }

    pub fn child(&self, i: usize) -> &ServiceChild {
        self.children[i].as_ref().expect("instance started")
    }

    pub async fn wait_ready(&self, i: usize) {
        self.child(i).wait_ready().await;
    }

    pub fn signal(&self, i: usize, sig: nix::sys::signal::Signal) {
        self.child(i).signal(sig);
    }

    pub fn app(&self) -> TestApp {
        TestApp::attached(
            &self.public(),
            ADMIN,
            &self.db_name,
            &self.db_url,
            self.key.clone(),
        )
    }

    /// Live owner of each connection, per the lease table.
    pub fn owners(&self) -> HashMap<uuid::Uuid, String> {
        lease_owners(&self.db_url)
    }
}

#[derive(diesel::QueryableByName)]
struct LeaseRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    connection_id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    owner: String,
}

fn lease_owners(url: &str) -> HashMap<uuid::Uuid, String> {
    let Ok(mut c) = PgConnection::establish(url) else {
        return HashMap::new();
    };
    let rows: Vec<LeaseRow> = diesel::sql_query(
        "SELECT connection_id, owner FROM connection_leases WHERE owner IS NOT NULL AND expires_at > now()",
    )
    .load(&mut c)
    .unwrap_or_default();
    // One row per connection (its primary key): one owner at most.
    rows.into_iter()
        .map(|r| (r.connection_id, r.owner))
        .collect()
}

/// One connected account: its sim account, org, stages, posting.
pub(crate) struct Account {
    pub account: String,
    pub org: String,
    pub key: String,
    pub start: String,
    pub stage: String,
    pub posting: String,
}

pub(crate) async fn connect_accounts(app: &TestApp, sim: &SimHandle, n: usize) -> Vec<Account> {
    let mut out = Vec::new();
    for i in 0..n {
        let account = sim.create_account(&format!("Lever {i}"));
        let start = sim.add_stage(&account, "New applicant").unwrap().id;
        let stage = sim.add_stage(&account, "Arkiter Live").unwrap().id;
        let posting = sim.add_posting(&account, "Engineer").unwrap().id;
        sim.login(&account).unwrap();
        let (org, key) = app.new_org(&format!("Org {i}")).await;
        app.post_json(
            &format!("/api/v1/orgs/{org}/roles"),
            Some(&key),
            &json!({"name": "Eng"}),
        )
        .await;
        let r = app.connect_lever(&org, &key).await;
        assert_eq!(r.body["connection_status"], "active", "{}", r.body);
        out.push(Account {
            account,
            org,
            key,
            start,
            stage,
            posting,
        });
    }
    out
}

pub(crate) fn move_candidates(sim: &SimHandle, a: &Account, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n)
        .map(|i| {
            sim.add_opportunity(
                &a.account,
                arkiter_lever::lever::sim::NewOpportunity {
                    id: None,
                    name: Some(format!("C{i}")),
                    contact: None,
                    emails: vec![],
                    stage_id: a.start.clone(),
                    posting_id: Some(a.posting.clone()),
                    tags: vec![],
                },
            )
            .unwrap()
            .id
        })
        .collect();
    sim.move_opportunities(&a.account, &ids, &a.stage).unwrap();
    ids
}

pub(crate) fn assert_exactly_one_each(sim: &SimHandle, a: &Account, opps: &[String]) {
    for o in opps {
        let v = sim.opportunity(&a.account, o).unwrap();
        assert_eq!(
            v.links.iter().filter(|l| l.contains("/live/")).count(),
            1,
            "{v:?}"
        );
        assert_eq!(v.tags.iter().filter(|t| *t == LINK_TAG).count(), 1, "{v:?}");
    }
}

fn assert_budget(sim: &SimHandle, a: &Account) {
    let calls: Vec<i64> = sim
        .calls_for(&a.account)
        .iter()
        .filter(|c| c.path.starts_with("/v1/"))
        .map(|c| c.at_ms)
        .collect();
    assert!(
        sim.calls_for(&a.account).iter().all(|c| c.status != 429),
        "429 seen"
    );
    for (i, start) in calls.iter().enumerate() {
        let n = calls[i..].iter().take_while(|t| **t < start + 1000).count();
        assert!(n <= 15 + 10 + 1, "{n} calls within a second");
    }
}

/// Samples the lease table every 100 ms until stopped; remembers the most
/// any one instance held.
fn sampler(url: String) -> (Arc<Mutex<bool>>, std::thread::JoinHandle<usize>) {
    let stop = Arc::new(Mutex::new(false));
    let s = stop.clone();
    let h = std::thread::spawn(move || {
        let mut most = 0;
        while !*s.lock().unwrap() {
            let owners = lease_owners(&url);
            let mut per: HashMap<String, usize> = HashMap::new();
            for o in owners.values() {
                *per.entry(o.clone()).or_default() += 1;
            }
            most = most.max(per.values().copied().max().unwrap_or(0));
            std::thread::sleep(Duration::from_millis(100));
        }
        most
    });
    (stop, h)
}

#[actix_web::test]
async fn three_instances_share_accounts_and_survive_a_kill() {
    let mut fleet = Fleet::new(3, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 30).await;
    fleet.start(1).await;
    fleet.start(2).await;
    fleet.wait_ready(1).await;
    fleet.wait_ready(2).await;
    poll_until(30, "each instance owns its fair share", || async {
        let o = fleet.owners();
        let mut per: HashMap<String, usize> = HashMap::new();
        for v in o.values() {
            *per.entry(v.clone()).or_default() += 1;
        }
        (per.len() == 3 && per.values().all(|n| *n == 10)).then_some(())
    })
    .await;
    let (stop, sampler) = sampler(fleet.db_url.clone());
    // A burst across every account, deliveries to random instances.
    let moved: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| move_candidates(&fleet.sim, a, 3))
        .collect();
    // Kill one instance mid-burst.
    let victim = "inst-1".to_owned();
    fleet.signal(1, nix::sys::signal::Signal::SIGKILL);
    let killed_at = Instant::now();
    poll_until(30, "takeover", || async {
        let o = fleet.owners();
        (o.len() == 30 && o.values().all(|v| *v != victim)).then_some(())
    })
    .await;
    let takeover = killed_at.elapsed();
    for (a, opps) in accounts.iter().zip(&moved) {
        wait_for_tag(&fleet.sim, &a.account, opps, LINK_TAG, 90).await;
    }
    *stop.lock().unwrap() = true;
    let most = sampler.join().unwrap();
    // The survivors split the victim's accounts: each takes up to its fair
    // share of two (15), neither takes them all.
    assert!(most <= 15, "one instance held {most} of 30 accounts");
    for (a, opps) in accounts.iter().zip(&moved) {
        assert_exactly_one_each(&fleet.sim, a, opps);
        assert_budget(&fleet.sim, a);
    }
    eprintln!("takeover after SIGKILL: {takeover:?}");
}

#[actix_web::test]
async fn a_stalled_instance_is_fenced_and_duplicates_nothing() {
    let mut fleet = Fleet::new(2, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 6).await;
    fleet.start(1).await;
    fleet.wait_ready(1).await;
    poll_until(30, "both own accounts", || async {
        let o = fleet.owners();
        (o.len() == 6 && o.values().any(|v| v == "inst-1") && o.values().any(|v| v == "inst-0"))
            .then_some(())
    })
    .await;
    let moved: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| move_candidates(&fleet.sim, a, 8))
        .collect();
    // Freeze inst-1 past its lease (6 s), then let it go on.
    fleet.signal(1, nix::sys::signal::Signal::SIGSTOP);
    poll_until(30, "inst-0 took everything", || async {
        let o = fleet.owners();
        (o.len() == 6 && o.values().all(|v| v == "inst-0")).then_some(())
    })
    .await;
    fleet.signal(1, nix::sys::signal::Signal::SIGCONT);
    for (a, opps) in accounts.iter().zip(&moved) {
        wait_for_tag(&fleet.sim, &a.account, opps, LINK_TAG, 90).await;
    }
    // Let the resumed instance run a few lease cycles, then check nothing doubled.
    poll_until(30, "ownership settles with both alive", || async {
        let o = fleet.owners();
        (o.len() == 6 && o.values().any(|v| v == "inst-1")).then_some(())
    })
    .await;
    for (a, opps) in accounts.iter().zip(&moved) {
        assert_exactly_one_each(&fleet.sim, a, opps);
    }
}

#[actix_web::test]
async fn instances_starting_together_migrate_once() {
    let mut fleet = Fleet::new(3, false).await;
    for i in 0..3 {
        fleet.start(i).await;
    }
    for i in 0..3 {
        fleet.wait_ready(i).await;
    }
    // Each instance says how many migrations it applied: one applied them
    // all, the others waited on the lock and found nothing left to do.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count() as u64;
    let applied: Vec<u64> = (0..3)
        .map(|i| {
            let log = fleet.child(i).log_text();
            let line = log
                .lines()
                .find(|l| l.contains("migrations are up to date"))
                .unwrap_or_else(|| panic!("instance {i} logged no migration line: {log}"));
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["applied"].as_u64().unwrap()
        })
        .collect();
    let mut sorted = applied.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![0, 0, files],
        "applied per instance: {applied:?}"
    );
    drop(fleet.app());
}

/// Instance `i`, as a client of its own API (not the balancer).
fn direct(fleet: &Fleet, i: usize) -> TestApp {
    TestApp::attached(
        &fleet.child(i).address(),
        ADMIN,
        &fleet.db_name,
        &fleet.db_url,
        fleet.key.clone(),
    )
}

/// Successful POSTs to `suffix` for one opportunity.
pub(crate) fn sent(sim: &SimHandle, a: &Account, opp: &str, suffix: &str) -> usize {
    sim.calls_for(&a.account)
        .iter()
        .filter(|c| c.method == "POST" && c.path.contains(opp) && c.path.ends_with(suffix))
        .filter(|c| c.status / 100 == 2)
        .count()
}

#[actix_web::test]
async fn a_stopped_instance_resumed_sends_no_write_the_new_owner_made() {
    let mut fleet = Fleet::new(2, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 1).await;
    let a = &accounts[0];
    fleet.start(1).await;
    fleet.wait_ready(1).await;
    let owner = poll_until(30, "an owner", || async {
        fleet.owners().values().next().cloned()
    })
    .await;
    let (stalled, other) = if owner == "inst-0" {
        (0, "inst-1")
    } else {
        (1, "inst-0")
    };
    // Lever refuses every link add (429) while the owner keeps resending it.
    let throttle = arkiter_lever::lever::sim::FaultRule::always(
        arkiter_lever::lever::sim::FaultAction::Status { status: 429 },
    )
    .on("POST", "/addLinks");
    fleet.sim.add_fault(&a.account, throttle).unwrap();
    let opp = move_candidates(&fleet.sim, a, 1).remove(0);
    poll_until(30, "the owner's write refused once", || async {
        let refused = fleet
            .sim
            .calls_for(&a.account)
            .iter()
            .any(|c| c.path.ends_with("/addLinks") && c.status == 429);
        refused.then_some(())
    })
    .await;
    // Frozen in the middle of its retries, past its lease.
    fleet.signal(stalled, nix::sys::signal::Signal::SIGSTOP);
    poll_until(60, "the other instance took over", || async {
        (fleet.owners().values().next().map(String::as_str) == Some(other)).then_some(())
    })
    .await;
    fleet.sim.clear_faults(&a.account).unwrap();
    wait_for_tag(
        &fleet.sim,
        &a.account,
        std::slice::from_ref(&opp),
        LINK_TAG,
        60,
    )
    .await;
    fleet.signal(stalled, nix::sys::signal::Signal::SIGCONT);
    // The resumed instance runs lease cycles again (it heartbeats), then
    // once more: its retries would have been sent by now.
    let me = format!("inst-{stalled}");
    let beats = || {
        let mut c = PgConnection::establish(&fleet.db_url).unwrap();
        #[derive(diesel::QueryableByName)]
        struct Beat {
            #[diesel(sql_type = diesel::sql_types::Double)]
            age: f64,
        }
        diesel::sql_query(
            "SELECT EXTRACT(EPOCH FROM now() - heartbeat_at)::float8 AS age FROM instances WHERE id = $1",
        )
        .bind::<diesel::sql_types::Text, _>(&me)
        .get_result::<Beat>(&mut c)
        .map(|b| b.age)
        .unwrap_or(f64::MAX)
    };
    poll_until(60, "the resumed instance beats again", || async {
        (beats() < 0.5).then_some(())
    })
    .await;
    poll_until(60, "and once more", || async {
        (beats() > 1.0).then_some(())
    })
    .await;
    poll_until(60, "and again", || async { (beats() < 0.5).then_some(()) }).await;
    assert_eq!(
        sent(&fleet.sim, a, &opp, "/addLinks"),
        1,
        "{:#?}",
        fleet.sim.calls_for(&a.account)
    );
    assert_eq!(sent(&fleet.sim, a, &opp, "/addTags"), 1);
    assert_exactly_one_each(&fleet.sim, a, std::slice::from_ref(&opp));
}

#[actix_web::test]
async fn a_reconnect_elsewhere_reaches_the_owner_s_next_call() {
    let mut fleet = Fleet::new(2, true).await;
    // Long leases: the owner keeps the account through the reconnect.
    let long = [
        ("ARKITER_LEASE_SECS", "30"),
        ("ARKITER_LEASE_RENEW_SECS", "10"),
    ];
    fleet.start_with(0, &long).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 1).await;
    let first = &accounts[0];
    fleet.start_with(1, &long).await;
    fleet.wait_ready(1).await;
    let owner = poll_until(30, "an owner", || async {
        fleet.owners().into_iter().next()
    })
    .await;
    let other = if owner.1 == "inst-0" { 1 } else { 0 };
    // The owner works once with the first account's token (now cached).
    let opp = move_candidates(&fleet.sim, first, 1);
    wait_for_tag(&fleet.sim, &first.account, &opp, LINK_TAG, 60).await;
    // Disconnect, then connect a different Lever account, through the other instance.
    let b = direct(&fleet, other);
    let r = b
        .delete(
            &format!("/api/v1/orgs/{}/lever", first.org),
            Some(&first.key),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let second = fleet.sim.create_account("Second Lever");
    let start = fleet.sim.add_stage(&second, "New applicant").unwrap().id;
    let stage = fleet.sim.add_stage(&second, "Arkiter Live").unwrap().id;
    let posting = fleet.sim.add_posting(&second, "Engineer").unwrap().id;
    fleet.sim.login(&second).unwrap();
    let started = b
        .start_connect(
            &first.org,
            &first.key,
            json!({"stage_name": "Arkiter Live"}),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let location = b
        .authorize(started.body["authorize_url"].as_str().unwrap())
        .await;
    let at_b = location.replace(&fleet.public(), &b.address);
    let done = b.callback(&at_b).await;
    assert_eq!(done.body["connection_status"], "active", "{}", done.body);
    assert_eq!(
        fleet.owners().get(&owner.0),
        Some(&owner.1),
        "the owner kept the lease"
    );
    let moved = Account {
        account: second.clone(),
        org: first.org.clone(),
        key: first.key.clone(),
        start,
        stage,
        posting,
    };
    let opp2 = move_candidates(&fleet.sim, &moved, 1);
    wait_for_tag(&fleet.sim, &second, &opp2, LINK_TAG, 60).await;
    assert_eq!(
        fleet.owners().get(&owner.0),
        Some(&owner.1),
        "the owner did the work"
    );
    // Nothing of the second account was asked with the first account's token.
    let refused = fleet
        .sim
        .call_log()
        .into_iter()
        .filter(|c| c.path.contains(&opp2[0]) && c.status == 404)
        .count();
    assert_eq!(refused, 0);
}
