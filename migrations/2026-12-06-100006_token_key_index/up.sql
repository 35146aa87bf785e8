-- Dedupe identity 1 as a 16-byte key (see the functions' migration); built
-- CONCURRENTLY, so ingest goes on while it builds. The wide
-- (connection_id, token) constraint it replaces goes in a later migration.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS lever_events_token_key
    ON lever_events (arkiter_token_key(connection_id, token));
