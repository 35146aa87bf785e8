//! Every migration applies, reverts and applies again.

use arkiter_lever::db::migrate;
use diesel::{Connection, PgConnection};

use crate::helpers::test_db;

#[test]
fn migrations_up_down_up() {
    let db = test_db();
    let name = db.create_empty_database();
    let mut conn = PgConnection::establish(&db.url(&name)).unwrap();
    let applied = migrate::run_pending_on(&mut conn).unwrap();
    assert!(applied >= 1);
    assert_eq!(migrate::revert_all(&mut conn).unwrap(), applied);
    assert_eq!(migrate::run_pending_on(&mut conn).unwrap(), applied);
    assert_eq!(migrate::run_pending_on(&mut conn).unwrap(), 0);
    drop(conn);
    db.drop_database(&name);
}
