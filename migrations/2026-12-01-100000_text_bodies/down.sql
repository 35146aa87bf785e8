ALTER TABLE lever_events ALTER COLUMN payload TYPE JSONB USING payload::jsonb;
