ALTER TABLE interviews DROP COLUMN live_url, DROP COLUMN results_url;
