-- A candidate's events without a to-stage (archive, hired, deleted) have no
-- move key, so the move-key index cannot find them for the candidate's
-- export. This partial index holds only those (rare) rows: stage changes,
-- the bulk of ingest, never touch it. Built CONCURRENTLY, so ingest goes on.
CREATE INDEX CONCURRENTLY IF NOT EXISTS lever_events_lifecycle
    ON lever_events (connection_id, opportunity_id) WHERE to_stage_id IS NULL;
