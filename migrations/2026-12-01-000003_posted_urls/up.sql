-- The links exactly as posted to Lever: removing one (results swap, cancel)
-- must remove what was posted, even after ARKITER_LIVE_URL or
-- ARKITER_RESULTS_URL changed. NULL for links posted before this migration
-- (they are rebuilt from the settings, as before).
ALTER TABLE interviews ADD COLUMN live_url TEXT, ADD COLUMN results_url TEXT;
