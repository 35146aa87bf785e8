ALTER TABLE lever_events DROP COLUMN IF EXISTS trace_parent;
