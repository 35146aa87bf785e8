//! The bounded delete that every table's retention step is made of
//! (docs/contract/retention.md): one statement removes at most `limit` rows
//! older than `cutoff` (`$1`, with `$2` the limit), so each is a short
//! transaction that holds its row locks only briefly and never the table.
//! The statements themselves stay in the table modules that own them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

/// Runs `sql` with `cutoff` as `$1` and `limit` as `$2`; rows deleted.
pub fn delete_batch(
    c: &mut PgConnection,
    sql: &str,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .execute(c)
}
