-- The second dedupe identity for events without a to-stage (archive,
-- hired, deleted; docs/contract/webhooks.md): two webhooks of one account
-- deliver the same change with different tokens, and the move key (which
-- needs a to-stage) cannot tell. Here the same delivered change is event +
-- candidate + `triggeredAt` + whether it archives (`toArchived` set).
-- Only deliveries (findings and admin actions have identities of their
-- own), and never a row an erase emptied: its payload is `{}`, and a later
-- copy of the delivery, stored before it is known to be erased, must not
-- collide with it. Built CONCURRENTLY, so ingest goes on; stage changes,
-- the bulk of ingest, never touch it.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS lever_events_lifecycle_change
    ON lever_events (connection_id, opportunity_id, event, triggered_at,
                     coalesce(jsonb_typeof(payload::jsonb #> '{data,toArchived}') = 'object', false))
    WHERE to_stage_id IS NULL AND source = 'webhook' AND payload <> '{}';
