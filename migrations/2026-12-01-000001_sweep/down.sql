DROP INDEX interviews_opportunity;
DROP TABLE connection_sweeps;
ALTER TABLE lever_events DROP COLUMN source;
