DROP INDEX lever_events_org_dead;
ALTER TABLE lever_events ALTER COLUMN payload TYPE JSONB USING payload::jsonb;
