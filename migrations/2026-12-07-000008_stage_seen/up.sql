-- The sweep's reconciliation of moves out of the stage it was not told
-- about (docs/contract/lifecycle.md): each sweep marks the open interviews
-- whose candidates it listed in the stage, all with the sweep's one start
-- time, so the next sweep knows who was there and has left. Nullable, no
-- default: no table rewrite. The index holds only marked rows.
ALTER TABLE interview_links ADD COLUMN in_stage_seen_at TIMESTAMPTZ;
CREATE INDEX interview_links_seen ON interview_links (connection_id, in_stage_seen_at)
    WHERE in_stage_seen_at IS NOT NULL;
