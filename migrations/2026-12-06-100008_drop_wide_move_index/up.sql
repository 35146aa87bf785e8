-- The wide move index, replaced by lever_events_move_key.
DROP INDEX CONCURRENTLY IF EXISTS lever_events_move;
