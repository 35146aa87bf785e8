-- The wide (connection_id, token) constraint, replaced by
-- lever_events_token_key. Dropping a constraint takes the table's lock for
-- a moment (no rewrite, no scan); ingest's statements wait at most their
-- own 1 s lock timeout, and answer 503 (which Lever retries) if it is
-- exceeded.
ALTER TABLE lever_events DROP CONSTRAINT IF EXISTS lever_events_connection_id_token_key;
