-- Dedupe identity 2 as a 16-byte key whose first half is the candidate, so
-- it also serves the lookup of one candidate's events (a range scan from
-- arkiter_candidate_low to arkiter_candidate_high). Rows without an
-- opportunity or a to-stage have no move (as before: NULLs never conflicted).
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS lever_events_move_key
    ON lever_events (arkiter_move_key(connection_id, opportunity_id, event, to_stage_id, triggered_at))
    WHERE opportunity_id IS NOT NULL AND to_stage_id IS NOT NULL;
