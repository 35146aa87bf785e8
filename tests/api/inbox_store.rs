//! The inbox and due-work queries at the database level: the pipeline's
//! claim of due work keeps to the partial index under a generic plan, ingest's batch
//! insert dedupes (also when it first tries as if there were no duplicates)
//! and sends cross-instance wake-ups only for accounts not running here,
//! and deleting a connection still takes its events along.

use arkiter_lever::db::models::claim::{LeaseRef, claim_events, claim_events_sql};
use arkiter_lever::db::models::lever_event::insert::{Duplicates, insert_deliveries};
use arkiter_lever::domain::ids::ConnectionId;
use arkiter_lever::domain::status::EventStatus;
use arkiter_lever::ingest::store::{DuplicateGuess, OwnedEvent, insert_batch};
use arkiter_lever::wake::LocalAccounts;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use uuid::Uuid;

use crate::helpers::test_db;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct Opp {
    #[diesel(sql_type = Text)]
    opportunity_id: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn exec(c: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql).execute(c).unwrap();
}

fn count(c: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(c).unwrap().n
}

/// A database with one org and its connection; returns (name, conn, ids).
pub fn bed() -> (String, PgConnection, Uuid, Uuid) {
    let db = test_db();
    let name = db.create_database();
    let mut c = PgConnection::establish(&db.url(&name)).unwrap();
    let (org, conn) = (Uuid::new_v4(), Uuid::new_v4());
    exec(
        &mut c,
        &format!("INSERT INTO orgs (id, name) VALUES ('{org}', 'Inbox org')"),
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO connections (id, org_id, status) VALUES ('{conn}', '{org}', 'active')"
        ),
    );
    (name, c, org, conn)
}

/// `n` events of `conn`: due one second apart, oldest last inserted, every
/// 10th already done and every 7th due only tomorrow.
fn seed_events(c: &mut PgConnection, org: Uuid, conn: Uuid, n: usize) {
    exec(
        c,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status, next_attempt_at) \
             SELECT gen_random_uuid(), '{conn}', '{org}', 'candidateStageChange', 'tok-' || i, \
             1764270000000 + i, 'opp-' || i, 'stage', '{{}}'::jsonb, \
             CASE WHEN i % 10 = 0 THEN 'done' ELSE 'pending' END, \
             CASE WHEN i % 7 = 0 THEN now() + interval '1 day' \
                  ELSE now() - i * interval '1 second' END \
             FROM generate_series(1, {n}) i"
        ),
    );
    exec(c, "ANALYZE lever_events");
}

#[test]
fn claiming_due_events_keeps_to_the_due_index_and_to_one_unit_per_candidate() {
    let (name, mut c, org, conn) = bed();
    seed_events(&mut c, org, conn, 20_000);
    exec(
        &mut c,
        &format!(
            "UPDATE connection_leases SET owner = 'me', epoch = 1, \
             expires_at = now() + interval '1 minute' WHERE connection_id = '{conn}'"
        ),
    );
    // What the pooled connections end up with after a few executions.
    exec(&mut c, "SET plan_cache_mode = force_generic_plan");
    let expected: Vec<String> = diesel::sql_query(format!(
        "SELECT opportunity_id FROM lever_events WHERE connection_id = '{conn}' \
         AND status IN ('pending', 'retrying') AND next_attempt_at <= now() \
         ORDER BY next_attempt_at LIMIT 4"
    ))
    .load::<Opp>(&mut c)
    .unwrap()
    .into_iter()
    .map(|o| o.opportunity_id)
    .collect();
    assert_eq!(expected.len(), 4);
    let hold = std::time::Duration::from_secs(30);
    let me = LeaseRef {
        connection_id: conn,
        owner: "me",
        epoch: 1,
    };
    let opps = |got: Vec<arkiter_lever::db::models::work::EventWork>| -> Vec<String> {
        got.into_iter().filter_map(|e| e.opportunity_id).collect()
    };
    // Longest due first; a claimed candidate is no longer due.
    assert_eq!(
        opps(claim_events(&mut c, me, hold, 1).unwrap()),
        expected[..1]
    );
    assert_eq!(
        opps(claim_events(&mut c, me, hold, 3).unwrap()),
        expected[1..]
    );
    // A lease not held (another owner, or an old epoch) claims nothing.
    for stranger in [
        LeaseRef {
            owner: "other",
            ..me
        },
        LeaseRef { epoch: 0, ..me },
    ] {
        assert!(claim_events(&mut c, stranger, hold, 3).unwrap().is_empty());
    }
    // The generic plan walks the partial index in order: no scan of the table.
    exec(&mut c, &format!("PREPARE claim AS {}", claim_events_sql()));
    let plan: Vec<String> =
        diesel::sql_query(format!("EXPLAIN EXECUTE claim('{conn}', 'me', 1, 8, 30.0)"))
            .load::<Line>(&mut c)
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("lever_events_due"), "{plan}");
    assert!(!plan.contains("Seq Scan on lever_events"), "{plan}");
    drop(c);
    test_db().drop_database(&name);
}

fn row(org: Uuid, conn: Uuid, token: &str, opp: &str) -> OwnedEvent {
    OwnedEvent {
        id: Uuid::now_v7(),
        connection_id: conn,
        org_id: org,
        event: "candidateStageChange".into(),
        token: token.into(),
        triggered_at: 1_764_270_000_000,
        opportunity_id: Some(opp.into()),
        to_stage_id: Some("stage".into()),
        from_stage_id: None,
        payload: format!(r#"{{"token":"{token}"}}"#),
        status: EventStatus::Pending,
        reason: None,
        trace_parent: None,
    }
}

/// What `listener` hears up to a marker sent now from `c` (notifications
/// arrive in commit order, so anything sent before the marker is in).
fn heard(c: &mut PgConnection, listener: &mut PgConnection) -> Vec<String> {
    let marker = format!("marker-{}", Uuid::new_v4());
    exec(c, &format!("NOTIFY arkiter_work, '{marker}'"));
    let patience = std::time::Duration::from_secs(crate::helpers::LEAST_DEADLINE_SECS);
    let deadline = std::time::Instant::now() + patience;
    let mut got = Vec::new();
    while std::time::Instant::now() < deadline {
        for n in listener.notifications_iter() {
            let payload = n.unwrap().payload;
            if payload == marker {
                return got;
            }
            got.push(payload);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("the marker notification never arrived; heard {got:?}");
}

#[test]
fn batch_insert_dedupes_and_notifies_only_for_accounts_running_elsewhere() {
    let (name, mut c, org, conn) = bed();
    let mut listener = PgConnection::establish(&test_db().url(&name)).unwrap();
    exec(&mut listener, "LISTEN arkiter_work");
    let local = LocalAccounts::default();
    // Elsewhere: one NOTIFY for the batch's new pending rows. The batch's
    // second copy of a token (and a later batch's) is absorbed: the first
    // try, expecting no duplicate, fails and stores nothing, and the batch
    // goes in again skipping it.
    let guess = DuplicateGuess::default();
    assert!(!guess.expects_duplicates());
    let batch = [
        row(org, conn, "a", "opp-a"),
        row(org, conn, "b", "opp-b"),
        row(org, conn, "a", "opp-a"),
    ];
    let inserted = insert_batch(&mut c, &batch, &local, &guess).unwrap();
    assert_eq!(inserted.len(), 2);
    assert!(inserted.contains(&batch[0].id) && inserted.contains(&batch[1].id));
    assert!(guess.expects_duplicates());
    assert_eq!(heard(&mut c, &mut listener), vec![conn.to_string()]);
    // Running here: stored, but no NOTIFY (the channel wakes it). Both
    // ways in: skipping duplicates from the start, and first expecting none.
    local.insert(ConnectionId(conn));
    for (guess, token) in [(&guess, "c"), (&DuplicateGuess::default(), "d")] {
        let again = [
            row(org, conn, "a", "opp-a"),
            row(org, conn, token, &format!("opp-{token}")),
        ];
        let inserted = insert_batch(&mut c, &again, &local, guess).unwrap();
        assert_eq!(inserted.len(), 1);
        assert!(inserted.contains(&again[1].id));
    }
    assert!(heard(&mut c, &mut listener).is_empty());
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM lever_events"), 4);
    drop((c, listener));
    test_db().drop_database(&name);
}

/// Expecting no duplicate, a batch holding one under either dedupe
/// identity fails whole and stores nothing; a batch without one stores
/// everything and leaves the guess as it was.
#[test]
fn a_batch_expecting_no_duplicate_stores_nothing_when_it_holds_one() {
    let (name, mut c, org, conn) = bed();
    let stored = [row(org, conn, "a", "opp-a")];
    assert_eq!(
        insert_deliveries(&mut c, &stored, Duplicates::Fail)
            .unwrap()
            .len(),
        1
    );
    let same_token = row(org, conn, "a", "opp-other");
    let same_move = row(org, conn, "another-token", "opp-a");
    for dup in [same_token, same_move] {
        let batch = [row(org, conn, "new", "opp-new"), dup];
        let err = insert_deliveries(&mut c, &batch, Duplicates::Fail).unwrap_err();
        assert!(
            matches!(
                err,
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                )
            ),
            "{err:?}"
        );
        assert_eq!(count(&mut c, "SELECT count(*) AS n FROM lever_events"), 1);
    }
    let guess = DuplicateGuess::default();
    let clean = [row(org, conn, "b", "opp-b"), row(org, conn, "c", "opp-c")];
    let inserted = insert_batch(&mut c, &clean, &LocalAccounts::default(), &guess).unwrap();
    assert_eq!(inserted.len(), 2);
    assert!(!guess.expects_duplicates());
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM lever_events"), 3);
    drop(c);
    test_db().drop_database(&name);
}

#[test]
fn deleting_an_org_deletes_its_events() {
    let (name, mut c, org, conn) = bed();
    seed_events(&mut c, org, conn, 10);
    let (other_org, other_conn) = (Uuid::new_v4(), Uuid::new_v4());
    exec(
        &mut c,
        &format!("INSERT INTO orgs (id, name) VALUES ('{other_org}', 'Other org')"),
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO connections (id, org_id, status) VALUES ('{other_conn}', '{other_org}', 'active')"
        ),
    );
    seed_events(&mut c, other_org, other_conn, 5);
    exec(&mut c, &format!("DELETE FROM orgs WHERE id = '{org}'"));
    assert_eq!(
        count(
            &mut c,
            &format!("SELECT count(*) AS n FROM lever_events WHERE org_id = '{org}'")
        ),
        0
    );
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM lever_events"), 5);
    drop(c);
    test_db().drop_database(&name);
}

#[test]
fn a_stale_other_stage_verdict_is_checked_against_the_committed_stage() {
    let (name, mut c, org, conn) = bed();
    // The stage moved to "stage" on another instance; this one's cache
    // still judged deliveries into it `other_stage`.
    exec(
        &mut c,
        &format!("UPDATE connections SET stage_id = 'stage' WHERE id = '{conn}'"),
    );
    let ignored = |token: &str, opp: &str, to: &str| OwnedEvent {
        to_stage_id: Some(to.into()),
        status: EventStatus::Ignored,
        reason: Some("other_stage"),
        trace_parent: None,
        ..row(org, conn, token, opp)
    };
    let mut listener = PgConnection::establish(&test_db().url(&name)).unwrap();
    exec(&mut listener, "LISTEN arkiter_work");
    let local = LocalAccounts::default();
    local.insert(ConnectionId(conn));
    let batch = [
        ignored("into-ours", "opp-1", "stage"),
        ignored("elsewhere", "opp-2", "phone-screen"),
    ];
    let guess = DuplicateGuess::default();
    assert_eq!(
        insert_batch(&mut c, &batch, &local, &guess).unwrap().len(),
        2
    );
    let mut stored = |token: &str| {
        count(
            &mut c,
            &format!(
                "SELECT count(*) AS n FROM lever_events WHERE token = '{token}' \
                 AND status = 'pending' AND reason IS NULL"
            ),
        )
    };
    assert_eq!(stored("into-ours"), 1, "kept as work, not ignored");
    assert_eq!(stored("elsewhere"), 0, "really another stage: ignored");
    // The owner is woken even though it runs here (its request did not).
    assert_eq!(heard(&mut c, &mut listener), vec![conn.to_string()]);
    drop((c, listener));
    test_db().drop_database(&name);
}
