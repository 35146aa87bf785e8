-- Retention deletes health counters by minute across all connections
-- (docs/contract/retention.md).
-- Built CONCURRENTLY (so outside a transaction: metadata.toml), which
-- never blocks the table's writers while it builds: a rolling deploy may
-- migrate under full load.
CREATE INDEX CONCURRENTLY IF NOT EXISTS connection_counters_minute ON connection_counters (minute);
