-- The events list filtered by a rare reason (`test_ping`, `erased`,
-- `left_stage`, ...): without this index it walks every event of the org
-- (358 ms p95 at 10 million rows, docs/BENCHMARKS.md P8). Partial: the
-- common reason, `other_stage` (what ingest writes for most deliveries),
-- and the NULL of done and dead events stay out, so ingest does not pay
-- for it. Built CONCURRENTLY (outside a transaction: metadata.toml), so a
-- rolling deploy may migrate under load.
CREATE INDEX CONCURRENTLY IF NOT EXISTS lever_events_org_rare_reason
    ON lever_events (org_id, reason, received_at, id)
    WHERE reason IS NOT NULL AND reason <> 'other_stage';
