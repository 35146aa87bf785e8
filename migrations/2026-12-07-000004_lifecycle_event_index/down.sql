DROP INDEX CONCURRENTLY IF EXISTS lever_events_lifecycle;
