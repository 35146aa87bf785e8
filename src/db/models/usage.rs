//! What each org used (`GET /api/v1/usage`, docs/contract/http-api.md): its
//! connections, the deliveries it received, the interviews linked and
//! completed, and the Lever calls made for its candidates, over the last 24
//! hours and the last 30 days. Read-only counts through the tables' time
//! indexes.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use uuid::Uuid;

/// One org's figures.
#[derive(Debug, Clone, QueryableByName)]
pub struct OrgUsage {
    #[diesel(sql_type = SqlUuid)]
    pub org_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub connections: i64,
    #[diesel(sql_type = BigInt)]
    pub deliveries_24h: i64,
    #[diesel(sql_type = BigInt)]
    pub deliveries_30d: i64,
    #[diesel(sql_type = BigInt)]
    pub linked_24h: i64,
    #[diesel(sql_type = BigInt)]
    pub linked_30d: i64,
    #[diesel(sql_type = BigInt)]
    pub completed_24h: i64,
    #[diesel(sql_type = BigInt)]
    pub completed_30d: i64,
    #[diesel(sql_type = BigInt)]
    pub lever_calls_24h: i64,
    #[diesel(sql_type = BigInt)]
    pub lever_calls_30d: i64,
}

/// The figures of `orgs`, in their order.
pub fn of_orgs(c: &mut PgConnection, orgs: &[Uuid]) -> QueryResult<Vec<OrgUsage>> {
    diesel::sql_query(
        "SELECT o.id AS org_id, \
           (SELECT count(*) FROM connections k WHERE k.org_id = o.id \
              AND k.status <> 'disconnected') AS connections, \
           (SELECT count(*) FILTER (WHERE e.received_at > now() - interval '1 day') \
              FROM lever_events e WHERE e.org_id = o.id AND e.source = 'webhook' \
              AND e.received_at > now() - interval '30 days') AS deliveries_24h, \
           (SELECT count(*) FROM lever_events e WHERE e.org_id = o.id AND e.source = 'webhook' \
              AND e.received_at > now() - interval '30 days') AS deliveries_30d, \
           (SELECT count(*) FROM interviews i WHERE i.org_id = o.id \
              AND i.link_posted_at > now() - interval '1 day') AS linked_24h, \
           (SELECT count(*) FROM interviews i WHERE i.org_id = o.id \
              AND i.link_posted_at > now() - interval '30 days') AS linked_30d, \
           (SELECT count(*) FROM interviews i WHERE i.org_id = o.id \
              AND i.completed_at > now() - interval '1 day') AS completed_24h, \
           (SELECT count(*) FROM interviews i WHERE i.org_id = o.id \
              AND i.completed_at > now() - interval '30 days') AS completed_30d, \
           (SELECT count(*) FROM lever_calls l JOIN connections k ON k.id = l.connection_id \
              WHERE k.org_id = o.id AND l.sent_at > now() - interval '1 day') AS lever_calls_24h, \
           (SELECT count(*) FROM lever_calls l JOIN connections k ON k.id = l.connection_id \
              WHERE k.org_id = o.id AND l.sent_at > now() - interval '30 days') AS lever_calls_30d \
         FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) ORDER BY o.n",
    )
    .bind::<Array<SqlUuid>, _>(orgs)
    .load(c)
}
