ALTER TABLE instances DROP COLUMN IF EXISTS taken_over_at;
