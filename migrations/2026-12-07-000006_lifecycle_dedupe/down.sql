DROP INDEX IF EXISTS lever_events_lifecycle_change;
