-- Webhook bodies are kept as the text received (issue 17). Nothing reads
-- them as JSON in the database; parsing each one into JSONB on insert was
-- about 5 % of Postgres' time per delivery. The text is valid JSON (ingest
-- parsed it before storing), so `payload::jsonb` still reads it as JSON.
-- Rewrites the table once.
ALTER TABLE lever_events ALTER COLUMN payload TYPE TEXT USING payload::text;
