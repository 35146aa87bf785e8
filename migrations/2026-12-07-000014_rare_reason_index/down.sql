DROP INDEX CONCURRENTLY IF EXISTS lever_events_org_rare_reason;
