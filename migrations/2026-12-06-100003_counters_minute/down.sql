DROP INDEX CONCURRENTLY IF EXISTS connection_counters_minute;
