DROP INDEX interviews_fallback;
DROP INDEX interviews_link_posted;
DROP INDEX lever_events_dead;
ALTER TABLE oauth_states DROP COLUMN from_console;
DROP TABLE console_sessions;
