CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS lever_events_move
    ON lever_events (connection_id, event, opportunity_id, to_stage_id, triggered_at)
    WHERE opportunity_id IS NOT NULL;
