DROP INDEX interview_links_seen;
ALTER TABLE interview_links DROP COLUMN in_stage_seen_at;
