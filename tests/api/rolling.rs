//! Rolling deploys: a Lever write still in flight when its account's lease
//! moves (the owner killed, stopped, or rebalanced away) lands before the
//! new owner writes for that candidate, and nothing is written twice; a
//! stopping instance leaves the load balancer, drains, and hands its
//! accounts over. The instances are child processes (see `scale_out`).

use std::time::{Duration, Instant};

use arkiter_lever::lever::sim::{CallRecord, FaultAction, FaultRule, SimHandle};
use nix::sys::signal::Signal;

use crate::helpers::poll_until;
use crate::lever_flow::wait_for_tag;
use crate::scale_out::{
    Account, Fleet, LINK_TAG, assert_exactly_one_each, connect_accounts, move_candidates, sent,
};

/// How long the simulator holds the first `addLinks` of each account.
const HOLD_MS: u64 = 12_000;

/// How the lease of the account with the held write moves away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Kill,
    Term,
    Rebalance,
}

/// The writes (`POST`s) for `opp`, in the order they arrived.
fn writes_for(sim: &SimHandle, a: &Account, opp: &str) -> Vec<CallRecord> {
    sim.calls_for(&a.account)
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.contains(opp))
        .collect()
}

/// The held `addLinks` landed after the hold, every other write for the
/// candidate arrived after it landed, and there is one of each.
fn assert_held_write_came_first(sim: &SimHandle, a: &Account, opp: &str) {
    let writes = writes_for(sim, a, opp);
    let held: Vec<_> = writes
        .iter()
        .filter(|c| c.path.ends_with("/addLinks"))
        .collect();
    assert_eq!(held.len(), 1, "one addLinks: {writes:#?}");
    let held = held[0];
    assert!(
        held.at_ms - held.received_ms >= HOLD_MS as i64,
        "applied after the hold: {held:?}"
    );
    for w in writes.iter().filter(|w| w.seq != held.seq) {
        assert!(
            w.received_ms >= held.at_ms,
            "{} arrived before the held write landed: {writes:#?}",
            w.path
        );
    }
    assert_eq!(sent(sim, a, opp, "/addLinks"), 1);
    assert_eq!(sent(sim, a, opp, "/addTags"), 1, "{writes:#?}");
}

async fn a_slow_write_across_a_lease_move(how: Move) {
    let mut fleet = Fleet::new(3, true).await;
    // A short drain, so that a stopping or rebalancing owner gives the
    // lease up while the write is still held.
    fleet
        .start_with(0, &[("ARKITER_SHUTDOWN_GRACE", "2")])
        .await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    // A rebalance moves accounts only from an instance above its share.
    let n = if how == Move::Rebalance { 3 } else { 1 };
    let accounts = connect_accounts(&app, &fleet.sim, n).await;
    poll_until(30, "instance 0 owns every account", || async {
        let o = fleet.owners();
        (o.len() == n && o.values().all(|v| v == "inst-0")).then_some(())
    })
    .await;
    if how != Move::Rebalance {
        fleet.start(1).await;
        fleet.wait_ready(1).await;
    }
    let hold = FaultRule::always(FaultAction::Latency { ms: HOLD_MS })
        .on("POST", "/addLinks")
        .times(1);
    let mut opps = Vec::new();
    for a in &accounts {
        fleet.sim.add_fault(&a.account, hold.clone()).unwrap();
        opps.push(move_candidates(&fleet.sim, a, 1).remove(0));
    }
    poll_until(30, "every account's addLinks held", || async {
        accounts
            .iter()
            .all(|a| {
                fleet
                    .sim
                    .in_flight(&a.account)
                    .iter()
                    .any(|p| p.ends_with("/addLinks"))
            })
            .then_some(())
    })
    .await;
    match how {
        Move::Kill => fleet.signal(0, Signal::SIGKILL),
        Move::Term => fleet.signal(0, Signal::SIGTERM),
        Move::Rebalance => {
            fleet.start(1).await;
            fleet.start(2).await;
        }
    }
    // The lease moves while the write is still held at Lever.
    let moved = poll_until(30, "an account taken over", || async {
        let o = fleet.owners();
        let moved: Vec<usize> = (0..n)
            .filter(|i| {
                let id = account_connection(&fleet, &accounts[*i]);
                o.get(&id).is_some_and(|v| v != "inst-0")
            })
            .collect();
        (!moved.is_empty()).then_some(moved)
    })
    .await;
    let still_held = moved.iter().any(|i| {
        fleet
            .sim
            .in_flight(&accounts[*i].account)
            .iter()
            .any(|p| p.ends_with("/addLinks"))
    });
    assert!(still_held, "the lease moved only after the write landed");
    for (a, opp) in accounts.iter().zip(&opps) {
        wait_for_tag(
            &fleet.sim,
            &a.account,
            std::slice::from_ref(opp),
            LINK_TAG,
            120,
        )
        .await;
    }
    for (a, opp) in accounts.iter().zip(&opps) {
        assert_held_write_came_first(&fleet.sim, a, opp);
        assert_exactly_one_each(&fleet.sim, a, std::slice::from_ref(opp));
    }
}

/// The connection id of `a`'s org, from the database.
fn account_connection(fleet: &Fleet, a: &Account) -> uuid::Uuid {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let mut c = diesel::PgConnection::establish(&fleet.db_url).unwrap();
    diesel::sql_query("SELECT id FROM connections WHERE org_id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(&a.org)
        .get_result::<Row>(&mut c)
        .unwrap()
        .id
}

#[actix_web::test]
async fn a_slow_write_lands_before_the_next_owner_writes_after_sigkill() {
    a_slow_write_across_a_lease_move(Move::Kill).await;
}

#[actix_web::test]
async fn a_slow_write_lands_before_the_next_owner_writes_after_sigterm() {
    a_slow_write_across_a_lease_move(Move::Term).await;
}

#[actix_web::test]
async fn a_slow_write_lands_before_the_next_owner_writes_after_a_rebalance() {
    a_slow_write_across_a_lease_move(Move::Rebalance).await;
}

#[actix_web::test]
async fn sigterm_under_a_delivery_stream_drains_and_hands_over() {
    const GRACE: u64 = 5;
    let grace = GRACE.to_string();
    let mut fleet = Fleet::new(2, true).await;
    fleet
        .start_with(0, &[("ARKITER_SHUTDOWN_GRACE", grace.as_str())])
        .await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 4).await;
    fleet
        .start_with(1, &[("ARKITER_SHUTDOWN_GRACE", grace.as_str())])
        .await;
    fleet.wait_ready(1).await;
    poll_until(30, "each instance owns two accounts", || async {
        let o = fleet.owners();
        let on0 = o.values().filter(|v| *v == "inst-0").count();
        (o.len() == 4 && on0 == 2).then_some(())
    })
    .await;
    // 200 candidates move, 20 at a time; instance 0 is stopped mid-stream.
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let readyz = format!("{}/readyz", fleet.child(0).address());
    let mut moved: Vec<Vec<String>> = vec![Vec::new(); accounts.len()];
    let mut stopped_at = None;
    for round in 0..10 {
        for (i, a) in accounts.iter().enumerate() {
            moved[i].extend(move_candidates(&fleet.sim, a, 5));
        }
        if round == 3 {
            fleet.signal(0, Signal::SIGTERM);
            stopped_at = Some(Instant::now());
            // Ready no more, at once: 503 before it refuses connections.
            let answer = poll_until(30, "a /readyz answer", || async {
                let r = client.get(&readyz).send().await;
                match r {
                    Ok(r) if r.status().as_u16() == 200 => None,
                    Ok(r) => Some(Ok(r.status().as_u16())),
                    Err(e) => Some(Err(e.to_string())),
                }
            })
            .await;
            assert_eq!(answer, Ok(503), "the stopping instance's /readyz");
        }
        // Pacing the stream, not waiting for a state.
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
    let stopped_at = stopped_at.unwrap();
    let exited = {
        let child = &mut fleet.children[0].as_mut().unwrap().child;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                break (status, Instant::now());
            }
            assert!(Instant::now() < deadline, "instance 0 never exited");
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let took = exited.1 - stopped_at;
    assert!(exited.0.success(), "exit status {:?}", exited.0);
    assert!(
        took <= Duration::from_secs(GRACE + 2),
        "exited {took:?} after SIGTERM"
    );
    let owned = poll_until(30, "instance 1 owns every account", || async {
        let o = fleet.owners();
        (o.len() == 4 && o.values().all(|v| v == "inst-1")).then(Instant::now)
    })
    .await;
    let handover = owned - exited.1;
    assert!(
        handover <= Duration::from_secs(2),
        "instance 1 owned them all {handover:?} after the exit"
    );
    // Every delivery Lever saw acknowledged ends linked, once.
    for (a, opps) in accounts.iter().zip(&moved) {
        let acked: Vec<String> = poll_until(60, "deliveries finished", || async {
            let d = fleet.sim.deliveries(&a.account).unwrap();
            d.iter().all(|d| d.finished).then(|| {
                d.iter()
                    .filter(|d| d.delivered)
                    .filter_map(|d| d.opportunity_id.clone())
                    .collect()
            })
        })
        .await;
        assert_eq!(acked.len(), opps.len(), "every move delivered in the end");
        wait_for_tag(&fleet.sim, &a.account, &acked, LINK_TAG, 90).await;
        assert_exactly_one_each(&fleet.sim, a, &acked);
        for opp in &acked {
            assert_eq!(sent(&fleet.sim, a, opp, "/addLinks"), 1, "{opp}");
        }
    }
}

/// `arkiter_db_statements_total` of a child instance's main pool (the
/// pipeline's; lease cycles have a pool of their own).
async fn statements(fleet: &Fleet, i: usize) -> u64 {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let mut r = client
        .get(format!("{}/metrics", fleet.child(i).address()))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(r.body().await.unwrap().to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("arkiter_db_statements_total{pool=\"main\"} "))
        .map(|n| n.trim().parse().unwrap())
        .expect("the statement counter")
}

#[actix_web::test]
async fn held_candidates_with_more_due_are_not_polled_again_and_again() {
    let mut fleet = Fleet::new(1, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let a = connect_accounts(&app, &fleet.sim, 1).await.remove(0);
    // Every link write is held for a minute.
    let hold = FaultRule::always(FaultAction::Latency { ms: 60_000 }).on("POST", "/addLinks");
    fleet.sim.add_fault(&a.account, hold).unwrap();
    let opps = move_candidates(&fleet.sim, &a, 10);
    // Four more entries into the stage each: due, behind their candidate's
    // unit in flight (and two candidates wait for a slot of the eight).
    for _ in 0..4 {
        fleet
            .sim
            .move_opportunities(&a.account, &opps, &a.start)
            .unwrap();
        fleet
            .sim
            .move_opportunities(&a.account, &opps, &a.stage)
            .unwrap();
    }
    poll_until(30, "every delivery stored", || async {
        let d = fleet.sim.deliveries(&a.account).unwrap();
        (d.len() == 90 && d.iter().all(|d| d.finished && d.delivered)).then_some(())
    })
    .await;
    poll_until(30, "eight link writes held", || async {
        (fleet.sim.in_flight(&a.account).len() == 8).then_some(())
    })
    .await;
    let pending =
        app.count("SELECT count(*) AS n FROM lever_events WHERE status IN ('pending', 'retrying')");
    assert!(pending >= 42, "{pending} events due or running");
    let (before, since) = (statements(&fleet, 0).await, Instant::now());
    // The measuring window.
    actix_rt::time::sleep(Duration::from_secs(30)).await;
    let after = statements(&fleet, 0).await;
    let per_sec = (after - before) as f64 / since.elapsed().as_secs_f64();
    eprintln!("{per_sec:.2} statements/s on the main pool while every unit is held");
    assert!(per_sec <= 5.0, "{per_sec:.2} statements/s");
    assert_eq!(fleet.sim.in_flight(&a.account).len(), 8, "still held");
}

#[actix_web::test]
async fn a_completion_longer_than_one_write_survives_a_takeover_in_the_middle() {
    const WRITE_MS: u64 = 8_000;
    let mut fleet = Fleet::new(2, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let a = connect_accounts(&app, &fleet.sim, 1).await.remove(0);
    poll_until(30, "instance 0 owns the account", || async {
        (fleet.owners().values().next().map(String::as_str) == Some("inst-0")).then_some(())
    })
    .await;
    fleet.start(1).await;
    fleet.wait_ready(1).await;
    let opp = move_candidates(&fleet.sim, &a, 1).remove(0);
    wait_for_tag(
        &fleet.sim,
        &a.account,
        std::slice::from_ref(&opp),
        LINK_TAG,
        30,
    )
    .await;
    let before = writes_for(&fleet.sim, &a, &opp).len();
    let iv = app
        .get(&format!("/api/v1/orgs/{}/interviews", a.org), Some(&a.key))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every write of the completion takes 8 s at Lever.
    let slow =
        FaultRule::always(FaultAction::Latency { ms: WRITE_MS }).on("POST", "/opportunities/");
    fleet.sim.add_fault(&a.account, slow).unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{iv}/complete", a.org),
            Some(&a.key),
            &serde_json::json!({"score": 91, "recommendation": "hire", "summary": "Clear."}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // The owner dies while its second write is held.
    poll_until(60, "the completion's second write held", || async {
        let n = writes_for(&fleet.sim, &a, &opp).len() - before;
        (n == 1 && !fleet.sim.in_flight(&a.account).is_empty()).then_some(())
    })
    .await;
    fleet.signal(0, Signal::SIGKILL);
    wait_for_tag(
        &fleet.sim,
        &a.account,
        std::slice::from_ref(&opp),
        "Arkiter Live: Completed",
        150,
    )
    .await;
    let done = poll_until(60, "the results posted", || async {
        let v = fleet.sim.opportunity(&a.account, &opp).unwrap();
        (!v.tags.iter().any(|t| t == LINK_TAG) && v.notes.len() == 1 && v.links.len() == 1)
            .then_some(v)
    })
    .await;
    assert!(done.links[0].contains("/results/"), "{done:?}");
    // The log lists a call when it is answered: by arrival here.
    let mut writes: Vec<CallRecord> = writes_for(&fleet.sim, &a, &opp).split_off(before);
    writes.sort_by_key(|w| w.received_ms);
    // One of each, and never two in flight at once, across the takeover.
    let mut kinds: Vec<&str> = writes
        .iter()
        .map(|w| w.path.rsplit('/').next().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["addLinks", "addTags", "notes", "removeLinks", "removeTags"],
        "{writes:#?}"
    );
    for pair in writes.windows(2) {
        assert!(
            pair[1].received_ms >= pair[0].at_ms,
            "{} was sent while {} was in flight: {writes:#?}",
            pair[1].path,
            pair[0].path
        );
    }
    assert!(writes.iter().all(|w| w.status / 100 == 2), "{writes:#?}");
}

#[actix_web::test]
async fn a_rolling_deploy_under_slow_writes_links_each_candidate_once() {
    let mut fleet = Fleet::new(4, true).await;
    fleet.start(0).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let accounts = connect_accounts(&app, &fleet.sim, 3).await;
    fleet.start(1).await;
    fleet.wait_ready(1).await;
    // Every link write takes 2 s at Lever.
    let slow = FaultRule::always(FaultAction::Latency { ms: 2_000 }).on("POST", "/addLinks");
    for a in &accounts {
        fleet.sim.add_fault(&a.account, slow.clone()).unwrap();
    }
    let mut moved: Vec<Vec<String>> = vec![Vec::new(); accounts.len()];
    let mut batch = |fleet: &Fleet| {
        for (i, a) in accounts.iter().enumerate() {
            moved[i].extend(move_candidates(&fleet.sim, a, 6));
        }
    };
    // Deliveries arrive while each old instance is replaced in turn.
    batch(&fleet);
    fleet.signal(0, Signal::SIGTERM);
    fleet.start(2).await;
    batch(&fleet);
    fleet.wait_ready(2).await;
    fleet.signal(1, Signal::SIGTERM);
    fleet.start(3).await;
    batch(&fleet);
    fleet.wait_ready(3).await;
    for (a, opps) in accounts.iter().zip(&moved) {
        assert_eq!(opps.len(), 18);
        wait_for_tag(&fleet.sim, &a.account, opps, LINK_TAG, 180).await;
    }
    for (a, opps) in accounts.iter().zip(&moved) {
        assert_exactly_one_each(&fleet.sim, a, opps);
        for opp in opps {
            assert_eq!(sent(&fleet.sim, a, opp, "/addLinks"), 1, "{opp}");
            assert_eq!(sent(&fleet.sim, a, opp, "/addTags"), 1, "{opp}");
        }
    }
}
