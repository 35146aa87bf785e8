//! Link latency and volume per hour over the last 24 hours, for the console's
//! Health chart: from a delivery's arrival to its link on the opportunity, as
//! in [`super::query`]'s percentiles, bucketed by the hour the link was posted.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Uuid as SqlUuid};
use uuid::Uuid;

/// One hour of links: `hours_ago` 0 is the last hour, 23 the oldest.
#[derive(Debug, Clone, QueryableByName)]
pub struct HourPoint {
    #[diesel(sql_type = Integer)]
    pub hours_ago: i32,
    #[diesel(sql_type = BigInt)]
    pub links: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub p95_ms: Option<f64>,
}

/// The org's hours with links posted in the last 24 hours (hours without any are absent).
pub fn link_series(c: &mut PgConnection, org_id: Uuid) -> QueryResult<Vec<HourPoint>> {
    diesel::sql_query(
        "SELECT LEAST(23, floor(EXTRACT(EPOCH FROM now() - i.link_posted_at) / 3600))::int \
                    AS hours_ago, \
                count(*) AS links, \
                percentile_cont(0.95) WITHIN GROUP (ORDER BY \
                    GREATEST(0, EXTRACT(EPOCH FROM i.link_posted_at - e.received_at) * 1000)::float8) \
                    AS p95_ms \
         FROM interviews i \
         CROSS JOIN LATERAL (SELECT received_at FROM lever_events \
                             WHERE id = i.event_id OFFSET 0) e \
         WHERE i.org_id = $1 AND i.link_posted_at > now() - interval '24 hours' \
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<SqlUuid, _>(org_id)
    .load(c)
}
