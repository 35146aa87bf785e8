ALTER TABLE oauth_states DROP COLUMN from_console;
DROP TABLE console_sessions;
