-- Deleting an event sets interviews.event_id to NULL (ON DELETE SET NULL);
-- without this index every deleted event scanned the interviews table
-- (retention deletes them by the thousand).
-- Built CONCURRENTLY (so outside a transaction: metadata.toml), which
-- never blocks the table's writers while it builds: a rolling deploy may
-- migrate under full load.
CREATE INDEX CONCURRENTLY IF NOT EXISTS interviews_event_id ON interviews (event_id) WHERE event_id IS NOT NULL;
