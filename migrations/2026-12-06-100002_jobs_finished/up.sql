-- Retention deletes finished and dead jobs by age
-- (docs/contract/retention.md); only those are indexed, so the pipeline's
-- writes of pending jobs never touch it.
-- Built CONCURRENTLY (so outside a transaction: metadata.toml), which
-- never blocks the table's writers while it builds: a rolling deploy may
-- migrate under full load.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_finished ON jobs (updated_at) WHERE status IN ('done', 'dead');
